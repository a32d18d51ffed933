//! The results bundle: one `bundle.tar.gz` per run holding the report in every format, its badge,
//! and the kept logs and diagnostics of the tests that did not pass, so one file carries the
//! whole evidence; and reading a bundle back for `verify`.
use std::io::Read as _;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use super::report::{RecordStatus, Report};
use crate::ReportError;

pub use super::files::{BADGE_FILE, REPORT_FILE};

/// The bundle's file name in a run's directory.
pub const BUNDLE_FILE: &str = "bundle.tar.gz";
/// The folder inside the bundle holding the logs of the tests that did not pass.
pub const LOGS_DIR: &str = "logs";

/// The largest bundle member `read` accepts (a report of thousands of tests is a few MB).
const MAX_MEMBER: u64 = 256 * 1024 * 1024;

/// Writes `dir/bundle.tar.gz`: each of `files` (paths in `dir`, stored under their file names)
/// and, under `logs/<test>/`, the kept log directory of every test of `report` that failed, erred
/// or passed unexpectedly. A log directory that is gone is noted in `logs/MISSING.txt` rather
/// than failing the bundle.
pub fn write(dir: &Path, files: &[PathBuf], report: &Report) -> Result<PathBuf, ReportError> {
    let path = dir.join(BUNDLE_FILE);
    let partial = dir.join(format!(".{BUNDLE_FILE}.partial"));
    let io = |what: &str| ReportError::io(format!("{what} {}", path.display()));
    let out = std::fs::File::create(&partial).map_err(io("create"))?;
    let mut tar = tar::Builder::new(GzEncoder::new(out, flate2::Compression::default()));
    tar.follow_symlinks(false);
    for file in files {
        let name = file
            .file_name()
            .ok_or_else(|| ReportError::Format(format!("{} has no file name", file.display())))?;
        tar.append_path_with_name(file, name)
            .map_err(io("add to"))?;
    }
    let mut missing = Vec::new();
    for t in report.tests.iter().filter(|t| {
        matches!(
            t.status,
            RecordStatus::Failed | RecordStatus::Error | RecordStatus::UnexpectedPass
        )
    }) {
        let Some(logs) = t.log_dir.as_deref().map(Path::new) else {
            continue;
        };
        if logs.is_dir() {
            let inside = format!("{LOGS_DIR}/{}", member_name(&t.name));
            tar.append_dir_all(&inside, logs)
                .map_err(io("add logs to"))?;
        } else {
            missing.push(format!("{}: {}", t.name, logs.display()));
        }
    }
    if !missing.is_empty() {
        let text = format!(
            "Log directories gone before the bundle was written:\n{}\n",
            missing.join("\n")
        );
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(
            &mut header,
            format!("{LOGS_DIR}/MISSING.txt"),
            text.as_bytes(),
        )
        .map_err(io("add to"))?;
    }
    let gz = tar.into_inner().map_err(io("finish"))?;
    gz.finish().map_err(io("finish"))?;
    std::fs::rename(&partial, &path).map_err(io("rename into"))?;
    Ok(path)
}

/// A test name as a folder name: `host::ping` → `host__ping`.
pub fn member_name(test: &str) -> String {
    test.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What `verify` needs from a bundle.
#[derive(Debug)]
pub struct Contents {
    /// `report.json`, as text.
    pub report: String,
    /// `badge.svg`, when the bundle has one.
    pub badge: Option<String>,
    /// Every member's path, in bundle order.
    pub members: Vec<String>,
}

/// True when `path` looks like a gzip file (its first two bytes), whatever its name.
pub fn is_bundle(path: &Path) -> bool {
    let mut magic = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map(|()| magic == [0x1f, 0x8b])
        .unwrap_or(false)
}

/// Reads a bundle: its report (required), its badge and the list of its members.
pub fn read(path: &Path) -> Result<Contents, String> {
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut archive = tar::Archive::new(GzDecoder::new(file));
    let bad =
        |e: std::io::Error| format!("{} is not a readable bundle (tar.gz): {e}", path.display());
    let (mut report, mut badge, mut members) = (None, None, Vec::new());
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let name = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let wanted = name == REPORT_FILE || name == BADGE_FILE;
        if wanted {
            if entry.size() > MAX_MEMBER {
                return Err(format!(
                    "{}: {name} is larger than {MAX_MEMBER} bytes",
                    path.display()
                ));
            }
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|e| format!("{}: {name} is not UTF-8 text: {e}", path.display()))?;
            if name == REPORT_FILE {
                report = Some(text);
            } else {
                badge = Some(text);
            }
        }
        members.push(name);
    }
    let report = report.ok_or_else(|| {
        format!(
            "{} holds no {REPORT_FILE} (members: {})",
            path.display(),
            members.join(", ")
        )
    })?;
    Ok(Contents {
        report,
        badge,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::sample;

    #[test]
    fn a_bundle_holds_the_files_and_the_logs_of_tests_that_did_not_pass() {
        let dir = tempfile::tempdir().unwrap();
        let mut report = sample();
        let logs = dir.path().join("kept");
        std::fs::create_dir_all(logs.join("host-0")).unwrap();
        std::fs::write(logs.join("host-0/stderr.log"), "boom\n").unwrap();
        std::fs::write(logs.join("diagnostics.txt"), "why\n").unwrap();
        for t in &mut report.tests {
            t.log_dir = Some(match t.status {
                RecordStatus::Failed => logs.display().to_string(),
                _ => dir.path().join("gone").display().to_string(),
            });
        }
        let json = dir.path().join(REPORT_FILE);
        std::fs::write(&json, "{\"a\": 1}\n").unwrap();
        let badge = dir.path().join(BADGE_FILE);
        std::fs::write(&badge, "<svg/>").unwrap();

        let path = write(dir.path(), &[json, badge], &report).unwrap();
        assert!(is_bundle(&path));
        let contents = read(&path).unwrap();
        assert_eq!(contents.report, "{\"a\": 1}\n");
        assert_eq!(contents.badge.as_deref(), Some("<svg/>"));
        let failed = report
            .tests
            .iter()
            .find(|t| t.status == RecordStatus::Failed)
            .unwrap();
        let inside = format!("{LOGS_DIR}/{}", member_name(&failed.name));
        for want in [
            format!("{inside}/host-0/stderr.log"),
            format!("{inside}/diagnostics.txt"),
            format!("{LOGS_DIR}/MISSING.txt"),
        ] {
            assert!(
                contents.members.contains(&want),
                "{want} not in {:?}",
                contents.members
            );
        }
        // A passing test's logs are not bundled, even when it names a directory.
        let passed = report
            .tests
            .iter()
            .find(|t| t.status == RecordStatus::Passed)
            .unwrap();
        assert!(!contents
            .members
            .iter()
            .any(|m| m.contains(&member_name(&passed.name))));
    }

    #[test]
    fn a_bundle_without_a_report_or_not_a_bundle_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let badge = dir.path().join(BADGE_FILE);
        std::fs::write(&badge, "<svg/>").unwrap();
        let mut report = sample();
        report.tests.iter_mut().for_each(|t| t.log_dir = None);
        let path = write(dir.path(), &[badge], &report).unwrap();
        let err = read(&path).unwrap_err();
        assert!(err.contains("holds no report.json"), "{err}");

        let plain = dir.path().join("plain.tar.gz");
        std::fs::write(&plain, "not gzip").unwrap();
        assert!(!is_bundle(&plain));
        let err = read(&plain).unwrap_err();
        assert!(err.contains("not a readable bundle"), "{err}");
    }

    #[test]
    fn test_names_become_safe_folder_names() {
        assert_eq!(member_name("host::ping"), "host__ping");
        assert_eq!(member_name("a/../b"), "a_.._b");
    }
}
