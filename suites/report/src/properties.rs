//! Property tests of the report format over generated reports: the seal survives a round trip
//! through text in any key order, the schema accepts every valid report and refuses each
//! single-field corruption, and a report does not differ from itself.
use proptest::prelude::*;
use serde_json::Value;

use crate::report::testing::sample;
use crate::report::{content_sha256, RecordStatus, Report, SCHEMA_JSON};
use crate::{Phases, TestRecord};

const AREAS: &[&str] = &[
    "host",
    "orchestration",
    "networking",
    "vendorless",
    "observability",
    "security",
];

fn status() -> impl Strategy<Value = RecordStatus> {
    prop_oneof![
        Just(RecordStatus::Passed),
        Just(RecordStatus::Failed),
        Just(RecordStatus::Skipped),
        Just(RecordStatus::Error),
        Just(RecordStatus::ExpectedFailure),
        Just(RecordStatus::UnexpectedPass),
    ]
}

/// Seconds as the runner writes them: whole milliseconds.
fn seconds() -> impl Strategy<Value = f64> {
    (0u64..3_600_000).prop_map(|ms| ms as f64 / 1000.0)
}

fn phases() -> impl Strategy<Value = Phases> {
    (seconds(), seconds(), seconds(), seconds()).prop_map(|(setup, lattice_up, body, teardown)| {
        Phases {
            setup,
            lattice_up,
            body,
            teardown,
        }
    })
}

/// Free text as tests and hosts write it: any Unicode, NUL and astral-plane characters included.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z \\n\\t\\u{0}\\u{1F600}\"\\\\<>&]{0,40}",
    ]
}

fn record() -> impl Strategy<Value = TestRecord> {
    (
        ("[a-z0-9_]{1,10}", "[a-z0-9_]{1,16}"),
        text(),
        0..AREAS.len(),
        prop::collection::vec("[a-z][a-z0-9-]{0,12}", 0..3),
        prop::collection::vec("[A-Z]{1,4}-[0-9]{1,3}", 0..4),
        status(),
        seconds(),
        prop::option::of(text()),
        prop::option::of(text()),
        (
            prop::option::of(phases()),
            prop::option::of((1u32..10_000, any::<u64>())),
            prop::collection::vec(
                text().prop_filter("an observation says something", |t| !t.is_empty()),
                0..3,
            ),
            prop::collection::vec(convergence(), 0..4),
            prop::option::of("[a-z][a-z0-9-]{0,15}"),
        ),
    )
        .prop_map(
            |(
                (topic, behavior),
                description,
                area,
                features,
                covers,
                status,
                duration,
                message,
                reason,
                (phases, property, observations, convergences, shared_lattice),
            )| {
                TestRecord {
                    name: format!("{topic}::{behavior}"),
                    description,
                    area: AREAS[area].into(),
                    features,
                    covers,
                    status,
                    duration_seconds: duration,
                    message,
                    expected_failure_reason: reason,
                    log_dir: None,
                    phases,
                    property: property.map(|(cases, seed)| crate::PropertyDraw {
                        cases,
                        seed: seed.to_string(),
                    }),
                    observations,
                    convergences,
                    shared_lattice,
                }
            },
        )
}

/// A convergence as the runner records it: a kind, what was awaited (any text), whole
/// milliseconds and at least one check.
fn convergence() -> impl Strategy<Value = crate::Convergence> {
    (
        "[a-z][a-z-]{0,10}",
        text().prop_filter("a wait names what it awaits", |t| !t.is_empty()),
        0u64..600_000,
        1u32..100_000,
    )
        .prop_map(|(kind, what, ms, attempts)| crate::Convergence {
            kind,
            what,
            ms,
            attempts,
        })
}

/// A sealed report over generated tests (unique names), framed like a real run's.
fn report() -> impl Strategy<Value = Report> {
    prop::collection::vec(record(), 0..12).prop_map(|tests| {
        let mut seen = std::collections::BTreeSet::new();
        let tests: Vec<TestRecord> = tests
            .into_iter()
            .filter(|t| seen.insert(t.name.clone()))
            .collect();
        let frame = sample();
        let mut r = frame.clone();
        r.summary = crate::report::Summary::of(tests.iter().map(|t| t.status));
        r.coverage = crate::report::coverage_of(&tests);
        r.tests = tests;
        r.seal();
        r
    })
}

/// `value` as JSON text with every object's keys in reverse order.
fn reversed_text(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let fields: Vec<String> = map
                .iter()
                .rev()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), reversed_text(v)))
                .collect();
            format!("{{ {} }}", fields.join(",\n "))
        }
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(reversed_text)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        scalar => scalar.to_string(),
    }
}

/// One corruption of one field of test `index`, and the JSON Pointer the schema must name.
#[derive(Clone, Debug)]
enum Corruption {
    UnknownStatus,
    NegativeDuration,
    BadName,
    BadItem,
    UnknownArea,
    MissingField(&'static str),
    UnknownField,
    NegativePhase,
    NoCases,
    EmptyObservation,
    UncheckedConvergence,
}

fn corruption() -> impl Strategy<Value = Corruption> {
    prop_oneof![
        Just(Corruption::UnknownStatus),
        Just(Corruption::NegativeDuration),
        Just(Corruption::BadName),
        Just(Corruption::BadItem),
        Just(Corruption::UnknownArea),
        prop::sample::select(vec![
            "name",
            "description",
            "area",
            "features",
            "covers",
            "status",
            "duration_seconds"
        ])
        .prop_map(Corruption::MissingField),
        Just(Corruption::UnknownField),
        Just(Corruption::NegativePhase),
        Just(Corruption::NoCases),
        Just(Corruption::EmptyObservation),
        Just(Corruption::UncheckedConvergence),
    ]
}

fn corrupt(test: &mut Value, how: &Corruption) {
    let t = test.as_object_mut().expect("a test record is an object");
    match how {
        Corruption::UnknownStatus => {
            t.insert("status".into(), "passed-ish".into());
        }
        Corruption::NegativeDuration => {
            t.insert("duration_seconds".into(), (-0.001).into());
        }
        Corruption::BadName => {
            t.insert("name".into(), "Host::Ping".into());
        }
        Corruption::BadItem => {
            t.insert("covers".into(), serde_json::json!(["hl-5"]));
        }
        Corruption::UnknownArea => {
            t.insert("area".into(), "elsewhere".into());
        }
        Corruption::MissingField(field) => {
            t.remove(*field);
        }
        Corruption::UnknownField => {
            t.insert("verdict".into(), "fine".into());
        }
        Corruption::NegativePhase => {
            t.insert(
                "phases".into(),
                serde_json::json!({"setup": 0.0, "lattice_up": -1.0, "body": 1.0, "teardown": 0.0}),
            );
        }
        Corruption::EmptyObservation => {
            t.insert("observations".into(), serde_json::json!(["seen", ""]));
        }
        Corruption::UncheckedConvergence => {
            t.insert(
                "convergences".into(),
                serde_json::json!([{"kind": "scale", "what": "x", "ms": 5, "attempts": 0}]),
            );
        }
        Corruption::NoCases => {
            t.insert(
                "property".into(),
                serde_json::json!({"cases": 0, "seed": "18446744073709551615"}),
            );
        }
    }
}

proptest! {
    #[test]
    fn the_seal_survives_text_in_any_key_order(r in report()) {
        let value = r.to_value();
        let compact: Value = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        let reversed: Value = serde_json::from_str(&reversed_text(&value)).unwrap();
        prop_assert_eq!(content_sha256(&compact), r.content_sha256.clone());
        prop_assert_eq!(content_sha256(&reversed), r.content_sha256.clone());
        prop_assert_eq!(&reversed, &compact, "parsing does not depend on key order");
        let back: Report = serde_json::from_value(reversed).unwrap();
        prop_assert_eq!(back.to_value(), compact, "the report reads back as written");
    }

    #[test]
    fn the_seal_changes_with_any_test_field(r in report(), pick in any::<prop::sample::Index>()) {
        prop_assume!(!r.tests.is_empty());
        let mut edited = r.clone();
        let i = pick.index(edited.tests.len());
        edited.tests[i].duration_seconds += 0.001;
        prop_assert_ne!(content_sha256(&edited.to_value()), r.content_sha256);
    }

    #[test]
    fn the_schema_accepts_every_generated_report(r in report()) {
        let schema: Value = serde_json::from_str(SCHEMA_JSON).unwrap();
        let violations = crate::schema::validate(&schema, &r.to_value());
        prop_assert!(violations.is_empty(), "{:?}", violations);
    }

    #[test]
    fn the_schema_refuses_each_single_field_corruption(
        r in report(),
        pick in any::<prop::sample::Index>(),
        how in corruption(),
    ) {
        prop_assume!(!r.tests.is_empty());
        let schema: Value = serde_json::from_str(SCHEMA_JSON).unwrap();
        let mut doc = r.to_value();
        let i = pick.index(r.tests.len());
        corrupt(&mut doc["tests"][i], &how);
        let violations = crate::schema::validate(&schema, &doc);
        let at = format!("/tests/{i}");
        prop_assert!(
            violations.iter().any(|v| v.pointer.starts_with(&at)),
            "{how:?} of test {i} not refused at {at}: {violations:?}"
        );
    }

    #[test]
    fn a_report_does_not_differ_from_itself(r in report()) {
        let d = crate::diff::diff(&r, &r);
        prop_assert!(!d.tests_differ(), "{d:?}");
        prop_assert_eq!(d, crate::diff::ReportDiff::default());
    }
}
