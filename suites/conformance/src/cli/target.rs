//! `run --target existing`: a lattice the vendor runs, which the suite only connects to; and the
//! feature detection every run starts with (on that lattice, or on one probe lattice the suite
//! starts from the binaries or images under test).
use std::path::PathBuf;

use conformance_report::report::Binary;
use conformance_suite::framework::features::{self, detect, Detected};
use conformance_suite::framework::{ConformanceTest, Feature, RunOptions};
use harness::{ExistingLattice, HarnessError, Lattice, LatticeBuilder};

use super::exit::{CliError, Exit};

/// What `run` is pointed at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum TargetKind {
    /// Lattices the suite starts from the binaries (`WCC_*_BIN`) or images under test, one per test.
    Started,
    /// A lattice the vendor runs (e.g. on Kubernetes): the suite only connects to it.
    Existing,
}

/// `--target existing` with its connection flags, checked.
pub(crate) fn existing_target(
    nats_url: Option<String>,
    creds: Option<PathBuf>,
    tls_ca: Option<PathBuf>,
    lattice: String,
) -> Result<ExistingLattice, CliError> {
    let Some(url) = nats_url.filter(|u| !u.trim().is_empty()) else {
        return Err(CliError::new(
            Exit::TargetIncomplete,
            "--target existing needs the lattice's NATS URL: pass --nats-url nats://HOST:4222 (or set WCC_NATS_URL)",
        ));
    };
    let mut target = ExistingLattice::new(url, lattice);
    if let Some(path) = creds {
        if !path.is_file() {
            return Err(CliError::new(
                Exit::Credentials,
                format!(
                    "the NATS credentials file {} does not exist or is not a file (--nats-creds / WCC_NATS_CREDS)",
                    path.display()
                ),
            ));
        }
        target = target.creds(path);
    }
    if let Some(path) = tls_ca {
        if !path.is_file() {
            return Err(CliError::new(
                Exit::Credentials,
                format!(
                    "the NATS TLS CA file {} does not exist or is not a file (--nats-tls-ca / WCC_NATS_TLS_CA)",
                    path.display()
                ),
            ));
        }
        target = target.tls_ca(path);
    }
    Ok(target)
}

/// `--registry` and its flags, checked: only with `--target existing` (a lattice the suite starts
/// loads its fixtures from files).
pub(crate) fn fixture_registry(
    existing: bool,
    address: Option<String>,
    insecure: bool,
    credentials: Option<(String, String)>,
) -> Result<Option<harness::registry::Remote>, CliError> {
    let Some(address) = address.filter(|a| !a.trim().is_empty()) else {
        return Ok(None);
    };
    if !existing {
        return Err(CliError::new(
            Exit::Usage,
            "--registry is for --target existing: a lattice the suite starts loads the fixtures from files",
        ));
    }
    let address = address.trim().trim_end_matches('/').to_string();
    if address.contains("://") || address.contains(' ') {
        return Err(CliError::new(
            Exit::Usage,
            format!("--registry {address}: give HOST[:PORT] without a scheme (plain HTTP: --registry-insecure)"),
        ));
    }
    Ok(Some(harness::registry::Remote {
        address,
        insecure,
        credentials,
    }))
}

/// Pushes the fixtures the selected tests name to `registry` (components as Wasm artifacts,
/// provider archives with the provider archive media type), each as
/// `wcc-fixtures/<name>-<lang>:<first 12 hex of its SHA-256>`; returns the reference of each.
pub(crate) async fn push_fixtures(
    registry: &harness::registry::Remote,
    tests: &[&'static ConformanceTest],
) -> Result<std::collections::HashMap<harness::fixtures::FixtureRef, String>, CliError> {
    use sha2::Digest as _;
    let mut wanted: Vec<harness::fixtures::FixtureRef> = Vec::new();
    for f in tests.iter().flat_map(|t| t.fixtures.iter()) {
        if !wanted.contains(f) {
            wanted.push(*f);
        }
    }
    let mut images = std::collections::HashMap::new();
    for f in wanted {
        let Ok(fixture) = harness::fixtures::fixture(f) else {
            continue; // Missing: the tests naming it are skipped (or fail in CI) with the reason.
        };
        let component = fixture.path.extension().and_then(|e| e.to_str()) == Some("wasm");
        let bytes = std::fs::read(&fixture.path).map_err(|e| {
            CliError::new(
                Exit::Usage,
                format!("read fixture {}: {e}", fixture.path.display()),
            )
        })?;
        let tag: String = hex::encode(sha2::Sha256::digest(&bytes))
            .chars()
            .take(12)
            .collect();
        let repository = format!("wcc-fixtures/{}-{}", f.name, f.lang.id());
        let pushed = match component {
            true => registry.push_component(&repository, &tag, bytes).await,
            false => registry.push_provider(&repository, &tag, bytes).await,
        }
        .map_err(|e| {
            CliError::new(
                Exit::Usage,
                format!(
                    "cannot push fixture {}-{} to {}: {e}",
                    f.name,
                    f.lang.id(),
                    registry.address
                ),
            )
        })?;
        eprintln!(
            "wasmcloud-conformance: fixture {}-{} at {}",
            f.name,
            f.lang.id(),
            pushed.reference
        );
        images.insert(f, pushed.reference);
    }
    Ok(images)
}

/// Connects to the existing lattice (NATS in bounded time, then at least one host).
pub(crate) async fn connect(target: &ExistingLattice) -> Result<Lattice, CliError> {
    target.connect().await.map_err(|e| {
        let exit = match &e {
            HarnessError::Credentials { .. } => Exit::Credentials,
            HarnessError::NoHosts { .. } => Exit::NoHosts,
            _ => Exit::NatsUnreachable,
        };
        CliError::new(exit, format!("cannot use the existing lattice: {e}"))
    })
}

/// The implementation as an existing lattice shows it: the first host's version, NATS's URL and
/// server version; wadm has no version to read.
pub(crate) fn describe_existing(lattice: &Lattice, target: &ExistingLattice) -> [Binary; 3] {
    let host = lattice.discovered_hosts().first();
    let nats = lattice.nats().server_info();
    [
        Binary {
            path: format!("existing lattice {} at {}", target.lattice, target.nats_url),
            version: host.and_then(|h| h.version()).map(str::to_string),
            ..Default::default()
        },
        Binary {
            path: format!(
                "existing lattice {} ({})",
                target.lattice,
                if lattice.has_wadm() {
                    "wadm answers"
                } else {
                    "no wadm answers"
                }
            ),
            ..Default::default()
        },
        Binary {
            path: target.nats_url.clone(),
            version: Some(format!("nats-server {}", nats.version)),
            ..Default::default()
        },
    ]
}

/// Options for tests on an existing lattice: no binaries are used.
pub(crate) fn existing_options() -> RunOptions {
    let none = harness::binaries::Binaries {
        nats_server: PathBuf::new(),
        host: PathBuf::new(),
        wadm: PathBuf::new(),
        mixed_host: None,
    };
    RunOptions::new(none, harness::Backend::Processes)
}

/// Detection on one probe lattice started from the binaries or images under test: one host with
/// the builtin HTTP server enabled (as the tests needing it enable it), wadm when it is usable.
/// A probe lattice that does not come up leaves every feature unknown, with the reason.
pub(crate) async fn detect_on_started(options: &RunOptions, wadm_usable: bool) -> Vec<Detected> {
    let builder = LatticeBuilder::default()
        .hosts(1)
        .host_feature("builtin-http-server")
        .wadm(wadm_usable)
        .binaries(options.binaries.clone())
        .backend(options.backend)
        .images(options.images.clone());
    match builder.start().await {
        Ok(lattice) => {
            let mut found = detect(&lattice).await;
            if !wadm_usable {
                for d in found.iter_mut().filter(|d| d.feature == Feature::Wadm) {
                    d.evidence = format!(
                        "the wadm under test does not answer --version, so the probe lattice ran none ({})",
                        d.evidence
                    );
                }
            }
            lattice.shutdown().await;
            if options.images.is_empty() {
                let b = &options.binaries;
                let mut hosts = vec![b.host.as_path()];
                hosts.extend(b.mixed_host.as_deref());
                found.push(features::probe_core_instance_limit(&hosts).await);
            }
            found
        }
        Err(e) => Feature::ALL
            .into_iter()
            .map(|feature| Detected {
                feature,
                supported: None,
                evidence: format!("the probe lattice did not come up: {e}"),
            })
            .collect(),
    }
}
