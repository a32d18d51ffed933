//! The mutants of `wasmcloud-conformance power`: hosts (and wadm) that each deviate from the
//! contract in one small way, so that a run against each shows which tests would catch it.
//!
//! A mutant is made one of two ways, both from outside the binary, so the same catalogue mutates
//! a vendor's host as well as the reference one:
//! - **nemesis rules** (`harness::nemesis`) on every host's (or wadm's) NATS connection: an event
//!   not published, a reply field falsified, a request acknowledged but not performed;
//! - **environment**: the host binary is wrapped in a script that drops or changes one setting
//!   on its way in (a setting ignored, a default flipped).
//!
//! The control is the run with every host and wadm behind a nemesis without rules: what fails
//! there fails because of the proxy, not a mutant, and is not counted as a kill.
use bytes::Bytes;
use harness::nemesis::{Fault, Rule};

use crate::framework::NemesisPlan;

/// The id of the control run.
pub const CONTROL: &str = "control";

/// One of wasmCloud's five declared features.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Declared {
    /// Declarative WebAssembly orchestration.
    Orchestration,
    /// Seamless distributed networking.
    Networking,
    /// Vendorless application components.
    Vendorless,
    /// Completely OTEL observable.
    Observability,
    /// Defense-in-depth security by default.
    Security,
}

impl Declared {
    /// The id used in `power.json`.
    pub fn id(self) -> &'static str {
        match self {
            Self::Orchestration => "orchestration",
            Self::Networking => "networking",
            Self::Vendorless => "vendorless",
            Self::Observability => "observability",
            Self::Security => "security",
        }
    }
}

/// How a mutant deviates.
#[derive(Clone, Copy, Debug)]
pub enum How {
    /// Rules on every host's nemesis, and on wadm's.
    Nemesis {
        /// Rules of each host's connection.
        hosts: fn() -> Vec<Rule>,
        /// Rules of wadm's connection.
        wadm: fn() -> Vec<Rule>,
    },
    /// The host binary run through a wrapper that changes its environment first.
    Env {
        /// Variables removed (a name ending in `*` removes every variable with that prefix).
        unset: &'static [&'static str],
        /// Variables set (after the removals).
        set: &'static [(&'static str, &'static str)],
    },
}

/// One mutant host.
#[derive(Clone, Copy, Debug)]
pub struct Mutant {
    /// Stable id (used in `--mutants`, `power.json` and run folders).
    pub id: &'static str,
    /// The declared feature whose contract it breaks.
    pub feature: Declared,
    /// What it changes, in a sentence.
    pub change: &'static str,
    /// How.
    pub how: How,
    /// Tests expected to kill it, run first (a run over the whole selection follows when none
    /// does).
    pub suspects: &'static [&'static str],
}

impl Mutant {
    /// The nemesis rules of a run against this mutant (none for an environment mutant).
    pub fn nemesis_plan(&self) -> Option<NemesisPlan> {
        match self.how {
            How::Nemesis { hosts, wadm } => Some(NemesisPlan {
                hosts: hosts(),
                wadm: wadm(),
            }),
            How::Env { .. } => None,
        }
    }

    /// The wrapper script of an environment mutant around `real` (the host binary).
    pub fn wrapper(&self, real: &std::path::Path) -> Option<String> {
        let How::Env { unset, set } = self.how else {
            return None;
        };
        let mut script =
            String::from("#!/bin/sh\n# A mutant host of wasmcloud-conformance power: ");
        script.push_str(self.change);
        script.push('\n');
        for name in unset {
            match name.strip_suffix('*') {
                Some(prefix) => script.push_str(&format!(
                    "for v in $(env | sed -n 's/^\\({prefix}[A-Za-z0-9_]*\\)=.*/\\1/p'); do unset \"$v\"; done\n"
                )),
                None => script.push_str(&format!("unset {name}\n")),
            }
        }
        for (k, v) in set {
            script.push_str(&format!("export {k}='{v}'\n"));
        }
        script.push_str(&format!(
            "exec '{}' \"$@\"\n",
            real.display().to_string().replace('\'', "'\\''")
        ));
        Some(script)
    }
}

/// A control reply that says the request succeeded (`CtlResponse` of the control interface).
fn ctl_success() -> Bytes {
    Bytes::from_static(br#"{"success":true,"message":"","response":null}"#)
}

fn none() -> Vec<Rule> {
    Vec::new()
}

fn drop_event(kind: &str) -> Vec<Rule> {
    vec![Rule::to_server(
        &format!("wasmbus.evt.*.{kind}"),
        Fault::Drop,
    )]
}

fn answer_ctl(operation: &str) -> Vec<Rule> {
    vec![Rule::to_client(
        &format!("wasmbus.ctl.v1.*.{operation}"),
        Fault::Answer(ctl_success()),
    )]
}

fn rewrite(subject: &str, pointer: &str, value: serde_json::Value) -> Vec<Rule> {
    vec![Rule::to_server(
        subject,
        Fault::RewriteJson {
            pointer: pointer.into(),
            value,
        },
    )]
}

/// Every mutant, in catalogue order.
pub fn mutants() -> &'static [Mutant] {
    MUTANTS
}

/// The mutant with this id.
pub fn find(id: &str) -> Option<&'static Mutant> {
    MUTANTS.iter().find(|m| m.id == id)
}

macro_rules! rules {
    ($($body:tt)*) => {{
        fn f() -> Vec<Rule> { $($body)* }
        f
    }};
}

static MUTANTS: &[Mutant] = &[
    // ---- Declarative orchestration ----
    Mutant {
        id: "heartbeat-says-nothing-runs",
        feature: Declared::Orchestration,
        change: "every heartbeat lists no components",
        how: How::Nemesis {
            hosts: rules!(rewrite(
                "wasmbus.evt.*.host_heartbeat",
                "/data/components",
                serde_json::json!([])
            )),
            wadm: none,
        },
        suspects: &[
            "host::heartbeat_lists_what_runs",
            "orchestration::wadm_restart_rebuilds_from_heartbeats",
        ],
    },
    Mutant {
        id: "heartbeat-without-labels",
        feature: Declared::Orchestration,
        change: "every heartbeat carries an empty label map",
        how: How::Nemesis {
            hosts: rules!(rewrite(
                "wasmbus.evt.*.host_heartbeat",
                "/data/labels",
                serde_json::json!({})
            )),
            wadm: none,
        },
        suspects: &[
            "host::heartbeat_interval_and_payload",
            "orchestration::labels_learned_from_heartbeats",
        ],
    },
    Mutant {
        id: "no-heartbeats",
        feature: Declared::Orchestration,
        change: "the host never publishes host_heartbeat",
        how: How::Nemesis {
            hosts: rules!(drop_event("host_heartbeat")),
            wadm: none,
        },
        suspects: &["host::heartbeat_interval_and_payload"],
    },
    Mutant {
        id: "heartbeat-interval-ignored",
        feature: Declared::Orchestration,
        change: "WASMCLOUD_HEARTBEAT_INTERVAL is ignored (the 30 s default applies)",
        how: How::Env {
            unset: &["WASMCLOUD_HEARTBEAT_INTERVAL"],
            set: &[],
        },
        suspects: &["host::heartbeat_interval_and_payload"],
    },
    Mutant {
        id: "labels-ignored",
        feature: Declared::Orchestration,
        change: "WASMCLOUD_LABEL_* variables are ignored",
        how: How::Env {
            unset: &["WASMCLOUD_LABEL_*"],
            set: &[],
        },
        suspects: &[
            "host::ping_reports_identity",
            "orchestration::spread_by_weight_and_labels",
        ],
    },
    Mutant {
        id: "wadm-deploy-acknowledged-not-done",
        feature: Declared::Orchestration,
        change: "wadm acknowledges model.deploy without deploying",
        how: How::Nemesis {
            hosts: none,
            wadm: rules!(vec![Rule::to_client(
                "wadm.api.*.model.deploy.*",
                Fault::Answer(Bytes::from_static(
                    br#"{"result":"acknowledged","message":"Deploying model"}"#
                )),
            )]),
        },
        suspects: &["orchestration::http_app_deploy_serve_undeploy"],
    },
    Mutant {
        id: "wadm-status-unpublished",
        feature: Declared::Orchestration,
        change: "wadm publishes no status updates on wadm.status.<lattice>.<app>",
        how: How::Nemesis {
            hosts: none,
            wadm: rules!(vec![Rule::to_server("wadm.status.>", Fault::Drop)]),
        },
        suspects: &[
            "orchestration::http_app_deploy_serve_undeploy",
            "orchestration::model_versions_and_delete",
        ],
    },
    Mutant {
        id: "wadm-scale-commands-lost",
        feature: Declared::Orchestration,
        change: "wadm's scale requests never reach the hosts",
        how: How::Nemesis {
            hosts: none,
            wadm: rules!(vec![Rule::to_server(
                "wasmbus.ctl.v1.*.component.scale.*",
                Fault::Drop
            )]),
        },
        suspects: &["orchestration::http_app_deploy_serve_undeploy"],
    },
    // ---- Distributed networking ----
    Mutant {
        id: "scale-acknowledged-not-done",
        feature: Declared::Networking,
        change: "component.scale is acknowledged and not performed",
        how: How::Nemesis {
            hosts: rules!(answer_ctl("component.scale.*")),
            wadm: none,
        },
        suspects: &["components::scale_invoke_and_stop"],
    },
    Mutant {
        id: "link-put-acknowledged-not-done",
        feature: Declared::Networking,
        change: "link.put is acknowledged and not performed",
        how: How::Nemesis {
            hosts: rules!(answer_ctl("link.put")),
            wadm: none,
        },
        suspects: &["links::put_get_delete_with_events"],
    },
    Mutant {
        id: "config-put-acknowledged-not-done",
        feature: Declared::Networking,
        change: "config.put is acknowledged and not performed",
        how: How::Nemesis {
            hosts: rules!(answer_ctl("config.put.*")),
            wadm: none,
        },
        suspects: &["config::put_get_delete"],
    },
    Mutant {
        id: "label-put-acknowledged-not-done",
        feature: Declared::Networking,
        change: "label.put is acknowledged and not performed",
        how: How::Nemesis {
            hosts: rules!(answer_ctl("label.put.*")),
            wadm: none,
        },
        suspects: &["host::labels_at_runtime"],
    },
    Mutant {
        id: "component-scaled-unpublished",
        feature: Declared::Networking,
        change: "the host never publishes component_scaled",
        how: How::Nemesis {
            hosts: rules!(drop_event("component_scaled")),
            wadm: none,
        },
        suspects: &["components::scale_invoke_and_stop"],
    },
    Mutant {
        id: "component-scaled-wrong-host",
        feature: Declared::Networking,
        change: "component_scaled names another host",
        how: How::Nemesis {
            hosts: rules!(rewrite(
                "wasmbus.evt.*.component_scaled",
                "/data/host_id",
                serde_json::json!("NBOGUSHOSTBOGUSHOSTBOGUSHOSTBOGUSHOSTBOGUSHOSTBOGUSHOST"),
            )),
            wadm: none,
        },
        suspects: &["components::scale_invoke_and_stop"],
    },
    Mutant {
        id: "component-scaled-wrong-count",
        feature: Declared::Networking,
        change: "component_scaled reports 99 instances",
        how: How::Nemesis {
            hosts: rules!(rewrite(
                "wasmbus.evt.*.component_scaled",
                "/data/max_instances",
                serde_json::json!(99),
            )),
            wadm: none,
        },
        suspects: &[
            "components::scale_invoke_and_stop",
            "host::scale_count_wire_field",
        ],
    },
    Mutant {
        id: "linkdef-set-unpublished",
        feature: Declared::Networking,
        change: "the host never publishes linkdef_set",
        how: How::Nemesis {
            hosts: rules!(drop_event("linkdef_set")),
            wadm: none,
        },
        suspects: &["links::put_get_delete_with_events"],
    },
    Mutant {
        id: "wrpc-results-corrupted",
        feature: Declared::Networking,
        change: "every reply the host sends to an inbox has its bytes inverted",
        how: How::Nemesis {
            hosts: rules!(vec![Rule::to_server("_INBOX.>", Fault::Corrupt)]),
            wadm: none,
        },
        suspects: &["vendorless::echo_rust"],
    },
    Mutant {
        id: "jetstream-domain-ignored",
        feature: Declared::Networking,
        change: "WASMCLOUD_JS_DOMAIN is ignored",
        how: How::Env {
            unset: &["WASMCLOUD_JS_DOMAIN"],
            set: &[],
        },
        suspects: &["networking::jetstream_domain_shared"],
    },
    // ---- Vendorless components ----
    Mutant {
        id: "provider-started-unpublished",
        feature: Declared::Vendorless,
        change: "the host never publishes provider_started",
        how: How::Nemesis {
            hosts: rules!(drop_event("provider_started")),
            wadm: none,
        },
        suspects: &["providers::start_stop_lifecycle"],
    },
    Mutant {
        id: "experimental-features-ignored",
        feature: Declared::Vendorless,
        change: "WASMCLOUD_EXPERIMENTAL_FEATURES is ignored (no builtin providers)",
        how: How::Env {
            unset: &["WASMCLOUD_EXPERIMENTAL_FEATURES"],
            set: &[],
        },
        suspects: &["vendorless::http_rust"],
    },
    Mutant {
        id: "config-set-unpublished",
        feature: Declared::Vendorless,
        change: "the host never publishes config_set",
        how: How::Nemesis {
            hosts: rules!(drop_event("config_set")),
            wadm: none,
        },
        suspects: &["config::put_get_delete"],
    },
    // ---- OTEL observability ----
    Mutant {
        id: "observability-flag-ignored",
        feature: Declared::Observability,
        change: "WASMCLOUD_OBSERVABILITY_ENABLED is ignored",
        how: How::Env {
            unset: &["WASMCLOUD_OBSERVABILITY_ENABLED"],
            set: &[],
        },
        suspects: &["observability::invocations_are_traced"],
    },
    Mutant {
        id: "otlp-endpoint-ignored",
        feature: Declared::Observability,
        change: "OTEL_EXPORTER_OTLP_ENDPOINT is ignored",
        how: How::Env {
            unset: &["OTEL_EXPORTER_OTLP_ENDPOINT"],
            set: &[],
        },
        suspects: &["observability::invocations_are_traced"],
    },
    Mutant {
        id: "observability-always-on",
        feature: Declared::Observability,
        change: "observability is on even when not enabled",
        how: How::Env {
            unset: &[],
            set: &[("WASMCLOUD_OBSERVABILITY_ENABLED", "true")],
        },
        suspects: &["observability::off_unless_enabled"],
    },
    // ---- Security ----
    Mutant {
        id: "file-load-always-allowed",
        feature: Declared::Security,
        change: "file:// loads are allowed whatever WASMCLOUD_ALLOW_FILE_LOAD says",
        how: How::Env {
            unset: &[],
            set: &[("WASMCLOUD_ALLOW_FILE_LOAD", "true")],
        },
        suspects: &["components::file_load_denied_by_default"],
    },
    Mutant {
        id: "policy-topic-ignored",
        feature: Declared::Security,
        change: "WASMCLOUD_POLICY_TOPIC is ignored (no policy is asked)",
        how: How::Env {
            unset: &["WASMCLOUD_POLICY_TOPIC"],
            set: &[],
        },
        suspects: &["security::policy_denial_blocks_start"],
    },
    Mutant {
        id: "policy-denial-read-as-permit",
        feature: Declared::Security,
        change: "every policy answer reads as permitted",
        how: How::Nemesis {
            hosts: rules!(vec![Rule::to_client(
                "_INBOX.>",
                Fault::RewriteJson {
                    pointer: "/permitted".into(),
                    value: serde_json::json!(true),
                },
            )]),
            wadm: none,
        },
        suspects: &["security::policy_denial_blocks_start"],
    },
    Mutant {
        id: "execution-time-limit-ignored",
        feature: Declared::Security,
        change: "WASMCLOUD_MAX_EXECUTION_TIME_MS is ignored",
        how: How::Env {
            unset: &["WASMCLOUD_MAX_EXECUTION_TIME_MS"],
            set: &[],
        },
        suspects: &["security::execution_time_limit"],
    },
    Mutant {
        id: "linear-memory-limit-ignored",
        feature: Declared::Security,
        change: "WASMCLOUD_MAX_LINEAR_MEMORY is ignored",
        how: How::Env {
            unset: &["WASMCLOUD_MAX_LINEAR_MEMORY"],
            set: &[],
        },
        suspects: &["security::linear_memory_limit"],
    },
    Mutant {
        id: "component-size-limit-ignored",
        feature: Declared::Security,
        change: "WASMCLOUD_MAX_COMPONENT_SIZE is ignored",
        how: How::Env {
            unset: &["WASMCLOUD_MAX_COMPONENT_SIZE"],
            set: &[],
        },
        suspects: &["security::component_size_limit"],
    },
    Mutant {
        id: "secrets-topic-ignored",
        feature: Declared::Security,
        change: "WASMCLOUD_SECRETS_TOPIC is ignored",
        how: How::Env {
            unset: &["WASMCLOUD_SECRETS_TOPIC"],
            set: &[],
        },
        suspects: &["host::secrets_for_a_component"],
    },
    // ---- Found by the whole selection (first run without suspects; the suspects below are the
    // tests that killed them then, so that later runs are quick) ----
    Mutant {
        id: "version-reported-wrong",
        feature: Declared::Networking,
        change: "host.ping and host.get report version 9.9.9 instead of the host's own",
        how: How::Nemesis {
            hosts: rules!(rewrite(
                "_INBOX.>",
                "/response/version",
                serde_json::json!("9.9.9")
            )),
            wadm: none,
        },
        suspects: &[
            "observability::host_metrics_and_scope",
            "host::heartbeat_interval_and_payload",
        ],
    },
    Mutant {
        id: "uptime-frozen",
        feature: Declared::Orchestration,
        change: "every heartbeat reports an uptime of 0 s",
        how: How::Nemesis {
            hosts: rules!(rewrite(
                "wasmbus.evt.*.host_heartbeat",
                "/data/uptime_seconds",
                serde_json::json!(0)
            )),
            wadm: none,
        },
        suspects: &["host::heartbeat_interval_and_payload"],
    },
    Mutant {
        id: "health-checks-unpublished",
        feature: Declared::Vendorless,
        change: "the host never publishes health_check_passed",
        how: How::Nemesis {
            hosts: rules!(drop_event("health_check_passed")),
            wadm: none,
        },
        suspects: &["vendorless::provider_archive_start_and_health"],
    },
    Mutant {
        id: "host-stopped-unpublished",
        feature: Declared::Networking,
        change: "the host never publishes host_stopped",
        how: How::Nemesis {
            hosts: rules!(drop_event("host_stopped")),
            wadm: none,
        },
        suspects: &["host::stop_through_control_interface"],
    },
    Mutant {
        id: "labels-changed-unpublished",
        feature: Declared::Networking,
        change: "the host never publishes labels_changed",
        how: How::Nemesis {
            hosts: rules!(drop_event("labels_changed")),
            wadm: none,
        },
        suspects: &["host::labels_at_runtime"],
    },
    Mutant {
        id: "scale-failures-unpublished",
        feature: Declared::Networking,
        change: "the host never publishes component_scale_failed",
        how: How::Nemesis {
            hosts: rules!(drop_event("component_scale_failed")),
            wadm: none,
        },
        suspects: &["security::component_size_limit"],
    },
    Mutant {
        id: "link-deletes-unpublished",
        feature: Declared::Networking,
        change: "the host never publishes linkdef_deleted",
        how: How::Nemesis {
            hosts: rules!(drop_event("linkdef_deleted")),
            wadm: none,
        },
        suspects: &["orchestration::linkdef_set_failed_ignored"],
    },
    Mutant {
        id: "config-deletes-unpublished",
        feature: Declared::Vendorless,
        change: "the host never publishes config_deleted",
        how: How::Nemesis {
            hosts: rules!(drop_event("config_deleted")),
            wadm: none,
        },
        suspects: &["config::put_get_delete"],
    },
    Mutant {
        id: "provider-stopped-unpublished",
        feature: Declared::Vendorless,
        change: "the host never publishes provider_stopped",
        how: How::Nemesis {
            hosts: rules!(drop_event("provider_stopped")),
            wadm: none,
        },
        suspects: &["providers::start_stop_lifecycle"],
    },
    Mutant {
        id: "max-components-ignored",
        feature: Declared::Security,
        change: "WASMCLOUD_MAX_COMPONENTS is ignored",
        how: How::Env {
            unset: &["WASMCLOUD_MAX_COMPONENTS"],
            set: &[],
        },
        suspects: &["security::max_components_limit"],
    },
    Mutant {
        id: "core-instances-limit-ignored",
        feature: Declared::Security,
        change: "WASMCLOUD_MAX_CORE_INSTANCES_PER_COMPONENT is ignored",
        how: How::Env {
            unset: &["WASMCLOUD_MAX_CORE_INSTANCES_PER_COMPONENT"],
            set: &[],
        },
        suspects: &["security::core_instances_limit"],
    },
    Mutant {
        id: "http-admin-ignored",
        feature: Declared::Observability,
        change: "WASMCLOUD_HTTP_ADMIN is ignored (no admin endpoint)",
        how: How::Env {
            unset: &["WASMCLOUD_HTTP_ADMIN"],
            set: &[],
        },
        suspects: &["host::http_admin_endpoints"],
    },
    Mutant {
        id: "config-service-ignored",
        feature: Declared::Orchestration,
        change: "WASMCLOUD_CONFIG_SERVICE is ignored (the host asks no config service at start)",
        how: How::Env {
            unset: &["WASMCLOUD_CONFIG_SERVICE"],
            set: &[],
        },
        suspects: &["host::config_service_asked_at_start"],
    },
    Mutant {
        id: "allow-latest-ignored",
        feature: Declared::Security,
        change: "WASMCLOUD_OCI_ALLOW_LATEST is ignored",
        how: How::Env {
            unset: &["WASMCLOUD_OCI_ALLOW_LATEST"],
            set: &[],
        },
        suspects: &["host::oci_pulls_and_their_settings"],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_wide_and_its_names_are_real() {
        assert!(MUTANTS.len() >= 25, "{} mutants", MUTANTS.len());
        let ids: std::collections::BTreeSet<&str> = MUTANTS.iter().map(|m| m.id).collect();
        assert_eq!(ids.len(), MUTANTS.len(), "duplicate ids");
        assert!(!ids.contains(CONTROL));
        let features: std::collections::BTreeSet<Declared> =
            MUTANTS.iter().map(|m| m.feature).collect();
        assert_eq!(features.len(), 5, "{features:?}");
        let names: Vec<&str> = crate::registry().iter().map(|t| t.name).collect();
        for m in MUTANTS {
            for s in m.suspects {
                assert!(names.contains(s), "{}: no test {s}", m.id);
            }
            match m.how {
                How::Nemesis { hosts, wadm } => {
                    assert!(
                        !(hosts().is_empty() && wadm().is_empty()),
                        "{}: no rule",
                        m.id
                    )
                }
                How::Env { unset, set } => {
                    assert!(!(unset.is_empty() && set.is_empty()), "{}: no change", m.id)
                }
            }
        }
    }

    #[test]
    fn an_env_wrapper_unsets_sets_and_execs() {
        let m = find("labels-ignored").unwrap();
        let script = m
            .wrapper(std::path::Path::new("/opt/it's/wasmcloud"))
            .unwrap();
        assert!(script.starts_with("#!/bin/sh\n"));
        assert!(script.contains("WASMCLOUD_LABEL_[A-Za-z0-9_]*"), "{script}");
        assert!(
            script.ends_with("exec '/opt/it'\\''s/wasmcloud' \"$@\"\n"),
            "{script}"
        );
        let f = find("file-load-always-allowed").unwrap();
        let script = f.wrapper(std::path::Path::new("/x")).unwrap();
        assert!(script.contains("export WASMCLOUD_ALLOW_FILE_LOAD='true'\n"));
        assert!(find("no-heartbeats")
            .unwrap()
            .wrapper(std::path::Path::new("/x"))
            .is_none());
    }

    #[test]
    fn an_env_wrapper_really_changes_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let wrapper = dir.path().join("host");
        let m = find("labels-ignored").unwrap();
        std::fs::write(
            &wrapper,
            m.wrapper(std::path::Path::new("/usr/bin/env")).unwrap(),
        )
        .unwrap();
        let out = std::process::Command::new("sh")
            .arg(&wrapper)
            .env("WASMCLOUD_LABEL_zone", "a")
            .env("WASMCLOUD_LABEL_x", "b")
            .env("WASMCLOUD_LATTICE", "kept")
            .output()
            .unwrap();
        let env = String::from_utf8_lossy(&out.stdout);
        assert!(!env.contains("WASMCLOUD_LABEL_"), "{env}");
        assert!(env.contains("WASMCLOUD_LATTICE=kept"), "{env}");
    }
}
