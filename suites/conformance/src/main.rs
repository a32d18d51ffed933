//! `wasmcloud-conformance`: runs the conformance suite against a wasmCloud lattice and writes a
//! sealed report (JSON, JUnit, Markdown, HTML, badge, bundle) under
//! `results/<implementation>/<host version>/<run id>/`; verifies and compares reports.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

mod cli {
    pub(crate) mod child;
    pub(crate) mod diff;
    pub(crate) mod exit;
    pub(crate) mod expectations;
    pub(crate) mod matrix;
    pub(crate) mod order;
    pub(crate) mod power;
    pub(crate) mod reap;
    pub(crate) mod run;
    pub(crate) mod runs;
    pub(crate) mod select;
    pub(crate) mod target;
    pub(crate) mod verify;
}

use cli::exit::{CliError, Exit};
use cli::select::{Profile, Selection};

const ABOUT: &str = "wasmCloud 1.x conformance suite";

const LONG_ABOUT: &str = "wasmCloud 1.x conformance suite.

Vendor flow:
  wasmcloud-conformance run --implementation acme --profile core \\
    --host-bin /opt/acme/wasmcloud --wadm-bin /opt/acme/wadm
  (each binary flag has its variable: WCC_HOST_BIN, WCC_WADM_BIN, WCC_NATS_SERVER_BIN; a flag wins)
  or, with images on the local Docker engine (containers backend):
  wasmcloud-conformance run --implementation acme --host-image acme/wasmcloud:1.9 --wadm-image acme/wadm:0.21
  or, against a lattice you run (the suite only connects; one test at a time, each undone after):
  wasmcloud-conformance run --implementation acme --target existing --nats-url nats://nats.acme:4222 \\
    [--nats-creds acme.creds] [--nats-tls-ca ca.pem] --lattice default \\
    [--registry registry.acme:5000]
  Each run writes results/<implementation>/<host version>/<run id>/ (report.json, report.html,
  summary.md, junit.xml, badge.svg, bundle.tar.gz); <host version>/latest links to the newest.
  wasmcloud-conformance verify results/acme/<host version>/latest/bundle.tar.gz
  wasmcloud-conformance diff results/reference/<version>/latest/report.json results/acme/<version>/latest/report.json

Profiles (--profile): extended (every test, the default); core (tests relying on neither wadm nor
the host's builtin HTTP server); or an area: host, orchestration, networking, vendorless,
observability, security; or multi-host (tests starting two hosts or more, for --mixed-host-bin).
--feature and --filter narrow the profile further.

Expectation files (known failures): suites/conformance/expectations/<implementation>.toml, or
--expectations FILE:
  [[known-failure]]
  test = \"links::conflicting_target_rejected\"
  reason = \"why, with a tracking reference\"
A known failure that fails is `expected-failure` (the run still passes); one that passes is
`unexpected-pass` (the run fails).

Every run first detects which features the lattice shows (on the existing lattice, or on one
probe lattice of the binaries/images under test) and compares them with WCC_TARGET_UNSUPPORTED;
the report's `features` section lists both, and mismatches head the summaries. A mismatch is
reported, never fatal: the declaration decides which tests run.";

fn parse_backend(s: &str) -> Result<harness::Backend, String> {
    s.parse()
        .map_err(|_: harness::HarnessError| "expected `processes` or `containers`".to_string())
}

/// `--timeout-scale` / `WCC_TIMEOUT_SCALE` (clap reads both, so a malformed variable is refused
/// like a malformed flag: the same message and exit code).
fn timeout_scale(s: &str) -> Result<f64, String> {
    harness::settings::parse_timeout_scale(s).map_err(|e| {
        format!(
            "{e}; from --timeout-scale or {}",
            harness::wait::TIMEOUT_SCALE_ENV
        )
    })
}

/// The name must make a safe folder name under --results.
fn implementation_name(s: &str) -> Result<String, String> {
    let ok = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
    if ok {
        Ok(s.to_string())
    } else {
        Err("use letters, digits, '.', '_' and '-', starting with a letter or digit".into())
    }
}

#[derive(Parser)]
#[command(name = "wasmcloud-conformance", version, about = ABOUT, long_about = LONG_ABOUT)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The binaries under test (and the timeout factor of the machine that runs them).
#[derive(Args)]
struct BinaryArgs {
    /// The wasmCloud host binary under test (default: the reference build, .wcc/bin/wasmcloud).
    #[arg(long, env = harness::binaries::HOST_ENV, value_name = "PATH")]
    host_bin: Option<PathBuf>,
    /// The wadm binary (default: .wcc/bin/wadm).
    #[arg(long, env = harness::binaries::WADM_ENV, value_name = "PATH")]
    wadm_bin: Option<PathBuf>,
    /// The nats-server binary (default: .wcc/bin/nats-server).
    #[arg(long, env = harness::binaries::NATS_SERVER_ENV, value_name = "PATH")]
    nats_server_bin: Option<PathBuf>,
    /// A second host binary that every host but the first runs: a mixed-version lattice, as in a
    /// rolling upgrade (processes backend only; pair it with --min-hosts 2).
    #[arg(long, env = harness::binaries::MIXED_HOST_ENV, value_name = "PATH")]
    mixed_host_bin: Option<PathBuf>,
    /// Multiplies every timeout of the harness, for a slow or loaded machine (e.g. 3).
    #[arg(long, env = harness::wait::TIMEOUT_SCALE_ENV, value_name = "FACTOR", value_parser = timeout_scale)]
    timeout_scale: Option<f64>,
}

impl BinaryArgs {
    /// The binaries given, as `(variable, path)`.
    fn given(&self) -> Vec<(&'static str, PathBuf)> {
        [
            (harness::binaries::HOST_ENV, &self.host_bin),
            (harness::binaries::WADM_ENV, &self.wadm_bin),
            (harness::binaries::NATS_SERVER_ENV, &self.nats_server_bin),
            (harness::binaries::MIXED_HOST_ENV, &self.mixed_host_bin),
        ]
        .into_iter()
        .filter_map(|(var, path)| path.clone().map(|p| (var, p)))
        .collect()
    }
}

/// Which tests.
#[derive(Args)]
struct SelectArgs {
    /// core, extended, an area (host, orchestration, networking, vendorless, observability, security), or multi-host (tests starting two hosts or more).
    #[arg(long, default_value = "extended")]
    profile: String,
    /// Only tests relying on this feature (repeatable: any of them), e.g. `wadm`, `links`.
    #[arg(long = "feature")]
    features: Vec<String>,
    /// Only tests whose name contains this text (repeatable: any of them).
    #[arg(long = "filter")]
    filters: Vec<String>,
}

impl SelectArgs {
    fn parse(&self) -> Result<Selection, CliError> {
        Selection::parse(&self.profile, &self.features, &self.filters)
    }
}

// Parsed once per process: the size of `Run` does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Stand up lattices of the binaries under test, run the selected tests, write the report.
    Run {
        /// Where reports go: each run gets `<implementation>/<host version>/<run id>/` inside,
        /// and `<implementation>/<host version>/latest` links to the newest. Runs are kept until
        /// you remove their folders.
        #[arg(long, default_value_os_t = harness::binaries::repo_root().join("results"))]
        results: PathBuf,
        /// The run's folder name (default: its UTC start time and 4 random hex digits, e.g.
        /// 20261202T160102Z-3fa9). An id already used is refused: runs never overwrite each other.
        #[arg(long, value_parser = cli::runs::parse_run_id)]
        run_id: Option<String>,
        /// Append the run's outputs to FILE as `key=value` lines (GitHub's $GITHUB_OUTPUT format):
        /// report-dir, report, summary, bundle, badge, passed, failed, skipped, total, verdict.
        #[arg(long, value_name = "FILE")]
        outputs: Option<PathBuf>,
        /// Name of the implementation under test, used in the report, its folder and the default
        /// expectation file.
        #[arg(long, default_value = "reference", value_parser = implementation_name)]
        implementation: String,
        /// Lattices at once, each running one test or one share group (default: two per CPU core
        /// on the processes backend, where the run is bound by the hosts compiling components;
        /// 2 on the containers backend).
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=16))]
        jobs: Option<u16>,
        #[command(flatten)]
        select: SelectArgs,
        /// Expectation file (default: `suites/conformance/expectations/<implementation>.toml` if present).
        #[arg(long)]
        expectations: Option<PathBuf>,
        /// Seed of the execution order (default: random; the report records it).
        #[arg(long)]
        seed: Option<u64>,
        /// Where the lattices run: processes or containers (default: WCC_BACKEND, else processes;
        /// containers when an image is given).
        #[arg(long, value_parser = parse_backend)]
        backend: Option<harness::Backend>,
        #[command(flatten)]
        bins: BinaryArgs,
        /// A vendor's host image on the local Docker engine (containers backend).
        #[arg(long, env = harness::containers::HOST_IMAGE_ENV, value_name = "IMAGE")]
        host_image: Option<String>,
        /// A vendor's wadm image.
        #[arg(long, env = harness::containers::WADM_IMAGE_ENV, value_name = "IMAGE")]
        wadm_image: Option<String>,
        /// A NATS server image.
        #[arg(long, env = harness::containers::NATS_IMAGE_ENV, value_name = "IMAGE")]
        nats_image: Option<String>,
        /// started: lattices the suite starts, one per test; existing: a lattice you run, which
        /// the suite only connects to (tests run one at a time, each undone after it).
        #[arg(long, value_enum, env = "WCC_TARGET", default_value = "started")]
        target: cli::target::TargetKind,
        /// NATS URL of the existing lattice (--target existing).
        #[arg(long, env = "WCC_NATS_URL")]
        nats_url: Option<String>,
        /// NATS credentials file (.creds) for the existing lattice, when its server needs one.
        #[arg(long, env = "WCC_NATS_CREDS")]
        nats_creds: Option<PathBuf>,
        /// CA certificate (PEM) to trust for the existing lattice's NATS server: TLS is then
        /// required (--target existing).
        #[arg(long, env = "WCC_NATS_TLS_CA")]
        nats_tls_ca: Option<PathBuf>,
        /// Lattice name of the existing lattice (its hosts' WASMCLOUD_LATTICE).
        #[arg(long, env = "WCC_LATTICE", default_value = "default")]
        lattice: String,
        /// An OCI registry the existing lattice's hosts pull from (HOST[:PORT]): the fixture
        /// components are pushed there and tests give the hosts those references instead of
        /// file:// paths (--target existing).
        #[arg(long, env = "WCC_REGISTRY", value_name = "HOST[:PORT]")]
        registry: Option<String>,
        /// Push to the registry over plain HTTP instead of HTTPS.
        #[arg(long, env = "WCC_REGISTRY_INSECURE")]
        registry_insecure: bool,
        /// User for the registry (with WCC_REGISTRY_PASSWORD).
        #[arg(long, env = "WCC_REGISTRY_USER", requires = "registry_password")]
        registry_user: Option<String>,
        /// Password for the registry (with --registry-user).
        #[arg(
            long,
            env = "WCC_REGISTRY_PASSWORD",
            requires = "registry_user",
            hide_env_values = true
        )]
        registry_password: Option<String>,
        /// Stop after the first failure: no further test starts, the rest are reported skipped.
        #[arg(long)]
        fail_fast: bool,
        /// Leave out the test with exactly this name (repeatable).
        #[arg(long = "exclude", value_name = "NAME")]
        exclude: Vec<String>,
        /// Run against a mutant of `power` (its id, or `control`): every host and wadm behind a
        /// nemesis with the mutant's rules. Used by `power`.
        #[arg(long, hide = true)]
        mutant: Option<String>,
    },
    /// Mutation analysis of the suite: a control run, then one run against each mutant host
    /// (each stops at its first failure); writes power.json and summary.md under
    /// <results>/<run id>/ with the score and, for each mutant, the tests that killed it
    /// (survivors first). Exit 0 when every mutant was killed. Processes backend.
    Power {
        /// Where power runs go (each in <results>/<run id>/).
        #[arg(long, default_value_os_t = harness::binaries::repo_root().join("results").join("power"))]
        results: PathBuf,
        /// The run's folder name (default: its UTC start time and 4 random hex digits).
        #[arg(long, value_parser = cli::runs::parse_run_id)]
        run_id: Option<String>,
        /// Only these mutants (comma-separated ids; default: all).
        #[arg(long, value_delimiter = ',')]
        mutants: Vec<String>,
        /// Run a sample of this many mutants, drawn with --seed.
        #[arg(long)]
        sample: Option<usize>,
        /// Seed of the sample (default: random; printed).
        #[arg(long)]
        seed: Option<u64>,
        /// Mutant runs at once.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=8))]
        jobs: u16,
        /// Lattices at once inside each run (default: two per CPU core, as `run --jobs`).
        #[arg(long, default_value_t = cli::order::default_jobs(), value_parser = clap::value_parser!(u16).range(1..=16))]
        test_jobs: u16,
        #[command(flatten)]
        select: SelectArgs,
        /// The binaries; the host binary is the one mutated.
        #[command(flatten)]
        bins: BinaryArgs,
        /// Reuse the control of an earlier power run (its runs/…/control/report.json) instead of
        /// running it again; it must be of the same binaries and selection.
        #[arg(long, value_name = "REPORT")]
        control_report: Option<PathBuf>,
    },
    /// The version matrix: one run per cell of the design (host, wadm and NATS versions, and a
    /// mixed-version lattice; ci/launcher builds each binary), then the matrix report
    /// (matrix.md, matrix.html, matrix.json: cell × test, cell × catalogue item, and the tests whose
    /// result changes between neighbouring versions). Exit 0 when every cell passed (with its
    /// versions' expectation files) and its report verifies, 1 otherwise.
    Matrix(cli::matrix::MatrixArgs),
    /// List the selected tests with their area, profile membership and covered catalogue items.
    List {
        #[command(flatten)]
        select: SelectArgs,
    },
    /// Check a report: schema, counts and coverage, the catalogue it names and its items, and its
    /// content_sha256 seal; and that its badge (in the bundle, or badge.svg beside report.json)
    /// belongs to it.
    Verify {
        /// A report.json, or a run's bundle.tar.gz.
        report: PathBuf,
        /// A catalogue file to check against (default: the suite's own,
        /// suites/conformance/catalogue.toml, compiled in).
        #[arg(long)]
        catalogue: Option<PathBuf>,
    },
    /// Print the catalogue coverage table (item → tests, or why it is left out); exit 1 when an
    /// item is neither covered nor left out with a reason.
    Coverage {
        /// A catalogue file (default: the suite's own, suites/conformance/catalogue.toml, compiled in).
        #[arg(long)]
        catalogue: Option<PathBuf>,
    },
    /// Clean up after killed runs without starting one: kill the processes they left (providers),
    /// remove their scratch directories and their Docker containers, networks and volumes
    /// (labelled `wcc.run`, whose `wcc.owner` process is gone). Prints what it removed; exit 0.
    /// What a live run owns is never touched (there is no `--all`): stop that run first.
    Reap,
    /// Compare two reports test by test (exit 0 when no test differs, 1 otherwise).
    Diff {
        /// The first report.json.
        a: PathBuf,
        /// The second report.json.
        b: PathBuf,
    },
}

fn list(select: &SelectArgs) -> Result<(), CliError> {
    let selection = select.parse()?;
    for t in selection.apply(conformance_suite::registry())? {
        let profile = if Profile::Core.includes(t) {
            "core"
        } else {
            "extended"
        };
        println!(
            "{:<48} {:<14} {:<9} {}",
            t.name,
            t.area.id(),
            profile,
            t.covers.join(",")
        );
    }
    Ok(())
}

fn run(args: cli::run::RunArgs) -> Result<bool, CliError> {
    // Snapshots are compared, never rewritten, by a conformance run.
    std::env::set_var("INSTA_UPDATE", "no");
    block_on(cli::run::run(args))
}

/// Runs a command's future on a multi-threaded runtime of its own.
fn block_on<T>(f: impl std::future::Future<Output = Result<T, CliError>>) -> Result<T, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            CliError::new(
                Exit::Internal,
                format!("cannot start the async runtime: {e}"),
            )
        })?;
    runtime.block_on(f)
}

fn dispatch(command: Command) -> Result<Exit, CliError> {
    let verdict = |ok: bool| if ok { Exit::Ok } else { Exit::Failed };
    match command {
        Command::List { select } => list(&select).map(|()| Exit::Ok),
        Command::Run {
            results,
            run_id,
            outputs,
            implementation,
            jobs,
            select,
            expectations,
            seed,
            backend,
            bins,
            host_image,
            wadm_image,
            nats_image,
            target,
            nats_url,
            nats_creds,
            nats_tls_ca,
            lattice,
            registry,
            registry_insecure,
            registry_user,
            registry_password,
            fail_fast,
            exclude,
            mutant,
        } => {
            let selection = select.parse()?;
            let nemesis = match mutant.as_deref() {
                None => None,
                Some(conformance_suite::power::CONTROL) => {
                    Some(conformance_suite::framework::NemesisPlan::default())
                }
                Some(id) => match conformance_suite::power::find(id) {
                    Some(m) => Some(m.nemesis_plan().unwrap_or_default()),
                    None => {
                        return Err(CliError::new(
                            Exit::Usage,
                            format!("--mutant {id}: no such mutant (see `power --help`)"),
                        ))
                    }
                },
            };
            let existing = match target {
                cli::target::TargetKind::Started => None,
                cli::target::TargetKind::Existing => Some(cli::target::existing_target(
                    nats_url,
                    nats_creds,
                    nats_tls_ca,
                    lattice,
                )?),
            };
            let registry = cli::target::fixture_registry(
                existing.is_some(),
                registry,
                registry_insecure,
                registry_user.zip(registry_password),
            )?;
            let images = [
                (harness::containers::HOST_IMAGE_ENV, host_image),
                (harness::containers::WADM_IMAGE_ENV, wadm_image),
                (harness::containers::NATS_IMAGE_ENV, nats_image),
            ]
            .into_iter()
            .filter_map(|(var, image)| image.filter(|i| !i.trim().is_empty()).map(|i| (var, i)))
            .collect();
            let binaries = bins.given();
            let timeout_scale = bins.timeout_scale;
            run(cli::run::RunArgs {
                results,
                implementation,
                jobs,
                selection,
                expectations,
                seed,
                backend,
                binaries,
                timeout_scale,
                images,
                existing,
                registry,
                run_id,
                outputs,
                fail_fast,
                exclude,
                nemesis,
            })
            .map(verdict)
        }
        Command::Power {
            results,
            run_id,
            mutants,
            sample,
            seed,
            jobs,
            test_jobs,
            select,
            bins,
            control_report,
        } => {
            let binaries = bins.given();
            let timeout_scale = bins.timeout_scale;
            let args = cli::power::PowerArgs {
                results,
                run_id,
                mutants,
                sample,
                seed,
                jobs,
                test_jobs,
                profile: select.profile,
                features: select.features,
                filters: select.filters,
                binaries,
                timeout_scale,
                control_report,
            };
            block_on(cli::power::power(args)).map(verdict)
        }
        Command::Matrix(args) => block_on(cli::matrix::matrix(args)).map(verdict),
        Command::Verify { report, catalogue } => {
            cli::verify::run(&report, catalogue.as_deref()).map(|()| Exit::Ok)
        }
        Command::Diff { a, b } => cli::diff::run(&a, &b).map(verdict),
        Command::Reap => {
            cli::reap::run();
            Ok(Exit::Ok)
        }
        Command::Coverage { catalogue } => {
            let catalogue = cli::verify::load_catalogue(catalogue.as_deref())?;
            println!("{}", conformance_suite::coverage::markdown(&catalogue));
            Ok(verdict(
                conformance_suite::coverage::coverage(&catalogue)
                    .1
                    .is_empty(),
            ))
        }
    }
}

fn main() -> ExitCode {
    // clap exits with 2 (Exit::Usage) on a bad command line, 0 for --help and --version.
    let matches = Cli::command().after_help(Exit::table()).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    match dispatch(cli.command) {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("error: {}", e.message);
            e.exit.into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_malformed_timeout_factor_names_where_it_came_from() {
        let e = timeout_scale("abc").unwrap_err();
        assert!(
            e.contains("'abc'") && e.contains("WCC_TIMEOUT_SCALE"),
            "{e}"
        );
        assert_eq!(timeout_scale("2"), Ok(2.0));
    }

    #[test]
    fn implementation_names_are_folder_safe() {
        assert!(implementation_name("acme-1.2_x").is_ok());
        assert!(
            implementation_name("../x").is_err()
                && implementation_name("").is_err()
                && implementation_name("a/b").is_err()
        );
    }

    #[test]
    fn help_documents_every_exit_code() {
        let help = Cli::command()
            .after_help(Exit::table())
            .render_help()
            .to_string();
        for e in Exit::ALL {
            assert!(help.contains(e.meaning()), "{help}");
        }
    }
}
