//! Host identity, inventory and heartbeat (catalogue CFG, HL).
use std::time::Duration;

use anyhow::{ensure, Context as _};
use harness::conformance::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};

const LABELS: &[(&str, &str)] = &[("zone", "conformance-a"), ("Tier", "gold")];

/// HL-05: every host answers `host.ping` with its identity and the lattice it serves.
pub static PING: ConformanceTest = ConformanceTest {
    name: "host::ping_reports_identity",
    description: "host.ping is answered by each host with its id, labels (env and hostcore.*), version, lattice and NATS URLs",
    area: Area::Host,
    features: &[Feature::ControlInterface],
    covers: &["HL-05", "CFG-02", "CFG-03", "CFG-04"],
    fixtures: &[],
    setup: Setup::hosts(2).labels(LABELS),
    run: ping,
};

fn ping(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let lattice = cx.lattice();
        let mut hosts = cx.ctl().get_hosts().await?;
        hosts.sort_by(|a, b| a.id().cmp(b.id()));
        let mut want = lattice.host_ids();
        want.sort();
        let got: Vec<&str> = hosts.iter().map(|h| h.id()).collect();
        ensure!(got == want, "ping answered by {got:?}, the lattice's hosts are {want:?}");
        for h in &hosts {
            ensure!(h.id().starts_with('N') && h.id().len() == 56, "host id {} is not a server nkey", h.id());
            ensure!(h.lattice() == lattice.name(), "host {} reports lattice {}", h.id(), h.lattice());
            for (k, v) in LABELS {
                ensure!(h.labels().get(*k).map(String::as_str) == Some(*v), "label {k}={v} missing from {:?}", h.labels());
            }
            for k in ["hostcore.arch", "hostcore.os", "hostcore.osfamily"] {
                ensure!(h.labels().contains_key(k), "{k} missing from {:?}", h.labels());
            }
            let version = h.version().context("ping reply has no version")?;
            ensure!(version.split(['+', '-']).next().is_some_and(|v| v.split('.').count() == 3 && v.split('.').all(|p| p.parse::<u64>().is_ok())),
                "version {version} is not semver (wadm parses it as semver, HL-04)");
            let url = lattice.nats_url();
            ensure!(h.ctl_host() == Some(url.as_str()) && h.rpc_host() == Some(url.as_str()),
                "ctl_host {:?} / rpc_host {:?}, expected {url}", h.ctl_host(), h.rpc_host());
            ensure!(!h.friendly_name().is_empty(), "empty friendly name");
        }

        // The wire shape, as sent (the typed client would hide missing fields behind defaults).
        let subject = format!("wasmbus.ctl.v1.{}.host.ping", lattice.name());
        let reply = lattice.nats().request(subject, "".into()).await.context("raw host.ping")?;
        let raw: serde_json::Value = serde_json::from_slice(&reply.payload).context("ping reply is not JSON")?;
        ensure!(raw["success"] == true, "raw ping reply: {raw}");
        for field in ["id", "labels", "friendly_name", "uptime_seconds", "uptime_human", "version", "ctl_host", "rpc_host", "lattice"] {
            ensure!(!raw["response"][field].is_null(), "ping response lacks `{field}`: {raw}");
        }
        Ok(())
    })
}

/// HL-06: the inventory of an idle host, through the one redaction policy.
pub static INVENTORY: ConformanceTest = ConformanceTest {
    name: "host::inventory_of_idle_host",
    description: "host.get.<id> answers with the inventory shape (no components, no providers, identity and labels)",
    area: Area::Host,
    features: &[Feature::ControlInterface],
    covers: &["HL-06"],
    fixtures: &[],
    setup: Setup::hosts(1).labels(LABELS),
    run: inventory,
};

fn inventory(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let lattice = cx.lattice();
        let host = cx.host_id();
        let subject = format!("wasmbus.ctl.v1.{}.host.get.{host}", lattice.name());
        let reply = lattice.nats().request(subject.clone(), "".into()).await.context("raw host.get")?;
        let raw: serde_json::Value = serde_json::from_slice(&reply.payload).context("inventory reply is not JSON")?;
        ensure!(raw["response"]["host_id"] == host.as_str(), "inventory is for another host: {raw}");
        // Typed view through the official client must agree.
        let typed = crate::support::inventory(&cx, &host).await?;
        ensure!(typed.components().is_empty() && typed.providers().is_empty(), "idle host runs something: {raw}");
        let mut redactor = cx.redactor().clone();
        if let Some(v) = raw["response"]["version"].as_str() {
            redactor = redactor.literal(v, "[host-version]");
        }
        harness::snapshot!(redactor, "host_inventory_idle", serde_json::json!({"subject": subject}), raw);
        Ok(())
    })
}

/// HL-04 / CFG-09: heartbeats come at the configured interval and carry the inventory.
pub static HEARTBEAT: ConformanceTest = ConformanceTest {
    name: "host::heartbeat_interval_and_payload",
    description: "with WASMCLOUD_HEARTBEAT_INTERVAL=2 the host publishes host_heartbeat about every 2 s carrying its inventory",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::LatticeEvents],
    covers: &["HL-04", "CFG-09", "NET-05"],
    fixtures: &[],
    setup: Setup::hosts(1),
    run: heartbeat,
};

fn heartbeat(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let interval = cx.lattice().heartbeat();
        let journal = cx.journal();
        let mark = journal.mark();
        let first = journal
            .wait_for(mark, "host_heartbeat", "first beat after the mark", interval * 5, |e| e.source() == host)
            .await?;
        let second = journal
            .wait_for(first.seq, "host_heartbeat", "the next beat", interval * 5, |e| e.source() == host)
            .await?;
        let gap = Duration::from_millis(u64::try_from(second.at_ms - first.at_ms)?);
        ensure!(
            gap >= interval / 2 && gap <= interval * 3,
            "heartbeats {gap:?} apart, configured interval {interval:?}"
        );
        let env = &second.payload;
        ensure!(env["specversion"] == "1.0" && env["type"] == "com.wasmcloud.lattice.host_heartbeat", "envelope: {env}");
        let data = second.data();
        for field in ["components", "providers", "host_id", "friendly_name", "labels", "version", "uptime_human", "uptime_seconds"] {
            ensure!(!data[field].is_null(), "heartbeat data lacks `{field}`: {data}");
        }
        ensure!(data["host_id"] == host.as_str(), "heartbeat for another host: {data}");
        Ok(())
    })
}
