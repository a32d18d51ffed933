//! The conformance tests of wasmCloud 1.x, as values in one explicit registry.
//!
//! Each test names the catalogue items it covers (the project's catalogue,
//! `suites/conformance/catalogue.toml`, compiled in: [`catalogue`]).
//! Add a test: write a `pub static` [`ConformanceTest`] in the module of its topic and list it in
//! [`registry`]; its name is `topic::behavior` and is never renamed.
use std::sync::OnceLock;

use crate::framework::ConformanceTest;
use conformance_report::catalogue::Catalogue;
use harness::fixtures::{FixtureRef, Lang};

pub mod bindings;
mod claims;
mod components;
mod config;
pub mod coverage;
pub mod framework;
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

/// The text of the suite's catalogue, `suites/conformance/catalogue.toml`.
pub const CATALOGUE_TOML: &str = include_str!("../catalogue.toml");

/// The suite's catalogue (parsed from [`CATALOGUE_TOML`] once): the items tests cover, the
/// version and SHA-256 reports name.
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        Catalogue::parse(CATALOGUE_TOML)
            .unwrap_or_else(|e| panic!("suites/conformance/catalogue.toml: {e}"))
    })
}

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
        for t in registry() {
            for item in t.covers {
                assert!(
                    super::catalogue().contains(item),
                    "{} covers {item}, which the catalogue does not define",
                    t.name
                );
            }
        }
    }

    #[test]
    fn the_embedded_catalogue_is_well_formed() {
        use conformance_report::catalogue::{area_of, well_formed_id, ItemStatus};
        // Parsing checks the same; these say it item by item.
        let c = super::catalogue();
        assert!(!c.version().is_empty() && c.sha256().len() == 64);
        let u = c.upstream();
        assert!(
            !u.host.is_empty() && !u.host_crate.is_empty() && !u.wadm.is_empty(),
            "{u:?}"
        );
        let mut seen = BTreeSet::new();
        for i in c.items() {
            assert!(seen.insert(i.id.as_str()), "{} twice", i.id);
            assert!(well_formed_id(&i.id), "{}", i.id);
            assert_eq!(area_of(&i.id), Some(i.area.as_str()), "{}", i.id);
            for (field, v) in [
                ("title", &i.title),
                ("contract", &i.contract),
                ("observed", &i.observed),
                ("source", &i.source),
            ] {
                assert!(!v.trim().is_empty(), "{}: empty {field}", i.id);
            }
            assert!(
                [ItemStatus::Plain, ItemStatus::Verify, ItemStatus::Bug].contains(&i.status),
                "{}",
                i.id
            );
        }
        let declared = super::CATALOGUE_TOML
            .lines()
            .filter(|l| l.trim() == "[[item]]")
            .count();
        assert_eq!(c.count(), declared, "every [[item]] of the file is an item");
        assert_eq!(c.ids().len(), declared);
        for line in super::CATALOGUE_TOML.lines() {
            if let Some(status) = line.strip_prefix("status = ") {
                assert!(
                    ["\"plain\"", "\"verify\"", "\"bug?\""].contains(&status),
                    "{line}"
                );
            }
        }
    }
}
