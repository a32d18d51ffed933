//! Which lattice events wadm acts on (catalogue ORC-19), seen through what it does next.
use anyhow::{ensure, Context as _};
use harness::manifest::AppBuilder;
use wadm_types::api::StatusType;

use crate::framework::T;
use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};

/// The host's heartbeat interval here: long enough that a reaction to `labels_changed` (wadm acts
/// on an event within a second) cannot be mistaken for a reaction to the next heartbeat.
const BEAT_SECONDS: &str = "8";

/// ORC-19 / ORC-03: wadm ignores labels_changed and learns labels from heartbeats.
pub static LABELS_CHANGED_IGNORED: ConformanceTest = ConformanceTest {
    name: "orchestration::labels_learned_from_heartbeats",
    source: file!(),
    description: "an application whose spread needs a label the host lacks fails; right after a heartbeat the label is put: wadm does not act on labels_changed but deploys the component only after the next heartbeat, which carries the label",
    area: Area::Orchestration,
    features: &[Feature::Wadm, Feature::FileLoad, Feature::LatticeEvents],
    covers: &["ORC-19", "ORC-03", "HL-04", "HL-09"],
    fixtures: &[crate::fixtures::PROBE_RUST],
    setup: Setup::hosts(1)
        .with_wadm()
        .env_per_host(&[&[("WASMCLOUD_HEARTBEAT_INTERVAL", BEAT_SECONDS)]])
        .needs_suite_lattice("sets the host's heartbeat interval"),
    run: labels_changed_ignored,
};

fn labels_changed_ignored(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let image = cx.fixture(crate::fixtures::PROBE_RUST)?.file_ref();
        let m = AppBuilder::new("relabel-app", "v1")
            .component_spread(
                "worker",
                &image,
                1,
                &[("ready", &[("stage", "ready")], 100)],
            )
            .build();
        let wadm = cx.wadm();
        wadm.put(&m).await.context("put")?;
        wadm.deploy("relabel-app", None).await.context("deploy")?;
        wadm.wait_for_status("relabel-app", StatusType::Failed, T.deploy, 1)
            .await?;

        // Just after a beat, so the next one is a whole interval away.
        let journal = cx.journal();
        let beat_within = std::time::Duration::from_secs(BEAT_SECONDS.parse()?) * 3;
        let is_beat = |e: &harness::journal::LatticeEvent| e.source() == host;
        journal
            .wait_for(
                journal.mark(),
                "host_heartbeat",
                "a beat",
                beat_within,
                is_beat,
            )
            .await?;
        let mark = journal.mark();
        let put = cx.ctl().put_label(&host, "stage", "ready").await?;
        ensure!(put.succeeded(), "label.put: {}", put.message());
        let changed = journal
            .wait_for(mark, "labels_changed", "stage=ready", T.event, |e| {
                e.source() == host
            })
            .await?;
        let scaled = journal
            .wait_for(
                mark,
                "component_scaled",
                "wadm scaling the worker onto the relabelled host",
                beat_within + T.deploy,
                |e| e.field("component_id") == Some("relabel_app-worker"),
            )
            .await?;
        let beat = journal
            .since(changed.seq)
            .into_iter()
            .find(|e| {
                e.kind == "host_heartbeat" && is_beat(e) && e.data()["labels"]["stage"] == "ready"
            })
            .context("no heartbeat carried the new label")?;
        ensure!(
            beat.seq < scaled.seq,
            "wadm scaled the worker {} ms after labels_changed, before the heartbeat that carried the label ({} ms after it): it acted on labels_changed, which the contract says it ignores",
            scaled.at_ms - changed.at_ms,
            beat.at_ms - changed.at_ms
        );
        wadm.wait_for_status("relabel-app", StatusType::Deployed, T.deploy, 2)
            .await?;
        Ok(())
    })
}
