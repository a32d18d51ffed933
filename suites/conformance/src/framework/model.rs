//! What a conformance test is: a stable name, a description, the features it relies on, the
//! catalogue items it checks, the lattice and fixtures it needs, and a short async body.
use std::future::Future;
use std::pin::Pin;

use serde::Serialize;

use super::Cx;
use harness::fixtures::FixtureRef;

/// The body of a test. Errors and panics both fail the test.
pub type TestFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// The area of the contract a test belongs to: host configuration and lifecycle, and wasmCloud's
/// five declared features.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Area {
    /// Host configuration and lifecycle (catalogue CFG, HL).
    Host,
    /// Declarative WebAssembly orchestration: wadm (ORC).
    Orchestration,
    /// Seamless distributed networking: lattice, wRPC, links (NET).
    Networking,
    /// Vendorless application components (VAC).
    Vendorless,
    /// Completely OTEL observable (OBS).
    Observability,
    /// Defense-in-depth security by default (SEC).
    Security,
}

impl Area {
    /// The area every test of a topic (the first segment of a test's name) belongs to; `None`
    /// for a topic the suite does not have. Topics narrower than an area (a host's components,
    /// its configuration, its providers; links) sit in the area whose contract they check.
    pub fn of_topic(topic: &str) -> Option<Area> {
        Some(match topic {
            "host" | "components" | "config" | "providers" => Area::Host,
            "orchestration" => Area::Orchestration,
            "networking" | "links" => Area::Networking,
            "vendorless" => Area::Vendorless,
            "observability" => Area::Observability,
            "security" => Area::Security,
            _ => return None,
        })
    }

    /// Stable id used in reports.
    pub fn id(self) -> &'static str {
        match self {
            Area::Host => "host",
            Area::Orchestration => "orchestration",
            Area::Networking => "networking",
            Area::Vendorless => "vendorless",
            Area::Observability => "observability",
            Area::Security => "security",
        }
    }
}

/// A capability of the implementation under test that a test relies on. A target may declare
/// that it lacks one (`WCC_TARGET_UNSUPPORTED`); tests needing it are then skipped with that reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Feature {
    /// The control interface v1 over NATS.
    ControlInterface,
    /// CloudEvents on `wasmbus.evt.<lattice>.*`.
    LatticeEvents,
    /// Loading components from `file://` references.
    FileLoad,
    /// wRPC invocation of component exports.
    Wrpc,
    /// Links between components and providers.
    Links,
    /// wadm and its API.
    Wadm,
    /// The host's builtin HTTP server provider (experimental feature flag).
    BuiltinHttpServer,
    /// The host's limit on core module instances per component
    /// (`--max-core-instances-per-component`, CFG-07; from wasmcloud-host 0.26, wasmCloud 1.9).
    CoreInstanceLimit,
}

impl Feature {
    /// Every feature.
    pub const ALL: [Feature; 8] = [
        Feature::ControlInterface,
        Feature::LatticeEvents,
        Feature::FileLoad,
        Feature::Wrpc,
        Feature::Links,
        Feature::Wadm,
        Feature::BuiltinHttpServer,
        Feature::CoreInstanceLimit,
    ];

    /// The feature with id `name`; an unknown one is an error naming it, where it was read
    /// (`source`) and the known ids.
    pub fn parse(name: &str, source: &str) -> Result<Feature, String> {
        Feature::ALL
            .into_iter()
            .find(|f| f.id() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Feature::ALL.iter().map(|f| f.id()).collect();
                format!(
                    "unknown feature `{name}` in {source}; features are: {}",
                    known.join(", ")
                )
            })
    }

    /// Stable id (kebab case), as used in `WCC_TARGET_UNSUPPORTED` and reports.
    pub fn id(self) -> &'static str {
        match self {
            Feature::ControlInterface => "control-interface",
            Feature::LatticeEvents => "lattice-events",
            Feature::FileLoad => "file-load",
            Feature::Wrpc => "wrpc",
            Feature::Links => "links",
            Feature::Wadm => "wadm",
            Feature::BuiltinHttpServer => "builtin-http-server",
            Feature::CoreInstanceLimit => "core-instance-limit",
        }
    }
}

/// The lattice a test needs; every test gets a fresh one, except that the runner runs the tests
/// of one share group ([`Setup::shared`]) on one lattice.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Setup {
    /// Number of hosts.
    pub hosts: usize,
    /// Whether wadm runs.
    pub wadm: bool,
    /// Experimental features enabled on every host.
    pub host_features: &'static [&'static str],
    /// Labels set on every host.
    pub host_labels: &'static [(&'static str, &'static str)],
    /// Start hosts without `WASMCLOUD_ALLOW_FILE_LOAD`.
    pub deny_file_load: bool,
    /// Labels for individual hosts: entry `i` is added to host `i` (on top of `host_labels`).
    pub labels_per_host: &'static [&'static [(&'static str, &'static str)]],
    /// Run an OTLP receiver and point every host at it (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub otel: bool,
    /// How many hosts, from the first, also get `WASMCLOUD_OBSERVABILITY_ENABLED=true`.
    pub otel_enabled_hosts: usize,
    /// Extra environment for individual hosts (entry `i` for host `i`), applied last.
    pub env_per_host: &'static [&'static [(&'static str, &'static str)]],
    /// Switch wadm's trace export on towards the OTLP receiver (`WADM_TRACING_ENDPOINT`). Without
    /// it, a wadm run beside the receiver gets only the standard `OTEL_*` endpoint variables.
    pub wadm_traced: bool,
    /// Extra environment for wadm, applied last.
    pub wadm_env: &'static [(&'static str, &'static str)],
    /// What the body does that only a lattice the suite starts allows (adds, stops or kills
    /// hosts, reads host logs, ...): such a test is skipped on an existing lattice.
    pub suite_lattice: Option<&'static str>,
    /// A JetStream domain for NATS, every host and wadm (catalogue Q-11).
    pub js_domain: Option<&'static str>,
    /// NATS with accounts and users (and TLS when set to `Some(true)`), catalogue SEC-04.
    pub nats_auth: Option<bool>,
    /// Indices of the hosts that reach NATS through a nemesis of their own
    /// (`Cx::nemesis`), for faults at the protocol level.
    pub nemesis: &'static [usize],
    /// The share group ([`Setup::shared`]).
    pub share: Option<&'static str>,
}

impl Setup {
    /// `n` hosts, no wadm.
    pub const fn hosts(n: usize) -> Self {
        Self {
            hosts: n,
            wadm: false,
            host_features: &[],
            host_labels: &[],
            deny_file_load: false,
            labels_per_host: &[],
            otel: false,
            otel_enabled_hosts: 0,
            env_per_host: &[],
            wadm_traced: false,
            wadm_env: &[],
            suite_lattice: None,
            js_domain: None,
            nats_auth: None,
            nemesis: &[],
            share: None,
        }
    }

    /// Puts the test in share group `group`: inside the runner (`wasmcloud-conformance run`), the
    /// tests of one group with the same fixtures run one after another on one lattice, so that a
    /// large component is compiled once for all of them. Only tests that change nothing another
    /// test reads may share; what they need set up they get from a step done once per lattice
    /// ([`super::Cx::once`]). Under nextest, and on an existing lattice, each test still gets a
    /// lattice of its own and does that step itself. Every test of a group has the same lattice
    /// setup (a unit test checks it).
    pub const fn shared(mut self, group: &'static str) -> Self {
        self.share = Some(group);
        self
    }

    /// What starts the lattice, without what only selects or groups tests (the share group and
    /// the reason a test needs a lattice of the suite's own): tests of one share group must
    /// agree on it.
    pub fn lattice_part(&self) -> Self {
        Self {
            share: None,
            suite_lattice: None,
            ..*self
        }
    }

    /// Puts a nemesis (a fault-injecting NATS proxy, `harness::nemesis`) between each of these
    /// hosts and NATS. Only a lattice the suite starts has one.
    pub const fn through_nemesis(mut self, hosts: &'static [usize]) -> Self {
        self.nemesis = hosts;
        if self.suite_lattice.is_none() {
            self.suite_lattice = Some("puts a nemesis between hosts and NATS");
        }
        self
    }

    /// NATS in operator mode with the lattice's account and another, each client with its own
    /// user, and with `tls` requiring TLS with a certificate of the run's own CA
    /// ([`harness::nats_auth`]). Only a lattice the suite starts can be given one.
    pub const fn nats_auth(mut self, tls: bool) -> Self {
        self.nats_auth = Some(tls);
        if self.suite_lattice.is_none() {
            self.suite_lattice = Some("runs NATS with accounts of its own");
        }
        self
    }

    /// NATS with JetStream domain `domain`, and every host and wadm told so. Only a lattice the
    /// suite starts can be given one.
    pub const fn jetstream_domain(mut self, domain: &'static str) -> Self {
        self.js_domain = Some(domain);
        if self.suite_lattice.is_none() {
            self.suite_lattice = Some("gives NATS a JetStream domain");
        }
        self
    }

    /// Also run wadm.
    pub const fn with_wadm(mut self) -> Self {
        self.wadm = true;
        self
    }

    /// Enable these experimental host features.
    pub const fn features(mut self, features: &'static [&'static str]) -> Self {
        self.host_features = features;
        self
    }

    /// Set these labels on every host.
    pub const fn labels(mut self, labels: &'static [(&'static str, &'static str)]) -> Self {
        self.host_labels = labels;
        self
    }

    /// Export traces, metrics and logs of every host to an OTLP receiver in the harness.
    pub const fn otel(mut self) -> Self {
        self.otel = true;
        self.otel_enabled_hosts = usize::MAX;
        self
    }

    /// Run the OTLP receiver and point every host at it, but enable observability
    /// (`WASMCLOUD_OBSERVABILITY_ENABLED`) only on the first `n` hosts.
    pub const fn otel_enabled_on(mut self, n: usize) -> Self {
        self.otel = true;
        self.otel_enabled_hosts = n;
        self
    }

    /// Run wadm and the OTLP receiver, and switch wadm's trace export on towards the receiver
    /// (`WADM_TRACING_ENDPOINT`, OBS-08). Hosts are pointed at the receiver but export nothing
    /// unless [`Setup::otel`] or [`Setup::otel_enabled_on`] says so.
    pub const fn wadm_traced(mut self) -> Self {
        self.wadm = true;
        self.otel = true;
        self.wadm_traced = true;
        self
    }

    /// Extra environment for wadm (e.g. `RUST_LOG`), applied last.
    pub const fn wadm_env(mut self, env: &'static [(&'static str, &'static str)]) -> Self {
        self.wadm_env = env;
        self
    }

    /// Extra environment for individual hosts (entry `i` for host `i`).
    pub const fn env_per_host(
        mut self,
        env: &'static [&'static [(&'static str, &'static str)]],
    ) -> Self {
        self.env_per_host = env;
        self
    }

    /// Labels for individual hosts (entry `i` for host `i`).
    pub const fn labels_per_host(
        mut self,
        labels: &'static [&'static [(&'static str, &'static str)]],
    ) -> Self {
        self.labels_per_host = labels;
        self
    }

    /// The body needs a lattice the suite starts, because it does `what` (e.g. "adds hosts of its
    /// own"); on an existing lattice it is skipped with that reason.
    pub const fn needs_suite_lattice(mut self, what: &'static str) -> Self {
        self.suite_lattice = Some(what);
        self
    }

    /// Start the hosts with file loading disabled (the upstream default).
    pub const fn deny_file_load(mut self) -> Self {
        self.deny_file_load = true;
        self
    }
}

/// One conformance test.
pub struct ConformanceTest {
    /// `topic::behavior`; never renamed (reports key on it). The topic names the file that defines
    /// the test (`src/<topic>.rs` or a file under `src/<topic>/`) and fixes its area
    /// ([`Area::of_topic`]); a unit test checks both.
    pub name: &'static str,
    /// The file that defines it: `file!()` in the definition.
    pub source: &'static str,
    /// One line: what a conformant implementation does.
    pub description: &'static str,
    /// The area of the contract.
    pub area: Area,
    /// Capabilities it relies on.
    pub features: &'static [Feature],
    /// Catalogue item IDs it checks (e.g. `HL-05`).
    pub covers: &'static [&'static str],
    /// Fixtures it needs.
    pub fixtures: &'static [FixtureRef],
    /// The lattice it needs.
    pub setup: Setup,
    /// The body.
    pub run: fn(Cx) -> TestFuture,
}

impl std::fmt::Debug for ConformanceTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConformanceTest")
            .field("name", &self.name)
            .field("covers", &self.covers)
            .finish_non_exhaustive()
    }
}
