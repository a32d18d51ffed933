//! What a run measured: load runs, timed samples, and comparisons of each scenario with its
//! anchor (the ratios the report and the baseline are about).
use crate::generator::LoadReport;
use serde::{Deserialize, Serialize};

/// One load run, labelled.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoadRun {
    /// `<subject>/<closed|open>`, e.g. `http_builtin/open`.
    pub label: String,
    /// Attempts made (a rejected run is retried once).
    pub attempts: u32,
    /// The generator's report.
    pub report: LoadReport,
}

/// Repeated timings of one thing (cold start, host start, ...), milliseconds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Timing {
    /// What was timed.
    pub label: String,
    /// Every sample.
    pub samples_ms: Vec<f64>,
    /// Their median.
    pub median_ms: f64,
}

impl Timing {
    /// Samples in milliseconds.
    pub fn new(label: impl Into<String>, samples: &[std::time::Duration]) -> Self {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        let samples_ms = ms.clone();
        ms.sort_by(f64::total_cmp);
        let median_ms = if ms.is_empty() {
            f64::NAN
        } else {
            ms[ms.len() / 2]
        };
        Self {
            label: label.into(),
            samples_ms,
            median_ms,
        }
    }
}

/// A scenario's metric against its anchor's.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Comparison {
    /// The scenario.
    pub scenario: String,
    /// Its anchor.
    pub anchor: String,
    /// `throughput_rps`, `p50_us`, `p99_us` or `time_ms`.
    pub metric: String,
    /// The scenario's value.
    pub value: f64,
    /// The anchor's value.
    pub anchor_value: f64,
    /// value ÷ anchor_value.
    pub ratio: f64,
    /// Whether a larger ratio is better (throughput) or worse (latency, time).
    pub higher_is_better: bool,
}

impl Comparison {
    /// `scenario`'s `metric` over `anchor`'s.
    pub fn new(
        scenario: &str,
        anchor: &str,
        metric: &str,
        value: f64,
        anchor_value: f64,
        higher_is_better: bool,
    ) -> Self {
        Self {
            scenario: scenario.into(),
            anchor: anchor.into(),
            metric: metric.into(),
            value,
            anchor_value,
            ratio: value / anchor_value,
            higher_is_better,
        }
    }

    /// `scenario/metric`, the baseline's key.
    pub fn key(&self) -> String {
        format!("{}/{}", self.scenario, self.metric)
    }
}

/// A scenario the user deselected (`WCC_LOAD_DESELECT`), and why it did not run. A scenario that
/// is selected but cannot run is a problem (it fails the run), never one of these.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NotSelected {
    /// The scenario.
    pub scenario: String,
    /// Why.
    pub reason: String,
}

/// The generator's ceiling check: rounds of wrk, then the generator, on one target.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ceiling {
    /// wrk's throughput in each round (requests/s).
    pub wrk_rps: Vec<f64>,
    /// The generator's closed-loop throughput in each round (requests/s).
    pub generator_rps: Vec<f64>,
    /// The median over the rounds of generator ÷ wrk.
    pub ratio: f64,
}

/// Everything measured in one run.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Record {
    /// The generator against wrk (absent when the run stopped before it).
    #[serde(default)]
    pub ceiling: Option<Ceiling>,
    /// Load runs in order.
    pub runs: Vec<LoadRun>,
    /// Timed scenarios and anchors.
    pub timings: Vec<Timing>,
    /// Ratios to anchors.
    pub comparisons: Vec<Comparison>,
    /// Scenarios the user deselected, not run (`skipped` in load.json schema 1).
    #[serde(default, alias = "skipped")]
    pub not_selected: Vec<NotSelected>,
    /// Problems that fail the run (errors, unsent slots, a scenario that could not run).
    pub problems: Vec<String>,
    /// Judgements on the measurement (the generator's ceiling, a run rejected because the
    /// generator itself was late): they fail a strict run
    /// (`WCC_LOAD_GATE=strict`, the default) and are only reported by an advisory one (CI's
    /// short run).
    #[serde(default)]
    pub flags: Vec<String>,
}

impl Record {
    /// Adds a comparison and prints it.
    pub fn compare(&mut self, c: Comparison) {
        eprintln!(
            "[load] {:<22} {:<9} {:>12.1} vs {:<18} {:>12.1}  ratio {:.3}",
            c.scenario, c.metric, c.value, c.anchor, c.anchor_value, c.ratio
        );
        self.comparisons.push(c);
    }

    /// Adds a timing and prints it.
    pub fn timing(&mut self, t: Timing) -> f64 {
        eprintln!(
            "[load] {:<30} median {:>9.1} ms of {:?}",
            t.label, t.median_ms, t.samples_ms
        );
        let m = t.median_ms;
        self.timings.push(t);
        m
    }

    /// Records a scenario the user deselected.
    pub fn not_selected(&mut self, scenario: &str, reason: impl Into<String>) {
        let reason = reason.into();
        eprintln!("[load] NOT SELECTED {scenario}: {reason}");
        self.not_selected.push(NotSelected {
            scenario: scenario.into(),
            reason,
        });
    }

    /// Records a judgement against a target (fails a strict run).
    pub fn flag(&mut self, f: impl Into<String>) {
        let f = f.into();
        eprintln!("[load] FLAGGED {f}");
        self.flags.push(f);
    }

    /// Records a problem (fails the run).
    pub fn problem(&mut self, p: impl Into<String>) {
        let p = p.into();
        eprintln!("[load] PROBLEM {p}");
        self.problems.push(p);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn schema_1_skipped_scenarios_read_as_not_selected() {
        let rec: super::Record = serde_json::from_str(
            r#"{"runs":[],"timings":[],"comparisons":[],"problems":[],
                "skipped":[{"scenario":"recovery","reason":"no engine"}]}"#,
        )
        .unwrap();
        assert_eq!(rec.not_selected[0].scenario, "recovery");
        let json = serde_json::to_value(&rec).unwrap();
        assert!(json.get("skipped").is_none() && json["not_selected"].is_array());
    }
}
