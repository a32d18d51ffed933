//! Reference wasmCloud host launcher.
//!
//! A thin binary around the published `wasmcloud-host` library that accepts the same flags and
//! `WASMCLOUD_*` environment variables as the upstream `wasmcloud` binary of the release that ships
//! that library (conformance catalogue CFG-01..CFG-09), so a vendor binary can replace it without
//! any change to the suite.
//!
//! One source serves every host version the suite builds: the reference package (no feature:
//! `wasmcloud-host` 0.27.1, wasmCloud 1.9.2) and the older releases of the version matrix
//! (`reference-launchers/versions/`, each enabling one `host-0-NN` feature). The features change
//! only what the library's API or the release's contract forces: the reported version, the limits
//! a release lacks, and how the host is assembled (1.9.0 builds it from the NATS host builder).
//!
//! Differences from upstream are deliberate and listed in `reference-launchers/README.md`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, ensure, Context as _};
use clap::Parser;
use tokio::signal::unix::{signal, Signal, SignalKind};
use nkeys::KeyPair;
use tracing_subscriber::util::SubscriberInitExt as _;
use wasmcloud_core::logging::Level as WasmcloudLevel;
use wasmcloud_core::{OtelConfig, OtelProtocol};
use wasmcloud_host::oci::Config as OciConfig;
#[cfg(feature = "host-0-26")]
use url::Url;
#[cfg(not(feature = "host-0-26"))]
use wasmcloud_host::url::Url;
#[cfg(not(feature = "host-0-26"))]
use wasmcloud_host::wasmbus::host_config::PolicyService;
use wasmcloud_host::wasmbus::{Features, Host};
use wasmcloud_host::WasmbusHostConfig;

/// Defines what a build reports: `HOST_VERSION`, the version reported to the lattice (ping,
/// inventory, heartbeats, `host_started`; wadm parses it as semver, the build metadata names the
/// library wrapped), and `ABOUT`, the `--help` line.
macro_rules! release {
    ($wasmcloud:literal, $host:literal) => {
        const HOST_VERSION: &str = concat!($wasmcloud, "+reference.wasmcloud-host.", $host);
        const ABOUT: &str = concat!(
            "Reference wasmCloud ",
            $wasmcloud,
            " host (wasmcloud-host ",
            $host,
            ") for the conformance suite"
        );
    };
}
#[cfg(feature = "host-0-24")]
release!("1.6.0", "0.24.0");
#[cfg(feature = "host-0-25")]
release!("1.7.1", "0.25.1");
#[cfg(feature = "host-0-26")]
release!("1.9.0", "0.26.0");
#[cfg(not(any(feature = "host-0-24", feature = "host-0-25", feature = "host-0-26")))]
release!("1.9.2", "0.27.1");

/// The libraries before 0.26 (wasmCloud 1.6 to 1.8) take the linear-memory limit as a `u64` and
/// have no per-component core-instance limit.
#[cfg(any(feature = "host-0-24", feature = "host-0-25"))]
type LinearMemoryBytes = u64;
#[cfg(not(any(feature = "host-0-24", feature = "host-0-25")))]
type LinearMemoryBytes = u32;
/// How long a signal-triggered shutdown may take before the launcher gives up (upstream: 10 s).
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Parser)]
#[command(
    name = "wasmcloud",
    version = HOST_VERSION,
    about = ABOUT
)]
#[allow(clippy::struct_excessive_bools)]
struct Args {
    // ---- CFG-01: NATS connection -------------------------------------------------------------
    /// NATS server host for both the control-interface and the RPC connection.
    #[arg(long, default_value = "127.0.0.1", env = "WASMCLOUD_NATS_HOST")]
    nats_host: String,
    /// NATS server port.
    #[arg(long, default_value_t = 4222, env = "WASMCLOUD_NATS_PORT")]
    nats_port: u16,
    /// User JWT for NATS (requires --nats-seed).
    #[arg(long, env = "WASMCLOUD_NATS_JWT", requires = "nats_seed", conflicts_with = "nats_creds")]
    nats_jwt: Option<String>,
    /// User nkey seed for NATS (requires --nats-jwt).
    #[arg(long, env = "WASMCLOUD_NATS_SEED", requires = "nats_jwt", conflicts_with = "nats_creds")]
    nats_seed: Option<String>,
    /// NATS credentials file holding a user JWT and seed.
    #[arg(long, env = "WASMCLOUD_NATS_CREDS", conflicts_with_all = ["nats_jwt", "nats_seed"])]
    nats_creds: Option<PathBuf>,

    #[arg(long, env = "WASMCLOUD_CTL_HOST", hide = true)]
    ctl_host: Option<String>,
    #[arg(long, env = "WASMCLOUD_CTL_PORT", hide = true)]
    ctl_port: Option<u16>,
    #[arg(long, env = "WASMCLOUD_CTL_JWT", hide = true, requires = "ctl_seed", conflicts_with = "ctl_creds")]
    ctl_jwt: Option<String>,
    #[arg(long, env = "WASMCLOUD_CTL_SEED", hide = true, requires = "ctl_jwt", conflicts_with = "ctl_creds")]
    ctl_seed: Option<String>,
    #[arg(long, env = "WASMCLOUD_CTL_CREDS", hide = true, conflicts_with_all = ["ctl_jwt", "ctl_seed"])]
    ctl_creds: Option<PathBuf>,
    #[arg(long, env = "WASMCLOUD_CTL_TLS", hide = true)]
    ctl_tls: bool,
    /// Prefix of control-interface subjects (events and RPC subjects are not affected).
    #[arg(long, env = "WASMCLOUD_CTL_TOPIC_PREFIX", default_value = "wasmbus.ctl", hide = true)]
    ctl_topic_prefix: String,

    #[arg(long, env = "WASMCLOUD_RPC_HOST", hide = true)]
    rpc_host: Option<String>,
    #[arg(long, env = "WASMCLOUD_RPC_PORT", hide = true)]
    rpc_port: Option<u16>,
    #[arg(long, env = "WASMCLOUD_RPC_JWT", hide = true, requires = "rpc_seed", conflicts_with = "rpc_creds")]
    rpc_jwt: Option<String>,
    #[arg(long, env = "WASMCLOUD_RPC_SEED", hide = true, requires = "rpc_jwt", conflicts_with = "rpc_creds")]
    rpc_seed: Option<String>,
    #[arg(long, env = "WASMCLOUD_RPC_CREDS", hide = true, conflicts_with_all = ["rpc_jwt", "rpc_seed"])]
    rpc_creds: Option<PathBuf>,
    #[arg(long, env = "WASMCLOUD_RPC_TLS", hide = true)]
    rpc_tls: bool,
    /// Timeout of RPC requests, in milliseconds (also handed to providers).
    #[arg(long = "rpc-timeout-ms", env = "WASMCLOUD_RPC_TIMEOUT_MS", default_value = "2000", value_parser = millis, hide = true)]
    rpc_timeout: Duration,

    // ---- CFG-02 / CFG-03: lattice and identity ------------------------------------------------
    /// Lattice this host joins.
    #[arg(short = 'x', long, default_value = "default", env = "WASMCLOUD_LATTICE")]
    lattice: String,
    /// JetStream domain of the host's KV buckets.
    #[arg(long, alias = "wasmcloud-js-domain", env = "WASMCLOUD_JS_DOMAIN")]
    js_domain: Option<String>,
    /// Server nkey seed (`SN...`) that fixes the host ID; random when absent.
    #[arg(long, env = "WASMCLOUD_HOST_SEED")]
    host_seed: Option<String>,

    // ---- CFG-04: labels ------------------------------------------------------------------------
    /// Host label `key=value`, repeatable; also read from `WASMCLOUD_LABEL_<key>=<value>`.
    #[arg(short = 'l', long = "label")]
    labels: Vec<String>,

    // ---- CFG-05: artifacts ---------------------------------------------------------------------
    /// Allow `file://` component and provider references.
    #[arg(long, env = "WASMCLOUD_ALLOW_FILE_LOAD", default_value_t = false)]
    allow_file_load: bool,
    /// Allow OCI references tagged `latest`.
    #[arg(long, env = "WASMCLOUD_OCI_ALLOW_LATEST")]
    allow_latest: bool,
    /// OCI registries reachable over plain HTTP (comma separated).
    #[arg(long, env = "WASMCLOUD_OCI_ALLOWED_INSECURE", value_delimiter = ',')]
    allowed_insecure: Vec<String>,
    #[arg(long, env = "WASMCLOUD_OCI_REGISTRY", requires_all = ["oci_user", "oci_password"])]
    oci_registry: Option<String>,
    #[arg(long, env = "WASMCLOUD_OCI_REGISTRY_USER", requires_all = ["oci_registry", "oci_password"])]
    oci_user: Option<String>,
    #[arg(long, env = "WASMCLOUD_OCI_REGISTRY_PASSWORD", requires_all = ["oci_registry", "oci_user"])]
    oci_password: Option<String>,
    /// Extra certificate authorities (comma separated paths) for OCI and OTLP over HTTP.
    #[cfg(not(feature = "host-0-24"))]
    #[arg(long = "tls-ca-path", env = "WASMCLOUD_TLS_CA_PATH", value_delimiter = ',')]
    tls_ca_paths: Vec<PathBuf>,
    /// Extra certificate authorities (repeatable) for OCI and OTLP over HTTP (1.6: no variable).
    #[cfg(feature = "host-0-24")]
    #[arg(long = "tls-ca-path")]
    tls_ca_paths: Vec<PathBuf>,
    /// Ask `wasmbus.cfg.<lattice>.req` for supplemental configuration at start.
    #[arg(long = "config-service-enabled", env = "WASMCLOUD_CONFIG_SERVICE")]
    config_service: bool,
    /// Grace period, in milliseconds, between a provider shutdown request and its kill.
    #[arg(long = "provider-shutdown-delay-ms", alias = "provider-shutdown-delay", env = "WASMCLOUD_PROV_SHUTDOWN_DELAY_MS", default_value = "300", value_parser = millis)]
    provider_shutdown_delay: Duration,

    // ---- CFG-06: policy and secrets ------------------------------------------------------------
    /// Subject of the policy service; enables policy checks.
    #[arg(long, env = "WASMCLOUD_POLICY_TOPIC")]
    policy_topic: Option<String>,
    /// Subject on which policy decisions may be revised.
    #[arg(long, env = "WASMCLOUD_POLICY_CHANGES_TOPIC", requires = "policy_topic")]
    policy_changes_topic: Option<String>,
    /// Policy request timeout in milliseconds (default 1000).
    #[arg(long = "policy-timeout-ms", env = "WASMCLOUD_POLICY_TIMEOUT", requires = "policy_topic", value_parser = millis)]
    policy_timeout: Option<Duration>,
    /// Subject prefix of the secrets backend.
    #[arg(long = "secrets-topic", env = "WASMCLOUD_SECRETS_TOPIC")]
    secrets_topic: Option<String>,

    // ---- CFG-07: limits ------------------------------------------------------------------------
    #[arg(long = "max-execution-time-ms", env = "WASMCLOUD_MAX_EXECUTION_TIME_MS", default_value = "600000", value_parser = millis)]
    max_execution_time: Duration,
    #[arg(long = "max-linear-memory-bytes", env = "WASMCLOUD_MAX_LINEAR_MEMORY", default_value_t = 256 * 1024 * 1024)]
    max_linear_memory: LinearMemoryBytes,
    #[arg(long = "max-component-size-bytes", env = "WASMCLOUD_MAX_COMPONENT_SIZE", default_value_t = 50 * 1024 * 1024)]
    max_component_size: u64,
    #[arg(long, env = "WASMCLOUD_MAX_COMPONENTS", default_value_t = 10_000)]
    max_components: u32,
    #[cfg(not(any(feature = "host-0-24", feature = "host-0-25")))]
    #[arg(long, env = "WASMCLOUD_MAX_CORE_INSTANCES_PER_COMPONENT", default_value_t = 30)]
    max_core_instances_per_component: u32,

    // ---- CFG-08: observability -----------------------------------------------------------------
    #[arg(long, env = "WASMCLOUD_TRACE_LEVEL", default_value_t = tracing::Level::INFO)]
    trace_level: tracing::Level,
    #[arg(long, alias = "structured-log-level", env = "WASMCLOUD_LOG_LEVEL", default_value_t = tracing::Level::INFO)]
    log_level: tracing::Level,
    #[arg(long = "enable-structured-logging", env = "WASMCLOUD_STRUCTURED_LOGGING_ENABLED")]
    structured_logging: bool,
    /// Export traces, metrics and logs over OTLP.
    #[arg(long, env = "WASMCLOUD_OBSERVABILITY_ENABLED", conflicts_with_all = ["enable_traces", "enable_metrics", "enable_logs"])]
    enable_observability: bool,
    #[arg(long, env = "WASMCLOUD_TRACES_ENABLED", hide = true)]
    enable_traces: Option<bool>,
    #[arg(long, env = "WASMCLOUD_METRICS_ENABLED", hide = true)]
    enable_metrics: Option<bool>,
    #[arg(long, env = "WASMCLOUD_LOGS_ENABLED", hide = true)]
    enable_logs: Option<bool>,
    #[arg(long = "override-observability-endpoint", env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    observability_endpoint: Option<String>,
    #[arg(long = "override-traces-endpoint", env = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", hide = true)]
    traces_endpoint: Option<String>,
    #[arg(long = "override-metrics-endpoint", env = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", hide = true)]
    metrics_endpoint: Option<String>,
    #[arg(long = "override-logs-endpoint", env = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", hide = true)]
    logs_endpoint: Option<String>,
    /// `http` (default) or `grpc`.
    #[arg(long, env = "WASMCLOUD_OBSERVABILITY_PROTOCOL", hide = true)]
    observability_protocol: Option<OtelProtocol>,
    #[arg(long, env = "WASMCLOUD_FLAME_GRAPH")]
    flame_graph: Option<String>,

    // ---- CFG-09: heartbeat, auctions, admin, experimental ---------------------------------------
    /// Heartbeat interval in seconds (default 30).
    #[arg(long = "heartbeat-interval-seconds", env = "WASMCLOUD_HEARTBEAT_INTERVAL", value_parser = seconds, hide = true)]
    heartbeat_interval: Option<Duration>,
    #[arg(long = "enable-component-auction", env = "WASMCLOUD_COMPONENT_AUCTION_ENABLED")]
    component_auction: Option<bool>,
    #[arg(long = "enable-provider-auction", env = "WASMCLOUD_PROVIDER_AUCTION_ENABLED")]
    provider_auction: Option<bool>,
    /// Address of the HTTP admin endpoint (`/livez`, `/readyz`).
    #[arg(long, env = "WASMCLOUD_HTTP_ADMIN")]
    http_admin: Option<SocketAddr>,
    /// Experimental features (repeatable, comma separated).
    #[arg(long = "feature", env = "WASMCLOUD_EXPERIMENTAL_FEATURES", value_delimiter = ',', hide = true)]
    features: Vec<String>,
}

fn millis(arg: &str) -> Result<Duration, String> {
    arg.parse().map(Duration::from_millis).map_err(|e| format!("{e}: expected milliseconds"))
}

fn seconds(arg: &str) -> Result<Duration, String> {
    arg.parse().map(Duration::from_secs).map_err(|e| format!("{e}: expected seconds"))
}

/// A subject the host publishes to: dot-separated tokens of `[A-Za-z0-9_-]`, no wildcards.
fn is_publish_subject(subject: &str) -> bool {
    !subject.is_empty()
        && subject.split('.').all(|token| {
            !token.is_empty() && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn parse_label(pair: &str) -> anyhow::Result<(String, String)> {
    let parts: Vec<&str> = pair.split('=').collect();
    match parts.as_slice() {
        [key, value] => Ok(((*key).to_string(), (*value).to_string())),
        _ => bail!("invalid label format `{pair}`. Expected `key=value`"),
    }
}

/// Labels from `--label` win over `WASMCLOUD_LABEL_*` with the same key (CFG-04).
fn collect_labels(
    cli: &[String],
    env: impl Iterator<Item = (String, String)>,
) -> anyhow::Result<HashMap<String, String>> {
    let mut labels = HashMap::new();
    for (key, value) in env {
        if let Some(key) = key.strip_prefix("WASMCLOUD_LABEL_") {
            labels.insert(key.to_string(), value);
        }
    }
    for pair in cli {
        let (key, value) = parse_label(pair).context("failed to parse labels")?;
        if labels.contains_key(&key) {
            tracing::warn!(%key, "label provided via args will override label set via environment variable");
        }
        labels.insert(key, value);
    }
    Ok(labels)
}

/// Reads a JWT and a seed from a NATS credentials file (the `nsc` format).
fn read_creds(path: &PathBuf) -> anyhow::Result<(String, String)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read NATS credentials file {}", path.display()))?;
    let block = |begin: &str| -> Option<String> {
        let mut lines = text.lines().skip_while(|l| !l.contains(begin));
        lines.next()?;
        lines.map(str::trim).find(|l| !l.is_empty() && !l.starts_with("---")).map(str::to_string)
    };
    let jwt = block("BEGIN NATS USER JWT").context("failed to parse JWT from NATS credentials")?;
    let seed = block("BEGIN USER NKEY SEED").context("failed to parse seed from NATS credentials")?;
    Ok((jwt, seed))
}

type Credentials = (Option<String>, Option<Arc<KeyPair>>);

fn credentials(creds: Option<&PathBuf>, jwt: Option<&String>, seed: Option<&String>) -> anyhow::Result<Credentials> {
    let (jwt, seed) = match (creds, jwt, seed) {
        (Some(path), _, _) => read_creds(path)?,
        (None, Some(jwt), Some(seed)) => (jwt.clone(), seed.clone()),
        _ => return Ok((None, None)),
    };
    let key = KeyPair::from_seed(&seed).context("failed to construct NATS key pair from seed")?;
    Ok((Some(jwt), Some(Arc::new(key))))
}

fn nats_url(host: Option<&String>, port: Option<u16>, args: &Args, what: &str) -> anyhow::Result<Url> {
    let host = host.unwrap_or(&args.nats_host);
    let port = port.unwrap_or(args.nats_port);
    Url::parse(&format!("nats://{host}:{port}"))
        .with_context(|| format!("failed to construct a valid {what} NATS URL from `{host}:{port}`"))
}

/// What wasmCloud 1.9.0's library (0.26) takes apart from its host configuration: the control
/// interface's connection and the policy and secrets services, which its NATS host builder
/// assembles. From 0.27 on (and before 0.26) they are fields of the configuration.
#[cfg(feature = "host-0-26")]
struct Control {
    nats_url: Url,
    jwt: Option<String>,
    key: Option<Arc<KeyPair>>,
    tls: bool,
    topic_prefix: String,
    policy_topic: Option<String>,
    policy_changes_topic: Option<String>,
    policy_timeout: Option<Duration>,
    secrets_topic: Option<String>,
}
#[cfg(not(feature = "host-0-26"))]
type Control = ();

fn host_config(args: Args) -> anyhow::Result<(WasmbusHostConfig, Control)> {
    if !args.tls_ca_paths.is_empty() {
        let certs = wasmcloud_core::tls::load_certs_from_paths(&args.tls_ca_paths)
            .context("failed to load certificates from the provided path")?;
        ensure!(!certs.is_empty(), "failed to parse certificates from the provided path");
    }
    if let Some(topic) = &args.policy_topic {
        ensure!(is_publish_subject(topic), "Invalid policy topic");
    }
    if let Some(topic) = &args.secrets_topic {
        ensure!(is_publish_subject(topic), "Invalid secrets topic");
    }
    let host_key = match &args.host_seed {
        Some(seed) => {
            let key = KeyPair::from_seed(seed).context("failed to construct host key pair from seed")?;
            ensure!(
                key.key_pair_type() == nkeys::KeyPairType::Server,
                "the host seed must be a server nkey seed (SN...)"
            );
            Some(Arc::new(key))
        }
        None => None,
    };
    let (nats_jwt, nats_key) = credentials(args.nats_creds.as_ref(), args.nats_jwt.as_ref(), args.nats_seed.as_ref())
        .context("failed to parse NATS credentials from provided arguments")?;
    let (ctl_jwt, ctl_key) = credentials(args.ctl_creds.as_ref(), args.ctl_jwt.as_ref(), args.ctl_seed.as_ref())
        .context("failed to parse control interface credentials from provided arguments")?;
    let (rpc_jwt, rpc_key) = credentials(args.rpc_creds.as_ref(), args.rpc_jwt.as_ref(), args.rpc_seed.as_ref())
        .context("failed to parse RPC credentials from provided arguments")?;
    let ctl_nats_url = nats_url(args.ctl_host.as_ref(), args.ctl_port, &args, "control interface")?;
    let rpc_nats_url = nats_url(args.rpc_host.as_ref(), args.rpc_port, &args, "RPC")?;
    let labels = collect_labels(&args.labels, std::env::vars())?;
    let experimental_features: Features = args.features.iter().map(|f| Features::from(f.as_str())).sum();
    let otel_config = OtelConfig {
        enable_observability: args.enable_observability,
        enable_traces: args.enable_traces,
        enable_metrics: args.enable_metrics,
        enable_logs: args.enable_logs,
        observability_endpoint: args.observability_endpoint,
        traces_endpoint: args.traces_endpoint,
        metrics_endpoint: args.metrics_endpoint,
        logs_endpoint: args.logs_endpoint,
        protocol: args.observability_protocol.unwrap_or_default(),
        additional_ca_paths: args.tls_ca_paths.clone(),
        trace_level: WasmcloudLevel::from(args.trace_level),
        ..Default::default()
    };
    #[cfg(feature = "host-0-26")]
    let (control, host_key) = (
        Control {
            nats_url: ctl_nats_url,
            jwt: ctl_jwt.or_else(|| nats_jwt.clone()),
            key: ctl_key.or_else(|| nats_key.clone()),
            tls: args.ctl_tls,
            topic_prefix: args.ctl_topic_prefix,
            policy_topic: args.policy_topic,
            policy_changes_topic: args.policy_changes_topic,
            policy_timeout: args.policy_timeout,
            secrets_topic: args.secrets_topic,
        },
        host_key.unwrap_or_else(|| Arc::new(KeyPair::new_server())),
    );
    #[cfg(not(feature = "host-0-26"))]
    let control = ();
    let config = WasmbusHostConfig {
        #[cfg(not(feature = "host-0-26"))]
        ctl_nats_url,
        #[cfg(not(feature = "host-0-26"))]
        ctl_jwt: ctl_jwt.or_else(|| nats_jwt.clone()),
        #[cfg(not(feature = "host-0-26"))]
        ctl_key: ctl_key.or_else(|| nats_key.clone()),
        #[cfg(not(feature = "host-0-26"))]
        ctl_tls: args.ctl_tls,
        #[cfg(not(feature = "host-0-26"))]
        ctl_topic_prefix: args.ctl_topic_prefix,
        rpc_nats_url,
        rpc_timeout: args.rpc_timeout,
        rpc_jwt: rpc_jwt.or(nats_jwt),
        rpc_key: rpc_key.or(nats_key),
        rpc_tls: args.rpc_tls,
        lattice: Arc::from(args.lattice),
        js_domain: args.js_domain,
        labels,
        host_key,
        provider_shutdown_delay: Some(args.provider_shutdown_delay),
        oci_opts: OciConfig {
            additional_ca_paths: args.tls_ca_paths,
            allow_latest: args.allow_latest,
            allowed_insecure: args.allowed_insecure,
            oci_registry: args.oci_registry,
            oci_user: args.oci_user,
            oci_password: args.oci_password,
        },
        allow_file_load: args.allow_file_load,
        enable_structured_logging: args.structured_logging,
        log_level: WasmcloudLevel::from(args.log_level),
        config_service_enabled: args.config_service,
        otel_config,
        #[cfg(not(feature = "host-0-26"))]
        policy_service_config: PolicyService {
            policy_topic: args.policy_topic,
            policy_changes_topic: args.policy_changes_topic,
            policy_timeout_ms: args.policy_timeout,
        },
        #[cfg(not(feature = "host-0-26"))]
        secrets_topic_prefix: args.secrets_topic,
        version: HOST_VERSION.to_string(),
        max_execution_time: args.max_execution_time,
        // 0.26's library takes a u64 where 1.9.0's command line reads a u32.
        max_linear_memory: args.max_linear_memory.into(),
        max_component_size: args.max_component_size,
        max_components: args.max_components,
        #[cfg(not(any(feature = "host-0-24", feature = "host-0-25")))]
        max_core_instances_per_component: args.max_core_instances_per_component,
        heartbeat_interval: args.heartbeat_interval,
        experimental_features,
        http_admin: args.http_admin,
        enable_component_auction: args.component_auction.unwrap_or(true),
        enable_provider_auction: args.provider_auction.unwrap_or(true),
    };
    Ok((config, control))
}

/// A started host and the future that completes its shutdown.
struct Started<S> {
    host: Arc<Host>,
    shutdown: S,
    /// 1.9.0: the control-interface server's tasks, which the launcher runs and ends.
    #[cfg(feature = "host-0-26")]
    control_tasks: tokio::task::JoinSet<anyhow::Result<()>>,
}

/// Starts the host the way the release's own binary does.
#[cfg(not(feature = "host-0-26"))]
async fn start(
    config: WasmbusHostConfig,
    _: Control,
) -> anyhow::Result<Started<impl std::future::Future<Output = anyhow::Result<()>>>> {
    let (host, shutdown) = Box::pin(Host::new(config)).await.context("failed to initialize host")?;
    Ok(Started { host, shutdown })
}

/// Starts the host the way wasmCloud 1.9.0's binary does: the control connection first, then the
/// NATS host builder with its event publisher, policy and secrets services, then the
/// control-interface server.
#[cfg(feature = "host-0-26")]
async fn start(
    config: WasmbusHostConfig,
    control: Control,
) -> anyhow::Result<Started<impl std::future::Future<Output = anyhow::Result<()>>>> {
    use wasmcloud_host::nats::builder::NatsHostBuilder;
    use wasmcloud_host::workload_identity::WorkloadIdentityConfig;
    let identity = if config.experimental_features.workload_identity_auth_enabled() {
        Some(WorkloadIdentityConfig::from_env()?)
    } else {
        None
    };
    let ctl_nats = wasmcloud_host::nats::connect_nats(
        control.nats_url.as_str(),
        control.jwt.as_ref(),
        control.key.clone(),
        control.tls,
        None,
        identity,
    )
    .await
    .context("failed to establish NATS control connection")?;
    let labels = config.labels.clone();
    let mut builder = NatsHostBuilder::new(
        ctl_nats,
        Some(control.topic_prefix),
        config.lattice.to_string(),
        config.js_domain.clone(),
        Some(config.oci_opts.clone()),
        labels.clone().into_iter().collect(),
        config.config_service_enabled,
        config.enable_component_auction,
        config.enable_provider_auction,
    )
    .await?
    .with_event_publisher(config.host_key.public_key());
    if control.policy_topic.is_some() {
        builder = builder
            .with_policy_manager(
                Arc::clone(&config.host_key),
                labels,
                control.policy_topic,
                control.policy_timeout,
                control.policy_changes_topic,
            )
            .await?;
    }
    if let Some(topic) = control.secrets_topic {
        builder = builder.with_secrets_manager(topic)?;
    }
    let (host_builder, ctl_server) = builder.build(config).await?;
    let (host, shutdown) = Box::pin(host_builder.build()).await.context("failed to initialize host")?;
    let control_tasks = ctl_server.start(Arc::clone(&host)).await?;
    Ok(Started { host, shutdown, control_tasks })
}

async fn run(args: Args) -> anyhow::Result<()> {
    let flame_graph = args.flame_graph.clone();
    let structured = args.structured_logging;
    let log_level = WasmcloudLevel::from(args.log_level);
    warn_unknown_variables();
    let (config, control) = host_config(args)?;
    // Observability must be configured before the host starts so its first events are traced.
    let _flush_guard = match wasmcloud_tracing::configure_observability(
        "wasmcloud-host",
        &config.otel_config,
        structured,
        flame_graph,
        Some(&log_level),
        Some(&config.otel_config.trace_level),
    ) {
        Ok((dispatch, guard)) => {
            dispatch.try_init().context("failed to init observability for host")?;
            Some(guard)
        }
        Err(e) => {
            eprintln!("Failed to configure observability: {e:?}");
            None
        }
    };

    // The handlers go in before the host starts: a signal that arrives while it starts (the host
    // already answers the lattice before `Host::new` returns) is kept, and the host then stops
    // gracefully, instead of the default action ending the process without `host_stopped`.
    let (mut terminate, mut interrupt) = signal_handlers()?;
    #[cfg_attr(not(feature = "host-0-26"), allow(unused_mut))]
    let mut started = start(config, control).await?;
    let host = started.host;
    // A stop request through the control interface carries its own deadline; a signal uses ours.
    let deadline = tokio::select! {
        _ = interrupt.recv() => None,
        _ = terminate.recv() => None,
        stopped = host.stopped() => stopped?,
    };
    #[cfg(feature = "host-0-26")]
    started.control_tasks.abort_all();
    drop(host);
    let shutdown = async { started.shutdown.await.context("failed to shutdown host") };
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, shutdown).await,
        None => tokio::time::timeout(SHUTDOWN_TIMEOUT, shutdown).await,
    }
    .context("host shutdown timed out")?
}

/// Says which `WASMCLOUD_*` variables in the environment this release does not read (a newer
/// release's, or a typo): upstream ignores them silently; the launcher ignores them too, but names
/// them on stderr, so a run against an older release shows which settings did not apply.
fn warn_unknown_variables() {
    use clap::CommandFactory as _;
    let command = Args::command();
    let known: Vec<String> = command
        .get_arguments()
        .filter_map(|arg| arg.get_env().map(|env| env.to_string_lossy().into_owned()))
        .collect();
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if unknown_variable(&name, &known) {
            eprintln!("warning: {name} is not a setting of wasmCloud {HOST_VERSION}: ignored");
        }
    }
}

/// A `WASMCLOUD_*` variable that is neither a setting nor a label (`WASMCLOUD_LABEL_*`).
fn unknown_variable(name: &str, known: &[String]) -> bool {
    name.starts_with("WASMCLOUD_") && !name.starts_with("WASMCLOUD_LABEL_") && !known.iter().any(|k| k == name)
}

/// SIGTERM and SIGINT handlers, installed before anything starts.
fn signal_handlers() -> anyhow::Result<(Signal, Signal)> {
    let terminate = signal(SignalKind::terminate()).context("failed to install SIGTERM handler")?;
    let interrupt = signal(SignalKind::interrupt()).context("failed to install SIGINT handler")?;
    Ok((terminate, interrupt))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: failed to start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_from_cli_override_env() {
        let env = vec![
            ("WASMCLOUD_LABEL_zone".to_string(), "env".to_string()),
            ("WASMCLOUD_LABEL_Tier".to_string(), "gold".to_string()),
            ("HOST_old".to_string(), "ignored".to_string()),
        ];
        let labels = collect_labels(&["zone=cli".to_string()], env.into_iter()).unwrap();
        assert_eq!(labels.get("zone").map(String::as_str), Some("cli"));
        assert_eq!(labels.get("Tier").map(String::as_str), Some("gold"));
        assert!(!labels.contains_key("old"));
    }

    #[test]
    fn label_with_two_equals_is_rejected() {
        assert!(parse_label("a=b=c").is_err());
        assert!(parse_label("novalue").is_err());
        assert_eq!(parse_label("a=").unwrap(), ("a".to_string(), String::new()));
    }

    #[test]
    fn publish_subjects() {
        for ok in ["wasmcloud.secrets", "simple", "with_underscore", "a-b.c1"] {
            assert!(is_publish_subject(ok), "{ok}");
        }
        for bad in ["", ".", ".a", "a.", "a..b", "a.*", "a.>", "a b", "a!b"] {
            assert!(!is_publish_subject(bad), "{bad}");
        }
    }

    #[test]
    fn creds_file_parses() {
        let dir = std::env::temp_dir().join(format!("creds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("user.creds");
        let seed = KeyPair::new_user().seed().unwrap();
        std::fs::write(
            &path,
            format!("-----BEGIN NATS USER JWT-----\neyJ.jwt\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n"),
        )
        .unwrap();
        let (jwt, key) = credentials(Some(&path), None, None).unwrap();
        assert_eq!(jwt.as_deref(), Some("eyJ.jwt"));
        assert_eq!(key.unwrap().seed().unwrap(), seed);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
