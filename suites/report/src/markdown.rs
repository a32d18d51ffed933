//! The report as Markdown: the summary a person reads (and a CI step summary shows).
use super::matrix::Matrix;
use super::report::{supported_word, Report};

impl Report {
    /// A Markdown summary a person reads.
    pub fn markdown(&self) -> String {
        let i = &self.implementation;
        let mut md = format!(
            "# wasmCloud conformance: {}\n\n| | |\n|---|---|\n| host | {} |\n| wadm | {} |\n| nats-server | {} |\n| backend | {} |\n| profile | {} |\n| run | {} → {} (seed {}) |\n| content_sha256 | `{}` |\n\n**{}**\n\n",
            i.name,
            i.host.version.as_deref().unwrap_or("?"),
            i.wadm.version.as_deref().unwrap_or("?"),
            i.nats_server.version.as_deref().unwrap_or("?"),
            self.backend,
            self.selection.profile,
            self.started_at,
            self.finished_at,
            self.seed,
            self.content_sha256,
            self.summary.line(),
        );
        if let Some(m) = &i.mixed_host {
            md.insert_str(
                md.find("| wadm |").unwrap_or(md.len()),
                &format!(
                    "| hosts after the first | {} |\n",
                    m.version.as_deref().unwrap_or("?")
                ),
            );
        }
        if let Some(c) = &self.catalogue {
            md.insert_str(
                md.find("| content_sha256 |").unwrap_or(md.len()),
                &format!("| catalogue | {} (sha256 `{}`) |\n", c.version, c.sha256),
            );
        }
        if let Some(t) = &self.target {
            md.insert_str(
                md.find("| backend |").unwrap_or(md.len()),
                &format!(
                    "| target | {}{} |\n",
                    t.kind,
                    match (&t.nats_url, &t.lattice) {
                        (Some(u), Some(l)) => format!(" (lattice {l} at {u})"),
                        _ => String::new(),
                    }
                ),
            );
        }
        let mismatches = self.mismatches();
        if !mismatches.is_empty() {
            md.push_str(&format!(
                "> **⚠ {} feature mismatch(es) between what the target declares and what was detected** (reported, not fatal):\n",
                mismatches.len()
            ));
            for f in &mismatches {
                md.push_str(&format!(
                    "> - `{}`: declared {}, detected {}: {}\n",
                    f.feature,
                    supported_word(Some(f.declared)),
                    supported_word(f.detected),
                    f.evidence.replace('\n', " ")
                ));
            }
            md.push('\n');
        }
        if !self.features.is_empty() {
            md.push_str("## Features: declared and detected\n\n| feature | declared | detected | mismatch | evidence |\n|---|---|---|---|---|\n");
            for f in &self.features {
                md.push_str(&format!(
                    "| `{}` | {} | {} | {} | {} |\n",
                    f.feature,
                    supported_word(Some(f.declared)),
                    supported_word(f.detected),
                    if f.mismatch { "**MISMATCH**" } else { "" },
                    f.evidence.replace('|', "\\|").replace('\n', " ")
                ));
            }
            md.push_str("\n## Tests\n\n");
        }
        md.push_str("| test | status | covers | time | note |\n|---|---|---|---|---|\n");
        for t in &self.tests {
            let first = t
                .message
                .as_deref()
                .and_then(|m| m.lines().next())
                .unwrap_or("");
            let note = match &t.expected_failure_reason {
                Some(reason) => format!("known failure: {reason}. {first}"),
                None => first.to_string(),
            };
            let note = match &t.property {
                Some(p) => format!("property: {}. {note}", p.line()),
                None => note,
            };
            let note = t
                .observations
                .iter()
                .fold(note, |note, o| format!("{note} observed: {o}."))
                .trim()
                .replace('|', "\\|");
            md.push_str(&format!(
                "| `{}` | {} | {} | {:.1} s | {} |\n",
                t.name,
                t.status.id(),
                t.covers.join(", "),
                t.duration_seconds,
                note
            ));
        }
        let matrix = Matrix::from_records(&self.tests);
        if !matrix.is_empty() {
            md.push_str("\n## Vendorless: language × behaviour\n\n");
            md.push_str(&matrix.markdown());
        }
        md.push_str(&self.convergence_markdown());
        md
    }

    /// The times to consistency across the run, one row per kind (empty without any).
    fn convergence_markdown(&self) -> String {
        let spreads = self.convergence_spreads();
        if spreads.is_empty() {
            return String::new();
        }
        let mut md = String::from(
            "\n## Time to consistency\n\nHow long the lattice took to show what tests awaited, across the run (nearest-rank percentiles).\n\n| kind | count | p50 | p95 | max |\n|---|---|---|---|---|\n",
        );
        for s in spreads {
            md.push_str(&format!(
                "| {} | {} | {} ms | {} ms | {} ms |\n",
                s.kind, s.count, s.p50_ms, s.p95_ms, s.max_ms
            ));
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use crate::report::testing::{record, sample};
    use crate::{Convergence, RecordStatus};

    fn converged(kind: &str, ms: u64) -> Convergence {
        Convergence {
            kind: kind.into(),
            what: format!("{kind} in {ms} ms"),
            ms,
            attempts: 1,
        }
    }

    #[test]
    fn time_to_consistency_by_kind_with_nearest_rank_percentiles() {
        let mut r = sample();
        let mut a = record("a::one", RecordStatus::Passed, &[], None);
        a.convergences = (1..=20).map(|i| converged("scale", i * 10)).collect();
        let mut b = record("a::two", RecordStatus::Passed, &[], None);
        b.convergences = vec![converged("deploy", 900)];
        r.tests = vec![a, b];
        let spreads = r.convergence_spreads();
        assert_eq!(spreads.len(), 2);
        let deploy = &spreads[0];
        assert_eq!(
            (
                deploy.kind.as_str(),
                deploy.count,
                deploy.p50_ms,
                deploy.p95_ms
            ),
            ("deploy", 1, 900, 900)
        );
        // 20 values 10..200: rank ceil(0.5*20)=10 -> 100; ceil(0.95*20)=19 -> 190.
        let scale = &spreads[1];
        assert_eq!(
            (scale.count, scale.p50_ms, scale.p95_ms, scale.max_ms),
            (20, 100, 190, 200)
        );
        let md = r.markdown();
        assert!(md.contains("## Time to consistency"), "{md}");
        assert!(
            md.contains("| scale | 20 | 100 ms | 190 ms | 200 ms |"),
            "{md}"
        );
    }

    #[test]
    fn no_convergences_no_section() {
        let r = sample();
        assert!(r.convergence_spreads().is_empty());
        assert!(!r.markdown().contains("Time to consistency"));
    }
}
