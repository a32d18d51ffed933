//! Named configuration, lattice-wide (catalogue NET-06, VAC-05).
use std::collections::BTreeMap;
use std::time::Duration;

use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};
use anyhow::{ensure, Context as _};
use harness::wait::{Probe, Wait};

use crate::bindings::test::fixtures::config_reader;
use crate::fixtures::PROBE_RUST;
use crate::framework::T;
use crate::steps::scale;

/// NET-06: put, get, delete, with events and the documented answers for bad and missing input.
pub static CRUD: ConformanceTest = ConformanceTest {
    name: "config::put_get_delete",
    source: file!(),
    description: "config.put stores a string map (config_set), rejects anything else, config.get returns it or `Configuration not found`, config.del removes it (config_deleted)",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::LatticeEvents],
    covers: &["NET-06", "NET-05", "NET-02"],
    fixtures: &[],
    setup: Setup::hosts(1),
    run: crud,
};

fn crud(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let lattice = cx.lattice();
        let journal = cx.journal();
        // Not a string map: refused (sent raw; the typed client cannot express it).
        let subject = format!("wasmbus.ctl.v1.{}.config.put.bad-config", lattice.name());
        let reply = lattice
            .nats()
            .request(subject, r#"["not","a","map"]"#.into())
            .await
            .context("raw config.put")?;
        let raw: serde_json::Value = serde_json::from_slice(&reply.payload)?;
        ensure!(
            raw["success"] == false,
            "a non-map config was accepted: {raw}"
        );
        ensure!(
            raw["message"]
                .as_str()
                .is_some_and(|m| m.contains("map of string")),
            "refusal: {raw}"
        );

        let missing = cx.ctl().get_config("absent-config").await?;
        ensure!(
            missing.succeeded() && missing.data().is_none(),
            "missing config: success={} data={:?}",
            missing.succeeded(),
            missing.data()
        );
        ensure!(
            missing.message().contains("not found"),
            "missing config message: {:?}",
            missing.message()
        );

        let mark = journal.mark();
        let values = BTreeMap::from([
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "two".to_string()),
        ]);
        let put = cx.ctl().put_config("app-config", values.clone()).await?;
        ensure!(put.succeeded(), "config.put: {}", put.message());
        journal
            .wait_for(mark, "config_set", "app-config", T.event, |e| {
                e.field("config_name") == Some("app-config")
            })
            .await?;
        let got = cx
            .ctl()
            .get_config("app-config")
            .await?
            .into_data()
            .context("config.get returned no map")?;
        let got: BTreeMap<String, String> = got.into_iter().collect();
        ensure!(got == values, "config.get returned {got:?}");

        let mark = journal.mark();
        let del = cx.ctl().delete_config("app-config").await?;
        ensure!(del.succeeded(), "config.del: {}", del.message());
        journal
            .wait_for(mark, "config_deleted", "app-config", T.event, |e| {
                e.field("config_name") == Some("app-config")
            })
            .await?;
        let gone = cx.ctl().get_config("app-config").await?;
        ensure!(
            gone.data().is_none(),
            "config still readable after delete: {:?}",
            gone.data()
        );
        Ok(())
    })
}

/// NET-06 / VAC-05: a running component sees config updates without a restart.
pub static LIVE_UPDATE: ConformanceTest = ConformanceTest {
    name: "config::live_update_reaches_component",
    source: file!(),
    description: "after config.put of new values, a running component's wasi:config reads them without being rescaled",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::FileLoad, Feature::Wrpc],
    covers: &["NET-06", "VAC-05"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1),
    run: live_update,
};

fn live_update(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let image = cx.fixture(PROBE_RUST)?.file_ref();
        let put = cx
            .ctl()
            .put_config(
                "live",
                BTreeMap::from([("mode".to_string(), "first".to_string())]),
            )
            .await?;
        ensure!(put.succeeded(), "config.put: {}", put.message());
        let mark = cx.journal().mark();
        let ack = cx
            .ctl()
            .scale_component(&host, &image, "live-reader", 1, None, vec!["live".into()])
            .await?;
        ensure!(ack.succeeded(), "scale: {}", ack.message());
        cx.journal()
            .wait_for(mark, "component_scaled", "live-reader", T.component, |e| {
                e.field("component_id") == Some("live-reader")
            })
            .await?;
        let client = cx.lattice().wrpc_client("live-reader").await?;
        let first = harness::wrpc::call(harness::wrpc::CALL_TIMEOUT, || {
            config_reader::get(&client, None, "mode")
        })
        .await
        .context("config-reader.get")?;
        ensure!(
            first.as_deref() == Some("first"),
            "before the update: {first:?}"
        );
        let put = cx
            .ctl()
            .put_config(
                "live",
                BTreeMap::from([("mode".to_string(), "second".to_string())]),
            )
            .await?;
        ensure!(put.succeeded(), "config.put: {}", put.message());
        let client_ref = &client;
        Wait::new("the component to read the updated config", T.converge)
            .consecutive(2)
            .interval(Duration::from_millis(100))
            .until(|_| async move {
                match config_reader::get(client_ref, None, "mode").await {
                    Ok(Some(v)) if v == "second" => Probe::Ready(()),
                    Ok(v) => Probe::NotYet(format!("reads {v:?}")),
                    Err(e) => Probe::NotYet(format!("{e:#}")),
                }
            })
            .await?;
        Ok(())
    })
}

/// NET-06 / HL-14: scaling with a config that does not exist fails through the event.
pub static MISSING_CONFIG: ConformanceTest = ConformanceTest {
    name: "config::scale_with_missing_config_fails",
    source: file!(),
    description:
        "scaling a component with a named config that does not exist is acked, then reported by component_scale_failed naming the config",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::LatticeEvents, Feature::FileLoad],
    covers: &["NET-06", "HL-14", "Q-03"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1),
    run: missing_config,
};

fn missing_config(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let image = cx.fixture(PROBE_RUST)?.file_ref();
        let error = crate::steps::scale_refused(
            &cx,
            &host,
            &image,
            "needs-config",
            vec!["never-put".into()],
        )
        .await?;
        ensure!(
            error.contains("never-put"),
            "the error does not name the missing config: {error:?}"
        );
        // A good scale afterwards still works (the failure left nothing behind).
        scale(&cx, &host, &image, "needs-config", 1).await?;
        Ok(())
    })
}

/// NET-11: links and configuration live in the lattice's JetStream KV buckets.
pub static DATA_MODEL: ConformanceTest = ConformanceTest {
    name: "config::lattice_data_in_jetstream",
    source: file!(),
    description:
        "a link is stored in LATTICEDATA_<lattice> under COMPONENT_<source> and a named config in CONFIGDATA_<lattice> under its name",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::Links],
    covers: &["NET-11", "HL-01"],
    fixtures: &[],
    setup: Setup::hosts(1),
    run: data_model,
};

fn data_model(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let lattice = cx.lattice().name().to_string();
        crate::steps::put_link(
            &cx,
            crate::steps::echo_link("kv-source", "kv-target", "default")?,
        )
        .await?;
        crate::steps::put_config(&cx, "stored", &[("k", "v")]).await?;
        let js = async_nats::jetstream::new(cx.lattice().nats().clone());
        let data = js
            .get_key_value(format!("LATTICEDATA_{lattice}"))
            .await
            .context("LATTICEDATA bucket")?;
        let spec = data
            .get("COMPONENT_kv-source")
            .await?
            .context("no COMPONENT_kv-source key")?;
        let spec: serde_json::Value = serde_json::from_slice(&spec)?;
        ensure!(
            spec["links"][0]["target"] == "kv-target",
            "COMPONENT_kv-source: {spec}"
        );
        let config = js
            .get_key_value(format!("CONFIGDATA_{lattice}"))
            .await
            .context("CONFIGDATA bucket")?;
        let stored = config
            .get("stored")
            .await?
            .context("no config key `stored`")?;
        let stored: serde_json::Value = serde_json::from_slice(&stored)?;
        ensure!(stored["k"] == "v", "CONFIGDATA stored: {stored}");
        Ok(())
    })
}

/// Every test of this module, in report order.
pub(crate) fn all() -> Vec<&'static ConformanceTest> {
    vec![&CRUD, &LIVE_UPDATE, &MISSING_CONFIG, &DATA_MODEL]
}
