//! `report.html`: one standalone page a person reads (no scripts, no external resources).
use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::report::{Binary, RecordStatus, Report};

pub use super::markup::escape;

/// This page's style, after the crate's [`super::markup::PAGE_STYLE`].
const STYLE: &str = ".passed{color:#176f2c}.failed,.error,.unexpected-pass{color:#b00020;font-weight:bold}.skipped{color:#666}.expected-failure{color:#a05a00}\
.verdict{font-size:120%;padding:.5em;border-radius:4px;display:inline-block}.ok{background:#e6f4ea}.notok{background:#fce8e6}\
.bar{display:flex;width:24em;height:1em}.bar span{display:block;height:100%}\
.p-setup{background:#9aa0a6}.p-lattice-up{background:#4285f4}.p-body{background:#34a853}.p-teardown{background:#fbbc04}";

/// "Time to consistency": each kind of convergence across the run, with its percentiles.
fn consistency_section(out: &mut String, r: &Report) {
    let spreads = r.convergence_spreads();
    if spreads.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<h2>Time to consistency</h2>\n<p>How long the lattice took to show what tests awaited (nearest-rank percentiles; each test lists its own under its message).</p>\n<table>\n<tr><th>kind</th><th>count</th><th>p50</th><th>p95</th><th>max</th></tr>"
    );
    for s in spreads {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}&nbsp;ms</td><td>{}&nbsp;ms</td><td>{}&nbsp;ms</td></tr>",
            escape(&s.kind),
            s.count,
            s.p50_ms,
            s.p95_ms,
            s.max_ms
        );
    }
    let _ = writeln!(out, "</table>");
}

/// How many of the slowest tests "Where the time went" lists.
const SLOWEST: usize = 10;

/// "Where the time went": every phase summed over the run, then the slowest tests with their
/// phases (tests whose runner measured them).
fn time_section(out: &mut String, r: &Report) {
    let mut timed: Vec<(&str, f64, super::report::Phases)> = r
        .tests
        .iter()
        .filter_map(|t| t.phases.map(|p| (t.name.as_str(), t.duration_seconds, p)))
        .collect();
    if timed.is_empty() {
        return;
    }
    let mut sums = [0.0f64; 4];
    for (_, _, p) in &timed {
        for (sum, (_, s)) in sums.iter_mut().zip(p.named()) {
            *sum += s;
        }
    }
    let total: f64 = sums.iter().sum();
    let _ = writeln!(
        out,
        "<h2>Where the time went</h2>\n<p>{:.1}&nbsp;s of test time over {} tests: {}.</p>",
        total,
        timed.len(),
        super::report::Phases::default()
            .named()
            .iter()
            .zip(sums)
            .map(|((name, _), s)| format!(
                "<span class=\"p-{name}\">&nbsp;&nbsp;</span> {name} {s:.1}&nbsp;s ({:.0}%)",
                100.0 * s / total.max(f64::EPSILON)
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    timed.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    let _ = writeln!(
        out,
        "<table>\n<tr><th>slowest tests</th><th>time</th><th>setup</th><th>lattice-up</th><th>body</th><th>teardown</th><th></th></tr>"
    );
    let longest = timed.first().map_or(0.0, |t| t.1).max(f64::EPSILON);
    for (name, duration, p) in timed.iter().take(SLOWEST) {
        let mut bar = String::new();
        for (phase, s) in p.named() {
            let _ = write!(
                bar,
                "<span class=\"p-{phase}\" style=\"width:{:.1}%\" title=\"{phase} {s:.1} s\"></span>",
                100.0 * s / longest
            );
        }
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#{name}\"><code>{name}</code></a></td><td>{duration:.1}&nbsp;s</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td><div class=\"bar\">{bar}</div></td></tr>",
            p.setup,
            p.lattice_up,
            p.body,
            p.teardown,
            name = escape(name),
        );
    }
    let _ = writeln!(out, "</table>");
}

fn binary_row(out: &mut String, what: &str, b: &Binary) {
    let _ = writeln!(
        out,
        "<tr><th>{}</th><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
        escape(what),
        escape(b.version.as_deref().unwrap_or("?")),
        escape(&b.path),
        escape(b.sha256.as_deref().unwrap_or("?"))
    );
}

/// The page for `report`.
pub fn render(report: &Report) -> String {
    let r = report;
    let i = &r.implementation;
    let mut out = super::markup::page_start(&format!("wasmCloud conformance: {}", i.name), STYLE);
    let (class, word) = if r.ok() {
        ("ok", "conformant for the selected tests")
    } else {
        ("notok", "not conformant for the selected tests")
    };
    let _ = writeln!(
        out,
        "<p class=\"verdict {class}\">{word}: {}</p>",
        escape(&r.summary.line())
    );

    let mismatches = r.mismatches();
    if !mismatches.is_empty() {
        let _ = writeln!(
            out,
            "<div class=\"verdict notok\"><p>⚠ {} feature mismatch(es) between what the target declares and what was detected (reported, not fatal):</p><ul>",
            mismatches.len()
        );
        for f in &mismatches {
            let _ = writeln!(
                out,
                "<li><code>{}</code>: declared {}, detected {}: {}</li>",
                escape(&f.feature),
                super::report::supported_word(Some(f.declared)),
                super::report::supported_word(f.detected),
                escape(&f.evidence)
            );
        }
        let _ = writeln!(out, "</ul></div>");
    }
    if let Some(t) = &r.target {
        let _ = writeln!(
            out,
            "<p>target: {}{}</p>",
            escape(&t.kind),
            match (&t.nats_url, &t.lattice) {
                (Some(u), Some(l)) => escape(&format!(" (lattice {l} at {u})")),
                _ => String::new(),
            }
        );
    }
    if !r.features.is_empty() {
        let _ = writeln!(
            out,
            "<h2>Features: declared and detected</h2>\n<table>\n<tr><th>feature</th><th>declared</th><th>detected</th><th>mismatch</th><th>evidence</th></tr>"
        );
        for f in &r.features {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
                escape(&f.feature),
                super::report::supported_word(Some(f.declared)),
                super::report::supported_word(f.detected),
                if f.mismatch { "failed" } else { "passed" },
                if f.mismatch { "MISMATCH" } else { "" },
                escape(&f.evidence)
            );
        }
        let _ = writeln!(out, "</table>");
    }
    let _ = writeln!(
        out,
        "<h2>Summary</h2>\n<table>\n<tr><th>status</th><th>tests</th></tr>"
    );
    for status in RecordStatus::ALL {
        let _ = writeln!(
            out,
            "<tr><td class=\"{0}\">{0}</td><td>{1}</td></tr>",
            status.id(),
            r.summary.count(status)
        );
    }
    let _ = writeln!(
        out,
        "<tr><th>total</th><th>{}</th></tr>\n</table>",
        r.summary.total
    );

    let _ = writeln!(
        out,
        "<h2>Implementation</h2>\n<table>\n<tr><th></th><th>version</th><th>path</th><th>sha256</th></tr>"
    );
    binary_row(&mut out, "host", &i.host);
    if let Some(m) = &i.mixed_host {
        binary_row(&mut out, "hosts after the first", m);
    }
    binary_row(&mut out, "wadm", &i.wadm);
    binary_row(&mut out, "nats-server", &i.nats_server);
    let _ = writeln!(out, "</table>\n<table>");
    let sel = &r.selection;
    let rows = [
        ("backend", r.backend.clone()),
        ("profile", sel.profile.clone()),
        (
            "features",
            if sel.features.is_empty() {
                "any".into()
            } else {
                sel.features.join(", ")
            },
        ),
        (
            "filters",
            if sel.filters.is_empty() {
                "none".into()
            } else {
                sel.filters.join(", ")
            },
        ),
        (
            "expectations",
            sel.expectations.clone().unwrap_or_else(|| "none".into()),
        ),
        ("date", r.date.clone()),
        ("run", format!("{} → {}", r.started_at, r.finished_at)),
        ("seed", r.seed.to_string()),
        ("suite version", r.suite_version.clone()),
        (
            "catalogue",
            r.catalogue
                .as_ref()
                .map_or_else(|| "not recorded".into(), ToString::to_string),
        ),
        ("content_sha256", r.content_sha256.clone()),
    ];
    for (k, v) in rows {
        let _ = writeln!(
            out,
            "<tr><th>{}</th><td><code>{}</code></td></tr>",
            escape(k),
            escape(&v)
        );
    }
    let _ = writeln!(out, "</table>");

    let _ = writeln!(
        out,
        "<h2>Tests</h2>\n<table>\n<tr><th>test</th><th>status</th><th>covers</th><th>time</th><th>message</th></tr>"
    );
    for t in &r.tests {
        let mut message = String::new();
        if let Some(p) = &t.property {
            let _ = write!(message, "<p>property: {}</p>", escape(&p.line()));
        }
        if let Some(group) = &t.shared_lattice {
            let _ = write!(
                message,
                "<p>shared a lattice: ran one after another with the other tests of share group <code>{}</code></p>",
                escape(group)
            );
        }
        for o in &t.observations {
            let _ = write!(message, "<p>observed: {}</p>", escape(o));
        }
        if !t.convergences.is_empty() {
            let _ = write!(
                message,
                "<details><summary>converged {} time(s), slowest {}&nbsp;ms</summary><ul>",
                t.convergences.len(),
                t.convergences.iter().map(|c| c.ms).max().unwrap_or(0)
            );
            for c in &t.convergences {
                let _ = write!(
                    message,
                    "<li>{} {}&nbsp;ms ({} checks): {}</li>",
                    escape(&c.kind),
                    c.ms,
                    c.attempts,
                    escape(&c.what)
                );
            }
            message.push_str("</ul></details>");
        }
        if let Some(reason) = &t.expected_failure_reason {
            let _ = write!(message, "<p>known failure: {}</p>", escape(reason));
        }
        if let Some(m) = &t.message {
            let _ = write!(message, "<pre>{}</pre>", escape(m));
        }
        let _ = writeln!(
            out,
            "<tr id=\"{}\"><td><code>{}</code><br><small>{}</small></td><td class=\"{}\">{}</td><td>{}</td><td>{:.1}&nbsp;s</td><td>{}</td></tr>",
            escape(&t.name),
            escape(&t.name),
            escape(&t.description),
            t.status.id(),
            t.status.id(),
            escape(&t.covers.join(", ")),
            t.duration_seconds,
            message
        );
    }
    let _ = writeln!(out, "</table>");

    time_section(&mut out, r);
    consistency_section(&mut out, r);

    let matrix = super::matrix::Matrix::from_records(&r.tests);
    if !matrix.is_empty() {
        let _ = writeln!(
            out,
            "<h2>Vendorless: language × behaviour</h2>\n{}",
            matrix.html()
        );
    }

    // item → every test covering it, with its status (the report's `coverage` keeps the passing ones).
    let mut items: BTreeMap<&str, Vec<(&str, RecordStatus)>> = BTreeMap::new();
    for t in &r.tests {
        for item in &t.covers {
            items
                .entry(item.as_str())
                .or_default()
                .push((t.name.as_str(), t.status));
        }
    }
    let covered = items
        .values()
        .filter(|ts| ts.iter().any(|(_, s)| *s == RecordStatus::Passed))
        .count();
    let _ = writeln!(
        out,
        "<h2>Coverage</h2>\n<p>{covered} of {} catalogue items checked by these tests are covered by a passing test.</p>\n<table>\n<tr><th>item</th><th>covered</th><th>tests</th></tr>",
        items.len()
    );
    for (item, tests) in &items {
        let passing = tests.iter().any(|(_, s)| *s == RecordStatus::Passed);
        let list: Vec<String> = tests
            .iter()
            .map(|(name, s)| {
                format!(
                    "<a href=\"#{0}\"><code>{0}</code></a> <span class=\"{1}\">{1}</span>",
                    escape(name),
                    s.id()
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
            escape(item),
            if passing { "passed" } else { "failed" },
            if passing { "yes" } else { "no" },
            list.join("<br>")
        );
    }
    let _ = writeln!(out, "</table>\n</body>\n</html>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::{record, sample};
    use crate::RecordStatus as Status;

    #[test]
    fn escaping() {
        assert_eq!(
            escape("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn the_page_has_summary_tests_coverage_and_implementation() {
        let mut r = sample();
        r.implementation.host.sha256 = Some("ab".repeat(32));
        r.implementation.host.version = Some("wasmcloud 1.9.2".into());
        r.tests[1] = r.tests[1].clone().expecting_failure("bug <42>");
        r.tests.push(record(
            "x::script",
            Status::Failed,
            &["HL-05"],
            Some("<script>alert(1)</script>"),
        ));
        let html = render(&r);
        assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
        assert!(!html.contains("<script>"), "messages are escaped");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("known failure: bug &lt;42&gt;"));
        assert!(html.contains(&"ab".repeat(32)) && html.contains("wasmcloud 1.9.2"));
        assert!(html.contains("<td class=\"expected-failure\">expected-failure</td>"));
        assert!(
            html.contains("<tr><td>HL-05</td><td class=\"passed\">yes</td>"),
            "HL-05 has a passing test"
        );
        assert!(html.contains("<tr><td>NET-03</td><td class=\"failed\">no</td>"));
        assert!(html.contains("not conformant"));
        assert!(html.contains(&r.content_sha256));
        assert!(
            !html.contains("Where the time went"),
            "no phases were measured, so there is nothing to break down"
        );
    }

    #[test]
    fn a_property_test_shows_its_cases_and_seed_on_every_page() {
        let mut r = sample();
        r.tests[0].property = Some(crate::PropertyDraw {
            cases: 32,
            seed: "18446744073709551615".into(),
        });
        r.seal();
        let line = "32 cases, seed 18446744073709551615";
        assert!(render(&r).contains(&format!("<p>property: {line}</p>")));
        assert!(r.markdown().contains(&format!("property: {line}.")));
        let junit = r.junit().unwrap();
        assert!(
            junit.contains("wcc.property.cases") && junit.contains("18446744073709551615"),
            "{junit}"
        );
    }

    #[test]
    fn observations_show_on_every_page() {
        let mut r = sample();
        let seen = "javascript glue drops a leading U+FEFF <evidence> | here";
        r.tests[0].observations = vec![seen.into()];
        r.seal();
        assert!(render(&r).contains(&format!("<p>observed: {}</p>", escape(seen))));
        assert!(r
            .markdown()
            .contains("observed: javascript glue drops a leading U+FEFF <evidence> \\| here."));
        let junit = r.junit().unwrap();
        assert!(junit.contains("wcc.observation"), "{junit}");
        let back: crate::Report = serde_json::from_value(r.to_value()).unwrap();
        assert_eq!(back.tests[0].observations, [seen]);
    }

    #[test]
    fn a_shared_lattice_shows_and_round_trips() {
        let mut r = sample();
        r.tests[0].shared_lattice = Some("probe-readers".into());
        r.seal();
        assert!(render(&r).contains("share group <code>probe-readers</code>"));
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../schema/report-v1.schema.json")).unwrap();
        let violations = crate::schema::validate(&schema, &r.to_value());
        assert!(
            violations.is_empty(),
            "the schema knows shared_lattice: {violations:?}"
        );
        let back: crate::Report = serde_json::from_value(r.to_value()).unwrap();
        assert_eq!(
            back.tests[0].shared_lattice.as_deref(),
            Some("probe-readers")
        );
        assert_eq!(back.tests[1].shared_lattice, None);
    }

    #[test]
    fn convergences_show_per_test_and_as_a_table() {
        let mut r = sample();
        r.tests[0].convergences = vec![crate::Convergence {
            kind: "scale".into(),
            what: "event component_scaled (<probe> at 1)".into(),
            ms: 412,
            attempts: 21,
        }];
        r.seal();
        let html = render(&r);
        assert!(html.contains("<h2>Time to consistency</h2>"), "{html}");
        assert!(
            html.contains("<td>scale</td><td>1</td><td>412&nbsp;ms</td>"),
            "{html}"
        );
        assert!(
            html.contains(
                "scale 412&nbsp;ms (21 checks): event component_scaled (&lt;probe&gt; at 1)"
            ),
            "{html}"
        );
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../schema/report-v1.schema.json")).unwrap();
        let violations = crate::schema::validate(&schema, &r.to_value());
        assert!(violations.is_empty(), "{violations:?}");
        let back: crate::Report = serde_json::from_value(r.to_value()).unwrap();
        assert_eq!(back.tests[0].convergences, r.tests[0].convergences);
    }

    #[test]
    fn the_slowest_tests_show_where_their_time_went() {
        let mut r = sample();
        for (i, t) in r.tests.iter_mut().enumerate() {
            let body = 1.0 + i as f64;
            t.phases = Some(crate::Phases {
                setup: 0.1,
                lattice_up: 0.4,
                body,
                teardown: 0.5,
            });
            t.duration_seconds = 1.0 + body;
        }
        let slowest = r.tests.last().unwrap().name.clone();
        let html = render(&r);
        let section = &html[html.find("Where the time went").expect("a time section")..];
        let n = r.tests.len() as f64;
        let body_sum: f64 = (0..r.tests.len()).map(|i| 1.0 + i as f64).sum();
        assert!(
            section.contains(&format!("body {body_sum:.1}&nbsp;s")),
            "phase sums: {section}"
        );
        assert!(section.contains(&format!("lattice-up {:.1}&nbsp;s", 0.4 * n)));
        let first_row = &section[section.find("<tr><td>").unwrap()..];
        assert!(
            first_row.starts_with(&format!("<tr><td><a href=\"#{slowest}\">")),
            "the slowest test comes first: {first_row}"
        );
    }
}
