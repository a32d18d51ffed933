//! Lets `cargo nextest run` (and `cargo test`) run each conformance test as its own test, through
//! libtest-mimic. Skipped tests are reported as ignored, never as passed; the reason is printed.
use libtest_mimic::{Arguments, Failed, Trial};

use super::execute::{execute, skip_reason, RunOptions, Status};
use super::features::unsupported_from_env;
use super::ConformanceTest;

/// When set (ci/test sets it while listing the tests), the reason of every skipped test is
/// appended to this file as `name<TAB>reason` lines: nextest's JUnit omits ignored tests, and
/// ci/junit-not-run.py adds them as `<skipped>` with these reasons.
const SKIP_REASONS_ENV: &str = "WCC_SKIP_REASONS";

/// The `main` of a `harness = false` test binary over `tests`.
pub fn main(tests: Vec<&'static ConformanceTest>) -> ! {
    let args = Arguments::from_args();
    let strict = harness::settings::is_ci();
    // A bad WCC_TARGET_UNSUPPORTED fails every test with the reason (never a silent default).
    let unsupported = match unsupported_from_env() {
        Ok(u) => u,
        Err(e) => {
            let trials = tests
                .into_iter()
                .map(|test| {
                    let e = e.clone();
                    Trial::test(test.name, move || Err(Failed::from(e)))
                })
                .collect();
            libtest_mimic::run(&args, trials).exit()
        }
    };
    let mut reasons = String::new();
    let trials = tests
        .into_iter()
        .map(|test| {
            let skip = skip_reason(test, &unsupported, strict);
            if let Some(reason) = &skip {
                if !args.list {
                    eprintln!("skipping {}: {reason}", test.name);
                }
                reasons.push_str(&reason_line(test.name, reason));
            }
            Trial::test(test.name, move || run_one(test)).with_ignored_flag(skip.is_some())
        })
        .collect();
    if let Some(path) = std::env::var_os(SKIP_REASONS_ENV).filter(|_| !reasons.is_empty()) {
        use std::io::Write as _;
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(reasons.as_bytes()));
        if let Err(e) = written {
            eprintln!("cannot append the skip reasons to {path:?} ({SKIP_REASONS_ENV}): {e}");
        }
    }
    libtest_mimic::run(&args, trials).exit()
}

/// One `name<TAB>reason` line of the [`SKIP_REASONS_ENV`] file.
fn reason_line(name: &str, reason: &str) -> String {
    format!("{name}\t{}\n", reason.replace(['\t', '\n', '\r'], " "))
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

#[cfg(test)]
mod tests {
    #[test]
    fn a_reason_is_one_line() {
        assert_eq!(
            super::reason_line("a::b", "fixture missing\n  because\tno toolchain"),
            "a::b\tfixture missing   because no toolchain\n"
        );
    }
}
