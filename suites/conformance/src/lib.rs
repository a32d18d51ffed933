//! The conformance tests of wasmCloud 1.x, as values in one explicit registry.
//!
//! Each test names the catalogue items it covers (`../shared/spec/wasmcloud-1x-catalogue.md`).
//! Add a test: write a `pub static` [`ConformanceTest`] in the module of its topic and list it in
//! [`registry`]; its name is `topic::behavior` and is never renamed.
use harness::conformance::ConformanceTest;
use harness::fixtures::{FixtureRef, Lang};

pub mod bindings;
mod claims;
mod components;
mod config;
pub mod coverage;
mod host;
mod links;
mod membership;
mod observability;
mod orchestration;
mod providers;
mod security;
mod support;
mod vendorless;

/// The probe component in Rust: exports echo, about, config-reader, logger, counter.
pub const PROBE_RUST: FixtureRef = FixtureRef::new("probe", Lang::Rust);
/// The runner component in Rust: imports echo, exports runner.
pub const RUNNER_RUST: FixtureRef = FixtureRef::new("runner", Lang::Rust);
/// The probe component in C (a second build of the same contract).
pub const PROBE_C: FixtureRef = FixtureRef::new("probe", Lang::C);
/// The HTTP hello/echo component in Rust.
pub const HTTP_RUST: FixtureRef = FixtureRef::new("http", Lang::Rust);

/// Every conformance test, in report order.
pub fn registry() -> Vec<&'static ConformanceTest> {
    let mut tests: Vec<&'static ConformanceTest> = vec![
        &host::PING,
        &host::INVENTORY,
        &host::HEARTBEAT,
        &host::LABELS_AT_RUNTIME,
        &host::STOP_HOST,
        &host::PROTOCOL_ERRORS,
        &host::AUCTION,
        &host::REGISTRY_PUT,
        &host::COUNT_FIELD,
        &host::UPDATE,
        &host::COMPONENT_LIMITS,
        &components::SCALE_INVOKE_STOP,
        &components::FILE_LOAD_DENIED,
        &config::CRUD,
        &config::LIVE_UPDATE,
        &config::MISSING_CONFIG,
        &config::DATA_MODEL,
        &providers::BUILTINS_GATED,
        &providers::START_STOP,
        &links::PUT_GET_DELETE,
        &links::CONFLICTING_TARGET,
        &links::COMPONENT_CALLS_LINKED_TARGET,
        &links::CROSS_HOST_CALL,
        &links::LOAD_BALANCING,
        &orchestration::HTTP_APP_LIFECYCLE,
        &orchestration::VALIDATION_MESSAGES,
        &orchestration::MODEL_API,
        &orchestration::SPREAD_WEIGHTS,
        &orchestration::NO_ELIGIBLE_HOST,
        &orchestration::DAEMON,
        &orchestration::RESOURCES,
        &orchestration::SCHEMA_QUIRKS,
        &orchestration::CONFIG_SCALER,
        &orchestration::UPGRADE,
        &orchestration::PROVIDER_SPREAD,
        &orchestration::SHARED_APP,
    ];
    tests.extend([
        &observability::TRACES,
        &observability::TRACEPARENT,
        &observability::INVOCATION_METRICS,
        &observability::HOST_METRICS,
        &observability::COMPONENT_LOGS,
        &observability::OFF_BY_DEFAULT,
        &observability::SINGLE_SIGNAL,
        &observability::FLAG_CONFLICT,
        &observability::SERVICE_NAME_FIXED,
    ]);
    tests.extend([
        &security::POLICY_DENIES_START,
        &security::POLICY_FAILS_CLOSED,
        &security::POLICY_CHECKS_INVOCATIONS,
        &security::COMPONENT_SIZE_LIMIT,
        &claims::SIGNED,
        &claims::EXPIRED,
        &claims::TAMPERED,
    ]);
    tests.extend(membership::all());
    tests.extend(vendorless::all());
    tests.push(&vendorless::BUILTIN_SAME_HOST_ONLY);
    tests.push(&vendorless::PROVIDER_SWAP);
    tests.push(&vendorless::PROVIDER_HEALTH);
    tests.push(&vendorless::DOTTED_ID);
    tests
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::registry;

    #[test]
    fn names_are_unique_and_well_formed() {
        let mut seen = BTreeSet::new();
        for t in registry() {
            assert!(seen.insert(t.name), "duplicate test name {}", t.name);
            let (topic, behavior) = t
                .name
                .split_once("::")
                .unwrap_or_else(|| panic!("{} is not topic::behavior", t.name));
            let ok = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            };
            assert!(
                ok(topic) && ok(behavior),
                "{} must be lowercase snake_case",
                t.name
            );
            assert!(
                !t.description.is_empty() && !t.covers.is_empty(),
                "{} needs a description and covered items",
                t.name
            );
        }
    }

    #[test]
    fn covered_items_exist_in_the_catalogue() {
        let path = harness::binaries::repo_root().join("../shared/spec/wasmcloud-1x-catalogue.md");
        let catalogue = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "the catalogue must sit beside the project at {}: {e}",
                path.display()
            )
        });
        for t in registry() {
            for item in t.covers {
                assert!(
                    catalogue.contains(&format!("### {item} "))
                        || catalogue.contains(&format!("* {item} ")),
                    "{} covers {item}, which the catalogue does not define",
                    t.name
                );
            }
        }
    }
}
