//! Named configuration, lattice-wide (catalogue NET-06, VAC-05), with hand-picked and generated
//! maps and names.
use std::collections::BTreeMap;
use std::time::Duration;

use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};
use anyhow::{ensure, Context as _};
use harness::wait::{Probe, Wait};
use proptest::prelude::*;

use crate::bindings::test::fixtures::config_reader;
use crate::fixtures::PROBE_RUST;
use crate::framework::properties::{short, text};
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
        let image = cx.image(PROBE_RUST)?;
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
            .kind("config")
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
        let image = cx.image(PROBE_RUST)?;
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

/// A map for a failure message, its strings cut after 40 characters.
fn shown(map: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{}: {}", short(k, 40), short(v, 40)))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

/// One key as the component read it (none: unset), for a failure message.
fn shown_read(key: &str, value: &Option<String>) -> String {
    let value = value
        .as_deref()
        .map_or_else(|| "none".to_string(), |v| short(v, 40));
    format!("{{{}: {value}}}", short(key, 40))
}

/// A generated config: a name within the rules (a NATS subject token that is also a JetStream
/// KV key: `[-/_=A-Za-z0-9]`) and a string map.
fn generated_config() -> impl Strategy<Value = (String, BTreeMap<String, String>)> {
    (
        "[-/_=A-Za-z0-9]{1,24}",
        prop::collection::btree_map(text(12, 4096), text(64, 4096), 0..6),
    )
}

/// NET-06 / VAC-05 as a property: generated maps round-trip and reach a running component.
pub static GENERATED_MAPS: ConformanceTest = ConformanceTest {
    name: "config::generated_maps_round_trip",
    source: file!(),
    description: "generated string maps (NUL, astral-plane and combining characters, empty keys and values, 4 KiB values) under generated names within the rules: config.put then config.get is the identity, and a running component reads exactly those values through wasi:config (keys the next put drops read as none)",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::FileLoad, Feature::Wrpc],
    covers: &["NET-06", "VAC-05"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1),
    run: generated_maps,
};

fn generated_maps(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let host = cx.host_id();
        let image = cx.image(PROBE_RUST)?;
        let mut draw = cx.draw()?;
        let cases = draw.values(&generated_config())?;
        // The component reads the config named `prop-reader`; every case puts its map there too.
        crate::steps::put_config(&cx, "prop-reader", &[]).await?;
        let mark = cx.journal().mark();
        let ack = cx
            .ctl()
            .scale_component(
                &host,
                &image,
                "prop-reader",
                1,
                None,
                vec!["prop-reader".into()],
            )
            .await?;
        ensure!(ack.succeeded(), "scale: {}", ack.message());
        cx.journal()
            .wait_for(mark, "component_scaled", "prop-reader", T.component, |e| {
                e.field("component_id") == Some("prop-reader")
            })
            .await?;
        let client = cx.lattice().wrpc_client("prop-reader").await?;
        let mut previous = BTreeMap::new();
        for (i, (name, values)) in cases.iter().enumerate() {
            let name = format!("{name}-{i}");
            let context = || {
                format!(
                    "case {} of {} ({}): config {name:?} = {}",
                    i + 1,
                    cases.len(),
                    draw.repeat(),
                    shown(values)
                )
            };
            let put = cx
                .ctl()
                .put_config(&name, values.clone())
                .await
                .with_context(context)?;
            ensure!(
                put.succeeded(),
                "{}: config.put refused: {}",
                context(),
                put.message()
            );
            let got: BTreeMap<String, String> = cx
                .ctl()
                .get_config(&name)
                .await
                .with_context(context)?
                .into_data()
                .with_context(|| format!("{}: config.get returned no map", context()))?
                .into_iter()
                .collect();
            ensure!(
                &got == values,
                "{}: config.get returned {}",
                context(),
                shown(&got)
            );

            let put = cx
                .ctl()
                .put_config("prop-reader", values.clone())
                .await
                .with_context(context)?;
            ensure!(
                put.succeeded(),
                "{}: config.put prop-reader: {}",
                context(),
                put.message()
            );
            let expected: Vec<(String, Option<String>)> = values
                .iter()
                .map(|(k, v)| (k.clone(), Some(v.clone())))
                .chain(
                    previous
                        .keys()
                        .filter(|k| !values.contains_key(*k))
                        .map(|k: &String| (k.clone(), None)),
                )
                .collect();
            let (client, expected) = (&client, &expected);
            Wait::new(format!("the component to read {}", context()), T.converge)
                .kind("config")
                .interval(Duration::from_millis(50))
                .until(|_| async move {
                    for (key, want) in expected {
                        let got = harness::wrpc::call(harness::wrpc::CALL_TIMEOUT, || {
                            config_reader::get(client, None, key)
                        })
                        .await;
                        match got {
                            Ok(got) if &got == want => {}
                            Ok(got) => {
                                return Probe::NotYet(format!(
                                    "the component reads {}, not {}",
                                    shown_read(key, &got),
                                    shown_read(key, want)
                                ))
                            }
                            Err(e) => {
                                return Probe::NotYet(format!(
                                    "reading {}: {e:#}",
                                    shown_read(key, &None)
                                ))
                            }
                        }
                    }
                    Probe::Ready(())
                })
                .await?;
            previous = values.clone();
        }
        Ok(())
    })
}

/// One config request outside the rules, and what the refusal must say.
#[derive(Clone, Debug)]
enum Refused {
    /// A subject token that is no JetStream KV key (`@`, `:`, non-ASCII ...).
    NotAKey(String),
    /// A name with a `.`: it ends on a subject the host does not serve.
    Dotted(String),
    /// A name within the rules and a body that is no string map.
    NotAStringMap(String, serde_json::Value),
}

fn refused_config() -> impl Strategy<Value = Refused> {
    let outside = prop_oneof![
        prop::sample::select(vec![
            '@', '#', '%', '!', ':', '~', '+', ',', ';', '(', ')', '[', ']', '{', '}', '^', '$',
            '&', '|', '?', '\'', '"', '\\'
        ]),
        any::<char>().prop_filter("outside ASCII, printable", |c| !c.is_ascii()
            && !c.is_whitespace()
            && !c.is_control()),
    ];
    let not_a_key = ("[-_A-Za-z0-9]{0,8}", outside, "[-_A-Za-z0-9]{0,8}")
        .prop_map(|(a, c, b)| Refused::NotAKey(format!("{a}{c}{b}")));
    let dotted = ("[-_A-Za-z0-9]{1,8}", "[-_A-Za-z0-9]{1,8}")
        .prop_map(|(a, b)| Refused::Dotted(format!("{a}.{b}")));
    let not_a_string = prop_oneof![
        any::<i64>().prop_map(serde_json::Value::from),
        any::<bool>().prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
        Just(serde_json::json!({"nested": "map"})),
        Just(serde_json::json!(["a", "list"])),
    ];
    let not_a_map = prop_oneof![
        (
            prop::collection::btree_map("[a-z]{1,6}", "[a-z]{0,6}", 0..4),
            "[a-z]{1,6}",
            not_a_string,
        )
            .prop_map(|(mut map, key, bad)| {
                let mut body: serde_json::Map<String, serde_json::Value> = map
                    .iter_mut()
                    .map(|(k, v)| (k.clone(), serde_json::Value::from(v.clone())))
                    .collect();
                body.insert(key, bad);
                serde_json::Value::Object(body)
            }),
        prop::collection::vec("[a-z]{0,6}", 0..4).prop_map(serde_json::Value::from),
        "[a-z ]{0,12}".prop_map(serde_json::Value::from),
    ];
    let bad_body = ("[-_A-Za-z0-9]{1,16}", not_a_map)
        .prop_map(|(name, body)| Refused::NotAStringMap(name, body));
    prop_oneof![not_a_key, dotted, bad_body]
}

/// NET-06 / HL-19 as a property: puts outside the rules are refused and store nothing.
pub static REFUSED_PUTS: ConformanceTest = ConformanceTest {
    name: "config::puts_outside_the_rules_are_refused",
    source: file!(),
    description: "generated config.put requests outside the rules (a name that is no JetStream KV key, a name with a dot, a body that is no string map) are each refused with a message; no config_set is published and nothing is stored, and a valid put afterwards works",
    area: Area::Host,
    features: &[Feature::ControlInterface, Feature::LatticeEvents],
    covers: &["NET-06", "HL-19"],
    fixtures: &[],
    setup: Setup::hosts(1),
    run: refused_puts,
};

fn refused_puts(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let lattice = cx.lattice();
        let mut draw = cx.draw()?;
        let cases = draw.values(&refused_config())?;
        let mark = cx.journal().mark();
        for (i, case) in cases.iter().enumerate() {
            let context = || {
                format!(
                    "case {} of {} ({}): {case:?}",
                    i + 1,
                    cases.len(),
                    draw.repeat()
                )
            };
            let (name, body, says) = match case {
                Refused::NotAKey(name) => (name, serde_json::json!({"k": "v"}), None),
                Refused::Dotted(name) => (
                    name,
                    serde_json::json!({"k": "v"}),
                    Some("unsupported subject"),
                ),
                Refused::NotAStringMap(name, body) => (name, body.clone(), Some("map of string")),
            };
            // Sent raw: the typed client cannot express a body that is no string map.
            let subject = format!("wasmbus.ctl.v1.{}.config.put.{name}", lattice.name());
            let reply = crate::steps::raw_request(&cx, subject, serde_json::to_vec(&body)?)
                .await
                .with_context(context)?;
            let message = reply["message"].as_str().unwrap_or_default();
            ensure!(
                reply["success"] == false && !message.is_empty(),
                "{}: expected a refusal with a message, got {reply}",
                context()
            );
            if let Some(says) = says {
                ensure!(
                    message.contains(says),
                    "{}: the refusal does not say {says:?}: {reply}",
                    context()
                );
            }
        }
        // Events from one host arrive in order: once the sentinel's config_set is in, any
        // config_set for a refused put would be too.
        crate::steps::put_config(&cx, "sentinel", &[("after", "refusals")]).await?;
        cx.journal()
            .wait_for(mark, "config_set", "sentinel", T.event, |e| {
                e.field("config_name") == Some("sentinel")
            })
            .await?;
        let set: Vec<String> = cx
            .journal()
            .since(mark)
            .iter()
            .filter(|e| e.kind == "config_set")
            .filter_map(|e| e.field("config_name").map(String::from))
            .collect();
        ensure!(
            set == ["sentinel"],
            "refused puts published config_set ({}): {set:?}",
            draw.repeat()
        );
        let js = async_nats::jetstream::new(lattice.nats().clone());
        let store = js
            .get_key_value(format!("CONFIGDATA_{}", lattice.name()))
            .await
            .context("CONFIGDATA bucket")?;
        let mut keys = Vec::new();
        let mut listing = store.keys().await.context("listing CONFIGDATA keys")?;
        while let Some(key) = futures::StreamExt::next(&mut listing).await {
            keys.push(key.context("a CONFIGDATA key")?);
        }
        ensure!(
            keys == ["sentinel"],
            "refused puts stored something ({}): CONFIGDATA holds {keys:?}",
            draw.repeat()
        );
        Ok(())
    })
}

/// Every test of this module, in report order.
pub(crate) fn all() -> Vec<&'static ConformanceTest> {
    vec![
        &CRUD,
        &LIVE_UPDATE,
        &MISSING_CONFIG,
        &DATA_MODEL,
        &GENERATED_MAPS,
        &REFUSED_PUTS,
    ]
}
