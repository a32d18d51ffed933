//! The conformance badge: an SVG rendered from a report (implementation, profile, passed/total,
//! coloured by verdict) that names the report it belongs to, so `verify` can tell a badge that
//! does not match its report.
use super::markup::escape;
use super::report::Report;

/// The marker before the report's seal inside the SVG (in its `<metadata>`).
const SEAL_MARK: &str = "wcc-report-content-sha256:";

const PASS_COLOUR: &str = "#2e8540";
const FAIL_COLOUR: &str = "#c0392b";
const LABEL_COLOUR: &str = "#555";

/// The badge of `report`. The same report always gives the same bytes: `verify` renders it again
/// and compares.
pub fn render(report: &Report) -> String {
    let label = "wasmCloud conformance";
    let passed = report.summary.passed + report.summary.expected_failure;
    let value = format!(
        "{} · {} · {}/{} {}",
        report.implementation.name,
        report.selection.profile,
        passed,
        report.summary.total,
        if report.ok() { "pass" } else { "fail" }
    );
    let colour = if report.ok() {
        PASS_COLOUR
    } else {
        FAIL_COLOUR
    };
    let (lw, vw) = (text_width(label), text_width(&value));
    let width = lw + vw;
    let title = format!(
        "{label}: {} {} ({}), profile {}: {}",
        report.implementation.name,
        report
            .implementation
            .host
            .version
            .as_deref()
            .unwrap_or("unknown version"),
        report.date,
        report.selection.profile,
        report.summary.line()
    );
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label="{aria}">
<title>{title}</title>
<metadata>{SEAL_MARK}{seal}</metadata>
<rect width="{lw}" height="20" fill="{LABEL_COLOUR}"/>
<rect x="{lw}" width="{vw}" height="20" fill="{colour}"/>
<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">
<text x="{lx}" y="14">{label}</text>
<text x="{vx}" y="14">{value}</text>
</g>
</svg>
"##,
        aria = escape(&format!("{label}: {value}")),
        title = escape(&title),
        seal = report.content_sha256,
        lx = lw / 2,
        vx = lw + vw / 2,
        label = escape(label),
        value = escape(&value),
    )
}

/// The report seal (`content_sha256`) a badge names, if it names one.
pub fn seal_of(svg: &str) -> Option<&str> {
    let start = svg.find(SEAL_MARK)? + SEAL_MARK.len();
    let rest = &svg[start..];
    let end = rest.find('<').unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// Checks `svg` is the badge of `report`: it names the report's seal and says what the report
/// says. The error says which.
pub fn check(svg: &str, report: &Report) -> Result<(), String> {
    match seal_of(svg) {
        None => return Err("the badge names no report (no content_sha256 in it)".into()),
        Some(seal) if seal != report.content_sha256 => {
            return Err(format!(
                "the badge belongs to another report (content_sha256 {seal}, the report's is {})",
                report.content_sha256
            ))
        }
        Some(_) => {}
    }
    if svg != render(report) {
        return Err(
            "the badge names this report but does not show what it says (edited after it was rendered)"
                .into(),
        );
    }
    Ok(())
}

/// Approximate rendered width of `s` at 11 px Verdana, plus padding: wide enough that the text
/// never overflows its box.
fn text_width(s: &str) -> usize {
    s.chars().count() * 7 + 12
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::{record, sample};
    use crate::report::{Implementation, RunInfo, Selection};
    use crate::RecordStatus as Status;

    fn with(statuses: &[Status]) -> Report {
        let records = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| record(&format!("host::t{i}"), *s, &[], None))
            .collect();
        let run = RunInfo {
            selection: Selection {
                profile: "core".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        let implementation = Implementation {
            name: "acme".into(),
            ..Default::default()
        };
        Report::new(implementation, run, "2026-12-02T00:00:00Z".into(), records)
    }

    #[test]
    fn a_passing_report_gives_a_green_badge_with_its_counts() {
        let r = with(&[Status::Passed, Status::Skipped]);
        assert!(r.ok());
        let svg = render(&r);
        assert!(
            svg.contains(PASS_COLOUR) && !svg.contains(FAIL_COLOUR),
            "{svg}"
        );
        assert!(svg.contains("acme · core · 1/2 pass"), "{svg}");
        assert_eq!(seal_of(&svg), Some(r.content_sha256.as_str()));
        assert_eq!(check(&svg, &r), Ok(()));
    }

    #[test]
    fn a_failing_report_gives_a_red_badge() {
        let r = sample();
        assert!(!r.ok());
        let svg = render(&r);
        assert!(
            svg.contains(FAIL_COLOUR) && !svg.contains(PASS_COLOUR),
            "{svg}"
        );
        assert!(svg.contains(&format!("/{} fail", r.summary.total)), "{svg}");
    }

    #[test]
    fn a_badge_of_another_report_or_an_edited_one_is_refused() {
        let a = with(&[Status::Passed]);
        let b = with(&[Status::Failed]);
        let err = check(&render(&a), &b).unwrap_err();
        assert!(err.contains("another report"), "{err}");
        let edited = render(&b).replace("0/1 fail", "1/1 pass");
        assert_ne!(edited, render(&b));
        let err = check(&edited, &b).unwrap_err();
        assert!(err.contains("edited"), "{err}");
        let err = check("<svg/>", &b).unwrap_err();
        assert!(err.contains("names no report"), "{err}");
    }

    #[test]
    fn text_is_escaped() {
        let mut r = with(&[Status::Passed]);
        r.implementation.name = "a<b&c".into();
        r.seal();
        let svg = render(&r);
        assert!(
            svg.contains("a&lt;b&amp;c") && !svg.contains("a<b"),
            "{svg}"
        );
    }
}
