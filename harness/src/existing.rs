//! A lattice someone else runs (e.g. a vendor's lattice on Kubernetes): the harness connects to
//! its NATS server and lattice name, finds its hosts by a control-interface ping and wadm by its
//! API answering, and starts or stops nothing. [`LatticeState`] records what runs on it so that
//! whatever a test left behind can be removed again.
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use wasmcloud_control_interface::Host;

use crate::backend::{Existing, Nats, Runtime};
use crate::ctl::Ctl;
use crate::error::HarnessError;
use crate::journal::Journal;
use crate::lattice::Lattice;
use crate::wadm::Wadm;
use crate::wait::{scaled, Probe, Wait, WaitError};

/// How to reach a lattice the harness does not start.
///
/// ```no_run
/// # async fn f() -> Result<(), harness::HarnessError> {
/// let lattice = harness::ExistingLattice::new("nats://nats.example:4222", "default")
///     .connect()
///     .await?;
/// println!("hosts: {:?}, wadm: {}", lattice.host_ids(), lattice.has_wadm());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ExistingLattice {
    /// The NATS URL (`nats://host:4222`).
    pub nats_url: String,
    /// A NATS credentials file (`.creds`), when the server needs one.
    pub creds: Option<PathBuf>,
    /// A CA (PEM) to trust for the server's certificate; given, TLS is required.
    pub tls_ca: Option<PathBuf>,
    /// The lattice name (the hosts' `WASMCLOUD_LATTICE`).
    pub lattice: String,
    /// How long to ping for a first host (default 15 s, scaled by `WCC_TIMEOUT_SCALE`).
    pub discovery_timeout: Duration,
}

impl ExistingLattice {
    /// The lattice `lattice` on the NATS server at `nats_url`.
    pub fn new(nats_url: impl Into<String>, lattice: impl Into<String>) -> Self {
        Self {
            nats_url: nats_url.into(),
            creds: None,
            tls_ca: None,
            lattice: lattice.into(),
            discovery_timeout: Duration::from_secs(15),
        }
    }

    /// Connects with this credentials file.
    pub fn creds(mut self, path: impl Into<PathBuf>) -> Self {
        self.creds = Some(path.into());
        self
    }

    /// Requires TLS, trusting this CA (PEM) for the server's certificate.
    pub fn tls_ca(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls_ca = Some(path.into());
        self
    }

    /// How long to ping for a first host.
    pub fn discovery_timeout(mut self, timeout: Duration) -> Self {
        self.discovery_timeout = timeout;
        self
    }

    /// Connects: NATS (bounded; [`HarnessError::NatsConnect`] or [`HarnessError::Credentials`]),
    /// then pings until at least one host answers ([`HarnessError::NoHosts`] otherwise), then asks
    /// wadm for its applications once (bounded): no answer means the lattice has no wadm.
    /// Dropping the returned [`Lattice`] closes the connection and stops nothing.
    pub async fn connect(&self) -> Result<Lattice, HarnessError> {
        let started = Instant::now();
        let client = crate::nats::connect_with(
            &self.nats_url,
            "wcc-harness",
            crate::nats::ClientAuth {
                creds: self.creds.as_deref(),
                ca: self.tls_ca.as_deref(),
            },
        )
        .await?;
        crate::nats::wait_flush(&client, &self.nats_url, Duration::from_secs(10)).await?;
        let journal = Journal::new(started);
        journal.follow(&client, &self.lattice).await?;
        let ctl = Ctl::new(client.clone(), &self.lattice, journal.clone());
        let wadm_api = Wadm::new(client.clone(), &self.lattice, journal.clone());
        let hosts = discover_hosts(&ctl, self).await?;
        let wadm = wadm_answers(&wadm_api, Duration::from_secs(3)).await;
        let (scratch, shared) = crate::scratch::create(&format!("wcc-existing-{}", self.lattice))?;
        Ok(Lattice {
            hosts: Vec::new(),
            nemeses: Vec::new(),
            wadm: None,
            wadm_nemesis: None,
            nats: Nats::External {
                url: self.nats_url.clone(),
            },
            runtime: Runtime::External(Existing {
                hosts,
                wadm,
                creds: self.creds.clone(),
                tls_ca: self.tls_ca.clone(),
            }),
            name: self.lattice.clone(),
            client,
            journal,
            ctl,
            wadm_api,
            log_dir: std::sync::Mutex::new(Some(scratch)),
            kept_logs: std::sync::OnceLock::new(),
            binaries: None,
            shared,
            startup: started.elapsed(),
            // Upstream default; the harness did not configure these hosts.
            heartbeat: Duration::from_secs(30),
            js_domain: None,
            start_timeout: self.discovery_timeout,
            auth: None,
        })
    }
}

async fn discover_hosts(ctl: &Ctl, target: &ExistingLattice) -> Result<Vec<Host>, HarnessError> {
    let found = Wait::new(
        format!(
            "a host of lattice {} to answer a control-interface ping",
            target.lattice
        ),
        target.discovery_timeout,
    )
    .interval(Duration::from_millis(500))
    .until(|_| async {
        match ctl.get_hosts().await {
            Ok(hosts) if !hosts.is_empty() => Probe::Ready(hosts),
            Ok(_) => Probe::NotYet("no host answered host.ping".into()),
            Err(e) => Probe::NotYet(e.to_string()),
        }
    })
    .await;
    match found {
        Ok(mut hosts) => {
            hosts.sort_by(|a, b| a.id().cmp(b.id()));
            Ok(hosts)
        }
        Err(WaitError {
            attempts,
            elapsed,
            last_seen,
            ..
        }) => Err(HarnessError::NoHosts {
            lattice: target.lattice.clone(),
            url: target.nats_url.clone(),
            waited: elapsed,
            attempts,
            last_seen,
        }),
    }
}

/// Whether wadm's API answers `model.list` within `timeout` (scaled).
pub async fn wadm_answers(wadm: &Wadm, timeout: Duration) -> bool {
    tokio::time::timeout(scaled(timeout), wadm.list())
        .await
        .is_ok_and(|r| r.is_ok())
}

/// A link's identity: source, name, WIT namespace and package.
type LinkKey = (String, String, String, String);

/// What runs on a lattice: components, providers, links and wadm applications.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LatticeState {
    /// (host, component id) → image reference.
    components: BTreeMap<(String, String), String>,
    /// (host, provider id).
    providers: BTreeSet<(String, String)>,
    links: BTreeSet<LinkKey>,
    apps: BTreeSet<String>,
}

impl LatticeState {
    /// Reads the state through the control interface and wadm (when it runs).
    pub async fn capture(lattice: &Lattice) -> Result<Self, HarnessError> {
        let ctl = lattice.ctl();
        let mut state = Self::default();
        for host in ctl.get_hosts().await? {
            let reply = ctl.get_host_inventory(host.id()).await?;
            let Some(inv) = reply.into_data() else {
                continue;
            };
            for c in inv.components() {
                state.components.insert(
                    (host.id().to_string(), c.id().to_string()),
                    c.image_ref().to_string(),
                );
            }
            for p in inv.providers() {
                state
                    .providers
                    .insert((host.id().to_string(), p.id().to_string()));
            }
        }
        let links = ctl.get_links().await?;
        for l in links.into_data().unwrap_or_default() {
            state.links.insert((
                l.source_id().to_string(),
                l.name().to_string(),
                l.wit_namespace().to_string(),
                l.wit_package().to_string(),
            ));
        }
        if lattice.has_wadm() {
            let apps = lattice
                .wadm()
                .list()
                .await
                .map_err(|e| HarnessError::request("wadm model.list", e))?;
            state.apps = apps.into_iter().map(|a| a.name).collect();
        }
        Ok(state)
    }

    /// What runs now that did not run in `before`, one line per kind (empty: nothing).
    fn extra_over(&self, before: &Self) -> Vec<String> {
        let mut out = Vec::new();
        let comps: Vec<String> = self
            .components
            .keys()
            .filter(|k| !before.components.contains_key(*k))
            .map(|(h, c)| format!("{c} on {h}"))
            .collect();
        let provs: Vec<String> = self
            .providers
            .difference(&before.providers)
            .map(|(h, p)| format!("{p} on {h}"))
            .collect();
        let links: Vec<String> = self
            .links
            .difference(&before.links)
            .map(|(s, n, ns, p)| format!("{s} ({n}) → {ns}:{p}"))
            .collect();
        let apps: Vec<String> = self.apps.difference(&before.apps).cloned().collect();
        for (kind, items) in [
            ("components", comps),
            ("providers", provs),
            ("links", links),
            ("wadm applications", apps),
        ] {
            if !items.is_empty() {
                out.push(format!("{kind}: {}", items.join(", ")));
            }
        }
        out
    }
}

/// Brings `lattice` back to `before`: undeploys and deletes the wadm applications, deletes the
/// links and the named configs (`configs`) the test put, scales its components to zero and stops
/// its providers, then waits (bounded) until the control interface and wadm show `before` again.
/// Returns what could not be restored (empty: everything was).
pub async fn restore(
    lattice: &Lattice,
    before: &LatticeState,
    configs: &BTreeSet<String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let ctl = lattice.ctl();
    let after = match LatticeState::capture(lattice).await {
        Ok(s) => s,
        Err(e) => return vec![format!("could not read the lattice's state: {e}")],
    };
    for app in after.apps.difference(&before.apps) {
        let _ = lattice.wadm().undeploy(app).await;
        if let Err(e) = lattice.wadm().delete(app, None).await {
            problems.push(format!("wadm application {app} not deleted: {e}"));
        }
    }
    for (source, name, ns, package) in after.links.difference(&before.links) {
        match ctl.delete_link(source, name, ns, package).await {
            Ok(r) if r.succeeded() => {}
            Ok(r) => problems.push(format!(
                "link {source} ({name}) {ns}:{package} not deleted: {}",
                r.message()
            )),
            Err(e) => problems.push(format!(
                "link {source} ({name}) {ns}:{package} not deleted: {e}"
            )),
        }
    }
    for name in configs {
        match ctl.delete_config(name).await {
            Ok(r) if r.succeeded() => {}
            Ok(r) => problems.push(format!("config {name} not deleted: {}", r.message())),
            Err(e) => problems.push(format!("config {name} not deleted: {e}")),
        }
    }
    let settled = Wait::new(
        format!(
            "lattice {} to run again only what ran before the test",
            lattice.name()
        ),
        Duration::from_secs(60),
    )
    .interval(Duration::from_millis(500))
    .until(|_| async {
        let now = match LatticeState::capture(lattice).await {
            Ok(s) => s,
            Err(e) => return Probe::NotYet(format!("could not read the state: {e}")),
        };
        let extra = now.extra_over(before);
        if extra.is_empty() {
            return Probe::Ready(());
        }
        // Stop what is still there (wadm may still be removing its own; repeats are harmless).
        for ((host, id), image) in &now.components {
            if !before.components.contains_key(&(host.clone(), id.clone())) {
                let _ = ctl.scale_component(host, image, id, 0, None, vec![]).await;
            }
        }
        for (host, id) in now.providers.difference(&before.providers) {
            let _ = ctl.stop_provider(host, id).await;
        }
        for (source, name, ns, package) in now.links.difference(&before.links) {
            let _ = ctl.delete_link(source, name, ns, package).await;
        }
        for app in now.apps.difference(&before.apps) {
            let _ = lattice.wadm().delete(app, None).await;
        }
        Probe::NotYet(format!("still there: {}", extra.join("; ")))
    })
    .await;
    if let Err(e) = settled {
        problems.push(e.to_string());
    }
    problems
}

/// Names of the configs put through the recorded control-interface client (`ctl put_config`).
pub fn configs_put(journal: &Journal) -> BTreeSet<String> {
    journal
        .last_exchanges(usize::MAX)
        .into_iter()
        .filter(|e| e.operation == "ctl put_config")
        .filter_map(|e| e.request.split_whitespace().next().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_the_test_added_is_extra() {
        let mut before = LatticeState::default();
        before
            .components
            .insert(("H".into(), "keep".into()), "file:///k.wasm".into());
        before.apps.insert("theirs".into());
        let mut after = before.clone();
        assert!(after.extra_over(&before).is_empty());
        after
            .components
            .insert(("H".into(), "mine".into()), "file:///m.wasm".into());
        after.providers.insert(("H".into(), "p".into()));
        after.apps.insert("app".into());
        let extra = after.extra_over(&before);
        assert_eq!(
            extra,
            vec![
                "components: mine on H".to_string(),
                "providers: p on H".into(),
                "wadm applications: app".into()
            ]
        );
    }
}
