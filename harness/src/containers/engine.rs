//! The Docker engine: whether one answers (a plain, synchronous `GET /_ping` on its socket, so it
//! works before any runtime exists and without the `containers` feature), the API client, and the
//! labels that tie every container, network and volume to the run that made it.
#![cfg_attr(not(feature = "containers"), allow(dead_code))]
use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

/// Label carrying the lattice (run) a resource belongs to: `wcc.run=<lattice name>`.
pub(crate) const RUN_LABEL: &str = "wcc.run";
/// Label naming the process that owns a resource: `<pid>:<start time in clock ticks>`.
pub(crate) const OWNER_LABEL: &str = "wcc.owner";

/// The engine's Unix socket: `DOCKER_HOST=unix://…` or `/var/run/docker.sock`.
pub(crate) fn socket_path() -> Result<PathBuf, String> {
    match std::env::var("DOCKER_HOST") {
        Ok(host) if !host.is_empty() => host
            .strip_prefix("unix://")
            .map(PathBuf::from)
            .ok_or_else(|| format!("DOCKER_HOST={host} is not a unix:// socket (the harness only talks to a local engine)")),
        _ => Ok(PathBuf::from("/var/run/docker.sock")),
    }
}

fn ping() -> Result<(), String> {
    let path = socket_path()?;
    let mut stream = std::os::unix::net::UnixStream::connect(&path).map_err(|e| {
        format!(
            "no Docker engine answers at {} ({e}); run `bash ci/setup-docker`",
            path.display()
        )
    })?;
    let timeout = Some(Duration::from_secs(3));
    let _ = stream.set_read_timeout(timeout);
    let _ = stream.set_write_timeout(timeout);
    stream
        .write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        .map_err(|e| {
            format!(
                "the Docker engine at {} did not take a ping ({e})",
                path.display()
            )
        })?;
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    let status = reply.lines().next().unwrap_or_default();
    if status.contains(" 200 ") {
        Ok(())
    } else {
        Err(format!(
            "the Docker engine at {} answered a ping with {status:?}",
            path.display()
        ))
    }
}

/// `Ok` when a Docker engine answers, otherwise why not (checked once per process).
pub(crate) fn availability() -> Result<(), String> {
    static ANSWER: OnceLock<Result<(), String>> = OnceLock::new();
    ANSWER.get_or_init(ping).clone()
}

/// This process as an owner: `<pid>:<start time>`, so a reused pid is not mistaken for it.
pub(crate) fn owner_id() -> String {
    let pid = std::process::id();
    format!("{pid}:{}", start_time(pid as i32).unwrap_or(0))
}

/// Start time of a process in clock ticks since boot (field 22 of `/proc/<pid>/stat`).
pub(crate) fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the owner `<pid>:<start time>` still runs.
pub(crate) fn owner_alive(owner: &str) -> bool {
    let Some((pid, started)) = owner.split_once(':') else {
        return false;
    };
    let (Ok(pid), Ok(started)) = (pid.parse::<i32>(), started.parse::<u64>()) else {
        return false;
    };
    start_time(pid).is_some_and(|t| t == started)
}

/// The labels every resource of lattice `run` carries.
pub(crate) fn labels(run: &str) -> HashMap<String, String> {
    HashMap::from([
        (RUN_LABEL.to_string(), run.to_string()),
        (OWNER_LABEL.to_string(), owner_id()),
    ])
}

#[cfg(feature = "containers")]
pub(crate) use client::*;

#[cfg(feature = "containers")]
mod client {
    use testcontainers::bollard::Docker;

    use crate::HarnessError;

    /// A client of the local engine (API version negotiated: Docker 20.10 speaks 1.41).
    pub(crate) async fn connect() -> Result<Docker, HarnessError> {
        let path = super::socket_path().map_err(HarnessError::Config)?;
        let docker = Docker::connect_with_unix(
            &path.to_string_lossy(),
            30,
            testcontainers::bollard::API_DEFAULT_VERSION,
        )
        .map_err(|e| docker_error("connect to the Docker engine", e))?;
        docker
            .negotiate_version()
            .await
            .map_err(|e| docker_error("negotiate the Docker API version", e))
    }

    /// The address this machine has on the engine's default bridge (`docker0`, usually
    /// 172.17.0.1). A container on any network reaches a listener of the harness bound there; a
    /// listener on 127.0.0.1 is out of its reach.
    pub(crate) async fn bridge_gateway() -> Result<std::net::IpAddr, HarnessError> {
        use testcontainers::bollard::query_parameters::InspectNetworkOptions;
        let docker = connect().await?;
        let bridge = docker
            .inspect_network("bridge", None::<InspectNetworkOptions>)
            .await
            .map_err(|e| docker_error("inspect the default bridge network", e))?;
        let gateway = bridge
            .ipam
            .and_then(|i| i.config)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| c.gateway)
            .find_map(|g| g.parse::<std::net::Ipv4Addr>().ok())
            .ok_or_else(|| {
                HarnessError::Config(
                    "the Docker engine's default bridge network has no IPv4 gateway, so containers cannot reach the harness \
                     (dockerd started with --bridge=none?); start dockerd with its default bridge (`bash ci/setup-docker`)"
                        .into(),
                )
            })?;
        Ok(std::net::IpAddr::V4(gateway))
    }

    /// A Docker API failure as a harness error.
    pub(crate) fn docker_error(operation: &str, e: impl std::fmt::Display) -> HarnessError {
        HarnessError::request(format!("docker: {operation}"), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_an_alive_owner_and_a_dead_one_is_not() {
        assert!(owner_alive(&owner_id()));
        assert!(!owner_alive("999999999:1"));
        let me = std::process::id();
        assert!(
            !owner_alive(&format!("{me}:1")),
            "same pid, other start time: a reused pid"
        );
        assert!(!owner_alive("garbage"));
    }
}
