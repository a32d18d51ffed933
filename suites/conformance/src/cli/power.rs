//! `wasmcloud-conformance power`: mutation analysis of the suite. Runs the selected tests once
//! through a control (every host and wadm behind a nemesis without rules) and once against each
//! mutant host of `conformance_suite::power`, each run stopping at its first failure, and writes
//! `power.json` and `summary.md` with the score and, per mutant, which tests killed it.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use conformance_suite::power::{self, How, Mutant, CONTROL};
use futures::StreamExt as _;
use serde::Serialize;

use super::child::{failed_tests, ChildRun};
use super::exit::{CliError, Exit};
use super::select::Selection;

/// The implementation name of every run of a power analysis (its reports go under
/// `<dir>/runs/power/<host version>/<run id>/`).
const IMPLEMENTATION: &str = "power";

pub(crate) struct PowerArgs {
    pub(crate) results: PathBuf,
    pub(crate) run_id: Option<String>,
    /// Mutant ids; empty: every mutant.
    pub(crate) mutants: Vec<String>,
    /// Run only this many mutants, drawn with `seed`.
    pub(crate) sample: Option<usize>,
    pub(crate) seed: Option<u64>,
    /// Mutant runs at once.
    pub(crate) jobs: u16,
    /// Tests at once inside each run.
    pub(crate) test_jobs: u16,
    /// The selection as given (profile, features, filters), passed on to every run.
    pub(crate) profile: String,
    pub(crate) features: Vec<String>,
    pub(crate) filters: Vec<String>,
    /// `(variable, path)` of the binaries given.
    pub(crate) binaries: Vec<(&'static str, PathBuf)>,
    pub(crate) timeout_scale: Option<f64>,
    /// The report of an earlier control run to reuse instead of running the control again (same
    /// binaries and selection: the caller's word).
    pub(crate) control_report: Option<PathBuf>,
}

#[derive(Serialize)]
struct PowerReport {
    schema: &'static str,
    started_at: String,
    duration_seconds: f64,
    host: String,
    selection: String,
    score: f64,
    killed: usize,
    survived: usize,
    errors: usize,
    control: ControlRecord,
    mutants: Vec<MutantRecord>,
}

#[derive(Serialize)]
struct ControlRecord {
    /// Tests that fail with every host behind a rule-less nemesis: not counted as kills, and
    /// left out of the mutant runs.
    failed: Vec<String>,
    duration_seconds: f64,
    report: String,
    /// Whether the control is an earlier run's (`--control-report`).
    reused: bool,
}

#[derive(Clone, Serialize)]
struct MutantRecord {
    id: String,
    feature: String,
    change: String,
    how: String,
    /// killed, survived, or error (the run could not be judged).
    status: String,
    killed_by: Vec<String>,
    /// suspects (the first, short run) or suite (the rest of the selection).
    killed_in: Option<String>,
    duration_seconds: f64,
    reports: Vec<String>,
    note: Option<String>,
}

/// What one `run` subprocess left.
struct RunResult {
    /// Tests that failed or errored.
    failed: Vec<String>,
    report: String,
}

pub(crate) async fn power(args: PowerArgs) -> Result<bool, CliError> {
    let started = Instant::now();
    let started_at = conformance_report::report::now_rfc3339();
    let selection = Selection::parse(&args.profile, &args.features, &args.filters)?;
    let selected: BTreeSet<&'static str> = selection
        .apply(conformance_suite::registry())?
        .iter()
        .map(|t| t.name)
        .collect();
    let mutants = choose(&args)?;
    let binaries = harness::binaries::Binaries::resolve(&args.binaries)
        .map_err(|e| CliError::new(Exit::Binary, e.to_string()))?;
    let (_, dir) = super::runs::new_parent_run(
        &args.results,
        args.run_id.as_deref(),
        &["runs", "logs", "wrappers"],
    )?;
    let runner = Runner {
        dir: dir.clone(),
        args: &args,
        binaries: &binaries,
    };

    let control_clock = Instant::now();
    let control = match &args.control_report {
        Some(report) => {
            eprintln!("power: the control of {} (reused)", report.display());
            RunResult {
                failed: failed_tests(report)?,
                report: report.display().to_string(),
            }
        }
        None => {
            eprintln!(
                "power: control run ({} tests, every host and wadm behind a nemesis without rules)",
                selected.len()
            );
            runner
                .run(CONTROL, Some(CONTROL), None, &Phase::All { exclude: &[] })
                .await?
        }
    };
    let control_failed: Vec<String> = control.failed.clone();
    if !control_failed.is_empty() {
        eprintln!(
            "power: {} test(s) fail in the control and are left out: {}",
            control_failed.len(),
            control_failed.join(", ")
        );
    }
    let control = ControlRecord {
        failed: control_failed.clone(),
        duration_seconds: control_clock.elapsed().as_secs_f64(),
        report: control.report,
        reused: args.control_report.is_some(),
    };

    let records: Vec<MutantRecord> = futures::stream::iter(mutants.iter().map(|m| {
        let runner = &runner;
        let control_failed = &control_failed;
        let selected = &selected;
        async move { judge(runner, m, selected, control_failed).await }
    }))
    .buffer_unordered(usize::from(args.jobs))
    .collect()
    .await;

    let mut records = records;
    // Survivors first, then errors, then the killed; catalogue order inside each.
    let order: BTreeMap<&str, usize> = power::mutants()
        .iter()
        .enumerate()
        .map(|(i, m)| (m.id, i))
        .collect();
    records.sort_by_key(|r| {
        let rank = match r.status.as_str() {
            "survived" => 0,
            "error" => 1,
            _ => 2,
        };
        (
            rank,
            order.get(r.id.as_str()).copied().unwrap_or(usize::MAX),
        )
    });
    let killed = records.iter().filter(|r| r.status == "killed").count();
    let survived = records.iter().filter(|r| r.status == "survived").count();
    let errors = records.iter().filter(|r| r.status == "error").count();
    let judged = killed + survived;
    let report = PowerReport {
        schema: "wcc-power-v1",
        started_at,
        duration_seconds: started.elapsed().as_secs_f64(),
        host: binaries.host.display().to_string(),
        selection: selection_line(&args),
        score: if judged == 0 {
            0.0
        } else {
            killed as f64 / judged as f64
        },
        killed,
        survived,
        errors,
        control,
        mutants: records,
    };
    let json = serde_json::to_string_pretty(&report)
        .map_err(|e| CliError::new(Exit::Internal, format!("cannot encode power.json: {e}")))?;
    write(&dir.join("power.json"), &json)?;
    write(&dir.join("summary.md"), &summary(&report))?;
    eprintln!(
        "power: score {:.1}% ({killed} killed, {survived} survived, {errors} not judged) in {:.0} s; {}",
        report.score * 100.0,
        report.duration_seconds,
        dir.join("summary.md").display()
    );
    Ok(survived == 0 && errors == 0)
}

fn write(path: &Path, text: &str) -> Result<(), CliError> {
    std::fs::write(path, text).map_err(|e| {
        CliError::new(
            Exit::Results,
            format!("cannot write {}: {e}", path.display()),
        )
    })
}

fn selection_line(args: &PowerArgs) -> String {
    let mut s = format!("--profile {}", args.profile);
    for f in &args.features {
        s.push_str(&format!(" --feature {f}"));
    }
    for f in &args.filters {
        s.push_str(&format!(" --filter {f}"));
    }
    s
}

/// The mutants to run: those named, a seeded sample, or all.
fn choose(args: &PowerArgs) -> Result<Vec<&'static Mutant>, CliError> {
    let mut chosen: Vec<&'static Mutant> = match args.mutants.is_empty() {
        true => power::mutants().iter().collect(),
        false => args
            .mutants
            .iter()
            .map(|id| {
                power::find(id).ok_or_else(|| {
                    let known: Vec<&str> = power::mutants().iter().map(|m| m.id).collect();
                    CliError::new(
                        Exit::Usage,
                        format!(
                            "--mutants {id}: no such mutant; known: {}",
                            known.join(", ")
                        ),
                    )
                })
            })
            .collect::<Result<_, _>>()?,
    };
    if let Some(n) = args.sample {
        let seed = args.seed.unwrap_or_else(super::order::random_seed);
        eprintln!("power: a sample of {n} mutant(s), seed {seed}");
        let order = super::order::execution_order(chosen.len(), seed);
        chosen = order.into_iter().take(n).map(|i| chosen[i]).collect();
    }
    Ok(chosen)
}

enum Phase<'a> {
    /// Only these tests.
    Only(&'a [&'static str]),
    /// The whole selection but these.
    All { exclude: &'a [String] },
}

struct Runner<'a> {
    dir: PathBuf,
    args: &'a PowerArgs,
    binaries: &'a harness::binaries::Binaries,
}

impl Runner<'_> {
    /// One `wasmcloud-conformance run` as a child process; its failed tests.
    async fn run(
        &self,
        run_id: &str,
        mutant: Option<&str>,
        host_bin: Option<&Path>,
        phase: &Phase<'_>,
    ) -> Result<RunResult, CliError> {
        let logs = self.dir.join("logs");
        let mut child = ChildRun::new(
            logs.join(format!("{run_id}.log")),
            logs.join(format!("{run_id}.outputs")),
        );
        child
            .flag("--implementation", IMPLEMENTATION)
            .flag("--run-id", run_id)
            .flag("--results", self.dir.join("runs"))
            .flag("--jobs", self.args.test_jobs.to_string())
            .flag("--backend", "processes")
            .flag("--host-bin", host_bin.unwrap_or(&self.binaries.host))
            .flag("--wadm-bin", &self.binaries.wadm)
            .flag("--nats-server-bin", &self.binaries.nats_server);
        if let Some(scale) = self.args.timeout_scale {
            child.flag("--timeout-scale", scale.to_string());
        }
        if let Some(m) = mutant {
            child.flag("--mutant", m);
        }
        match phase {
            Phase::Only(names) => {
                child.flag("--profile", "extended");
                for n in *names {
                    child.flag("--filter", n);
                }
                child.switch("--fail-fast");
            }
            Phase::All { exclude } => {
                child.flag("--profile", &self.args.profile);
                for f in &self.args.features {
                    child.flag("--feature", f);
                }
                for f in &self.args.filters {
                    child.flag("--filter", f);
                }
                for e in *exclude {
                    child.flag("--exclude", e);
                }
                if mutant != Some(CONTROL) {
                    child.switch("--fail-fast");
                }
            }
        }
        let report = child.report(run_id).await?;
        let failed = failed_tests(&report)?;
        Ok(RunResult {
            failed,
            report: report.display().to_string(),
        })
    }
}

/// Runs one mutant: its suspects first, then (if none killed it) the rest of the selection.
async fn judge(
    runner: &Runner<'_>,
    m: &'static Mutant,
    selected: &BTreeSet<&'static str>,
    control_failed: &[String],
) -> MutantRecord {
    let clock = Instant::now();
    let mut record = MutantRecord {
        id: m.id.into(),
        feature: m.feature.id().into(),
        change: m.change.into(),
        how: match m.how {
            How::Nemesis { .. } => "nemesis".into(),
            How::Env { .. } => "environment".into(),
        },
        status: "error".into(),
        killed_by: Vec::new(),
        killed_in: None,
        duration_seconds: 0.0,
        reports: Vec::new(),
        note: None,
    };
    let outcome = async {
        let wrapper = match m.wrapper(&runner.binaries.host) {
            Some(script) => Some(write_wrapper(&runner.dir, m.id, &script)?),
            None => None,
        };
        let mutant = m.nemesis_plan().map(|_| m.id);
        let suspects: Vec<&'static str> = m
            .suspects
            .iter()
            .copied()
            .filter(|s| selected.contains(s) && !control_failed.iter().any(|c| c == s))
            .collect();
        if !suspects.is_empty() {
            let r = runner
                .run(
                    &format!("{}-suspects", m.id),
                    mutant,
                    wrapper.as_deref(),
                    &Phase::Only(&suspects),
                )
                .await?;
            record.reports.push(r.report.clone());
            let killers = kills(&r.failed, control_failed);
            if !killers.is_empty() {
                return Ok::<_, CliError>((killers, "suspects"));
            }
        }
        let mut exclude: Vec<String> = control_failed.to_vec();
        exclude.extend(suspects.iter().map(|s| s.to_string()));
        if selected.iter().all(|t| exclude.iter().any(|e| e == t)) {
            return Ok((Vec::new(), "suite"));
        }
        let r = runner
            .run(
                &format!("{}-suite", m.id),
                mutant,
                wrapper.as_deref(),
                &Phase::All { exclude: &exclude },
            )
            .await?;
        record.reports.push(r.report.clone());
        Ok((kills(&r.failed, control_failed), "suite"))
    }
    .await;
    match outcome {
        Ok((killers, phase)) if !killers.is_empty() => {
            record.status = "killed".into();
            record.killed_by = killers;
            record.killed_in = Some(phase.into());
        }
        Ok(_) => record.status = "survived".into(),
        Err(e) => record.note = Some(e.message),
    }
    record.duration_seconds = clock.elapsed().as_secs_f64();
    eprintln!(
        "power: {:<36} {:<8} {:>5.0} s {}",
        record.id,
        record.status,
        record.duration_seconds,
        record.killed_by.join(", ")
    );
    record
}

/// Failures that count as kills: those the control did not have.
fn kills(failed: &[String], control_failed: &[String]) -> Vec<String> {
    failed
        .iter()
        .filter(|f| !control_failed.contains(f))
        .cloned()
        .collect()
}

fn write_wrapper(dir: &Path, id: &str, script: &str) -> Result<PathBuf, CliError> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join("wrappers").join(id);
    std::fs::write(&path, script)
        .and_then(|()| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)))
        .map_err(|e| {
            CliError::new(
                Exit::Results,
                format!("cannot write {}: {e}", path.display()),
            )
        })?;
    Ok(path)
}

/// `summary.md`: the score, then every mutant, survivors first.
fn summary(r: &PowerReport) -> String {
    let mut s = String::new();
    s.push_str("# Power of the suite (mutation analysis)\n\n");
    s.push_str(&format!(
        "**Score {:.1}%**: {} of {} mutants killed ({} survived, {} not judged), {} ({:.0} s). Host: `{}`.\n\n",
        r.score * 100.0,
        r.killed,
        r.killed + r.survived,
        r.survived,
        r.errors,
        r.selection,
        r.duration_seconds,
        r.host
    ));
    s.push_str(&format!(
        "Control (every host and wadm behind a nemesis without rules, {}): {}.\n\n",
        match r.control.reused {
            true => format!("reused from {}", r.control.report),
            false => format!("{:.0} s", r.control.duration_seconds),
        },
        match r.control.failed.is_empty() {
            true => "every test passed".to_string(),
            false => format!(
                "{} failed and are not counted: {}",
                r.control.failed.len(),
                r.control.failed.join(", ")
            ),
        }
    ));
    s.push_str(
        "| mutant | feature | what it changes | status | killed by |\n|---|---|---|---|---|\n",
    );
    for m in &r.mutants {
        let by = match (&m.status[..], &m.note) {
            ("killed", _) => format!(
                "{} ({})",
                m.killed_by.join(", "),
                m.killed_in.as_deref().unwrap_or("")
            ),
            ("error", Some(n)) => n.replace('|', "\\|"),
            _ => "—".into(),
        };
        s.push_str(&format!(
            "| `{}` | {} | {} ({}) | **{}** | {} |\n",
            m.id, m.feature, m.change, m.how, m.status, by
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, status: &str, by: &[&str]) -> MutantRecord {
        MutantRecord {
            id: id.into(),
            feature: "networking".into(),
            change: "x".into(),
            how: "nemesis".into(),
            status: status.into(),
            killed_by: by.iter().map(|s| s.to_string()).collect(),
            killed_in: (!by.is_empty()).then(|| "suspects".into()),
            duration_seconds: 1.0,
            reports: Vec::new(),
            note: None,
        }
    }

    #[test]
    fn kills_leave_out_what_the_control_failed() {
        let failed = vec!["a".to_string(), "b".to_string()];
        assert_eq!(kills(&failed, &["a".to_string()]), ["b"]);
        assert!(kills(&failed, &failed).is_empty());
    }

    #[test]
    fn the_summary_gives_the_score_and_each_mutant() {
        let r = PowerReport {
            schema: "wcc-power-v1",
            started_at: "t".into(),
            duration_seconds: 10.0,
            host: "/h".into(),
            selection: "--profile core".into(),
            score: 0.5,
            killed: 1,
            survived: 1,
            errors: 0,
            control: ControlRecord {
                failed: vec!["x::y".into()],
                duration_seconds: 3.0,
                report: "r".into(),
                reused: false,
            },
            mutants: vec![
                record("s", "survived", &[]),
                record("k", "killed", &["t::u"]),
            ],
        };
        let s = summary(&r);
        assert!(s.contains("**Score 50.0%**: 1 of 2 mutants killed"), "{s}");
        assert!(s.contains("1 failed and are not counted: x::y"), "{s}");
        let survived = s.find("| `s` |").unwrap();
        let killed = s.find("| `k` |").unwrap();
        assert!(survived < killed, "{s}");
        assert!(s.contains("t::u (suspects)"), "{s}");
    }

    #[test]
    fn failed_tests_are_read_from_a_report() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("report.json");
        std::fs::write(
            &p,
            r#"{"tests":[{"name":"a","status":"passed"},{"name":"b","status":"failed"},{"name":"c","status":"error"},{"name":"d","status":"skipped"}]}"#,
        )
        .unwrap();
        assert_eq!(failed_tests(&p).unwrap(), ["b", "c"]);
        assert!(failed_tests(&dir.path().join("none.json")).is_err());
    }
}
