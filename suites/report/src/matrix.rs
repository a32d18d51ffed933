//! The language × behaviour matrix of the vendorless tests, derived from test names
//! (`vendorless::<behavior>_<language>`, one definition stamped out per fixture language).
use std::collections::BTreeMap;

use super::report::{RecordStatus, TestRecord};

/// The fixture languages, in the order of the matrix's columns: the ids of the harness's
/// `fixtures::Lang::ALL` (the suite's unit tests check that the two lists agree).
pub const LANGUAGES: [&str; 5] = ["rust", "python", "javascript", "c", "go"];

/// Outcomes by behaviour (rows) and language (columns, in [`LANGUAGES`] order).
#[derive(Debug, Default, PartialEq)]
pub struct Matrix {
    /// behaviour → language id → status.
    pub rows: BTreeMap<String, BTreeMap<&'static str, RecordStatus>>,
}

impl Matrix {
    /// The matrix of the records named `vendorless::<behavior>_<language>`.
    pub fn from_records(tests: &[TestRecord]) -> Self {
        let mut rows: BTreeMap<String, BTreeMap<&'static str, RecordStatus>> = BTreeMap::new();
        for t in tests {
            let Some(rest) = t.name.strip_prefix("vendorless::") else {
                continue;
            };
            for lang in LANGUAGES {
                if let Some(behavior) = rest.strip_suffix(&format!("_{lang}")) {
                    rows.entry(behavior.to_string())
                        .or_default()
                        .insert(lang, t.status);
                }
            }
        }
        Self { rows }
    }

    /// Whether there is anything to show.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn cell(&self, behavior: &str, lang: &str) -> &'static str {
        self.rows
            .get(behavior)
            .and_then(|r| r.get(lang))
            .map(|s| s.id())
            .unwrap_or("—")
    }

    /// A Markdown table.
    pub fn markdown(&self) -> String {
        let mut md = String::from("| behaviour |");
        for lang in LANGUAGES {
            md.push_str(&format!(" {lang} |"));
        }
        md.push_str("\n|---|");
        md.push_str(&"---|".repeat(LANGUAGES.len()));
        md.push('\n');
        for behavior in self.rows.keys() {
            md.push_str(&format!("| {behavior} |"));
            for lang in LANGUAGES {
                md.push_str(&format!(" {} |", self.cell(behavior, lang)));
            }
            md.push('\n');
        }
        md
    }

    /// An HTML table (cells carry the status as their class).
    pub fn html(&self) -> String {
        let mut out = String::from("<table>\n<tr><th>behaviour</th>");
        for lang in LANGUAGES {
            out.push_str(&format!("<th>{lang}</th>"));
        }
        out.push_str("</tr>\n");
        for behavior in self.rows.keys() {
            out.push_str(&format!("<tr><td>{}</td>", super::markup::escape(behavior)));
            for lang in LANGUAGES {
                let cell = self.cell(behavior, lang);
                out.push_str(&format!("<td class=\"{cell}\">{cell}</td>"));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, status: RecordStatus) -> TestRecord {
        let mut r: TestRecord = serde_json::from_value(serde_json::json!({
            "name": name, "description": "", "area": "vendorless", "features": [], "covers": [],
            "status": "passed", "duration_seconds": 0.0
        }))
        .expect("a minimal record parses");
        r.status = status;
        r
    }

    #[test]
    fn rows_are_behaviours_and_columns_languages() {
        let m = Matrix::from_records(&[
            record("vendorless::echo_rust", RecordStatus::Passed),
            record("vendorless::echo_go", RecordStatus::Failed),
            record("vendorless::link_call_javascript", RecordStatus::Skipped),
            record("vendorless::provider_swap_by_relink", RecordStatus::Passed),
            record("host::ping_reports_identity", RecordStatus::Passed),
        ]);
        assert_eq!(m.rows.len(), 2, "{m:?}");
        let md = m.markdown();
        assert!(
            md.contains("| echo | passed | — | — | — | failed |"),
            "{md}"
        );
        assert!(
            md.contains("| link_call | — | — | skipped | — | — |"),
            "{md}"
        );
        assert!(m.html().contains("<td class=\"failed\">failed</td>"));
        assert!(Matrix::from_records(&[]).is_empty());
    }
}
