//! Lets `cargo nextest run` (and `cargo test`) run each conformance test as its own test, through
//! libtest-mimic. Skipped tests are reported as ignored, never as passed; the reason is printed.
use libtest_mimic::{Arguments, Failed, Trial};

use super::execute::{execute, skip_reason, RunOptions, Status};
use super::ConformanceTest;

/// The `main` of a `harness = false` test binary over `tests`.
pub fn main(tests: Vec<&'static ConformanceTest>) -> ! {
    let args = Arguments::from_args();
    let strict = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
    let trials = tests
        .into_iter()
        .map(|test| {
            let skip = skip_reason(test, strict);
            if let (Some(reason), false) = (&skip, args.list) {
                eprintln!("skipping {}: {reason}", test.name);
            }
            Trial::test(test.name, move || run_one(test)).with_ignored_flag(skip.is_some())
        })
        .collect();
    libtest_mimic::run(&args, trials).exit()
}

fn run_one(test: &'static ConformanceTest) -> Result<(), Failed> {
    let options = RunOptions::from_env().map_err(|e| Failed::from(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failed::from(format!("cannot start a tokio runtime: {e}")))?;
    let outcome = runtime.block_on(execute(test, &options));
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    match outcome.status {
        Status::Passed => Ok(()),
        // Skips are decided before the run (the ignored flag above); one decided while running
        // must not count as a pass (a skip is never a pass).
        Status::Skipped => Err(Failed::from(format!(
            "the test did not run (skipped while running: {}); a skip is never a pass",
            outcome.message.unwrap_or_default()
        ))),
        Status::Failed => Err(Failed::from(
            outcome.diagnostics.or(outcome.message).unwrap_or_default(),
        )),
        Status::Error => Err(Failed::from(format!(
            "harness error: {}",
            outcome.message.unwrap_or_default()
        ))),
    }
}
