//! How a wasmCloud host and wadm are started and when they count as ready (by protocol, never by
//! a fixed sleep).
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use nkeys::KeyPair;

use crate::backend::{Kind, Runtime, Service};
use crate::error::HarnessError;
use crate::journal::Journal;
use crate::wadm::Awareness;
use crate::wait::{Probe, Wait, WaitError};

/// How one host of a lattice is configured (through the upstream env contract, CFG-01..09).
#[derive(Clone, Debug, Default)]
pub struct HostSpec {
    /// Labels, passed as `WASMCLOUD_LABEL_<key>=<value>`.
    pub labels: BTreeMap<String, String>,
    /// Experimental features (`WASMCLOUD_EXPERIMENTAL_FEATURES`), e.g. `builtin-http-server`.
    pub features: Vec<String>,
    /// Further environment variables, applied last (they win).
    pub env: Vec<(String, String)>,
    /// Whether `file://` references are allowed (`WASMCLOUD_ALLOW_FILE_LOAD`); the fixtures need it.
    pub deny_file_load: bool,
}

/// A running host of the lattice.
pub struct HostHandle {
    /// The host ID (public server nkey, `N...`), fixed by the seed the harness generated.
    pub id: String,
    /// The spec it was started with.
    pub spec: HostSpec,
    pub(crate) service: Service,
}

impl HostHandle {
    /// The host's process ID (for a container: its main process as seen from this machine, 0
    /// once stopped).
    pub fn pid(&self) -> u32 {
        self.service.pid()
    }

    /// The last `n` lines the host printed.
    pub fn log_tail(&self, n: usize) -> String {
        self.service.log_tail(n)
    }

    /// Where this machine reaches a listener the host opened on `port` (bound at
    /// [`crate::backend::Backend::bind_address`]): `127.0.0.1:<port>` for processes, the container's
    /// address on the lattice network for containers.
    pub fn address(&self, port: u16) -> String {
        format!("{}:{port}", self.service.ip())
    }

    /// The service name in logs and diagnostics (`host-<index>`).
    pub fn name(&self) -> &str {
        self.service.name()
    }
}

pub(crate) struct HostLaunch<'a> {
    pub(crate) runtime: &'a Runtime,
    pub(crate) bin: &'a Path,
    /// Where the host reaches NATS (`127.0.0.1` for processes, the NATS container's name on the
    /// lattice network for containers).
    pub(crate) nats_host: &'a str,
    pub(crate) nats_port: u16,
    pub(crate) lattice: &'a str,
    pub(crate) heartbeat: Duration,
    /// `WASMCLOUD_JS_DOMAIN`, when the lattice has a JetStream domain.
    pub(crate) js_domain: Option<&'a str>,
    /// The users (and CA) of a NATS with accounts.
    pub(crate) auth: Option<&'a crate::nats_auth::NatsAuth>,
    pub(crate) log_dir: &'a Path,
    pub(crate) index: usize,
    pub(crate) journal: &'a Journal,
    pub(crate) timeout: Duration,
}

impl HostLaunch<'_> {
    fn env(&self, spec: &HostSpec, seed: &str) -> Vec<(String, String)> {
        let mut env = vec![
            ("WASMCLOUD_LATTICE".to_string(), self.lattice.to_string()),
            ("WASMCLOUD_NATS_HOST".into(), self.nats_host.to_string()),
            ("WASMCLOUD_NATS_PORT".into(), self.nats_port.to_string()),
            ("WASMCLOUD_HOST_SEED".into(), seed.to_string()),
            (
                "WASMCLOUD_ALLOW_FILE_LOAD".into(),
                (!spec.deny_file_load).to_string(),
            ),
            (
                "WASMCLOUD_HEARTBEAT_INTERVAL".into(),
                self.heartbeat.as_secs().max(1).to_string(),
            ),
        ];
        if let Some(domain) = self.js_domain {
            env.push(("WASMCLOUD_JS_DOMAIN".into(), domain.to_string()));
        }
        if let Some(auth) = self.auth {
            // Each connection its own user, one as JWT and seed, the other as a creds file
            // (catalogue SEC-04: both ways, each separately).
            let ctl = auth.creds(crate::nats_auth::Who::Ctl);
            env.push(("WASMCLOUD_CTL_JWT".into(), ctl.jwt.clone()));
            env.push(("WASMCLOUD_CTL_SEED".into(), ctl.seed.clone()));
            let rpc = auth.creds_file(crate::nats_auth::Who::Rpc);
            env.push(("WASMCLOUD_RPC_CREDS".into(), rpc.display().to_string()));
            if let Some(tls) = auth.tls() {
                env.push(("WASMCLOUD_CTL_TLS".into(), "true".into()));
                env.push(("WASMCLOUD_RPC_TLS".into(), "true".into()));
                // The host's NATS connections trust the system's roots only (its
                // WASMCLOUD_TLS_CA_PATH is for registries and OTLP): the run's CA goes there.
                env.push(("SSL_CERT_FILE".into(), tls.ca.display().to_string()));
            }
        }
        if !spec.features.is_empty() {
            env.push((
                "WASMCLOUD_EXPERIMENTAL_FEATURES".into(),
                spec.features.join(","),
            ));
        }
        env.extend(
            spec.labels
                .iter()
                .map(|(k, v)| (format!("WASMCLOUD_LABEL_{k}"), v.clone())),
        );
        env.extend(spec.env.iter().cloned());
        env
    }

    /// Starts a host and waits for its `host_started` event (HL-03): the host answers the
    /// control interface from then on.
    pub(crate) async fn start(&self, spec: HostSpec) -> Result<HostHandle, HarnessError> {
        let key = KeyPair::new_server();
        let id = key.public_key();
        let seed = key
            .seed()
            .map_err(|e| HarnessError::Config(format!("cannot encode host seed: {e}")))?;
        let name = format!("host-{}", self.index);
        let mark = self.journal.mark();
        let mut service = self
            .runtime
            .spawn(
                &name,
                Kind::Host,
                self.bin,
                &self.env(&spec, &seed),
                self.log_dir,
            )
            .await?;
        let journal = self.journal.clone();
        let wanted = id.clone();
        let what = format!("{name} ({id}) to publish host_started");
        let wait = Wait::new(what.clone(), self.timeout).interval(Duration::from_millis(5));
        service
            .until_running(wait, &what, |_| {
                let started = journal
                    .since(mark)
                    .into_iter()
                    .any(|e| e.kind == "host_started" && e.source() == wanted);
                async move {
                    if started {
                        Probe::Ready(())
                    } else {
                        Probe::NotYet("no host_started event from this host yet".into())
                    }
                }
            })
            .await?;
        Ok(HostHandle { id, spec, service })
    }
}

/// A running wadm.
pub struct WadmHandle {
    pub(crate) service: Service,
    /// How it was started, to start it again ([`WadmHandle::restart`]).
    bin: std::path::PathBuf,
    env: Vec<(String, String)>,
    log_dir: std::path::PathBuf,
    starts: u32,
}

impl WadmHandle {
    /// Starts wadm against the lattice's NATS at `nats` (`host:port`, see
    /// [`WadmHandle::wait_api`] for readiness), with `extra` applied last to its environment.
    pub(crate) async fn spawn(
        runtime: &Runtime,
        bin: &Path,
        nats: &str,
        js_domain: Option<&str>,
        extra: &[(String, String)],
        log_dir: &Path,
    ) -> Result<Self, HarnessError> {
        let mut env = vec![
            ("WADM_NATS_SERVER".to_string(), nats.to_string()),
            // Reconcile quickly after a host disappears (default 70 s).
            ("WADM_CLEANUP_INTERVAL".into(), "10".into()),
        ];
        if let Some(domain) = js_domain {
            env.push(("WADM_JETSTREAM_DOMAIN".into(), domain.to_string()));
        }
        env.extend(extra.iter().cloned());
        Ok(Self {
            service: runtime
                .spawn("wadm", Kind::Wadm, bin, &env, log_dir)
                .await?,
            bin: bin.to_path_buf(),
            env,
            log_dir: log_dir.to_path_buf(),
            starts: 1,
        })
    }

    /// Stops this wadm process (SIGTERM, bounded) and starts it again with the same binary and
    /// environment (its log goes to `wadm-<n>.log`), then waits until its API answers. Its state
    /// stays in JetStream; what it knows of the hosts it learns again from the lattice.
    pub(crate) async fn restart_process(
        &mut self,
        runtime: &Runtime,
        api: &crate::wadm::Wadm,
        timeout: Duration,
    ) -> Result<(), HarnessError> {
        self.service.stop(Duration::from_secs(10)).await;
        self.starts += 1;
        let name = format!("wadm-{}", self.starts);
        self.service = runtime
            .spawn(&name, Kind::Wadm, &self.bin, &self.env, &self.log_dir)
            .await?;
        self.wait_api(api, timeout).await
    }

    /// Waits until wadm's API answers (ORC-04).
    pub(crate) async fn wait_api(
        &mut self,
        api: &crate::wadm::Wadm,
        timeout: Duration,
    ) -> Result<(), HarnessError> {
        let wait =
            Wait::new("wadm to answer model.list", timeout).interval(Duration::from_millis(5));
        self.service
            .until_running(wait, "wadm to answer model.list", |_| async move {
                match api.list().await {
                    Ok(_) => Probe::Ready(()),
                    Err(e) => Probe::NotYet(format!("model.list failed: {e}")),
                }
            })
            .await
    }

    /// Starts watching, in the background, for wadm to know every host in `host_ids`: its event
    /// streams connected ([`event_sources_active`]) and its lattice state (KV `wadm_state`, key
    /// `host_<lattice>`, ORC-02) listing each host, so manifests deployed next are scheduled on
    /// them. Bounded by `timeout`; the wadm client's first call awaits the outcome (see
    /// [`crate::wadm::Wadm::ready`]), whose timeout error ends with wadm's log tail. Ends at once,
    /// with that tail, if wadm's process exits.
    pub(crate) fn watch_awareness(
        &self,
        nats: &async_nats::Client,
        lattice: &str,
        host_ids: Vec<String>,
        timeout: Duration,
    ) -> Awareness {
        let js = async_nats::jetstream::new(nats.clone());
        let what = format!(
            "wadm to know the {} host(s) of lattice {lattice}",
            host_ids.len()
        );
        let key = format!("host_{lattice}");
        let tail = self.service.tail_reader();
        let pid = self.service.local_pid();
        let gone = move || pid.is_some_and(|pid| crate::procfs::gone(pid as i32));
        let watch = {
            let what = what.clone();
            async move {
                let result = async {
                    event_sources_active(&js, timeout, gone).await?;
                    hosts_known(&js, &what, &key, &host_ids, timeout, gone).await
                }
                .await;
                result.map_err(|mut e| {
                    if gone() {
                        e.last_seen = format!("wadm's process exited; {}", e.last_seen);
                    }
                    e.last_seen = format!(
                        "{}\n--- last log lines of wadm ---\n{}",
                        e.last_seen,
                        tail(30)
                    );
                    e
                })
            }
        };
        Awareness::spawn(what, watch)
    }
}

/// Waits until every source of wadm's event-consumer stream (`wadm_event_consumer`, fed by the
/// `wasmbus_events` and `wadm_events` streams) is active. A deploy made before that can be lost:
/// seen once in 25 runs with a deploy 120 ms after wadm answered — the deploy was stored and its
/// `manifest_published` event went into `wadm_events`, but never reached the consumer stream (one
/// message short of its two sources), so no scaler was made and the app stayed Undeployed. A wadm
/// without that stream (another layout) is not waited for. Stops early when `gone()` says wadm
/// exited.
async fn event_sources_active(
    js: &async_nats::jetstream::Context,
    timeout: Duration,
    mut gone: impl FnMut() -> bool,
) -> Result<(), WaitError> {
    const STREAM: &str = "wadm_event_consumer";
    let what = format!("the sources of wadm's stream {STREAM} to be active");
    Wait::new(what, timeout)
        .interval(Duration::from_millis(10))
        .until_or_abort(
            |_| {
                let js = js.clone();
                async move {
                    let mut stream = match js.get_stream(STREAM).await {
                        Ok(stream) => stream,
                        Err(e)
                            if matches!(
                                e.kind(),
                                async_nats::jetstream::context::GetStreamErrorKind::JetStream(j)
                                    if j.error_code()
                                        == async_nats::jetstream::ErrorCode::STREAM_NOT_FOUND
                            ) =>
                        {
                            return Probe::Ready(())
                        }
                        Err(e) => return Probe::NotYet(format!("stream {STREAM}: {e}")),
                    };
                    match stream.info().await {
                        Ok(info) => {
                            let idle: Vec<&str> = info
                                .sources
                                .iter()
                                .filter(|s| s.active.is_none())
                                .map(|s| s.name.as_str())
                                .collect();
                            if info.sources.is_empty() {
                                Probe::NotYet(format!("stream {STREAM} reports no sources yet"))
                            } else if idle.is_empty() {
                                Probe::Ready(())
                            } else {
                                Probe::NotYet(format!("sources not active yet: {idle:?}"))
                            }
                        }
                        Err(e) => Probe::NotYet(format!("stream {STREAM} info: {e}")),
                    }
                }
            },
            || gone().then_some(()),
        )
        .await
}

/// Waits until wadm's lattice state (KV `wadm_state`, key `key`) names every host in `host_ids`.
async fn hosts_known(
    js: &async_nats::jetstream::Context,
    what: &str,
    key: &str,
    host_ids: &[String],
    timeout: Duration,
    mut gone: impl FnMut() -> bool,
) -> Result<(), WaitError> {
    Wait::new(what, timeout)
        .interval(Duration::from_millis(10))
        .until_or_abort(
            |_| {
                let js = js.clone();
                async move {
                    let store = match js.get_key_value("wadm_state").await {
                        Ok(store) => store,
                        Err(e) => return Probe::NotYet(format!("KV wadm_state not readable: {e}")),
                    };
                    match store.get(key).await {
                        Ok(Some(bytes)) => {
                            let text = String::from_utf8_lossy(&bytes);
                            let missing: Vec<_> = host_ids
                                .iter()
                                .filter(|id| !text.contains(id.as_str()))
                                .collect();
                            if missing.is_empty() {
                                Probe::Ready(())
                            } else {
                                Probe::NotYet(format!("hosts unknown to wadm: {missing:?}"))
                            }
                        }
                        Ok(None) => Probe::NotYet(format!("no key {key} yet")),
                        Err(e) => Probe::NotYet(format!("reading {key}: {e}")),
                    }
                }
            },
            || gone().then_some(()),
        )
        .await
}

impl HostHandle {
    /// Sends SIGTERM (or stops the container) and waits up to `grace` for the host to exit on its
    /// own, then kills it.
    pub async fn terminate(&self, grace: Duration) -> Result<(), HarnessError> {
        self.service.terminate(grace).await
    }
}
