//! A run's report files: the report rendered in each of its forms (JSON, JUnit, Markdown, HTML,
//! badge) and written into the run's folder, under the names every reader of a run expects.
use std::path::{Path, PathBuf};

use super::report::Report;
use crate::ReportError;

/// The report's file name in a run's folder and in its bundle.
pub const REPORT_FILE: &str = "report.json";
/// The badge's file name in a run's folder and in its bundle.
pub const BADGE_FILE: &str = "badge.svg";

impl Report {
    /// Writes `report.json`, `junit.xml`, `summary.md`, `report.html` and `badge.svg` into `dir`
    /// (created if needed).
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
        std::fs::create_dir_all(dir).map_err(ReportError::io(format!(
            "create results directory {}",
            dir.display()
        )))?;
        let json = serde_json::to_string_pretty(self)
            .map_err(|e| ReportError::Format(format!("cannot render report: {e}")))?;
        let files = [
            (REPORT_FILE, json + "\n"),
            ("junit.xml", self.junit()?),
            ("summary.md", self.markdown()),
            ("report.html", super::html::render(self)),
            (BADGE_FILE, super::badge::render(self)),
        ];
        let mut written = Vec::new();
        for (name, content) in files {
            let path = dir.join(name);
            std::fs::write(&path, content)
                .map_err(ReportError::io(format!("write {}", path.display())))?;
            written.push(path);
        }
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use crate::report::testing::sample;
    use crate::report::Report;

    #[test]
    fn every_form_is_written_and_the_badge_belongs_to_the_report() {
        let r = sample();
        let dir = tempfile::tempdir().unwrap();
        let files = r.write(&dir.path().join("nested")).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "report.json",
                "junit.xml",
                "summary.md",
                "report.html",
                "badge.svg"
            ]
        );
        let back: Report =
            serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
        assert_eq!(back, r);
        let badge = std::fs::read_to_string(&files[4]).unwrap();
        assert_eq!(crate::badge::check(&badge, &back), Ok(()));
    }
}
