//! The control interface under generated malformed requests (catalogue HL-19): whatever body
//! arrives, the host answers with an error reply in bounded time, stores nothing, and keeps
//! serving.
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::framework::T;
use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};
use anyhow::{ensure, Context as _};

/// HL-19 as a property: generated bodies on `component.scale` and `provider.start`.
pub static GENERATED_BODIES: ConformanceTest = ConformanceTest {
    name: "host::control_requests_with_generated_bodies",
    source: file!(),
    description: "generated malformed bodies on component.scale and provider.start (random bytes, truncated JSON, a field of the wrong type, a missing required field, a 256 KiB field) each get an error reply within 5 s; nothing is started and the host keeps answering",
    area: Area::Host,
    features: &[Feature::ControlInterface],
    covers: &["HL-19"],
    fixtures: &[],
    setup: Setup::hosts(1),
    run: generated_bodies,
};

/// A well-formed command for `operation`, the field it cannot do without, and its other fields.
fn valid(operation: &str, host: &str) -> (Value, &'static str, &'static [&'static str]) {
    match operation {
        "component.scale" => (
            json!({"component_ref": "file:///nowhere/probe.wasm", "component_id": "probe",
                   "count": 1, "host_id": host, "config": [], "allow_update": false}),
            "component_id",
            &[
                "component_ref",
                "component_id",
                "count",
                "host_id",
                "config",
                "allow_update",
            ],
        ),
        _ => (
            json!({"provider_ref": "file:///nowhere/provider.par.gz", "provider_id": "probe-provider",
                   "host_id": host, "config": []}),
            "provider_id",
            &["provider_ref", "provider_id", "host_id", "config"],
        ),
    }
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
        "config" => prop_oneof![
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
    what: String,
    body: Vec<u8>,
}

fn case(host: String) -> impl Strategy<Value = Case> {
    prop::sample::select(vec!["component.scale", "provider.start"]).prop_flat_map(
        move |operation| {
            let (valid, required, fields) = valid(operation, &host);
            let text = valid.to_string();
            let bytes = prop::collection::vec(any::<u8>(), 0..512)
                .prop_filter("not a JSON object", |b| {
                    serde_json::from_slice::<serde_json::Map<String, Value>>(b).is_err()
                })
                .prop_map(|body| ("random bytes".to_string(), body));
            let truncated = (1..text.len()).prop_map({
                let text = text.clone();
                move |cut| {
                    (
                        format!("truncated at byte {cut}"),
                        text.as_bytes()[..cut].to_vec(),
                    )
                }
            });
            let wrong_type = prop::sample::select(fields.to_vec()).prop_flat_map({
                let valid = valid.clone();
                move |field| {
                    let valid = valid.clone();
                    wrong_for(field).prop_map(move |v| {
                        let mut body = valid.clone();
                        body[field] = v.clone();
                        (format!("{field} = {v}"), body.to_string().into_bytes())
                    })
                }
            });
            let missing = prop::collection::btree_map("[a-z_]{1,12}", ".{0,12}", 0..5).prop_map(
                move |mut map| {
                    map.remove(required);
                    let body = serde_json::to_vec(&map).expect("a map of strings serializes");
                    (format!("no {required}: {map:?}"), body)
                },
            );
            let huge = (0u8..26).prop_map({
                let valid = valid.clone();
                move |letter| {
                    let field = if operation == "component.scale" {
                        "count"
                    } else {
                        "config"
                    };
                    let mut body = valid.clone();
                    body[field] =
                        Value::from(String::from((b'a' + letter) as char).repeat(256 * 1024));
                    (
                        format!("{field} = a 256 KiB string"),
                        body.to_string().into_bytes(),
                    )
                }
            });
            prop_oneof![bytes, truncated, wrong_type, missing, huge].prop_map(
                move |(what, body)| Case {
                    operation,
                    what,
                    body,
                },
            )
        },
    )
}

fn generated_bodies(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let lattice = cx.lattice();
        let host = cx.host_id();
        let nats = lattice.nats();
        let mut draw = cx.draw()?;
        let cases = draw.values(&case(host.clone()))?;
        for (i, c) in cases.iter().enumerate() {
            let subject = format!("wasmbus.ctl.v1.{}.{}.{host}", lattice.name(), c.operation);
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
            let reply =
                tokio::time::timeout(T.attempt, nats.request(subject, c.body.clone().into()))
                    .await
                    .map_err(|_| anyhow::anyhow!("no reply within {:?}", T.attempt))
                    .and_then(|r| r.context("the request failed"))
                    .with_context(context)?;
            let json: Value = serde_json::from_slice(&reply.payload)
                .with_context(|| {
                    format!(
                        "the reply is not JSON: {}",
                        String::from_utf8_lossy(&reply.payload)
                    )
                })
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
        Ok(())
    })
}

/// Every test of this module.
pub(crate) fn all() -> Vec<&'static ConformanceTest> {
    vec![&GENERATED_BODIES]
}
