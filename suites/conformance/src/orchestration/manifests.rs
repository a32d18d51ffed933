//! wadm manifests as properties (catalogue ORC-04, ORC-05, ORC-07, ORC-08): generated valid
//! manifests are stored and returned unchanged and a small one deploys; generated manifests with
//! one known invalidity each are refused with wadm's message, and nothing of them is stored.
use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{ensure, Context as _};
use proptest::prelude::*;
use serde_json::{json, Value};
use wadm_types::{
    CapabilityProperties, Component, ComponentProperties, ConfigDefinition, ConfigProperty,
    LinkProperty, Manifest, Metadata, Policy, Properties, Specification, Spread,
    SpreadScalerProperty, TargetConfig, Trait, APPLICATION_KIND, DESCRIPTION_ANNOTATION_KEY,
    OAM_VERSION, VERSION_ANNOTATION_KEY,
};

use crate::fixtures::PROBE_RUST;
use crate::framework::properties::{short, shown, text};
use crate::framework::{Area, ConformanceTest, Cx, Feature, Setup, TestFuture, T};

/// The labels of the one host the deploy case runs on; its spreads require some of them.
const HOST_LABELS: &[(&str, &str)] = &[("zone", "gen"), ("tier", "prop")];

/// ORC-04/05/07 as a property: valid manifests round-trip through wadm's store.
pub static STORED_UNCHANGED: ConformanceTest = ConformanceTest {
    name: "orchestration::generated_manifests_stored_unchanged",
    source: file!(),
    description: "generated valid manifests (components and providers with ids and config, links with source and target config, spreadscalers with weights and requirements, daemonscalers, labels, annotations, policies, any Unicode in free-text fields) are each accepted by model.put and returned unchanged by model.get; a small generated one deploys to Deployed with the instances and config it asks for",
    area: Area::Orchestration,
    features: &[Feature::Wadm, Feature::FileLoad],
    covers: &["ORC-04", "ORC-05", "ORC-07", "ORC-09", "ORC-10", "ORC-12", "ORC-14"],
    fixtures: &[PROBE_RUST],
    setup: Setup::hosts(1).with_wadm().labels_per_host(&[HOST_LABELS]),
    run: stored_unchanged,
};

/// ORC-08 as a property: one known invalidity at a time is refused, and nothing half-stored.
pub static INVALID_REFUSED: ConformanceTest = ConformanceTest {
    name: "orchestration::generated_invalid_manifests_refused",
    source: file!(),
    description: "generated valid manifests with one invalidity each (a duplicate component name, a component with no image, a spread weight that is no whole number, a scaler trait of unknown shape, a link to a component not in the manifest) sent raw to model.put are each refused with wadm's message for that rule; afterwards wadm still answers and lists none of them",
    area: Area::Orchestration,
    features: &[Feature::Wadm],
    covers: &["ORC-04", "ORC-07", "ORC-08"],
    fixtures: &[],
    setup: Setup::hosts(1).with_wadm(),
    run: invalid_refused,
};

// ---- Generated manifests -------------------------------------------------------------------

/// A label or annotation key within the OAM rules: an optional DNS-subdomain prefix and `/`,
/// then a name of letters, digits, `-`, `_` and `.` that starts and ends with a letter or digit.
fn label_key() -> impl Strategy<Value = String> {
    "([a-z]([-a-z0-9]{0,6}[a-z0-9])?(\\.[a-z]([-a-z0-9]{0,6}[a-z0-9])?){0,2}/)?[A-Za-z0-9]([-_.A-Za-z0-9]{0,14}[A-Za-z0-9])?"
}

/// Free text for values wadm stores and never interprets (descriptions, images, requirements).
fn free(max: usize) -> impl Strategy<Value = String> {
    text(max, 4 * max)
}

/// A config list entry: with properties (wadm owns it) or without (managed elsewhere).
fn config_property() -> impl Strategy<Value = ConfigProperty> {
    (
        "[-_A-Za-z0-9]{1,16}",
        prop::option::of(prop::collection::hash_map(free(12), free(32), 0..4)),
    )
        .prop_map(|(name, properties)| ConfigProperty { name, properties })
}

/// A spread. Its requirements are never empty: see [`EMPTY_REQUIREMENTS`].
fn spread() -> impl Strategy<Value = Spread> {
    (
        free(16),
        prop::collection::btree_map(free(12), free(24), 1..4),
        prop::option::of(0usize..=1000),
    )
        .prop_map(|(name, requirements, weight)| Spread {
            name,
            requirements,
            weight,
        })
}

/// No scaler, a spreadscaler or a daemonscaler.
fn scaler() -> impl Strategy<Value = Option<Trait>> {
    let properties = || {
        (0usize..=50, prop::collection::vec(spread(), 0..=3))
            .prop_map(|(instances, spread)| SpreadScalerProperty { instances, spread })
    };
    prop_oneof![
        1 => Just(None),
        3 => properties().prop_map(|p| Some(Trait::new_spreadscaler(p))),
        1 => properties().prop_map(|p| Some(Trait::new_daemonscaler(p))),
    ]
}

/// One entry of `spec.components` before names are made unique.
#[derive(Clone, Debug)]
struct Part {
    name: String,
    capability: bool,
    image: String,
    id: Option<String>,
    config: Vec<ConfigProperty>,
    scaler: Option<Trait>,
    /// `traits: []` rather than no `traits` when the part has neither scaler nor link.
    empty_traits: bool,
}

fn part() -> impl Strategy<Value = Part> {
    (
        free(16),
        any::<bool>(),
        free(48),
        prop::option::of("[-_a-z0-9]{1,12}"),
        prop::collection::vec(config_property(), 0..3),
        scaler(),
        any::<bool>(),
    )
        .prop_map(
            |(name, capability, image, id, config, scaler, empty_traits)| Part {
                name,
                capability,
                image,
                id,
                config,
                scaler,
                empty_traits,
            },
        )
}

/// A link trait before its source and target are picked (indices taken modulo the parts).
#[derive(Clone, Debug)]
struct LinkPlan {
    source: usize,
    target: usize,
    namespace: String,
    package: String,
    interfaces: BTreeSet<String>,
    name: Option<String>,
    source_config: Vec<BTreeMap<String, String>>,
    target_config: Vec<BTreeMap<String, String>>,
}

fn link_plan() -> impl Strategy<Value = LinkPlan> {
    let configs =
        || prop::collection::vec(prop::collection::btree_map(free(8), free(24), 0..3), 0..2);
    (
        (any::<usize>(), any::<usize>()),
        prop::sample::select(vec!["wasi", "wrpc", "wasmcloud", "test", "acme"]),
        "[a-z][-a-z0-9]{0,10}",
        prop::collection::btree_set("[a-z][-a-z0-9]{0,10}", 1..=3),
        prop::option::of("[-_a-z0-9]{1,12}"),
        configs(),
        configs(),
    )
        .prop_map(
            |(
                (source, target),
                namespace,
                package,
                interfaces,
                name,
                source_config,
                target_config,
            )| {
                LinkPlan {
                    source,
                    target,
                    namespace: namespace.to_string(),
                    package,
                    interfaces,
                    name,
                    source_config,
                    target_config,
                }
            },
        )
}

/// `metadata`: a name within the rules, a version, labels and annotations.
#[derive(Clone, Debug)]
struct Meta {
    name: String,
    version: String,
    description: Option<String>,
    annotations: BTreeMap<String, String>,
    labels: BTreeMap<String, String>,
}

fn meta() -> impl Strategy<Value = Meta> {
    (
        "[-_A-Za-z0-9]{1,20}",
        free(20).prop_filter("a version is not empty and not `latest`", |v| {
            !v.is_empty() && v != "latest"
        }),
        prop::option::of(free(64)),
        prop::collection::btree_map(label_key(), free(24), 0..3),
        prop::collection::btree_map(label_key(), free(24), 0..4),
    )
        .prop_map(|(name, version, description, annotations, labels)| Meta {
            name,
            version,
            description,
            annotations,
            labels,
        })
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        "[-_a-z0-9]{1,12}",
        "[a-z][-a-z0-9.]{0,16}/v[0-9]",
        prop::collection::btree_map(free(8), free(24), 0..3),
    )
        .prop_map(|(name, policy_type, properties)| Policy {
            name,
            policy_type,
            properties,
        })
}

/// A valid manifest: 1 to 4 parts, up to 4 links between them, up to 2 policies.
fn valid_manifest() -> impl Strategy<Value = Manifest> {
    (
        meta(),
        prop::collection::vec(part(), 1..=4),
        prop::collection::vec(link_plan(), 0..=4),
        prop::collection::vec(policy(), 0..=2),
    )
        .prop_map(|(meta, parts, links, policies)| build(meta, parts, links, policies))
}

/// Assembles a manifest, making names, ids, link keys and link config names unique as the
/// validation rules require.
fn build(meta: Meta, parts: Vec<Part>, links: Vec<LinkPlan>, policies: Vec<Policy>) -> Manifest {
    let mut annotations = meta.annotations;
    if let Some(description) = meta.description {
        annotations.insert(DESCRIPTION_ANNOTATION_KEY.into(), description);
    }
    annotations.insert(VERSION_ANNOTATION_KEY.into(), meta.version);
    let mut components: Vec<Component> = parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let name = format!("{}-{i}", p.name);
            let id = p.id.as_ref().map(|id| format!("{id}-{i}"));
            let properties = if p.capability {
                Properties::Capability {
                    properties: CapabilityProperties {
                        image: Some(p.image.clone()),
                        application: None,
                        id,
                        config: p.config.clone(),
                        secrets: Vec::new(),
                    },
                }
            } else {
                Properties::Component {
                    properties: ComponentProperties {
                        image: Some(p.image.clone()),
                        application: None,
                        id,
                        config: p.config.clone(),
                        secrets: Vec::new(),
                    },
                }
            };
            let traits: Vec<Trait> = p.scaler.iter().cloned().collect();
            Component {
                name,
                properties,
                traits: (!traits.is_empty() || p.empty_traits).then_some(traits),
            }
        })
        .collect();
    let n = components.len();
    for (j, link) in links.into_iter().enumerate() {
        let configs = |maps: Vec<BTreeMap<String, String>>, side: &str| -> Vec<ConfigProperty> {
            maps.into_iter()
                .enumerate()
                .map(|(k, properties)| ConfigProperty {
                    name: format!("link{j}-{side}{k}"),
                    properties: Some(properties.into_iter().collect::<HashMap<_, _>>()),
                })
                .collect()
        };
        let source_config = configs(link.source_config, "source");
        let trait_ = Trait::new_link(LinkProperty {
            namespace: link.namespace,
            // The index keeps (name, namespace, package, interface) unique per source.
            package: format!("{}{j}", link.package),
            interfaces: link.interfaces.into_iter().collect(),
            source: (!source_config.is_empty()).then_some(ConfigDefinition {
                config: source_config,
                secrets: Vec::new(),
            }),
            target: TargetConfig {
                name: components[link.target % n].name.clone(),
                config: configs(link.target_config, "target"),
                secrets: Vec::new(),
            },
            name: link.name,
            ..Default::default()
        });
        components[link.source % n]
            .traits
            .get_or_insert_with(Vec::new)
            .push(trait_);
    }
    Manifest {
        api_version: OAM_VERSION.into(),
        kind: APPLICATION_KIND.into(),
        metadata: Metadata {
            name: meta.name,
            annotations,
            labels: meta.labels,
        },
        spec: Specification {
            components,
            policies,
        },
    }
}

/// The place where two JSON values first differ, e.g. `spec.components[1].traits[0]: "a" ≠ "b"`,
/// or `None` when they are equal.
fn first_difference(path: &str, sent: &Value, got: &Value) -> Option<String> {
    match (sent, got) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|k| {
                let at = format!("{path}.{k}");
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => first_difference(&at, x, y),
                    (x, y) => Some(format!(
                        "{at}: sent {}, got {}",
                        x.map_or("nothing".into(), |v| shown(v, 120)),
                        y.map_or("nothing".into(), |v| shown(v, 120))
                    )),
                }
            })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(&format!("{path}[{i}]"), x, y)),
        _ if sent == got => None,
        _ => Some(format!(
            "{path}: sent {}, got {}",
            shown(sent, 120),
            shown(got, 120)
        )),
    }
}

// ---- Valid manifests: stored unchanged, a small one deploys ---------------------------------

/// What wadm-types writes for a spread without requirements (it omits the empty map) is refused
/// by wadm, which requires the field when parsing: the generator keeps requirements non-empty, and
/// this fixed case records the divergence while it lasts.
const EMPTY_REQUIREMENTS: &str = "wadm-types 0.8 serializes a spread whose requirements are empty by omitting `requirements` (skip_serializing_if), but `Spread` requires the field when parsing (no serde default), so the spreadscaler falls through to a custom trait and wadm refuses the manifest the typed client wrote";

fn stored_unchanged(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let wadm = cx.wadm();
        wadm.ready().await?;
        let client = wadm.client();

        // The fixed case first: a spread that requires nothing.
        let no_requirements = harness::manifest::AppBuilder::new("no-requirements", "v1")
            .component_spread("c", "file:///nowhere.wasm", 1, &[("anywhere", &[], 100)])
            .build();
        match wadm.put(&no_requirements).await {
            Err(e)
                if e.to_string()
                    .contains("Scaler trait deserialized as custom trait") =>
            {
                cx.observe(format!("{EMPTY_REQUIREMENTS} (model.put answered: {e})"))
            }
            Err(e) => anyhow::bail!(
                "a manifest whose spread has no requirements was refused with another message: {e}"
            ),
            Ok(_) => {
                let got = client.get_manifest("no-requirements", Some("v1")).await?;
                ensure!(
                    got == no_requirements,
                    "a spread without requirements was accepted but not stored as sent: {}",
                    first_difference(
                        "",
                        &serde_json::to_value(&no_requirements)?,
                        &serde_json::to_value(&got)?
                    )
                    .unwrap_or_default()
                );
            }
        }

        let mut draw = cx.draw()?;
        let cases = draw.values(&valid_manifest())?;
        let mut names = BTreeSet::new();
        for (i, manifest) in cases.into_iter().enumerate() {
            let mut manifest = manifest;
            manifest.metadata.name = format!("g{i}-{}", manifest.metadata.name);
            let name = manifest.metadata.name.clone();
            let version = manifest.version().to_string();
            let context = || {
                format!(
                    "case {} ({}): manifest {name} version {}",
                    i + 1,
                    draw.repeat(),
                    short(&version, 40)
                )
            };
            let (put_name, put_version) = wadm.put(&manifest).await.map_err(|e| {
                anyhow::anyhow!(
                    "{}: model.put refused a valid manifest: {e}\n  manifest: {}",
                    context(),
                    shown(&serde_json::to_string(&manifest).unwrap_or_default(), 2000)
                )
            })?;
            ensure!(
                put_name == name && put_version == version,
                "{}: model.put answered {put_name} {}",
                context(),
                short(&put_version, 40)
            );
            let got = client
                .get_manifest(&name, Some(&version))
                .await
                .with_context(context)?;
            if got != manifest {
                let difference = first_difference(
                    "",
                    &serde_json::to_value(&manifest)?,
                    &serde_json::to_value(&got)?,
                );
                anyhow::bail!(
                    "{}: model.get returned another manifest than was put: {}",
                    context(),
                    difference.unwrap_or_else(|| "equal as JSON, unequal as values".into())
                );
            }
            names.insert(name);
        }
        let listed: BTreeSet<String> = wadm
            .list()
            .await
            .context("model.list after the puts")?
            .into_iter()
            .map(|m| m.name)
            .filter(|n| n != "no-requirements")
            .collect();
        ensure!(
            listed == names,
            "model.list ({}) does not hold exactly the manifests put: missing {:?}, extra {:?}",
            draw.repeat(),
            names.difference(&listed).collect::<Vec<_>>(),
            listed.difference(&names).collect::<Vec<_>>()
        );

        deploy_small(&cx, &mut draw).await
    })
}

/// A small manifest that can run on the test's host: one probe component, its instances, maybe a
/// config of its own, and a spreadscaler or daemonscaler whose requirements the host meets.
#[derive(Clone, Debug)]
struct Small {
    app: String,
    component: String,
    instances: usize,
    daemon: bool,
    requirements: BTreeMap<String, String>,
    weight: Option<usize>,
    config: Option<BTreeMap<String, String>>,
}

fn small() -> impl Strategy<Value = Small> {
    (
        "[a-z][-_a-z0-9]{0,12}",
        "[a-z][-_A-Za-z0-9]{0,12}",
        1usize..=3,
        any::<bool>(),
        prop::sample::subsequence(HOST_LABELS.to_vec(), 0..=HOST_LABELS.len()),
        prop::option::of(1usize..=1000),
        prop::option::of(prop::collection::btree_map(
            "[a-z][a-z0-9_]{0,8}",
            free(24),
            1..4,
        )),
    )
        .prop_map(
            |(app, component, instances, daemon, labels, weight, config)| Small {
                app,
                component,
                instances,
                daemon,
                requirements: labels
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                weight,
                config,
            },
        )
}

/// wadm's identifier of `name` within manifest `app` (ORC-09): each lowercased, every other
/// character than a letter or digit made `_`, joined by `-`.
fn wadm_id(app: &str, name: &str) -> String {
    let clean = |s: &str| {
        s.to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect::<String>()
    };
    format!("{}-{}", clean(app), clean(name))
}

async fn deploy_small(
    cx: &Cx,
    draw: &mut crate::framework::properties::Draw,
) -> anyhow::Result<()> {
    let small = draw
        .values(&small())?
        .into_iter()
        .next()
        .context("no case drawn")?;
    // Its own prefix: no generated name of the put cases (`g<i>-…`) can take it.
    let app = format!("deploy-{}", small.app);
    let context = format!("deploy case ({}): {small:?}", draw.repeat());
    let image = cx.image(PROBE_RUST)?;
    let requirements: Vec<(&str, &str)> = small
        .requirements
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut builder = harness::manifest::AppBuilder::new(&app, "v1");
    builder = match (small.daemon, requirements.is_empty()) {
        (true, _) => {
            builder.component_daemon(&small.component, &image, small.instances, &requirements)
        }
        (false, true) => builder.component(&small.component, &image, small.instances),
        (false, false) => builder.component_spread(
            &small.component,
            &image,
            small.instances,
            &[("here", requirements.as_slice(), small.weight.unwrap_or(100))],
        ),
    };
    let config: Option<Vec<(&str, &str)>> = small
        .config
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect());
    if let Some(config) = &config {
        builder = builder.component_config(&small.component, "settings", config);
    }
    cx.wadm()
        .deploy_app(&builder.build(), T.deploy)
        .await
        .with_context(|| context.clone())?;
    let id = wadm_id(&app, &small.component);
    crate::steps::wait_inventory(
        cx,
        &cx.host_id(),
        &format!("{id} with max_instances {} ({context})", small.instances),
        2,
        |inv| {
            inv.components()
                .iter()
                .any(|c| c.id() == id && c.max_instances() as usize == small.instances)
        },
    )
    .await?;
    if let Some(want) = &small.config {
        let name = wadm_id(&app, "settings");
        let stored: BTreeMap<String, String> = cx
            .ctl()
            .get_config(&name)
            .await?
            .into_data()
            .with_context(|| format!("{context}: wadm did not put config {name}"))?
            .into_iter()
            .collect();
        ensure!(
            &stored == want,
            "{context}: config {name} holds {}",
            shown(&stored, 300)
        );
    }
    Ok(())
}

// ---- Invalid manifests: each refused, nothing stored ------------------------------------------

/// One rule a manifest breaks.
#[derive(Clone, Copy, Debug)]
enum Invalidity {
    /// A second component with the name of another.
    DuplicateName,
    /// A component with neither `image` nor `application`.
    MissingImage,
    /// A spread weight that is no whole number (negative, fractional, text, too large).
    BadWeight,
    /// A spreadscaler or daemonscaler trait with a field the schema does not know.
    MisshapenScaler,
    /// A link whose target is no component of the manifest.
    LinkToNothing,
}

/// A manifest that breaks one rule, as JSON, and what wadm's refusal must say.
#[derive(Clone, Debug)]
struct Broken {
    kind: Invalidity,
    body: Value,
    expect: Vec<String>,
}

fn broken() -> impl Strategy<Value = Broken> {
    (
        valid_manifest(),
        prop::sample::select(vec![
            Invalidity::DuplicateName,
            Invalidity::MissingImage,
            Invalidity::BadWeight,
            Invalidity::MisshapenScaler,
            Invalidity::LinkToNothing,
        ]),
        any::<prop::sample::Index>(),
        prop_oneof![
            (i64::MIN..0).prop_map(Value::from),
            Just(json!(1.5)),
            Just(json!(1e20)),
            Just(json!("heavy")),
            Just(json!([100])),
        ],
        prop::sample::select(vec!["instance", "spreads", "replica", "weight", "count"]),
        free(16),
    )
        .prop_map(|(manifest, kind, at, weight, field, target)| {
            let mut body = serde_json::to_value(&manifest).expect("a manifest serializes");
            let components = body["spec"]["components"]
                .as_array_mut()
                .expect("components are a list");
            let k = at.index(components.len());
            let name = components[k]["name"].as_str().unwrap_or_default().to_string();
            let names: BTreeSet<String> = components
                .iter()
                .filter_map(|c| c["name"].as_str().map(String::from))
                .collect();
            let scaler = |c: &mut Value, t: Value| {
                let traits = c["traits"].as_array().cloned().unwrap_or_default();
                let mut kept: Vec<Value> = traits
                    .into_iter()
                    .filter(|t| t["type"] != "spreadscaler" && t["type"] != "daemonscaler")
                    .collect();
                kept.push(t);
                c["traits"] = Value::Array(kept);
            };
            let expect: Vec<String> = match kind {
                Invalidity::DuplicateName => {
                    let copy = components[k].clone();
                    components.push(copy);
                    vec![format!("Duplicate component name in manifest: {name}")]
                }
                Invalidity::MissingImage => {
                    if let Some(p) = components[k]["properties"].as_object_mut() {
                        p.remove("image");
                    }
                    vec!["Component must have either 'image' or 'application' property".into()]
                }
                Invalidity::BadWeight => {
                    scaler(
                        &mut components[k],
                        json!({"type": "spreadscaler", "properties": {"instances": 1,
                            "spread": [{"name": "s", "requirements": {"zone": "a"}, "weight": weight}]}}),
                    );
                    vec!["Scaler trait deserialized as custom trait".into()]
                }
                Invalidity::MisshapenScaler => {
                    let kind = if at.index(2) == 0 { "spreadscaler" } else { "daemonscaler" };
                    scaler(
                        &mut components[k],
                        json!({"type": kind, "properties": {"instances": 1, field: 2}}),
                    );
                    vec!["Scaler trait deserialized as custom trait".into()]
                }
                Invalidity::LinkToNothing => {
                    let mut target = format!("{target}-absent");
                    while names.contains(&target) {
                        target.push('!');
                    }
                    let link = json!({"type": "link", "properties": {"namespace": "test",
                        "package": "nothing", "interfaces": ["echo"], "target": {"name": target}}});
                    match components[k]["traits"].as_array_mut() {
                        Some(traits) => traits.push(link),
                        None => components[k]["traits"] = json!([link]),
                    }
                    vec![
                        "missing from the manifest".into(),
                        format!("{target:?}"),
                    ]
                }
            };
            Broken { kind, body, expect }
        })
}

/// A trait of a type wadm does not know is accepted and stored by wadm 0.21 (wadm-types keeps
/// trait types open for custom scalers): the catalogue's ORC-07/08 says otherwise.
const UNKNOWN_TRAIT_TYPE: &str = "wadm 0.21 accepts and stores a trait of a type it does not know (`autoscaler`): wadm-types keeps trait types open for future custom scalers (`Trait::trait_type` is a free string; only link and scaler types are checked), while the catalogue (ORC-07/08) says unknown traits fail validation";

fn invalid_refused(cx: Cx) -> TestFuture {
    Box::pin(async move {
        let wadm = cx.wadm();
        wadm.ready().await?;
        let subject = format!("wadm.api.{}.model.put", cx.lattice().name());
        let mut accepted = BTreeSet::new();

        // The fixed case first: an unknown trait type.
        let unknown = json!({"apiVersion": OAM_VERSION, "kind": APPLICATION_KIND,
            "metadata": {"name": "unknown-trait", "annotations": {"version": "v1"}},
            "spec": {"components": [{"name": "c", "type": "component",
                "properties": {"image": "file:///nowhere.wasm"},
                "traits": [{"type": "autoscaler", "properties": {"threshold": 3}}]}]}});
        let reply =
            crate::steps::raw_request(&cx, subject.clone(), serde_json::to_vec(&unknown)?).await?;
        if reply["result"] != "error" {
            let got = wadm
                .client()
                .get_manifest("unknown-trait", Some("v1"))
                .await
                .context("model.get of the manifest with an unknown trait type")?;
            let got = serde_json::to_value(&got)?;
            ensure!(
                got["spec"]["components"][0]["traits"]
                    == unknown["spec"]["components"][0]["traits"],
                "wadm accepted an unknown trait type but stored {}",
                got["spec"]["components"][0]["traits"]
            );
            cx.observe(format!(
                "{UNKNOWN_TRAIT_TYPE} (model.put answered: {reply})"
            ));
            accepted.insert("unknown-trait".to_string());
        }

        let mut draw = cx.draw()?;
        let cases = draw.values(&broken())?;
        for (i, case) in cases.into_iter().enumerate() {
            let mut body = case.body;
            let name = format!(
                "b{i}-{}",
                body["metadata"]["name"].as_str().unwrap_or_default()
            );
            body["metadata"]["name"] = Value::from(name.clone());
            let context = || {
                format!(
                    "case {} ({}): {:?} in manifest {name}",
                    i + 1,
                    draw.repeat(),
                    case.kind
                )
            };
            let reply = crate::steps::raw_request(&cx, subject.clone(), serde_json::to_vec(&body)?)
                .await
                .with_context(context)?;
            let message = reply["message"].as_str().unwrap_or_default();
            ensure!(
                reply["result"] == "error",
                "{}: wadm accepted it: {reply}\n  manifest: {}",
                context(),
                shown(&body.to_string(), 2000)
            );
            ensure!(
                case.expect.iter().all(|e| message.contains(e.as_str())),
                "{}: the refusal does not say {:?}: {}",
                context(),
                case.expect,
                short(message, 400)
            );
        }
        let listed: BTreeSet<String> = wadm
            .list()
            .await
            .context("model.list after the refused puts: wadm stopped answering")?
            .into_iter()
            .map(|m| m.name)
            .collect();
        ensure!(
            listed == accepted,
            "wadm stored manifests it refused ({}): {:?}",
            draw.repeat(),
            listed.difference(&accepted).collect::<Vec<_>>()
        );
        Ok(())
    })
}
