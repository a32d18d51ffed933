//! The conformance report: a versioned JSON document (schema `schema/report-v1.schema.json` of this crate)
//! sealed with the SHA-256 of its canonical form. Its other forms are rendered from it, each in a
//! module of its own that depends on this one (`junit`, `markdown`, `html`, `badge`; `files`
//! writes them all).
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Identifies the JSON schema of [`Report`].
pub const SCHEMA: &str = "wasmcloud-conformance/report/v1";
/// The JSON Schema of `report.json` (this crate's `schema/report-v1.schema.json`, compiled in).
pub const SCHEMA_JSON: &str = include_str!("../schema/report-v1.schema.json");
/// The field holding the seal; it is left out of the hashed canonical form.
pub const SEAL_FIELD: &str = "content_sha256";

/// One binary of the implementation under test.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Binary {
    /// Where it was run from.
    pub path: String,
    /// What `--version` printed (first line).
    pub version: Option<String>,
    /// SHA-256 of the file: exactly which build was tested.
    pub sha256: Option<String>,
    /// The container image it ran from (containers backend), e.g. `wcc/wasmcloud:1a2b…` or a
    /// vendor's image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// That image's ID (`sha256:…`): exactly which image was tested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
}

/// The implementation under test.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Implementation {
    /// A name for it (`reference` for the project's own launchers).
    pub name: String,
    /// The wasmCloud host.
    pub host: Binary,
    /// wadm.
    pub wadm: Binary,
    /// nats-server.
    pub nats_server: Binary,
    /// The host binary every host but the first ran, on a mixed-version lattice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mixed_host: Option<Binary>,
}

/// Counts per status.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Summary {
    /// All tests selected.
    pub total: usize,
    /// Passed.
    pub passed: usize,
    /// Failed (the implementation misbehaved).
    pub failed: usize,
    /// Skipped, each with a reason.
    pub skipped: usize,
    /// The harness could not run them.
    pub error: usize,
    /// Failed as an expectation file says they do (known failures; they do not fail the run).
    pub expected_failure: usize,
    /// Passed although an expectation file lists them as known failures (fails the run: update
    /// the expectation file).
    pub unexpected_pass: usize,
}

/// A test's status in a report: the execution status, adjusted by the implementation's
/// expectation file (known failures).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordStatus {
    /// The implementation behaved as the test requires.
    Passed,
    /// It did not.
    Failed,
    /// Not run, with a reason.
    Skipped,
    /// The harness could not run the test.
    Error,
    /// Failed, and listed as a known failure of this implementation.
    ExpectedFailure,
    /// Passed, although listed as a known failure.
    UnexpectedPass,
}

impl RecordStatus {
    /// Every status, in report order.
    pub const ALL: [RecordStatus; 6] = [
        RecordStatus::Passed,
        RecordStatus::Failed,
        RecordStatus::Skipped,
        RecordStatus::Error,
        RecordStatus::ExpectedFailure,
        RecordStatus::UnexpectedPass,
    ];

    /// Stable id, as in `report.json`.
    pub fn id(self) -> &'static str {
        match self {
            RecordStatus::Passed => "passed",
            RecordStatus::Failed => "failed",
            RecordStatus::Skipped => "skipped",
            RecordStatus::Error => "error",
            RecordStatus::ExpectedFailure => "expected-failure",
            RecordStatus::UnexpectedPass => "unexpected-pass",
        }
    }

    /// Whether a test with this status makes the run fail.
    pub fn fails_run(self) -> bool {
        matches!(
            self,
            RecordStatus::Failed | RecordStatus::Error | RecordStatus::UnexpectedPass
        )
    }
}

impl Summary {
    /// Counts of `statuses`.
    pub fn of(statuses: impl IntoIterator<Item = RecordStatus>) -> Self {
        let mut s = Summary::default();
        for status in statuses {
            s.total += 1;
            *s.count_mut(status) += 1;
        }
        s
    }

    /// The count of one status.
    pub fn count(&self, status: RecordStatus) -> usize {
        match status {
            RecordStatus::Passed => self.passed,
            RecordStatus::Failed => self.failed,
            RecordStatus::Skipped => self.skipped,
            RecordStatus::Error => self.error,
            RecordStatus::ExpectedFailure => self.expected_failure,
            RecordStatus::UnexpectedPass => self.unexpected_pass,
        }
    }

    fn count_mut(&mut self, status: RecordStatus) -> &mut usize {
        match status {
            RecordStatus::Passed => &mut self.passed,
            RecordStatus::Failed => &mut self.failed,
            RecordStatus::Skipped => &mut self.skipped,
            RecordStatus::Error => &mut self.error,
            RecordStatus::ExpectedFailure => &mut self.expected_failure,
            RecordStatus::UnexpectedPass => &mut self.unexpected_pass,
        }
    }

    /// One line: `9 passed, 1 failed, ...` (statuses with a zero count among the last two omitted).
    pub fn line(&self) -> String {
        let mut parts = vec![
            format!("{} passed", self.passed),
            format!("{} failed", self.failed),
            format!("{} skipped", self.skipped),
            format!("{} error", self.error),
        ];
        if self.expected_failure > 0 {
            parts.push(format!("{} expected failure", self.expected_failure));
        }
        if self.unexpected_pass > 0 {
            parts.push(format!("{} unexpected pass", self.unexpected_pass));
        }
        format!("{} (of {})", parts.join(", "), self.total)
    }
}

/// Which tests a run selected, and the expectations it applied.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Selection {
    /// `extended` (everything), `core`, or an area id.
    pub profile: String,
    /// Only tests relying on any of these features (empty: no restriction).
    pub features: Vec<String>,
    /// Only tests whose name contains any of these (empty: no restriction).
    pub filters: Vec<String>,
    /// The expectation file applied, if any (path as given).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expectations: Option<String>,
}

/// What the run was pointed at.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Target {
    /// `binaries` (lattices the suite starts from binaries: the reference or a vendor's),
    /// `images` (lattices the suite starts from container images) or `existing` (a lattice the
    /// vendor runs; the suite only connects).
    pub kind: String,
    /// The NATS URL of an existing lattice.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub nats_url: Option<String>,
    /// The lattice name of an existing lattice.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lattice: Option<String>,
    /// The hosts found on an existing lattice (IDs).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub hosts: Vec<String>,
}

/// One test's record.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TestRecord {
    /// Stable `area::behavior` name.
    pub name: String,
    /// What it checks.
    pub description: String,
    /// Contract area.
    pub area: String,
    /// Features relied on.
    pub features: Vec<String>,
    /// Catalogue items checked.
    pub covers: Vec<String>,
    /// Outcome.
    pub status: RecordStatus,
    /// Wall time in seconds.
    pub duration_seconds: f64,
    /// Why it failed, errored or was skipped.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub message: Option<String>,
    /// The reason the implementation's expectation file gives for listing it as a known failure.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expected_failure_reason: Option<String>,
    /// Where its logs were kept.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub log_dir: Option<String>,
    /// Where its time went (absent where the runner did not measure it).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub phases: Option<Phases>,
    /// The share group whose lattice it ran on, one after another with the group's other tests
    /// (absent for a test that had a lattice of its own).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub shared_lattice: Option<String>,
    /// For a property test: the generated cases it ran and their seed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub property: Option<PropertyDraw>,
    /// Known divergences the test observed and recorded instead of failing on (each a sentence
    /// naming what diverges, where, and the evidence).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub observations: Vec<String>,
    /// How long the lattice took to converge on what the test awaited (scales, links, deploys,
    /// config, …), in the order they happened.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub convergences: Vec<Convergence>,
}

/// One wait of a test that converged: the time the lattice took to become consistent.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Convergence {
    /// What converged: `scale`, `provider`, `link`, `config`, `deploy`, `inventory`, `http`, …
    pub kind: String,
    /// What was awaited.
    pub what: String,
    /// Milliseconds from the start of the wait to the check that ended it.
    pub ms: u64,
    /// Checks made.
    pub attempts: u32,
}

/// The spread of one kind of convergence across a run.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvergenceSpread {
    /// The kind.
    pub kind: String,
    /// How many there were.
    pub count: usize,
    /// Median milliseconds (nearest rank).
    pub p50_ms: u64,
    /// 95th percentile milliseconds (nearest rank).
    pub p95_ms: u64,
    /// The slowest, in milliseconds.
    pub max_ms: u64,
}

/// The generated inputs of a property test.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PropertyDraw {
    /// How many cases were drawn.
    pub cases: u32,
    /// The seed they were drawn from, in decimal (a u64: JSON readers lose digits of numbers
    /// above 2^53, so it is a string).
    pub seed: String,
}

impl PropertyDraw {
    /// `32 cases, seed 12345`.
    pub fn line(&self) -> String {
        format!("{} cases, seed {}", self.cases, self.seed)
    }
}

/// Where one test's wall time went, in seconds; the four add up to its `duration_seconds`.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Phases {
    /// Before the lattice: fixtures resolved, the OTLP receiver started (on an existing lattice:
    /// its state recorded).
    pub setup: f64,
    /// The lattice started until its hosts answered (on an existing lattice: connecting).
    pub lattice_up: f64,
    /// The test body, failure diagnostics included.
    pub body: f64,
    /// The lattice torn down (on an existing lattice: its state restored).
    pub teardown: f64,
}

/// The value at percentile `p` (0–100) of sorted `values`, by nearest rank.
fn nearest_rank(sorted: &[u64], p: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

impl Report {
    /// p50, p95 and max of each kind of convergence across the run's tests, by kind.
    pub fn convergence_spreads(&self) -> Vec<ConvergenceSpread> {
        let mut by_kind: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
        for c in self.tests.iter().flat_map(|t| &t.convergences) {
            by_kind.entry(c.kind.as_str()).or_default().push(c.ms);
        }
        by_kind
            .into_iter()
            .map(|(kind, mut ms)| {
                ms.sort_unstable();
                ConvergenceSpread {
                    kind: kind.to_string(),
                    count: ms.len(),
                    p50_ms: nearest_rank(&ms, 50),
                    p95_ms: nearest_rank(&ms, 95),
                    max_ms: ms.last().copied().unwrap_or(0),
                }
            })
            .collect()
    }
}

impl Phases {
    /// The phases with their names, in order.
    pub fn named(&self) -> [(&'static str, f64); 4] {
        [
            ("setup", self.setup),
            ("lattice-up", self.lattice_up),
            ("body", self.body),
            ("teardown", self.teardown),
        ]
    }
}

/// A whole run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Version of the suite that produced it.
    pub suite_version: String,
    /// What was tested.
    pub implementation: Implementation,
    /// `processes` (containers come later).
    pub backend: String,
    /// The run's random seed (it orders test execution; `run --seed` repeats an order).
    pub seed: u64,
    /// Which tests were selected and which expectations applied.
    pub selection: Selection,
    /// UTC date the run started (`YYYY-MM-DD`).
    pub date: String,
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339.
    pub finished_at: String,
    /// Counts.
    pub summary: Summary,
    /// Every selected test, in registry order.
    pub tests: Vec<TestRecord>,
    /// Catalogue item → names of the *passing* tests that cover it.
    pub coverage: BTreeMap<String, Vec<String>>,
    /// What the run was pointed at (absent in reports of suites before it was recorded).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub target: Option<Target>,
    /// Each feature as declared by the target and as detected on the lattice (a mismatch is
    /// reported, not fatal).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub features: Vec<FeatureRecord>,
    /// The catalogue the run was checked against (version and SHA-256 of its file); `verify`
    /// accepts the report only against that catalogue. Absent in reports of suites before it was
    /// recorded.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub catalogue: Option<super::catalogue::CatalogueRef>,
    /// SHA-256 (hex) of the report's canonical JSON without this field: see [`content_sha256`].
    pub content_sha256: String,
}

/// Run parameters recorded in the report.
#[derive(Clone, Debug, Default)]
pub struct RunInfo {
    /// The backend the lattices ran on (`processes`, `containers`).
    pub backend: String,
    /// The seed.
    pub seed: u64,
    /// The selection.
    pub selection: Selection,
    /// What the run was pointed at.
    pub target: Option<Target>,
    /// Declared against detected features.
    pub features: Vec<FeatureRecord>,
    /// The catalogue the run was checked against.
    pub catalogue: Option<super::catalogue::CatalogueRef>,
}

/// A feature of the target: declared supported or not, and what detection found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureRecord {
    /// Feature id (`wadm`, `builtin-http-server`, ...).
    pub feature: String,
    /// Whether the target declares it supported (not listed as unsupported).
    pub declared: bool,
    /// What detection found (`null`: not probed or inconclusive).
    pub detected: Option<bool>,
    /// What detection saw.
    pub evidence: String,
    /// `detected` is known and differs from `declared`.
    pub mismatch: bool,
}

/// RFC 3339 UTC time now.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "unknown".into())
}

impl TestRecord {
    /// Applies a known-failure expectation: a failure becomes `expected-failure`, a pass
    /// `unexpected-pass`; skipped and error stay as they are (the reason is recorded either way).
    pub fn expecting_failure(mut self, reason: &str) -> Self {
        self.status = match self.status {
            RecordStatus::Failed => RecordStatus::ExpectedFailure,
            RecordStatus::Passed => RecordStatus::UnexpectedPass,
            other => other,
        };
        self.expected_failure_reason = Some(reason.to_string());
        self
    }
}

/// Catalogue item → names of the passing tests covering it (every covered item is a key).
pub fn coverage_of(tests: &[TestRecord]) -> BTreeMap<String, Vec<String>> {
    let mut coverage: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in tests {
        for item in &t.covers {
            let entry = coverage.entry(item.clone()).or_default();
            if t.status == RecordStatus::Passed {
                entry.push(t.name.clone());
            }
        }
    }
    coverage
}

/// The canonical JSON text of `value`: object keys sorted by code point, no insignificant
/// whitespace, strings and numbers as `serde_json` writes them. Two equal documents always give
/// the same text, whatever the key order or formatting of the file they came from.
pub fn canonical_json(value: &serde_json::Value) -> String {
    fn write(v: &serde_json::Value, out: &mut String) {
        match v {
            serde_json::Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(k.clone()).to_string());
                    out.push(':');
                    write(&map[k], out);
                }
                out.push('}');
            }
            serde_json::Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// The seal of a report document: SHA-256 (hex) of [`canonical_json`] of the document with its
/// top-level `content_sha256` field removed.
pub fn content_sha256(document: &serde_json::Value) -> String {
    use sha2::Digest as _;
    let mut unsealed = document.clone();
    if let Some(map) = unsealed.as_object_mut() {
        map.remove(SEAL_FIELD);
    }
    hex::encode(sha2::Sha256::digest(canonical_json(&unsealed).as_bytes()))
}

impl Report {
    /// A sealed report over `tests` (counts and coverage are derived from them).
    pub fn new(
        implementation: Implementation,
        run: RunInfo,
        started_at: String,
        tests: Vec<TestRecord>,
    ) -> Self {
        let mut report = Self {
            schema: SCHEMA.to_string(),
            suite_version: env!("CARGO_PKG_VERSION").to_string(),
            implementation,
            backend: run.backend,
            seed: run.seed,
            selection: run.selection,
            date: started_at.get(..10).unwrap_or_default().to_string(),
            started_at,
            finished_at: now_rfc3339(),
            summary: Summary::of(tests.iter().map(|t| t.status)),
            coverage: coverage_of(&tests),
            tests,
            target: run.target,
            features: run.features,
            catalogue: run.catalogue,
            content_sha256: String::new(),
        };
        report.seal();
        report
    }

    /// The report as a JSON value.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Recomputes `content_sha256` (after any change to the report). The hash is taken over the
    /// document as a reader of `report.json` sees it (rendered to text and parsed back), so a
    /// number whose text a JSON parser reads back a unit in the last place away cannot make a
    /// fresh report fail `verify`.
    pub fn seal(&mut self) {
        let as_read = serde_json::to_string(self)
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok());
        self.content_sha256 = content_sha256(&as_read.unwrap_or_else(|| self.to_value()));
    }

    /// The features whose detection contradicts the declaration.
    pub fn mismatches(&self) -> Vec<&FeatureRecord> {
        self.features.iter().filter(|f| f.mismatch).collect()
    }

    /// True when nothing failed, errored or passed unexpectedly (expected failures are fine).
    pub fn ok(&self) -> bool {
        self.tests.iter().all(|t| !t.status.fails_run())
    }
}

/// `supported`, `unsupported` or `unknown`.
pub fn supported_word(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "supported",
        Some(false) => "unsupported",
        None => "unknown",
    }
}

/// Sample reports for unit tests of the modules that read reports.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use RecordStatus as Status;

    pub(crate) fn record(
        name: &str,
        status: Status,
        covers: &[&str],
        message: Option<&str>,
    ) -> TestRecord {
        TestRecord {
            name: name.into(),
            description: "d".into(),
            area: "host".into(),
            features: vec![],
            covers: covers.iter().map(ToString::to_string).collect(),
            status,
            duration_seconds: 1.5,
            message: message.map(Into::into),
            expected_failure_reason: None,
            log_dir: None,
            phases: None,
            property: None,
            observations: vec![],
            convergences: vec![],
            shared_lattice: None,
        }
    }

    /// The items the sample covers: the catalogue of [`sample_catalogue`].
    pub(crate) const SAMPLE_ITEMS: &[&str] = &["HL-05", "HL-06", "ORC-04", "NET-03"];

    /// The catalogue [`sample`] names.
    pub(crate) fn sample_catalogue() -> crate::catalogue::Catalogue {
        crate::catalogue::testing::catalogue(SAMPLE_ITEMS)
    }

    pub(crate) fn sample() -> Report {
        Report::new(
            Implementation {
                name: "reference".into(),
                ..Default::default()
            },
            RunInfo {
                backend: "processes".into(),
                seed: 42,
                selection: Selection {
                    profile: "extended".into(),
                    ..Default::default()
                },
                catalogue: Some(sample_catalogue().reference()),
                ..Default::default()
            },
            "2026-11-24T00:00:00Z".into(),
            vec![
                record("host::ping", Status::Passed, &["HL-05"], None),
                record(
                    "host::inventory",
                    Status::Failed,
                    &["HL-06", "HL-05"],
                    Some("expected 1 component\nmore"),
                ),
                record(
                    "wadm::x",
                    Status::Skipped,
                    &["ORC-04"],
                    Some("the target declares no support for feature `wadm`"),
                ),
                record(
                    "links::y",
                    Status::Error,
                    &["NET-03"],
                    Some("the lattice did not come up"),
                ),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{record, sample};
    use super::*;
    use RecordStatus as Status;

    #[test]
    fn counts_and_coverage_follow_the_records() {
        let r = sample();
        assert_eq!(
            r.summary,
            Summary {
                total: 4,
                passed: 1,
                failed: 1,
                skipped: 1,
                error: 1,
                expected_failure: 0,
                unexpected_pass: 0
            }
        );
        assert_eq!(r.coverage["HL-05"], vec!["host::ping".to_string()]);
        assert!(
            r.coverage["HL-06"].is_empty(),
            "a failing test covers nothing"
        );
        assert!(!r.ok());
        assert_eq!(r.schema, SCHEMA);
        assert_eq!(r.date, "2026-11-24");
        assert_eq!(
            r.summary.line(),
            "1 passed, 1 failed, 1 skipped, 1 error (of 4)"
        );
    }

    #[test]
    fn json_round_trips() {
        let r = sample();
        let back: Report = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn expectations_turn_failures_into_expected_failures_and_passes_into_unexpected_passes() {
        let failed =
            record("a::b", Status::Failed, &["HL-05"], Some("boom")).expecting_failure("bug 12");
        let passed = record("a::c", Status::Passed, &["HL-05"], None).expecting_failure("bug 13");
        let skipped =
            record("a::d", Status::Skipped, &["HL-05"], Some("no")).expecting_failure("bug 14");
        assert_eq!(failed.status, RecordStatus::ExpectedFailure);
        assert_eq!(passed.status, RecordStatus::UnexpectedPass);
        assert_eq!(skipped.status, RecordStatus::Skipped);
        assert_eq!(failed.expected_failure_reason.as_deref(), Some("bug 12"));

        let only_expected = Report::new(
            Implementation::default(),
            RunInfo::default(),
            "2026-11-24T00:00:00Z".into(),
            vec![failed.clone()],
        );
        assert!(
            only_expected.ok(),
            "an expected failure does not fail the run"
        );
        assert_eq!(only_expected.summary.expected_failure, 1);
        assert!(
            only_expected.coverage["HL-05"].is_empty(),
            "an expected failure covers nothing"
        );
        let with_unexpected = Report::new(
            Implementation::default(),
            RunInfo::default(),
            "2026-11-24T00:00:00Z".into(),
            vec![failed, passed],
        );
        assert!(!with_unexpected.ok(), "an unexpected pass fails the run");
        assert_eq!(
            with_unexpected.summary.line(),
            "0 passed, 0 failed, 0 skipped, 0 error, 1 expected failure, 1 unexpected pass (of 2)"
        );
        let json = serde_json::to_value(&with_unexpected).unwrap();
        assert_eq!(json["tests"][0]["status"], "expected-failure");
        assert_eq!(json["tests"][1]["status"], "unexpected-pass");
        let xml = with_unexpected.junit().unwrap();
        assert!(
            xml.contains("unexpected pass") && xml.contains("expected failure (bug 12)"),
            "{xml}"
        );
        // An expected failure ran: never <skipped> (which means not run) in JUnit.
        assert!(
            !xml.contains("<skipped") && xml.contains(r#"value="expected-failure""#),
            "{xml}"
        );
    }

    #[test]
    fn canonical_json_ignores_key_order_and_whitespace() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2.5, "x"], "x": null}}"#).unwrap();
        let b: serde_json::Value =
            serde_json::from_str("{\"a\":{\"x\":null,\"y\":[1,2.5,\"x\"]},\n \"b\":1}").unwrap();
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"x":null,"y":[1,2.5,"x"]},"b":1}"#
        );
        assert_eq!(canonical_json(&a), canonical_json(&b));
        let escaped: serde_json::Value = serde_json::json!({"q\"k": "line\nbreak"});
        assert_eq!(canonical_json(&escaped), r#"{"q\"k":"line\nbreak"}"#);
    }

    #[test]
    fn the_seal_covers_everything_but_itself() {
        let r = sample();
        assert_eq!(r.content_sha256.len(), 64);
        let value = r.to_value();
        assert_eq!(
            content_sha256(&value),
            r.content_sha256,
            "the seal excludes its own field"
        );
        // Re-reading the pretty file gives the same seal.
        let reread: serde_json::Value =
            serde_json::from_str(&serde_json::to_string_pretty(&r).unwrap()).unwrap();
        assert_eq!(content_sha256(&reread), r.content_sha256);
        // Numbers with many digits (which serde_json's default parser may read back a ULP away)
        // still give a report that verifies once written and read.
        let mut long = sample();
        for (i, t) in long.tests.iter_mut().enumerate() {
            t.duration_seconds = 2.237303246 + i as f64 * 0.1234567891234567;
        }
        long.seal();
        let reread: serde_json::Value =
            serde_json::from_str(&serde_json::to_string_pretty(&long).unwrap()).unwrap();
        assert_eq!(content_sha256(&reread), long.content_sha256);
        // Any edit changes it.
        let mut edited = value.clone();
        edited["tests"][0]["duration_seconds"] = serde_json::json!(1.6);
        assert_ne!(content_sha256(&edited), r.content_sha256);
        let mut edited = value;
        edited["seed"] = serde_json::json!(43);
        assert_ne!(content_sha256(&edited), r.content_sha256);
    }

    #[test]
    fn junit_and_markdown_carry_every_status() {
        let r = sample();
        let xml = r.junit().unwrap();
        assert!(
            xml.contains(r#"name="host::ping""#)
                && xml.contains("<failure")
                && xml.contains("<error")
                && xml.contains("<skipped"),
            "{xml}"
        );
        let md = r.markdown();
        assert!(
            md.contains("**1 passed, 1 failed, 1 skipped, 1 error (of 4)**"),
            "{md}"
        );
        assert!(
            md.contains("| `host::inventory` | failed | HL-06, HL-05 |"),
            "{md}"
        );
        assert!(md.contains(&r.content_sha256), "{md}");
        assert!(
            md.contains(&format!(
                "| catalogue | test/r1 (sha256 `{}`) |",
                super::testing::sample_catalogue().sha256()
            )),
            "{md}"
        );
    }
}
