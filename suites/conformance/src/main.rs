//! `wasmcloud-conformance`: runs the conformance suite against a wasmCloud lattice and writes a
//! report (JSON, JUnit, Markdown) under `results/<implementation>/<host version>/`.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use futures::StreamExt as _;
use harness::binaries::{sha256_of, version_of};
use harness::conformance::report::{now_rfc3339, Binary, Implementation, Report, TestRecord};
use harness::conformance::{execute, skip_reason, ConformanceTest, Outcome, RunOptions, Status};

/// Exit code when a test failed or errored.
const EXIT_FAILED: u8 = 1;
/// Exit code for bad input or an unusable environment (nothing was tested).
const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(name = "wasmcloud-conformance", version, about = "wasmCloud 1.x conformance suite")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Stand up lattices of the binaries under test, run the suite, write the report.
    Run {
        /// Where reports go (a folder per implementation and host version is created inside).
        #[arg(long, default_value_os_t = harness::binaries::repo_root().join("results"))]
        results: PathBuf,
        /// Name of the implementation under test, used in the report and its folder.
        #[arg(long, default_value = "reference")]
        implementation: String,
        /// Tests run at once (each on its own lattice).
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=16))]
        jobs: u16,
        /// Only tests whose name contains this text (repeatable: any of them).
        #[arg(long = "filter")]
        filters: Vec<String>,
    },
    /// List the tests with the catalogue items they cover.
    List,
}

fn selected(filters: &[String]) -> Vec<&'static ConformanceTest> {
    conformance_suite::registry()
        .into_iter()
        .filter(|t| filters.is_empty() || filters.iter().any(|f| t.name.contains(f.as_str())))
        .collect()
}

async fn describe(path: &std::path::Path) -> Binary {
    Binary {
        path: path.display().to_string(),
        version: version_of(path).await.ok(),
        sha256: sha256_of(path).ok(),
    }
}

/// `wasmcloud 1.9.2+x` → `1.9.2+x`; anything unusable → `unknown`.
fn version_folder(version: Option<&str>) -> String {
    let v = version.and_then(|v| v.split_whitespace().last()).unwrap_or("unknown");
    v.chars().map(|c| if c.is_ascii_alphanumeric() || "._+-".contains(c) { c } else { '_' }).collect()
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Passed => "PASS",
        Status::Failed => "FAIL",
        Status::Skipped => "SKIP",
        Status::Error => "ERROR",
    }
}

async fn run(results: PathBuf, implementation: String, jobs: u16, filters: Vec<String>) -> Result<bool, String> {
    let options = RunOptions::from_env().map_err(|e| e.to_string())?;
    let tests = selected(&filters);
    if tests.is_empty() {
        return Err(format!("no test matches the filters {filters:?} (see `wasmcloud-conformance list`)"));
    }
    let started_at = now_rfc3339();
    let implementation = Implementation {
        name: implementation,
        host: describe(&options.binaries.host).await,
        wadm: describe(&options.binaries.wadm).await,
        nats_server: describe(&options.binaries.nats_server).await,
    };
    if implementation.host.version.is_none() {
        return Err(format!("the host binary {} does not answer --version", implementation.host.path));
    }
    eprintln!(
        "wasmcloud-conformance: {} test(s) against {} ({}), {} at a time",
        tests.len(),
        implementation.name,
        implementation.host.version.as_deref().unwrap_or("?"),
        jobs
    );
    let total = tests.len();
    let clock = Instant::now();
    let options_ref = &options;
    let mut done = 0usize;
    let mut outcomes: Vec<(usize, Outcome)> = Vec::with_capacity(total);
    let mut stream = futures::stream::iter(tests.iter().enumerate().map(|(i, test)| async move {
        let outcome = match skip_reason(test, options_ref.strict_fixtures) {
            Some(reason) => Outcome { status: Status::Skipped, duration: Default::default(), message: Some(reason), diagnostics: None, log_dir: None },
            None => execute(test, options_ref).await,
        };
        (i, outcome)
    }))
    .buffer_unordered(usize::from(jobs));
    while let Some((i, outcome)) = stream.next().await {
        done += 1;
        let note = outcome.message.as_deref().and_then(|m| m.lines().next()).map(|m| format!(": {m}")).unwrap_or_default();
        eprintln!(
            "[{done:>3}/{total}] {:<5} {} ({:.1} s, {:.0} s elapsed){note}",
            status_word(outcome.status),
            tests[i].name,
            outcome.duration.as_secs_f64(),
            clock.elapsed().as_secs_f64()
        );
        if let Some(d) = &outcome.diagnostics {
            eprintln!("{d}");
        }
        outcomes.push((i, outcome));
    }
    outcomes.sort_by_key(|(i, _)| *i);
    let records = outcomes.iter().map(|(i, o)| TestRecord::new(tests[*i], o)).collect();
    let report = Report::new(implementation, started_at, records);
    let dir = results.join(&report.implementation.name).join(version_folder(report.implementation.host.version.as_deref()));
    let files = report.write(&dir).map_err(|e| e.to_string())?;
    let s = &report.summary;
    eprintln!(
        "\n{} passed, {} failed, {} skipped, {} error (of {}) in {:.0} s",
        s.passed, s.failed, s.skipped, s.error, s.total, clock.elapsed().as_secs_f64()
    );
    for f in files {
        eprintln!("wrote {}", f.display());
    }
    Ok(report.ok())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::List => {
            for t in conformance_suite::registry() {
                println!("{:<48} {:<14} {}", t.name, t.area.id(), t.covers.join(","));
            }
            ExitCode::SUCCESS
        }
        Command::Run { results, implementation, jobs, filters } => {
            // Snapshots are compared, never rewritten, by a conformance run.
            std::env::set_var("INSTA_UPDATE", "no");
            let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("error: cannot start the async runtime: {e}");
                    return ExitCode::from(EXIT_USAGE);
                }
            };
            match runtime.block_on(run(results, implementation, jobs, filters)) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::from(EXIT_FAILED),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(EXIT_USAGE)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_folders_are_path_safe() {
        assert_eq!(version_folder(Some("wasmcloud 1.9.2+reference.wasmcloud-host.0.27.1")), "1.9.2+reference.wasmcloud-host.0.27.1");
        assert_eq!(version_folder(Some("weird/ver")), "weird_ver");
        assert_eq!(version_folder(None), "unknown");
    }

    #[test]
    fn filters_select_by_substring() {
        assert_eq!(selected(&[]).len(), conformance_suite::registry().len());
        assert!(selected(&["host::".into()]).iter().all(|t| t.name.starts_with("host::")));
        assert!(selected(&["no-such-test".into()]).is_empty());
    }
}
