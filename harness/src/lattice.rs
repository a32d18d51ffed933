//! A whole lattice under test: NATS with JetStream, N hosts, optionally wadm, each ready by
//! protocol; torn down when dropped.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use crate::backend::Backend;
use crate::backend::{Nats, Runtime};
use crate::binaries::Binaries;
use crate::ctl::Ctl;
use crate::error::HarnessError;
use crate::error::DEFAULT_START_TIMEOUT;
use crate::journal::Journal;
pub use crate::nats_auth::AuthMode;
use crate::nats_auth::{NatsAuth, Who};
use crate::nemesis::Nemesis;
pub use crate::services::{HostHandle, HostSpec};
use crate::services::{HostLaunch, WadmHandle};
use crate::wadm::Wadm;
use crate::wait::{scaled, Probe, Wait};

/// Configures and starts a [`Lattice`].
#[derive(Clone, Debug)]
pub struct LatticeBuilder {
    hosts: Vec<HostSpec>,
    wadm: bool,
    wadm_env: Vec<(String, String)>,
    heartbeat: Duration,
    binaries: Option<Binaries>,
    timeout: Duration,
    backend: Option<Backend>,
    images: Option<Vec<(&'static str, String)>>,
    js_domain: Option<String>,
    auth: Option<AuthMode>,
    /// Indices of the hosts that reach NATS through a nemesis of their own.
    nemesis_hosts: Vec<usize>,
    wadm_nemesis: bool,
    /// Rules every host nemesis starts with, and wadm's.
    host_rules: Vec<crate::nemesis::Rule>,
    wadm_rules: Vec<crate::nemesis::Rule>,
}

impl Default for LatticeBuilder {
    fn default() -> Self {
        Self {
            hosts: vec![HostSpec::default()],
            wadm: false,
            wadm_env: Vec::new(),
            heartbeat: Duration::from_secs(2),
            binaries: None,
            timeout: DEFAULT_START_TIMEOUT,
            backend: None,
            images: None,
            js_domain: None,
            auth: None,
            nemesis_hosts: Vec::new(),
            wadm_nemesis: false,
            host_rules: Vec::new(),
            wadm_rules: Vec::new(),
        }
    }
}

impl LatticeBuilder {
    /// `n` hosts with the default spec (replaces the hosts configured so far).
    pub fn hosts(mut self, n: usize) -> Self {
        self.hosts = vec![HostSpec::default(); n];
        self
    }

    /// Adds one host with its own spec.
    pub fn host(mut self, spec: HostSpec) -> Self {
        self.hosts.push(spec);
        self
    }

    /// Adds one host that reaches NATS through a [`Nemesis`] of its own, which
    /// [`Lattice::nemesis`] returns (by the host's index) for a test to inject faults with.
    /// Not with TLS: the nemesis reads the protocol.
    pub fn host_through_nemesis(mut self, spec: HostSpec) -> Self {
        self.hosts.push(spec);
        self.nemesis_hosts.push(self.hosts.len() - 1);
        self
    }

    /// Puts every host configured so far behind a nemesis of its own (see
    /// [`LatticeBuilder::host_through_nemesis`]).
    pub fn hosts_through_nemesis(mut self) -> Self {
        self.nemesis_hosts = (0..self.hosts.len()).collect();
        self
    }

    /// Lets wadm reach NATS through a nemesis ([`Lattice::wadm_nemesis`]).
    pub fn wadm_through_nemesis(mut self) -> Self {
        self.wadm_nemesis = true;
        self
    }

    /// Background rules ([`Nemesis::background_rule`]) each host nemesis has from its first
    /// byte on (before the host connects), e.g. a host that never publishes one kind of event;
    /// a test's own rules take precedence. Hosts added later have none.
    pub fn host_nemesis_rules(mut self, rules: Vec<crate::nemesis::Rule>) -> Self {
        self.host_rules = rules;
        self
    }

    /// Rules wadm's nemesis has from its first byte on.
    pub fn wadm_nemesis_rules(mut self, rules: Vec<crate::nemesis::Rule>) -> Self {
        self.wadm_rules = rules;
        self
    }

    /// Sets a label on every host configured so far.
    pub fn host_label(mut self, key: &str, value: &str) -> Self {
        for h in &mut self.hosts {
            h.labels.insert(key.to_string(), value.to_string());
        }
        self
    }

    /// Enables an experimental host feature (e.g. `builtin-http-server`) on every host so far.
    pub fn host_feature(mut self, feature: &str) -> Self {
        for h in &mut self.hosts {
            h.features.push(feature.to_string());
        }
        self
    }

    /// Gives NATS a JetStream domain and every host (`WASMCLOUD_JS_DOMAIN`) and wadm
    /// (`WADM_JETSTREAM_DOMAIN`) the same one (catalogue Q-11). A domain is a token of letters,
    /// digits, `-` and `_`; another is a configuration error at [`LatticeBuilder::start`].
    pub fn jetstream_domain(mut self, domain: &str) -> Self {
        self.js_domain = Some(domain.to_string());
        self
    }

    /// Runs NATS with accounts (catalogue SEC-04): an operator, the lattice's account and another,
    /// a user each for the harness, the hosts' control and RPC connections and wadm (see
    /// [`crate::nats_auth`]), and with `mode.tls` TLS with a certificate of the run's own CA.
    /// Every client the harness starts is given its user (and the CA); [`Lattice::nats_auth`]
    /// has the rest for tests.
    pub fn nats_auth(mut self, mode: AuthMode) -> Self {
        self.auth = Some(mode);
        self
    }

    /// Runs wadm too.
    pub fn wadm(mut self, on: bool) -> Self {
        self.wadm = on;
        self
    }

    /// Adds a variable to wadm's environment (through wadm's own contract, e.g.
    /// `WADM_TRACING_ENDPOINT`), applied after the harness's own, so it wins; kept across
    /// [`Lattice::restart_wadm`].
    pub fn wadm_env(mut self, key: &str, value: &str) -> Self {
        self.wadm_env.push((key.to_string(), value.to_string()));
        self
    }

    /// The hosts' heartbeat interval (default 2 s, upstream default 30 s; whole seconds).
    pub fn heartbeat(mut self, interval: Duration) -> Self {
        self.heartbeat = interval;
        self
    }

    /// Uses these binaries instead of the ones from the environment.
    pub fn binaries(mut self, binaries: Binaries) -> Self {
        self.binaries = Some(binaries);
        self
    }

    /// Where the services run. Default: `WCC_BACKEND` when set, otherwise processes (see
    /// [`Backend::from_env`] for the variant that picks containers when an engine answers).
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = Some(backend);
        self
    }

    /// Vendor images to run in place of the images built from the binaries (containers backend),
    /// as `(variable, image)` with the variable of the image each replaces
    /// ([`crate::containers::HOST_IMAGE_ENV`], `WADM_IMAGE_ENV`, `NATS_IMAGE_ENV`). Default: the
    /// images those variables name ([`crate::settings::image_overrides`]).
    pub fn images(mut self, overrides: Vec<(&'static str, String)>) -> Self {
        self.images = Some(overrides);
        self
    }

    /// How long each service may take to become ready (scaled by `WCC_TIMEOUT_SCALE`).
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Starts NATS, then wadm (so it sees every `host_started`), then the hosts; waits until each
    /// is ready by protocol. wadm's knowledge of the hosts is awaited by the first call of
    /// [`Lattice::wadm`]'s client ([`crate::wadm::Wadm::ready`]), not here.
    pub async fn start(self) -> Result<Lattice, HarnessError> {
        crate::settings::check_timeout_scale().map_err(HarnessError::Config)?;
        if let Some(domain) = &self.js_domain {
            check_domain(domain)?;
        }
        crate::reaper::sweep_once();
        let started = Instant::now();
        let backend = match self.backend {
            Some(b) => b,
            None => Backend::from_env_or(Backend::Processes)?,
        };
        let binaries = match self.binaries {
            Some(b) => b,
            None => Binaries::from_env()?,
        };
        let name = format!("wcc-{}", ulid::Ulid::new().to_string().to_lowercase());
        let (log_dir, shared) = crate::scratch::create(&name)?;
        crate::reaper::register_dir(&name, log_dir.path());
        let timeout = scaled(self.timeout);
        let images = self
            .images
            .clone()
            .unwrap_or_else(crate::settings::image_overrides);
        let runtime =
            Runtime::create(backend, &name, &binaries, &images, log_dir.path(), timeout).await?;
        // In the shared folder: hosts in containers read their credentials files and CA there.
        let auth = match self.auth {
            Some(mode) => Some(NatsAuth::generate(
                &shared.join("nats-auth"),
                mode,
                &runtime.nats_names(),
            )?),
            None => None,
        };
        let (nats, client) = runtime
            .start_nats(
                &binaries,
                log_dir.path(),
                timeout,
                self.js_domain.as_deref(),
                auth.as_ref(),
            )
            .await?;
        let (nats_host, nats_port) = runtime.nats_address(&nats);
        let nemesis_wanted = self.wadm_nemesis || !self.nemesis_hosts.is_empty();
        if nemesis_wanted && auth.as_ref().is_some_and(|a| a.tls().is_some()) {
            return Err(HarnessError::Config(
                "a nemesis cannot stand between a client and NATS over TLS (it reads the protocol); \
                 fix: drop AuthMode::tls or the nemesis"
                    .into(),
            ));
        }
        // Each nemesis passes its client on to the address this machine reaches NATS at.
        let upstream = nats.url().trim_start_matches("nats://").to_string();
        let nemesis_with = |on: bool, rules: &[crate::nemesis::Rule]| {
            let (upstream, rules) = (&upstream, rules.to_vec());
            async move {
                if !on {
                    return Ok::<_, HarnessError>(None);
                }
                let n = Nemesis::start_for(backend, upstream).await?;
                for rule in rules {
                    n.background_rule(rule);
                }
                Ok(Some(n))
            }
        };
        let mut nemeses: Vec<Option<Nemesis>> = Vec::with_capacity(self.hosts.len());
        for index in 0..self.hosts.len() {
            let on = self.nemesis_hosts.contains(&index);
            nemeses.push(nemesis_with(on, &self.host_rules).await?);
        }
        let host_nats: Vec<(String, u16)> = nemeses
            .iter()
            .map(|n| match n {
                Some(n) => (n.address().ip().to_string(), n.address().port()),
                None => (nats_host.clone(), nats_port),
            })
            .collect();
        let wadm_nemesis = nemesis_with(self.wadm_nemesis, &self.wadm_rules).await?;
        let journal = Journal::new(started);
        journal.follow(&client, &name).await?;
        let ctl = Ctl::new(client.clone(), &name, journal.clone());
        let wadm_api = Wadm::new(client.clone(), &name, journal.clone());

        let wadm_nats = match &wadm_nemesis {
            Some(n) => n.address().to_string(),
            None => format!("{nats_host}:{nats_port}"),
        };
        let launches: Vec<(HostLaunch<'_>, HostSpec)> = self
            .hosts
            .into_iter()
            .enumerate()
            .map(|(index, spec)| {
                let launch = HostLaunch {
                    runtime: &runtime,
                    bin: binaries.host_at(index),
                    nats_host: &host_nats[index].0,
                    nats_port: host_nats[index].1,
                    lattice: &name,
                    heartbeat: self.heartbeat,
                    js_domain: self.js_domain.as_deref(),
                    auth: auth.as_ref(),
                    log_dir: log_dir.path(),
                    index,
                    journal: &journal,
                    timeout,
                };
                (launch, spec)
            })
            .collect();
        // wadm's user (and CA) first, so a test's own wadm variables still win.
        let mut wadm_env = auth.as_ref().map(wadm_auth_env).unwrap_or_default();
        wadm_env.extend(self.wadm_env.iter().cloned());
        let start_wadm = async {
            match self.wadm {
                true => {
                    let mut w = WadmHandle::spawn(
                        &runtime,
                        &binaries.wadm,
                        &wadm_nats,
                        self.js_domain.as_deref(),
                        &wadm_env,
                        log_dir.path(),
                    )
                    .await?;
                    w.wait_api(&wadm_api, timeout).await?;
                    Ok::<_, HarnessError>(Some(w))
                }
                false => Ok(None),
            }
        };
        let (wadm, hosts) = match runtime.backend() {
            // wadm first, answering, so its event streams exist before any host publishes
            // host_started (otherwise it would only learn of the host from the next heartbeat).
            Backend::Processes => {
                let wadm = start_wadm.await?;
                let mut hosts = Vec::with_capacity(launches.len());
                for (launch, spec) in launches {
                    hosts.push(launch.start(spec).await?);
                }
                (wadm, hosts)
            }
            // A container start costs the engine about 0.3 s: the hosts' containers start while
            // wadm, already started, comes up (it answers within milliseconds, a host needs its
            // container start plus its boot before host_started, so wadm still sees it; the
            // awareness watch (see below) covers a miss: wadm then learns of the host from its next
            // heartbeat).
            Backend::Containers => {
                let mut wadm = match self.wadm {
                    true => Some(
                        WadmHandle::spawn(
                            &runtime,
                            &binaries.wadm,
                            &wadm_nats,
                            self.js_domain.as_deref(),
                            &wadm_env,
                            log_dir.path(),
                        )
                        .await?,
                    ),
                    false => None,
                };
                let api = async {
                    match wadm.as_mut() {
                        Some(w) => w.wait_api(&wadm_api, timeout).await,
                        None => Ok(()),
                    }
                };
                let hosts = futures::future::try_join_all(
                    launches
                        .into_iter()
                        .map(|(launch, spec)| async move { launch.start(spec).await }),
                );
                let ((), hosts) = tokio::try_join!(api, hosts)?;
                drop(start_wadm);
                (wadm, hosts)
            }
        };
        let mut lattice = Lattice {
            hosts,
            nemeses,
            wadm: None,
            wadm_nemesis,
            nats,
            runtime,
            name,
            client,
            journal,
            ctl,
            wadm_api,
            log_dir: std::sync::Mutex::new(Some(log_dir)),
            kept_logs: std::sync::OnceLock::new(),
            binaries: Some(binaries),
            shared,
            startup: Duration::ZERO,
            heartbeat: self.heartbeat,
            js_domain: self.js_domain.clone(),
            start_timeout: self.timeout,
            auth,
        };
        lattice.wait_hosts_answer_ctl(timeout).await?;
        // wadm's knowledge of the hosts is not part of lattice-up: it is watched from here in the
        // background, and the wadm client's first call waits for it (most tests start other
        // work first, e.g. config, links or providers over the control interface).
        if let Some(w) = &wadm {
            let awareness =
                w.watch_awareness(&lattice.client, &lattice.name, lattice.host_ids(), timeout);
            lattice.wadm_api.gate(awareness);
        }
        lattice.wadm = wadm.map(tokio::sync::Mutex::new);
        lattice.startup = started.elapsed();
        Ok(lattice)
    }
}

/// A running lattice. Dropping it kills every process it started.
pub struct Lattice {
    // Field order is drop order: hosts and wadm go before NATS, the backend's resources last.
    pub(crate) hosts: Vec<HostHandle>,
    /// The nemesis of each host that has one, by the host's index.
    pub(crate) nemeses: Vec<Option<Nemesis>>,
    /// Behind a lock so that wadm can be restarted through `&self` ([`Lattice::restart_wadm`]).
    pub(crate) wadm: Option<tokio::sync::Mutex<WadmHandle>>,
    pub(crate) wadm_nemesis: Option<Nemesis>,
    pub(crate) nats: Nats,
    pub(crate) runtime: Runtime,
    pub(crate) name: String,
    pub(crate) client: async_nats::Client,
    pub(crate) journal: Journal,
    pub(crate) ctl: Ctl,
    pub(crate) wadm_api: Wadm,
    pub(crate) log_dir: std::sync::Mutex<Option<tempfile::TempDir>>,
    pub(crate) kept_logs: std::sync::OnceLock<PathBuf>,
    /// `None` on an existing lattice: the harness started nothing there.
    pub(crate) binaries: Option<Binaries>,
    pub(crate) shared: PathBuf,
    pub(crate) startup: Duration,
    pub(crate) heartbeat: Duration,
    /// The JetStream domain NATS, the hosts and wadm were given, if any.
    pub(crate) js_domain: Option<String>,
    #[cfg_attr(not(feature = "containers"), allow(dead_code))]
    pub(crate) start_timeout: Duration,
    /// The accounts, users and certificates of its NATS, when it runs with them.
    pub(crate) auth: Option<NatsAuth>,
}

impl Lattice {
    /// The accounts, users and certificates of the lattice's NATS, when it was started with
    /// [`LatticeBuilder::nats_auth`].
    pub fn nats_auth(&self) -> Option<&NatsAuth> {
        self.auth.as_ref()
    }

    /// The nemesis between host `index` (as in [`Lattice::hosts`]) and NATS, when the host was
    /// started through one ([`LatticeBuilder::host_through_nemesis`]).
    pub fn nemesis(&self, index: usize) -> Option<&Nemesis> {
        self.nemeses.get(index).and_then(Option::as_ref)
    }

    /// The nemesis between wadm and NATS ([`LatticeBuilder::wadm_through_nemesis`]).
    pub fn wadm_nemesis(&self) -> Option<&Nemesis> {
        self.wadm_nemesis.as_ref()
    }

    /// A builder with one host and no wadm.
    pub fn builder() -> LatticeBuilder {
        LatticeBuilder::default()
    }

    /// The lattice name (unique per lattice: `wcc-<ulid>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn nats_url(&self) -> String {
        self.nats.url()
    }

    /// The NATS URL the hosts and wadm were given: [`Lattice::nats_url`] for processes,
    /// `nats://<NATS container>:4222` on the lattice network for containers.
    pub fn nats_url_for_hosts(&self) -> String {
        if self.is_existing() {
            return self.nats.url();
        }
        let (host, port) = self.runtime.nats_address(&self.nats);
        format!("nats://{host}:{port}")
    }

    /// The NATS URL host `host_id` was given: its nemesis's address when it reaches NATS through
    /// one ([`LatticeBuilder::host_through_nemesis`]), else [`Lattice::nats_url_for_hosts`].
    pub fn nats_url_given_to(&self, host_id: &str) -> String {
        let index = self.hosts.iter().position(|h| h.id == host_id);
        match index.and_then(|i| self.nemesis(i)) {
            Some(n) => format!("nats://{}", n.address()),
            None => self.nats_url_for_hosts(),
        }
    }

    /// A NATS client connected to the lattice's server.
    pub fn nats(&self) -> &async_nats::Client {
        &self.client
    }

    /// Waits, bounded (30 s, scaled), until provider `provider_id` answers a health check on
    /// `wasmbus.rpc.<lattice>.<provider_id>.health` (catalogue VAC-13), and returns the answer.
    ///
    /// A provider is ready for links only then. The host publishes `provider_started` once it has
    /// launched the provider's process, before the provider has subscribed to anything, so a link
    /// put at that moment never reaches the provider (seen: the kv fixture then served every call
    /// after its 2 s wait for the link, racing the host's 2 s RPC timeout). The provider SDK
    /// answers health checks only after all its subscriptions (links, config, shutdown) are made
    /// on the one connection that also carries the answer, so an answer means later deliveries
    /// reach it. Upstream's own test helper waits for providers the same way.
    pub async fn provider_ready(
        &self,
        provider_id: &str,
    ) -> Result<serde_json::Value, HarnessError> {
        // The subject as wasmcloud-core's `rpc::health_subject` builds it: that crate's tree
        // (wasmtime among it) is too heavy for one subject name.
        let subject = format!("wasmbus.rpc.{}.{provider_id}.health", self.name);
        let client = &self.client;
        let subject = &subject;
        let answer = Wait::new(
            format!("provider {provider_id} to answer a health check on {subject}"),
            Duration::from_secs(30),
        )
        .interval(Duration::from_millis(100))
        .until(|_| async move {
            let request = client.request(subject.clone(), Vec::new().into());
            match tokio::time::timeout(Duration::from_secs(2), request).await {
                Ok(Ok(msg)) => match serde_json::from_slice::<serde_json::Value>(&msg.payload) {
                    Ok(v) => Probe::Ready(v),
                    Err(e) => Probe::NotYet(format!(
                        "an answer that is not JSON ({e}): {:?}",
                        String::from_utf8_lossy(&msg.payload)
                    )),
                },
                Ok(Err(e)) => Probe::NotYet(format!("{e}")),
                Err(_) => Probe::NotYet("no answer within 2 s".into()),
            }
        })
        .await?;
        Ok(answer)
    }

    /// The recorded control-interface client.
    pub fn ctl(&self) -> &Ctl {
        &self.ctl
    }

    /// The recorded wadm client (requests fail if the lattice runs no wadm).
    pub fn wadm(&self) -> &Wadm {
        &self.wadm_api
    }

    /// Whether wadm runs (on an existing lattice: whether wadm's API answered when connecting).
    pub fn has_wadm(&self) -> bool {
        match self.runtime.existing() {
            Some(e) => e.wadm,
            None => self.wadm.is_some(),
        }
    }

    /// Whether this is an existing lattice the harness only connected to
    /// ([`crate::existing::ExistingLattice`]): it started nothing there and stops nothing.
    pub fn is_existing(&self) -> bool {
        self.runtime.existing().is_some()
    }

    /// The hosts that answered the control-interface ping when the harness connected to an
    /// existing lattice (empty for a lattice the harness started: see [`Lattice::hosts`]).
    pub fn discovered_hosts(&self) -> &[wasmcloud_control_interface::Host] {
        self.runtime.existing().map_or(&[], |e| e.hosts.as_slice())
    }

    /// The binaries of a lattice the harness started; fails with [`HarnessError::NotOwned`] on
    /// an existing lattice.
    fn owned(&self, operation: &str) -> Result<&Binaries, HarnessError> {
        self.binaries
            .as_ref()
            .ok_or_else(|| HarnessError::NotOwned {
                operation: operation.to_string(),
                lattice: self.name.clone(),
            })
    }

    /// Events and exchanges seen so far.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The hosts, in start order (empty on an existing lattice: the harness started none; see
    /// [`Lattice::host_ids`] and [`Lattice::discovered_hosts`]).
    pub fn hosts(&self) -> &[HostHandle] {
        &self.hosts
    }

    /// The host IDs, in start order (on an existing lattice: the hosts found, by ID).
    pub fn host_ids(&self) -> Vec<String> {
        if let Some(e) = self.runtime.existing() {
            return e.hosts.iter().map(|h| h.id().to_string()).collect();
        }
        self.hosts.iter().map(|h| h.id.clone()).collect()
    }

    /// The binaries this lattice runs (`None` on an existing lattice: the harness started nothing).
    pub fn binaries(&self) -> Option<&Binaries> {
        self.binaries.as_ref()
    }

    /// How long [`LatticeBuilder::start`] took.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// Where the services run.
    pub fn backend(&self) -> Backend {
        self.runtime.backend()
    }

    /// The configured heartbeat interval.
    pub fn heartbeat(&self) -> Duration {
        self.heartbeat
    }

    /// The JetStream domain the lattice was started with ([`LatticeBuilder::jetstream_domain`]).
    pub fn jetstream_domain(&self) -> Option<&str> {
        self.js_domain.as_deref()
    }

    /// Process IDs of every service (NATS, wadm, hosts); each leads its own process group.
    pub fn pids(&self) -> Vec<u32> {
        if self.is_existing() {
            return Vec::new();
        }
        let mut pids = vec![self.nats.pid()];
        // A wadm being restarted has no process to name.
        pids.extend(
            self.wadm
                .iter()
                .filter_map(|w| w.try_lock().ok().map(|w| w.service.pid())),
        );
        pids.extend(self.hosts.iter().map(HostHandle::pid));
        pids
    }

    /// The directory holding every process's full log.
    pub fn log_dir(&self) -> Option<PathBuf> {
        self.kept_logs.get().cloned().or_else(|| {
            self.log_dir
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .map(|d| d.path().to_path_buf())
        })
    }

    /// A directory this machine and every host of the lattice see at the same path, writable by
    /// both (for containers it is bind-mounted read-write): where a test puts files a host loads
    /// (`file://` components it made) or a provider writes. Removed with the lattice's scratch
    /// directory.
    pub fn shared_dir(&self) -> &Path {
        &self.shared
    }

    /// Keeps the log directory after the lattice is dropped and returns its path.
    pub fn keep_logs(&self) -> Option<PathBuf> {
        if let Some(kept) = self
            .log_dir
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .map(|d| d.keep())
        {
            crate::reaper::unregister_dir(&self.name);
            let _ = self.kept_logs.set(kept);
        }
        self.kept_logs.get().cloned()
    }

    /// A wRPC client for invoking the exports of `component_id` (NET-08).
    pub async fn wrpc_client(
        &self,
        component_id: &str,
    ) -> Result<wrpc_transport_nats::Client, HarnessError> {
        let auth = match self.runtime.existing() {
            Some(e) => crate::nats::ClientAuth {
                creds: e.creds.as_deref(),
                ca: e.tls_ca.as_deref(),
            },
            None => crate::nats::ClientAuth::of(self.auth.as_ref()),
        };
        crate::wrpc::client_with(&self.nats_url(), auth, &self.name, component_id).await
    }

    /// Waits until every host answers a control request addressed to it (`host.get.<id>`). A
    /// host is only expected to answer after `host_started` (HL-01); this checks it does.
    async fn wait_hosts_answer_ctl(&self, timeout: Duration) -> Result<(), HarnessError> {
        self.wait_answer_ctl(&self.host_ids(), timeout).await
    }

    async fn wait_answer_ctl(&self, ids: &[String], timeout: Duration) -> Result<(), HarnessError> {
        for id in ids {
            Wait::new(format!("host {id} to answer host.get"), timeout)
                .interval(Duration::from_millis(5))
                .until(|_| async {
                    match self.ctl.get_host_inventory(id).await {
                        Ok(reply) if reply.succeeded() => Probe::Ready(()),
                        Ok(reply) => {
                            Probe::NotYet(format!("answered success=false: {}", reply.message()))
                        }
                        Err(e) => Probe::NotYet(e.to_string()),
                    }
                })
                .await?;
        }
        Ok(())
    }

    fn host_handle(&self, host_id: &str) -> Result<&HostHandle, HarnessError> {
        self.hosts.iter().find(|h| h.id == host_id).ok_or_else(|| {
            HarnessError::Config(format!("host {host_id} is not a host this lattice started"))
        })
    }

    // ---- Fault injection. Kill and graceful stop work on both backends; partitions and
    // restarts of NATS and wadm need the containers backend. ----

    /// Kills a host with SIGKILL (it publishes nothing: no `host_stopped`); returns once it is
    /// gone. The host stays in [`Lattice::hosts`].
    pub async fn kill_host(&self, host_id: &str) -> Result<(), HarnessError> {
        self.owned("killing a host")?;
        self.host_handle(host_id)?.service.kill().await
    }

    /// Stops a host as a signal would (SIGTERM: it stops its components and publishes
    /// `host_stopped`), SIGKILL after 10 s; returns once it is gone.
    pub async fn stop_host(&self, host_id: &str) -> Result<(), HarnessError> {
        self.owned("stopping a host")?;
        self.host_handle(host_id)?
            .service
            .terminate(Duration::from_secs(10))
            .await
    }

    /// Cuts a host off the lattice network: it reaches nothing and nothing reaches it; NATS drops
    /// its connection once pings go unanswered (a few seconds). Containers backend only.
    pub async fn partition_host(&self, host_id: &str) -> Result<(), HarnessError> {
        self.owned("partitioning a host")?;
        let host = self.host_handle(host_id)?;
        match (&self.runtime, &host.service) {
            #[cfg(feature = "containers")]
            (Runtime::Containers(c), crate::backend::Service::Container(s)) => {
                s.partition(&c.network).await
            }
            _ => Err(self.unsupported("partitioning a host")),
        }
    }

    /// Reconnects a partitioned host with the address it had; it reconnects to NATS by itself.
    pub async fn heal_host(&self, host_id: &str) -> Result<(), HarnessError> {
        self.owned("healing a partition")?;
        let host = self.host_handle(host_id)?;
        match &host.service {
            #[cfg(feature = "containers")]
            crate::backend::Service::Container(s) => s.heal().await,
            _ => Err(self.unsupported("healing a partition")),
        }
    }

    /// Restarts NATS (SIGTERM, then the same container again: same port, JetStream state kept on
    /// its volume) and waits until the lattice is back: NATS ready, the harness reconnected, every
    /// running, unpartitioned host answering `host.get`, wadm answering. Containers backend only.
    pub async fn restart_nats(&self) -> Result<(), HarnessError> {
        self.owned("restarting NATS")?;
        #[cfg(feature = "containers")]
        if let Nats::Container { service, .. } = &self.nats {
            let timeout = scaled(self.start_timeout);
            let mark = service.logs.mark();
            service.stop(Duration::from_secs(10)).await?;
            service.start_again().await?;
            let logs = service.logs.clone();
            let wait = Wait::new("nats-server to be ready again", timeout)
                .interval(Duration::from_millis(10));
            service
                .until_running(wait, "nats-server to be ready again", |_| {
                    let ready = logs.contains_since(mark, "Server is ready");
                    async move {
                        if ready {
                            Probe::Ready(())
                        } else {
                            Probe::NotYet("no \"Server is ready\" since the restart".into())
                        }
                    }
                })
                .await?;
            self.wait_reconnected(timeout).await?;
            let reachable: Vec<String> = self
                .hosts
                .iter()
                .filter(|h| h.service.reachable())
                .map(|h| h.id.clone())
                .collect();
            self.wait_answer_ctl(&reachable, timeout).await?;
            if self.wadm.is_some() {
                self.wait_wadm_answers(timeout).await?;
            }
            return Ok(());
        }
        Err(self.unsupported("restarting NATS"))
    }

    /// Restarts wadm (SIGTERM, then the same container again, or the same binary with the same
    /// environment as a new process) and waits until its API answers. Its state stays in
    /// JetStream; what runs where it learns again from the lattice (heartbeats).
    pub async fn restart_wadm(&self) -> Result<(), HarnessError> {
        self.owned("restarting wadm")?;
        let Some(wadm) = &self.wadm else {
            return Err(HarnessError::Config("this lattice runs no wadm".into()));
        };
        let mut wadm = wadm.lock().await;
        #[cfg(feature = "containers")]
        if let crate::backend::Service::Container(service) = &wadm.service {
            service.stop(Duration::from_secs(10)).await?;
            service.start_again().await?;
            drop(wadm);
            return self.wait_wadm_answers(scaled(self.start_timeout)).await;
        }
        wadm.restart_process(&self.runtime, &self.wadm_api, scaled(self.start_timeout))
            .await
    }

    #[cfg(feature = "containers")]
    async fn wait_reconnected(&self, timeout: Duration) -> Result<(), HarnessError> {
        let client = self.client.clone();
        Wait::new("the harness's NATS client to reconnect", timeout)
            .interval(Duration::from_millis(20))
            .until(|_| {
                let client = client.clone();
                async move {
                    match (
                        client.connection_state(),
                        tokio::time::timeout(Duration::from_secs(2), client.flush()).await,
                    ) {
                        (async_nats::connection::State::Connected, Ok(Ok(()))) => Probe::Ready(()),
                        (state, flush) => Probe::NotYet(format!("state {state}, flush {flush:?}")),
                    }
                }
            })
            .await?;
        Ok(())
    }

    #[cfg(feature = "containers")]
    async fn wait_wadm_answers(&self, timeout: Duration) -> Result<(), HarnessError> {
        let Some(wadm) = &self.wadm else {
            return Ok(());
        };
        let wadm = wadm.lock().await;
        let crate::backend::Service::Container(service) = &wadm.service else {
            return Ok(());
        };
        let api = &self.wadm_api;
        let wait =
            Wait::new("wadm to answer model.list", timeout).interval(Duration::from_millis(10));
        service
            .until_running(wait, "wadm to answer model.list", |_| async move {
                match api.list().await {
                    Ok(_) => Probe::Ready(()),
                    Err(e) => Probe::NotYet(format!("model.list failed: {e}")),
                }
            })
            .await
    }

    fn unsupported(&self, what: &str) -> HarnessError {
        HarnessError::Config(format!(
            "{what} needs the containers backend (this lattice runs on {}; set {}=containers)",
            self.runtime.backend(),
            crate::backend::BACKEND_ENV
        ))
    }

    /// Everything a failure report needs about this lattice: identity, binaries, recent events
    /// and control exchanges, and the log tails of every process.
    pub fn diagnostics(&self) -> String {
        let mut out = String::new();
        let push = |out: &mut String, title: &str, body: &str| {
            out.push_str(&format!(
                "--- {title} ---\n{}\n",
                if body.is_empty() { "(nothing)" } else { body }
            ));
        };
        push(
            &mut out,
            "lattice",
            &format!(
                "name {}\nbackend {}\nnats {}\nhosts {:?}\nwadm {}\nbinaries: {}\nlogs {}",
                self.name,
                self.runtime.describe(),
                self.nats.url(),
                self.host_ids(),
                self.has_wadm(),
                self.binaries.as_ref().map_or_else(
                    || "(none: not started by the harness)".to_string(),
                    |b| format!(
                        "nats-server={} host={} wadm={}",
                        b.nats_server.display(),
                        b.host.display(),
                        b.wadm.display()
                    )
                ),
                self.log_dir()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "(kept)".into()),
            ),
        );
        push(
            &mut out,
            "last lattice events",
            &self.journal.render_events(30),
        );
        push(
            &mut out,
            "last control/wadm exchanges",
            &self.journal.render_exchanges(20),
        );
        for h in &self.hosts {
            push(
                &mut out,
                &format!("log tail of {} ({})", h.name(), h.id),
                &h.log_tail(25),
            );
        }
        if let Some(w) = self.wadm.as_ref().and_then(|w| w.try_lock().ok()) {
            push(&mut out, "log tail of wadm", &w.service.log_tail(25));
        }
        push(&mut out, "log tail of nats-server", &self.nats.log_tail(10));
        out
    }

    /// Stops hosts (SIGTERM, so they publish `host_stopped`), wadm and NATS, each bounded.
    pub async fn shutdown(mut self) {
        for h in &mut self.hosts {
            h.service.stop(Duration::from_secs(10)).await;
        }
        if let Some(w) = self.wadm.as_mut() {
            w.get_mut().service.stop(Duration::from_secs(5)).await;
        }
        self.nats.stop(Duration::from_secs(5)).await;
    }
}

impl Drop for Lattice {
    fn drop(&mut self) {
        self.wadm_api.stop_watching();
        // Containers go now, all at once (processes die with their handles, right after this).
        self.runtime.teardown();
        // The TempDir (if not kept) removes itself right after this; the record goes first.
        crate::reaper::unregister_dir(&self.name);
    }
}

/// A JetStream domain is one NATS subject token of letters, digits, `-` and `_`.
fn check_domain(domain: &str) -> Result<(), HarnessError> {
    if !domain.is_empty()
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Ok(());
    }
    Err(HarnessError::Config(format!(
        "JetStream domain {domain:?} is not a token of letters, digits, `-` and `_`; fix: pass such a name to `LatticeBuilder::jetstream_domain`"
    )))
}

/// Names hosts added after the start (`host-x<n>`), unique within the process.
static ADDED_HOSTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Lattice {
    /// Starts one more host in this running lattice and waits for its `host_started`. The
    /// caller owns it: dropping the handle kills it (it is not part of [`Lattice::hosts`]).
    pub async fn add_host(&self, spec: HostSpec) -> Result<HostHandle, HarnessError> {
        self.launch_extra_host(spec, &self.name, &self.journal)
            .await
    }

    /// Starts a host of *another* lattice (`lattice`) on this lattice's NATS server, e.g. to
    /// check that lattices are isolated (NET-01); waits for its `host_started` there.
    pub async fn add_host_to(
        &self,
        spec: HostSpec,
        lattice: &str,
    ) -> Result<HostHandle, HarnessError> {
        let journal = Journal::new(std::time::Instant::now());
        journal.follow(&self.client, lattice).await?;
        self.launch_extra_host(spec, lattice, &journal).await
    }

    /// Starts another wadm on this lattice's NATS, with `extra` applied last to its environment
    /// (e.g. `WADM_MULTITENANT`), and waits until its API answers `model.list` under
    /// `api_prefix` (default `wadm.api`), or fails with its log tail if it exits first. Returns
    /// it with a client of that API; dropping the handle stops it. For a lattice started without
    /// wadm (two wadms would share one queue group).
    pub async fn add_wadm(
        &self,
        extra: &[(String, String)],
        api_prefix: Option<&str>,
    ) -> Result<(WadmHandle, Wadm), HarnessError> {
        let binaries = self.owned("starting wadm")?;
        if self.wadm.is_some() {
            return Err(HarnessError::Config(
                "add_wadm is for a lattice started without wadm".into(),
            ));
        }
        let log_dir = self
            .log_dir()
            .ok_or_else(|| HarnessError::Config("the lattice has no log directory".into()))?;
        let (nats_host, nats_port) = self.runtime.nats_address(&self.nats);
        let mut env = self.auth.as_ref().map(wadm_auth_env).unwrap_or_default();
        env.extend(extra.iter().cloned());
        let mut handle = WadmHandle::spawn(
            &self.runtime,
            &binaries.wadm,
            &format!("{nats_host}:{nats_port}"),
            self.js_domain.as_deref(),
            &env,
            &log_dir,
        )
        .await?;
        let api = Wadm::with_prefix(
            self.client.clone(),
            &self.name,
            api_prefix,
            self.journal.clone(),
        );
        handle.wait_api(&api, scaled(self.start_timeout)).await?;
        Ok((handle, api))
    }

    async fn launch_extra_host(
        &self,
        spec: HostSpec,
        lattice: &str,
        journal: &Journal,
    ) -> Result<HostHandle, HarnessError> {
        let binaries = self.owned("starting a host")?;
        let log_dir = self
            .log_dir()
            .ok_or_else(|| HarnessError::Config("the lattice has no log directory".into()))?;
        let (nats_host, nats_port) = self.runtime.nats_address(&self.nats);
        let index = ADDED_HOSTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let launch = HostLaunch {
            runtime: &self.runtime,
            bin: binaries.host_at(1000 + index),
            nats_host: &nats_host,
            nats_port,
            lattice,
            heartbeat: self.heartbeat,
            js_domain: self.js_domain.as_deref(),
            auth: self.auth.as_ref(),
            log_dir: &log_dir,
            index: 1000 + index,
            journal,
            timeout: scaled(self.start_timeout),
        };
        launch.start(spec).await
    }
}

/// wadm's user, as the JWT and seed literals of its own contract, and the CA when NATS requires
/// TLS.
fn wadm_auth_env(auth: &NatsAuth) -> Vec<(String, String)> {
    let creds = auth.creds(Who::Wadm);
    let mut env = vec![
        ("WADM_NATS_JWT".to_string(), creds.jwt.clone()),
        ("WADM_NATS_NKEY".to_string(), creds.seed.clone()),
    ];
    if let Some(tls) = auth.tls() {
        env.push(("WADM_NATS_TLS_CA_FILE".into(), tls.ca.display().to_string()));
    }
    env
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_jetstream_domain_is_one_token() {
        for good in ["wcc", "edge-1", "A_b"] {
            assert!(super::check_domain(good).is_ok(), "{good}");
        }
        for bad in ["", "a.b", "a b", "*", ">", "dömain"] {
            let e = super::check_domain(bad).unwrap_err().to_string();
            assert!(
                e.contains("fix: ") && e.contains("jetstream_domain"),
                "{bad}: {e}"
            );
        }
    }
}
