//! One service of a lattice running in a container: started through testcontainers, its output
//! captured, and the operations fault injection needs (kill, graceful stop, restart, partition).
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use testcontainers::bollard::models::{
    EndpointIpamConfig, EndpointSettings, NetworkConnectRequest, NetworkDisconnectRequest,
};
use testcontainers::bollard::query_parameters::{
    InspectContainerOptions, KillContainerOptionsBuilder,
};
use testcontainers::bollard::Docker;
use testcontainers::{ContainerAsync, GenericImage};

use super::engine::docker_error;
use super::logs::ContainerLogs;
use crate::error::HarnessError;
use crate::wait::{Probe, Wait};

/// A running (or stopped, after a fault) container of a lattice.
pub(crate) struct ContainerService {
    pub(crate) name: String,
    /// Removed by the lattice's teardown (all containers at once, by label), never by this handle.
    container: std::mem::ManuallyDrop<ContainerAsync<GenericImage>>,
    docker: Docker,
    pub(crate) logs: ContainerLogs,
    pid: AtomicU32,
    /// The network address it had before a partition (restored on heal).
    partitioned_from: std::sync::Mutex<Option<(String, String)>>,
    /// Its IPv4 address on the lattice network (this machine routes to it directly); `None` when
    /// it exited before it got one.
    pub(crate) ip: Option<String>,
}

impl ContainerService {
    pub(crate) async fn new(
        name: &str,
        container: ContainerAsync<GenericImage>,
        docker: Docker,
        logs: ContainerLogs,
        network: &str,
    ) -> Result<Self, HarnessError> {
        logs.follow(&docker, container.id());
        let ip = docker
            .inspect_container(container.id(), None::<InspectContainerOptions>)
            .await
            .map_err(|e| docker_error(&format!("inspect the {name} container"), e))?
            .network_settings
            .and_then(|s| s.networks)
            .and_then(|mut n| n.remove(network))
            .and_then(|e| e.ip_address)
            .filter(|ip| !ip.is_empty());
        let service = Self {
            name: name.to_string(),
            container: std::mem::ManuallyDrop::new(container),
            docker,
            logs,
            pid: AtomicU32::new(0),
            partitioned_from: std::sync::Mutex::new(None),
            ip,
        };
        service.refresh_pid().await;
        Ok(service)
    }

    pub(crate) fn id(&self) -> &str {
        self.container.id()
    }

    /// The container's main process as seen from the machine (0 when it is not running).
    pub(crate) fn pid(&self) -> u32 {
        self.pid.load(Ordering::SeqCst)
    }

    async fn refresh_pid(&self) {
        let pid = match self
            .docker
            .inspect_container(self.id(), None::<InspectContainerOptions>)
            .await
        {
            Ok(info) => info.state.and_then(|s| s.pid).unwrap_or(0),
            Err(_) => 0,
        };
        self.pid
            .store(u32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
    }

    /// `Some(status)` once the container has stopped.
    pub(crate) async fn exited(&self) -> Option<String> {
        if !self.logs.ended() {
            return None;
        }
        match self
            .docker
            .inspect_container(self.id(), None::<InspectContainerOptions>)
            .await
        {
            Ok(info) => {
                let state = info.state.unwrap_or_default();
                if state.running == Some(true) {
                    None
                } else {
                    Some(format!("exit code {}", state.exit_code.unwrap_or(-1)))
                }
            }
            Err(e) => Some(format!("gone ({e})")),
        }
    }

    /// Waits like [`Wait::until`], failing at once with the log tail if the container stops.
    pub(crate) async fn until_running<T, F, Fut>(
        &self,
        wait: Wait,
        what: &str,
        mut probe: F,
    ) -> Result<T, HarnessError>
    where
        F: FnMut(u32) -> Fut,
        Fut: std::future::Future<Output = Probe<T>>,
    {
        let logs = self.logs.clone();
        let result = wait
            .until(|n| {
                let fut = probe(n);
                let logs = logs.clone();
                async move {
                    match fut.await {
                        Probe::Ready(v) => Probe::Ready(Some(v)),
                        Probe::NotYet(_) if logs.ended() => Probe::Ready(None),
                        Probe::NotYet(seen) => Probe::NotYet(seen),
                    }
                }
            })
            .await;
        match result {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(HarnessError::ExitedEarly {
                what: self.name.clone(),
                status: self.exited().await.unwrap_or_else(|| "stopped".into()),
                during: what.to_string(),
                log_tail: self.logs.tail(40),
            }),
            Err(mut e) => {
                e.last_seen = format!(
                    "{}\n--- last log lines of {} ---\n{}",
                    e.last_seen,
                    self.name,
                    self.logs.tail(30)
                );
                Err(HarnessError::Timeout(e))
            }
        }
    }

    /// Waits (bounded) until the container has stopped.
    async fn wait_stopped(&self, what: &str, timeout: Duration) -> Result<(), HarnessError> {
        Wait::new(format!("{} to stop after {what}", self.name), timeout)
            .interval(Duration::from_millis(10))
            .until(|_| async {
                match self.exited().await {
                    Some(_) => Probe::Ready(()),
                    None => Probe::NotYet("still running".into()),
                }
            })
            .await?;
        self.pid.store(0, Ordering::SeqCst);
        Ok(())
    }

    /// SIGKILL: no shutdown, no `host_stopped`.
    pub(crate) async fn kill(&self) -> Result<(), HarnessError> {
        let options = KillContainerOptionsBuilder::new().signal("SIGKILL").build();
        self.docker
            .kill_container(self.id(), Some(options))
            .await
            .map_err(|e| docker_error(&format!("kill {}", self.name), e))?;
        self.wait_stopped("SIGKILL", Duration::from_secs(20)).await
    }

    /// SIGTERM, then SIGKILL after `grace`; returns once it has stopped.
    pub(crate) async fn stop(&self, grace: Duration) -> Result<(), HarnessError> {
        let secs = i32::try_from(grace.as_secs().max(1)).unwrap_or(i32::MAX);
        self.container
            .stop_with_timeout(Some(secs))
            .await
            .map_err(|e| docker_error(&format!("stop {}", self.name), e))?;
        self.wait_stopped("SIGTERM", grace + Duration::from_secs(10))
            .await
    }

    /// Starts the stopped container again (same configuration, volumes and published ports) and
    /// follows its output.
    pub(crate) async fn start_again(&self) -> Result<(), HarnessError> {
        self.container
            .start()
            .await
            .map_err(|e| docker_error(&format!("start {} again", self.name), e))?;
        self.logs.follow(&self.docker, self.id());
        self.refresh_pid().await;
        Ok(())
    }

    /// Disconnects the container from `network` (nothing reaches it, it reaches nothing); its
    /// address is kept for [`ContainerService::heal`].
    pub(crate) async fn partition(&self, network: &str) -> Result<(), HarnessError> {
        let info = self
            .docker
            .inspect_container(self.id(), None::<InspectContainerOptions>)
            .await
            .map_err(|e| docker_error("inspect a container", e))?;
        let ip = info
            .network_settings
            .and_then(|s| s.networks)
            .and_then(|mut n| n.remove(network))
            .and_then(|e| e.ip_address)
            .filter(|ip| !ip.is_empty())
            .ok_or_else(|| {
                HarnessError::Config(format!(
                    "{} is not attached to network {network}",
                    self.name
                ))
            })?;
        let request = NetworkDisconnectRequest {
            container: Some(self.id().to_string()),
            force: Some(true),
        };
        self.docker
            .disconnect_network(network, request)
            .await
            .map_err(|e| docker_error(&format!("disconnect {} from {network}", self.name), e))?;
        *self
            .partitioned_from
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some((network.to_string(), ip));
        Ok(())
    }

    /// Whether it is cut off the lattice network.
    pub(crate) fn partitioned(&self) -> bool {
        self.partitioned_from
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Reconnects the container with the address it had, so its open connections can resume.
    pub(crate) async fn heal(&self) -> Result<(), HarnessError> {
        let Some((network, ip)) = self
            .partitioned_from
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        else {
            return Err(HarnessError::Config(format!(
                "{} is not partitioned",
                self.name
            )));
        };
        let request = NetworkConnectRequest {
            container: Some(self.id().to_string()),
            endpoint_config: Some(EndpointSettings {
                ipam_config: Some(EndpointIpamConfig {
                    ipv4_address: Some(ip),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        };
        self.docker
            .connect_network(&network, request)
            .await
            .map_err(|e| docker_error(&format!("connect {} to {network}", self.name), e))?;
        *self
            .partitioned_from
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = None;
        Ok(())
    }
}
