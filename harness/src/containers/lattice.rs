//! The Docker resources of one lattice: a network of its own (a subnet fixed at creation, so a
//! partitioned container comes back with the same address), a volume for JetStream, and the
//! containers of NATS, wadm and the hosts, all labelled with the run. Teardown removes everything
//! carrying the run's label, whatever happened to the handles.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use testcontainers::bollard::models::VolumeCreateOptions;
use testcontainers::bollard::models::{Ipam, IpamConfig, NetworkCreateRequest};
use testcontainers::bollard::query_parameters::{
    InspectContainerOptions, ListNetworksOptions, RemoveContainerOptionsBuilder,
};
use testcontainers::bollard::Docker;
use testcontainers::core::{IntoContainerPort as _, Mount, WaitFor};
use testcontainers::runners::AsyncRunner as _;
use testcontainers::{ContainerRequest, GenericImage, ImageExt as _};

use super::engine::{self, docker_error};
use super::images::Images;
use super::logs::ContainerLogs;
use super::service::ContainerService;
use crate::binaries::Binaries;
use crate::error::HarnessError;

/// The client port inside the NATS container (hosts and wadm reach it as `<run>-nats:4222`).
const NATS_PORT: u16 = 4222;
/// Server-side pings every 5 s, four missed ones close a client: a partitioned or killed host's
/// connection (and so its subscriptions) goes within about 25 s instead of NATS's default
/// minutes. Not tighter: a host compiling a 15 MB JavaScript component on a busy 2-core machine
/// left pings unanswered for 14 s, and with 2 s × 3 the server dropped it in the middle of
/// publishing `component_scaled`, which was lost (`vendorless::link_call_javascript` failed its
/// first try in two CI runs out of two).
const NATS_CONFIG: &str = "listen: \"0.0.0.0:4222\"\nping_interval: \"5s\"\nping_max: 4\njetstream {\n  store_dir: \"/data\"\n}\n";
/// Environment variables handed through to hosts and wadm (as the processes backend does).
const PASSTHROUGH_ENV: &[&str] = &["RUST_BACKTRACE", "RUST_LOG"];

/// Everything Docker holds for one lattice.
pub(crate) struct ContainerLattice {
    pub(crate) run: String,
    pub(crate) network: String,
    volume: String,
    docker: Docker,
    images: Images,
    mounts: Vec<PathBuf>,
    log_dir: PathBuf,
    timeout: Duration,
    torn_down: AtomicBool,
}

fn split_image(image: &str) -> (&str, &str) {
    image.rsplit_once(':').unwrap_or((image, "latest"))
}

/// Directories holding the built fixtures, mounted read-only at the same path in host containers
/// so `file://` references resolve there as on the machine: the deepest common directory of
/// every built fixture, or each fixture's own directory when they share nothing but `/`.
fn fixture_mounts() -> Vec<PathBuf> {
    let Ok(manifest) = crate::fixtures::manifest() else {
        return Vec::new();
    };
    let dirs: Vec<PathBuf> = manifest
        .fixtures
        .iter()
        .filter_map(|f| {
            f.path
                .as_deref()
                .and_then(Path::parent)
                .map(Path::to_path_buf)
        })
        .filter(|d| d.is_dir())
        .collect();
    common_dir(&dirs).map(|d| vec![d]).unwrap_or_else(|| {
        let mut dirs = dirs;
        dirs.sort();
        dirs.dedup();
        dirs
    })
}

fn common_dir(dirs: &[PathBuf]) -> Option<PathBuf> {
    let mut common = dirs.first()?.clone();
    for d in &dirs[1..] {
        while !d.starts_with(&common) {
            common = common.parent()?.to_path_buf();
        }
    }
    (common.components().count() > 2).then_some(common)
}

impl ContainerLattice {
    /// Removes what dead runs left, then creates the network and the JetStream volume.
    pub(crate) async fn create(
        run: &str,
        binaries: &Binaries,
        image_overrides: &[(&'static str, String)],
        log_dir: &Path,
        timeout: Duration,
    ) -> Result<Self, HarnessError> {
        let docker = engine::connect().await?;
        let mut lattice = Self {
            run: run.to_string(),
            network: run.to_string(),
            volume: format!("{run}-jetstream"),
            docker,
            images: Images::default(),
            mounts: fixture_mounts(),
            log_dir: log_dir.to_path_buf(),
            timeout,
            torn_down: AtomicBool::new(false),
        };
        // Independent engine round trips, all at once (lattice-up time).
        let volume = VolumeCreateOptions {
            name: Some(lattice.volume.clone()),
            labels: Some(engine::labels(run)),
            ..Default::default()
        };
        let (images, swept, network, volume) = tokio::join!(
            super::images::resolve(binaries, image_overrides, &lattice.docker),
            super::reaper::sweep(&lattice.docker),
            lattice.create_network(),
            lattice.docker.create_volume(volume),
        );
        if swept > 0 {
            eprintln!("[wcc] reaped {swept} leftover container(s) of dead runs");
        }
        // On an error the lattice is dropped here, which removes what was created.
        network?;
        volume.map_err(|e| docker_error("create the JetStream volume", e))?;
        lattice.images = images?;
        Ok(lattice)
    }

    /// A bridge network with a subnet given explicitly (only then may a container be reconnected
    /// with a chosen address): a /24 under 10.200.0.0/13 that no Docker network and no route of
    /// this machine overlaps, picked at random (another run may race for it: then pick again).
    async fn create_network(&self) -> Result<(), HarnessError> {
        let networks = self
            .docker
            .list_networks(None::<ListNetworksOptions>)
            .await
            .map_err(|e| docker_error("list networks", e))?;
        let mut taken: Vec<(u32, u32)> = networks
            .iter()
            .filter_map(|n| n.ipam.as_ref()?.config.as_ref())
            .flatten()
            .filter_map(|c| parse_cidr(c.subnet.as_deref()?))
            .collect();
        taken.extend(host_routes());
        let mut last = String::from("no free /24 under 10.200.0.0/13");
        let seed = std::hash::BuildHasher::hash_one(
            &std::collections::hash_map::RandomState::new(),
            &self.run,
        );
        for attempt in 0..64u64 {
            let index = ((seed.wrapping_add(attempt.wrapping_mul(0x9E37_79B9))) % 2048) as u32;
            let base = (10 << 24) | (200 << 16) | (index << 8);
            if taken
                .iter()
                .any(|&(net, mask)| overlaps((base, 0xFFFF_FF00), (net, mask)))
            {
                continue;
            }
            let ip = |n: u32| std::net::Ipv4Addr::from(n).to_string();
            let request = NetworkCreateRequest {
                name: self.network.clone(),
                driver: Some("bridge".into()),
                labels: Some(engine::labels(&self.run)),
                // Ports published from this network bind to loopback only (dockerd's `--ip` only
                // covers the default bridge).
                options: Some(HashMap::from([(
                    "com.docker.network.bridge.host_binding_ipv4".to_string(),
                    "127.0.0.1".to_string(),
                )])),
                ipam: Some(Ipam {
                    config: Some(vec![IpamConfig {
                        subnet: Some(format!("{}/24", ip(base))),
                        gateway: Some(ip(base + 1)),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                ..Default::default()
            };
            match self.docker.create_network(request).await {
                Ok(_) => return Ok(()),
                Err(e) => {
                    last = e.to_string();
                    taken.push((base, 0xFFFF_FF00));
                }
            }
        }
        Err(docker_error("create the lattice network", last))
    }

    fn request(&self, image: &str, name: &str) -> ContainerRequest<GenericImage> {
        let (repo, tag) = split_image(image);
        let mut labels = engine::labels(&self.run);
        labels.insert("wcc.service".into(), name.to_string());
        GenericImage::new(repo, tag)
            .with_network(self.network.clone())
            .with_container_name(self.container_name(name))
            .with_labels(labels)
            .with_startup_timeout(self.timeout)
    }

    pub(crate) fn container_name(&self, service: &str) -> String {
        format!("{}-{service}", self.run)
    }

    fn with_env(
        mut request: ContainerRequest<GenericImage>,
        env: &[(String, String)],
    ) -> ContainerRequest<GenericImage> {
        let passthrough = PASSTHROUGH_ENV
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| ((*k).to_string(), v)));
        for (k, v) in passthrough.chain(env.iter().cloned()) {
            request = request.with_env_var(k, v);
        }
        request
    }

    async fn remove_named(&self, name: &str) {
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        let _ = self
            .docker
            .remove_container(&self.container_name(name), Some(options))
            .await;
    }

    /// Starts NATS with JetStream on the lattice's volume, its client port published on a fixed
    /// loopback port (kept across restarts). Ready once it logs "Server is ready".
    pub(crate) async fn start_nats(
        &self,
        js_domain: Option<&str>,
        auth: Option<&crate::nats_auth::NatsAuth>,
    ) -> Result<(ContainerService, u16), HarnessError> {
        let mut config = match js_domain {
            Some(domain) => NATS_CONFIG.replace(
                "  store_dir: \"/data\"\n",
                &format!("  store_dir: \"/data\"\n  domain: \"{domain}\"\n"),
            ),
            None => NATS_CONFIG.to_string(),
        };
        // Accounts, and TLS with the certificate and key copied in beside the config.
        let mut copies: Vec<(&str, Vec<u8>)> = Vec::new();
        if let Some(auth) = auth {
            config.push_str(&auth.server_config("/certs"));
            if let Some(tls) = auth.tls() {
                for (to, from) in [("/certs/cert.pem", &tls.cert), ("/certs/key.pem", &tls.key)] {
                    let bytes = std::fs::read(from)
                        .map_err(HarnessError::io(format!("read {}", from.display())))?;
                    copies.push((to, bytes));
                }
            }
        }
        let mut last = None;
        for _ in 0..3 {
            let port = crate::net::free_port()?;
            let (repo, tag) = split_image(&self.images.nats_server);
            let image = GenericImage::new(repo, tag)
                .with_wait_for(WaitFor::message_on_stderr("Server is ready"));
            let mut labels = engine::labels(&self.run);
            labels.insert("wcc.service".into(), "nats-server".into());
            let mut request = image
                .with_cmd(["--config", "/nats.conf"])
                .with_copy_to("/nats.conf", config.as_bytes().to_vec())
                .with_network(self.network.clone())
                .with_container_name(self.container_name("nats"))
                .with_labels(labels)
                .with_mapped_port(port, NATS_PORT.tcp())
                .with_mount(Mount::volume_mount(self.volume.clone(), "/data"))
                .with_startup_timeout(self.timeout);
            for (to, bytes) in &copies {
                request = request.with_copy_to(*to, bytes.clone());
            }
            let logs = ContainerLogs::new("nats-server", &self.log_dir)?;
            match request.start().await {
                Ok(container) => {
                    self.check_loopback(container.id(), port).await?;
                    let service = ContainerService::new(
                        "nats-server",
                        container,
                        self.docker.clone(),
                        logs,
                        &self.network,
                    )
                    .await?;
                    return Ok((service, port));
                }
                Err(e) => {
                    let message = e.to_string();
                    self.remove_named("nats").await;
                    if !message.contains("already allocated")
                        && !message.contains("address already in use")
                    {
                        return Err(docker_error("start the NATS container", message));
                    }
                    last = Some(message);
                }
            }
        }
        Err(docker_error(
            "start the NATS container (no free port)",
            last.unwrap_or_default(),
        ))
    }

    /// Fails unless the published port listens on loopback only (the network asks for it):
    /// lattices under test are not for the network.
    async fn check_loopback(&self, id: &str, port: u16) -> Result<(), HarnessError> {
        let info = self
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .map_err(|e| docker_error("inspect the NATS container", e))?;
        let bindings: Vec<String> = info
            .network_settings
            .and_then(|s| s.ports)
            .unwrap_or_default()
            .into_values()
            .flatten()
            .flatten()
            .filter(|b| b.host_port.as_deref() == Some(&port.to_string()))
            .map(|b| b.host_ip.unwrap_or_default())
            .collect();
        if bindings.iter().all(|ip| ip == "127.0.0.1" || ip == "::1") && !bindings.is_empty() {
            return Ok(());
        }
        Err(HarnessError::Config(format!(
            "the Docker engine published NATS on {bindings:?}, not on loopback only"
        )))
    }

    /// Starts a host container; readiness (`host_started`, then `host.get`) is the caller's.
    pub(crate) async fn start_host(
        &self,
        name: &str,
        env: &[(String, String)],
    ) -> Result<ContainerService, HarnessError> {
        let mut request = Self::with_env(self.request(&self.images.host, name), env);
        for dir in &self.mounts {
            let dir = dir.display().to_string();
            request = request.with_mount(
                Mount::bind_mount(dir.clone(), dir)
                    .with_access_mode(testcontainers::core::AccessMode::ReadOnly),
            );
        }
        // Lattice::shared_dir: the same path on both sides, writable.
        let shared = crate::scratch::shared_of(&self.log_dir)
            .display()
            .to_string();
        request = request.with_mount(
            Mount::bind_mount(shared.clone(), shared)
                .with_access_mode(testcontainers::core::AccessMode::ReadWrite),
        );
        self.start(name, request).await
    }

    /// Starts wadm; readiness (its API answering) is the caller's.
    pub(crate) async fn start_wadm(
        &self,
        env: &[(String, String)],
    ) -> Result<ContainerService, HarnessError> {
        // Lattice::shared_dir, read-only: what the harness gives wadm by path (its NATS CA).
        let shared = crate::scratch::shared_of(&self.log_dir)
            .display()
            .to_string();
        let request = Self::with_env(self.request(&self.images.wadm, "wadm"), env).with_mount(
            Mount::bind_mount(shared.clone(), shared)
                .with_access_mode(testcontainers::core::AccessMode::ReadOnly),
        );
        self.start("wadm", request).await
    }

    async fn start(
        &self,
        name: &str,
        request: ContainerRequest<GenericImage>,
    ) -> Result<ContainerService, HarnessError> {
        let logs = ContainerLogs::new(name, &self.log_dir)?;
        let container = request
            .start()
            .await
            .map_err(|e| docker_error(&format!("start the {name} container"), e))?;
        ContainerService::new(name, container, self.docker.clone(), logs, &self.network).await
    }

    /// The host name and port hosts and wadm reach NATS at.
    pub(crate) fn nats_address(&self) -> (String, u16) {
        (self.container_name("nats"), NATS_PORT)
    }

    /// The images this lattice runs.
    pub(crate) fn image_names(&self) -> [&str; 3] {
        [
            &self.images.nats_server,
            &self.images.host,
            &self.images.wadm,
        ]
    }

    /// Removes every container, the volume and the network of this run (idempotent, blocking,
    /// safe in `Drop`: it runs on a thread of its own with its own runtime and client).
    pub(crate) fn teardown(&self) {
        if self.torn_down.swap(true, Ordering::SeqCst) {
            return;
        }
        let run = self.run.clone();
        let worker = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                let Ok(docker) = engine::connect().await else {
                    return;
                };
                super::reaper::remove_run(&docker, &run).await;
                // Exit is the other moment leftovers of dead runs are looked for.
                super::reaper::sweep(&docker).await;
            });
        });
        let _ = worker.join();
    }
}

impl Drop for ContainerLattice {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// `a.b.c.d/n` as (network, mask).
fn parse_cidr(cidr: &str) -> Option<(u32, u32)> {
    let (addr, len) = cidr.split_once('/')?;
    let addr: std::net::Ipv4Addr = addr.parse().ok()?;
    let len: u32 = len.parse().ok().filter(|l| *l <= 32)?;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Some((u32::from(addr) & mask, mask))
}

fn overlaps((a, am): (u32, u32), (b, bm): (u32, u32)) -> bool {
    let mask = am & bm;
    a & mask == b & mask
}

/// Destinations of this machine's IPv4 routes other than the default route (`/proc/net/route`).
fn host_routes() -> Vec<(u32, u32)> {
    let Ok(text) = std::fs::read_to_string("/proc/net/route") else {
        return Vec::new();
    };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let dest = u32::from_str_radix(fields.get(1)?, 16).ok()?.swap_bytes();
            let mask = u32::from_str_radix(fields.get(7)?, 16).ok()?.swap_bytes();
            (mask != 0).then_some((dest & mask, mask))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_dirs_collapse_to_their_common_directory() {
        let dirs = [
            PathBuf::from("/root/.cache/wcc/fixtures/aa"),
            PathBuf::from("/root/.cache/wcc/fixtures/bb"),
        ];
        assert_eq!(
            common_dir(&dirs),
            Some(PathBuf::from("/root/.cache/wcc/fixtures"))
        );
        let dirs = [PathBuf::from("/a/x"), PathBuf::from("/b/y")];
        assert_eq!(
            common_dir(&dirs),
            None,
            "never mount / or a top-level directory"
        );
        assert_eq!(common_dir(&[]), None);
    }

    #[test]
    fn subnets_overlap_by_their_common_prefix() {
        let docker = parse_cidr("172.17.0.0/16").unwrap();
        assert!(overlaps(parse_cidr("172.17.5.0/24").unwrap(), docker));
        assert!(!overlaps(parse_cidr("10.200.3.0/24").unwrap(), docker));
        assert!(overlaps(
            parse_cidr("10.200.3.0/24").unwrap(),
            parse_cidr("10.0.0.0/8").unwrap()
        ));
        assert_eq!(parse_cidr("garbage"), None);
        assert!(host_routes().iter().all(|(net, mask)| net & !mask == 0));
    }

    #[test]
    fn image_references_split_into_name_and_tag() {
        assert_eq!(
            split_image("wcc/wasmcloud:e3ca258212a9"),
            ("wcc/wasmcloud", "e3ca258212a9")
        );
        assert_eq!(split_image("wcc/wadm"), ("wcc/wadm", "latest"));
    }
}
