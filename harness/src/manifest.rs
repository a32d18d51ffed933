//! wadm application manifests built as `wadm-types` values (valid by construction), so tests do not
//! hand-write YAML for the common shapes.
use std::collections::{BTreeMap, HashMap};

use wadm_types::{
    CapabilityProperties, Component, ComponentProperties, ConfigDefinition, ConfigProperty,
    LinkProperty, Manifest, Metadata, Properties, Specification, Spread, SpreadScalerProperty,
    TargetConfig, Trait, APPLICATION_KIND, OAM_VERSION, VERSION_ANNOTATION_KEY,
};

use crate::error::HarnessError;

/// One spread of a spreadscaler: (name, label requirements as (key, value), weight).
pub type SpreadTarget<'a> = (&'a str, &'a [(&'a str, &'a str)], usize);

/// Builds an OAM `Application` manifest.
#[derive(Clone, Debug)]
pub struct AppBuilder {
    manifest: Manifest,
}

/// A link from one manifest component to another (becomes a `link` trait on the source).
#[derive(Clone, Debug)]
pub struct LinkSpec<'a> {
    /// WIT namespace, e.g. `wasi`.
    pub namespace: &'a str,
    /// WIT package, e.g. `http`.
    pub package: &'a str,
    /// Interfaces, e.g. `["incoming-handler"]`.
    pub interfaces: &'a [&'a str],
    /// Named config with properties given to the source side (wadm owns it).
    pub source_config: Option<(&'a str, BTreeMap<String, String>)>,
}

impl AppBuilder {
    /// A manifest `name` at `version` with no components.
    pub fn new(name: &str, version: &str) -> Self {
        let annotations =
            BTreeMap::from([(VERSION_ANNOTATION_KEY.to_string(), version.to_string())]);
        Self {
            manifest: Manifest {
                api_version: OAM_VERSION.to_string(),
                kind: APPLICATION_KIND.to_string(),
                metadata: Metadata {
                    name: name.to_string(),
                    annotations,
                    labels: BTreeMap::new(),
                },
                spec: Specification {
                    components: Vec::new(),
                    policies: Vec::new(),
                },
            },
        }
    }

    fn scaler(instances: usize) -> Trait {
        Trait::new_spreadscaler(SpreadScalerProperty {
            instances,
            spread: Vec::new(),
        })
    }

    /// A component from `image`, spread-scaled to `instances`.
    pub fn component(mut self, name: &str, image: &str, instances: usize) -> Self {
        let properties = ComponentProperties {
            image: Some(image.to_string()),
            application: None,
            id: None,
            config: Vec::new(),
            secrets: Vec::new(),
        };
        self.manifest.spec.components.push(Component {
            name: name.to_string(),
            properties: Properties::Component { properties },
            traits: Some(vec![Self::scaler(instances)]),
        });
        self
    }

    /// A component from `image` with a spreadscaler over `spreads` (name, requirements, weight).
    pub fn component_spread(
        mut self,
        name: &str,
        image: &str,
        instances: usize,
        spreads: &[SpreadTarget<'_>],
    ) -> Self {
        let spread = spreads
            .iter()
            .map(|(n, reqs, weight)| Spread {
                name: (*n).to_string(),
                requirements: reqs
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                    .collect(),
                weight: Some(*weight),
            })
            .collect();
        self = self.component(name, image, instances);
        let component = self
            .manifest
            .spec
            .components
            .last_mut()
            .expect("just added");
        component.traits = Some(vec![Trait::new_spreadscaler(SpreadScalerProperty {
            instances,
            spread,
        })]);
        self
    }

    /// A component from `image` run by a daemonscaler: every host matching `requirements` runs
    /// it with `instances` max instances.
    pub fn component_daemon(
        mut self,
        name: &str,
        image: &str,
        instances: usize,
        requirements: &[(&str, &str)],
    ) -> Self {
        let spread = if requirements.is_empty() {
            Vec::new()
        } else {
            vec![Spread {
                name: "daemon".into(),
                requirements: requirements
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                    .collect(),
                weight: None,
            }]
        };
        self = self.component(name, image, instances);
        let component = self
            .manifest
            .spec
            .components
            .last_mut()
            .expect("just added");
        component.traits = Some(vec![Trait::new_daemonscaler(SpreadScalerProperty {
            instances,
            spread,
        })]);
        self
    }

    /// Gives the component `component` a named config with `properties` (wadm owns it, ORC-14).
    ///
    /// # Panics
    /// If `component` was not added before (a programming error in the test).
    pub fn component_config(
        mut self,
        component: &str,
        config: &str,
        properties: &[(&str, &str)],
    ) -> Self {
        let c = self
            .manifest
            .spec
            .components
            .iter_mut()
            .find(|c| c.name == component)
            .unwrap_or_else(|| panic!("{component} is not a component of the manifest"));
        let property = ConfigProperty {
            name: config.to_string(),
            properties: Some(
                properties
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                    .collect(),
            ),
        };
        match &mut c.properties {
            Properties::Component { properties } => properties.config.push(property),
            Properties::Capability { properties } => properties.config.push(property),
        }
        self
    }

    /// A capability provider from `image`, spread-scaled to `instances` hosts.
    pub fn capability(mut self, name: &str, image: &str, instances: usize) -> Self {
        let properties = CapabilityProperties {
            image: Some(image.to_string()),
            application: None,
            id: None,
            config: Vec::new(),
            secrets: Vec::new(),
        };
        self.manifest.spec.components.push(Component {
            name: name.to_string(),
            properties: Properties::Capability { properties },
            traits: Some(vec![Self::scaler(instances)]),
        });
        self
    }

    /// Links `source` to `target` (both components of this manifest).
    ///
    /// # Panics
    /// If `source` is not a component added before (a programming error in the test).
    pub fn link(mut self, source: &str, target: &str, spec: LinkSpec<'_>) -> Self {
        let source_def = spec.source_config.map(|(name, props)| ConfigDefinition {
            config: vec![ConfigProperty {
                name: name.to_string(),
                properties: Some(props.into_iter().collect::<HashMap<_, _>>()),
            }],
            secrets: Vec::new(),
        });
        let link = LinkProperty {
            namespace: spec.namespace.to_string(),
            package: spec.package.to_string(),
            interfaces: spec.interfaces.iter().map(ToString::to_string).collect(),
            source: source_def,
            target: TargetConfig {
                name: target.to_string(),
                ..Default::default()
            },
            ..Default::default()
        };
        let component = self
            .manifest
            .spec
            .components
            .iter_mut()
            .find(|c| c.name == source)
            .unwrap_or_else(|| panic!("link source {source} is not a component of the manifest"));
        component
            .traits
            .get_or_insert_with(Vec::new)
            .push(Trait::new_link(link));
        self
    }

    /// Marks the application as shared (`experimental.wasmcloud.dev/shared: "true"`, ORC-17).
    pub fn shared(mut self) -> Self {
        self.manifest.metadata.annotations.insert(
            wadm_types::SHARED_ANNOTATION_KEY.to_string(),
            "true".to_string(),
        );
        self
    }

    /// A component taken from another, shared application instead of an image (ORC-17).
    pub fn shared_component(mut self, name: &str, application: &str, component: &str) -> Self {
        let properties = ComponentProperties {
            image: None,
            application: Some(wadm_types::SharedApplicationComponentProperties {
                name: application.to_string(),
                component: component.to_string(),
            }),
            id: None,
            config: Vec::new(),
            secrets: Vec::new(),
        };
        self.manifest.spec.components.push(Component {
            name: name.to_string(),
            properties: Properties::Component { properties },
            traits: None,
        });
        self
    }

    /// The manifest.
    pub fn build(self) -> Manifest {
        self.manifest
    }
}

/// Reads a wadm manifest (YAML or JSON) from `path`, first replacing each `(from, to)` text of
/// `substitutions`: the way a test points an app's real `wadm.yaml` at the component it just built
/// and at a free port, without a second copy of the manifest.
///
/// Every `from` must occur in the file (a substitution that matches nothing means the manifest
/// changed under the test, which would otherwise deploy the wrong thing silently).
///
/// ```no_run
/// # fn demo() -> Result<(), harness::HarnessError> {
/// let manifest = harness::manifest::read_yaml(
///     "wadm.yaml".as_ref(),
///     &[("file://./build/hello.wasm", "file:///abs/target/hello.wasm"), ("127.0.0.1:8000", "127.0.0.1:41234")],
/// )?;
/// assert_eq!(manifest.metadata.name, "hello-app");
/// # Ok(()) }
/// ```
pub fn read_yaml(
    path: &std::path::Path,
    substitutions: &[(&str, &str)],
) -> Result<Manifest, HarnessError> {
    let error = |problem: String, fix: &str| HarnessError::Manifest {
        path: path.to_path_buf(),
        problem,
        fix: fix.to_string(),
    };
    let mut text = std::fs::read_to_string(path)
        .map_err(|e| error(format!("cannot read it ({e})"), "give the path relative to the test crate with `concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/wadm.yaml\")` or an absolute one"))?;
    for (from, to) in substitutions {
        if !text.contains(from) {
            return Err(error(
                format!("it does not contain {from:?}, which the test replaces with {to:?}"),
                "update the substitution to the text the manifest has now",
            ));
        }
        text = text.replace(from, to);
    }
    serde_yaml::from_str(&text).map_err(|e| {
        error(
            format!("it is not a wadm manifest: {e}"),
            "check the YAML against the wadm manifest format (apiVersion core.oam.dev/v1beta1, kind Application, spec.components)",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hello() -> Manifest {
        AppBuilder::new("hello-app", "v0.1.0")
            .component("http-component", "file:///tmp/http.wasm", 1)
            .capability("httpserver", "wasmcloud+builtin://http-server", 1)
            .link(
                "httpserver",
                "http-component",
                LinkSpec {
                    namespace: "wasi",
                    package: "http",
                    interfaces: &["incoming-handler"],
                    source_config: Some((
                        "listen",
                        BTreeMap::from([("address".into(), "127.0.0.1:8080".into())]),
                    )),
                },
            )
            .build()
    }

    #[tokio::test]
    async fn built_manifest_passes_wadm_validation() {
        let failures = wadm_types::validation::validate_manifest(&hello())
            .await
            .unwrap();
        let errors: Vec<_> = failures
            .iter()
            .filter(|f| f.level == wadm_types::validation::ValidationFailureLevel::Error)
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn manifest_round_trips_through_yaml() {
        let m = hello();
        let yaml = serde_yaml::to_string(&m).unwrap();
        let back: Manifest = serde_yaml::from_str(&yaml).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.version(), "v0.1.0");
        assert!(
            yaml.contains("type: link") && yaml.contains("address: 127.0.0.1:8080"),
            "{yaml}"
        );
    }

    #[tokio::test]
    async fn spread_and_daemon_scalers_validate_and_serialize() {
        let m = AppBuilder::new("spread", "v1")
            .component_spread(
                "a",
                "file:///a.wasm",
                4,
                &[
                    ("east", &[("zone", "a")], 75),
                    ("west", &[("zone", "b")], 25),
                ],
            )
            .component_daemon("b", "file:///b.wasm", 2, &[("zone", "a")])
            .build();
        let yaml = serde_yaml::to_string(&m).unwrap();
        assert!(
            yaml.contains("type: spreadscaler")
                && yaml.contains("weight: 75")
                && yaml.contains("type: daemonscaler"),
            "{yaml}"
        );
        let failures = wadm_types::validation::validate_manifest(&m).await.unwrap();
        assert!(
            failures
                .iter()
                .all(|f| f.level != wadm_types::validation::ValidationFailureLevel::Error),
            "{failures:?}"
        );
    }

    #[test]
    fn read_yaml_substitutes_and_explains_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wadm.yaml");
        std::fs::write(
            &path,
            serde_yaml::to_string(&hello())
                .unwrap()
                .replace("file:///tmp/http.wasm", "file://./build/http.wasm"),
        )
        .unwrap();
        let m = read_yaml(
            &path,
            &[
                ("file://./build/http.wasm", "file:///abs/http.wasm"),
                ("127.0.0.1:8080", "127.0.0.1:9"),
            ],
        )
        .unwrap();
        let yaml = serde_yaml::to_string(&m).unwrap();
        assert!(
            yaml.contains("file:///abs/http.wasm")
                && yaml.contains("127.0.0.1:9")
                && !yaml.contains("8080"),
            "{yaml}"
        );

        let stale = read_yaml(&path, &[("file://./build/old.wasm", "x")])
            .unwrap_err()
            .to_string();
        assert!(
            stale.contains("does not contain \"file://./build/old.wasm\"")
                && stale.contains("fix: update the substitution"),
            "{stale}"
        );
        let missing = read_yaml(&dir.path().join("nope.yaml"), &[])
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("nope.yaml: cannot read it") && missing.contains("CARGO_MANIFEST_DIR"),
            "{missing}"
        );
        std::fs::write(&path, "apiVersion: [unclosed").unwrap();
        let bad = read_yaml(&path, &[]).unwrap_err().to_string();
        assert!(
            bad.contains("is not a wadm manifest") && bad.contains("line 1"),
            "{bad}"
        );
    }

    #[test]
    #[should_panic(expected = "not a component")]
    fn link_from_an_unknown_component_is_a_test_bug() {
        let _ = AppBuilder::new("a", "v1").link(
            "nope",
            "x",
            LinkSpec {
                namespace: "a",
                package: "b",
                interfaces: &[],
                source_config: None,
            },
        );
    }
}
