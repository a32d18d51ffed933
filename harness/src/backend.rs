//! Where a lattice's services run: child processes of the test (`processes`) or Docker containers
//! (`containers`), chosen with `WCC_BACKEND`. Both give the same [`crate::lattice::Lattice`] API and the
//! same readiness contract; the types here hide which one a service uses.
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use crate::binaries::Binaries;
use crate::error::HarnessError;
use crate::nats::NatsServer;
use crate::process::ManagedProcess;
use crate::wait::{Probe, Wait};

pub use crate::settings::BACKEND_ENV;

/// Where a lattice's services run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Child processes of the test, in their own process groups, on loopback ports.
    Processes,
    /// Docker containers on a network of their own, from locally built images.
    Containers,
}

impl Backend {
    /// `WCC_BACKEND` when set, otherwise [`Backend::detect`].
    pub fn from_env() -> Result<Self, HarnessError> {
        match configured()? {
            Some(b) => Ok(b),
            None => Ok(Self::detect()),
        }
    }

    /// `WCC_BACKEND` when set, otherwise `default`. [`crate::lattice::LatticeBuilder`] uses this with
    /// `Processes`: the conformance suite runs on processes unless asked otherwise.
    pub fn from_env_or(default: Backend) -> Result<Self, HarnessError> {
        Ok(configured()?.unwrap_or(default))
    }

    /// Containers when a Docker engine answers (and the harness has the `containers` feature),
    /// otherwise processes.
    pub fn detect() -> Self {
        if crate::containers::unavailable().is_none() {
            Self::Containers
        } else {
            Self::Processes
        }
    }

    /// The address a listener inside a service must bind so that this machine reaches it on
    /// `port`: loopback for processes, every interface of the container's own network namespace
    /// for containers (reached at the container's address, see
    /// [`crate::lattice::HostHandle::address`]).
    pub fn bind_address(self, port: u16) -> String {
        match self {
            Self::Processes => format!("127.0.0.1:{port}"),
            Self::Containers => format!("0.0.0.0:{port}"),
        }
    }

    /// The name used by `WCC_BACKEND` and in reports.
    pub fn id(self) -> &'static str {
        match self {
            Self::Processes => "processes",
            Self::Containers => "containers",
        }
    }

    /// Fails with the reason when this backend cannot run here.
    pub fn ensure_usable(self) -> Result<(), HarnessError> {
        match self {
            Self::Processes => Ok(()),
            Self::Containers => match crate::containers::unavailable() {
                None => Ok(()),
                Some(why) => Err(containers_unusable(&why)),
            },
        }
    }
}

/// Why the containers backend cannot run, and the two ways out.
fn containers_unusable(why: &str) -> HarnessError {
    let fix = if why.contains("`containers` feature") {
        "enable the harness's `containers` cargo feature"
    } else {
        "start a Docker engine (`bash ci/setup-docker` installs and starts one)"
    };
    HarnessError::Config(format!(
        "the containers backend cannot run: {why}\n  fix: {fix}, or unset {BACKEND_ENV} (or set it to `processes`) to run the lattice as local processes"
    ))
}

fn configured() -> Result<Option<Backend>, HarnessError> {
    crate::settings::backend().map(|v| v.parse()).transpose()
}

impl FromStr for Backend {
    type Err = HarnessError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "processes" | "process" => Ok(Self::Processes),
            "containers" | "container" | "docker" => Ok(Self::Containers),
            other => Err(HarnessError::Config(format!(
                "{BACKEND_ENV}={other}: expected `processes` or `containers`"
            ))),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// What the harness knows of an existing lattice it connected to.
pub(crate) struct Existing {
    /// The hosts that answered the ping, sorted by ID.
    pub(crate) hosts: Vec<wasmcloud_control_interface::Host>,
    /// Whether wadm's API answered.
    pub(crate) wadm: bool,
    /// The credentials file used to connect.
    pub(crate) creds: Option<std::path::PathBuf>,
    /// The CA trusted for the server's TLS certificate, when given.
    pub(crate) tls_ca: Option<std::path::PathBuf>,
}

/// The lattice-wide part of a backend (for containers: network, volume, images, teardown).
pub(crate) enum Runtime {
    Processes,
    /// A lattice someone else runs: the harness only connects ([`crate::existing::ExistingLattice`]).
    External(Existing),
    #[cfg(feature = "containers")]
    Containers(Box<crate::containers::lattice::ContainerLattice>),
}

impl Runtime {
    pub(crate) async fn create(
        backend: Backend,
        lattice: &str,
        binaries: &Binaries,
        images: &[(&'static str, String)],
        log_dir: &Path,
        timeout: Duration,
    ) -> Result<Self, HarnessError> {
        backend.ensure_usable()?;
        match backend {
            Backend::Processes => Ok(Self::Processes),
            #[cfg(feature = "containers")]
            Backend::Containers => Ok(Self::Containers(Box::new(
                crate::containers::lattice::ContainerLattice::create(
                    lattice, binaries, images, log_dir, timeout,
                )
                .await?,
            ))),
            #[cfg(not(feature = "containers"))]
            Backend::Containers => {
                let _ = (lattice, binaries, images, log_dir, timeout);
                unreachable!("ensure_usable rejects containers without the feature")
            }
        }
    }

    /// What is known of the lattice when the harness only connected to it.
    pub(crate) fn existing(&self) -> Option<&Existing> {
        match self {
            Self::External(e) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            // Nothing runs in a backend of the harness's; listeners of its own bind loopback.
            Self::Processes | Self::External(_) => Backend::Processes,
            #[cfg(feature = "containers")]
            Self::Containers(_) => Backend::Containers,
        }
    }

    /// Starts NATS and returns it with the client that proved it ready.
    pub(crate) async fn start_nats(
        &self,
        binaries: &Binaries,
        log_dir: &Path,
        timeout: Duration,
        js_domain: Option<&str>,
        auth: Option<&crate::nats_auth::NatsAuth>,
    ) -> Result<(Nats, async_nats::Client), HarnessError> {
        match self {
            Self::External(_) => Err(HarnessError::Config(
                "an existing lattice's NATS is not started by the harness".into(),
            )),
            Self::Processes => {
                let (server, client) =
                    NatsServer::start(&binaries.nats_server, log_dir, timeout, js_domain, auth)
                        .await?;
                Ok((Nats::Process(server), client))
            }
            #[cfg(feature = "containers")]
            Self::Containers(c) => {
                let (service, port) = c.start_nats(js_domain, auth).await?;
                let nats = Nats::Container { service, port };
                let client = crate::nats::connect_with(
                    &nats.url(),
                    "wcc-harness",
                    crate::nats::ClientAuth::of(auth),
                )
                .await?;
                crate::nats::wait_flush(&client, &nats.url(), timeout).await?;
                Ok((nats, client))
            }
        }
    }

    /// The names a NATS server certificate must hold: what the harness and the hosts dial.
    pub(crate) fn nats_names(&self) -> Vec<String> {
        let names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        #[cfg(feature = "containers")]
        let names = match self {
            Self::Containers(c) => [names, vec![c.nats_address().0]].concat(),
            _ => names,
        };
        names
    }

    /// Where hosts and wadm reach NATS: (host, port).
    pub(crate) fn nats_address(&self, nats: &Nats) -> (String, u16) {
        match self {
            Self::Processes => ("127.0.0.1".into(), nats.port()),
            Self::External(_) => (String::new(), nats.port()),
            #[cfg(feature = "containers")]
            Self::Containers(c) => c.nats_address(),
        }
    }

    /// Starts a host or wadm (`kind`) named `name` with exactly `env`.
    pub(crate) async fn spawn(
        &self,
        name: &str,
        kind: Kind,
        bin: &Path,
        env: &[(String, String)],
        log_dir: &Path,
    ) -> Result<Service, HarnessError> {
        match self {
            Self::External(_) => Err(HarnessError::Config(format!(
                "{name} cannot be started on an existing lattice the harness only connects to"
            ))),
            Self::Processes => {
                // One binary per kind already.
                let _ = kind;

                // A temporary directory of its own inside the lattice's folder, removed with it: a
                // host copies every provider it starts into `$TMPDIR/wasmcloudcache/<host id>/`
                // and never removes the copy (1.4 GB in /tmp after a day of runs).
                let tmp = log_dir.join(format!("tmp-{name}"));
                std::fs::create_dir_all(&tmp).map_err(HarnessError::io(format!(
                    "create {name}'s temporary directory {}",
                    tmp.display()
                )))?;
                let mut env = env.to_vec();
                env.push(("TMPDIR".into(), tmp.display().to_string()));
                Ok(Service::Process(ManagedProcess::spawn(
                    name,
                    bin,
                    &[],
                    &env,
                    log_dir,
                )?))
            }
            #[cfg(feature = "containers")]
            Self::Containers(c) => Ok(Service::Container(match kind {
                Kind::Host => c.start_host(name, env).await?,
                Kind::Wadm => c.start_wadm(env).await?,
            })),
        }
    }

    /// One line for diagnostics.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Processes => "processes".into(),
            Self::External(_) => "existing lattice (the harness started nothing)".into(),
            #[cfg(feature = "containers")]
            Self::Containers(c) => format!(
                "containers (network {}, images {})",
                c.network,
                c.image_names().join(" ")
            ),
        }
    }

    /// Removes every container and network now (containers); nothing for processes.
    pub(crate) fn teardown(&self) {
        #[cfg(feature = "containers")]
        if let Self::Containers(c) = self {
            c.teardown();
        }
    }
}

/// What a service is, for the containers backend's choice of image.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    Host,
    Wadm,
}

/// The NATS server of a lattice.
// One per lattice: the size of the largest variant costs nothing worth an indirection.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Nats {
    Process(NatsServer),
    /// The NATS server of an existing lattice: only its URL is known.
    External {
        url: String,
    },
    #[cfg(feature = "containers")]
    Container {
        service: crate::containers::service::ContainerService,
        port: u16,
    },
}

impl Nats {
    /// The port the harness reaches it at on loopback.
    pub(crate) fn port(&self) -> u16 {
        match self {
            Self::Process(n) => n.port,
            Self::External { url } => url
                .rsplit(':')
                .next()
                .and_then(|p| p.trim_end_matches('/').parse().ok())
                .unwrap_or(4222),
            #[cfg(feature = "containers")]
            Self::Container { port, .. } => *port,
        }
    }

    pub(crate) fn url(&self) -> String {
        match self {
            Self::Process(n) => n.url(),
            Self::External { url } => url.clone(),
            #[cfg(feature = "containers")]
            Self::Container { port, .. } => format!("nats://127.0.0.1:{port}"),
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        match self {
            Self::Process(n) => n.process.pid(),
            Self::External { .. } => 0,
            #[cfg(feature = "containers")]
            Self::Container { service, .. } => service.pid(),
        }
    }

    pub(crate) fn log_tail(&self, n: usize) -> String {
        match self {
            Self::Process(s) => s.process.logs.tail(n),
            Self::External { .. } => "(not started by the harness: no log)".into(),
            #[cfg(feature = "containers")]
            Self::Container { service, .. } => service.logs.tail(n),
        }
    }

    pub(crate) async fn stop(&mut self, grace: Duration) {
        match self {
            Self::Process(n) => {
                n.process.stop(grace).await;
            }
            Self::External { .. } => {}
            #[cfg(feature = "containers")]
            Self::Container { service, .. } => {
                let _ = service.stop(grace).await;
            }
        }
    }
}

/// A host or wadm.
// A few per lattice: the size of the largest variant costs nothing worth an indirection.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Service {
    Process(ManagedProcess),
    #[cfg(feature = "containers")]
    Container(crate::containers::service::ContainerService),
}

impl Service {
    pub(crate) fn name(&self) -> &str {
        match self {
            Self::Process(p) => &p.name,
            #[cfg(feature = "containers")]
            Self::Container(c) => &c.name,
        }
    }

    /// The process ID as seen from this machine (for a container: its main process; 0 once it
    /// stopped).
    pub(crate) fn pid(&self) -> u32 {
        match self {
            Self::Process(p) => p.pid(),
            #[cfg(feature = "containers")]
            Self::Container(c) => c.pid(),
        }
    }

    /// The address this machine reaches the service at.
    pub(crate) fn ip(&self) -> &str {
        match self {
            Self::Process(_) => "127.0.0.1",
            #[cfg(feature = "containers")]
            Self::Container(c) => c.ip.as_deref().unwrap_or("container-without-address"),
        }
    }

    /// A reader of the log tail that outlives a borrow of the service (for background waits).
    pub(crate) fn tail_reader(&self) -> std::sync::Arc<dyn Fn(usize) -> String + Send + Sync> {
        match self {
            Self::Process(p) => {
                let logs = p.logs.clone();
                std::sync::Arc::new(move |n| logs.tail(n))
            }
            #[cfg(feature = "containers")]
            Self::Container(c) => {
                let logs = c.logs.clone();
                std::sync::Arc::new(move |n| logs.tail(n))
            }
        }
    }

    /// The process ID of a service that runs as a process of the harness (`None` for a
    /// container, whose exit the engine reports).
    pub(crate) fn local_pid(&self) -> Option<u32> {
        match self {
            Self::Process(p) => Some(p.pid()),
            #[cfg(feature = "containers")]
            Self::Container(_) => None,
        }
    }

    pub(crate) fn log_tail(&self, n: usize) -> String {
        match self {
            Self::Process(p) => p.logs.tail(n),
            #[cfg(feature = "containers")]
            Self::Container(c) => c.logs.tail(n),
        }
    }

    /// Waits like [`Wait::until`], failing at once with the log tail if the service exits.
    pub(crate) async fn until_running<T, F, Fut>(
        &mut self,
        wait: Wait,
        what: &str,
        probe: F,
    ) -> Result<T, HarnessError>
    where
        F: FnMut(u32) -> Fut,
        Fut: std::future::Future<Output = Probe<T>>,
    {
        match self {
            Self::Process(p) => {
                let _ = what;
                p.until_ready(wait, probe).await
            }
            #[cfg(feature = "containers")]
            Self::Container(c) => c.until_running(wait, what, probe).await,
        }
    }

    /// Whether it runs and is attached to the lattice (not killed, stopped or partitioned).
    #[cfg_attr(not(feature = "containers"), allow(dead_code))]
    pub(crate) fn reachable(&self) -> bool {
        match self {
            Self::Process(p) => !crate::procfs::gone(p.pid() as i32),
            #[cfg(feature = "containers")]
            Self::Container(c) => c.pid() != 0 && !c.partitioned(),
        }
    }

    /// Graceful stop for teardown: SIGTERM, SIGKILL after `grace`.
    pub(crate) async fn stop(&mut self, grace: Duration) {
        match self {
            Self::Process(p) => {
                p.stop(grace).await;
            }
            #[cfg(feature = "containers")]
            Self::Container(c) => {
                let _ = c.stop(grace).await;
            }
        }
    }

    /// Fault: SIGKILL, returns once it is gone.
    pub(crate) async fn kill(&self) -> Result<(), HarnessError> {
        match self {
            Self::Process(p) => {
                p.signal(libc::SIGKILL);
                wait_pid_gone(&p.name, p.pid(), Duration::from_secs(20)).await
            }
            #[cfg(feature = "containers")]
            Self::Container(c) => c.kill().await,
        }
    }

    /// Fault: SIGTERM (the service shuts down as it would on a signal), SIGKILL after `grace`.
    pub(crate) async fn terminate(&self, grace: Duration) -> Result<(), HarnessError> {
        match self {
            Self::Process(p) => {
                p.signal(libc::SIGTERM);
                if wait_pid_gone(&p.name, p.pid(), grace).await.is_err() {
                    p.signal(libc::SIGKILL);
                    wait_pid_gone(&p.name, p.pid(), Duration::from_secs(10)).await?;
                }
                Ok(())
            }
            #[cfg(feature = "containers")]
            Self::Container(c) => c.stop(grace).await,
        }
    }
}

/// Waits until `pid` is gone or a zombie (it holds nothing any more; its parent reaps it later).
async fn wait_pid_gone(name: &str, pid: u32, timeout: Duration) -> Result<(), HarnessError> {
    Wait::new(format!("{name} (pid {pid}) to exit"), timeout)
        .interval(Duration::from_millis(10))
        .until(|_| async move {
            match crate::procfs::gone(pid as i32) {
                true => Probe::Ready(()),
                false => Probe::NotYet("still running".into()),
            }
        })
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names_parse_and_round_trip() {
        for b in [Backend::Processes, Backend::Containers] {
            assert_eq!(b.id().parse::<Backend>().unwrap(), b);
            assert_eq!(b.to_string(), b.id());
        }
        assert_eq!(" Docker ".parse::<Backend>().unwrap(), Backend::Containers);
        let err = "kubernetes".parse::<Backend>().unwrap_err().to_string();
        assert!(
            err.contains("WCC_BACKEND=kubernetes") && err.contains("processes"),
            "{err}"
        );
    }

    #[test]
    fn an_unusable_containers_backend_names_both_ways_out() {
        let no_engine = containers_unusable(
            "no Docker engine answers at /var/run/docker.sock (No such file or directory)",
        )
        .to_string();
        assert!(
            no_engine.contains("ci/setup-docker") && no_engine.contains("unset WCC_BACKEND"),
            "{no_engine}"
        );
        let no_feature =
            containers_unusable("the harness was built without the `containers` feature")
                .to_string();
        assert!(
            no_feature.contains("enable the harness's `containers` cargo feature")
                && no_feature.contains("processes"),
            "{no_feature}"
        );
    }

    #[test]
    fn processes_are_always_usable() {
        assert!(Backend::Processes.ensure_usable().is_ok());
    }
}
