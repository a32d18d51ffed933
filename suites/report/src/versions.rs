//! The version matrix: several runs' reports, one per cell (a host, wadm and NATS version
//! combination), as cell × test and cell × catalogue item tables in Markdown and HTML, with the
//! tests whose result changes between neighbouring cells.
//!
//! Data and rendering only: whoever runs the cells builds a [`VersionMatrix`] from their reports
//! (or from why a cell could not run) and writes what [`VersionMatrix::markdown`] and
//! [`VersionMatrix::html`] return.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::markup::escape;
use super::report::{RecordStatus, Report, TestRecord};

/// How many characters of a reason a [`Change`] (or a table cell) keeps.
const REASON_CHARS: usize = 200;

/// One cell of the matrix: one run, of one combination of host, wadm and NATS versions.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// Stable id, e.g. `host-0.24.0`, `reference`, `nats-2.10.26`, `mixed-0.24.0`.
    pub id: String,
    /// What a person calls it, e.g. `wasmCloud 1.6.0 host (wasmcloud-host 0.24.0)`.
    pub label: String,
    /// The axis the cell varies: `reference`, `host`, `wadm`, `nats` or `mixed`.
    pub axis: String,
    /// The host the cell ran (crate or release version, free text).
    pub host: String,
    /// The wadm the cell ran (free text).
    pub wadm: String,
    /// The NATS server the cell ran (free text).
    pub nats: String,
    /// On a mixed-version lattice: the host every host but the first ran.
    pub mixed_host: Option<String>,
    /// The selection profile of the cell's run.
    pub profile: String,
    /// The id of its neighbouring newer cell, which changes are computed against (`None` for the
    /// reference).
    pub newer: Option<String>,
    /// Relative link to the cell's report (e.g. `cells/host-0.24.0/report.html`); `None` when it
    /// has none.
    pub report_link: Option<String>,
    /// Its report, or why there is none.
    pub outcome: CellOutcome,
}

/// What came of a cell's run.
#[derive(Clone, Debug, PartialEq)]
pub enum CellOutcome {
    /// The cell ran: its report.
    Ran(Box<Report>),
    /// The cell could not run (its binaries did not build, the run ended without a report): why.
    NotRun(String),
}

/// Several cells' runs side by side.
#[derive(Clone, Debug, PartialEq)]
pub struct VersionMatrix {
    /// E.g. `wasmCloud 1.x version matrix`.
    pub title: String,
    /// When it was made (RFC 3339 or a date, shown as is).
    pub date: String,
    /// The cells, in display order (the tables' columns).
    pub cells: Vec<Cell>,
}

/// A test whose status differs between a cell and its newer neighbour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The test's name.
    pub test: String,
    /// The older cell's id.
    pub older: String,
    /// The newer cell's id.
    pub newer: String,
    /// The test's status in the older cell.
    pub older_status: Option<RecordStatus>,
    /// The test's status in the newer cell.
    pub newer_status: Option<RecordStatus>,
    /// Why the results differ: the older cell's `expected_failure_reason` for the test, or else
    /// its message; when the older cell passed, the newer cell's (first line, at most 200
    /// characters).
    pub reason: Option<String>,
}

/// A catalogue item's status in one cell, from the tests covering it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ItemStatus {
    /// At least one covering test ran and passed, and none failed or failed as expected.
    Passed,
    /// A covering test failed, errored or passed unexpectedly.
    Failed,
    /// None failed, and at least one failed as its expectation file says it does.
    Expected,
    /// Every covering test was skipped, none was selected, or the cell did not run.
    NotRun,
}

impl ItemStatus {
    /// Stable id (also the CSS class of the HTML page): `passed`, `failed`, `expected-failure`,
    /// `not-run`.
    pub fn id(self) -> &'static str {
        match self {
            ItemStatus::Passed => "passed",
            ItemStatus::Failed => "failed",
            ItemStatus::Expected => "expected-failure",
            ItemStatus::NotRun => "not-run",
        }
    }

    /// The short symbol of the tables: `✓`, `✗`, `xfail`, `–`.
    pub fn symbol(self) -> &'static str {
        match self {
            ItemStatus::Passed => "✓",
            ItemStatus::Failed => "✗",
            ItemStatus::Expected => "xfail",
            ItemStatus::NotRun => "–",
        }
    }

    fn class(self) -> &'static str {
        match self {
            ItemStatus::NotRun => "skipped",
            other => other.id(),
        }
    }
}

/// The short symbol of a test status in the tables: `✓` passed, `✗` failed, `E` error, `–`
/// skipped, `xfail` expected failure, `xpass` unexpected pass.
pub fn symbol(status: RecordStatus) -> &'static str {
    match status {
        RecordStatus::Passed => "✓",
        RecordStatus::Failed => "✗",
        RecordStatus::Error => "E",
        RecordStatus::Skipped => "–",
        RecordStatus::ExpectedFailure => "xfail",
        RecordStatus::UnexpectedPass => "xpass",
    }
}

/// The legend of the test table.
const TEST_LEGEND: &str = "✓ passed · ✗ failed · E error · – skipped · xfail expected failure · xpass unexpected pass · blank: not selected";
/// The legend of the catalogue item table.
const ITEM_LEGEND: &str = "✓ every covering test that ran passed · ✗ a covering test failed, errored or passed unexpectedly · xfail a covering test failed as expected · – no covering test ran";

/// The first non-empty line of `text`, trimmed, at most [`REASON_CHARS`] characters.
fn first_line(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if line.chars().count() <= REASON_CHARS {
        line.to_string()
    } else {
        let mut short: String = line.chars().take(REASON_CHARS - 1).collect();
        short.push('…');
        short
    }
}

/// Why `record` has its status in its cell: the expectation's reason, or else its message.
fn reason_of(record: &TestRecord) -> Option<String> {
    let non_empty = |s: &&String| !s.trim().is_empty();
    record
        .expected_failure_reason
        .as_ref()
        .filter(non_empty)
        .or(record.message.as_ref().filter(non_empty))
        .map(|r| first_line(r))
}

/// Free text made safe for a Markdown table cell (one line, `|` escaped).
fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn status_word(status: Option<RecordStatus>) -> &'static str {
    status.map_or("not selected", RecordStatus::id)
}

/// An item id split for natural ordering: `CFG-2` sorts before `CFG-10`.
fn natural_key(item: &str) -> (&str, Option<u64>, &str) {
    match item.rsplit_once('-') {
        Some((prefix, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            match n.parse() {
                Ok(n) => (prefix, Some(n), item),
                Err(_) => (item, None, item),
            }
        }
        _ => (item, None, item),
    }
}

impl Change {
    /// One sentence: `failed in host-0.24.0, passed in reference: why`.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{} in {}, {} in {}",
            status_word(self.older_status),
            self.older,
            status_word(self.newer_status),
            self.newer
        );
        if let Some(reason) = &self.reason {
            let _ = write!(line, ": {reason}");
        }
        line
    }
}

impl Cell {
    /// The cell's report, when it ran.
    pub fn report(&self) -> Option<&Report> {
        match &self.outcome {
            CellOutcome::Ran(report) => Some(report),
            CellOutcome::NotRun(_) => None,
        }
    }

    /// What ran: `host … / wadm … / NATS …` (and `/ mixed host …` on a mixed lattice).
    pub fn what_ran(&self) -> String {
        let mut what = format!(
            "host {} / wadm {} / NATS {}",
            self.host, self.wadm, self.nats
        );
        if let Some(m) = &self.mixed_host {
            let _ = write!(what, " / mixed host {m}");
        }
        what
    }

    /// The report's summary line, or `not run: ` and the first line of why.
    pub fn summary(&self) -> String {
        match &self.outcome {
            CellOutcome::Ran(report) => report.summary.line(),
            CellOutcome::NotRun(why) => format!("not run: {}", first_line(why)),
        }
    }

    fn record(&self, test: &str) -> Option<&TestRecord> {
        self.report()?.tests.iter().find(|t| t.name == test)
    }
}

impl VersionMatrix {
    /// The cell with id `id` (the first, should two share it).
    pub fn cell(&self, id: &str) -> Option<&Cell> {
        self.cells.iter().find(|c| c.id == id)
    }

    /// Every test name in any cell that ran, sorted.
    pub fn tests(&self) -> Vec<String> {
        let names: BTreeSet<&str> = self
            .cells
            .iter()
            .filter_map(Cell::report)
            .flat_map(|r| r.tests.iter().map(|t| t.name.as_str()))
            .collect();
        names.into_iter().map(String::from).collect()
    }

    /// The status of `test` in `cell` (`None`: the cell did not select it, or did not run).
    pub fn status(&self, cell: &Cell, test: &str) -> Option<RecordStatus> {
        cell.record(test).map(|t| t.status)
    }

    /// Every test present in both a cell and its newer neighbour whose status differs, by older
    /// cell (in display order) then test. A test only one of the two selected is no change; a
    /// pair where either cell did not run, or whose `newer` names no cell, is not compared.
    pub fn changes(&self) -> Vec<Change> {
        let mut changes = Vec::new();
        for older in &self.cells {
            let Some(newer) = older.newer.as_deref().and_then(|id| self.cell(id)) else {
                continue;
            };
            let (Some(o), Some(n)) = (older.report(), newer.report()) else {
                continue;
            };
            let mut in_newer: BTreeMap<&str, &TestRecord> = BTreeMap::new();
            for t in &n.tests {
                in_newer.entry(t.name.as_str()).or_insert(t);
            }
            let mut in_older: BTreeMap<&str, &TestRecord> = BTreeMap::new();
            for t in &o.tests {
                in_older.entry(t.name.as_str()).or_insert(t);
            }
            for (name, old) in in_older {
                let Some(new) = in_newer.get(name) else {
                    continue;
                };
                if old.status != new.status {
                    changes.push(Change {
                        test: name.to_string(),
                        older: older.id.clone(),
                        newer: newer.id.clone(),
                        older_status: Some(old.status),
                        newer_status: Some(new.status),
                        reason: reason_of(old).or_else(|| reason_of(new)),
                    });
                }
            }
        }
        changes
    }

    /// Every catalogue item the tests of any cell that ran cover, in natural order (`CFG-2`
    /// before `CFG-10`).
    pub fn items(&self) -> Vec<String> {
        let items: BTreeSet<&str> = self
            .cells
            .iter()
            .filter_map(Cell::report)
            .flat_map(|r| {
                r.tests
                    .iter()
                    .flat_map(|t| t.covers.iter().map(String::as_str))
            })
            .collect();
        let mut items: Vec<&str> = items.into_iter().collect();
        items.sort_by(|a, b| natural_key(a).cmp(&natural_key(b)));
        items.into_iter().map(String::from).collect()
    }

    /// The status of catalogue item `item` in `cell`, from the tests covering it there.
    pub fn item_status(&self, cell: &Cell, item: &str) -> ItemStatus {
        let Some(report) = cell.report() else {
            return ItemStatus::NotRun;
        };
        let (mut passed, mut expected, mut failed) = (false, false, false);
        for t in report
            .tests
            .iter()
            .filter(|t| t.covers.iter().any(|c| c == item))
        {
            match t.status {
                RecordStatus::Passed => passed = true,
                RecordStatus::ExpectedFailure => expected = true,
                RecordStatus::Skipped => {}
                RecordStatus::Failed | RecordStatus::Error | RecordStatus::UnexpectedPass => {
                    failed = true
                }
            }
        }
        if failed {
            ItemStatus::Failed
        } else if expected {
            ItemStatus::Expected
        } else if passed {
            ItemStatus::Passed
        } else {
            ItemStatus::NotRun
        }
    }

    /// The matrix as Markdown: the cells, the changes between neighbours, then the cell × test
    /// and cell × item tables (changed tests in bold).
    pub fn markdown(&self) -> String {
        let changes = self.changes();
        let changed: BTreeSet<&str> = changes.iter().map(|c| c.test.as_str()).collect();
        let mut md = format!("# {}\n\n{}\n\n", self.title, self.date);

        if self.cells.is_empty() {
            md.push_str("No cells.\n");
        } else {
            md.push_str(
                "| cell | what ran | profile | summary | report |\n|---|---|---|---|---|\n",
            );
            for c in &self.cells {
                let what = if c.label.is_empty() {
                    c.what_ran()
                } else {
                    format!("{}: {}", c.label, c.what_ran())
                };
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} |",
                    md_cell(&c.id),
                    md_cell(&what),
                    md_cell(&c.profile),
                    md_cell(&c.summary()),
                    c.report_link
                        .as_deref()
                        .map(|l| format!("[report]({})", md_cell(l)))
                        .unwrap_or_default()
                );
            }
        }

        md.push_str("\n## Changes between neighbouring versions\n\n");
        if changes.is_empty() {
            md.push_str("none\n");
        }
        let mut pair: Option<(&str, &str)> = None;
        for ch in &changes {
            if pair != Some((&ch.older, &ch.newer)) {
                let _ = writeln!(md, "- {} → {}", ch.older, ch.newer);
                pair = Some((&ch.older, &ch.newer));
            }
            let _ = writeln!(
                md,
                "  - `{}`: {} → {}{}",
                ch.test,
                status_word(ch.older_status),
                status_word(ch.newer_status),
                ch.reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            );
        }

        let tests = self.tests();
        let _ = writeln!(md, "\n## Tests\n\n{TEST_LEGEND} · **bold**: the result changes between neighbouring cells\n");
        if tests.is_empty() {
            md.push_str("No tests ran.\n");
        } else {
            md.push_str(&self.md_header("test"));
            for test in &tests {
                let name = md_cell(test);
                if changed.contains(test.as_str()) {
                    let _ = write!(md, "| **{name}** |");
                } else {
                    let _ = write!(md, "| {name} |");
                }
                for cell in &self.cells {
                    let _ = write!(md, " {} |", self.status(cell, test).map_or("", symbol));
                }
                md.push('\n');
            }
        }

        let items = self.items();
        let _ = writeln!(md, "\n## Catalogue items\n\n{ITEM_LEGEND}\n");
        if items.is_empty() {
            md.push_str("No catalogue items covered.\n");
        } else {
            md.push_str(&self.md_header("item"));
            for item in &items {
                let _ = write!(md, "| {} |", md_cell(item));
                for cell in &self.cells {
                    let _ = write!(md, " {} |", self.item_status(cell, item).symbol());
                }
                md.push('\n');
            }
        }
        md
    }

    /// The header and separator rows of a table with one column per cell.
    fn md_header(&self, first: &str) -> String {
        let mut md = format!("| {first} |");
        for cell in &self.cells {
            let _ = write!(md, " {} |", md_cell(&cell.id));
        }
        md.push_str("\n|---|");
        md.push_str(&"---|".repeat(self.cells.len()));
        md.push('\n');
        md
    }

    /// The matrix as a standalone HTML page (inline CSS, no scripts, no external resources).
    pub fn html(&self) -> String {
        let changes = self.changes();
        // (test, cell id) → what changed there: the `title` of that status cell.
        let mut notes: BTreeMap<(&str, &str), Vec<String>> = BTreeMap::new();
        for ch in &changes {
            for cell in [&ch.older, &ch.newer] {
                notes
                    .entry((ch.test.as_str(), cell.as_str()))
                    .or_default()
                    .push(ch.line());
            }
        }
        let mut out = super::markup::page_start(&self.title, STYLE);
        let _ = writeln!(out, "<p>{}</p>", escape(&self.date));

        let _ = writeln!(out, "<h2>Cells</h2>");
        if self.cells.is_empty() {
            let _ = writeln!(out, "<p>No cells.</p>");
        } else {
            let _ = writeln!(
                out,
                "<table>\n<tr><th>cell</th><th>what ran</th><th>profile</th><th>summary</th><th>report</th></tr>"
            );
            for c in &self.cells {
                let summary = match &c.outcome {
                    CellOutcome::Ran(r) => format!(
                        "<td class=\"{}\">{}</td>",
                        if r.ok() { "passed" } else { "failed" },
                        escape(&r.summary.line())
                    ),
                    CellOutcome::NotRun(why) => {
                        let mut td =
                            format!("<td class=\"error\">not run: {}", escape(&first_line(why)));
                        if why.trim() != first_line(why) {
                            let _ = write!(
                                td,
                                "<details><summary>why</summary><pre>{}</pre></details>",
                                escape(why)
                            );
                        }
                        td.push_str("</td>");
                        td
                    }
                };
                let _ = writeln!(
                    out,
                    "<tr><td><code>{}</code><br><small>{}</small></td><td>{}<br><small>{}</small></td><td>{}</td>{}<td>{}</td></tr>",
                    escape(&c.id),
                    escape(&c.axis),
                    escape(&c.label),
                    escape(&c.what_ran()),
                    escape(&c.profile),
                    summary,
                    c.report_link
                        .as_deref()
                        .map(|l| format!("<a href=\"{}\">report</a>", escape(l)))
                        .unwrap_or_default()
                );
            }
            let _ = writeln!(out, "</table>");
        }

        let _ = writeln!(out, "<h2>Changes between neighbouring versions</h2>");
        if changes.is_empty() {
            let _ = writeln!(out, "<p>none</p>");
        } else {
            out.push_str("<ul>\n");
            let mut pair: Option<(&str, &str)> = None;
            for ch in &changes {
                if pair != Some((&ch.older, &ch.newer)) {
                    if pair.is_some() {
                        out.push_str("</ul></li>\n");
                    }
                    let _ = writeln!(
                        out,
                        "<li><code>{}</code> → <code>{}</code><ul>",
                        escape(&ch.older),
                        escape(&ch.newer)
                    );
                    pair = Some((&ch.older, &ch.newer));
                }
                let status = |s: Option<RecordStatus>| {
                    format!(
                        "<span class=\"{}\">{}</span>",
                        s.map_or("", RecordStatus::id),
                        status_word(s)
                    )
                };
                let _ = writeln!(
                    out,
                    "<li><a href=\"#test-{0}\"><code>{0}</code></a>: {1} → {2}{3}</li>",
                    escape(&ch.test),
                    status(ch.older_status),
                    status(ch.newer_status),
                    ch.reason
                        .as_deref()
                        .map(|r| format!(": {}", escape(r)))
                        .unwrap_or_default()
                );
            }
            out.push_str("</ul></li>\n</ul>\n");
        }

        let tests = self.tests();
        let _ = writeln!(
            out,
            "<h2>Tests</h2>\n<p>{} · <span class=\"changed\">highlighted</span>: the result changes between neighbouring cells (hover a framed result for what changed).</p>",
            escape(TEST_LEGEND)
        );
        if tests.is_empty() {
            let _ = writeln!(out, "<p>No tests ran.</p>");
        } else {
            out.push_str(&self.html_header("test"));
            for test in &tests {
                let changed = changes.iter().any(|c| &c.test == test);
                let _ = write!(
                    out,
                    "<tr id=\"test-{0}\"{1}><td><code>{0}</code></td>",
                    escape(test),
                    if changed { " class=\"changed\"" } else { "" }
                );
                for cell in &self.cells {
                    let Some(s) = self.status(cell, test) else {
                        out.push_str("<td></td>");
                        continue;
                    };
                    match notes.get(&(test.as_str(), cell.id.as_str())) {
                        Some(lines) => {
                            let _ = write!(
                                out,
                                "<td class=\"s {} change\" title=\"{}\">{}</td>",
                                s.id(),
                                escape(&lines.join("\n")),
                                symbol(s)
                            );
                        }
                        None => {
                            let _ = write!(
                                out,
                                "<td class=\"s {0}\" title=\"{0}\">{1}</td>",
                                s.id(),
                                symbol(s)
                            );
                        }
                    }
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</table>\n");
        }

        let items = self.items();
        let _ = writeln!(
            out,
            "<h2>Catalogue items</h2>\n<p>{}</p>",
            escape(ITEM_LEGEND)
        );
        if items.is_empty() {
            let _ = writeln!(out, "<p>No catalogue items covered.</p>");
        } else {
            out.push_str(&self.html_header("item"));
            for item in &items {
                let _ = write!(out, "<tr><td>{}</td>", escape(item));
                for cell in &self.cells {
                    let s = self.item_status(cell, item);
                    let _ = write!(
                        out,
                        "<td class=\"s {}\" title=\"{}\">{}</td>",
                        s.class(),
                        s.id(),
                        s.symbol()
                    );
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</table>\n");
        }
        out.push_str("</body>\n</html>\n");
        out
    }

    /// The opening and header row of a table with one column per cell (linking each to its
    /// report).
    fn html_header(&self, first: &str) -> String {
        let mut out = format!("<table>\n<tr><th>{}</th>", escape(first));
        for cell in &self.cells {
            let id = escape(&cell.id);
            match &cell.report_link {
                Some(link) => {
                    let _ = write!(
                        out,
                        "<th title=\"{}\"><a href=\"{}\">{id}</a></th>",
                        escape(&cell.label),
                        escape(link)
                    );
                }
                None => {
                    let _ = write!(out, "<th title=\"{}\">{id}</th>", escape(&cell.label));
                }
            }
        }
        out.push_str("</tr>\n");
        out
    }
}

/// The matrix page's style, after the crate's [`super::markup::PAGE_STYLE`].
const STYLE: &str = "td.s{text-align:center}\
.passed{background:#e6f4ea;color:#176f2c}.failed,.error,.unexpected-pass{background:#fce8e6;color:#b00020;font-weight:bold}\
.expected-failure{background:#fff4e0;color:#a05a00}.skipped{background:#eee;color:#666}\
.changed{background:#fff59d}td.change{outline:2px solid #f9a825;outline-offset:-2px}";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::record;
    use crate::report::{Implementation, RunInfo, Selection};
    use RecordStatus as Status;

    fn report(records: Vec<TestRecord>) -> Report {
        Report::new(
            Implementation {
                name: "reference".into(),
                ..Default::default()
            },
            RunInfo {
                selection: Selection {
                    profile: "core".into(),
                    ..Default::default()
                },
                ..Default::default()
            },
            "2026-12-04T00:00:00Z".into(),
            records,
        )
    }

    fn cell(id: &str, newer: Option<&str>, outcome: CellOutcome) -> Cell {
        Cell {
            id: id.into(),
            label: format!("label of {id}"),
            axis: id.split('-').next().unwrap_or(id).into(),
            host: "wasmcloud-host 0.24.0".into(),
            wadm: "wadm 0.19.0".into(),
            nats: "nats-server 2.10.26".into(),
            mixed_host: None,
            profile: "core".into(),
            newer: newer.map(Into::into),
            report_link: matches!(outcome, CellOutcome::Ran(_))
                .then(|| format!("cells/{id}/report.html")),
            outcome,
        }
    }

    fn ran(id: &str, newer: Option<&str>, records: Vec<TestRecord>) -> Cell {
        cell(id, newer, CellOutcome::Ran(Box::new(report(records))))
    }

    const SCRIPT: &str = "<script>alert(1)</script>";

    /// The reference and an older host: `a::fixed` fails on the older host only; `a::new` and
    /// `a::old` are selected in one cell each.
    fn matrix() -> VersionMatrix {
        VersionMatrix {
            title: "wasmCloud 1.x version matrix".into(),
            date: "2026-12-04".into(),
            cells: vec![
                ran(
                    "reference",
                    None,
                    vec![
                        record("a::same", Status::Passed, &["CFG-2"], None),
                        record("a::fixed", Status::Passed, &["CFG-10"], None),
                        record("a::new", Status::Passed, &["CFG-1"], None),
                    ],
                ),
                ran(
                    "host-0.24.0",
                    Some("reference"),
                    vec![
                        record("a::same", Status::Passed, &["CFG-2"], None),
                        record(
                            "a::fixed",
                            Status::Failed,
                            &["CFG-10"],
                            Some(&format!("{SCRIPT}\nstack")),
                        ),
                        record("a::old", Status::Skipped, &["CFG-1"], Some("no")),
                    ],
                ),
            ],
        }
    }

    fn not_run() -> Cell {
        cell(
            "wadm-0.18.0",
            Some("reference"),
            CellOutcome::NotRun("wadm 0.18.0 did not build | exit 101\nerror[E0433]".into()),
        )
    }

    #[test]
    fn changes_are_found_between_neighbours_only_for_tests_both_selected() {
        let mut m = matrix();
        assert_eq!(m.tests(), ["a::fixed", "a::new", "a::old", "a::same"]);
        assert_eq!(m.status(&m.cells[1], "a::fixed"), Some(Status::Failed));
        assert_eq!(m.status(&m.cells[1], "a::new"), None);
        let fixed = Change {
            test: "a::fixed".into(),
            older: "host-0.24.0".into(),
            newer: "reference".into(),
            older_status: Some(Status::Failed),
            newer_status: Some(Status::Passed),
            reason: Some(SCRIPT.into()),
        };
        assert_eq!(m.changes(), std::slice::from_ref(&fixed));

        // An older neighbour of the older host: changes come by older cell, then test; the
        // expectation's reason wins over the message.
        let known = record("a::same", Status::Failed, &[], Some("boom"))
            .expecting_failure(&"x".repeat(300));
        m.cells.push(ran(
            "host-0.23.0",
            Some("host-0.24.0"),
            vec![known, record("a::fixed", Status::Failed, &[], None)],
        ));
        let changes = m.changes();
        assert_eq!(changes.len(), 2, "{changes:?}");
        assert_eq!(changes[0], fixed);
        assert_eq!(
            (changes[1].test.as_str(), changes[1].older.as_str()),
            ("a::same", "host-0.23.0")
        );
        assert_eq!(changes[1].older_status, Some(Status::ExpectedFailure));
        let reason = changes[1].reason.as_deref().unwrap();
        assert_eq!(reason.chars().count(), 200, "{reason}");
        assert!(reason.starts_with("xxx"));
    }

    #[test]
    fn a_newer_naming_no_cell_is_ignored() {
        let mut m = matrix();
        m.cells[1].newer = Some("nope".into());
        assert!(m.changes().is_empty());
        assert!(m
            .markdown()
            .contains("## Changes between neighbouring versions\n\nnone\n"));
        assert!(
            !m.html().contains("class=\"changed\"><td>"),
            "no row highlighted"
        );
    }

    #[test]
    fn item_status_follows_the_covering_tests() {
        let r = |tests| ran("c", None, tests);
        let m = VersionMatrix {
            title: String::new(),
            date: String::new(),
            cells: vec![r(vec![
                record("t::pass", Status::Passed, &["P-1", "F-1", "X-1"], None),
                record("t::skip", Status::Skipped, &["P-1", "N-1"], Some("no")),
                record("t::fail", Status::Failed, &["F-1"], None),
                record("t::error", Status::Error, &["F-2"], None),
                record("t::xpass", Status::Passed, &["F-3"], None).expecting_failure("bug"),
                record("t::xfail", Status::Failed, &["X-1"], None).expecting_failure("bug"),
            ])],
        };
        let c = &m.cells[0];
        assert_eq!(m.item_status(c, "P-1"), ItemStatus::Passed, "pass + skip");
        for failed in ["F-1", "F-2", "F-3"] {
            assert_eq!(m.item_status(c, failed), ItemStatus::Failed, "{failed}");
        }
        assert_eq!(
            m.item_status(c, "X-1"),
            ItemStatus::Expected,
            "pass + xfail"
        );
        assert_eq!(m.item_status(c, "N-1"), ItemStatus::NotRun, "only skipped");
        assert_eq!(m.item_status(c, "Z-1"), ItemStatus::NotRun, "none selected");
        assert_eq!(
            m.item_status(&not_run(), "P-1"),
            ItemStatus::NotRun,
            "the cell did not run"
        );
        assert_eq!(m.items(), ["F-1", "F-2", "F-3", "N-1", "P-1", "X-1"]);
        assert_eq!(
            matrix().items(),
            ["CFG-1", "CFG-2", "CFG-10"],
            "natural order"
        );
    }

    #[test]
    fn markdown_bolds_only_the_changed_test_and_links_the_reports() {
        let md = matrix().markdown();
        assert!(
            md.starts_with("# wasmCloud 1.x version matrix\n\n2026-12-04\n"),
            "{md}"
        );
        assert!(
            md.contains("[report](cells/host-0.24.0/report.html)"),
            "{md}"
        );
        assert!(
            md.contains("| host-0.24.0 | label of host-0.24.0: host wasmcloud-host 0.24.0 / wadm wadm 0.19.0 / NATS nats-server 2.10.26 | core | 1 passed, 1 failed, 1 skipped, 0 error (of 3) |"),
            "{md}"
        );
        assert!(
            md.contains(&format!(
                "- host-0.24.0 → reference\n  - `a::fixed`: failed → passed: {SCRIPT}\n"
            )),
            "{md}"
        );
        assert!(
            md.contains("| test | reference | host-0.24.0 |\n|---|---|---|\n"),
            "{md}"
        );
        assert!(md.contains("| **a::fixed** | ✓ | ✗ |"), "{md}");
        assert!(md.contains("| a::same | ✓ | ✓ |"), "{md}");
        assert!(md.contains("| a::new | ✓ |  |"), "{md}");
        assert!(md.contains("| a::old |  | – |"), "{md}");
        assert_eq!(md.matches("| **").count(), 1, "only the changed test: {md}");
        assert!(
            md.contains("| CFG-1 | ✓ | – |\n| CFG-2 | ✓ | ✓ |\n| CFG-10 | ✓ | ✗ |"),
            "{md}"
        );
    }

    #[test]
    fn html_escapes_everything_and_marks_the_changed_row() {
        let mut m = matrix();
        m.cells[0].label = "<b>ref</b>".into();
        let html = m.html();
        assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
        assert!(!html.contains("<script") && !html.contains("<b>"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert_eq!(html.matches("class=\"changed\"><td>").count(), 1, "{html}");
        assert!(
            html.contains(
                "<tr id=\"test-a::fixed\" class=\"changed\"><td><code>a::fixed</code></td>"
            ),
            "{html}"
        );
        let title = "title=\"failed in host-0.24.0, passed in reference: &lt;script&gt;alert(1)&lt;/script&gt;\"";
        assert!(
            html.contains(&format!("<td class=\"s passed change\" {title}>✓</td><td class=\"s failed change\" {title}>✗</td>")),
            "{html}"
        );
        assert!(
            html.contains("<th title=\"&lt;b&gt;ref&lt;/b&gt;\"><a href=\"cells/reference/report.html\">reference</a></th>"),
            "{html}"
        );
        assert!(
            html.contains("<td class=\"s passed\" title=\"passed\">✓</td>"),
            "{html}"
        );
    }

    #[test]
    fn a_cell_that_did_not_run_shows_why_and_keeps_the_tables_whole() {
        let mut m = matrix();
        m.cells.push(not_run());
        assert_eq!(
            m.changes().len(),
            1,
            "the cell that did not run is not compared"
        );
        let md = m.markdown();
        assert!(
            md.contains("| wadm-0.18.0 | label of wadm-0.18.0: host wasmcloud-host 0.24.0 / wadm wadm 0.19.0 / NATS nats-server 2.10.26 | core | not run: wadm 0.18.0 did not build \\| exit 101 |  |"),
            "{md}"
        );
        for row in md.lines().filter(|l| {
            l.starts_with("| a::") || l.starts_with("| **a::") || l.starts_with("| CFG-")
        }) {
            assert_eq!(row.matches(" |").count(), 4, "one column per cell: {row}");
        }
        assert!(md.contains("| a::same | ✓ | ✓ |  |"), "{md}");
        assert!(md.contains("| CFG-2 | ✓ | ✓ | – |"), "{md}");
        let html = m.html();
        assert!(
            html.contains("not run: wadm 0.18.0 did not build | exit 101<details>"),
            "{html}"
        );
        assert!(html.contains("error[E0433]"), "the whole reason: {html}");
        assert!(
            html.contains("<th title=\"label of wadm-0.18.0\">wadm-0.18.0</th>"),
            "{html}"
        );
    }

    #[test]
    fn an_empty_matrix_renders() {
        let m = VersionMatrix {
            title: "empty".into(),
            date: "2026-12-04".into(),
            cells: vec![],
        };
        assert!(m.tests().is_empty() && m.items().is_empty() && m.changes().is_empty());
        assert!(m.markdown().contains("No tests ran."));
        assert!(m.html().trim_end().ends_with("</html>"));
    }
}
