//! The conformance report: a versioned JSON document, JUnit XML and a Markdown summary.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{ConformanceTest, Outcome, Status};
use crate::HarnessError;

/// Identifies the JSON schema of [`Report`].
pub const SCHEMA: &str = "wasmcloud-conformance/report/v1";

/// One binary of the implementation under test.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Binary {
    /// Where it was run from.
    pub path: String,
    /// What `--version` printed (first line).
    pub version: Option<String>,
    /// SHA-256 of the file: exactly which build was tested.
    pub sha256: Option<String>,
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
    pub status: Status,
    /// Wall time in seconds.
    pub duration_seconds: f64,
    /// Why it failed, errored or was skipped.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub message: Option<String>,
    /// Where its logs were kept.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub log_dir: Option<String>,
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
}

impl Status {
    fn id(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::Error => "error",
        }
    }
}

/// RFC 3339 UTC time now.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "unknown".into())
}

impl TestRecord {
    /// The record of `test` with `outcome`.
    pub fn new(test: &ConformanceTest, outcome: &Outcome) -> Self {
        Self {
            name: test.name.to_string(),
            description: test.description.to_string(),
            area: test.area.id().to_string(),
            features: test.features.iter().map(|f| f.id().to_string()).collect(),
            covers: test.covers.iter().map(ToString::to_string).collect(),
            status: outcome.status,
            duration_seconds: outcome.duration.as_secs_f64(),
            message: outcome.message.clone(),
            log_dir: outcome.log_dir.as_ref().map(|p| p.display().to_string()),
        }
    }
}

impl Report {
    /// A report over `tests` (counts and coverage are derived from them).
    pub fn new(implementation: Implementation, started_at: String, tests: Vec<TestRecord>) -> Self {
        let mut summary = Summary { total: tests.len(), ..Summary::default() };
        let mut coverage: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for t in &tests {
            match t.status {
                Status::Passed => summary.passed += 1,
                Status::Failed => summary.failed += 1,
                Status::Skipped => summary.skipped += 1,
                Status::Error => summary.error += 1,
            }
            for item in &t.covers {
                let entry = coverage.entry(item.clone()).or_default();
                if t.status == Status::Passed {
                    entry.push(t.name.clone());
                }
            }
        }
        Self {
            schema: SCHEMA.to_string(),
            suite_version: env!("CARGO_PKG_VERSION").to_string(),
            implementation,
            backend: "processes".into(),
            started_at,
            finished_at: now_rfc3339(),
            summary,
            tests,
            coverage,
        }
    }

    /// True when nothing failed or errored.
    pub fn ok(&self) -> bool {
        self.summary.failed == 0 && self.summary.error == 0
    }

    /// JUnit XML (one suite, one case per test; skipped cases carry their reason).
    pub fn junit(&self) -> Result<String, HarnessError> {
        use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};
        let mut suite = TestSuite::new("wasmcloud-conformance");
        for t in &self.tests {
            let status = match t.status {
                Status::Passed => TestCaseStatus::success(),
                Status::Failed | Status::Error => {
                    let kind = if t.status == Status::Failed { NonSuccessKind::Failure } else { NonSuccessKind::Error };
                    let mut s = TestCaseStatus::non_success(kind);
                    if let Some(m) = &t.message {
                        s.set_message(m.lines().next().unwrap_or_default());
                        s.set_description(m.as_str());
                    }
                    s
                }
                Status::Skipped => {
                    let mut s = TestCaseStatus::skipped();
                    if let Some(m) = &t.message {
                        s.set_message(m.as_str());
                    }
                    s
                }
            };
            let mut case = TestCase::new(t.name.as_str(), status);
            case.set_classname(t.area.as_str());
            case.set_time(std::time::Duration::from_secs_f64(t.duration_seconds));
            suite.add_test_case(case);
        }
        let mut report = JReport::new("wasmcloud-conformance");
        report.add_test_suite(suite);
        report.to_string().map_err(|e| HarnessError::Config(format!("cannot render JUnit: {e}")))
    }

    /// A Markdown summary a person reads.
    pub fn markdown(&self) -> String {
        let i = &self.implementation;
        let mut md = format!(
            "# wasmCloud conformance: {}\n\n| | |\n|---|---|\n| host | {} |\n| wadm | {} |\n| nats-server | {} |\n| backend | {} |\n| run | {} → {} |\n\n**{} passed, {} failed, {} skipped, {} error** (of {})\n\n",
            i.name,
            i.host.version.as_deref().unwrap_or("?"),
            i.wadm.version.as_deref().unwrap_or("?"),
            i.nats_server.version.as_deref().unwrap_or("?"),
            self.backend,
            self.started_at,
            self.finished_at,
            self.summary.passed,
            self.summary.failed,
            self.summary.skipped,
            self.summary.error,
            self.summary.total,
        );
        md.push_str("| test | status | covers | time | note |\n|---|---|---|---|---|\n");
        for t in &self.tests {
            let note = t.message.as_deref().and_then(|m| m.lines().next()).unwrap_or("").replace('|', "\\|");
            md.push_str(&format!(
                "| `{}` | {} | {} | {:.1} s | {} |\n",
                t.name,
                t.status.id(),
                t.covers.join(", "),
                t.duration_seconds,
                note
            ));
        }
        md
    }

    /// Writes `report.json`, `junit.xml` and `summary.md` into `dir` (created if needed).
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, HarnessError> {
        std::fs::create_dir_all(dir).map_err(HarnessError::io(format!("create results directory {}", dir.display())))?;
        let json = serde_json::to_string_pretty(self).map_err(|e| HarnessError::Config(format!("cannot render report: {e}")))?;
        let files = [("report.json", json), ("junit.xml", self.junit()?), ("summary.md", self.markdown())];
        let mut written = Vec::new();
        for (name, content) in files {
            let path = dir.join(name);
            std::fs::write(&path, content).map_err(HarnessError::io(format!("write {}", path.display())))?;
            written.push(path);
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, status: Status, covers: &[&str], message: Option<&str>) -> TestRecord {
        TestRecord {
            name: name.into(),
            description: "d".into(),
            area: "host".into(),
            features: vec![],
            covers: covers.iter().map(ToString::to_string).collect(),
            status,
            duration_seconds: 1.5,
            message: message.map(Into::into),
            log_dir: None,
        }
    }

    fn sample() -> Report {
        Report::new(
            Implementation { name: "reference".into(), ..Default::default() },
            "2026-11-24T00:00:00Z".into(),
            vec![
                record("host::ping", Status::Passed, &["HL-05"], None),
                record("host::inventory", Status::Failed, &["HL-06", "HL-05"], Some("expected 1 component\nmore")),
                record("wadm::x", Status::Skipped, &["ORC-04"], Some("the target declares no support for feature `wadm`")),
                record("links::y", Status::Error, &["NET-03"], Some("the lattice did not come up")),
            ],
        )
    }

    #[test]
    fn counts_and_coverage_follow_the_records() {
        let r = sample();
        assert_eq!(r.summary, Summary { total: 4, passed: 1, failed: 1, skipped: 1, error: 1 });
        assert_eq!(r.coverage["HL-05"], vec!["host::ping".to_string()]);
        assert!(r.coverage["HL-06"].is_empty(), "a failing test covers nothing");
        assert!(!r.ok());
        assert_eq!(r.schema, SCHEMA);
    }

    #[test]
    fn json_round_trips() {
        let r = sample();
        let back: Report = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn junit_and_markdown_carry_every_status() {
        let r = sample();
        let xml = r.junit().unwrap();
        assert!(xml.contains(r#"name="host::ping""#) && xml.contains("<failure") && xml.contains("<error") && xml.contains("<skipped"), "{xml}");
        let md = r.markdown();
        assert!(md.contains("**1 passed, 1 failed, 1 skipped, 1 error** (of 4)"), "{md}");
        assert!(md.contains("| `host::inventory` | failed | HL-06, HL-05 |"), "{md}");
        let dir = tempfile::tempdir().unwrap();
        let files = r.write(&dir.path().join("nested")).unwrap();
        assert_eq!(files.len(), 3);
    }
}
