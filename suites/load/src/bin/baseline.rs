//! `wcc-load-baseline [--margin M] MODE RUN_DIR...`: writes `suites/load/baseline-MODE.json` (or
//! `WCC_LOAD_BASELINE`) from several load runs of that mode (their `load.json`): each ratio is the
//! median of the runs, each key's measured tolerance `M` (default 2) times the worst deviation from
//! it seen in the bad direction (the set tolerances of the current baseline stay, as floors). Runs of another
//! mode, or with problems, are left out and named. `bash ci/load-baseline` runs the suite and then
//! this.
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use load_suite::report::{Baseline, LoadResults};

fn main() {
    if let Err(e) = run() {
        eprintln!("wcc-load-baseline: {e:#}");
        std::process::exit(2);
    }
}

fn run() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut margin = 2.0;
    if let Some(i) = args.iter().position(|a| a == "--margin") {
        let value = args.get(i + 1).context("--margin needs a number")?;
        margin = value
            .parse()
            .with_context(|| format!("--margin {value:?} is not a number"))?;
        args.drain(i..=i + 1);
    }
    let [mode, dirs @ ..] = args.as_slice() else {
        bail!("usage: wcc-load-baseline [--margin M] short|full RUN_DIR...");
    };
    if mode != "short" && mode != "full" {
        bail!("mode {mode:?} is neither short nor full");
    }
    let mut runs = Vec::new();
    let mut used = Vec::new();
    let mut machine = String::new();
    for dir in dirs {
        let path = PathBuf::from(dir).join("load.json");
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
        let results: LoadResults =
            serde_json::from_str(&text).with_context(|| format!("parse {}", path.display()))?;
        let run_mode = results.config["mode"].as_str().unwrap_or("?");
        if run_mode != mode {
            eprintln!("left out {dir}: a {run_mode} run");
            continue;
        }
        if !results.record.problems.is_empty() {
            eprintln!(
                "left out {dir}: it had problems: {}",
                results.record.problems.join("; ")
            );
            continue;
        }
        machine = format!(
            "{} CPUs ({})",
            results.machine.cpus, results.machine.cpu_model
        );
        used.push(results.started_at.clone());
        runs.push(results.record.comparisons);
    }
    if runs.len() < 3 {
        bail!(
            "{} usable {mode} runs; a baseline needs at least 3 to say how much a ratio moves",
            runs.len()
        );
    }
    let path = Baseline::path(mode);
    let current = Baseline::read(&path).with_context(|| format!("read {}", path.display()))?;
    let source = format!(
        "median of {} {mode} runs on {machine}, {} to {}; a key's measured tolerance is {margin} x the worst deviation from its median seen in these runs",
        runs.len(),
        used.first().map(String::as_str).unwrap_or("?"),
        used.last().map(String::as_str).unwrap_or("?"),
    );
    let new = current.from_runs(&runs, margin, source);
    std::fs::write(&path, serde_json::to_string_pretty(&new)? + "\n")
        .with_context(|| format!("write {}", path.display()))?;
    eprintln!("{} runs -> {}", runs.len(), path.display());
    // The tolerance each key gets, judged on a comparison of the runs (which knows its direction).
    let measured: std::collections::BTreeMap<String, &load_suite::record::Comparison> =
        runs.iter().flatten().map(|c| (c.key(), c)).collect();
    for (key, ratio) in &new.ratios {
        let was = current
            .ratios
            .get(key)
            .map_or("new".to_string(), |r| format!("was {r}"));
        let tolerance = measured.get(key).map_or(f64::NAN, |c| new.tolerance_for(c));
        eprintln!("  {key:32} {ratio:>9.3} ({was}), tolerance {tolerance}");
    }
    Ok(())
}
