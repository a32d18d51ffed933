//! A whole lattice under test: NATS with JetStream, N hosts, optionally wadm, each ready by
//! protocol; torn down when dropped.
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::binaries::Binaries;
use crate::ctl::Ctl;
use crate::error::DEFAULT_START_TIMEOUT;
use crate::journal::Journal;
use crate::nats::NatsServer;
use crate::services::{HostHandle, HostLaunch, WadmHandle};
pub use crate::services::HostSpec;
use crate::wadm::Wadm;
use crate::wait::{scaled, Probe, Wait};
use crate::HarnessError;

/// Configures and starts a [`Lattice`].
#[derive(Clone, Debug)]
pub struct LatticeBuilder {
    hosts: Vec<HostSpec>,
    wadm: bool,
    heartbeat: Duration,
    binaries: Option<Binaries>,
    timeout: Duration,
    await_wadm_awareness: bool,
}

impl Default for LatticeBuilder {
    fn default() -> Self {
        Self {
            hosts: vec![HostSpec::default()],
            wadm: false,
            heartbeat: Duration::from_secs(2),
            binaries: None,
            timeout: DEFAULT_START_TIMEOUT,
            await_wadm_awareness: true,
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

    /// Runs wadm too.
    pub fn wadm(mut self, on: bool) -> Self {
        self.wadm = on;
        self
    }

    /// The hosts' heartbeat interval (default 2 s, upstream default 30 s; whole seconds).
    pub fn heartbeat(mut self, interval: Duration) -> Self {
        self.heartbeat = interval;
        self
    }

    /// Whether `start` also waits until wadm knows every host (default true). Without it a
    /// manifest deployed at once may first report that no host is eligible, then converge.
    pub fn await_wadm_awareness(mut self, on: bool) -> Self {
        self.await_wadm_awareness = on;
        self
    }

    /// Uses these binaries instead of the ones from the environment.
    pub fn binaries(mut self, binaries: Binaries) -> Self {
        self.binaries = Some(binaries);
        self
    }

    /// How long each service may take to become ready (scaled by `WCC_TIMEOUT_SCALE`).
    pub fn start_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Starts NATS, then wadm (so it sees every `host_started`), then the hosts; waits until each
    /// is ready by protocol and wadm knows every host.
    pub async fn start(self) -> Result<Lattice, HarnessError> {
        crate::reaper::sweep_once();
        let started = Instant::now();
        let binaries = match self.binaries {
            Some(b) => b,
            None => Binaries::from_env()?,
        };
        let name = format!("wcc-{}", ulid::Ulid::new().to_string().to_lowercase());
        let log_dir = tempfile::Builder::new()
            .prefix(&format!("{name}-"))
            .tempdir()
            .map_err(HarnessError::io("create the lattice's log directory"))?;
        crate::reaper::register_dir(&name, log_dir.path());
        let timeout = scaled(self.timeout);
        let (nats, client) = NatsServer::start(&binaries.nats_server, log_dir.path(), timeout).await?;
        let journal = Journal::new(started);
        journal.follow(&client, &name).await?;
        let ctl = Ctl::new(client.clone(), &name, journal.clone());
        let wadm_api = Wadm::new(client.clone(), &name, journal.clone());

        // wadm first, answering, so its event streams exist before any host publishes
        // host_started (otherwise it would only learn of the host from the next heartbeat).
        let mut wadm = match self.wadm {
            true => {
                let mut w = WadmHandle::spawn(&binaries.wadm, nats.port, log_dir.path())?;
                w.wait_api(&wadm_api, timeout).await?;
                Some(w)
            }
            false => None,
        };
        let mut hosts = Vec::with_capacity(self.hosts.len());
        for (index, spec) in self.hosts.into_iter().enumerate() {
            let launch = HostLaunch {
                bin: &binaries.host,
                nats_port: nats.port,
                lattice: &name,
                heartbeat: self.heartbeat,
                log_dir: log_dir.path(),
                index,
                journal: &journal,
                timeout,
            };
            hosts.push(launch.start(spec).await?);
        }
        let mut lattice = Lattice {
            hosts,
            wadm: None,
            nats,
            name,
            client,
            journal,
            ctl,
            wadm_api,
            log_dir: std::sync::Mutex::new(Some(log_dir)),
            kept_logs: std::sync::OnceLock::new(),
            binaries,
            startup: Duration::ZERO,
            heartbeat: self.heartbeat,
        };
        lattice.wait_hosts_answer_ctl(timeout).await?;
        if let Some(w) = wadm.as_mut().filter(|_| self.await_wadm_awareness) {
            w.wait_aware_of(&lattice.client, &lattice.name, &lattice.host_ids(), timeout).await?;
        }
        lattice.wadm = wadm;
        lattice.startup = started.elapsed();
        Ok(lattice)
    }
}

/// A running lattice. Dropping it kills every process it started.
pub struct Lattice {
    // Field order is drop order: hosts and wadm go before NATS.
    hosts: Vec<HostHandle>,
    wadm: Option<WadmHandle>,
    nats: NatsServer,
    name: String,
    client: async_nats::Client,
    journal: Journal,
    ctl: Ctl,
    wadm_api: Wadm,
    log_dir: std::sync::Mutex<Option<tempfile::TempDir>>,
    kept_logs: std::sync::OnceLock<PathBuf>,
    binaries: Binaries,
    startup: Duration,
    heartbeat: Duration,
}

impl Lattice {
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

    /// A NATS client connected to the lattice's server.
    pub fn nats(&self) -> &async_nats::Client {
        &self.client
    }

    /// The recorded control-interface client.
    pub fn ctl(&self) -> &Ctl {
        &self.ctl
    }

    /// The recorded wadm client (requests fail if the lattice runs no wadm).
    pub fn wadm(&self) -> &Wadm {
        &self.wadm_api
    }

    /// Whether wadm runs.
    pub fn has_wadm(&self) -> bool {
        self.wadm.is_some()
    }

    /// Events and exchanges seen so far.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The hosts, in start order.
    pub fn hosts(&self) -> &[HostHandle] {
        &self.hosts
    }

    /// The host IDs, in start order.
    pub fn host_ids(&self) -> Vec<String> {
        self.hosts.iter().map(|h| h.id.clone()).collect()
    }

    /// The binaries this lattice runs.
    pub fn binaries(&self) -> &Binaries {
        &self.binaries
    }

    /// How long [`LatticeBuilder::start`] took.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// The configured heartbeat interval.
    pub fn heartbeat(&self) -> Duration {
        self.heartbeat
    }

    /// Process IDs of every service (NATS, wadm, hosts); each leads its own process group.
    pub fn pids(&self) -> Vec<u32> {
        let mut pids = vec![self.nats.process.pid()];
        pids.extend(self.wadm.iter().map(|w| w.process.pid()));
        pids.extend(self.hosts.iter().map(HostHandle::pid));
        pids
    }

    /// The directory holding every process's full log.
    pub fn log_dir(&self) -> Option<PathBuf> {
        self.kept_logs.get().cloned().or_else(|| {
            self.log_dir.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map(|d| d.path().to_path_buf())
        })
    }

    /// Keeps the log directory after the lattice is dropped and returns its path.
    pub fn keep_logs(&self) -> Option<PathBuf> {
        if let Some(kept) = self.log_dir.lock().unwrap_or_else(|e| e.into_inner()).take().map(|d| d.keep()) {
            crate::reaper::unregister_dir(&self.name);
            let _ = self.kept_logs.set(kept);
        }
        self.kept_logs.get().cloned()
    }

    /// A wRPC client for invoking the exports of `component_id` (NET-08).
    pub async fn wrpc_client(&self, component_id: &str) -> Result<wrpc_transport_nats::Client, HarnessError> {
        crate::wrpc::client(&self.client, &self.name, component_id).await
    }

    /// Waits until every host answers a control request addressed to it (`host.get.<id>`). A
    /// host is only expected to answer after `host_started` (HL-01); this checks it does.
    async fn wait_hosts_answer_ctl(&self, timeout: Duration) -> Result<(), HarnessError> {
        for id in self.host_ids() {
            Wait::new(format!("host {id} to answer host.get"), timeout)
                .interval(Duration::from_millis(5))
                .until(|_| async {
                    match self.ctl.get_host_inventory(&id).await {
                        Ok(reply) if reply.succeeded() => Probe::Ready(()),
                        Ok(reply) => Probe::NotYet(format!("answered success=false: {}", reply.message())),
                        Err(e) => Probe::NotYet(e.to_string()),
                    }
                })
                .await?;
        }
        Ok(())
    }

    /// Everything a failure report needs about this lattice: identity, binaries, recent events
    /// and control exchanges, and the log tails of every process.
    pub fn diagnostics(&self) -> String {
        let mut out = String::new();
        let push = |out: &mut String, title: &str, body: &str| {
            out.push_str(&format!("--- {title} ---\n{}\n", if body.is_empty() { "(nothing)" } else { body }));
        };
        push(&mut out, "lattice", &format!(
            "name {}\nnats {}\nhosts {:?}\nwadm {}\nbinaries: nats-server={} host={} wadm={}\nlogs {}",
            self.name,
            self.nats.url(),
            self.host_ids(),
            self.wadm.is_some(),
            self.binaries.nats_server.display(),
            self.binaries.host.display(),
            self.binaries.wadm.display(),
            self.log_dir().map(|p| p.display().to_string()).unwrap_or_else(|| "(kept)".into()),
        ));
        push(&mut out, "last lattice events", &self.journal.render_events(30));
        push(&mut out, "last control/wadm exchanges", &self.journal.render_exchanges(20));
        for h in &self.hosts {
            push(&mut out, &format!("log tail of {} ({})", h.process.name, h.id), &h.log_tail(25));
        }
        if let Some(w) = &self.wadm {
            push(&mut out, "log tail of wadm", &w.process.logs.tail(25));
        }
        push(&mut out, "log tail of nats-server", &self.nats.process.logs.tail(10));
        out
    }

    /// Stops hosts (SIGTERM, so they publish `host_stopped`), wadm and NATS, each bounded.
    pub async fn shutdown(mut self) {
        for h in &mut self.hosts {
            h.process.stop(Duration::from_secs(10)).await;
        }
        if let Some(w) = self.wadm.as_mut() {
            w.process.stop(Duration::from_secs(5)).await;
        }
        self.nats.process.stop(Duration::from_secs(5)).await;
    }
}

impl Drop for Lattice {
    fn drop(&mut self) {
        // The TempDir (if not kept) removes itself right after this; the record goes first.
        crate::reaper::unregister_dir(&self.name);
    }
}
