//! The control interface under generated malformed requests (catalogue HL-19): whatever body
//! arrives, the host answers with an error reply in bounded time, stores nothing, and keeps
//! serving.
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};
use anyhow::{ensure, Context as _};

/// HL-19 as a property: generated bodies on six control operations.
pub static GENERATED_BODIES: ConformanceTest = ConformanceTest {
    name: "host::control_requests_with_generated_bodies",
    source: file!(),
    description: "generated malformed bodies on component.scale, provider.start, link.put, link.del, label.put and label.del (random bytes, truncated JSON, a field of the wrong type, a missing required field, a 256 KiB string in a field of another type) each get an error reply within 5 s; nothing is started, linked or labelled, and the host keeps answering",
    area: Area::Host,
    features: &[Feature::ControlInterface],
    covers: &["HL-19"],
    fixtures: &[],
    setup: Setup::hosts(1),
    run: generated_bodies,
};

/// A control operation under test: a well-formed body, the field it cannot do without, its
/// fields, and a field whose type is not a string (a 256 KiB string there is malformed; in a
/// string field it could be a valid value).
#[derive(Debug)]
struct Operation {
    /// The subject's operation tokens, e.g. `component.scale`.
    name: &'static str,
    /// Whether the subject ends with the host's ID (host commands) or not (lattice commands).
    on_host: bool,
    valid: Value,
    required: &'static str,
    fields: &'static [&'static str],
    huge: Option<&'static str>,
}

/// The operations whose bodies are generated: commands that start, link or label something.
fn operations(host: &str) -> Vec<Operation> {
    vec![
        Operation {
            name: "component.scale",
            on_host: true,
            valid: json!({"component_ref": "file:///nowhere/probe.wasm", "component_id": "probe",
                   "count": 1, "host_id": host, "config": [], "allow_update": false}),
            required: "component_id",
            fields: &[
                "component_ref",
                "component_id",
                "count",
                "host_id",
                "config",
                "allow_update",
            ],
            huge: Some("count"),
        },
        Operation {
            name: "provider.start",
            on_host: true,
            valid: json!({"provider_ref": "file:///nowhere/provider.par.gz", "provider_id": "probe-provider",
                   "host_id": host, "config": []}),
            required: "provider_id",
            fields: &["provider_ref", "provider_id", "host_id", "config"],
            huge: Some("config"),
        },
        Operation {
            name: "link.put",
            on_host: false,
            valid: json!({"source_id": "generated-source", "target": "generated-target", "name": "default",
                   "wit_namespace": "test", "wit_package": "fixtures", "interfaces": ["echo"],
                   "source_config": [], "target_config": []}),
            required: "source_id",
            fields: &[
                "source_id",
                "target",
                "name",
                "wit_namespace",
                "wit_package",
                "interfaces",
                "source_config",
                "target_config",
            ],
            huge: Some("interfaces"),
        },
        Operation {
            name: "link.del",
            on_host: false,
            valid: json!({"source_id": "generated-source", "name": "default",
                   "wit_namespace": "test", "wit_package": "fixtures"}),
            required: "source_id",
            fields: &["source_id", "name", "wit_namespace", "wit_package"],
            huge: None,
        },
        Operation {
            name: "label.put",
            on_host: true,
            valid: json!({"key": "generated", "value": "label"}),
            required: "key",
            fields: &["key", "value"],
            huge: None,
        },
        Operation {
            name: "label.del",
            on_host: true,
            valid: json!({"key": "generated"}),
            required: "key",
            fields: &["key"],
            huge: None,
        },
    ]
}

/// A value of no type a field of these commands takes (strings, numbers, lists and booleans
/// are each some field's type, so the generator picks per field below).
fn wrong_for(field: &str) -> BoxedStrategy<Value> {
    let non_string = prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(json!({"nested": [1, 2]})),
        Just(Value::Null),
    ];
    match field {
        // a u32
        "count" => prop_oneof![
            (i64::MIN..0).prop_map(Value::from),
            (u64::from(u32::MAX) + 1..u64::MAX).prop_map(Value::from),
            (0.5f64..1e9).prop_map(Value::from),
            ".{0,16}".prop_map(Value::from),
        ]
        .boxed(),
        "allow_update" => prop_oneof![
            ".{0,16}".prop_map(Value::from),
            any::<i64>().prop_map(Value::from)
        ]
        .boxed(),
        // a list of strings
        "config" | "interfaces" | "source_config" | "target_config" => prop_oneof![
            ".{0,16}".prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            prop::collection::vec(any::<i64>(), 1..4).prop_map(Value::from),
        ]
        .boxed(),
        // strings
        _ => non_string.boxed(),
    }
}

/// One malformed body, described for the failure message.
#[derive(Clone, Debug)]
struct Case {
    operation: &'static str,
    on_host: bool,
    what: String,
    body: Vec<u8>,
}

fn case(host: &str) -> impl Strategy<Value = Case> {
    let operations: Vec<std::sync::Arc<Operation>> = operations(host)
        .into_iter()
        .map(std::sync::Arc::new)
        .collect();
    prop::sample::select(operations).prop_flat_map(|op| {
        let text = op.valid.to_string();
        let bytes = prop::collection::vec(any::<u8>(), 0..512)
            .prop_filter("not a JSON object", |b| {
                serde_json::from_slice::<serde_json::Map<String, Value>>(b).is_err()
            })
            .prop_map(|body| ("random bytes".to_string(), body))
            .boxed();
        let truncated = (1..text.len())
            .prop_map(move |cut| {
                (
                    format!("truncated at byte {cut}"),
                    text.as_bytes()[..cut].to_vec(),
                )
            })
            .boxed();
        let wrong_type = prop::sample::select(op.fields.to_vec())
            .prop_flat_map({
                let valid = op.valid.clone();
                move |field| {
                    let valid = valid.clone();
                    wrong_for(field).prop_map(move |v| {
                        let mut body = valid.clone();
                        body[field] = v.clone();
                        (format!("{field} = {v}"), body.to_string().into_bytes())
                    })
                }
            })
            .boxed();
        let required = op.required;
        let missing = prop::collection::btree_map("[a-z_]{1,12}", ".{0,12}", 0..5)
            .prop_map(move |mut map| {
                map.remove(required);
                let body = serde_json::to_vec(&map).expect("a map of strings serializes");
                (format!("no {required}: {map:?}"), body)
            })
            .boxed();
        let mut kinds = vec![bytes, truncated, wrong_type, missing];
        if let Some(field) = op.huge {
            let valid = op.valid.clone();
            kinds.push(
                (0u8..26)
                    .prop_map(move |letter| {
                        let mut body = valid.clone();
                        body[field] =
                            Value::from(String::from((b'a' + letter) as char).repeat(256 * 1024));
                        (
                            format!("{field} = a 256 KiB string"),
                            body.to_string().into_bytes(),
                        )
                    })
                    .boxed(),
            );
        }
        let (name, on_host) = (op.name, op.on_host);
        prop::strategy::Union::new(kinds).prop_map(move |(what, body)| Case {
            operation: name,
            on_host,
            what,
            body,
        })
    })
}

fn generated_bodies(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let lattice = cx.lattice();
        let host = cx.host_id();
        let mut draw = cx.draw()?;
        let cases = draw.values(&case(&host))?;
        let labels_before = crate::steps::inventory(&cx, &host).await?.labels().clone();
        for (i, c) in cases.iter().enumerate() {
            let subject = if c.on_host {
                format!("wasmbus.ctl.v1.{}.{}.{host}", lattice.name(), c.operation)
            } else {
                format!("wasmbus.ctl.v1.{}.{}", lattice.name(), c.operation)
            };
            let context = || {
                format!(
                    "case {} of {} ({}): {} {}",
                    i + 1,
                    cases.len(),
                    draw.repeat(),
                    c.operation,
                    c.what.chars().take(300).collect::<String>()
                )
            };
            let json = crate::steps::raw_request(&cx, subject, c.body.clone())
                .await
                .with_context(context)?;
            ensure!(
                json["success"] == false && json["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{}: expected an error reply with a message, got {json}",
                context()
            );
        }
        let inv = crate::steps::inventory(&cx, &host)
            .await
            .context("the host stopped answering after the generated requests")?;
        ensure!(
            inv.components().is_empty() && inv.providers().is_empty(),
            "a malformed request started something ({}): components {:?}, providers {:?}",
            draw.repeat(),
            inv.components().iter().map(|c| c.id()).collect::<Vec<_>>(),
            inv.providers().iter().map(|p| p.id()).collect::<Vec<_>>()
        );
        ensure!(
            inv.labels() == &labels_before,
            "a malformed request changed the host's labels ({}): {:?} before, {:?} after",
            draw.repeat(),
            labels_before,
            inv.labels()
        );
        let links = cx.ctl().get_links().await?.into_data().unwrap_or_default();
        ensure!(
            links.is_empty(),
            "a malformed request stored a link ({}): {links:?}",
            draw.repeat()
        );
        Ok(())
    })
}

/// Every test of this module.
pub(crate) fn all() -> Vec<&'static ConformanceTest> {
    vec![&GENERATED_BODIES]
}
