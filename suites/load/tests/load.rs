//! The load suite as one nextest test (`load::suite`): run only by the nextest profile `load`
//! (`bash ci/load`; `WCC_LOAD=full` for the full run). It writes `results/perf/<run>/` and fails
//! when a run errored or could not send its requests, and (strict gate, the default) when the
//! generator does not reach 0.9x wrk, was itself late in an open-loop run, or a ratio regressed
//! past the baseline's tolerance; `WCC_LOAD_GATE=advisory` (CI's short run) reports those three
//! without failing. `bash ci/load-baseline` makes a baseline from
//! several runs.
use std::path::Path;
use std::time::Instant;

use libtest_mimic::{Arguments, Failed, Trial};
use load_suite::config::Config;
use load_suite::report::{Baseline, LoadResults, Machine};
use load_suite::run::Runner;

fn suite() -> Result<(), Failed> {
    let cfg = Config::from_env();
    let machine = Machine::detect();
    let started_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "unknown".into());
    let start = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let anchor_bin = Path::new(env!("CARGO_BIN_EXE_wcc-load-anchor"));
    let mut runner = Runner::new(cfg.clone(), anchor_bin).map_err(|e| e.to_string())?;
    let outcome = rt.block_on(runner.run());
    let mut record = std::mem::take(&mut runner.rec);
    if let Err(e) = &outcome {
        record.problem(format!("the run stopped: {e:#}"));
    }
    let baseline_path = Baseline::path(cfg.mode);
    let baseline = Baseline::read(&baseline_path)
        .map_err(|e| format!("read {}: {e}", baseline_path.display()))?;
    let results = LoadResults::new(
        &cfg,
        machine,
        started_at.clone(),
        start.elapsed().as_secs_f64(),
        record,
        &baseline,
        &baseline_path,
    );
    let dir = harness::binaries::repo_root()
        .join("results")
        .join("perf")
        .join(format!(
            "{}-{}",
            started_at.replace([':', '-'], ""),
            cfg.mode
        ));
    results.write(&dir).map_err(|e| e.to_string())?;
    eprintln!("{}", results.markdown());
    eprintln!("[load] results in {}", dir.display());
    // Problems always fail the run; the judgements (the generator's ceiling, a run rejected for
    // the generator's own lateness, ratios past the baseline) fail it under the strict gate (default, the full run) and are only reported under
    // the advisory one (WCC_LOAD_GATE=advisory: CI's short run, whose 2 s windows on a shared
    // 2-core machine are too short to hold a p99 to a tolerance).
    let strict = std::env::var("WCC_LOAD_GATE").map_or(true, |v| v != "advisory");
    let mut judgements: Vec<String> = results.record.flags.clone();
    judgements.extend(results.regressions.iter().map(|r| {
        format!(
            "regression {}: ratio {:.3} vs baseline {:.3} (tolerance {})",
            r.key, r.ratio, r.baseline, r.tolerance
        )
    }));
    let mut failures: Vec<String> = results.record.problems.clone();
    if strict {
        failures.extend(judgements);
    } else {
        for j in &judgements {
            eprintln!("[load] FLAGGED (advisory gate, not failing): {j}");
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n").into())
    }
}

fn main() {
    let args = Arguments::from_args();
    libtest_mimic::run(&args, vec![Trial::test("load::suite", suite)]).exit();
}
