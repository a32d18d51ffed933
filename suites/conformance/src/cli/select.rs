//! Which tests a run takes: a profile, then optionally features and name filters (all must hold).
//!
//! Profiles: `extended` (every test, the default), `core` (tests relying on neither wadm nor the
//! host's builtin HTTP server: what any host honouring the control interface must pass, a first
//! cut), or an area id (`host`, `orchestration`, `networking`, `vendorless`, `observability`,
//! `security`): the tests of that area, or `multi-host` (the tests whose lattice starts with two
//! hosts or more: the ones a mixed-version lattice, `--mixed-host-bin`, puts to work).
use conformance_suite::framework::{Area, ConformanceTest, Feature};

use super::exit::{CliError, Exit};

/// Every area (kept complete by [`area_index`]).
const AREAS: [Area; 6] = [
    Area::Host,
    Area::Orchestration,
    Area::Networking,
    Area::Vendorless,
    Area::Observability,
    Area::Security,
];

/// Fails to compile when `Area` gains a variant that [`AREAS`] lacks.
#[allow(dead_code)]
fn area_index(a: Area) -> usize {
    match a {
        Area::Host => 0,
        Area::Orchestration => 1,
        Area::Networking => 2,
        Area::Vendorless => 3,
        Area::Observability => 4,
        Area::Security => 5,
    }
}

/// Features a `core` test must not rely on.
const NOT_CORE: [Feature; 2] = [Feature::Wadm, Feature::BuiltinHttpServer];

/// A named set of tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Profile {
    /// Every test not relying on wadm or the builtin HTTP server.
    Core,
    /// Every test.
    Extended,
    /// The tests of one area.
    Area(Area),
    /// The tests whose lattice starts with two hosts or more.
    MultiHost,
}

impl Profile {
    /// Every profile name, for messages and help.
    pub(crate) fn names() -> Vec<&'static str> {
        let mut v = vec!["core", "extended"];
        v.extend(AREAS.iter().map(|a| a.id()));
        v.push("multi-host");
        v
    }

    pub(crate) fn parse(name: &str) -> Result<Self, CliError> {
        match name {
            "core" => Ok(Profile::Core),
            "extended" => Ok(Profile::Extended),
            "multi-host" => Ok(Profile::MultiHost),
            other => AREAS
                .iter()
                .find(|a| a.id() == other)
                .map(|a| Profile::Area(*a))
                .ok_or_else(|| {
                    CliError::new(
                        Exit::UnknownSelection,
                        format!(
                            "unknown profile `{other}`; profiles are: {}",
                            Profile::names().join(", ")
                        ),
                    )
                }),
        }
    }

    pub(crate) fn id(self) -> &'static str {
        match self {
            Profile::Core => "core",
            Profile::Extended => "extended",
            Profile::Area(a) => a.id(),
            Profile::MultiHost => "multi-host",
        }
    }

    pub(crate) fn includes(self, test: &ConformanceTest) -> bool {
        match self {
            Profile::Core => !test.features.iter().any(|f| NOT_CORE.contains(f)),
            Profile::Extended => true,
            Profile::Area(a) => test.area == a,
            Profile::MultiHost => test.setup.hosts >= 2,
        }
    }
}

/// A feature by its id.
pub(crate) fn parse_feature(name: &str, source: &str) -> Result<Feature, CliError> {
    Feature::parse(name, source).map_err(|e| CliError::new(Exit::UnknownSelection, e))
}

/// The features `WCC_TARGET_UNSUPPORTED` names, read once; an unknown one is refused (a typo
/// would silently run tests the target meant to skip).
pub(crate) fn unsupported_features() -> Result<Vec<Feature>, CliError> {
    conformance_suite::framework::features::unsupported_from_env()
        .map_err(|e| CliError::new(Exit::UnknownSelection, e))
}

/// What was asked for.
#[derive(Clone, Debug)]
pub(crate) struct Selection {
    pub(crate) profile: Profile,
    pub(crate) features: Vec<Feature>,
    pub(crate) filters: Vec<String>,
}

impl Selection {
    /// Parses the command-line values.
    pub(crate) fn parse(
        profile: &str,
        features: &[String],
        filters: &[String],
    ) -> Result<Self, CliError> {
        Ok(Self {
            profile: Profile::parse(profile)?,
            features: features
                .iter()
                .map(|f| parse_feature(f, "--feature"))
                .collect::<Result<_, _>>()?,
            filters: filters.to_vec(),
        })
    }

    fn includes(&self, test: &ConformanceTest) -> bool {
        self.profile.includes(test)
            && (self.features.is_empty() || test.features.iter().any(|f| self.features.contains(f)))
            && (self.filters.is_empty()
                || self.filters.iter().any(|f| test.name.contains(f.as_str())))
    }

    /// The selected tests of `registry`, in registry order; none is an error.
    pub(crate) fn apply(
        &self,
        registry: Vec<&'static ConformanceTest>,
    ) -> Result<Vec<&'static ConformanceTest>, CliError> {
        let tests: Vec<_> = registry.into_iter().filter(|t| self.includes(t)).collect();
        if tests.is_empty() {
            return Err(CliError::new(
                Exit::NothingSelected,
                format!(
                    "no test matches profile `{}`{}{} (see `wasmcloud-conformance list`)",
                    self.profile.id(),
                    if self.features.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ", features {:?}",
                            self.features.iter().map(|f| f.id()).collect::<Vec<_>>()
                        )
                    },
                    if self.filters.is_empty() {
                        String::new()
                    } else {
                        format!(", filters {:?}", self.filters)
                    },
                ),
            ));
        }
        Ok(tests)
    }

    /// As recorded in the report.
    pub(crate) fn record(
        &self,
        expectations: Option<String>,
    ) -> conformance_report::report::Selection {
        conformance_report::report::Selection {
            profile: self.profile.id().to_string(),
            features: self.features.iter().map(|f| f.id().to_string()).collect(),
            filters: self.filters.clone(),
            expectations,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &Selection) -> Vec<&'static str> {
        s.apply(conformance_suite::registry())
            .map(|ts| ts.iter().map(|t| t.name).collect())
            .unwrap_or_default()
    }

    #[test]
    fn profiles_parse_and_unknown_ones_are_rejected() {
        assert_eq!(Profile::parse("core").unwrap(), Profile::Core);
        assert_eq!(
            Profile::parse("security").unwrap(),
            Profile::Area(Area::Security)
        );
        let err = Profile::parse("gold").unwrap_err();
        assert_eq!(err.exit, Exit::UnknownSelection);
        assert!(
            err.message.contains("`gold`") && err.message.contains("core, extended, host"),
            "{}",
            err.message
        );
        let err = parse_feature("wasi-p3", "--feature").unwrap_err();
        assert!(
            err.message.contains("`wasi-p3`") && err.message.contains("builtin-http-server"),
            "{}",
            err.message
        );
    }

    #[test]
    fn extended_is_everything_and_core_excludes_wadm_and_the_builtin_http_server() {
        let all = conformance_suite::registry().len();
        let extended = Selection::parse("extended", &[], &[]).unwrap();
        assert_eq!(names(&extended).len(), all);
        let core = Selection::parse("core", &[], &[]).unwrap();
        let core_names = names(&core);
        assert!(!core_names.is_empty() && core_names.len() < all);
        for t in conformance_suite::registry() {
            let excluded = t.features.contains(&Feature::Wadm)
                || t.features.contains(&Feature::BuiltinHttpServer);
            assert_eq!(core_names.contains(&t.name), !excluded, "{}", t.name);
        }
        // An area's profile is the tests of its topics (Area::of_topic).
        let host = Selection::parse("host", &[], &[]).unwrap();
        let host_names = names(&host);
        assert!(host_names.iter().any(|n| n.starts_with("config::")));
        for n in host_names {
            let topic = n.split_once("::").unwrap().0;
            assert_eq!(Area::of_topic(topic), Some(Area::Host), "{n}");
        }
    }

    #[test]
    fn features_and_filters_narrow_the_profile() {
        let wadm = Selection::parse("extended", &["wadm".into()], &[]).unwrap();
        for t in wadm.apply(conformance_suite::registry()).unwrap() {
            assert!(t.features.contains(&Feature::Wadm), "{}", t.name);
        }
        let none = Selection::parse("core", &["wadm".into()], &[]).unwrap();
        let err = none.apply(conformance_suite::registry()).unwrap_err();
        assert_eq!(err.exit, Exit::NothingSelected);
        assert!(
            err.message.contains("profile `core`") && err.message.contains("wadm"),
            "{}",
            err.message
        );
        let filtered = Selection::parse("extended", &[], &["host::".into()]).unwrap();
        assert!(names(&filtered).iter().all(|n| n.starts_with("host::")));
        let nothing = Selection::parse("extended", &[], &["no-such-test".into()]).unwrap();
        assert_eq!(
            nothing
                .apply(conformance_suite::registry())
                .unwrap_err()
                .exit,
            Exit::NothingSelected
        );
    }
}
