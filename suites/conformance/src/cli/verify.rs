//! `wasmcloud-conformance verify <report.json | bundle.tar.gz>`: the report matches `report-v1.schema.json`
//! (checked by the harness's own validator of the keywords that schema uses), its counts and
//! coverage follow its test list, it names the catalogue verify checks against (the suite's own,
//! compiled in, or `--catalogue FILE`) and its covered items exist there, and its seal
//! (`content_sha256`) matches its content; and its badge (in the bundle, or `badge.svg` beside the
//! report) was rendered from it.
use std::path::Path;

use conformance_report::catalogue::Catalogue;
use conformance_report::report::Report;
use conformance_report::verify::{verify, ProblemKind};
use conformance_report::{badge, bundle};

use super::exit::{CliError, Exit};

/// The catalogue in `path`, or the suite's own (`suites/conformance/catalogue.toml`, compiled in)
/// when none is given; [`Exit::Catalogue`] when the file cannot be read or is not a catalogue.
pub(crate) fn load_catalogue(path: Option<&Path>) -> Result<Catalogue, CliError> {
    let Some(path) = path else {
        return Ok(conformance_suite::catalogue().clone());
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::new(
            Exit::Catalogue,
            format!(
                "cannot read the catalogue {}: {e} (give its path with --catalogue, or leave it out for the suite's own)",
                path.display()
            ),
        )
    })?;
    Catalogue::parse(&text).map_err(|e| {
        CliError::new(
            Exit::Catalogue,
            format!(
                "the catalogue {} is not valid: {e} (the format is that of suites/conformance/catalogue.toml)",
                path.display()
            ),
        )
    })
}

fn exit_of(kind: ProblemKind) -> Exit {
    match kind {
        ProblemKind::NotJson => Exit::NotJson,
        ProblemKind::Schema => Exit::Schema,
        ProblemKind::Inconsistent => Exit::Inconsistent,
        ProblemKind::UnknownItem => Exit::UnknownItem,
        ProblemKind::Tampered => Exit::Tampered,
        ProblemKind::CatalogueMismatch => Exit::CatalogueMismatch,
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

/// The report's text and, when there is one, its badge (with where it was found): from a bundle
/// (which must hold both), or from a report.json and the `badge.svg` beside it.
fn read_report_and_badge(path: &Path) -> Result<(String, Option<(String, String)>), CliError> {
    if !bundle::is_bundle(path) {
        let text = read_input(path)?;
        let beside = path.with_file_name(bundle::BADGE_FILE);
        let badge = std::fs::read_to_string(&beside)
            .ok()
            .map(|svg| (format!("the badge beside it ({})", beside.display()), svg));
        return Ok((text, badge));
    }
    let contents = bundle::read(path).map_err(|e| CliError::new(Exit::Unreadable, e))?;
    let svg = contents.badge.ok_or_else(|| {
        CliError::new(
            Exit::Inconsistent,
            format!(
                "{}: the bundle holds no {} (a run's bundle always does)",
                path.display(),
                bundle::BADGE_FILE
            ),
        )
    })?;
    Ok((contents.report, Some(("its badge".to_string(), svg))))
}

/// Checks `svg` is the badge of the report `text` (which has verified).
fn check_badge(text: &str, svg: &str) -> Result<(), String> {
    let report: Report =
        serde_json::from_str(text).map_err(|e| format!("cannot read the report: {e}"))?;
    badge::check(svg, &report)
}

/// Verifies `report` against `catalogue` (default: the suite's own); prints every problem on
/// stderr and returns the exit code of the first class found (classes in the order of
/// [`ProblemKind`]).
pub(crate) fn run(report: &Path, catalogue: Option<&Path>) -> Result<(), CliError> {
    let (text, badge) = read_report_and_badge(report)?;
    let catalogue = load_catalogue(catalogue)?;
    let problems = verify(&text, &catalogue);
    let Some(first) = problems.iter().map(|p| p.kind).min() else {
        if let Some((where_, svg)) = &badge {
            check_badge(&text, svg).map_err(|e| {
                CliError::new(
                    Exit::Tampered,
                    format!("{}: {where_}: {e}", report.display()),
                )
            })?;
        }
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        println!(
            "ok: {} verifies: {}, {} test(s), catalogue {}, content_sha256 {}",
            report.display(),
            doc["implementation"]["name"].as_str().unwrap_or_default(),
            doc["summary"]["total"],
            catalogue.version(),
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
