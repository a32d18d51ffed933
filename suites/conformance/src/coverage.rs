//! Catalogue coverage: which tests check each catalogue item, and which items are deliberately
//! left out (`coverage.toml`, with reasons). The gate: every item is one or the other.
use std::collections::BTreeMap;

use conformance_report::catalogue::Catalogue;
use serde::Deserialize;

const LEFT_OUT: &str = include_str!("../coverage.toml");

/// An item the suite deliberately does not check.
#[derive(Debug, Deserialize)]
pub struct LeftOut {
    /// Catalogue item ID.
    pub item: String,
    /// Why.
    pub reason: String,
}

#[derive(Deserialize)]
struct File {
    #[serde(rename = "left-out", default)]
    left_out: Vec<LeftOut>,
}

/// The deliberately left-out items.
pub fn left_out() -> Vec<LeftOut> {
    toml::from_str::<File>(LEFT_OUT)
        .map(|f| f.left_out)
        .unwrap_or_else(|e| panic!("coverage.toml is malformed: {e}"))
}

/// The coverage of `catalogue` by the registry: item → test names, and the items neither covered
/// nor left out (the gaps that fail the gate).
pub fn coverage(catalogue: &Catalogue) -> (BTreeMap<String, Vec<&'static str>>, Vec<String>) {
    let mut table: BTreeMap<String, Vec<&'static str>> = catalogue
        .ids()
        .into_iter()
        .map(|i| (i, Vec::new()))
        .collect();
    for t in crate::registry() {
        for item in t.covers {
            if let Some(tests) = table.get_mut(*item) {
                tests.push(t.name);
            }
        }
    }
    let left: Vec<String> = left_out().into_iter().map(|l| l.item).collect();
    let gaps = table
        .iter()
        .filter(|(item, tests)| tests.is_empty() && !left.contains(item))
        .map(|(i, _)| i.clone())
        .collect();
    (table, gaps)
}

/// A Markdown table of the coverage.
pub fn markdown(catalogue: &Catalogue) -> String {
    let (table, gaps) = coverage(catalogue);
    let left = left_out();
    let covered = table.values().filter(|t| !t.is_empty()).count();
    let mut md = format!(
        "Catalogue {}: {covered} of {} items are checked by tests; {} left out with a reason; {} gaps.\n\n| item | tests |\n|---|---|\n",
        catalogue.version(),
        table.len(),
        left.len(),
        gaps.len()
    );
    for (item, tests) in &table {
        let cell = if tests.is_empty() {
            left.iter()
                .find(|l| &l.item == item)
                .map(|l| format!("left out: {}", l.reason))
                .unwrap_or_else(|| "**GAP**".into())
        } else {
            tests
                .iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        md.push_str(&format!("| {item} | {cell} |\n"));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_item_is_covered_or_left_out_with_a_reason() {
        let catalogue = crate::catalogue();
        let (table, gaps) = coverage(catalogue);
        assert_eq!(
            table.len(),
            catalogue.count(),
            "the table has a row per catalogue item"
        );
        assert!(
            gaps.is_empty(),
            "catalogue items with no test and no reason: {gaps:?}"
        );
        for l in left_out() {
            assert!(
                !l.reason.trim().is_empty(),
                "{} is left out without a reason",
                l.item
            );
            let tests = table
                .get(&l.item)
                .unwrap_or_else(|| panic!("{} in coverage.toml is not a catalogue item", l.item));
            assert!(
                tests.is_empty(),
                "{} is listed as left out but covered by {tests:?}: remove the entry",
                l.item
            );
        }
    }

    #[test]
    fn the_markdown_counts_from_the_catalogue() {
        let catalogue = crate::catalogue();
        let (table, _) = coverage(catalogue);
        let covered = table.values().filter(|t| !t.is_empty()).count();
        let md = markdown(catalogue);
        assert!(
            md.starts_with(&format!(
                "Catalogue {}: {covered} of {} items are checked by tests;",
                catalogue.version(),
                catalogue.count()
            )),
            "{md}"
        );
        assert_eq!(
            md.lines().filter(|l| l.starts_with("| ")).count() - 1,
            catalogue.count(),
            "a row per item: {md}"
        );
    }
}
