//! `wasmcloud-conformance run`: checks every input first (selection, expectations, binaries,
//! results directory), then runs the selected tests in a seeded random order and writes the report.
use std::path::{Path, PathBuf};
use std::time::Instant;

use conformance_report::report::{now_rfc3339, Binary, Implementation, Report, RunInfo, Target};
use conformance_suite::framework::eligibility::{existing_skip_reason, LatticeFacts};
use conformance_suite::framework::features::{compare, detect};
use conformance_suite::framework::{
    execute_on_existing, execute_shared, fixtures_delivered, keep_from_env, record, skip_reason,
    ConformanceTest, Feature, Outcome, RunOptions, Status,
};
use futures::StreamExt as _;
use harness::binaries::{sha256_of, version_of};

use conformance_report::bundle;

use super::exit::{CliError, Exit};
use super::expectations::Expectations;
use super::order::{default_jobs_for, execution_units, random_seed, SEED_MASK};
use super::runs;
use super::select::{unsupported_features, Selection};

/// What `run` was asked to do.
pub(crate) struct RunArgs {
    pub(crate) results: PathBuf,
    pub(crate) implementation: String,
    /// `--jobs`; `None`: the backend's default ([`super::order::default_jobs_for`]).
    pub(crate) jobs: Option<u16>,
    pub(crate) selection: Selection,
    pub(crate) expectations: Option<PathBuf>,
    pub(crate) seed: Option<u64>,
    /// `--backend`; `None`: `WCC_BACKEND`, else processes (containers when an image is given).
    pub(crate) backend: Option<harness::Backend>,
    /// `--host-bin`, `--wadm-bin`, `--nats-server-bin` (or their variables): the binaries under
    /// test, as `(variable, path)`.
    pub(crate) binaries: Vec<(&'static str, PathBuf)>,
    /// `--timeout-scale` (or `WCC_TIMEOUT_SCALE`), already checked.
    pub(crate) timeout_scale: Option<f64>,
    /// `--host-image`, `--wadm-image`, `--nats-image`: vendor images (containers backend).
    pub(crate) images: Vec<(&'static str, String)>,
    /// `--target existing`: the lattice to connect to.
    pub(crate) existing: Option<harness::ExistingLattice>,
    /// `--registry` (with `--target existing`): where the fixtures are pushed for its hosts.
    pub(crate) registry: Option<harness::registry::Remote>,
    /// `--run-id` (default: a new one): the run's folder in the version folder.
    pub(crate) run_id: Option<String>,
    /// `--outputs FILE`: where the run's files, counts and verdict are appended as `key=value`.
    pub(crate) outputs: Option<PathBuf>,
    /// `--fail-fast`: after the first failure no further test starts (the rest are reported as
    /// skipped, with that reason).
    pub(crate) fail_fast: bool,
    /// `--exclude NAME`: tests left out of the run by exact name.
    pub(crate) exclude: Vec<String>,
    /// `--mutant ID` (from `power`): every host and wadm behind a nemesis with the mutant's rules.
    pub(crate) nemesis: Option<conformance_suite::framework::NemesisPlan>,
}

/// The backend of the run (`--backend`, else `WCC_BACKEND`, else containers when an image is
/// given and processes otherwise), checked against the image flags: images run only on the
/// containers backend, which needs a Docker engine.
fn choose_backend(args: &RunArgs) -> Result<harness::Backend, CliError> {
    use harness::Backend;
    let images = &args.images;
    let backend = match args.backend {
        Some(b) => b,
        None if !images.is_empty() => Backend::from_env_or(Backend::Containers)
            .map_err(|e| CliError::new(Exit::Usage, e.to_string()))?,
        None => Backend::from_env_or(Backend::Processes)
            .map_err(|e| CliError::new(Exit::Usage, e.to_string()))?,
    };
    if backend == Backend::Processes && !images.is_empty() {
        let named: Vec<String> = images.iter().map(|(v, i)| format!("{v}={i}")).collect();
        return Err(CliError::new(
            Exit::Usage,
            format!("images ({}) run only on the containers backend, not on processes; drop --backend processes / WCC_BACKEND=processes", named.join(", ")),
        ));
    }
    backend
        .ensure_usable()
        .map_err(|e| CliError::new(Exit::Backend, e.to_string()))?;
    Ok(backend)
}

/// A vendor image as the report records it: its ID and what `<image> --version` prints.
async fn describe_image(var: &str, image: &str, fallback: Binary) -> Result<Binary, CliError> {
    let missing = |why: String| {
        CliError::new(
            Exit::Binary,
            format!("{var}={image}: {why}; load or build the image first (`docker load -i image.tar`), nothing is pulled"),
        )
    };
    let inspect = tokio::process::Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", image])
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| missing(format!("the docker CLI cannot run ({e})")))?;
    if !inspect.status.success() {
        return Err(missing(format!(
            "no such image on the local Docker engine ({})",
            String::from_utf8_lossy(&inspect.stderr).trim()
        )));
    }
    let id = String::from_utf8_lossy(&inspect.stdout).trim().to_string();
    // Through the engine API, labelled with this run (the reaper removes it if this process
    // dies), and removed on the timeout.
    let version = match harness::containers::run_to_completion(
        image,
        &["--version"],
        std::time::Duration::from_secs(60),
    )
    .await
    {
        Ok(out) if out.success() => out
            .stdout
            .lines()
            .next()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty()),
        Ok(_) => None,
        Err(e) => {
            eprintln!("wasmcloud-conformance: {var}={image}: `--version` in a container: {e}");
            None
        }
    };
    Ok(Binary {
        path: format!("image {image}"),
        version,
        sha256: fallback.sha256,
        image: Some(image.to_string()),
        image_id: Some(id),
    })
}

/// Path and `--version` (the SHA-256 is added while the tests run: hashing a 300 MB host takes a while).
async fn describe(path: &Path) -> Binary {
    Binary {
        path: path.display().to_string(),
        version: version_of(path).await.ok(),
        sha256: None,
        image: None,
        image_id: None,
    }
}

/// SHA-256 of `path`, computed off the async threads.
fn hash_in_background(path: &Path) -> tokio::task::JoinHandle<Option<String>> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || sha256_of(&path).ok())
}

/// `wasmcloud 1.9.2+x` → `1.9.2+x`; anything unusable → `unknown`.
pub(crate) fn version_folder(version: Option<&str>) -> String {
    let v = version
        .and_then(|v| v.split_whitespace().last())
        .unwrap_or("unknown");
    v.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Passed => "PASS",
        Status::Failed => "FAIL",
        Status::Skipped => "SKIP",
        Status::Error => "ERROR",
    }
}

/// Creates `dir` and checks a file can be written there, before any lattice starts.
pub(crate) fn check_writable(dir: &Path) -> Result<(), CliError> {
    let fail = |e: std::io::Error, what: &str| {
        CliError::new(
            Exit::Results,
            format!(
                "cannot {what} the results directory {}: {e} (choose another with --results)",
                dir.display()
            ),
        )
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(e, "create"))?;
    let probe = dir.join(format!(".write-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| fail(e, "write into"))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Requires `bin --version` to answer (a binary that exits at once or prints nothing is unusable).
fn require_version(what: &str, b: &Binary, env: &str) -> Result<(), CliError> {
    if let (None, Some(image)) = (&b.version, &b.image) {
        return Err(CliError::new(
            Exit::Binary,
            format!("the {what} image {image} does not answer `--version` (its entrypoint must be the {what} binary, run as `<image> --version`)"),
        ));
    }
    if b.version.is_none() {
        return Err(CliError::new(
            Exit::Binary,
            format!(
                "the {what} binary {} does not answer --version (it exited with an error or printed nothing); set {env} to a working build",
                b.path
            ),
        ));
    }
    Ok(())
}

/// Runs the suite; `Ok(true)` when the run passed.
pub(crate) async fn run(args: RunArgs) -> Result<bool, CliError> {
    // The flags (clap read each from its flag or its variable) go to the harness as values: the
    // timeout factor of this process, and below the binaries, images and backend of the lattices.
    if let Some(scale) = args.timeout_scale {
        harness::settings::set_timeout_scale(scale)
            .map_err(|e| CliError::new(Exit::Usage, e.to_string()))?;
    }
    // 1. Inputs that need no binary.
    let unsupported = unsupported_features()?;
    if let Some(outputs) = &args.outputs {
        runs::check_outputs(outputs)?;
    }
    let tests = args.selection.apply(conformance_suite::registry())?;
    if let Some(unknown) = args.exclude.iter().find(|e| {
        conformance_suite::registry()
            .iter()
            .all(|t| t.name != e.as_str())
    }) {
        return Err(CliError::new(
            Exit::Usage,
            format!(
                "--exclude {unknown}: no test has that name (see `wasmcloud-conformance list`)"
            ),
        ));
    }
    let tests: Vec<&'static ConformanceTest> = tests
        .into_iter()
        .filter(|t| !args.exclude.iter().any(|e| e == t.name))
        .collect();
    let names: Vec<&str> = conformance_suite::registry()
        .iter()
        .map(|t| t.name)
        .collect();
    let (expectations, expectations_path) =
        Expectations::load(args.expectations.as_deref(), &args.implementation, &names)?;

    // 2. Where the lattices run, and the binaries (or images) under test; or the existing lattice.
    if let Some(target) = &args.existing {
        if !args.images.is_empty() || args.backend.is_some() || args.nemesis.is_some() {
            return Err(CliError::new(
                Exit::Usage,
                "--target existing starts nothing: drop --backend, --mutant and the image flags",
            ));
        }
        let options = RunOptions {
            unsupported,
            ..super::target::existing_options()
        };
        return run_existing(
            &args,
            target,
            tests,
            expectations,
            expectations_path,
            options,
        )
        .await;
    }
    let backend = choose_backend(&args)?;
    let binaries = harness::binaries::Binaries::resolve(&args.binaries)
        .map_err(|e| CliError::new(Exit::Binary, e.to_string()))?;
    let options = RunOptions {
        images: args.images.clone(),
        unsupported: unsupported.clone(),
        keep: keep_from_env(),
        nemesis: args.nemesis.clone(),
        ..RunOptions::new(binaries, backend)
    };
    let mut implementation = Implementation {
        name: args.implementation.clone(),
        host: describe(&options.binaries.host).await,
        wadm: describe(&options.binaries.wadm).await,
        nats_server: describe(&options.binaries.nats_server).await,
        mixed_host: match &options.binaries.mixed_host {
            Some(path) => Some(describe(path).await),
            None => None,
        },
    };
    for (var, image) in options.images.clone() {
        let slot = match var {
            harness::containers::HOST_IMAGE_ENV => &mut implementation.host,
            harness::containers::WADM_IMAGE_ENV => &mut implementation.wadm,
            _ => &mut implementation.nats_server,
        };
        *slot = describe_image(var, &image, Binary::default()).await?;
    }
    require_version(
        "wasmCloud host",
        &implementation.host,
        harness::binaries::HOST_ENV,
    )?;
    require_version(
        "nats-server",
        &implementation.nats_server,
        harness::binaries::NATS_SERVER_ENV,
    )?;
    if tests
        .iter()
        .any(|t| t.setup.wadm || t.features.contains(&Feature::Wadm))
    {
        require_version("wadm", &implementation.wadm, harness::binaries::WADM_ENV)?;
    }

    // 3. Where the report goes.
    let dir = report_dir(&args, &implementation)?;
    let hashes = [
        &options.binaries.host,
        &options.binaries.wadm,
        &options.binaries.nats_server,
    ]
    .map(|p| hash_in_background(p));

    // 4. What the target shows, on one probe lattice of the binaries or images under test.
    eprintln!("wasmcloud-conformance: detecting features on a probe lattice");
    let detected =
        super::target::detect_on_started(&options, implementation.wadm.version.is_some()).await;
    let target = Target {
        kind: if options.images.is_empty() {
            "binaries"
        } else {
            "images"
        }
        .into(),
        ..Default::default()
    };
    let plan = Plan {
        tests,
        expectations,
        expectations_path,
        implementation,
        dir,
        backend: backend.id().to_string(),
        jobs: args.jobs.unwrap_or_else(|| default_jobs_for(backend)),
        target,
        features: compare(&unsupported, &detected),
        mode: Mode::Started(options),
    };
    let (mut implementation, report_parts) = plan.execute(&args).await?;
    let [host, wadm, nats_server] = hashes;
    for (slot, hash) in [
        (&mut implementation.host, host),
        (&mut implementation.wadm, wadm),
        (&mut implementation.nats_server, nats_server),
    ] {
        let hash = hash.await.ok().flatten();
        if slot.image.is_none() {
            slot.sha256 = hash;
        }
    }
    report_parts.write(implementation, args.outputs.as_deref())
}

/// How tests execute: on lattices the suite starts, or on an existing lattice.
enum Mode {
    Started(RunOptions),
    Existing(harness::ExistingLattice, RunOptions, LatticeFacts),
}

/// Everything a run has settled before its tests execute.
struct Plan {
    tests: Vec<&'static ConformanceTest>,
    expectations: Expectations,
    expectations_path: Option<PathBuf>,
    implementation: Implementation,
    dir: PathBuf,
    backend: String,
    jobs: u16,
    target: Target,
    features: Vec<conformance_report::FeatureRecord>,
    mode: Mode,
}

/// A finished execution, waiting for the implementation's hashes to be written as a report.
struct Finished {
    run: RunInfo,
    started_at: String,
    records: Vec<conformance_report::TestRecord>,
    dir: PathBuf,
    seed: u64,
    clock: Instant,
}

impl Finished {
    /// Writes the report in every format, the badge and the bundle into the run's folder, points
    /// `latest` at it and appends the outputs; true when the run passed.
    fn write(
        self,
        implementation: Implementation,
        outputs: Option<&Path>,
    ) -> Result<bool, CliError> {
        let seed = self.seed;
        let report = Report::new(implementation, self.run, self.started_at, self.records);
        let failed = |e: &dyn std::fmt::Display| {
            CliError::new(Exit::Results, format!("cannot write the report: {e}"))
        };
        let files = report.write(&self.dir).map_err(|e| failed(&e))?;
        let bundle = bundle::write(&self.dir, &files, &report).map_err(|e| failed(&e))?;
        for f in files.iter().chain([&bundle]) {
            eprintln!("wrote {}", f.display());
        }
        if let (Some(version_dir), Some(id)) = (self.dir.parent(), self.dir.file_name()) {
            let id = id.to_string_lossy();
            runs::point_latest(version_dir, &id).map_err(|e| {
                failed(&format!(
                    "cannot point {}/{} at {id}: {e}",
                    version_dir.display(),
                    runs::LATEST
                ))
            })?;
        }
        if let Some(outputs) = outputs {
            let badge = self.dir.join(bundle::BADGE_FILE);
            let files = runs::RunFiles {
                dir: &self.dir,
                bundle: &bundle,
                badge: &badge,
            };
            runs::append_outputs(outputs, &runs::outputs(&report, &files))?;
        }
        for f in report.mismatches() {
            eprintln!(
                "wasmcloud-conformance: feature mismatch (reported, not fatal): `{}` declared {}, detected {}: {}",
                f.feature,
                conformance_report::report::supported_word(Some(f.declared)),
                conformance_report::report::supported_word(f.detected),
                f.evidence
            );
        }
        eprintln!(
            "wasmcloud-conformance: {}: {} in {:.0} s (seed {seed}, content_sha256 {})",
            if report.ok() { "PASSED" } else { "FAILED" },
            report.summary.line(),
            self.clock.elapsed().as_secs_f64(),
            report.content_sha256
        );
        Ok(report.ok())
    }
}

impl Plan {
    /// Runs one unit (one test, or the tests of a share group on one lattice): an outcome per
    /// test, in the unit's order. With `stop` (`--fail-fast`), a failure inside the unit keeps the
    /// unit's later tests from starting too.
    async fn run_unit(
        &self,
        unit: &[&ConformanceTest],
        stop: Option<&std::sync::atomic::AtomicBool>,
    ) -> Vec<Outcome> {
        match &self.mode {
            Mode::Started(options) => {
                let skips: Vec<Option<String>> = unit
                    .iter()
                    .map(|t| skip_reason(t, &options.unsupported, options.strict_fixtures))
                    .collect();
                let runs: Vec<&ConformanceTest> = unit
                    .iter()
                    .zip(&skips)
                    .filter(|(_, skip)| skip.is_none())
                    .map(|(t, _)| *t)
                    .collect();
                let mut ran = execute_shared(&runs, options, stop).await.into_iter();
                skips
                    .into_iter()
                    .map(|skip| match skip {
                        Some(reason) => Outcome::skipped(reason),
                        None => ran.next().unwrap_or_else(|| Outcome {
                            status: Status::Error,
                            message: Some("the harness returned no outcome for this test".into()),
                            ..Outcome::skipped(String::new())
                        }),
                    })
                    .collect()
            }
            Mode::Existing(target, options, facts) => {
                let mut outcomes = Vec::with_capacity(unit.len());
                for test in unit {
                    outcomes.push(self.run_on_existing(test, target, options, facts).await);
                }
                outcomes
            }
        }
    }

    async fn run_on_existing(
        &self,
        test: &ConformanceTest,
        target: &harness::ExistingLattice,
        options: &RunOptions,
        facts: &LatticeFacts,
    ) -> Outcome {
        // Fixtures the hosts pull from the registry need no file:// load.
        let unsupported: Vec<Feature> = match fixtures_delivered(test, &options.fixture_images) {
            true => options
                .unsupported
                .iter()
                .filter(|f| **f != Feature::FileLoad)
                .copied()
                .collect(),
            false => options.unsupported.clone(),
        };
        match skip_reason(test, &unsupported, options.strict_fixtures)
            .or_else(|| existing_skip_reason(test, facts))
        {
            Some(reason) => Outcome::skipped(reason),
            None => execute_on_existing(test, options, target).await,
        }
    }

    async fn execute(self, args: &RunArgs) -> Result<(Implementation, Finished), CliError> {
        let Plan {
            tests,
            expectations,
            expectations_path,
            implementation,
            dir,
            ..
        } = &self;
        // Tests on a shared existing lattice must not see each other: one at a time.
        let jobs = match self.mode {
            Mode::Existing(..) => 1,
            Mode::Started(_) => self.jobs,
        };
        let seed = args.seed.unwrap_or_else(random_seed) & SEED_MASK;
        let started_at = now_rfc3339();
        let total = tests.len();
        eprintln!(
            "wasmcloud-conformance: {total} test(s) of profile {} against {} ({}), {} at a time, seed {seed}{}",
            args.selection.profile.id(),
            implementation.name,
            implementation.host.version.as_deref().unwrap_or("?"),
            jobs,
            expectations_path
                .as_ref()
                .map(|p| format!(", expectations {}", p.display()))
                .unwrap_or_default(),
        );
        let clock = Instant::now();
        let plan = &self;
        let tests_ref = tests;
        let mut outcomes: Vec<(usize, Outcome)> = Vec::with_capacity(total);
        let stop = std::sync::atomic::AtomicBool::new(false);
        let stop = &stop;
        let fail_fast = args.fail_fast;
        // Tests on an existing lattice run alone; on started lattices a share group is one unit.
        let share = matches!(self.mode, Mode::Started(_));
        let mut stream =
            futures::stream::iter(execution_units(tests, seed, share).into_iter().map(
                |unit| async move {
                    let members: Vec<&ConformanceTest> =
                        unit.iter().map(|&i| tests_ref[i]).collect();
                    if stop.load(std::sync::atomic::Ordering::SeqCst) {
                        return unit
                            .into_iter()
                            .map(|i| (i, Outcome::not_run_after_failure()))
                            .collect();
                    }
                    let outcomes = plan.run_unit(&members, fail_fast.then_some(stop)).await;
                    if fail_fast
                        && outcomes
                            .iter()
                            .any(|o| matches!(o.status, Status::Failed | Status::Error))
                    {
                        stop.store(true, std::sync::atomic::Ordering::SeqCst);
                    }
                    unit.into_iter()
                        .zip(outcomes)
                        .collect::<Vec<(usize, Outcome)>>()
                },
            ))
            .buffer_unordered(usize::from(jobs));
        while let Some(unit) = stream.next().await {
            for (i, outcome) in unit {
                let done = outcomes.len() + 1;
                let known = expectations.known_failures.get(tests[i].name);
                let note = outcome
                    .message
                    .as_deref()
                    .and_then(|m| m.lines().next())
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                let expectation = match (known, outcome.status) {
                    (Some(_), Status::Failed) => " (expected failure)",
                    (Some(_), Status::Passed) => " (UNEXPECTED PASS: listed as a known failure)",
                    _ => "",
                };
                eprintln!(
                    "[{done:>3}/{total}, {} left] {:<5} {}{expectation} ({:.1} s, {:.0} s elapsed){note}",
                    total - done,
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
        }
        outcomes.sort_by_key(|(i, _)| *i);
        let records = outcomes
            .iter()
            .map(|(i, o)| {
                let record = record(tests[*i], o);
                match expectations.known_failures.get(tests[*i].name) {
                    Some(reason) => record.expecting_failure(reason),
                    None => record,
                }
            })
            .collect();
        let run = RunInfo {
            backend: self.backend.clone(),
            seed,
            selection: args
                .selection
                .record(expectations_path.as_ref().map(|p| p.display().to_string())),
            target: Some(self.target.clone()),
            features: self.features.clone(),
            catalogue: Some(conformance_suite::catalogue().reference()),
        };
        drop(stream);
        Ok((
            implementation.clone(),
            Finished {
                run,
                started_at,
                records,
                dir: dir.clone(),
                seed,
                clock,
            },
        ))
    }
}

/// `run --target existing`: connect, detect, run the eligible tests one at a time, report.
async fn run_existing(
    args: &RunArgs,
    target: &harness::ExistingLattice,
    tests: Vec<&'static ConformanceTest>,
    expectations: Expectations,
    expectations_path: Option<PathBuf>,
    options: RunOptions,
) -> Result<bool, CliError> {
    eprintln!(
        "wasmcloud-conformance: connecting to lattice {} at {}",
        target.lattice, target.nats_url
    );
    let lattice = super::target::connect(target).await?;
    let mut options = options;
    if let Some(registry) = &args.registry {
        options.fixture_images = super::target::push_fixtures(registry, &tests).await?;
    }
    let [host, wadm, nats_server] = super::target::describe_existing(&lattice, target);
    let implementation = Implementation {
        name: args.implementation.clone(),
        host,
        wadm,
        nats_server,
        mixed_host: None,
    };
    let dir = report_dir(args, &implementation)?;
    eprintln!(
        "wasmcloud-conformance: found host(s) {:?} (wadm {}); detecting features",
        lattice.host_ids(),
        if lattice.has_wadm() {
            "answers"
        } else {
            "does not answer"
        }
    );
    let detected = detect(&lattice).await;
    let facts = LatticeFacts::of(&lattice, detected.clone());
    let record = Target {
        kind: "existing".into(),
        nats_url: Some(target.nats_url.clone()),
        lattice: Some(target.lattice.clone()),
        hosts: lattice.host_ids(),
    };
    drop(lattice);
    let plan = Plan {
        tests,
        expectations,
        expectations_path,
        implementation,
        dir,
        backend: "external".into(),
        jobs: 1,
        target: record,
        features: compare(&options.unsupported, &detected),
        mode: Mode::Existing(target.clone(), options, facts),
    };
    let (implementation, finished) = plan.execute(args).await?;
    finished.write(implementation, args.outputs.as_deref())
}

/// The run's own folder, `<results>/<implementation>/<host version>/<run id>/`: the version
/// folder must be writable and the run id unused (checked before anything runs; the run's folder
/// is created when the report is written).
fn report_dir(args: &RunArgs, implementation: &Implementation) -> Result<PathBuf, CliError> {
    let version_dir = args
        .results
        .join(&implementation.name)
        .join(version_folder(implementation.host.version.as_deref()));
    check_writable(&version_dir)?;
    let id = args.run_id.clone().unwrap_or_else(runs::new_run_id);
    runs::run_dir(&version_dir, &id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_folders_are_path_safe() {
        assert_eq!(
            version_folder(Some("wasmcloud 1.9.2+reference.wasmcloud-host.0.27.1")),
            "1.9.2+reference.wasmcloud-host.0.27.1"
        );
        assert_eq!(version_folder(Some("weird/ver")), "weird_ver");
        assert_eq!(version_folder(None), "unknown");
    }

    #[test]
    fn an_unwritable_results_directory_is_reported_before_running() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let err = check_writable(&file.path().join("sub")).unwrap_err();
        assert_eq!(err.exit, Exit::Results);
        assert!(err.message.contains("--results"), "{}", err.message);
        let dir = tempfile::tempdir().unwrap();
        check_writable(&dir.path().join("a/b")).unwrap();
        assert_eq!(
            std::fs::read_dir(dir.path().join("a/b")).unwrap().count(),
            0,
            "the probe is removed"
        );
    }
}
