//! Errors of the harness itself. Messages are lowercase fragments that read well after
//! "failed to"; every error that concerns a process carries its log tail.
use std::path::PathBuf;
use std::time::Duration;

/// An error raised while standing up, driving or tearing down a lattice.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A binary the lattice needs is absent or cannot be executed.
    #[error("{what} binary not usable at {path}: {problem}\n  fix: {fix}")]
    BinaryUnusable {
        /// Which binary (`nats-server`, `wasmCloud host`, `wadm`).
        what: &'static str,
        /// The path that was tried.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
        /// How to get a usable one.
        fix: String,
    },
    /// A process could not be started at all.
    #[error("start {what} ({path}): {source}")]
    Spawn {
        /// The service being started.
        what: String,
        /// The binary.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A process exited while it was expected to run.
    #[error("{what} exited early ({status}) while {during}\n--- last log lines of {what} ---\n{log_tail}")]
    ExitedEarly {
        /// The service.
        what: String,
        /// Its exit status.
        status: String,
        /// What the harness was waiting for.
        during: String,
        /// Its last log lines.
        log_tail: String,
    },
    /// A bounded wait ran out.
    #[error(transparent)]
    Timeout(#[from] crate::wait::WaitError),
    /// The NATS server could not be reached.
    #[error("connect to NATS at {url}: {message}")]
    NatsConnect {
        /// The URL tried.
        url: String,
        /// The client's error.
        message: String,
    },
    /// The NATS credentials file of an existing lattice cannot be used.
    #[error("read the NATS credentials file {path}: {problem}\n  fix: pass the .creds file of a NATS user of that lattice (--nats-creds / WCC_NATS_CREDS), or none if the server needs none")]
    Credentials {
        /// The file given.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// No host of an existing lattice answered a control-interface ping.
    #[error("find a host of lattice {lattice} at {url}: no host answered a control-interface ping within {waited:.1?} ({attempts} pings; last seen: {last_seen})\n  fix: check the lattice name (the hosts' WASMCLOUD_LATTICE) and that its hosts are connected to this NATS server")]
    NoHosts {
        /// The lattice name given.
        lattice: String,
        /// The NATS URL given.
        url: String,
        /// How long the harness pinged.
        waited: Duration,
        /// How many pings were sent.
        attempts: u32,
        /// What the last ping saw.
        last_seen: String,
    },
    /// An operation that starts, stops or cuts off a service was asked of a lattice the harness
    /// only connected to ([`crate::existing::ExistingLattice`]).
    #[error("{operation} on lattice {lattice}: it is an existing lattice the harness only connects to, so it starts and stops nothing there\n  fix: run this on a lattice the harness starts (Lattice::builder())")]
    NotOwned {
        /// What was asked (e.g. `killing a host`).
        operation: String,
        /// The lattice.
        lattice: String,
    },
    /// A request through an official client failed.
    #[error("{operation}: {message}")]
    Request {
        /// What was asked (e.g. `ctl host.ping`).
        operation: String,
        /// The client's error.
        message: String,
    },
    /// The fixture manifest is missing, unreadable, or lacks a fixture.
    #[error("fixture {0}")]
    Fixture(String),
    /// Any I/O problem of the harness itself (log files, temp dirs).
    #[error("{context}: {source}")]
    Io {
        /// What the harness was doing.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Invalid configuration given to the harness (environment variable, builder option).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A wadm manifest file could not be read or parsed ([`crate::manifest::read_yaml`]).
    #[error("read manifest {path}: {problem}\n  fix: {fix}")]
    Manifest {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
        /// How to correct it.
        fix: String,
    },
    /// wadm refused to store a manifest (`model.put`): it failed wadm's validation.
    #[error("put manifest {app} into wadm: wadm rejected it: {reason}\n  fix: {fix}")]
    ManifestRejected {
        /// The application name from the manifest.
        app: String,
        /// wadm's answer.
        reason: String,
        /// How to correct the manifest.
        fix: String,
    },
    /// An application did not reach `Deployed` ([`crate::wadm::Wadm::deploy_app`]).
    #[error("deploy application {app}: it did not reach Deployed within {waited:.1?}; wadm says {status}\n  fix: {fix}")]
    AppNotDeployed {
        /// The application name.
        app: String,
        /// How long the harness waited.
        waited: Duration,
        /// The last status wadm reported (aggregate status, message and each scaler's state).
        status: String,
        /// The likely cause and how to correct it, derived from that status.
        fix: String,
    },
}

impl HarnessError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }

    pub(crate) fn request(operation: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self::Request {
            operation: operation.into(),
            message: message.to_string(),
        }
    }
}

/// How long a whole lattice may take to come up before the harness gives up, before scaling.
pub(crate) const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(60);
