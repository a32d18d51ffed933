//! `wasmcloud-conformance run`: checks every input first (selection, expectations, binaries,
//! results directory), then runs the selected tests in a seeded random order and writes the report.
use std::path::{Path, PathBuf};
use std::time::Instant;

use futures::StreamExt as _;
use harness::binaries::{sha256_of, version_of};
use harness::conformance::report::{
    now_rfc3339, Binary, Implementation, Report, RunInfo, TestRecord,
};
use harness::conformance::{
    execute, skip_reason, ConformanceTest, Feature, Outcome, RunOptions, Status,
};

use super::exit::{CliError, Exit};
use super::expectations::Expectations;
use super::select::{check_unsupported_env, Selection};

/// What `run` was asked to do.
pub(crate) struct RunArgs {
    pub(crate) results: PathBuf,
    pub(crate) implementation: String,
    pub(crate) jobs: u16,
    pub(crate) selection: Selection,
    pub(crate) expectations: Option<PathBuf>,
    pub(crate) seed: Option<u64>,
    /// `--backend`; `None`: `WCC_BACKEND`, else processes (containers when an image is given).
    pub(crate) backend: Option<harness::Backend>,
    /// `--host-image`, `--wadm-image`, `--nats-image`: vendor images (containers backend).
    pub(crate) images: Vec<(&'static str, String)>,
}

/// Applies `--backend` and the image flags to the environment the harness reads, and checks they
/// fit together: images run only on the containers backend, which needs a Docker engine.
fn choose_backend(args: &RunArgs) -> Result<harness::Backend, CliError> {
    use harness::Backend;
    for (var, image) in &args.images {
        std::env::set_var(var, image);
    }
    let images = harness::containers::image_overrides();
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
    std::env::set_var(harness::backend::BACKEND_ENV, backend.id());
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
    let run = tokio::process::Command::new("docker")
        .args(["run", "--rm", "--network", "none", image, "--version"])
        .kill_on_drop(true)
        .output();
    let version = match tokio::time::timeout(std::time::Duration::from_secs(60), run).await {
        Ok(Ok(out)) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty()),
        _ => None,
    };
    Ok(Binary {
        path: format!("image {image}"),
        version,
        sha256: fallback.sha256,
        image: Some(image.to_string()),
        image_id: Some(id),
    })
}

/// Seeds fit in 53 bits so that every JSON reader keeps them exact.
const SEED_MASK: u64 = (1 << 53) - 1;

/// A fresh random seed (std's per-process random hasher keys, the clock and the pid).
pub(crate) fn random_seed() -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.write_u32(std::process::id());
    h.finish() & SEED_MASK
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The order tests run in: a Fisher–Yates shuffle of `0..n` driven by `seed` (same seed, same order).
pub(crate) fn execution_order(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = seed;
    for i in (1..n).rev() {
        let j = (splitmix64(&mut state) % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    order
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
    // 1. Inputs that need no binary.
    check_unsupported_env()?;
    let tests = args.selection.apply(conformance_suite::registry())?;
    let names: Vec<&str> = conformance_suite::registry()
        .iter()
        .map(|t| t.name)
        .collect();
    let (expectations, expectations_path) =
        Expectations::load(args.expectations.as_deref(), &args.implementation, &names)?;

    // 2. Where the lattices run, and the binaries (or images) under test.
    let backend = choose_backend(&args)?;
    let options = RunOptions::from_env().map_err(|e| CliError::new(Exit::Binary, e.to_string()))?;
    let mut implementation = Implementation {
        name: args.implementation.clone(),
        host: describe(&options.binaries.host).await,
        wadm: describe(&options.binaries.wadm).await,
        nats_server: describe(&options.binaries.nats_server).await,
    };
    for (var, image) in harness::containers::image_overrides() {
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
    let dir = args
        .results
        .join(&implementation.name)
        .join(version_folder(implementation.host.version.as_deref()));
    check_writable(&dir)?;
    let hashes = [
        &options.binaries.host,
        &options.binaries.wadm,
        &options.binaries.nats_server,
    ]
    .map(|p| hash_in_background(p));

    // 4. Run.
    let seed = args.seed.unwrap_or_else(random_seed) & SEED_MASK;
    let started_at = now_rfc3339();
    let total = tests.len();
    eprintln!(
        "wasmcloud-conformance: {total} test(s) of profile {} against {} ({}), {} at a time, seed {seed}{}",
        args.selection.profile.id(),
        implementation.name,
        implementation.host.version.as_deref().unwrap_or("?"),
        args.jobs,
        expectations_path
            .as_ref()
            .map(|p| format!(", expectations {}", p.display()))
            .unwrap_or_default(),
    );
    let clock = Instant::now();
    let options_ref = &options;
    let tests_ref = &tests;
    let mut outcomes: Vec<(usize, Outcome)> = Vec::with_capacity(total);
    let mut stream = futures::stream::iter(execution_order(total, seed).into_iter().map(
        |i| async move {
            let test: &ConformanceTest = tests_ref[i];
            let outcome = match skip_reason(test, options_ref.strict_fixtures) {
                Some(reason) => Outcome {
                    status: Status::Skipped,
                    duration: Default::default(),
                    message: Some(reason),
                    diagnostics: None,
                    log_dir: None,
                },
                None => execute(test, options_ref).await,
            };
            (i, outcome)
        },
    ))
    .buffer_unordered(usize::from(args.jobs));
    while let Some((i, outcome)) = stream.next().await {
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
    outcomes.sort_by_key(|(i, _)| *i);
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
    let records = outcomes
        .iter()
        .map(|(i, o)| {
            let record = TestRecord::new(tests[*i], o);
            match expectations.known_failures.get(tests[*i].name) {
                Some(reason) => record.expecting_failure(reason),
                None => record,
            }
        })
        .collect();
    let run = RunInfo {
        backend: backend.id().to_string(),
        seed,
        selection: args
            .selection
            .record(expectations_path.map(|p| p.display().to_string())),
    };
    let report = Report::new(implementation, run, started_at, records);
    let files = report
        .write(&dir)
        .map_err(|e| CliError::new(Exit::Results, format!("cannot write the report: {e}")))?;
    for f in &files {
        eprintln!("wrote {}", f.display());
    }
    eprintln!(
        "wasmcloud-conformance: {}: {} in {:.0} s (seed {seed}, content_sha256 {})",
        if report.ok() { "PASSED" } else { "FAILED" },
        report.summary.line(),
        clock.elapsed().as_secs_f64(),
        report.content_sha256
    );
    Ok(report.ok())
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
    fn the_seed_fixes_the_order() {
        let a = execution_order(10, 7);
        assert_eq!(a, execution_order(10, 7));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>(), "a permutation");
        assert!(
            (0..20).any(|s| execution_order(10, s) != a),
            "seeds give different orders"
        );
        assert_eq!(execution_order(0, 1), Vec::<usize>::new());
        assert!(random_seed() <= SEED_MASK);
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
