//! What the lattice under test shows of each [`Feature`], read and probed at the start of a run,
//! against what the target declares (`WCC_TARGET_UNSUPPORTED`). A mismatch is reported (the
//! report's `features` section, shown first in the summaries), never fatal: the declaration
//! decides which tests run, the detection tells the reader whether the declaration is right.
use std::collections::BTreeMap;
use std::time::Duration;

use conformance_report::FeatureRecord;

use super::Feature;
use harness::fixtures::{FixtureRef, Lang};
use harness::wait::{Probe, Wait};
use harness::Lattice;

/// Comma-separated feature ids the target lacks (`wadm`, `builtin-http-server`, ...).
pub const UNSUPPORTED_ENV: &str = "WCC_TARGET_UNSUPPORTED";

/// What a probe found for one feature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detected {
    /// The feature.
    pub feature: Feature,
    /// `Some(true)`: shown; `Some(false)`: shown absent; `None`: not probed or inconclusive.
    pub supported: Option<bool>,
    /// What was seen.
    pub evidence: String,
}

/// The features a comma-separated list of ids names (the value of `WCC_TARGET_UNSUPPORTED`);
/// an unknown id is an error naming it and the known ones (a typo would silently run tests the
/// target meant to skip).
pub fn parse_unsupported(value: &str) -> Result<Vec<Feature>, String> {
    let mut features = Vec::new();
    for name in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let feature = Feature::parse(name, UNSUPPORTED_ENV)?;
        if !features.contains(&feature) {
            features.push(feature);
        }
    }
    Ok(features)
}

/// [`parse_unsupported`] of `WCC_TARGET_UNSUPPORTED` (unset: none). Read once, at the edge
/// ([`super::RunOptions::from_env`], the runner's argument parsing).
pub fn unsupported_from_env() -> Result<Vec<Feature>, String> {
    parse_unsupported(&std::env::var(UNSUPPORTED_ENV).unwrap_or_default())
}

/// Declared against detected, one record per feature in [`Feature::ALL`] order.
pub fn compare(declared_unsupported: &[Feature], detected: &[Detected]) -> Vec<FeatureRecord> {
    Feature::ALL
        .into_iter()
        .map(|feature| {
            let declared = !declared_unsupported.contains(&feature);
            let found = detected.iter().find(|d| d.feature == feature);
            let supported = found.and_then(|d| d.supported);
            FeatureRecord {
                feature: feature.id().to_string(),
                declared,
                detected: supported,
                evidence: found
                    .map(|d| d.evidence.clone())
                    .unwrap_or_else(|| "not probed".into()),
                mismatch: supported.is_some_and(|s| s != declared),
            }
        })
        .collect()
}

/// The detected support of `feature` in `detected`.
pub fn detected_of(detected: &[Detected], feature: Feature) -> Option<bool> {
    detected
        .iter()
        .find(|d| d.feature == feature)
        .and_then(|d| d.supported)
}

const PROBE_COMPONENT: &str = "wcc-feature-probe";
const PROBE_PROVIDER: &str = "wcc-feature-probe-http";
const BUILTIN_HTTP: &str = "wasmcloud+builtin://http-server";

fn detected(feature: Feature, supported: Option<bool>, evidence: impl Into<String>) -> Detected {
    Detected {
        feature,
        supported,
        evidence: evidence.into(),
    }
}

/// Reads and probes `lattice` through its first host: the control interface answers (with each
/// host's version and labels as evidence); wadm answers `model.list`; a `file://` component
/// (the Rust probe fixture) is accepted or refused, and its `component_scaled` or
/// `component_scale_failed` arrives as a lattice event; the builtin HTTP server provider starts or
/// goes unanswered. Whatever a probe starts is stopped again before this returns (bounded).
pub async fn detect(lattice: &Lattice) -> Vec<Detected> {
    let mut out = Vec::new();
    let ctl = lattice.ctl();
    let hosts = ctl.get_hosts().await;
    let host = match &hosts {
        Ok(hosts) if !hosts.is_empty() => {
            let seen: Vec<String> = hosts
                .iter()
                .map(|h| {
                    let labels: BTreeMap<_, _> = h.labels().iter().collect();
                    format!(
                        "{} version {} labels {labels:?}",
                        h.id(),
                        h.version().unwrap_or("?")
                    )
                })
                .collect();
            out.push(detected(
                Feature::ControlInterface,
                Some(true),
                format!(
                    "{} host(s) answered host.ping: {}",
                    hosts.len(),
                    seen.join("; ")
                ),
            ));
            Some(hosts[0].id().to_string())
        }
        Ok(_) => {
            out.push(detected(
                Feature::ControlInterface,
                Some(false),
                "no host answered host.ping",
            ));
            None
        }
        Err(e) => {
            out.push(detected(
                Feature::ControlInterface,
                Some(false),
                format!("host.ping failed: {e}"),
            ));
            None
        }
    };
    let wadm = harness::existing::wadm_answers(lattice.wadm(), Duration::from_secs(3)).await;
    out.push(detected(
        Feature::Wadm,
        Some(wadm),
        if wadm {
            "wadm answered model.list"
        } else {
            "no answer to model.list within 3 s"
        },
    ));
    let Some(host) = host else {
        for f in [
            Feature::LatticeEvents,
            Feature::FileLoad,
            Feature::BuiltinHttpServer,
        ] {
            out.push(detected(f, None, "no host to probe"));
        }
        return out;
    };
    out.extend(probe_file_load(lattice, &host).await);
    out.push(probe_builtin_http(lattice, &host).await);
    for f in [Feature::Wrpc, Feature::Links] {
        out.push(detected(
            f,
            None,
            "not probed (needs components of the run itself)",
        ));
    }
    out
}

/// The flag that sets the core-instance limit ([`Feature::CoreInstanceLimit`]).
const CORE_INSTANCE_FLAG: &str = "--max-core-instances-per-component";

/// Whether each host binary offers the core-instance limit, read from its `--help` (bounded): the
/// command line is the contract that sets it (CFG-07), and a release without it has no such flag.
/// Supported only if every binary offers it (a mixed-version lattice runs two).
pub async fn probe_core_instance_limit(hosts: &[&std::path::Path]) -> Detected {
    let mut evidence = Vec::new();
    let mut supported = Some(true);
    for bin in hosts {
        let verdict = match harness::binaries::output_of(bin, "--help").await {
            Ok((_, help)) => Some(help_offers(&help, CORE_INSTANCE_FLAG)),
            Err(e) => {
                evidence.push(e);
                None
            }
        };
        if let Some(offers) = verdict {
            evidence.push(format!(
                "{} --help {} {CORE_INSTANCE_FLAG}",
                bin.display(),
                if offers { "lists" } else { "does not list" }
            ));
        }
        supported = match (supported, verdict) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        };
    }
    detected(Feature::CoreInstanceLimit, supported, evidence.join("; "))
}

/// Whether `help` (a `--help` text) lists `flag` as an option of its own (not as part of a longer
/// flag's name).
fn help_offers(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(at, _)| {
        help[at + flag.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-'))
    })
}

/// Scales the Rust probe fixture from `file://` on `host`: the event that reports the outcome
/// shows lattice events arrive; its kind shows whether file loads are accepted.
async fn probe_file_load(lattice: &Lattice, host: &str) -> Vec<Detected> {
    let fixture = match harness::fixtures::fixture(FixtureRef::new("probe", Lang::Rust)) {
        Ok(f) => f,
        Err(e) => {
            return vec![
                detected(Feature::LatticeEvents, None, format!("not probed: {e}")),
                detected(Feature::FileLoad, None, format!("not probed: {e}")),
            ]
        }
    };
    let ctl = lattice.ctl();
    let journal = lattice.journal();
    let mark = journal.mark();
    let image = fixture.file_ref();
    let ack = ctl
        .scale_component(host, &image, PROBE_COMPONENT, 1, None, vec![])
        .await;
    match ack {
        Ok(r) if r.succeeded() => {}
        Ok(r) => {
            return vec![
                detected(
                    Feature::LatticeEvents,
                    None,
                    "not probed: the scale was refused",
                ),
                detected(
                    Feature::FileLoad,
                    Some(false),
                    format!("component.scale of {image} refused: {}", r.message()),
                ),
            ]
        }
        Err(e) => {
            return vec![
                detected(Feature::LatticeEvents, None, "not probed: the scale failed"),
                detected(
                    Feature::FileLoad,
                    None,
                    format!("component.scale failed: {e}"),
                ),
            ]
        }
    }
    let outcome = Wait::new(
        format!("component_scaled or component_scale_failed of {PROBE_COMPONENT}"),
        Duration::from_secs(30),
    )
    .interval(Duration::from_millis(50))
    .until(|_| {
        let found = journal.since(mark).into_iter().find(|e| {
            (e.kind == "component_scaled" || e.kind == "component_scale_failed")
                && e.field("component_id") == Some(PROBE_COMPONENT)
        });
        async move {
            match found {
                Some(e) => Probe::Ready(e),
                None => Probe::NotYet("no such event yet".into()),
            }
        }
    })
    .await;
    let result = match outcome {
        Ok(e) if e.kind == "component_scaled" => vec![
            detected(
                Feature::LatticeEvents,
                Some(true),
                format!(
                    "component_scaled of the probe arrived on wasmbus.evt.{}",
                    lattice.name()
                ),
            ),
            detected(
                Feature::FileLoad,
                Some(true),
                format!("{image} ran on {host}"),
            ),
        ],
        Ok(e) => vec![
            detected(
                Feature::LatticeEvents,
                Some(true),
                format!(
                    "component_scale_failed of the probe arrived on wasmbus.evt.{}",
                    lattice.name()
                ),
            ),
            detected(
                Feature::FileLoad,
                Some(false),
                format!(
                    "component_scale_failed for {image}: {}",
                    e.field("error").unwrap_or("(no error field)")
                ),
            ),
        ],
        Err(e) => vec![
            detected(Feature::LatticeEvents, Some(false), e.to_string()),
            detected(Feature::FileLoad, None, "no event reported the outcome"),
        ],
    };
    let _ = ctl
        .scale_component(host, &image, PROBE_COMPONENT, 0, None, vec![])
        .await;
    let _ = Wait::new(
        format!("the probe component {PROBE_COMPONENT} to be gone from {host}"),
        Duration::from_secs(30),
    )
    .until(|_| async {
        match ctl.get_host_inventory(host).await.map(|r| r.into_data()) {
            Ok(Some(inv)) if inv.components().iter().all(|c| c.id() != PROBE_COMPONENT) => {
                Probe::Ready(())
            }
            Ok(Some(_)) => Probe::NotYet("still in the inventory".into()),
            Ok(None) => Probe::NotYet("no inventory".into()),
            Err(e) => Probe::NotYet(e.to_string()),
        }
    })
    .await;
    result
}

/// Starts the builtin HTTP server provider on `host`: a host without the feature leaves the
/// request unanswered (HL-16); one with it starts the provider (then stopped again).
async fn probe_builtin_http(lattice: &Lattice, host: &str) -> Detected {
    let mark = lattice.journal().mark();
    let short = lattice.ctl().with_timeout(Duration::from_millis(1500));
    match short
        .start_provider(host, BUILTIN_HTTP, PROBE_PROVIDER, vec![])
        .await
    {
        Err(_) => detected(
            Feature::BuiltinHttpServer,
            Some(false),
            format!("provider.start of {BUILTIN_HTTP} went unanswered (a host answers it only with the feature enabled)"),
        ),
        Ok(r) if !r.succeeded() => detected(
            Feature::BuiltinHttpServer,
            Some(false),
            format!("provider.start of {BUILTIN_HTTP} refused: {}", r.message()),
        ),
        Ok(_) => {
            let started = lattice
                .journal()
                .wait_for(
                    mark,
                    "provider_started",
                    PROBE_PROVIDER,
                    Duration::from_secs(20),
                    |e| e.field("provider_id") == Some(PROBE_PROVIDER),
                )
                .await;
            let _ = lattice.ctl().stop_provider(host, PROBE_PROVIDER).await;
            let _ = lattice
                .journal()
                .wait_for(
                    mark,
                    "provider_stopped",
                    PROBE_PROVIDER,
                    Duration::from_secs(20),
                    |e| e.field("provider_id") == Some(PROBE_PROVIDER),
                )
                .await;
            match started {
                Ok(_) => detected(
                    Feature::BuiltinHttpServer,
                    Some(true),
                    format!("{BUILTIN_HTTP} started on {host} (provider_started)"),
                ),
                Err(e) => detected(
                    Feature::BuiltinHttpServer,
                    Some(false),
                    format!("provider.start acked but: {e}"),
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_features_parse_and_a_typo_is_refused() {
        assert_eq!(parse_unsupported("").unwrap(), Vec::<Feature>::new());
        assert_eq!(
            parse_unsupported(" wadm , wadm,").unwrap(),
            vec![Feature::Wadm]
        );
        let err = parse_unsupported("wadm,wadn").unwrap_err();
        assert!(err.contains("`wadn`") && err.contains("wadm"), "{err}");
    }

    #[test]
    fn a_mismatch_is_a_known_detection_that_differs_from_the_declaration() {
        let detected = vec![
            detected(Feature::ControlInterface, Some(true), "pinged"),
            detected(Feature::Wadm, Some(false), "no answer"),
            detected(Feature::BuiltinHttpServer, Some(true), "started"),
            detected(Feature::FileLoad, None, "not probed"),
        ];
        let records = compare(&[Feature::BuiltinHttpServer, Feature::FileLoad], &detected);
        assert_eq!(records.len(), Feature::ALL.len());
        let by_id = |id: &str| records.iter().find(|r| r.feature == id).unwrap().clone();
        let ci = by_id("control-interface");
        assert!(ci.declared && ci.detected == Some(true) && !ci.mismatch);
        let wadm = by_id("wadm");
        assert!(
            wadm.declared && wadm.detected == Some(false) && wadm.mismatch,
            "declared supported, detected absent: {wadm:?}"
        );
        let http = by_id("builtin-http-server");
        assert!(
            !http.declared && http.detected == Some(true) && http.mismatch,
            "declared unsupported, detected present: {http:?}"
        );
        let file = by_id("file-load");
        assert!(
            !file.declared && file.detected.is_none() && !file.mismatch,
            "unknown is never a mismatch: {file:?}"
        );
        let wrpc = by_id("wrpc");
        assert_eq!(wrpc.evidence, "not probed");
        assert!(!wrpc.mismatch);
    }

    #[test]
    fn a_flag_is_offered_only_as_itself() {
        let help = "Options:\n      --max-core-instances-per-component <N>  [env: X]\n      --max-components <N>\n";
        assert!(super::help_offers(
            help,
            "--max-core-instances-per-component"
        ));
        assert!(super::help_offers(help, "--max-components"));
        assert!(!super::help_offers(help, "--max-component"));
        assert!(!super::help_offers(
            "Options:\n  --max-components-x\n",
            "--max-components"
        ));
    }
}
