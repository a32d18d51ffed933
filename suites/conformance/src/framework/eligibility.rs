//! Whether a test can run on an existing lattice the suite only connects to: it can when its
//! [`Setup`] asks for nothing the suite cannot arrange on someone else's lattice.
use std::collections::BTreeMap;

use super::features::{detected_of, Detected};
use super::{ConformanceTest, Feature, Setup};

/// What the suite found on an existing lattice.
#[derive(Clone, Debug, Default)]
pub struct LatticeFacts {
    /// Each host's labels, in the order [`harness::Lattice::host_ids`] gives the hosts.
    pub host_labels: Vec<BTreeMap<String, String>>,
    /// Whether wadm answers.
    pub wadm: bool,
    /// What feature detection found.
    pub detected: Vec<Detected>,
}

impl LatticeFacts {
    /// The facts of a connected lattice plus the run's detection.
    pub fn of(lattice: &harness::Lattice, detected: Vec<Detected>) -> Self {
        Self {
            host_labels: lattice
                .discovered_hosts()
                .iter()
                .map(|h| h.labels().clone())
                .collect(),
            wadm: lattice.has_wadm(),
            detected,
        }
    }
}

fn has_all(labels: &BTreeMap<String, String>, wanted: &[(&str, &str)]) -> bool {
    wanted
        .iter()
        .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
}

fn pairs(labels: &[(&str, &str)]) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// What `setup` needs that the existing lattice described by `facts` does not offer (empty:
/// the test can run there).
pub fn unmet_on_existing(setup: &Setup, facts: &LatticeFacts) -> Vec<String> {
    let mut unmet = Vec::new();
    if let Some(what) = setup.suite_lattice {
        unmet.push(what.to_string());
    }
    let found = facts.host_labels.len();
    if setup.hosts > found {
        unmet.push(format!("{} hosts (the lattice has {found})", setup.hosts));
    }
    if setup.wadm && !facts.wadm {
        unmet.push("wadm (none answers on the lattice)".into());
    }
    for f in setup.host_features {
        let shown = *f == Feature::BuiltinHttpServer.id()
            && detected_of(&facts.detected, Feature::BuiltinHttpServer) == Some(true);
        if !shown {
            unmet.push(format!("host feature `{f}` (not detected on the hosts)"));
        }
    }
    if !setup.host_labels.is_empty() {
        let with = facts
            .host_labels
            .iter()
            .filter(|l| has_all(l, setup.host_labels))
            .count();
        if with < setup.hosts.max(1) {
            unmet.push(format!(
                "labels {} on {} host(s) ({with} of the lattice's hosts have them)",
                pairs(setup.host_labels),
                setup.hosts.max(1)
            ));
        }
    }
    for (i, wanted) in setup.labels_per_host.iter().enumerate() {
        if !facts.host_labels.get(i).is_some_and(|l| has_all(l, wanted)) {
            unmet.push(format!("labels {} on host {i}", pairs(wanted)));
        }
    }
    if setup.deny_file_load && detected_of(&facts.detected, Feature::FileLoad) != Some(false) {
        unmet.push("hosts that refuse file:// loads (these accept them or were not probed)".into());
    }
    if setup.otel {
        unmet.push("an OTLP receiver of the suite that the hosts export to".into());
    }
    if !setup.env_per_host.is_empty() {
        let vars: Vec<&str> = setup
            .env_per_host
            .iter()
            .flat_map(|e| e.iter().map(|(k, _)| *k))
            .collect();
        unmet.push(format!("per-host environment ({})", vars.join(", ")));
    }
    if !setup.wadm_env.is_empty() {
        let vars: Vec<&str> = setup.wadm_env.iter().map(|(k, _)| *k).collect();
        unmet.push(format!("wadm environment ({})", vars.join(", ")));
    }
    unmet
}

/// The skip reason of `test` on the existing lattice described by `facts`, if it cannot run there.
pub fn existing_skip_reason(test: &ConformanceTest, facts: &LatticeFacts) -> Option<String> {
    let unmet = unmet_on_existing(&test.setup, facts);
    (!unmet.is_empty()).then(|| {
        format!(
            "needs a lattice the suite starts (target: existing lattice): {}",
            unmet.join("; ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(hosts: usize, labels: &[(&str, &str)]) -> LatticeFacts {
        LatticeFacts {
            host_labels: vec![
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                hosts
            ],
            wadm: false,
            detected: vec![],
        }
    }

    #[test]
    fn a_plain_setup_runs_and_anything_the_suite_must_arrange_does_not() {
        let one = facts(1, &[("zone", "a")]);
        assert!(unmet_on_existing(&Setup::hosts(1), &one).is_empty());
        assert!(unmet_on_existing(&Setup::hosts(1).labels(&[("zone", "a")]), &one).is_empty());
        let cases: [(Setup, &str); 10] = [
            (Setup::hosts(2), "2 hosts (the lattice has 1)"),
            (Setup::hosts(1).with_wadm(), "wadm"),
            (
                Setup::hosts(1).features(&["builtin-http-server"]),
                "host feature `builtin-http-server`",
            ),
            (Setup::hosts(1).labels(&[("zone", "b")]), "labels zone=b"),
            (Setup::hosts(1).deny_file_load(), "refuse file:// loads"),
            (Setup::hosts(1).otel(), "OTLP receiver"),
            (Setup::hosts(1).wadm_traced(), "OTLP receiver"),
            (
                Setup::hosts(1)
                    .with_wadm()
                    .wadm_env(&[("RUST_LOG", "debug")]),
                "wadm environment (RUST_LOG)",
            ),
            (
                Setup::hosts(1).env_per_host(&[&[("WASMCLOUD_MAX_COMPONENT_SIZE", "64")]]),
                "WASMCLOUD_MAX_COMPONENT_SIZE",
            ),
            (
                Setup::hosts(1).needs_suite_lattice("adds hosts of its own"),
                "adds hosts of its own",
            ),
        ];
        for (setup, expected) in cases {
            let unmet = unmet_on_existing(&setup, &one).join("; ");
            assert!(unmet.contains(expected), "{expected:?} not in {unmet:?}");
        }
        let mut with_http = one.clone();
        with_http.wadm = true;
        with_http.detected = vec![Detected {
            feature: Feature::BuiltinHttpServer,
            supported: Some(true),
            evidence: "started".into(),
        }];
        assert!(unmet_on_existing(
            &Setup::hosts(1)
                .with_wadm()
                .features(&["builtin-http-server"]),
            &with_http
        )
        .is_empty());
    }
}
