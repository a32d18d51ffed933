//! `wasmcloud-conformance verify <report.json>`: the report matches `report-v1.schema.json`
//! (checked by the harness's own validator of the keywords that schema uses), its counts and
//! coverage follow its test list, its covered items exist in the catalogue, and its seal
//! (`content_sha256`) matches its content.
use std::path::Path;

use harness::conformance::verify::{catalogue_items, verify, ProblemKind};

use super::exit::{CliError, Exit};

/// The catalogue beside the project (`../shared/spec/wasmcloud-1x-catalogue.md`).
pub(crate) fn default_catalogue() -> std::path::PathBuf {
    harness::binaries::repo_root().join("../shared/spec/wasmcloud-1x-catalogue.md")
}

fn exit_of(kind: ProblemKind) -> Exit {
    match kind {
        ProblemKind::NotJson => Exit::NotJson,
        ProblemKind::Schema => Exit::Schema,
        ProblemKind::Inconsistent => Exit::Inconsistent,
        ProblemKind::UnknownItem => Exit::UnknownItem,
        ProblemKind::Tampered => Exit::Tampered,
    }
}

/// Reads `path` or fails with [`Exit::Unreadable`].
pub(crate) fn read_input(path: &Path) -> Result<String, CliError> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| {
            CliError::new(
                Exit::NotJson,
                format!("{}: not JSON: the file is not UTF-8 text", path.display()),
            )
        }),
        Err(e) => Err(CliError::new(
            Exit::Unreadable,
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}

/// Verifies `report`; prints every problem on stderr and returns the exit code of the first class
/// found (classes in the order of the exit-code table).
pub(crate) fn run(report: &Path, catalogue: &Path) -> Result<(), CliError> {
    let text = read_input(report)?;
    let catalogue_text = std::fs::read_to_string(catalogue).map_err(|e| {
        CliError::new(
            Exit::Catalogue,
            format!(
                "cannot read the catalogue {}: {e} (give its path with --catalogue)",
                catalogue.display()
            ),
        )
    })?;
    let items = catalogue_items(&catalogue_text);
    if items.is_empty() {
        return Err(CliError::new(
            Exit::Catalogue,
            format!(
                "the catalogue {} defines no item (`### ID …` or `* ID …`)",
                catalogue.display()
            ),
        ));
    }
    let problems = verify(&text, &items);
    let Some(first) = problems.iter().map(|p| p.kind).min() else {
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        println!(
            "ok: {} verifies: {}, {} test(s), content_sha256 {}",
            report.display(),
            doc["implementation"]["name"].as_str().unwrap_or_default(),
            doc["summary"]["total"],
            doc["content_sha256"].as_str().unwrap_or_default()
        );
        return Ok(());
    };
    let shown = 20;
    for p in problems.iter().take(shown) {
        eprintln!("error: {}: {}", report.display(), p.message);
    }
    if problems.len() > shown {
        eprintln!(
            "error: {}: … and {} more problem(s)",
            report.display(),
            problems.len() - shown
        );
    }
    Err(CliError::new(
        exit_of(first),
        format!(
            "{} does not verify ({} problem(s))",
            report.display(),
            problems.len()
        ),
    ))
}
