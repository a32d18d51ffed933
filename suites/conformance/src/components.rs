//! Components scaled through the control interface and invoked over wRPC (catalogue HL-14, NET-08,
//! VAC-01, CFG-05), and what becomes of their standard streams.

use std::time::Duration;

use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};
use anyhow::{ensure, Context as _};
use harness::wait::{Probe, Wait};

use crate::bindings::{about, echo};
use crate::fixtures::PROBE_RUST;
use crate::framework::T;
use crate::steps::{scale, wait_inventory};

/// HL-14 + NET-08: scale from `file://`, invoke the custom export over wRPC, scale to zero.
pub static SCALE_INVOKE_STOP: ConformanceTest = ConformanceTest {
    name: "components::scale_invoke_and_stop",
    source: file!(),
    description: "a component scaled from file:// is reported by component_scaled and the inventory, answers its export over wRPC, and is gone after a scale to 0",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::FileLoad, Feature::Wrpc],
    covers: &["HL-14", "HL-06", "NET-08", "NET-05", "VAC-01", "Q-03"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1),
    run: scale_invoke_stop,
};

fn scale_invoke_stop(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let image = cx.image(PROBE_RUST)?;
        let id = "probe-rust";
        let event = scale(&cx, &host, &image, id, 2).await?;
        let data = event.data();
        ensure!(
            data["host_id"] == host.as_str() && data["image_ref"] == image.as_str(),
            "component_scaled: {data}"
        );
        ensure!(
            data["annotations"].is_object(),
            "component_scaled lacks annotations: {data}"
        );
        ensure!(
            event.source() == host,
            "event source {} is not the host",
            event.source()
        );
        let inv = wait_inventory(
            &cx,
            &host,
            "probe-rust listed with max_instances 2",
            2,
            |inv| {
                inv.components()
                    .iter()
                    .any(|c| c.id() == id && c.max_instances() == 2)
            },
        )
        .await?;
        let listed = inv
            .components()
            .iter()
            .find(|c| c.id() == id)
            .context("listed component")?;
        ensure!(
            listed.image_ref() == image,
            "inventory image_ref {}",
            listed.image_ref()
        );

        // NET-08: the export is served on <lattice>.<id>.wrpc.0.0.1.test:fixtures/echo@0.1.0.echo
        let client = cx.lattice().wrpc_client(id).await?;
        let big = "x".repeat(100_000);
        for msg in ["hello", "", "ünïcødé ✓ 🚀", big.as_str()] {
            let got = harness::wrpc::call(harness::wrpc::CALL_TIMEOUT, || {
                echo::echo(&client, None, msg)
            })
            .await
            .with_context(|| format!("wRPC echo of a {}-byte message", msg.len()))?;
            ensure!(
                got == msg,
                "echo returned {} bytes for a {}-byte message",
                got.len(),
                msg.len()
            );
        }
        let lang = harness::wrpc::call(harness::wrpc::CALL_TIMEOUT, || {
            about::language(&client, None)
        })
        .await
        .context("wRPC about.language")?;
        ensure!(lang == "rust", "about.language answered {lang:?}");

        scale(&cx, &host, &image, id, 0).await?;
        wait_inventory(&cx, &host, "probe-rust gone", 2, |inv| {
            inv.components().iter().all(|c| c.id() != id)
        })
        .await?;
        // Nobody serves the export any more: the call fails (no responders) instead of answering.
        let after = Wait::new("wRPC echo to fail after the scale to 0", T.converge)
            .consecutive(2)
            .until(|_| {
                let client = client.clone();
                async move {
                    match tokio::time::timeout(T.attempt, echo::echo(&client, None, "still there?"))
                        .await
                    {
                        Ok(Ok(answer)) => Probe::NotYet(format!("still answered {answer:?}")),
                        Ok(Err(e)) => Probe::Ready(format!("{e:#}")),
                        Err(_) => Probe::Ready("no answer within 5 s".to_string()),
                    }
                }
            })
            .await?;
        ensure!(!after.is_empty());
        Ok(())
    })
}

/// CFG-05 / VAC-01 / SEC-03: without WASMCLOUD_ALLOW_FILE_LOAD a file:// component is refused.
pub static FILE_LOAD_DENIED: ConformanceTest = ConformanceTest {
    name: "components::file_load_denied_by_default",
    source: file!(),
    description: "a host started without allow-file-load acks the scale request, then reports component_scale_failed and runs nothing",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::LatticeEvents],
    covers: &["CFG-05", "VAC-01", "SEC-03", "HL-14"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1).deny_file_load(),
    run: file_load_denied,
};

fn file_load_denied(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let fixture = cx.fixture(PROBE_RUST)?;
        let mark = cx.journal().mark();
        let error =
            crate::steps::scale_refused(&cx, &host, &fixture.file_ref(), "denied-probe", vec![])
                .await?;
        ensure!(
            error.contains("file loading is disabled"),
            "component_scale_failed error: {error:?}"
        );
        let scaled = cx
            .journal()
            .since(mark)
            .into_iter()
            .filter(|e| e.kind == "component_scaled")
            .count();
        ensure!(
            scaled == 0,
            "a component_scaled event was published for a refused component"
        );
        let inv = crate::steps::inventory(&cx, &host).await?;
        ensure!(
            inv.components().is_empty(),
            "the host runs {:?}",
            inv.components()
        );
        Ok(())
    })
}

/// Every test of this module, in report order.
pub(crate) fn all() -> Vec<&'static ConformanceTest> {
    vec![&SCALE_INVOKE_STOP, &FILE_LOAD_DENIED, &STDOUT_DROPPED]
}

/// what a component writes to stdout is dropped; stderr reaches the host's log.
pub static STDOUT_DROPPED: ConformanceTest = ConformanceTest {
    name: "components::stdout_dropped_stderr_kept",
    source: file!(),
    description: "a component writes one line to stderr and one to stdout: the stderr line shows in the host's log, the stdout line (written first) does not, through a quiet window",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::FileLoad, Feature::Wrpc],
    covers: &["Q-18", "HL-14"],
    fixtures: &[crate::fixtures::STREAMS_RUST],
    setup: Setup::hosts(1).needs_suite_lattice("reads the host's log"),
    run: stdout_dropped,
};

fn stdout_dropped(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let image = cx.image(crate::fixtures::STREAMS_RUST)?;
        scale(&cx, &cx.host_id(), &image, "streams", 1).await?;
        let client = cx.lattice().wrpc_client("streams").await?;
        let run = cx.lattice().name().to_string();
        let (out, err) = (format!("wcc-stdout-{run}"), format!("wcc-stderr-{run}"));
        use crate::bindings::streams::write;
        harness::wrpc::call(T.call, || write::stdout(&client, None, &out))
            .await
            .context("write.stdout")?;
        harness::wrpc::call(T.call, || write::stderr(&client, None, &err))
            .await
            .context("write.stderr")?;
        // The positive control: stderr, written after stdout, reaches the log...
        crate::steps::host_log_line(&cx, 0, &err).await?;
        // ... and stdout does not, then or within a quiet window.
        let shown = Wait::new(format!("the host log to show {out} (it must not)"), T.quiet)
            .interval(Duration::from_millis(100))
            .until(|_| {
                let line = crate::steps::host_log_find(&cx, 0, &out);
                async move {
                    match line {
                        Ok(Some(line)) => Probe::Ready(line),
                        Ok(None) => Probe::NotYet("not in the log".into()),
                        Err(e) => Probe::NotYet(format!("{e:#}")),
                    }
                }
            })
            .await;
        if let Ok(line) = shown {
            anyhow::bail!("the component's stdout reached the host's log: {line}");
        }
        Ok(())
    })
}
