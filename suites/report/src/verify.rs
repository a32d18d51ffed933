//! Checks a `report.json`: it is JSON, matches the versioned schema, its counts and coverage follow
//! its test list, it names the catalogue it is checked against and every covered item exists
//! there, and its seal (`content_sha256`) matches its content, so a report edited after the run
//! is detected.
use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::catalogue::Catalogue;
use super::report::{content_sha256, coverage_of, Report, Summary, SCHEMA_JSON, SEAL_FIELD};
use super::schema::validate;

/// The kind of a problem, in the order checks run (and the order of their exit codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProblemKind {
    /// The text is not JSON.
    NotJson,
    /// It does not match `report-v1.schema.json`.
    Schema,
    /// Counts, coverage or names disagree with the test list.
    Inconsistent,
    /// A covered item is not in the catalogue.
    UnknownItem,
    /// `content_sha256` does not match the content: edited after the run.
    Tampered,
    /// The report names another catalogue than the one it is checked against, or none.
    CatalogueMismatch,
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Its class.
    pub kind: ProblemKind,
    /// What is wrong, where.
    pub message: String,
}

/// Every problem of the report text `text` against `catalogue` (empty: valid). Checks stop after
/// the first class that makes later ones meaningless (not JSON, not matching the schema). A report
/// that names another catalogue than `catalogue`, or none, is a [`ProblemKind::CatalogueMismatch`]
/// and its items are not looked up in `catalogue`.
pub fn verify(text: &str, catalogue: &Catalogue) -> Vec<Problem> {
    let problem = |kind, message: String| Problem { kind, message };
    let doc: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return vec![problem(ProblemKind::NotJson, format!("not JSON: {e}"))],
    };
    let schema: Value =
        serde_json::from_str(SCHEMA_JSON).expect("the compiled-in report schema is JSON");
    let violations = validate(&schema, &doc);
    if !violations.is_empty() {
        return violations
            .into_iter()
            .map(|v| {
                problem(
                    ProblemKind::Schema,
                    format!("does not match report-v1.schema.json {v}"),
                )
            })
            .collect();
    }
    let report: Report = match serde_json::from_value(doc.clone()) {
        Ok(r) => r,
        Err(e) => {
            return vec![problem(
                ProblemKind::Schema,
                format!("does not match the report model: {e}"),
            )]
        }
    };
    let mut problems = Vec::new();

    // Consistency: counts, coverage, names, date.
    let derived = Summary::of(report.tests.iter().map(|t| t.status));
    if derived != report.summary {
        problems.push(problem(
            ProblemKind::Inconsistent,
            format!(
                "summary counts {} do not match the test list, which gives {}",
                report.summary.line(),
                derived.line()
            ),
        ));
    }
    let mut names = BTreeSet::new();
    for t in &report.tests {
        if !names.insert(t.name.as_str()) {
            problems.push(problem(
                ProblemKind::Inconsistent,
                format!("test `{}` is listed twice", t.name),
            ));
        }
    }
    let coverage = coverage_of(&report.tests);
    if coverage != report.coverage {
        problems.push(problem(
            ProblemKind::Inconsistent,
            coverage_difference(&report.coverage, &coverage),
        ));
    }
    for f in &report.features {
        let mismatch = f.detected.is_some_and(|d| d != f.declared);
        if f.mismatch != mismatch {
            problems.push(problem(
                ProblemKind::Inconsistent,
                format!(
                    "feature `{}`: mismatch is {} but declared {} and detected {:?} give {mismatch}",
                    f.feature, f.mismatch, f.declared, f.detected
                ),
            ));
        }
    }
    if report
        .target
        .as_ref()
        .is_some_and(|t| t.kind == "existing" && (t.nats_url.is_none() || t.lattice.is_none()))
    {
        problems.push(problem(
            ProblemKind::Inconsistent,
            "target kind existing without its nats_url and lattice".into(),
        ));
    }
    if report.started_at.get(..10) != Some(report.date.as_str()) {
        problems.push(problem(
            ProblemKind::Inconsistent,
            format!(
                "date {} is not the day the run started ({})",
                report.date, report.started_at
            ),
        ));
    }

    // Catalogue: the one the report names, then its items.
    let ours = catalogue.reference();
    let named_ours = report.catalogue.as_ref() == Some(&ours);
    if !named_ours {
        let theirs = match &report.catalogue {
            Some(c) if c.version == ours.version => {
                format!("catalogue {c}: the same version with other content")
            }
            Some(c) => format!("catalogue {c}"),
            None => "no catalogue (it was written by a suite that did not record one)".to_string(),
        };
        problems.push(problem(
            ProblemKind::CatalogueMismatch,
            format!(
                "the report names {theirs}, but it is being checked against catalogue {ours}: verify it with the catalogue it was run against (--catalogue FILE), or run the suite again"
            ),
        ));
    }
    let ids = catalogue.ids();
    let mut unknown: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for t in report.tests.iter().filter(|_| named_ours) {
        for item in &t.covers {
            if !ids.contains(item) {
                unknown.entry(item).or_default().push(&t.name);
            }
        }
    }
    for item in report.coverage.keys().filter(|_| named_ours) {
        if !ids.contains(item) {
            unknown.entry(item).or_default();
        }
    }
    for (item, tests) in unknown {
        let by = if tests.is_empty() {
            "the coverage table".to_string()
        } else {
            format!("test(s) {}", tests.join(", "))
        };
        problems.push(problem(
            ProblemKind::UnknownItem,
            format!("catalogue item {item}, covered by {by}, is not in the catalogue"),
        ));
    }

    // Seal.
    let recorded = doc
        .get(SEAL_FIELD)
        .and_then(Value::as_str)
        .unwrap_or_default();
    let actual = content_sha256(&doc);
    if recorded != actual {
        problems.push(problem(
            ProblemKind::Tampered,
            format!("content_sha256 is {recorded} but the content hashes to {actual}: the report was changed after the run"),
        ));
    }
    problems
}

fn coverage_difference(
    recorded: &BTreeMap<String, Vec<String>>,
    derived: &BTreeMap<String, Vec<String>>,
) -> String {
    let mut parts = Vec::new();
    for (item, tests) in recorded {
        match derived.get(item) {
            None => parts.push(format!("{item} is listed but no test covers it")),
            Some(d) if d != tests => parts.push(format!(
                "{item} lists {:?}, the passing tests covering it are {:?}",
                tests, d
            )),
            Some(_) => {}
        }
    }
    for item in derived.keys().filter(|i| !recorded.contains_key(*i)) {
        parts.push(format!(
            "{item} is covered by a test but missing from the coverage table"
        ));
    }
    format!(
        "the coverage table does not follow the test list: {}",
        parts.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::testing;
    use crate::report::testing::{sample, sample_catalogue};
    use serde_json::json;

    fn catalogue() -> Catalogue {
        sample_catalogue()
    }

    fn kinds(text: &str) -> Vec<ProblemKind> {
        verify(text, &catalogue()).iter().map(|p| p.kind).collect()
    }

    fn reseal(mut doc: Value) -> String {
        doc[SEAL_FIELD] = json!(content_sha256(&doc));
        doc.to_string()
    }

    #[test]
    fn a_report_naming_another_catalogue_or_none_does_not_verify() {
        let doc = sample().to_value();
        let ours = catalogue().reference();

        let other = testing::catalogue(&["HL-05"]);
        let mut named = doc.clone();
        named["catalogue"] = json!({"version": "other/r9", "sha256": other.sha256()});
        named["coverage"]["ZZ-99"] = json!(["host::ping"]);
        named["tests"][0]["covers"] = json!(["HL-05", "ZZ-99"]);
        let problems = verify(&reseal(named), &catalogue());
        assert_eq!(
            problems.iter().map(|p| p.kind).collect::<Vec<_>>(),
            vec![ProblemKind::CatalogueMismatch],
            "items are not judged against another catalogue: {problems:?}"
        );
        let m = &problems[0].message;
        assert!(
            m.contains("other/r9") && m.contains(&ours.version) && m.contains(&ours.sha256),
            "{m}"
        );

        let mut same_version = doc.clone();
        same_version["catalogue"]["sha256"] = json!(other.sha256());
        let problems = verify(&reseal(same_version), &catalogue());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0]
                .message
                .contains("the same version with other content"),
            "{problems:?}"
        );

        let mut none = doc.clone();
        none.as_object_mut().unwrap().remove("catalogue");
        let problems = verify(&reseal(none), &catalogue());
        assert_eq!(
            problems.iter().map(|p| p.kind).collect::<Vec<_>>(),
            vec![ProblemKind::CatalogueMismatch]
        );
        assert!(
            problems[0].message.contains("names no catalogue")
                && problems[0].message.contains(&ours.version),
            "{problems:?}"
        );

        let mut bad = doc;
        bad["catalogue"] = json!({"version": "v"});
        assert_eq!(kinds(&reseal(bad)), vec![ProblemKind::Schema]);
    }

    #[test]
    fn a_fresh_report_verifies() {
        let text = serde_json::to_string_pretty(&sample()).unwrap();
        assert_eq!(verify(&text, &catalogue()), vec![]);
    }

    #[test]
    fn the_features_section_and_target_verify_and_a_wrong_mismatch_flag_does_not() {
        let mut doc = sample().to_value();
        doc["target"] = json!({"kind": "existing", "nats_url": "nats://n:4222", "lattice": "l"});
        doc["features"] = json!([
            {"feature": "wadm", "declared": true, "detected": false, "evidence": "no answer", "mismatch": true},
            {"feature": "wrpc", "declared": true, "detected": null, "evidence": "not probed", "mismatch": false}
        ]);
        assert_eq!(kinds(&reseal(doc.clone())), vec![]);
        let mut wrong = doc.clone();
        wrong["features"][0]["mismatch"] = json!(false);
        assert_eq!(kinds(&reseal(wrong)), vec![ProblemKind::Inconsistent]);
        let mut kind = doc.clone();
        kind["target"]["kind"] = json!("k8s");
        assert_eq!(kinds(&reseal(kind)), vec![ProblemKind::Schema]);
        let mut bare = doc;
        bare["target"] = json!({"kind": "existing"});
        assert_eq!(kinds(&reseal(bare)), vec![ProblemKind::Inconsistent]);
    }

    #[test]
    fn each_failure_class_is_detected() {
        let doc = sample().to_value();
        assert_eq!(kinds("{not json"), vec![ProblemKind::NotJson]);
        assert_eq!(kinds(""), vec![ProblemKind::NotJson]);
        assert!(kinds("{}").iter().all(|k| *k == ProblemKind::Schema));
        assert!(!kinds("{}").is_empty());

        let mut tampered = doc.clone();
        tampered["tests"][0]["duration_seconds"] = json!(99.0);
        assert_eq!(kinds(&tampered.to_string()), vec![ProblemKind::Tampered]);

        let mut counts = doc.clone();
        counts["summary"]["passed"] = json!(2);
        assert_eq!(
            kinds(&reseal(counts.clone())),
            vec![ProblemKind::Inconsistent]
        );
        assert_eq!(
            kinds(&counts.to_string()),
            vec![ProblemKind::Inconsistent, ProblemKind::Tampered]
        );

        let mut unknown = doc.clone();
        unknown["tests"][0]["covers"] = json!(["HL-05", "ZZ-99"]);
        unknown["coverage"]["ZZ-99"] = json!(["host::ping"]);
        let problems = verify(&reseal(unknown), &catalogue());
        assert_eq!(
            problems.iter().map(|p| p.kind).collect::<Vec<_>>(),
            vec![ProblemKind::UnknownItem]
        );
        assert!(
            problems[0].message.contains("ZZ-99") && problems[0].message.contains("host::ping"),
            "{problems:?}"
        );

        let mut coverage = doc.clone();
        coverage["coverage"]["HL-06"] = json!(["host::inventory"]);
        let problems = verify(&reseal(coverage), &catalogue());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("HL-06"), "{problems:?}");

        let mut twice = doc.clone();
        let first = twice["tests"][0].clone();
        twice["tests"].as_array_mut().unwrap().push(first);
        let problems = verify(&reseal(twice), &catalogue());
        assert!(
            problems.iter().any(|p| p.message.contains("listed twice")),
            "{problems:?}"
        );

        let mut date = doc;
        date["date"] = json!("2026-11-25");
        assert_eq!(kinds(&reseal(date)), vec![ProblemKind::Inconsistent]);
    }
}
