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

/// Labels as the Docker API filter wants them: `key=value`, or `key` for any value.
#[cfg(feature = "containers")]
pub(crate) fn label_filter(
    pairs: &[(&str, Option<&str>)],
) -> std::collections::HashMap<String, Vec<String>> {
    let labels = pairs
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => (*k).to_string(),
        })
        .collect();
    std::collections::HashMap::from([("label".to_string(), labels)])
}

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

/// Start time of a process in clock ticks since boot.
pub(crate) fn start_time(pid: i32) -> Option<u64> {
    crate::procfs::Stat::of(pid).map(|s| s.start_time)
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

/// The option of a bridge network that names its interface on this machine.
const BRIDGE_NAME_OPTION: &str = "com.docker.network.bridge.name";
/// The default bridge's interface when the network does not name it.
const DEFAULT_BRIDGE: &str = "docker0";

/// The IPv4 addresses the kernel has on interface `name` (none when it does not exist).
pub(crate) fn interface_ipv4(name: &str) -> Vec<std::net::Ipv4Addr> {
    let mut found = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list that freeifaddrs releases below; each
    // entry's name is a NUL-terminated string and its address, when not null, a sockaddr whose
    // family says its layout.
    unsafe {
        if libc::getifaddrs(&mut list) != 0 {
            return found;
        }
        let mut entry = list;
        while !entry.is_null() {
            let e = &*entry;
            let addr = e.ifa_addr;
            if !addr.is_null()
                && i32::from((*addr).sa_family) == libc::AF_INET
                && std::ffi::CStr::from_ptr(e.ifa_name).to_bytes() == name.as_bytes()
            {
                let v4 = &*(addr as *const libc::sockaddr_in);
                found.push(std::net::Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr)));
            }
            entry = e.ifa_next;
        }
        libc::freeifaddrs(list);
    }
    found
}

/// Picks the address containers reach the harness at: the bridge interface's own IPv4 address,
/// else the IPAM gateway the engine reports, else an error that says what was seen.
pub(crate) fn choose_harness_address(
    interface: &str,
    interface_addrs: &[std::net::Ipv4Addr],
    ipam: &[(Option<String>, Option<String>)],
) -> Result<std::net::Ipv4Addr, String> {
    if let Some(a) = interface_addrs.first() {
        return Ok(*a);
    }
    if let Some(g) = ipam
        .iter()
        .filter_map(|(_, g)| g.as_deref()?.parse::<std::net::Ipv4Addr>().ok())
        .next()
    {
        return Ok(g);
    }
    let seen = if ipam.is_empty() {
        "no IPAM configuration".to_string()
    } else {
        ipam.iter()
            .map(|(s, g)| {
                format!(
                    "subnet {} gateway {}",
                    s.as_deref().unwrap_or("-"),
                    g.as_deref().unwrap_or("-")
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(format!(
        "containers cannot reach the harness: the Docker engine's default bridge has no IPv4 \
         address on interface {interface} of this machine, and its IPAM names no IPv4 gateway \
         ({seen}); was dockerd started with --bridge=none? `bash ci/setup-docker` starts it with \
         its default bridge"
    ))
}

#[cfg(feature = "containers")]
pub(crate) use client::*;

#[cfg(feature = "containers")]
mod client {
    use testcontainers::bollard::Docker;

    use crate::error::HarnessError;

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
    ///
    /// The kernel is asked first: the IPv4 address of the bridge's interface (its name from the
    /// network's `com.docker.network.bridge.name` option, `docker0` by default). The IPAM
    /// `Gateway` of `docker network inspect bridge` is only the fallback, since an engine may
    /// leave it out (a freshly started Docker 20.10 shows a `Subnet` and no `Gateway`).
    pub(crate) async fn bridge_gateway() -> Result<std::net::IpAddr, HarnessError> {
        use testcontainers::bollard::query_parameters::InspectNetworkOptions;
        let docker = connect().await?;
        let bridge = docker
            .inspect_network("bridge", None::<InspectNetworkOptions>)
            .await
            .map_err(|e| docker_error("inspect the default bridge network", e))?;
        let interface = bridge
            .options
            .as_ref()
            .and_then(|o| o.get(super::BRIDGE_NAME_OPTION))
            .filter(|n| !n.is_empty())
            .cloned()
            .unwrap_or_else(|| super::DEFAULT_BRIDGE.to_string());
        let ipam: Vec<(Option<String>, Option<String>)> = bridge
            .ipam
            .and_then(|i| i.config)
            .unwrap_or_default()
            .into_iter()
            .map(|c| (c.subnet, c.gateway))
            .collect();
        super::choose_harness_address(
            &interface,
            super::interface_ipv4(&interface).as_slice(),
            &ipam,
        )
        .map(std::net::IpAddr::V4)
        .map_err(HarnessError::Config)
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
    fn the_loopback_interface_has_127_0_0_1_and_a_missing_one_has_nothing() {
        assert!(interface_ipv4("lo").contains(&std::net::Ipv4Addr::LOCALHOST));
        assert!(interface_ipv4("wcc-no-such-if").is_empty());
    }

    #[test]
    fn the_harness_address_is_the_interface_first_then_the_gateway_else_a_clear_error() {
        let a: std::net::Ipv4Addr = "172.17.0.1".parse().unwrap();
        let subnet_only = [(Some("172.17.0.0/16".to_string()), None)];
        // A fresh Docker 20.10 engine: a subnet and no gateway, the interface has its address.
        assert_eq!(choose_harness_address("docker0", &[a], &subnet_only), Ok(a));
        let with_gw = [(
            Some("172.18.0.0/16".to_string()),
            Some("172.18.0.1".to_string()),
        )];
        assert_eq!(choose_harness_address("docker0", &[a], &with_gw), Ok(a));
        assert_eq!(
            choose_harness_address("docker0", &[], &with_gw),
            Ok("172.18.0.1".parse().unwrap())
        );
        let e = choose_harness_address("docker0", &[], &subnet_only).unwrap_err();
        assert!(
            e.contains("docker0") && e.contains("subnet 172.17.0.0/16 gateway -"),
            "{e}"
        );
        let e = choose_harness_address("br0", &[], &[]).unwrap_err();
        assert!(e.contains("no IPAM configuration"), "{e}");
    }

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
