//! Runs one conformance test against a fresh lattice and classifies the outcome.
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use serde::Serialize;

use conformance_report::{Phases, PropertyDraw, RecordStatus, TestRecord};

use super::{ConformanceTest, Cx, Feature};
use harness::binaries::Binaries;
use harness::lattice::{HostSpec, LatticeBuilder};
use harness::otel::OtlpReceiver;
use harness::wait::scaled;

/// Keep a failed test's lattice running until Ctrl-C (`WCC_KEEP=1`).
pub const KEEP_ENV: &str = "WCC_KEEP";

/// How a test ended. Kept apart in every report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The implementation behaved as the test requires.
    Passed,
    /// The implementation did not (an assertion failed in the body).
    Failed,
    /// Not run, with a reason (unsupported feature, missing fixture).
    Skipped,
    /// The harness could not run the test (the lattice did not come up, a fixture is unusable).
    Error,
}

/// The result of one test.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// Passed, failed, skipped or error.
    pub status: Status,
    /// Wall time, from the first fixture check to the end of the teardown.
    pub duration: Duration,
    /// Where that time went (`None` when the test did not run: skipped before any work).
    pub phases: Option<Phases>,
    /// A property test's cases and seed.
    pub property: Option<PropertyDraw>,
    /// Known divergences the test recorded ([`super::Cx::observe`]).
    pub observations: Vec<String>,
    /// The times the lattice took to converge on what the body awaited.
    pub convergences: Vec<conformance_report::Convergence>,
    /// Why it failed, errored or was skipped.
    pub message: Option<String>,
    /// The failure report (lattice, events, exchanges, log tails), for failures and errors.
    pub diagnostics: Option<String>,
    /// Where the full logs were kept, for failures and errors.
    pub log_dir: Option<std::path::PathBuf>,
    /// The share group whose lattice the test ran on with others ([`execute_shared`] of more
    /// than one test).
    pub shared_lattice: Option<&'static str>,
}

impl Outcome {
    /// A test that did not run, with the reason.
    pub fn skipped(reason: String) -> Self {
        Self {
            status: Status::Skipped,
            duration: Duration::ZERO,
            phases: None,
            property: None,
            observations: Vec::new(),
            convergences: Vec::new(),
            message: Some(reason),
            diagnostics: None,
            log_dir: None,
            shared_lattice: None,
        }
    }

    /// A test that a run stopping at its first failure (`--fail-fast`) kept from starting.
    pub fn not_run_after_failure() -> Self {
        Self::skipped("not run: an earlier test failed and --fail-fast stops the run".into())
    }
}

impl From<Status> for RecordStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Passed => RecordStatus::Passed,
            Status::Failed => RecordStatus::Failed,
            Status::Skipped => RecordStatus::Skipped,
            Status::Error => RecordStatus::Error,
        }
    }
}

/// The report's record of `test` with `outcome`.
pub fn record(test: &ConformanceTest, outcome: &Outcome) -> TestRecord {
    TestRecord {
        name: test.name.to_string(),
        description: test.description.to_string(),
        area: test.area.id().to_string(),
        features: test.features.iter().map(|f| f.id().to_string()).collect(),
        covers: test.covers.iter().map(ToString::to_string).collect(),
        status: outcome.status.into(),
        // Milliseconds: finer digits are noise, and short decimals read back exactly in any parser.
        duration_seconds: outcome.duration.as_millis() as f64 / 1000.0,
        message: outcome.message.clone(),
        expected_failure_reason: None,
        log_dir: outcome.log_dir.as_ref().map(|p| p.display().to_string()),
        phases: outcome.phases,
        property: outcome.property.clone(),
        observations: outcome.observations.clone(),
        convergences: outcome.convergences.clone(),
        shared_lattice: outcome.shared_lattice.map(str::to_string),
    }
}

/// Times the phases of one test, each from the end of the previous one.
struct Clock {
    mark: Instant,
    phases: Phases,
}

impl Clock {
    fn start() -> Self {
        Self {
            mark: Instant::now(),
            phases: Phases::default(),
        }
    }

    /// Ends the running phase: returns its seconds (milliseconds kept, as in `duration_seconds`).
    fn lap(&mut self) -> f64 {
        let now = Instant::now();
        let seconds = now.duration_since(self.mark).as_millis() as f64 / 1000.0;
        self.mark = now;
        seconds
    }

    /// The outcome, its duration the sum of the phases so the report adds up.
    fn outcome(
        &self,
        status: Status,
        message: Option<String>,
        diagnostics: Option<String>,
        log_dir: Option<std::path::PathBuf>,
    ) -> Outcome {
        let p = self.phases;
        let total = p.setup + p.lattice_up + p.body + p.teardown;
        Outcome {
            status,
            duration: Duration::from_secs_f64(total),
            phases: Some(p),
            property: None,
            observations: Vec::new(),
            convergences: Vec::new(),
            message,
            diagnostics,
            log_dir,
            shared_lattice: None,
        }
    }
}

/// Options for executing tests.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The binaries under test.
    pub binaries: Binaries,
    /// The longest a test body may run (scaled by `WCC_TIMEOUT_SCALE`).
    pub test_timeout: Duration,
    /// Whether missing fixtures fail the test (CI) rather than skip it.
    pub strict_fixtures: bool,
    /// Where the lattices run (`WCC_BACKEND`, processes by default).
    pub backend: harness::Backend,
    /// Vendor images in place of the images built from the binaries (containers backend), as
    /// `(variable, image)` (`WCC_HOST_IMAGE`, `WCC_WADM_IMAGE`, `WCC_NATS_IMAGE`).
    pub images: Vec<(&'static str, String)>,
    /// The features the target declares it lacks (`WCC_TARGET_UNSUPPORTED`): tests relying on
    /// one are skipped with that reason.
    pub unsupported: Vec<Feature>,
    /// Keep a failed test's lattice running until Ctrl-C (`WCC_KEEP=1`).
    pub keep: bool,
    /// Fixtures pushed to a registry the lattice's hosts pull from (`run --registry`): tests give
    /// the hosts these references instead of `file://` paths ([`Cx::image`]).
    pub fixture_images: std::collections::HashMap<harness::fixtures::FixtureRef, String>,
    /// Every host and wadm behind a nemesis with these rules from the start (a mutant of
    /// `wasmcloud-conformance power`, or its control run with no rules).
    pub nemesis: Option<NemesisPlan>,
}

/// The nemesis rules every host and wadm of every lattice of a run starts with.
#[derive(Clone, Debug, Default)]
pub struct NemesisPlan {
    /// Rules of each host's nemesis.
    pub hosts: Vec<harness::nemesis::Rule>,
    /// Rules of wadm's nemesis.
    pub wadm: Vec<harness::nemesis::Rule>,
}

impl RunOptions {
    /// Options for `binaries` on `backend`: tests bounded at 300 s (scaled), strict fixtures when
    /// `CI` is set, no vendor image, every feature declared supported, no lattice kept.
    pub fn new(binaries: Binaries, backend: harness::Backend) -> Self {
        Self {
            binaries,
            test_timeout: Duration::from_secs(300),
            strict_fixtures: harness::settings::is_ci(),
            backend,
            images: Vec::new(),
            unsupported: Vec::new(),
            keep: false,
            fixture_images: Default::default(),
            nemesis: None,
        }
    }

    /// Options from the environment, read once: binaries from `WCC_*_BIN`, the backend from
    /// `WCC_BACKEND`, vendor images from `WCC_*_IMAGE`, strict fixtures when `CI` is set,
    /// `WCC_TARGET_UNSUPPORTED`, `WCC_KEEP`.
    pub fn from_env() -> Result<Self, harness::HarnessError> {
        Ok(Self {
            images: harness::settings::image_overrides(),
            unsupported: super::features::unsupported_from_env()
                .map_err(harness::HarnessError::Config)?,
            keep: keep_from_env(),
            ..Self::new(
                Binaries::from_env()?,
                harness::Backend::from_env_or(harness::Backend::Processes)?,
            )
        })
    }
}

/// `WCC_KEEP=1`.
pub fn keep_from_env() -> bool {
    std::env::var_os(KEEP_ENV).is_some_and(|v| v == "1")
}

/// Why the test will not run on this target, if it will not: a feature the target declares
/// `unsupported`, or (outside strict mode) a fixture that was not built.
pub fn skip_reason(
    test: &ConformanceTest,
    unsupported: &[Feature],
    strict_fixtures: bool,
) -> Option<String> {
    if let Some(f) = test.features.iter().find(|f| unsupported.contains(f)) {
        return Some(format!(
            "the target declares no support for feature `{}`",
            f.id()
        ));
    }
    if !strict_fixtures {
        for f in test.fixtures {
            if let Err(e) = harness::fixtures::fixture(*f) {
                return Some(e.to_string());
            }
        }
    }
    None
}

fn builder_for(
    test: &ConformanceTest,
    options: &RunOptions,
    otel: Option<&OtlpReceiver>,
) -> LatticeBuilder {
    let spec = HostSpec {
        labels: test
            .setup
            .host_labels
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect(),
        features: test
            .setup
            .host_features
            .iter()
            .map(|f| (*f).to_string())
            .collect(),
        env: Vec::new(),
        deny_file_load: test.setup.deny_file_load,
    };
    let mut builder = LatticeBuilder::default()
        .hosts(0)
        .wadm(test.setup.wadm)
        .binaries(options.binaries.clone())
        .backend(options.backend)
        .images(options.images.clone());
    if let Some(domain) = test.setup.js_domain {
        builder = builder.jetstream_domain(domain);
    }
    if let Some(tls) = test.setup.nats_auth {
        builder = builder.nats_auth(harness::lattice::AuthMode { tls });
    }
    if let (Some(rx), true) = (otel, test.setup.wadm) {
        for (k, v) in rx.endpoint_env() {
            builder = builder.wadm_env(&k, &v);
        }
        if test.setup.wadm_traced {
            let traces = format!("{}/v1/traces", rx.host_endpoint());
            builder = builder.wadm_env("WADM_TRACING_ENDPOINT", &traces);
        }
    }
    for (k, v) in test.setup.wadm_env {
        builder = builder.wadm_env(k, v);
    }
    for i in 0..test.setup.hosts {
        let mut spec = spec.clone();
        if let Some(extra) = test.setup.labels_per_host.get(i) {
            spec.labels.extend(
                extra
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), (*v).to_string())),
            );
        }
        if let Some(rx) = otel {
            spec.env = if i < test.setup.otel_enabled_hosts {
                rx.host_env()
            } else {
                rx.endpoint_env()
            };
        }
        if let Some(extra) = test.setup.env_per_host.get(i) {
            spec.env.extend(
                extra
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), (*v).to_string())),
            );
        }
        builder = match test.setup.nemesis.contains(&i) {
            true => builder.host_through_nemesis(spec),
            false => builder.host(spec),
        };
    }
    // A nemesis reads the protocol, so it cannot stand in a TLS connection: those lattices run
    // without one (a nemesis mutant cannot show there).
    let tls = test.setup.nats_auth == Some(true);
    if let (Some(plan), false) = (&options.nemesis, tls) {
        builder = builder
            .hosts_through_nemesis()
            .host_nemesis_rules(plan.hosts.clone());
        if test.setup.wadm {
            builder = builder
                .wadm_through_nemesis()
                .wadm_nemesis_rules(plan.wadm.clone());
        }
    }
    builder
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
        .unwrap_or_else(|| "panic with a non-string payload".into())
}

/// The command that re-runs `name` with its lattice kept alive on failure.
pub fn repro_command(name: &str) -> String {
    format!("{KEEP_ENV}=1 cargo nextest run -p conformance-suite --test conformance --no-capture -E 'test(={name})'")
}

/// Whether every fixture `test` names is delivered through a registry (`images`), so that the
/// test needs no `file://` load.
pub fn fixtures_delivered(
    test: &ConformanceTest,
    images: &std::collections::HashMap<harness::fixtures::FixtureRef, String>,
) -> bool {
    !test.fixtures.is_empty() && test.fixtures.iter().all(|f| images.contains_key(f))
}

/// Executes `test`: checks fixtures, starts its lattice, runs the body under a deadline, and on
/// failure gathers the diagnostics (and with `WCC_KEEP=1` keeps the lattice up until Ctrl-C).
pub async fn execute(test: &ConformanceTest, options: &RunOptions) -> Outcome {
    let mut outcomes = execute_shared(&[test], options, None).await;
    outcomes.pop().unwrap_or_else(|| {
        Clock::start().outcome(
            Status::Error,
            Some("the test was not executed".into()),
            None,
            None,
        )
    })
}

/// Executes `tests` one after another on one lattice, as [`execute`] does one test: the tests of
/// a share group ([`super::Setup::shared`]), which have the same lattice setup (the first test's
/// is used). The lattice is started once, counted in the first test's setup and lattice-up; its
/// teardown is counted in the last test's. A test whose fixture is missing errs without running
/// (and when every test's is, no lattice starts). Each body gets
/// a context of its own ([`Cx::sibling`]), its own deadline, status and diagnostics. A failed
/// test does not stop the others: they run on, and fail too if it broke the lattice. With `stop`
/// (a run under `--fail-fast`), a test that fails or errs sets it, and no further test starts
/// once it is set ([`Outcome::not_run_after_failure`]). One outcome per test, in order.
pub async fn execute_shared(
    tests: &[&ConformanceTest],
    options: &RunOptions,
    stop: Option<&std::sync::atomic::AtomicBool>,
) -> Vec<Outcome> {
    use std::sync::atomic::Ordering::SeqCst;
    let Some(first) = tests.first() else {
        return Vec::new();
    };
    let mut clock = Clock::start();
    // Before any lattice: every test gets the same error, its time in the first test's.
    let all_error = |clock: &Clock, message: String| -> Vec<Outcome> {
        let mut outcomes = vec![clock.outcome(Status::Error, Some(message.clone()), None, None)];
        outcomes.extend(
            tests[1..]
                .iter()
                .map(|_| Clock::start().outcome(Status::Error, Some(message.clone()), None, None)),
        );
        outcomes
    };
    // A test whose fixture is missing errs without running; no lattice starts for none.
    let missing: Vec<Option<String>> = tests
        .iter()
        .map(|t| {
            t.fixtures
                .iter()
                .find_map(|f| harness::fixtures::fixture(*f).err())
                .map(|e| e.to_string())
        })
        .collect();
    if let (true, Some(Some(message))) = (missing.iter().all(Option::is_some), missing.first()) {
        clock.phases.setup += clock.lap();
        return all_error(&clock, message.clone());
    }
    let otel = match first.setup.otel {
        true => match OtlpReceiver::start_for(options.backend).await {
            Ok(rx) => Some(rx),
            Err(e) => {
                clock.phases.setup += clock.lap();
                return all_error(&clock, format!("the OTLP receiver did not start: {e}"));
            }
        },
        false => None,
    };
    clock.phases.setup = clock.lap();
    let lattice = match builder_for(first, options, otel.as_ref()).start().await {
        Ok(l) => l,
        Err(e) => {
            clock.phases.lattice_up = clock.lap();
            drop(otel);
            clock.phases.teardown = clock.lap();
            return all_error(&clock, format!("the lattice did not come up: {e}"));
        }
    };
    clock.phases.lattice_up = clock.lap();
    let base = Cx::new(lattice, otel, Default::default());
    let mut clocks = vec![clock];
    let mut ran = Vec::with_capacity(tests.len());
    let mut keep = false;
    for (n, test) in tests.iter().enumerate() {
        if n > 0 {
            clocks.push(Clock::start());
        }
        let cx = match n {
            0 => base.clone(),
            _ => base.sibling(),
        };
        if stop.is_some_and(|s| s.load(SeqCst)) {
            ran.push(Ran::Stopped);
            continue;
        }
        if let Some(message) = &missing[n] {
            let clock = clocks.last_mut().expect("a clock per test");
            clock.phases.setup += clock.lap();
            ran.push(Ran::NotRun(message.clone()));
            stop.inspect(|s| s.store(true, SeqCst));
            continue;
        }
        let failure = run_body(test, &cx, options).await;
        if failure.is_some() {
            stop.inspect(|s| s.store(true, SeqCst));
        }
        let report = failure.as_ref().map(|failure| {
            let (diagnostics, log_dir) = failure_report(test, &cx, failure, "");
            if options.keep {
                let lattice = cx.lattice();
                eprintln!(
                    "{diagnostics}\n{KEEP_ENV}=1: lattice {} kept alive (NATS {}); press Ctrl-C to tear it down",
                    lattice.name(),
                    lattice.nats_url()
                );
            }
            (diagnostics, log_dir)
        });
        keep |= report.is_some() && options.keep;
        let clock = clocks.last_mut().expect("a clock per test");
        clock.phases.body = clock.lap();
        ran.push(Ran::Body {
            failure,
            report,
            property: cx.drawn(),
            observations: cx.observed(),
            convergences: cx.converged(),
        });
    }
    let last = clocks.last_mut().expect("a clock per test");
    if keep {
        let _ = tokio::signal::ctrl_c().await;
        last.lap();
    }
    // Hosts, wadm and NATS go (processes killed, containers removed), then the receiver.
    drop(base);
    last.phases.teardown = last.lap();
    let shared = (tests.len() > 1).then_some(first.setup.share).flatten();
    clocks
        .iter()
        .zip(ran)
        .map(|(clock, ran)| match ran {
            Ran::Stopped => Outcome::not_run_after_failure(),
            Ran::NotRun(message) => Outcome {
                shared_lattice: shared,
                ..clock.outcome(Status::Error, Some(message), None, None)
            },
            Ran::Body {
                failure,
                report,
                property,
                observations,
                convergences,
            } => {
                let outcome = match (failure, report) {
                    (Some(failure), Some((diagnostics, log_dir))) => {
                        clock.outcome(Status::Failed, Some(failure), Some(diagnostics), log_dir)
                    }
                    _ => clock.outcome(Status::Passed, None, None, None),
                };
                Outcome {
                    property,
                    observations,
                    convergences,
                    shared_lattice: shared,
                    ..outcome
                }
            }
        })
        .collect()
}

/// What became of one test of [`execute_shared`] before its outcome is put together.
enum Ran {
    /// The run stopped at an earlier failure (`--fail-fast`) before it started.
    Stopped,
    /// A fixture it needs is missing (the message says which).
    NotRun(String),
    /// Its body ran: the failure and its report if it failed, and what the body recorded.
    Body {
        failure: Option<String>,
        report: Option<(String, Option<std::path::PathBuf>)>,
        property: Option<PropertyDraw>,
        observations: Vec<String>,
        convergences: Vec<conformance_report::Convergence>,
    },
}

/// Runs the body under the test deadline; the failure message, if it failed or panicked.
async fn run_body(test: &ConformanceTest, cx: &Cx, options: &RunOptions) -> Option<String> {
    let timeout = scaled(options.test_timeout);
    let body = AssertUnwindSafe(cx.recording((test.run)(cx.clone()))).catch_unwind();
    match tokio::time::timeout(timeout, body).await {
        Ok(Ok(Ok(()))) => None,
        Ok(Ok(Err(e))) => Some(cx.scrub(&format!("{e:#}"))),
        Ok(Err(panic)) => Some(cx.scrub(&panic_message(&*panic))),
        Err(_) => Some(format!("the test body did not finish within {timeout:?}")),
    }
}

/// The failure block (written to `diagnostics.txt` in the kept log folder) and that folder.
fn failure_report(
    test: &ConformanceTest,
    cx: &Cx,
    failure: &str,
    extra: &str,
) -> (String, Option<std::path::PathBuf>) {
    let lattice = cx.lattice();
    let log_dir = lattice.keep_logs();
    let otel_summary = cx
        .otel()
        .map(|rx| format!("--- OTLP receiver ---\n{}\n", rx.summary()))
        .unwrap_or_default();
    // The test's secrets never reach the report, whatever the logs and events carried.
    let diagnostics = cx.scrub(&format!(
        "=== {} failed ===\n{failure}\n{}{otel_summary}{extra}--- reproduce with the lattice kept alive ---\n{}\n",
        test.name,
        lattice.diagnostics(),
        repro_command(test.name)
    ));
    // Appended: the tests of a share group keep one folder, each failure's block in turn.
    if let Some(dir) = &log_dir {
        use std::io::Write as _;
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("diagnostics.txt"))
            .and_then(|mut f| f.write_all(diagnostics.as_bytes()));
    }
    (diagnostics, log_dir)
}

/// Executes `test` on an existing lattice the suite only connects to (`target`), which must be
/// eligible there ([`super::eligibility::existing_skip_reason`]); run one test at a time. Records
/// what ran before, runs the body, then restores that state (wadm applications, links, configs
/// the test put, components and providers), bounded; what could not be restored is added to the
/// message and the diagnostics. Nothing is ever stopped that ran before the test.
pub async fn execute_on_existing(
    test: &ConformanceTest,
    options: &RunOptions,
    target: &harness::ExistingLattice,
) -> Outcome {
    let mut clock = Clock::start();
    let outcome = |clock: &Clock, status, message: Option<String>, diagnostics: Option<String>| {
        clock.outcome(status, message, diagnostics, None)
    };
    for f in test.fixtures {
        if let Err(e) = harness::fixtures::fixture(*f) {
            clock.phases.setup = clock.lap();
            return outcome(&clock, Status::Error, Some(e.to_string()), None);
        }
    }
    clock.phases.setup = clock.lap();
    let lattice = match target.connect().await {
        Ok(l) => l,
        Err(e) => {
            clock.phases.lattice_up = clock.lap();
            return outcome(
                &clock,
                Status::Error,
                Some(format!("the existing lattice did not answer: {e}")),
                None,
            );
        }
    };
    clock.phases.lattice_up = clock.lap();
    let before = match harness::existing::LatticeState::capture(&lattice).await {
        Ok(s) => s,
        Err(e) => {
            clock.phases.setup += clock.lap();
            return outcome(
                &clock,
                Status::Error,
                Some(format!(
                    "could not read the lattice's state before the test: {e}"
                )),
                None,
            );
        }
    };
    clock.phases.setup += clock.lap();
    let cx = Cx::new(lattice, None, options.fixture_images.clone());
    let failure = run_body(test, &cx, options).await;
    clock.phases.body = clock.lap();
    let property = cx.drawn();
    let observations = cx.observed();
    let convergences = cx.converged();
    let configs = harness::existing::configs_put(cx.journal());
    let left = harness::existing::restore(cx.lattice(), &before, &configs).await;
    clock.phases.teardown = clock.lap();
    let restore_note = match left.is_empty() {
        true => String::new(),
        false => format!("--- not restored after the test ---\n{}\n", left.join("\n")),
    };
    let left_line = (!left.is_empty()).then(|| {
        format!(
            "left on the lattice after the test (restore failed): {}",
            left.join("; ")
        )
    });
    let result = match failure {
        None => outcome(
            &clock,
            Status::Passed,
            left_line,
            (!restore_note.is_empty()).then(|| format!("=== {} ===\n{restore_note}", test.name)),
        ),
        Some(failure) => {
            let (diagnostics, _) = failure_report(test, &cx, &failure, &restore_note);
            let message = match left_line {
                Some(l) => format!("{failure}\n{l}"),
                None => failure,
            };
            outcome(&clock, Status::Failed, Some(message), Some(diagnostics))
        }
    };
    Outcome {
        property,
        observations,
        convergences,
        ..result
    }
}
