//! Values of every WIT kind, generated, through every language's glue (catalogue VAC-02): one
//! lattice with the probe in all five languages, the same cases sent to each, every answer
//! compared with what was sent (NaN as NaN, -0.0 as -0.0).
use proptest::prelude::*;

use crate::bindings::test::fixtures::values::{self, Entry, Sample, Shape};
use crate::framework::properties::{shrink, text};
use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture};
use harness::fixtures::{FixtureRef, Lang};

/// VAC-02 as a property: the same generated values, echoed by the probe in every language.
pub static VALUES_ROUND_TRIP: ConformanceTest = ConformanceTest {
    name: "vendorless::values_round_trip_in_every_language",
    source: file!(),
    description: "generated values of every WIT kind (list<u8>, string, u64, s64, f64 with NaN, infinities and -0.0, option, result, variant, a record nesting them) sent over wRPC to the probe in each of the five languages, all scaled on one lattice, come back identical",
    area: Area::Vendorless,
    features: &[Feature::ControlInterface, Feature::FileLoad, Feature::Wrpc],
    covers: &["VAC-02"],
    fixtures: &[
        FixtureRef::new("probe", Lang::Rust),
        FixtureRef::new("probe", Lang::Python),
        FixtureRef::new("probe", Lang::JavaScript),
        FixtureRef::new("probe", Lang::C),
        FixtureRef::new("probe", Lang::Go),
    ],
    setup: Setup::hosts(1).shared(super::PROBE_READERS),
    run: values_round_trip,
};

/// One case: a value for each function of `test:fixtures/values`.
#[derive(Clone, Debug)]
struct Case {
    bytes: Vec<u8>,
    string: String,
    natural: u64,
    whole: i64,
    real: f64,
    maybe: Option<String>,
    outcome: Result<u64, String>,
    shape: Shape,
    sample: Sample,
}

fn bytes() -> impl Strategy<Value = Vec<u8>, Tree: Send> + Send + Sync {
    prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..64),
        1 => Just(Vec::new()),
        1 => (1usize..=64 * 1024).prop_map(|n| vec![0u8; n]),
    ]
}

fn natural() -> impl Strategy<Value = u64, Tree: Send> + Send + Sync {
    prop_oneof![
        any::<u64>(),
        prop::sample::select(vec![0, 1, 1 << 53, (1 << 53) + 1, 1 << 63, u64::MAX])
    ]
}

fn whole() -> impl Strategy<Value = i64, Tree: Send> + Send + Sync {
    prop_oneof![
        any::<i64>(),
        prop::sample::select(vec![0, -1, i64::MIN, i64::MAX, -(1 << 53) - 1])
    ]
}

fn real() -> impl Strategy<Value = f64, Tree: Send> + Send + Sync {
    prop_oneof![
        3 => any::<f64>(),
        1 => prop::sample::select(vec![0.0, -0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, f64::MIN_POSITIVE / 2.0, f64::MAX, f64::MIN, 5e-324]),
    ]
}

fn outcome() -> impl Strategy<Value = Result<u64, String>, Tree: Send> + Send + Sync {
    prop_oneof![natural().prop_map(Ok), text(32, 1024).prop_map(Err)]
}

fn shape() -> impl Strategy<Value = Shape, Tree: Send> + Send + Sync {
    prop_oneof![
        Just(Shape::Nothing),
        whole().prop_map(Shape::Number),
        text(32, 1024).prop_map(Shape::Text),
        bytes().prop_map(|b| Shape::Bytes(b.into())),
    ]
}

fn sample() -> impl Strategy<Value = Sample, Tree: Send> + Send + Sync {
    let entry =
        (text(16, 64), prop::option::of(real())).prop_map(|(key, value)| Entry { key, value });
    (
        (bytes(), text(32, 1024), natural(), whole(), real()),
        (
            prop::option::of(text(16, 64)),
            outcome(),
            shape(),
            prop::collection::vec(entry, 0..5),
        ),
    )
        .prop_map(
            |((bytes, text, natural, whole, real), (maybe, outcome, shape, entries))| Sample {
                bytes: bytes.into(),
                text,
                natural,
                whole,
                real,
                maybe,
                outcome,
                shape,
                entries,
            },
        )
}

fn case() -> impl Strategy<Value = Case, Tree: Send> + Send + Sync {
    (
        (bytes(), text(64, 64 * 1024), natural(), whole(), real()),
        (
            prop::option::of(text(32, 1024)),
            outcome(),
            shape(),
            sample(),
        ),
    )
        .prop_map(
            |((bytes, string, natural, whole, real), (maybe, outcome, shape, sample))| Case {
                bytes,
                string,
                natural,
                whole,
                real,
                maybe,
                outcome,
                shape,
                sample,
            },
        )
}

/// A value of one kind as the test compares it: NaN equals NaN, -0.0 differs from 0.0, and a
/// toolchain's known way of changing it can be applied to the sent value.
trait Echoed: Clone + std::fmt::Debug {
    /// Whether `other` is the same value.
    fn same(&self, other: &Self) -> bool;
    /// The value with one leading U+FEFF removed from every string in it (see [`JS_BOM`]).
    fn without_bom(&self) -> Self;
}

/// One leading U+FEFF removed.
fn strip_bom(s: &str) -> String {
    s.strip_prefix('\u{feff}').unwrap_or(s).to_string()
}

impl Echoed for bytes::Bytes {
    fn same(&self, other: &Self) -> bool {
        self == other
    }
    fn without_bom(&self) -> Self {
        self.clone()
    }
}

impl Echoed for String {
    fn same(&self, other: &Self) -> bool {
        self == other
    }
    fn without_bom(&self) -> Self {
        strip_bom(self)
    }
}

impl Echoed for u64 {
    fn same(&self, other: &Self) -> bool {
        self == other
    }
    fn without_bom(&self) -> Self {
        *self
    }
}

impl Echoed for i64 {
    fn same(&self, other: &Self) -> bool {
        self == other
    }
    fn without_bom(&self) -> Self {
        *self
    }
}

impl Echoed for f64 {
    fn same(&self, other: &Self) -> bool {
        (self.is_nan() && other.is_nan()) || self.to_bits() == other.to_bits()
    }
    fn without_bom(&self) -> Self {
        *self
    }
}

impl<T: Echoed> Echoed for Option<T> {
    fn same(&self, other: &Self) -> bool {
        match (self, other) {
            (Some(a), Some(b)) => a.same(b),
            (None, None) => true,
            _ => false,
        }
    }
    fn without_bom(&self) -> Self {
        self.as_ref().map(Echoed::without_bom)
    }
}

impl Echoed for Result<u64, String> {
    fn same(&self, other: &Self) -> bool {
        self == other
    }
    fn without_bom(&self) -> Self {
        self.clone().map_err(|e| strip_bom(&e))
    }
}

impl Echoed for Shape {
    fn same(&self, other: &Self) -> bool {
        match (self, other) {
            (Shape::Nothing, Shape::Nothing) => true,
            (Shape::Number(a), Shape::Number(b)) => a == b,
            (Shape::Text(a), Shape::Text(b)) => a == b,
            (Shape::Bytes(a), Shape::Bytes(b)) => a == b,
            _ => false,
        }
    }
    fn without_bom(&self) -> Self {
        match self {
            Shape::Text(t) => Shape::Text(strip_bom(t)),
            other => other.clone(),
        }
    }
}

impl Echoed for Entry {
    fn same(&self, other: &Self) -> bool {
        self.key == other.key && self.value.same(&other.value)
    }
    fn without_bom(&self) -> Self {
        Entry {
            key: strip_bom(&self.key),
            value: self.value,
        }
    }
}

impl Echoed for Sample {
    fn same(&self, other: &Self) -> bool {
        self.bytes == other.bytes
            && self.text == other.text
            && self.natural == other.natural
            && self.whole == other.whole
            && self.real.same(&other.real)
            && self.maybe == other.maybe
            && self.outcome == other.outcome
            && self.shape.same(&other.shape)
            && self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .zip(&other.entries)
                .all(|(a, b)| a.same(b))
    }
    fn without_bom(&self) -> Self {
        Sample {
            text: strip_bom(&self.text),
            maybe: self.maybe.as_deref().map(strip_bom),
            outcome: self.outcome.without_bom(),
            shape: self.shape.without_bom(),
            entries: self.entries.iter().map(Echoed::without_bom).collect(),
            ..self.clone()
        }
    }
}

/// Known divergence of the JavaScript guest toolchain (found by this test; not wasmCloud's):
/// strings lose a leading byte-order mark on their way into the component.
const JS_BOM: &str = "JavaScript guest (componentize-js 0.23.0): every string the component receives loses one leading U+FEFF, at any depth of the value (outside wasmCloud too: ci/fixture-build/smoke shows it under wasmtime)";
/// Known divergence of the JavaScript guest toolchain: negative s64 at a function's top level.
const JS_NEGATIVE_S64: &str = "JavaScript guest (componentize-js 0.23.0): a negative s64 passed to or returned from a function at the top level traps (`unreachable`); inside records and variants it comes back unchanged (outside wasmCloud too)";

/// What one language's glue is known to do, per kind; every other language echoes faithfully.
struct Glue {
    lang: Lang,
    /// Known divergences seen so far, each with its first example.
    seen: std::collections::BTreeMap<&'static str, String>,
}

impl Glue {
    fn new(lang: Lang) -> Self {
        Self {
            lang,
            seen: Default::default(),
        }
    }

    fn strips_bom(&self) -> bool {
        self.lang == Lang::JavaScript
    }

    fn traps_on_negative_s64(&self) -> bool {
        self.lang == Lang::JavaScript
    }

    fn saw(&mut self, divergence: &'static str, example: String) {
        self.seen.entry(divergence).or_insert(example);
    }
}

/// A value for a failure message: its debug form, cut after 300 characters.
fn shown(value: &impl std::fmt::Debug) -> String {
    crate::framework::properties::shown(value, 300)
}

/// Judges one answer: `None` when it is the value sent (or exactly what a known divergence
/// makes of it, which is then recorded), else the failure as a sentence.
fn judge<T: Echoed>(
    kind: &str,
    sent: &T,
    got: anyhow::Result<T>,
    traps: bool,
    glue: &mut Glue,
) -> Option<String> {
    let expected = if glue.strips_bom() {
        sent.without_bom()
    } else {
        sent.clone()
    };
    let bom = !expected.same(sent);
    match got {
        Err(e) if traps => {
            glue.saw(JS_NEGATIVE_S64, format!("{kind} {} failed: {e:#}", shown(sent)));
            None
        }
        Err(e) => Some(format!("{kind} {} failed: {e:#}", shown(sent))),
        Ok(got) if traps && got.same(sent) => Some(format!(
            "{kind} {} came back unchanged: the known divergence is no longer observed, remove it ({JS_NEGATIVE_S64})",
            shown(sent)
        )),
        Ok(got) if got.same(&expected) && !traps => {
            if bom {
                glue.saw(JS_BOM, format!("{kind} {} came back as {}", shown(sent), shown(&got)));
            }
            None
        }
        Ok(got) if bom && got.same(sent) => Some(format!(
            "{kind} {} came back unchanged: the known divergence is no longer observed, remove it ({JS_BOM})",
            shown(sent)
        )),
        Ok(got) => Some(format!("{kind} {} came back as {}", shown(sent), shown(&got))),
    }
}

/// Sends every value of `case` to one component; the first kind that does not come back as
/// expected, as a sentence.
async fn mismatch(
    client: &wrpc_transport_nats::Client,
    case: &Case,
    glue: &mut Glue,
) -> Option<String> {
    let call = harness::wrpc::CALL_TIMEOUT;
    // `$sent` is the owned value sent, `$arg` how the binding takes it.
    macro_rules! check {
        ($func:ident, $kind:literal, $sent:expr, |$v:ident| $arg:expr, traps: $traps:expr) => {{
            let sent = $sent;
            let $v = &sent;
            let got = harness::wrpc::call(call, || values::$func(client, None, $arg)).await;
            if let Some(failure) = judge($kind, &sent, got, $traps, glue) {
                return Some(failure);
            }
        }};
    }
    check!(echo_bytes, "list<u8>", bytes::Bytes::from(case.bytes.clone()), |v| v, traps: false);
    check!(echo_string, "string", case.string.clone(), |v| v.as_str(), traps: false);
    check!(echo_u64, "u64", case.natural, |v| *v, traps: false);
    check!(echo_s64, "s64", case.whole, |v| *v, traps: glue.traps_on_negative_s64() && case.whole < 0);
    check!(echo_f64, "f64", case.real, |v| *v, traps: false);
    check!(echo_option, "option<string>", case.maybe.clone(), |v| v.as_deref(), traps: false);
    check!(echo_result, "result<u64, string>", case.outcome.clone(), |v| v, traps: false);
    check!(echo_shape, "variant shape", case.shape.clone(), |v| v, traps: false);
    check!(echo_sample, "record sample", case.sample.clone(), |v| v, traps: false);
    None
}

fn values_round_trip(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let mut draw = cx.draw()?;
        let case_strategy = case();
        let cases = draw.values(&case_strategy)?;
        let mut clients = Vec::new();
        for lang in Lang::ALL {
            let id = super::shared_probe(&cx, lang).await?;
            clients.push((lang, cx.lattice().wrpc_client(&id).await?));
        }
        // Every language gets every case; all mismatches are reported, language by language.
        let mut failures = Vec::new();
        for (lang, client) in &clients {
            let mut glue = Glue::new(*lang);
            for (i, case) in cases.iter().enumerate() {
                let Some(failure) = mismatch(client, case, &mut glue).await else {
                    continue;
                };
                // Shrink it: each step is nine calls to this language's component.
                let tree = draw.tree(&case_strategy, i)?;
                let (simplest, shrunk, steps) = shrink(tree, failure.clone(), |c| {
                    let lang = *lang;
                    async move { mismatch(client, &c, &mut Glue::new(lang)).await }
                })
                .await;
                failures.push(format!(
                    "{}: case {} of {}: {failure}\n    shrunk in {steps} steps to: {shrunk}\n    (whole case: {})",
                    lang.id(),
                    i + 1,
                    cases.len(),
                    shown(&simplest)
                ));
                break;
            }
            for (divergence, example) in glue.seen {
                cx.observe(format!("{divergence}; e.g. {example}"));
            }
        }
        anyhow::ensure!(
            failures.is_empty(),
            "values did not come back identical ({}):\n  {}",
            draw.repeat(),
            failures.join("\n  ")
        );
        Ok(())
    })
}

/// Every test of this module.
pub(crate) fn all() -> Vec<&'static ConformanceTest> {
    vec![&VALUES_ROUND_TRIP]
}
