//! Which lattice events wadm acts on (catalogue ORC-19, ORC-03), seen through what it does next:
//! labels learned from heartbeats, a refused link put left alone, and its view of the hosts
//! rebuilt from heartbeats after a restart.
use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{ensure, Context as _};
use harness::manifest::{AppBuilder, LinkSpec};
use harness::wait::{Probe, Wait};
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
        let image = cx.image(crate::fixtures::PROBE_RUST)?;
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
        let beat_within = Duration::from_secs(BEAT_SECONDS.parse()?) * 3;
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

/// ORC-19: wadm ignores linkdef_set_failed, and does act on linkdef_deleted.
pub static LINKDEF_SET_FAILED_IGNORED: ConformanceTest = ConformanceTest {
    name: "orchestration::linkdef_set_failed_ignored",
    source: file!(),
    description: "an application whose runner is linked to its echo is deployed; a link put by someone else from the runner under the same name to another target is refused (linkdef_set_failed): through the two heartbeats after it wadm puts and deletes no link, the application stays Deployed and its link stays listed; deleting wadm's link instead makes wadm put it back (it does act on link events)",
    area: Area::Orchestration,
    features: &[
        Feature::Wadm,
        Feature::FileLoad,
        Feature::LatticeEvents,
        Feature::ControlInterface,
        Feature::Links,
    ],
    covers: &["ORC-19", "NET-03"],
    fixtures: &[crate::fixtures::PROBE_RUST, crate::fixtures::RUNNER_RUST],
    setup: Setup::hosts(1).with_wadm(),
    run: linkdef_set_failed_ignored,
};

fn linkdef_set_failed_ignored(cx: Cx) -> TestFuture {
    Box::pin(async move {
        const RUNNER: &str = "linkfail-runner";
        const ECHO: &str = "linkfail-echo";
        let m = AppBuilder::new("linkfail", "v1")
            .component("runner", &cx.image(crate::fixtures::RUNNER_RUST)?, 1)
            .component("echo", &cx.image(crate::fixtures::PROBE_RUST)?, 1)
            .link(
                "runner",
                "echo",
                LinkSpec {
                    namespace: "test",
                    package: "fixtures",
                    interfaces: &["echo"],
                    source_config: None,
                },
            )
            .build();
        let wadm = cx.wadm();
        wadm.put(&m).await.context("put")?;
        wadm.deploy("linkfail", None).await.context("deploy")?;
        wadm.wait_for_status("linkfail", StatusType::Deployed, T.deploy, 2)
            .await?;
        let wadms_link = |links: &[wasmcloud_control_interface::Link]| {
            links
                .iter()
                .any(|l| l.source_id() == RUNNER && l.target() == ECHO && l.name() == "default")
        };
        crate::steps::wait_links(&cx, "wadm's link runner -> echo", wadms_link).await?;

        let journal = cx.journal();
        let host = cx.host_id();
        let mark = journal.mark();
        let conflicting = crate::steps::echo_link(RUNNER, "not-the-echo", "default")?;
        let put = cx.ctl().put_link(conflicting).await?;
        ensure!(
            !put.succeeded(),
            "a link from {RUNNER} under wadm's link name to another target was accepted: {}",
            put.message()
        );
        let failed = journal
            .wait_for(mark, "linkdef_set_failed", RUNNER, T.event, |e| {
                e.field("source_id") == Some(RUNNER)
            })
            .await?;
        for n in ["first", "second"] {
            journal
                .wait_for(
                    journal.mark(),
                    "host_heartbeat",
                    &format!("the {n} heartbeat after linkdef_set_failed"),
                    T.event,
                    |e| e.source() == host,
                )
                .await?;
        }
        let acted: Vec<String> = journal
            .since(failed.seq)
            .into_iter()
            .filter(|e| e.kind == "linkdef_set" || e.kind == "linkdef_deleted")
            .map(|e| format!("{} {}", e.kind, e.data()))
            .collect();
        ensure!(
            acted.is_empty(),
            "after linkdef_set_failed wadm changed links, which the contract says it does not act on: {acted:?}"
        );
        let status = wadm.status("linkfail").await.context("status")?;
        ensure!(
            status.info.status_type == StatusType::Deployed,
            "after linkdef_set_failed the application is {:?}: {}",
            status.info.status_type,
            status.info.message
        );
        let links = cx.ctl().get_links().await?.into_data().unwrap_or_default();
        ensure!(
            wadms_link(&links),
            "wadm's link is gone after linkdef_set_failed"
        );

        // The control: wadm does act on a link event that concerns it.
        let mark = journal.mark();
        let deleted = cx
            .ctl()
            .delete_link(RUNNER, "default", "test", "fixtures")
            .await?;
        ensure!(deleted.succeeded(), "link.del: {}", deleted.message());
        journal
            .wait_for(
                mark,
                "linkdef_set",
                "wadm putting its deleted link back",
                T.deploy,
                |e| e.field("source_id") == Some(RUNNER) && e.field("target") == Some(ECHO),
            )
            .await?;
        Ok(())
    })
}

/// ORC-03 / HL-04: a restarted wadm learns what runs from the hosts and changes nothing.
pub static RESTART_REBUILDS: ConformanceTest = ConformanceTest {
    name: "orchestration::wadm_restart_rebuilds_from_heartbeats",
    source: file!(),
    description: "an application deployed 2+2 over two hosts; wadm is restarted: the hosts wadm records (wadm_state) are updated from their heartbeats and list exactly the components and counts the hosts run, the app stays deployed, and no host is asked to scale again (no component_scaled) through several heartbeats",
    area: Area::Orchestration,
    features: &[Feature::Wadm, Feature::FileLoad, Feature::LatticeEvents],
    covers: &["ORC-03", "ORC-02", "ORC-10", "HL-04"],
    fixtures: &[crate::fixtures::PROBE_RUST],
    setup: Setup::hosts(2)
        .with_wadm()
        .labels_per_host(&[&[("zone", "a")], &[("zone", "b")]])
        .needs_suite_lattice("restarts wadm"),
    run: restart_rebuilds,
};

fn restart_rebuilds(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let ids = cx.lattice().host_ids();
        let image = cx.image(crate::fixtures::PROBE_RUST)?;
        let m = AppBuilder::new("rebuild-app", "v1")
            .component_spread(
                "worker",
                &image,
                4,
                &[("a", &[("zone", "a")], 50), ("b", &[("zone", "b")], 50)],
            )
            .build();
        let wadm = cx.wadm();
        wadm.put(&m).await.context("put")?;
        wadm.deploy("rebuild-app", None).await.context("deploy")?;
        wadm.wait_for_status("rebuild-app", StatusType::Deployed, T.deploy, 2)
            .await?;
        let mut running = BTreeMap::new();
        for host in &ids {
            let inv =
                crate::steps::wait_inventory(&cx, host, "rebuild-app's worker at 2", 2, |inv| {
                    inv.components()
                        .iter()
                        .any(|c| c.id() == WORKER && c.max_instances() == 2)
                })
                .await?;
            running.insert(host.clone(), counts(&inv));
        }

        let journal = cx.journal();
        let mark = journal.mark();
        cx.lattice().restart_wadm().await?;
        // What wadm recorded of each host when it came back, then the same record once a
        // heartbeat has reached the restarted wadm for every host.
        let before = crate::steps::wadm_recorded_hosts(&cx).await?;
        let rebuilt = Wait::new(
            "the restarted wadm to record a heartbeat of every host",
            cx.lattice().heartbeat() * 5 + T.event,
        )
        .kind("heartbeat")
        .interval(Duration::from_millis(200))
        .until(|_| {
            let (cx, ids, before) = (&cx, &ids, &before);
            async move {
                match crate::steps::wadm_recorded_hosts(cx).await {
                    Ok(now) => {
                        let stale: Vec<&String> = ids
                            .iter()
                            .filter(|id| {
                                now[id.as_str()]["last_seen"] == before[id.as_str()]["last_seen"]
                            })
                            .collect();
                        if stale.is_empty() {
                            Probe::Ready(now)
                        } else {
                            Probe::NotYet(format!("not seen again since the restart: {stale:?}"))
                        }
                    }
                    Err(e) => Probe::NotYet(format!("{e:#}")),
                }
            }
        })
        .await?;
        for host in &ids {
            let recorded: BTreeMap<String, u64> = rebuilt[host.as_str()]["components"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(id, n)| (id.clone(), n.as_u64().unwrap_or(0)))
                .collect();
            ensure!(
                recorded == running[host],
                "after the restart wadm records {recorded:?} on {host}, which runs {:?}",
                running[host]
            );
        }
        wadm.wait_for_status("rebuild-app", StatusType::Deployed, T.deploy, 2)
            .await?;
        // Two more heartbeats of quiet: a wadm that rebuilt a wrong view would now scale.
        let quiet = cx.lattice().heartbeat() * 2 + T.quiet;
        let rescaled = journal
            .wait_for(
                mark,
                "component_scaled",
                "a scale after the restart (there must be none)",
                quiet,
                |e| e.field("component_id") == Some(WORKER),
            )
            .await;
        if let Ok(e) = rescaled {
            anyhow::bail!(
                "after the restart wadm scaled the worker again: {} on {}",
                e.data(),
                e.field("host_id").unwrap_or("?")
            );
        }
        for host in &ids {
            let inv = crate::steps::inventory(&cx, host).await?;
            ensure!(
                counts(&inv) == running[host],
                "after the restart {host} runs {:?}, before it ran {:?}",
                counts(&inv),
                running[host]
            );
        }
        Ok(())
    })
}

const WORKER: &str = "rebuild_app-worker";

/// Component id → max_instances of an inventory.
fn counts(inv: &wasmcloud_control_interface::HostInventory) -> BTreeMap<String, u64> {
    inv.components()
        .iter()
        .map(|c| (c.id().to_string(), u64::from(c.max_instances())))
        .collect()
}
