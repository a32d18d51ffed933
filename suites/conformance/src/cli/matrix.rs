//! `wasmcloud-conformance matrix`: the suite against several host, wadm and NATS versions (the
//! cells of `suites/conformance/matrix.toml`), one ordinary run per cell, and the matrix report
//! (cell × test, cell × catalogue item, the changes between neighbouring versions) over them.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use conformance_report::report::Report;
use conformance_report::versions::{Cell, CellOutcome, VersionMatrix};
use serde::{Deserialize, Serialize};

use super::child::ChildRun;
use super::exit::{CliError, Exit};
use super::expectations::Expectations;

/// The design file's format.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Design {
    cell: Vec<CellDef>,
}

/// One cell as the design file gives it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CellDef {
    id: String,
    label: String,
    axis: String,
    host: Option<String>,
    wadm: Option<String>,
    nats: Option<String>,
    mixed_host: Option<String>,
    profile: Option<String>,
    newer: Option<String>,
    #[serde(default)]
    unsupported: Vec<String>,
}

/// The pinned versions (ci/versions.env): what a cell runs where it names nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pins {
    host: String,
    wadm: String,
    nats: String,
}

impl Pins {
    /// The pins compiled in from `ci/versions.env`.
    pub(crate) fn compiled_in() -> Result<Self, CliError> {
        let crate_version = |key: &str| {
            harness::versions::pinned(key)
                .and_then(|v| v.split_once('@'))
                .map(|(_, version)| version.to_string())
                .ok_or_else(|| {
                    CliError::new(
                        Exit::Internal,
                        format!("ci/versions.env has no `{key}` pin of the form crate@version"),
                    )
                })
        };
        Ok(Self {
            host: crate_version("REFERENCE_HOST_CRATE")?,
            wadm: crate_version("REFERENCE_WADM_CRATE")?,
            nats: harness::versions::nats_server().to_string(),
        })
    }
}

/// A binary a cell needs, built by `ci/launcher`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Need {
    kind: &'static str,
    version: String,
}

impl Need {
    fn id(&self) -> String {
        format!("{}-{}", self.kind, self.version)
    }
}

/// A cell with the pins filled in.
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    def: CellDef,
    host: String,
    wadm: String,
    nats: String,
}

impl Resolved {
    fn needs(&self) -> Vec<Need> {
        let mut needs = vec![
            Need {
                kind: "host",
                version: self.host.clone(),
            },
            Need {
                kind: "wadm",
                version: self.wadm.clone(),
            },
            Need {
                kind: "nats",
                version: self.nats.clone(),
            },
        ];
        if let Some(v) = &self.def.mixed_host {
            needs.push(Need {
                kind: "host",
                version: v.clone(),
            });
        }
        needs
    }

    /// The cell as the matrix report shows it.
    fn shown(&self, profile: &str, report_link: Option<String>, outcome: CellOutcome) -> Cell {
        Cell {
            id: self.def.id.clone(),
            label: self.def.label.clone(),
            axis: self.def.axis.clone(),
            host: self.host.clone(),
            wadm: self.wadm.clone(),
            nats: self.nats.clone(),
            mixed_host: self.def.mixed_host.clone(),
            profile: profile.to_string(),
            newer: self.def.newer.clone(),
            report_link,
            outcome,
        }
    }

    /// What `matrix.json` records of the cell before it runs: not run yet, with the expectation
    /// files of `files` that exist (relative to the repository).
    fn record(&self, profile: &str, files: &[PathBuf]) -> CellRecord {
        CellRecord {
            id: self.def.id.clone(),
            label: self.def.label.clone(),
            axis: self.def.axis.clone(),
            host: self.host.clone(),
            wadm: self.wadm.clone(),
            nats: self.nats.clone(),
            mixed_host: self.def.mixed_host.clone(),
            profile: profile.to_string(),
            newer: self.def.newer.clone(),
            unsupported: self.def.unsupported.clone(),
            expectations: files
                .iter()
                .filter(|f| f.is_file())
                .map(|f| relative(f, &harness::binaries::repo_root()))
                .collect(),
            outcome: "not-run".into(),
            reason: None,
            report: None,
            summary: None,
            passed: None,
            verified: None,
            duration_seconds: 0.0,
            statuses: BTreeMap::new(),
            reused_from: None,
        }
    }

    /// The expectation files of the versions this cell runs that are not the pins.
    fn expectation_files(&self, pins: &Pins, dir: &Path) -> Vec<PathBuf> {
        let mut names = Vec::new();
        if self.host != pins.host {
            names.push(format!("host-{}", self.host));
        }
        if self.wadm != pins.wadm {
            names.push(format!("wadm-{}", self.wadm));
        }
        if self.nats != pins.nats {
            names.push(format!("nats-{}", self.nats));
        }
        if let Some(v) = &self.def.mixed_host {
            names.push(format!("mixed-host-{v}"));
        }
        names
            .into_iter()
            .map(|n| dir.join(format!("{n}.toml")))
            .collect()
    }
}

fn usage(message: String) -> CliError {
    CliError::new(Exit::Usage, message)
}

/// Parses and checks a design: unique folder-safe ids, known neighbours, features and profiles,
/// versions of the form MAJOR.MINOR.PATCH; the pins filled in.
pub(crate) fn parse_design(
    text: &str,
    origin: &str,
    pins: &Pins,
) -> Result<Vec<Resolved>, CliError> {
    let bad = |problem: String| usage(format!("matrix design {origin}: {problem}"));
    let design: Design = toml::from_str(text)
        .map_err(|e| bad(format!("malformed: {}", e.to_string().trim_end())))?;
    let ids: Vec<&str> = design.cell.iter().map(|c| c.id.as_str()).collect();
    let mut seen = BTreeSet::new();
    for c in &design.cell {
        let safe =
            c.id.chars()
                .next()
                .is_some_and(|ch| ch.is_ascii_alphanumeric())
                && c.id
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch));
        if !safe {
            return Err(bad(format!(
                "cell id `{}`: use letters, digits, '.', '_' and '-'",
                c.id
            )));
        }
        if !seen.insert(c.id.as_str()) {
            return Err(bad(format!("cell id `{}` appears twice", c.id)));
        }
        if let Some(n) = &c.newer {
            if !ids.contains(&n.as_str()) || n == &c.id {
                return Err(bad(format!(
                    "cell `{}`: newer = `{n}` names no other cell",
                    c.id
                )));
            }
        }
        for f in &c.unsupported {
            super::select::parse_feature(f, &format!("cell `{}` of {origin}", c.id))?;
        }
        if let Some(p) = &c.profile {
            super::select::Profile::parse(p)?;
        }
        for (what, v) in [
            ("host", &c.host),
            ("wadm", &c.wadm),
            ("nats", &c.nats),
            ("mixed_host", &c.mixed_host),
        ] {
            if let Some(v) = v {
                let ok = v.split('.').count() == 3
                    && v.split('.')
                        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
                if !ok {
                    return Err(bad(format!(
                        "cell `{}`: {what} = `{v}` is not MAJOR.MINOR.PATCH",
                        c.id
                    )));
                }
            }
        }
    }
    Ok(design
        .cell
        .into_iter()
        .map(|def| Resolved {
            host: def.host.clone().unwrap_or_else(|| pins.host.clone()),
            wadm: def.wadm.clone().unwrap_or_else(|| pins.wadm.clone()),
            nats: def.nats.clone().unwrap_or_else(|| pins.nats.clone()),
            def,
        })
        .collect())
}

/// The command line of `matrix`.
#[derive(clap::Args)]
pub(crate) struct MatrixArgs {
    /// The design (default: suites/conformance/matrix.toml).
    #[arg(long, default_value_os_t = harness::binaries::repo_root().join("suites").join("conformance").join("matrix.toml"))]
    pub(crate) design: PathBuf,
    /// Only these cells (comma-separated ids; default: every cell of the design).
    #[arg(long, value_delimiter = ',')]
    pub(crate) cells: Vec<String>,
    /// Where matrix runs go (each in <results>/<run id>/).
    #[arg(long, default_value_os_t = harness::binaries::repo_root().join("results").join("matrix").join("runs"))]
    pub(crate) results: PathBuf,
    /// The run's folder name (default: its UTC start time and 4 random hex digits).
    #[arg(long, value_parser = super::runs::parse_run_id)]
    pub(crate) run_id: Option<String>,
    /// The selection of every cell that names none (a cell's own `profile` wins).
    #[arg(long, default_value = "extended")]
    pub(crate) profile: String,
    /// Tests at once inside each cell's run.
    #[arg(long, default_value_t = super::order::default_jobs(), value_parser = clap::value_parser!(u16).range(1..=16))]
    pub(crate) jobs: u16,
    /// Seed of every cell's execution order (default: random; recorded), the same for all
    /// cells so their runs are alike.
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Multiplies every timeout of the harness.
    #[arg(long, env = harness::wait::TIMEOUT_SCALE_ENV, value_name = "FACTOR", value_parser = crate::timeout_scale)]
    pub(crate) timeout_scale: Option<f64>,
    /// The script that builds a binary of a version and prints its path (default: ci/launcher).
    #[arg(long, default_value_os_t = harness::binaries::repo_root().join("ci").join("launcher"))]
    pub(crate) launcher: PathBuf,
    /// Also write the published table there (README.md, matrix.html, matrix.json and each
    /// cell's summary), e.g. results/matrix.
    #[arg(long, value_name = "DIR")]
    pub(crate) publish: Option<PathBuf>,
    /// With --cells: take every other cell of the design from this earlier matrix run (its
    /// matrix.json and reports, as they ran there, verified again), so that one table holds them
    /// all. The table and matrix.json say which cells were reused, and from where.
    #[arg(long, value_name = "RUN_DIR", requires = "cells")]
    pub(crate) reuse: Option<PathBuf>,
}

/// What `matrix.json` records of one cell.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct CellRecord {
    id: String,
    label: String,
    axis: String,
    host: String,
    wadm: String,
    nats: String,
    mixed_host: Option<String>,
    profile: String,
    newer: Option<String>,
    unsupported: Vec<String>,
    expectations: Vec<String>,
    /// ran (with a report), or not-run.
    outcome: String,
    reason: Option<String>,
    report: Option<String>,
    summary: Option<String>,
    passed: Option<bool>,
    verified: Option<bool>,
    duration_seconds: f64,
    statuses: BTreeMap<String, String>,
    /// The earlier matrix run this cell was taken from (`--reuse`), relative to this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reused_from: Option<String>,
}

#[derive(Serialize)]
struct MatrixRecord {
    schema: &'static str,
    started_at: String,
    duration_seconds: f64,
    seed: u64,
    design: String,
    cells: Vec<CellRecord>,
}

fn results_error(path: &Path, e: impl std::fmt::Display) -> CliError {
    CliError::new(Exit::Results, format!("{}: {e}", path.display()))
}

fn write(path: &Path, text: &str) -> Result<(), CliError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| results_error(parent, e))?;
    }
    std::fs::write(path, text).map_err(|e| results_error(path, e))
}

/// Builds (or finds) one binary with `ci/launcher`; its output goes to `log`.
async fn build(launcher: &Path, need: &Need, log: &Path) -> Result<PathBuf, String> {
    let file =
        std::fs::File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    // Not `output()`: it would capture stderr too, and the log is the build's progress.
    let out = tokio::process::Command::new("bash")
        .arg(launcher)
        .args([need.kind, need.version.as_str()])
        .stdout(std::process::Stdio::piped())
        .stderr(file)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start bash {}: {e}", launcher.display()))?
        .wait_with_output()
        .await
        .map_err(|e| format!("bash {} failed: {e}", launcher.display()))?;
    if !out.status.success() {
        let tail = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = tail
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(format!(
            "ci/launcher {} {} failed ({}): {} (log: {})",
            need.kind,
            need.version,
            out.status,
            tail.join(" / "),
            log.display()
        ));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .map(|l| PathBuf::from(l.trim()))
        .filter(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "ci/launcher {} {} printed no binary path (log: {})",
                need.kind,
                need.version,
                log.display()
            )
        })
}

/// `path` relative to `base` when it is inside it.
fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

pub(crate) async fn matrix(args: MatrixArgs) -> Result<bool, CliError> {
    let started = Instant::now();
    let started_at = conformance_report::report::now_rfc3339();
    let pins = Pins::compiled_in()?;
    let text = std::fs::read_to_string(&args.design).map_err(|e| {
        usage(format!(
            "cannot read the matrix design {}: {e}",
            args.design.display()
        ))
    })?;
    let design = parse_design(&text, &args.design.display().to_string(), &pins)?;
    super::select::Profile::parse(&args.profile)?;
    for id in &args.cells {
        if !design.iter().any(|c| &c.def.id == id) {
            let known: Vec<&str> = design.iter().map(|c| c.def.id.as_str()).collect();
            return Err(usage(format!(
                "--cells {id}: no such cell; cells: {}",
                known.join(", ")
            )));
        }
    }
    // The cells of an earlier run to reuse: every cell not asked for, when --reuse is given.
    let reused: BTreeMap<String, CellRecord> = match &args.reuse {
        Some(earlier) => read_earlier(earlier)?
            .into_iter()
            .filter(|r| !args.cells.contains(&r.id))
            .map(|r| (r.id.clone(), r))
            .collect(),
        None => BTreeMap::new(),
    };
    let cells: Vec<Resolved> = design
        .into_iter()
        .filter(|c| {
            args.cells.is_empty()
                || args.cells.contains(&c.def.id)
                || reused.contains_key(&c.def.id)
        })
        .collect();
    let seed = args.seed.unwrap_or_else(super::order::random_seed);
    let (_, dir) = super::runs::new_parent_run(&args.results, args.run_id.as_deref(), &["logs"])?;
    let expectations_dir =
        harness::binaries::repo_root().join("suites/conformance/expectations/versions");
    let known: Vec<&str> = conformance_suite::registry()
        .iter()
        .map(|t| t.name)
        .collect();

    // 1. Every binary the chosen cells need, once each.
    let needs: BTreeSet<Need> = cells
        .iter()
        .filter(|c| !reused.contains_key(&c.def.id))
        .flat_map(Resolved::needs)
        .collect();
    let mut built: BTreeMap<Need, Result<PathBuf, String>> = BTreeMap::new();
    for need in needs {
        let log = dir.join("logs").join(format!("launcher-{}.log", need.id()));
        eprintln!(
            "matrix: {} {} (ci/launcher; log {})",
            need.kind,
            need.version,
            log.display()
        );
        let clock = Instant::now();
        let result = build(&args.launcher, &need, &log).await;
        match &result {
            Ok(p) => eprintln!(
                "matrix: {} ready in {:.0} s: {}",
                need.id(),
                clock.elapsed().as_secs_f64(),
                p.display()
            ),
            Err(e) => eprintln!("matrix: {e}"),
        }
        built.insert(need, result);
    }

    // 2. One run per cell, one after another (each runs --jobs tests at once).
    let mut records = Vec::new();
    let mut shown = Vec::new();
    for cell in &cells {
        let clock = Instant::now();
        let profile = cell
            .def
            .profile
            .clone()
            .unwrap_or_else(|| args.profile.clone());
        let files = cell.expectation_files(&pins, &expectations_dir);
        let mut record = cell.record(&profile, &files);
        if let Some(earlier) = reused.get(&cell.def.id) {
            let expected = merged_expectations(&files, &known).map_err(usage)?;
            let (record, cell) = reuse_cell(
                earlier,
                cell,
                &profile,
                &expected,
                &known,
                &dir,
                args.reuse.as_deref(),
            )?;
            shown.push(cell);
            records.push(record);
            continue;
        }
        let outcome = run_cell(&args, cell, &profile, &files, &known, &built, &dir, seed).await;
        record.duration_seconds = clock.elapsed().as_secs_f64();
        let (outcome, link) = match outcome {
            Ok((report_path, report)) => {
                let verified = verify_report(&report_path);
                eprintln!(
                    "matrix: {} {} in {:.0} s{}",
                    cell.def.id,
                    report.summary.line(),
                    record.duration_seconds,
                    match &verified {
                        Ok(()) => String::new(),
                        Err(e) => format!("; its report does NOT verify: {e}"),
                    }
                );
                record.outcome = "ran".into();
                record.report = Some(relative(&report_path, &dir));
                record.summary = Some(report.summary.line());
                record.passed = Some(report.ok());
                record.verified = Some(verified.is_ok());
                record.statuses = report
                    .tests
                    .iter()
                    .map(|t| (t.name.clone(), t.status.id().to_string()))
                    .collect();
                let link = report_path.with_file_name("report.html");
                (
                    CellOutcome::Ran(Box::new(report)),
                    Some(relative(&link, &dir)),
                )
            }
            Err(reason) => {
                eprintln!("matrix: {} not run: {reason}", cell.def.id);
                record.reason = Some(reason.clone());
                (CellOutcome::NotRun(reason), None)
            }
        };
        shown.push(cell.shown(&profile, link, outcome));
        records.push(record);
    }

    // 3. The matrix report.
    let ok = records
        .iter()
        .all(|r| r.passed == Some(true) && r.verified == Some(true));
    let record = MatrixRecord {
        schema: "wcc-matrix-v1",
        started_at: started_at.clone(),
        duration_seconds: started.elapsed().as_secs_f64(),
        seed,
        design: relative(&args.design, &harness::binaries::repo_root()),
        cells: records,
    };
    let json = serde_json::to_string_pretty(&record)
        .map_err(|e| CliError::new(Exit::Internal, format!("cannot encode matrix.json: {e}")))?;
    let mut table = VersionMatrix {
        title: "wasmCloud 1.x version matrix".into(),
        date: started_at,
        cells: shown,
    };
    write(&dir.join("matrix.json"), &json)?;
    write(&dir.join("matrix.md"), &table.markdown())?;
    write(&dir.join("matrix.html"), &table.html())?;
    eprintln!(
        "matrix: {} cell(s) in {:.0} s, {}; {}",
        record.cells.len(),
        record.duration_seconds,
        if ok {
            "every cell passed and verified"
        } else {
            "NOT every cell passed and verified"
        },
        dir.join("matrix.html").display()
    );
    if let Some(publish) = &args.publish {
        publish_to(publish, &dir, &record, &mut table, &json)?;
    }
    Ok(ok)
}

/// Runs one cell; its report's path and content, or why it did not run.
#[allow(clippy::too_many_arguments)]
async fn run_cell(
    args: &MatrixArgs,
    cell: &Resolved,
    profile: &str,
    files: &[PathBuf],
    known: &[&str],
    built: &BTreeMap<Need, Result<PathBuf, String>>,
    dir: &Path,
    seed: u64,
) -> Result<(PathBuf, Report), String> {
    let mut paths = Vec::new();
    for need in cell.needs() {
        match built.get(&need) {
            Some(Ok(p)) => paths.push(p.clone()),
            Some(Err(e)) => return Err(e.clone()),
            None => return Err(format!("{} was not built", need.id())),
        }
    }
    let cell_dir = dir.join("cells").join(&cell.def.id);
    std::fs::create_dir_all(&cell_dir)
        .map_err(|e| format!("cannot create {}: {e}", cell_dir.display()))?;
    let merged = merged_expectations(files, known)?;
    let expectations = cell_dir.join("expectations.toml");
    let names: Vec<String> = files
        .iter()
        .filter(|f| f.is_file())
        .map(|f| f.display().to_string())
        .collect();
    let header = format!(
        "Known failures of matrix cell `{}`: the union of {}",
        cell.def.id,
        if names.is_empty() {
            "no expectation file (the cell runs the pins only, or its versions have none)"
                .to_string()
        } else {
            names.join(", ")
        }
    );
    std::fs::write(&expectations, merged.to_toml(&header))
        .map_err(|e| format!("cannot write {}: {e}", expectations.display()))?;

    let mut child = ChildRun::new(cell_dir.join("run.log"), cell_dir.join("run.outputs"));
    child
        .flag("--implementation", &cell.def.id)
        .flag("--run-id", "run")
        .flag("--results", dir.join("runs"))
        .flag("--profile", profile)
        .flag("--jobs", args.jobs.to_string())
        .flag("--seed", seed.to_string())
        .flag("--backend", "processes")
        .flag("--host-bin", &paths[0])
        .flag("--wadm-bin", &paths[1])
        .flag("--nats-server-bin", &paths[2])
        .flag("--expectations", &expectations);
    if let Some(p) = paths.get(3) {
        child.flag("--mixed-host-bin", p);
    }
    if let Some(scale) = args.timeout_scale {
        child.flag("--timeout-scale", scale.to_string());
    }
    // The cell's own declaration, whatever this process's environment says; and no mixed lattice
    // unless the cell asks for one.
    child.env.push((
        conformance_suite::framework::features::UNSUPPORTED_ENV.to_string(),
        cell.def.unsupported.join(","),
    ));
    child
        .unset
        .push(harness::binaries::MIXED_HOST_ENV.to_string());
    eprintln!(
        "matrix: running cell {} ({}; log {})",
        cell.def.id,
        cell.def.label,
        child.log.display()
    );
    let report_path = child.report(&cell.def.id).await.map_err(|e| e.message)?;
    let text = std::fs::read_to_string(&report_path)
        .map_err(|e| format!("{}: {e}", report_path.display()))?;
    let report: Report =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", report_path.display()))?;
    Ok((report_path, report))
}

/// The union of a cell's expectation files (those of `files` that exist).
fn merged_expectations(files: &[PathBuf], known: &[&str]) -> Result<Expectations, String> {
    let mut parts = Vec::new();
    for f in files.iter().filter(|f| f.is_file()) {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        parts.push(
            Expectations::parse(&text, &f.display().to_string(), known).map_err(|e| e.message)?,
        );
    }
    Ok(Expectations::merge(parts))
}

/// The cells of an earlier matrix run (its `matrix.json`).
fn read_earlier(dir: &Path) -> Result<Vec<CellRecord>, CliError> {
    #[derive(Deserialize)]
    struct Earlier {
        cells: Vec<CellRecord>,
    }
    let path = dir.join("matrix.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| usage(format!("--reuse: cannot read {}: {e}", path.display())))?;
    let earlier: Earlier = serde_json::from_str(&text).map_err(|e| {
        usage(format!(
            "--reuse: {} is not a matrix.json: {e}",
            path.display()
        ))
    })?;
    Ok(earlier.cells)
}

/// A cell taken from an earlier run (`earlier`, found in the run folder `from`): its report read
/// and verified again; it must be of the same versions, and have run with the known failures
/// `expected` (read with the suite's test names `known`).
fn reuse_cell(
    earlier: &CellRecord,
    cell: &Resolved,
    profile: &str,
    expected: &Expectations,
    known: &[&str],
    dir: &Path,
    from: Option<&Path>,
) -> Result<(CellRecord, Cell), CliError> {
    // Both absolute, so that the earlier run's paths can be given relative to this one.
    let from =
        std::fs::canonicalize(from.unwrap_or(dir)).map_err(|e| usage(format!("--reuse: {e}")))?;
    let from = from.as_path();
    let dir = std::fs::canonicalize(dir).map_err(|e| usage(format!("{}: {e}", dir.display())))?;
    let dir = dir.as_path();
    // The known failures it ran with must be today's, or its statuses would not be. (A cell the
    // earlier run reused itself ran in the run it names.)
    let ran_in = match &earlier.reused_from {
        Some(origin) => from.join(origin),
        None => from.to_path_buf(),
    };
    let file = ran_in
        .join("cells")
        .join(&cell.def.id)
        .join("expectations.toml");
    let then = std::fs::read_to_string(&file)
        .ok()
        .and_then(|text| Expectations::parse(&text, "", known).ok());
    if then.as_ref() != Some(expected) {
        return Err(usage(format!(
            "--reuse: cell {} of {} ran with other known failures than its expectation files list now ({}); run it again (--cells {})",
            cell.def.id,
            from.display(),
            file.display(),
            cell.def.id
        )));
    }
    let same = earlier.host == cell.host
        && earlier.wadm == cell.wadm
        && earlier.nats == cell.nats
        && earlier.mixed_host == cell.def.mixed_host
        && earlier.profile == profile;
    if !same {
        return Err(usage(format!(
            "--reuse: cell {} of {} ran other versions or another profile than the design says now; run it again (--cells {})",
            cell.def.id,
            from.display(),
            cell.def.id
        )));
    }
    let mut record = earlier.clone();
    // The run it ran in, so that a later run reusing this one finds it too.
    let origin = std::fs::canonicalize(&ran_in).unwrap_or(ran_in);
    record.reused_from = Some(seen_from(dir, &origin).display().to_string());
    let mut outcome = CellOutcome::NotRun(
        earlier
            .reason
            .clone()
            .unwrap_or_else(|| "not run in the reused run".into()),
    );
    let mut link = None;
    if let Some(report) = &earlier.report {
        let path = std::fs::canonicalize(from.join(report))
            .map_err(|e| usage(format!("--reuse: {}: {e}", from.join(report).display())))?;
        let text = std::fs::read_to_string(&path)
            .map_err(|e| usage(format!("--reuse: {}: {e}", path.display())))?;
        let parsed: Report = serde_json::from_str(&text)
            .map_err(|e| usage(format!("--reuse: {}: {e}", path.display())))?;
        record.verified = Some(verify_report(&path).is_ok());
        let seen = seen_from(dir, &path);
        link = Some(seen.with_file_name("report.html").display().to_string());
        record.report = Some(seen.display().to_string());
        outcome = CellOutcome::Ran(Box::new(parsed));
    }
    eprintln!(
        "matrix: {} reused from {} ({})",
        cell.def.id,
        from.display(),
        earlier.summary.as_deref().unwrap_or("not run")
    );
    Ok((record, cell.shown(profile, link, outcome)))
}

/// `target` (absolute) as seen from the run folder `dir` (absolute): `../<rest>` when both are in
/// the same results folder, else `target` itself.
fn seen_from(dir: &Path, target: &Path) -> PathBuf {
    match dir.parent().and_then(|p| target.strip_prefix(p).ok()) {
        Some(rest) => Path::new("..").join(rest),
        None => target.to_path_buf(),
    }
}

/// What `verify` says of a report: its schema, counts, coverage, catalogue and seal.
fn verify_report(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let problems = conformance_report::verify::verify(&text, conformance_suite::catalogue());
    match problems.first() {
        None => Ok(()),
        Some(p) => Err(format!(
            "{} problem(s), the first: {}",
            problems.len(),
            p.message
        )),
    }
}

/// Writes the published table into `publish` (the repository's `results/matrix/`): the matrix as
/// `README.md` and `matrix.html`, `matrix.json`, and each cell's summary as `cells/<id>.md`, the
/// links pointing at those copies.
fn publish_to(
    publish: &Path,
    dir: &Path,
    record: &MatrixRecord,
    table: &mut VersionMatrix,
    json: &str,
) -> Result<(), CliError> {
    for (cell, rec) in table.cells.iter_mut().zip(&record.cells) {
        cell.report_link = None;
        if let Some(report) = &rec.report {
            let summary = dir.join(report).with_file_name("summary.md");
            if let Ok(text) = std::fs::read_to_string(&summary) {
                let name = format!("cells/{}.md", cell.id);
                write(&publish.join(&name), &text)?;
                cell.report_link = Some(name);
            }
        }
    }
    write(&publish.join("README.md"), &table.markdown())?;
    write(&publish.join("matrix.html"), &table.html())?;
    write(&publish.join("matrix.json"), json)?;
    eprintln!("matrix: published to {}", publish.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pins() -> Pins {
        Pins {
            host: "0.27.1".into(),
            wadm: "0.21.1".into(),
            nats: "2.12.1".into(),
        }
    }

    #[test]
    fn the_repository_design_parses() {
        let path = harness::binaries::repo_root().join("suites/conformance/matrix.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let cells = parse_design(&text, "matrix.toml", &pins()).unwrap();
        assert!(cells.iter().any(|c| c.def.id == "reference"));
        let hosts: BTreeSet<&str> = cells.iter().map(|c| c.host.as_str()).collect();
        assert!(hosts.len() >= 4, "{hosts:?}");
        assert!(cells.iter().any(|c| c.def.mixed_host.is_some()));
    }

    #[test]
    fn a_cell_takes_the_pins_it_does_not_name() {
        let text = "[[cell]]\nid = \"a\"\nlabel = \"A\"\naxis = \"nats\"\nnats = \"2.10.26\"\n";
        let cells = parse_design(text, "t", &pins()).unwrap();
        assert_eq!(
            (cells[0].host.as_str(), cells[0].nats.as_str()),
            ("0.27.1", "2.10.26")
        );
        let needs: Vec<String> = cells[0].needs().iter().map(Need::id).collect();
        assert_eq!(needs, ["host-0.27.1", "wadm-0.21.1", "nats-2.10.26"]);
        let files = cells[0].expectation_files(&pins(), Path::new("/e"));
        assert_eq!(files, [PathBuf::from("/e/nats-2.10.26.toml")]);
    }

    #[test]
    fn bad_designs_are_refused_with_the_reason() {
        let cases = [
            ("[[cell]]\nid = \"a b\"\nlabel = \"\"\naxis = \"x\"\n", "use letters"),
            ("[[cell]]\nid = \"a\"\nlabel = \"\"\naxis = \"x\"\n[[cell]]\nid = \"a\"\nlabel = \"\"\naxis = \"x\"\n", "twice"),
            ("[[cell]]\nid = \"a\"\nlabel = \"\"\naxis = \"x\"\nnewer = \"b\"\n", "names no other cell"),
            ("[[cell]]\nid = \"a\"\nlabel = \"\"\naxis = \"x\"\nhost = \"1.2\"\n", "MAJOR.MINOR.PATCH"),
            ("[[cell]]\nid = \"a\"\nlabel = \"\"\naxis = \"x\"\nunsupported = [\"warp\"]\n", "unknown feature"),
            ("[[cell]]\nid = \"a\"\nlabel = \"\"\naxis = \"x\"\nprofile = \"fast\"\n", "unknown profile"),
            ("[[cell]]\nid = \"a\"\nlabel = \"\"\naxis = \"x\"\ncolour = 1\n", "malformed"),
        ];
        for (text, expected) in cases {
            let e = parse_design(text, "t", &pins()).unwrap_err();
            assert!(e.message.contains(expected), "{text}: {}", e.message);
        }
    }

    #[test]
    fn a_cell_is_reused_only_as_it_ran() {
        let text = "[[cell]]\nid = \"a\"\nlabel = \"A\"\naxis = \"host\"\nhost = \"0.25.1\"\n";
        let cell = &parse_design(text, "t", &pins()).unwrap()[0];
        let dir = tempfile::tempdir().unwrap();
        let earlier = dir.path().join("m1");
        std::fs::create_dir_all(earlier.join("cells/a")).unwrap();
        std::fs::write(earlier.join("cells/a/expectations.toml"), "").unwrap();
        let record = CellRecord {
            host: "0.24.0".into(),
            reason: Some("why".into()),
            ..cell.record("extended", &[])
        };
        let here = dir.path().join("m2");
        std::fs::create_dir_all(&here).unwrap();
        let none = Expectations::default();
        let known: Vec<&str> = conformance_suite::registry()
            .iter()
            .map(|t| t.name)
            .collect();
        let e = reuse_cell(
            &record,
            cell,
            "extended",
            &none,
            &known,
            &here,
            Some(&earlier),
        )
        .unwrap_err();
        assert!(e.message.contains("other versions"), "{}", e.message);
        let same = CellRecord {
            host: "0.25.1".into(),
            ..record.clone()
        };
        let e = reuse_cell(&same, cell, "core", &none, &known, &here, Some(&earlier)).unwrap_err();
        assert!(e.message.contains("another profile"), "{}", e.message);
        let mut listed = Expectations::default();
        listed
            .known_failures
            .insert("host::ping_reports_identity".into(), "r".into());
        let e = reuse_cell(
            &same,
            cell,
            "extended",
            &listed,
            &known,
            &here,
            Some(&earlier),
        )
        .unwrap_err();
        assert!(e.message.contains("other known failures"), "{}", e.message);
        let (rec, shown) = reuse_cell(
            &same,
            cell,
            "extended",
            &none,
            &known,
            &here,
            Some(&earlier),
        )
        .unwrap();
        assert_eq!(rec.reused_from.as_deref(), Some("../m1"));
        assert!(matches!(shown.outcome, CellOutcome::NotRun(ref why) if why == "why"));
    }
}
