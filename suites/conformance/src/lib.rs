//! The conformance tests of wasmCloud 1.x, as values in one explicit registry.
//!
//! Each test names the catalogue items it covers (the project's catalogue,
//! `suites/conformance/catalogue.toml`, compiled in: [`catalogue`]).
//! Add a test: write a `pub static` [`ConformanceTest`] named `topic::behavior` (never renamed) in
//! `src/<topic>.rs` or a file under `src/<topic>/`, with `source: file!()` and the topic's area
//! ([`framework::Area::of_topic`]), and list it in that module's `all()`; [`registry`] is every
//! topic's `all()`. Unit tests check that each test lives where its name says.
use std::sync::OnceLock;

use crate::framework::ConformanceTest;
use conformance_report::catalogue::Catalogue;

pub mod bindings;
mod components;
mod config;
pub mod coverage;
pub mod fixtures;
pub mod framework;
mod host;
mod links;
mod networking;
mod observability;
mod orchestration;
pub mod power;
mod providers;
mod security;
mod signing;
mod steps;
mod vendorless;

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

/// Every conformance test, in report order: each topic module's `all()`, one after the other.
pub fn registry() -> Vec<&'static ConformanceTest> {
    [
        host::all(),
        components::all(),
        config::all(),
        providers::all(),
        links::all(),
        networking::all(),
        orchestration::all(),
        observability::all(),
        security::all(),
        vendorless::all(),
    ]
    .concat()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::registry;
    use crate::framework::Area;

    /// Why a test named `name`, defined in `source` with `area`, is not where its name says.
    fn misplaced(name: &str, source: &str, area: Area) -> Option<String> {
        let (topic, _) = name.split_once("::")?;
        let file = std::path::Path::new(source);
        let in_topic = file.ends_with(format!("src/{topic}.rs"))
            || file
                .parent()
                .is_some_and(|dir| dir.ends_with(format!("src/{topic}")));
        if !in_topic {
            return Some(format!(
                "{name} is defined in {source}: a test named {topic}::… lives in src/{topic}.rs or src/{topic}/"
            ));
        }
        match Area::of_topic(topic) {
            Some(a) if a == area => None,
            want => Some(format!(
                "{name} is in area {area:?}, topic `{topic}` is {want:?}"
            )),
        }
    }

    #[test]
    fn a_test_lives_where_its_name_says() {
        for t in registry() {
            assert_eq!(misplaced(t.name, t.source, t.area), None);
        }
    }

    #[test]
    fn the_location_rule_refuses_a_test_in_another_file_or_area() {
        // membership.rs once held host::, links::, networking:: and orchestration:: tests, and
        // the config:: tests were Area::Networking.
        let src = "suites/conformance/src";
        assert!(misplaced("host::x", &format!("{src}/membership.rs"), Area::Host).is_some());
        assert!(misplaced("host::x", &format!("{src}/hostile.rs"), Area::Host).is_some());
        assert!(misplaced("config::x", &format!("{src}/config.rs"), Area::Networking).is_some());
        assert!(misplaced("membership::x", &format!("{src}/membership.rs"), Area::Host).is_some());
        assert_eq!(
            misplaced("host::x", &format!("{src}/host.rs"), Area::Host),
            None
        );
        assert_eq!(
            misplaced("host::x", &format!("{src}/host/membership.rs"), Area::Host),
            None
        );
        assert_eq!(
            misplaced("links::x", &format!("{src}/links.rs"), Area::Networking),
            None
        );
    }

    #[test]
    fn the_registry_lists_every_test_once_and_every_topic_is_known() {
        let tests = registry();
        let names: BTreeSet<_> = tests.iter().map(|t| t.name).collect();
        assert_eq!(names.len(), tests.len(), "a test is listed twice");
        for t in &tests {
            let topic = t.name.split_once("::").map(|(t, _)| t).unwrap_or_default();
            assert!(Area::of_topic(topic).is_some(), "{}: unknown topic", t.name);
        }
    }

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
