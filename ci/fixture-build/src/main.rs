//! `fixture-build`: builds the fixture components and providers listed in `fixtures/fixtures.toml` (cached by
//! input hash under `${WCC_CACHE:-~/.cache/wasmcloud-conformance}/fixtures`) and writes the fixture
//! manifest `<repo>/.wcc/fixtures.json` that the harness reads.
//!
//! Exit status: 0 when every selected fixture is built or only lacks its toolchain (a warning);
//! 1 when a fixture failed to build, or lacks its toolchain under `--strict`; 2 when
//! `fixtures.toml` itself is wrong.

mod cache;
mod hash;
mod lang;
mod manifest;
mod process;
mod run;
mod spec;
mod toolchain;
mod verify;

/// This crate's directory in the checkout whose tests run: cargo sets `CARGO_MANIFEST_DIR` when it
/// runs them. The compile-time value is the checkout that built the binary, which is another one
/// when two checkouts share a target directory (as `ci/lib.sh` makes every clone do).
#[cfg(test)]
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::run::Selection;
use crate::spec::Language;

#[derive(Parser)]
#[command(
    name = "fixture-build",
    about = "Builds the fixture components and providers and writes the fixture manifest"
)]
struct Cli {
    /// Repository root (default: the nearest directory above the current one holding fixtures/).
    #[arg(long, global = true)]
    repo: Option<PathBuf>,
    /// Cache root; artifacts go to <cache>/fixtures, toolchains are looked up in <cache>/toolchains.
    #[arg(long, global = true, env = "WCC_CACHE")]
    cache: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Builds the fixtures (what is cached is not rebuilt) and writes the manifest.
    Build {
        /// Only these fixture names (comma-separated).
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Only these languages (comma-separated: rust, python, javascript, c, go).
        #[arg(long = "lang", value_delimiter = ',', value_parser = parse_language)]
        langs: Vec<Language>,
        /// A missing toolchain fails the build instead of being reported as missing.
        #[arg(long)]
        strict: bool,
        /// Where to write the manifest (default: <repo>/.wcc/fixtures.json).
        #[arg(long)]
        manifest: Option<PathBuf>,
    },
    /// Lists the fixtures in fixtures.toml.
    List,
    /// Deletes cached artifacts that no listed fixture uses any more (and leftover work
    /// directories of failed builds).
    Gc {
        /// Only print what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
}

fn parse_language(s: &str) -> Result<Language, String> {
    Language::parse(s)
        .ok_or_else(|| format!("unknown language {s:?} (rust, python, javascript, c, go)"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let repo = match cli.repo.clone().or_else(|| {
        let cwd = std::env::current_dir().ok()?;
        run::find_repo(&cwd).or_else(|| run::find_repo(&PathBuf::from(env!("CARGO_MANIFEST_DIR"))))
    }) {
        Some(r) => std::fs::canonicalize(&r).unwrap_or(r),
        None => {
            eprintln!("fixture-build: cannot find the repository (no fixtures/fixtures.toml above here); pass --repo");
            return ExitCode::from(2);
        }
    };
    let cache = cli.cache.clone().unwrap_or_else(|| {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp"));
        home.join(".cache/wasmcloud-conformance")
    });
    let env = toolchain::Env {
        cache,
        repo: repo.clone(),
    };

    let spec_path = repo.join("fixtures/fixtures.toml");
    let fixtures = match spec::load(&spec_path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("fixture-build: {e}");
            return ExitCode::from(2);
        }
    };

    match cli.command {
        Command::List => {
            for f in &fixtures {
                println!(
                    "{:<10} {:<11} {:<9} world={:<13} sources={}{} tags={}",
                    f.name(),
                    f.language(),
                    f.kind().id(),
                    f.entry.world,
                    f.entry.sources.display(),
                    f.entry
                        .binary
                        .as_deref()
                        .map(|b| format!(" binary={b}"))
                        .unwrap_or_default(),
                    f.entry.tags.join(",")
                );
            }
            ExitCode::SUCCESS
        }
        Command::Gc { dry_run } => {
            // Keep what the current manifest points at, for fixtures whose toolchain is absent.
            let keep: std::collections::BTreeSet<String> =
                std::fs::read(repo.join(".wcc/fixtures.json"))
                    .ok()
                    .and_then(|b| serde_json::from_slice::<manifest::Manifest>(&b).ok())
                    .map(|m| {
                        m.fixtures
                            .into_iter()
                            .filter_map(|e| match e.status {
                                manifest::Status::Built { input_hash, .. } => Some(input_hash),
                                manifest::Status::Missing { .. } => None,
                            })
                            .collect()
                    })
                    .unwrap_or_default();
            match run::gc(&env, &fixtures, &keep, dry_run) {
                Ok(removed) => {
                    for dir in &removed {
                        println!(
                            "{}{}",
                            if dry_run { "would remove " } else { "removed " },
                            dir.display()
                        );
                    }
                    eprintln!(
                        "fixture-build: gc: {} directories {}",
                        removed.len(),
                        if dry_run { "to remove" } else { "removed" }
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("fixture-build: gc: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Build {
            only,
            langs,
            strict,
            manifest,
        } => {
            for name in &only {
                if !fixtures.iter().any(|f| f.name() == name) {
                    eprintln!(
                        "fixture-build: --only {name}: no such fixture in {}",
                        spec_path.display()
                    );
                    return ExitCode::from(2);
                }
            }
            let selection = Selection { only, langs };
            let started = std::time::Instant::now();
            let report = run::run(&env, fixtures, &selection);
            let manifest_path = manifest.unwrap_or_else(|| repo.join(".wcc/fixtures.json"));
            let m = manifest::Manifest::new(report.entries());
            if let Err(e) = m.write(&manifest_path) {
                eprintln!(
                    "fixture-build: cannot write {}: {e}",
                    manifest_path.display()
                );
                return ExitCode::FAILURE;
            }
            let built = m
                .fixtures
                .iter()
                .filter(|e| matches!(e.status, manifest::Status::Built { .. }))
                .count();
            eprintln!(
                "fixture-build: {built} of {} fixtures available; manifest {} ({:.1}s)",
                m.fixtures.len(),
                manifest_path.display(),
                started.elapsed().as_secs_f64()
            );

            let mut failed = false;
            let missing: Vec<_> = report
                .without_toolchain()
                .filter(|(f, _)| selection.selects(f))
                .collect();
            if !missing.is_empty() {
                let level = if strict { "error" } else { "warning" };
                for (f, reason) in &missing {
                    eprintln!("fixture-build: {level}: {} missing: {reason}", f.label());
                }
                failed |= strict;
            }
            for (f, e) in report.failures() {
                eprintln!("fixture-build: error: {} failed to build: {e}", f.label());
                failed = true;
            }
            if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
    }
}
