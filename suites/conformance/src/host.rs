//! Host identity, inventory and heartbeat (catalogue CFG, HL).
use crate::framework::T;
use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};
use anyhow::{ensure, Context as _};
use harness::wait::{Probe, Wait};

mod auction;
mod claims;
mod heartbeat;
mod membership;
mod nats_auth;
mod registry;
mod robustness;
mod secrets;

const LABELS: &[(&str, &str)] = &[("zone", "conformance-a"), ("Tier", "gold")];

/// HL-05: every host answers `host.ping` with its identity and the lattice it serves.
pub static PING: ConformanceTest = ConformanceTest {
    name: "host::ping_reports_identity",
    source: file!(),
    description: "host.ping is answered by each host with its id, labels (env and hostcore.*), version, lattice and NATS URLs",
    area: Area::Host,
    features: &[Feature::ControlInterface],
    covers: &["HL-05", "HL-02", "CFG-02", "CFG-03", "CFG-04"],
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
        ensure!(
            got == want,
            "ping answered by {got:?}, the lattice's hosts are {want:?}"
        );
        for h in &hosts {
            ensure!(
                h.id().starts_with('N') && h.id().len() == 56,
                "host id {} is not a server nkey",
                h.id()
            );
            ensure!(
                h.lattice() == lattice.name(),
                "host {} reports lattice {}",
                h.id(),
                h.lattice()
            );
            for (k, v) in LABELS {
                ensure!(
                    h.labels().get(*k).map(String::as_str) == Some(*v),
                    "label {k}={v} missing from {:?}",
                    h.labels()
                );
            }
            for k in ["hostcore.arch", "hostcore.os", "hostcore.osfamily"] {
                ensure!(
                    h.labels().contains_key(k),
                    "{k} missing from {:?}",
                    h.labels()
                );
            }
            let version = h.version().context("ping reply has no version")?;
            ensure!(
                version
                    .split(['+', '-'])
                    .next()
                    .is_some_and(|v| v.split('.').count() == 3
                        && v.split('.').all(|p| p.parse::<u64>().is_ok())),
                "version {version} is not semver (wadm parses it as semver, HL-04)"
            );
            let url = lattice.nats_url_given_to(h.id());
            ensure!(
                h.ctl_host() == Some(url.as_str()) && h.rpc_host() == Some(url.as_str()),
                "ctl_host {:?} / rpc_host {:?}, expected {url}",
                h.ctl_host(),
                h.rpc_host()
            );
            let name = h.friendly_name();
            let parts: Vec<&str> = name.split('-').collect();
            ensure!(
                parts.len() == 3
                    && parts[0].chars().all(|c| c.is_ascii_lowercase())
                    && parts[1].chars().all(|c| c.is_ascii_lowercase())
                    && parts[2].len() == 4
                    && parts[2].chars().all(|c| c.is_ascii_digit()),
                "friendly name {name:?} is not adjective-noun-NNNN (HL-02)"
            );
        }

        // The wire shape, as sent (the typed client would hide missing fields behind defaults).
        let subject = format!("wasmbus.ctl.v1.{}.host.ping", lattice.name());
        let reply = lattice
            .nats()
            .request(subject, "".into())
            .await
            .context("raw host.ping")?;
        let raw: serde_json::Value =
            serde_json::from_slice(&reply.payload).context("ping reply is not JSON")?;
        ensure!(raw["success"] == true, "raw ping reply: {raw}");
        // The whole reply through the redaction policy: every field, its type and the values
        // that are the same on every run (labels, lattice, NATS URLs). Either host may answer
        // the raw request first, so both ids are one placeholder here.
        let mut redactor = harness::redact::Redactor::new()
            .literal(lattice.name(), "[lattice]")
            .literal(&lattice.nats_url_for_hosts(), "nats://[nats]");
        for id in lattice.host_ids() {
            redactor = redactor
                .literal(&lattice.nats_url_given_to(&id), "nats://[nats]")
                .literal(&id, "[host]");
        }
        if let Some(v) = raw["response"]["version"].as_str() {
            redactor = redactor.literal(v, "[host-version]");
        }
        harness::snapshot!(
            redactor,
            "host_ping_reply",
            serde_json::json!({"subject": "wasmbus.ctl.v1.[lattice].host.ping"}),
            raw
        );
        Ok(())
    })
}

/// HL-06: the inventory of an idle host, through the one redaction policy.
pub static INVENTORY: ConformanceTest = ConformanceTest {
    name: "host::inventory_of_idle_host",
    source: file!(),
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
        let reply = lattice
            .nats()
            .request(subject.clone(), "".into())
            .await
            .context("raw host.get")?;
        let raw: serde_json::Value =
            serde_json::from_slice(&reply.payload).context("inventory reply is not JSON")?;
        ensure!(
            raw["response"]["host_id"] == host.as_str(),
            "inventory is for another host: {raw}"
        );
        // Typed view through the official client must agree.
        let typed = crate::steps::inventory(&cx, &host).await?;
        ensure!(
            typed.components().is_empty() && typed.providers().is_empty(),
            "idle host runs something: {raw}"
        );
        let mut redactor = cx.redactor();
        if let Some(v) = raw["response"]["version"].as_str() {
            redactor = redactor.literal(v, "[host-version]");
        }
        harness::snapshot!(
            redactor,
            "host_inventory_idle",
            serde_json::json!({"subject": subject}),
            raw
        );
        Ok(())
    })
}

/// HL-09: labels changed at runtime, with the events and the hostcore.* guard.
pub static LABELS_AT_RUNTIME: ConformanceTest = ConformanceTest {
    name: "host::labels_at_runtime",
    source: file!(),
    description: "label.put adds a label (labels_changed with the full map), hostcore.* labels are refused, label.del of a missing key succeeds without an event",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::LatticeEvents],
    covers: &["HL-09", "NET-05", "SEC-03", "Q-06"],
    fixtures: &[],
    setup: Setup::hosts(1).labels(LABELS),
    run: labels_at_runtime,
};

fn labels_at_runtime(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let journal = cx.journal();
        let mark = journal.mark();
        let put = cx.ctl().put_label(&host, "rack", "r42").await?;
        ensure!(put.succeeded(), "label.put refused: {}", put.message());
        ensure!(
            put.message() == "successfully put label",
            "success message (Q-06: non-empty on success): {:?}",
            put.message()
        );
        let changed = journal
            .wait_for(mark, "labels_changed", "after label.put", T.event, |e| {
                e.source() == host
            })
            .await?;
        let labels = &changed.data()["labels"];
        ensure!(
            labels["rack"] == "r42"
                && labels["zone"] == "conformance-a"
                && !labels["hostcore.os"].is_null(),
            "labels_changed carries the full map: {}",
            changed.data()
        );
        let hosts = cx.ctl().get_hosts().await?;
        ensure!(
            hosts[0].labels().get("rack").map(String::as_str) == Some("r42"),
            "ping does not show the new label"
        );

        let guarded = cx.ctl().put_label(&host, "hostcore.os", "plan9").await?;
        ensure!(
            !guarded.succeeded(),
            "a hostcore.* label was set dynamically"
        );
        ensure!(
            guarded.message().contains("hostcore"),
            "refusal message: {:?}",
            guarded.message()
        );

        let mark = journal.mark();
        let missing = cx.ctl().delete_label(&host, "no-such-label").await?;
        ensure!(
            missing.succeeded(),
            "deleting a missing label failed: {}",
            missing.message()
        );
        let del = cx.ctl().delete_label(&host, "rack").await?;
        ensure!(del.succeeded(), "label.del refused: {}", del.message());
        let after = journal
            .wait_for(mark, "labels_changed", "after label.del", T.event, |e| {
                e.source() == host
            })
            .await?;
        ensure!(
            after.data()["labels"]["rack"].is_null(),
            "rack still present: {}",
            after.data()
        );
        let changes = journal
            .since(mark)
            .iter()
            .filter(|e| e.kind == "labels_changed")
            .count();
        ensure!(
            changes == 1,
            "{changes} labels_changed events for one real deletion and one no-op"
        );
        Ok(())
    })
}

/// HL-07: a host stopped through the control interface says goodbye and leaves the lattice.
pub static STOP_HOST: ConformanceTest = ConformanceTest {
    name: "host::stop_through_control_interface",
    source: file!(),
    description: "host.stop is acknowledged, the host publishes host_stopped with its labels and stops answering the control interface",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::LatticeEvents],
    covers: &["HL-07", "NET-05"],
    fixtures: &[],
    setup: Setup::hosts(2).labels(LABELS).needs_suite_lattice("stops a host"),
    run: stop_host,
};

fn stop_host(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let ids = cx.lattice().host_ids();
        let (victim, survivor) = (&ids[0], &ids[1]);
        let mark = cx.journal().mark();
        let ack = cx.ctl().stop_host(victim, Some(5_000)).await?;
        ensure!(ack.succeeded(), "host.stop refused: {}", ack.message());
        let stopped = cx
            .journal()
            .wait_for(mark, "host_stopped", "the stopped host", T.service, |e| {
                e.source() == victim.as_str()
            })
            .await?;
        ensure!(
            stopped.data()["labels"]["zone"] == "conformance-a",
            "host_stopped data: {}",
            stopped.data()
        );
        let ctl = cx.ctl().clone();
        Wait::new("the stopped host to stop answering ping", T.converge)
            .consecutive(2)
            .until(|_| {
                let ctl = ctl.clone();
                async move {
                    match ctl.get_hosts().await {
                        Ok(hosts) if hosts.iter().all(|h| h.id() != victim) => {
                            Probe::Ready(hosts.len())
                        }
                        Ok(hosts) => Probe::NotYet(format!(
                            "{} host(s) still answer, the stopped one among them",
                            hosts.len()
                        )),
                        Err(e) => Probe::NotYet(e.to_string()),
                    }
                }
            })
            .await?;
        let hosts = cx.ctl().get_hosts().await?;
        ensure!(
            hosts.len() == 1 && hosts[0].id() == survivor,
            "the other host must keep running: {:?}",
            hosts.iter().map(|h| h.id()).collect::<Vec<_>>()
        );
        Ok(())
    })
}

/// HL-19: malformed control requests get an error reply, never silence or a crash.
pub static PROTOCOL_ERRORS: ConformanceTest = ConformanceTest {
    name: "host::protocol_errors",
    source: file!(),
    description: "an unknown control operation answers `unsupported subject`, an undeserialisable scale command answers `failed to deserialize`, and the host keeps serving",
    area: Area::Host,
    features: &[Feature::ControlInterface],
    covers: &["HL-19", "NET-02"],
    fixtures: &[],
    setup: Setup::hosts(1),
    run: protocol_errors,
};

fn protocol_errors(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let lattice = cx.lattice();
        let host = cx.host_id();
        let nats = lattice.nats();
        let ask = |subject: String, body: &'static str| {
            let nats = nats.clone();
            async move {
                let reply =
                    tokio::time::timeout(T.attempt, nats.request(subject.clone(), body.into()))
                        .await
                        .map_err(|_| anyhow::anyhow!("no reply on {subject} within 5 s"))?
                        .with_context(|| format!("request on {subject}"))?;
                let json: serde_json::Value =
                    serde_json::from_slice(&reply.payload).context("reply is not JSON")?;
                anyhow::Ok(json)
            }
        };
        let bogus = ask(
            format!("wasmbus.ctl.v1.{}.component.bogus.{host}", lattice.name()),
            "{}",
        )
        .await?;
        ensure!(
            bogus["success"] == false && bogus["message"] == "unsupported subject",
            "unknown operation: {bogus}"
        );
        let garbage = ask(
            format!("wasmbus.ctl.v1.{}.component.scale.{host}", lattice.name()),
            "{not json",
        )
        .await?;
        ensure!(garbage["success"] == false, "malformed scale: {garbage}");
        ensure!(
            garbage["message"]
                .as_str()
                .is_some_and(|m| m.contains("failed to deserialize")),
            "malformed scale: {garbage}"
        );
        let inv = crate::steps::inventory(&cx, &host).await?;
        ensure!(
            inv.host_id() == host,
            "the host no longer serves its inventory"
        );
        Ok(())
    })
}

/// HL-14 / Q-08: the instance count travels as `count`; `max_instances` alone means zero.
pub static COUNT_FIELD: ConformanceTest = ConformanceTest {
    name: "host::scale_count_wire_field",
    source: file!(),
    description: "a raw scale command with `count: 2` scales to 2, and one carrying only `max_instances` is taken as a scale to 0",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::FileLoad],
    covers: &["HL-14", "Q-08"],
    fixtures: &[crate::fixtures::PROBE_RUST],
    setup: Setup::hosts(1),
    run: count_field,
};

fn count_field(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let image = cx.image(crate::fixtures::PROBE_RUST)?;
        let subject = format!(
            "wasmbus.ctl.v1.{}.component.scale.{host}",
            cx.lattice().name()
        );
        let send = |body: serde_json::Value| {
            let nats = cx.lattice().nats().clone();
            let subject = subject.clone();
            async move {
                let reply = nats
                    .request(subject, body.to_string().into())
                    .await
                    .context("raw component.scale")?;
                let raw: serde_json::Value = serde_json::from_slice(&reply.payload)?;
                ensure!(raw["success"] == true, "scale reply: {raw}");
                anyhow::Ok(())
            }
        };
        let mark = cx.journal().mark();
        send(serde_json::json!({"component_ref": image, "component_id": "counted", "host_id": host, "count": 2, "config": []})).await?;
        cx.journal()
            .wait_for(mark, "component_scaled", "counted at 2", T.component, |e| {
                e.field("component_id") == Some("counted") && e.data()["max_instances"] == 2
            })
            .await?;
        let mark = cx.journal().mark();
        send(serde_json::json!({"component_ref": image, "component_id": "counted", "host_id": host, "max_instances": 3, "config": []}))
            .await?;
        // The host can publish `component_scaled` for one command twice (seen: two events at 2,
        // 2 ms apart, the second after the mark), so the answer to this command is the first
        // event with another count: 0 if `max_instances` is ignored, 3 if it is read as `count`.
        let e = cx
            .journal()
            .wait_for(
                mark,
                "component_scaled",
                "counted rescaled to a count other than 2",
                T.component,
                |e| e.field("component_id") == Some("counted") && e.data()["max_instances"] != 2,
            )
            .await?;
        ensure!(
            e.data()["max_instances"] == 0,
            "a command with only max_instances scaled to {} (the wire field is `count`)",
            e.data()["max_instances"]
        );
        Ok(())
    })
}

/// HL-15 (bug?) / Q-15: updating a component's image, tolerated and documented.
pub static UPDATE: ConformanceTest = ConformanceTest {
    name: "host::update_component_replies",
    source: file!(),
    description: "component.update answers `not found` for an unknown id and `already updated` for the same ref; an update to a new ref is accepted, published as component_scaled for the new ref, listed in the inventory, and then answers with the new code (upstream 1.9.2 keeps the old code answering: recorded as an observation, see the test)",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::FileLoad, Feature::Wrpc],
    covers: &["HL-15", "Q-15"],
    fixtures: &[crate::fixtures::PROBE_RUST, crate::fixtures::PROBE_C],
    setup: Setup::hosts(1),
    run: update,
};

fn update(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let rust = cx.image(crate::fixtures::PROBE_RUST)?;
        let c = cx.image(crate::fixtures::PROBE_C)?;
        let client = cx.ctl().client();
        let unknown = client
            .update_component(&host, "nobody", &c, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        ensure!(
            !unknown.succeeded() && unknown.message().contains("not found"),
            "update of an unknown id: {} {:?}",
            unknown.succeeded(),
            unknown.message()
        );
        crate::steps::scale(&cx, &host, &rust, "updated", 1).await?;
        let same = client
            .update_component(&host, "updated", &rust, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        ensure!(
            same.succeeded() && same.message().contains("already updated"),
            "update to the same ref: {:?}",
            same.message()
        );
        let mark = cx.journal().mark();
        let to_c = client
            .update_component(&host, "updated", &c, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        ensure!(
            to_c.succeeded() && to_c.message().contains("updating"),
            "update to a new ref: {:?}",
            to_c.message()
        );
        // The update is done when the host says so: component_scaled for the new ref, and the
        // inventory listing it. A host that acknowledged and did nothing stops here.
        cx.journal()
            .wait_for(
                mark,
                "component_scaled",
                "updated at 1 on the new ref",
                T.component,
                |e| {
                    e.field("component_id") == Some("updated")
                        && e.field("image_ref") == Some(c.as_str())
                        && e.data()["max_instances"] == 1
                },
            )
            .await?;
        crate::steps::wait_inventory(&cx, &host, "updated on the new ref", 1, |inv| {
            inv.components()
                .iter()
                .any(|d| d.id() == "updated" && d.image_ref() == c)
        })
        .await?;
        // Then calls must reach the new code (C). Upstream 1.9.2 does not switch (catalogue
        // HL-15 "bug?"): the update task stops the *new* instance and publishes
        // component_scaled(0) for the new ref, and the old instance keeps serving. Only that exact
        // behaviour is accepted instead, as an observation.
        let wrpc = cx.lattice().wrpc_client("updated").await?;
        let wrpc_ref = &wrpc;
        let switched = Wait::new("calls to reach the updated (C) code", T.quiet)
            .until(|_| async move {
                match harness::wrpc::call(T.attempt, || {
                    crate::bindings::about::language(wrpc_ref, None)
                })
                .await
                {
                    Ok(lang) if lang == "c" => Probe::Ready(()),
                    Ok(lang) => Probe::NotYet(format!("answered by the {lang} probe")),
                    Err(e) => Probe::NotYet(format!("{e:#}")),
                }
            })
            .await;
        let Err(not_switched) = switched else {
            return Ok(());
        };
        let lang = harness::wrpc::call(T.call, || crate::bindings::about::language(wrpc_ref, None))
            .await
            .context("the updated component stopped answering")?;
        let stopped_new = cx.journal().since(mark).into_iter().any(|e| {
            e.kind == "component_scaled"
                && e.field("component_id") == Some("updated")
                && e.field("image_ref") == Some(c.as_str())
                && e.data()["max_instances"] == 0
        });
        ensure!(
            lang == "rust" && stopped_new,
            "after the update, calls are answered by the {lang} probe and component_scaled(0) for the new ref was {}published: {not_switched}",
            if stopped_new { "" } else { "not " }
        );
        cx.observe(
            "component.update: the inventory shows the new ref and component_scaled(1) then component_scaled(0) are published for it, but the old code keeps answering calls (catalogue HL-15: the update task stops the new instance)",
        );
        Ok(())
    })
}

/// SEC-12: per-component limits travel in the scale command and show in the inventory.
pub static COMPONENT_LIMITS: ConformanceTest = ConformanceTest {
    name: "host::per_component_limits_reported",
    source: file!(),
    description: "a scale command carrying component_limits starts the component and the inventory reports those limits",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::FileLoad],
    covers: &["SEC-12", "HL-14", "HL-06"],
    fixtures: &[crate::fixtures::PROBE_RUST],
    setup: Setup::hosts(1),
    run: component_limits,
};

fn component_limits(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let image = cx.image(crate::fixtures::PROBE_RUST)?;
        // Sent raw: the 3.x client's scale_component has no limits argument.
        let subject = format!(
            "wasmbus.ctl.v1.{}.component.scale.{host}",
            cx.lattice().name()
        );
        let body = serde_json::json!({"component_ref": image, "component_id": "limited", "host_id": host, "count": 1, "config": [],
            "component_limits": {"max_memory_limit": "134217728", "max_execution_time": "5"}});
        let mark = cx.journal().mark();
        let reply = cx
            .lattice()
            .nats()
            .request(subject, body.to_string().into())
            .await
            .context("raw scale")?;
        let raw: serde_json::Value = serde_json::from_slice(&reply.payload)?;
        ensure!(raw["success"] == true, "scale with limits: {raw}");
        cx.journal()
            .wait_for(mark, "component_scaled", "limited", T.component, |e| {
                e.field("component_id") == Some("limited")
            })
            .await?;
        let inv = crate::steps::wait_inventory(&cx, &host, "limited listed", 1, |inv| {
            inv.components().iter().any(|c| c.id() == "limited")
        })
        .await?;
        let limits = inv
            .components()
            .iter()
            .find(|c| c.id() == "limited")
            .and_then(|c| c.limits())
            .unwrap_or_default();
        ensure!(
            limits.get("max_memory_limit").map(String::as_str) == Some("134217728"),
            "inventory limits: {limits:?}"
        );
        Ok(())
    })
}

/// Every test of this module and its submodules, in report order.
pub(crate) fn all() -> Vec<&'static ConformanceTest> {
    let mut tests: Vec<&'static ConformanceTest> = vec![
        &PING,
        &INVENTORY,
        &heartbeat::INTERVAL,
        &heartbeat::LISTS_WHAT_RUNS,
        &LABELS_AT_RUNTIME,
        &STOP_HOST,
        &PROTOCOL_ERRORS,
        &auction::COMPONENT,
        &auction::PROVIDER,
        &registry::PULLS,
        &registry::CREDENTIALS,
        &claims::SIGNED,
        &secrets::COMPONENT,
        &secrets::PROVIDER,
        &COUNT_FIELD,
        &UPDATE,
        &COMPONENT_LIMITS,
    ];
    tests.extend(membership::all());
    tests.extend(nats_auth::all());
    tests.extend(robustness::all());
    tests
}
