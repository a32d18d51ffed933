//! Test-by-test comparison of two reports: status changes, tests in only one of them, and
//! differences in what they cover.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::report::{RecordStatus, Report, TestRecord};

/// How two reports differ.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportDiff {
    /// Tests present in both whose status differs: name, status in a, status in b.
    pub status_changes: Vec<(String, RecordStatus, RecordStatus)>,
    /// Tests present in both whose covered items differ: name, only in a, only in b.
    pub covers_changes: Vec<(String, Vec<String>, Vec<String>)>,
    /// Tests only in a (with their status).
    pub only_in_a: Vec<(String, RecordStatus)>,
    /// Tests only in b (with their status).
    pub only_in_b: Vec<(String, RecordStatus)>,
    /// Catalogue items covered by passing tests in a but not in b.
    pub coverage_lost: Vec<String>,
    /// Catalogue items covered by passing tests in b but not in a.
    pub coverage_gained: Vec<String>,
}

impl ReportDiff {
    /// Whether any test differs (status, presence or covered items).
    pub fn tests_differ(&self) -> bool {
        !(self.status_changes.is_empty()
            && self.covers_changes.is_empty()
            && self.only_in_a.is_empty()
            && self.only_in_b.is_empty())
    }
}

fn covered(report: &Report) -> BTreeSet<String> {
    report
        .coverage
        .iter()
        .filter(|(_, tests)| !tests.is_empty())
        .map(|(item, _)| item.clone())
        .collect()
}

/// Compares `a` with `b`.
pub fn diff(a: &Report, b: &Report) -> ReportDiff {
    let index = |r: &'_ Report| -> BTreeMap<String, TestRecord> {
        r.tests
            .iter()
            .map(|t| (t.name.clone(), t.clone()))
            .collect()
    };
    let (ta, tb) = (index(a), index(b));
    let mut d = ReportDiff::default();
    for (name, x) in &ta {
        match tb.get(name) {
            None => d.only_in_a.push((name.clone(), x.status)),
            Some(y) => {
                if x.status != y.status {
                    d.status_changes.push((name.clone(), x.status, y.status));
                }
                let (cx, cy): (BTreeSet<&String>, BTreeSet<&String>) =
                    (x.covers.iter().collect(), y.covers.iter().collect());
                if cx != cy {
                    d.covers_changes.push((
                        name.clone(),
                        cx.difference(&cy).map(|s| (*s).clone()).collect(),
                        cy.difference(&cx).map(|s| (*s).clone()).collect(),
                    ));
                }
            }
        }
    }
    d.only_in_b = tb
        .iter()
        .filter(|(n, _)| !ta.contains_key(*n))
        .map(|(n, t)| (n.clone(), t.status))
        .collect();
    let (ca, cb) = (covered(a), covered(b));
    d.coverage_lost = ca.difference(&cb).cloned().collect();
    d.coverage_gained = cb.difference(&ca).cloned().collect();
    d
}

/// A text a person reads; `a_name`/`b_name` label the two sides (e.g. their file paths).
pub fn render(a: &Report, b: &Report, d: &ReportDiff, a_name: &str, b_name: &str) -> String {
    let side = |r: &Report| {
        format!(
            "{} (host {}, {}, {})",
            r.implementation.name,
            r.implementation.host.version.as_deref().unwrap_or("?"),
            r.started_at,
            r.summary.line()
        )
    };
    let mut out = format!("a: {a_name}\n   {}\nb: {b_name}\n   {}\n", side(a), side(b));
    if !d.status_changes.is_empty() {
        let _ = writeln!(out, "\nstatus changes ({}):", d.status_changes.len());
        for (name, x, y) in &d.status_changes {
            let _ = writeln!(out, "  {name:<48} {} -> {}", x.id(), y.id());
        }
    }
    for (label, list) in [("only in a", &d.only_in_a), ("only in b", &d.only_in_b)] {
        if !list.is_empty() {
            let _ = writeln!(out, "\n{label} ({}):", list.len());
            for (name, status) in list {
                let _ = writeln!(out, "  {name:<48} {}", status.id());
            }
        }
    }
    if !d.covers_changes.is_empty() {
        let _ = writeln!(out, "\ncovered items changed ({}):", d.covers_changes.len());
        for (name, only_a, only_b) in &d.covers_changes {
            let _ = writeln!(
                out,
                "  {name:<48} only in a: [{}], only in b: [{}]",
                only_a.join(", "),
                only_b.join(", ")
            );
        }
    }
    if !d.coverage_lost.is_empty() || !d.coverage_gained.is_empty() {
        let _ = writeln!(
            out,
            "\ncoverage (items with a passing test): {} in a, {} in b; covered in a only: [{}]; covered in b only: [{}]",
            covered(a).len(),
            covered(b).len(),
            d.coverage_lost.join(", "),
            d.coverage_gained.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "\n{}",
        if d.tests_differ() {
            format!(
                "{} test(s) differ",
                d.status_changes.len()
                    + d.only_in_a.len()
                    + d.only_in_b.len()
                    + d.covers_changes
                        .iter()
                        .filter(|(n, _, _)| !d.status_changes.iter().any(|(m, _, _)| m == n))
                        .count()
            )
        } else {
            format!("no test differs ({} compared)", a.tests.len())
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::{record, sample};
    use crate::report::{Implementation, RunInfo};
    use crate::RecordStatus as Status;

    #[test]
    fn identical_reports_do_not_differ() {
        let (a, b) = (sample(), sample());
        let d = diff(&a, &b);
        assert!(!d.tests_differ(), "{d:?}");
        assert!(render(&a, &b, &d, "a.json", "b.json").contains("no test differs (4 compared)"));
    }

    #[test]
    fn changes_presence_and_coverage_are_reported() {
        let a = sample();
        let b = Report::new(
            Implementation {
                name: "vendor".into(),
                ..Default::default()
            },
            RunInfo::default(),
            "2026-11-24T00:00:00Z".into(),
            vec![
                record("host::ping", Status::Failed, &["HL-05"], Some("no")),
                record(
                    "host::inventory",
                    Status::Passed,
                    &["HL-06", "HL-05", "HL-07"],
                    None,
                ),
                record("wadm::x", Status::Skipped, &["ORC-04"], Some("no wadm")),
                record("new::test", Status::Passed, &["NET-01"], None),
            ],
        );
        let d = diff(&a, &b);
        assert!(d.tests_differ());
        assert_eq!(
            d.status_changes,
            vec![
                (
                    "host::inventory".to_string(),
                    RecordStatus::Failed,
                    RecordStatus::Passed
                ),
                (
                    "host::ping".to_string(),
                    RecordStatus::Passed,
                    RecordStatus::Failed
                ),
            ]
        );
        assert_eq!(
            d.only_in_a,
            vec![("links::y".to_string(), RecordStatus::Error)]
        );
        assert_eq!(
            d.only_in_b,
            vec![("new::test".to_string(), RecordStatus::Passed)]
        );
        assert_eq!(
            d.covers_changes,
            vec![(
                "host::inventory".to_string(),
                vec![],
                vec!["HL-07".to_string()]
            )]
        );
        assert_eq!(
            d.coverage_lost,
            Vec::<String>::new(),
            "HL-05 stays covered (by host::inventory in b)"
        );
        assert_eq!(d.coverage_gained, vec!["HL-06", "HL-07", "NET-01"]);
        let text = render(&a, &b, &d, "a.json", "b.json");
        for needle in [
            "host::ping",
            "passed -> failed",
            "only in a (1)",
            "links::y",
            "only in b (1)",
            "new::test",
            "HL-07",
            "4 test(s) differ",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from\n{text}");
        }
    }
}
