//! `wasmcloud-conformance diff <a.json> <b.json>`: test-by-test comparison of two reports.
use std::path::Path;

use conformance_report::diff::{diff, render};
use conformance_report::report::{content_sha256, Report};

use super::exit::{CliError, Exit};
use super::verify::read_input;

fn load(path: &Path) -> Result<Report, CliError> {
    let text = read_input(path)?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::new(Exit::NotJson, format!("{}: not JSON: {e}", path.display())))?;
    let report: Report = serde_json::from_value(doc.clone()).map_err(|e| {
        CliError::new(
            Exit::Schema,
            format!(
                "{}: not a wasmcloud-conformance/report/v1 report: {e}",
                path.display()
            ),
        )
    })?;
    if content_sha256(&doc) != report.content_sha256 {
        eprintln!(
            "warning: {}: content_sha256 does not match its content (edited after the run?); `verify` it",
            path.display()
        );
    }
    Ok(report)
}

/// Prints the comparison on stdout; `Ok(true)` when no test differs.
pub(crate) fn run(a: &Path, b: &Path) -> Result<bool, CliError> {
    let (ra, rb) = (load(a)?, load(b)?);
    let d = diff(&ra, &rb);
    print!(
        "{}",
        render(
            &ra,
            &rb,
            &d,
            &a.display().to_string(),
            &b.display().to_string()
        )
    );
    Ok(!d.tests_differ())
}
