//! Where a run's files go: each run its own directory `<results>/<implementation>/<host
//! version>/<run id>/`, a `latest` link beside it, and the `--outputs` file a CI step reads.
//! Nothing is pruned: runs stay until the user removes their directories.
use std::io::Write as _;
use std::path::{Path, PathBuf};

use conformance_report::report::Report;

use super::exit::{CliError, Exit};

/// The link in a version folder that points at its newest run.
pub(crate) const LATEST: &str = "latest";

/// `--run-id`: a safe folder name that is not `latest`.
pub(crate) fn parse_run_id(s: &str) -> Result<String, String> {
    let ok = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.len() <= 100
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if !ok {
        return Err(
            "use letters, digits, '.', '_' and '-' (at most 100), starting with a letter or digit"
                .into(),
        );
    }
    if s == LATEST {
        return Err(format!("`{LATEST}` names the link to the newest run"));
    }
    Ok(s.to_string())
}

/// A new run id: the UTC start time and four random hex digits, e.g. `20261202T160102Z-3fa9`,
/// so ids sort by time and two runs started in the same second still differ.
pub(crate) fn new_run_id() -> String {
    let now = time::OffsetDateTime::now_utc();
    let stamp = now
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_else(|_| now.unix_timestamp().to_string());
    format!("{stamp}-{:04x}", super::order::random_seed() & 0xffff)
}

/// The run's directory in `version_dir`; an id already used there is refused before anything
/// runs (runs never overwrite each other).
pub(crate) fn run_dir(version_dir: &Path, id: &str) -> Result<PathBuf, CliError> {
    let dir = version_dir.join(id);
    if dir.symlink_metadata().is_ok() {
        return Err(CliError::new(
            Exit::Results,
            format!(
                "{} exists: run id `{id}` was used before (runs never overwrite each other; give another --run-id or leave it out)",
                dir.display()
            ),
        ));
    }
    Ok(dir)
}

/// A new folder `results/<id>` for a run of several runs (`power`, `matrix`), with the
/// subfolders `subs`; `id` is `given` or a new one. An id already used is refused.
pub(crate) fn new_parent_run(
    results: &Path,
    given: Option<&str>,
    subs: &[&str],
) -> Result<(String, PathBuf), CliError> {
    let id = given.map(str::to_string).unwrap_or_else(new_run_id);
    let dir = run_dir(results, &id)?;
    for sub in subs {
        std::fs::create_dir_all(dir.join(sub)).map_err(|e| {
            CliError::new(
                Exit::Results,
                format!("cannot create {}: {e}", dir.join(sub).display()),
            )
        })?;
    }
    Ok((id, dir))
}

/// Points `version_dir/latest` at the run `id` (a relative link, replaced atomically).
pub(crate) fn point_latest(version_dir: &Path, id: &str) -> std::io::Result<()> {
    let tmp = version_dir.join(format!(".{LATEST}.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(id, &tmp)?;
    std::fs::rename(&tmp, version_dir.join(LATEST))
}

/// What a CI step needs from a finished run.
pub(crate) struct RunFiles<'a> {
    pub(crate) dir: &'a Path,
    pub(crate) bundle: &'a Path,
    pub(crate) badge: &'a Path,
}

/// `key=value` lines for `--outputs` (GitHub's `$GITHUB_OUTPUT` format): where the run's files
/// are, its counts and its verdict.
pub(crate) fn outputs(report: &Report, files: &RunFiles<'_>) -> String {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let s = &report.summary;
    let lines = [
        ("report-dir", abs(files.dir).display().to_string()),
        (
            "report",
            abs(&files.dir.join("report.json")).display().to_string(),
        ),
        (
            "summary",
            abs(&files.dir.join("summary.md")).display().to_string(),
        ),
        ("bundle", abs(files.bundle).display().to_string()),
        ("badge", abs(files.badge).display().to_string()),
        ("passed", (s.passed + s.expected_failure).to_string()),
        (
            "failed",
            (s.failed + s.error + s.unexpected_pass).to_string(),
        ),
        ("skipped", s.skipped.to_string()),
        ("total", s.total.to_string()),
        (
            "verdict",
            if report.ok() { "pass" } else { "fail" }.to_string(),
        ),
    ];
    lines.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

/// Appends [`outputs`] to `path` (created when missing).
pub(crate) fn append_outputs(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| {
            CliError::new(
                Exit::Results,
                format!("cannot append the run's outputs to {}: {e}", path.display()),
            )
        })
}

/// Checks before the run that `--outputs` can be appended to (its folder exists; the file is
/// writable or can be created), so a typo fails in a second rather than after the run.
pub(crate) fn check_outputs(path: &Path) -> Result<(), CliError> {
    append_outputs(path, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_folder_safe_and_not_latest() {
        assert!(parse_run_id("gh-123-1").is_ok());
        assert!(parse_run_id(&new_run_id()).is_ok());
        for bad in ["", "latest", "../x", "a/b", ".hidden", &"x".repeat(101)] {
            assert!(parse_run_id(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn new_ids_sort_by_time_and_differ() {
        let a = new_run_id();
        let b = new_run_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), "20261202T160102Z-3fa9".len(), "{a}");
        assert!(a.ends_with(|c: char| c.is_ascii_hexdigit()));
    }

    #[test]
    fn a_used_id_is_refused_and_latest_follows_the_newest_run() {
        let dir = tempfile::tempdir().unwrap();
        let v = dir.path();
        let first = run_dir(v, "one").unwrap();
        std::fs::create_dir_all(&first).unwrap();
        point_latest(v, "one").unwrap();
        let err = run_dir(v, "one").unwrap_err();
        assert!(err.message.contains("--run-id"), "{}", err.message);
        std::fs::create_dir_all(v.join("two")).unwrap();
        std::fs::write(v.join("two/report.json"), "2").unwrap();
        point_latest(v, "two").unwrap();
        assert_eq!(
            std::fs::read_link(v.join(LATEST)).unwrap(),
            Path::new("two")
        );
        assert_eq!(
            std::fs::read_to_string(v.join("latest/report.json")).unwrap(),
            "2"
        );
        // The first run is still there.
        assert!(first.is_dir());
    }

    #[test]
    fn outputs_are_appended_and_a_bad_path_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        append_outputs(&out, "a=1\n").unwrap();
        append_outputs(&out, "b=2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "a=1\nb=2\n");
        let err = check_outputs(&dir.path().join("no/such/dir/out")).unwrap_err();
        assert!(err.message.contains("no/such/dir"), "{}", err.message);
    }
}
