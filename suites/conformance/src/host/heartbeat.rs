//! The host heartbeat (catalogue HL-04, CFG-09): when it comes, and that it tells the truth about
//! what the host runs (wadm rebuilds its view of the lattice from it).
use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{ensure, Context as _};
use serde_json::Value;

use crate::framework::T;
use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};
use harness::journal::LatticeEvent;

/// Consecutive gaps measured between heartbeats.
const GAPS: usize = 3;

/// HL-04 / CFG-09: heartbeats come at the configured interval and carry the inventory.
pub static INTERVAL: ConformanceTest = ConformanceTest {
    name: "host::heartbeat_interval_and_payload",
    source: file!(),
    description: "with WASMCLOUD_HEARTBEAT_INTERVAL=2 the host publishes host_heartbeat every 2 s (mean of 3 gaps within 15 %, each within 50 %), the first one interval after host_started, carrying the inventory fields",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::LatticeEvents],
    covers: &["HL-04", "CFG-09", "NET-05", "Q-02"],
    fixtures: &[],
    setup: Setup::hosts(1).needs_suite_lattice("needs the heartbeat interval the suite gives its hosts"),
    run: interval,
};

fn interval(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let interval = cx.lattice().heartbeat();
        let journal = cx.journal();
        let mut beats = vec![next_beat(&cx, journal.mark(), "first beat after the mark").await?];
        for _ in 0..GAPS {
            let after = beats.last().map(|b| b.seq).unwrap_or_default();
            beats.push(next_beat(&cx, after, "the next beat").await?);
        }
        let gaps: Vec<Duration> = beats
            .windows(2)
            .map(|w| Duration::from_millis(u64::try_from(w[1].at_ms - w[0].at_ms).unwrap_or(0)))
            .collect();
        // The host ticks every interval; what varies is when a beat reaches the journal, so one
        // gap may stretch and the next shrink. Their mean is the interval the host keeps.
        let mean = gaps.iter().sum::<Duration>() / u32::try_from(gaps.len())?;
        let (mean_slack, gap_slack) = (
            harness::wait::scaled(interval.mul_f64(0.15)),
            harness::wait::scaled(interval / 2),
        );
        ensure!(
            mean.abs_diff(interval) <= mean_slack,
            "heartbeats came {mean:?} apart on average ({gaps:?}); configured interval {interval:?}, allowed ±{mean_slack:?}"
        );
        ensure!(
            gaps.iter().all(|g| g.abs_diff(interval) <= gap_slack),
            "a gap between heartbeats is off by more than {gap_slack:?}: {gaps:?} (interval {interval:?})"
        );
        // the first heartbeat comes one interval after the start, not at once.
        let started = journal
            .since(0)
            .into_iter()
            .find(|e| e.kind == "host_started" && e.source() == host)
            .context("no host_started in the journal")?;
        let first_ever = journal
            .since(started.seq)
            .into_iter()
            .find(|e| e.kind == "host_heartbeat" && e.source() == host)
            .context("no heartbeat after host_started")?;
        let delay = Duration::from_millis(u64::try_from(first_ever.at_ms - started.at_ms)?);
        ensure!(
            delay >= interval / 2,
            "the first heartbeat came {delay:?} after host_started; expected about one interval ({interval:?})"
        );
        let last = beats.last().context("no beat")?;
        let env = &last.payload;
        ensure!(
            env["specversion"] == "1.0" && env["type"] == "com.wasmcloud.lattice.host_heartbeat",
            "envelope: {env}"
        );
        let data = last.data();
        for field in [
            "components",
            "providers",
            "host_id",
            "friendly_name",
            "labels",
            "version",
            "uptime_human",
            "uptime_seconds",
        ] {
            ensure!(
                !data[field].is_null(),
                "heartbeat data lacks `{field}`: {data}"
            );
        }
        ensure!(
            data["host_id"] == host.as_str(),
            "heartbeat for another host: {data}"
        );
        // The data is the host's own: its uptime since host_started (whole seconds, the beat
        // published a moment before the journal saw it), and the version and name it gives on
        // the control interface and, for a binary, on `--version`.
        let since_start = (last.at_ms - started.at_ms) as f64 / 1000.0;
        let uptime = data["uptime_seconds"].as_f64().unwrap_or(-1.0);
        ensure!(
            uptime >= since_start - 2.0 && uptime <= since_start + 1.0,
            "heartbeat uptime_seconds {uptime} for a beat {since_start:.1} s after host_started: {data}"
        );
        let inv = crate::steps::inventory(&cx, &host).await?;
        ensure!(
            data["version"] == inv.version() && data["friendly_name"] == inv.friendly_name(),
            "heartbeat version {} / friendly_name {}, host.get says {} / {}",
            data["version"],
            data["friendly_name"],
            inv.version(),
            inv.friendly_name()
        );
        if let (harness::Backend::Processes, Some(bins)) =
            (cx.lattice().backend(), cx.lattice().binaries())
        {
            let line = harness::binaries::version_of(&bins.host)
                .await
                .map_err(anyhow::Error::msg)?;
            let own = line.rsplit(' ').next().unwrap_or_default();
            ensure!(
                own.trim_start_matches('v') == inv.version(),
                "host.get reports version {}, the binary's --version says {line:?}",
                inv.version()
            );
        }
        Ok(())
    })
}

/// HL-04 / HL-06: a heartbeat lists exactly what the host runs.
pub static LISTS_WHAT_RUNS: ConformanceTest = ConformanceTest {
    name: "host::heartbeat_lists_what_runs",
    source: file!(),
    description: "after components are scaled and a provider started, and again after a rescale, a scale to zero and a stop, the next heartbeat lists exactly the components (with max_instances) and providers that host.get and the lattice events report",
    area: Area::Host,
    features: &[
        Feature::ControlInterface,
        Feature::LatticeEvents,
        Feature::FileLoad,
        Feature::BuiltinHttpServer,
    ],
    covers: &["HL-04", "HL-06", "HL-14", "HL-16", "HL-17"],
    fixtures: &[crate::fixtures::PROBE_RUST],
    setup: Setup::hosts(1)
        .features(&["builtin-http-server"])
        .needs_suite_lattice("needs the heartbeat interval the suite gives its hosts"),
    run: lists_what_runs,
};

fn lists_what_runs(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let image = cx.image(crate::fixtures::PROBE_RUST)?;
        crate::steps::scale(&cx, &host, &image, "beat-a", 2).await?;
        crate::steps::scale(&cx, &host, &image, "beat-b", 1).await?;
        let web = crate::steps::start_provider(
            &cx,
            &host,
            "wasmcloud+builtin://http-server",
            "beat-web",
            vec![],
        )
        .await?;
        let web_ref = web.field("image_ref").unwrap_or_default().to_string();
        beat_matches(
            &cx,
            "two components and a provider",
            &[("beat-a", 2), ("beat-b", 1)],
            &[("beat-web", &web_ref)],
            &image,
        )
        .await?;

        crate::steps::scale(&cx, &host, &image, "beat-a", 0).await?;
        crate::steps::scale(&cx, &host, &image, "beat-b", 3).await?;
        let mark = cx.journal().mark();
        let stop = cx.ctl().stop_provider(&host, "beat-web").await?;
        ensure!(stop.succeeded(), "provider.stop: {}", stop.message());
        cx.journal()
            .wait_for(mark, "provider_stopped", "beat-web", T.service, |e| {
                e.field("provider_id") == Some("beat-web")
            })
            .await?;
        beat_matches(
            &cx,
            "after a scale to zero, a rescale and a stop",
            &[("beat-b", 3)],
            &[],
            &image,
        )
        .await
    })
}

/// The next heartbeat of the test's host after `mark`.
async fn next_beat(cx: &Cx, mark: u64, what: &str) -> anyhow::Result<LatticeEvent> {
    let host = cx.host_id();
    Ok(cx
        .journal()
        .wait_for(
            mark,
            "host_heartbeat",
            what,
            cx.lattice().heartbeat() * 5,
            |e| e.source() == host,
        )
        .await?)
}

/// Checks that a heartbeat generated after the state settled lists exactly `components` (id,
/// max_instances, all from `image`) and `providers` (id, image_ref), and that its lists equal
/// what `host.get` answers, field for field.
async fn beat_matches(
    cx: &Cx,
    when: &str,
    components: &[(&str, u64)],
    providers: &[(&str, &str)],
    image: &str,
) -> anyhow::Result<()> {
    // A beat already on its way when the last event arrived may predate the change, so the one
    // after it is the first that surely saw the settled state.
    let first = next_beat(cx, cx.journal().mark(), "a beat after the change").await?;
    let beat = next_beat(cx, first.seq, "the beat after that").await?;
    let subject = format!(
        "wasmbus.ctl.v1.{}.host.get.{}",
        cx.lattice().name(),
        cx.host_id()
    );
    let got = crate::steps::raw_request(cx, subject, Vec::new()).await?;
    let inventory = &got["response"];
    for list in ["components", "providers"] {
        let (in_beat, in_inventory) = (by_id(&beat.data()[list]), by_id(&inventory[list]));
        ensure!(
            in_beat == in_inventory,
            "{when}: the heartbeat's {list} differ from host.get's\n  heartbeat: {}\n  host.get:  {}",
            beat.data()[list],
            inventory[list]
        );
    }
    let listed: BTreeMap<String, (String, u64)> = by_id(&beat.data()["components"])
        .into_iter()
        .map(|(id, c)| {
            let image_ref = c["image_ref"].as_str().unwrap_or_default().to_string();
            (id, (image_ref, c["max_instances"].as_u64().unwrap_or(0)))
        })
        .collect();
    let want: BTreeMap<String, (String, u64)> = components
        .iter()
        .map(|(id, n)| (id.to_string(), (image.to_string(), *n)))
        .collect();
    ensure!(
        listed == want,
        "{when}: the heartbeat lists components {listed:?}, the host was asked to run {want:?}"
    );
    let listed: BTreeMap<String, String> = by_id(&beat.data()["providers"])
        .into_iter()
        .map(|(id, p)| (id, p["image_ref"].as_str().unwrap_or_default().to_string()))
        .collect();
    let want: BTreeMap<String, String> = providers
        .iter()
        .map(|(id, r)| (id.to_string(), r.to_string()))
        .collect();
    ensure!(
        listed == want,
        "{when}: the heartbeat lists providers {listed:?}, provider_started reported {want:?}"
    );
    Ok(())
}

/// A heartbeat or inventory list keyed by each entry's `id` (the order is not part of the
/// contract); an entry without an id is kept under its JSON text, so it still differs.
fn by_id(list: &Value) -> BTreeMap<String, Value> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|entry| {
            let id = entry["id"]
                .as_str()
                .map_or_else(|| entry.to_string(), str::to_string);
            (id, entry.clone())
        })
        .collect()
}
