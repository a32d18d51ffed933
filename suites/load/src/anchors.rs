//! The anchors: a native HTTP hello server, the HTTP fixture under `wasmtime serve`, `wrk`, and a
//! NATS echo responder, each a child process of the suite.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use harness::process::ManagedProcess;

use crate::ready::wait_http;

/// The HTTP fixture's answer to GET.
pub const HELLO: &str = "hello from rust";

/// A running HTTP server and its address.
pub struct Server {
    /// `127.0.0.1:<port>`.
    pub addr: String,
    _process: ManagedProcess,
}

/// The native hello server (`wcc-load-anchor http`).
pub async fn native_http(anchor_bin: &Path, dir: &Path) -> anyhow::Result<Server> {
    let addr = format!("127.0.0.1:{}", harness::net::free_port()?);
    let mut p = ManagedProcess::spawn(
        "native-http",
        anchor_bin,
        &["http".into(), addr.clone()],
        &[],
        dir,
    )?;
    p.wait_for_text("ready", Duration::from_secs(10)).await?;
    wait_http(&addr, HELLO, Duration::from_secs(10)).await?;
    Ok(Server { addr, _process: p })
}

/// `wasmtime serve` of `component`; returns the server and the time from spawn to its first
/// correct answer (the wasm runtime's cold start, the anchor of host and component starts).
pub async fn wasmtime_serve(
    wasmtime: &Path,
    component: &Path,
    dir: &Path,
) -> anyhow::Result<(Server, Duration)> {
    anyhow::ensure!(
        wasmtime.exists(),
        "{} is missing (run bash ci/setup-load)",
        wasmtime.display()
    );
    let addr = format!("127.0.0.1:{}", harness::net::free_port()?);
    let args = vec![
        "serve".into(),
        "-S".into(),
        "cli".into(),
        "--addr".into(),
        addr.clone(),
        component.display().to_string(),
    ];
    let start = Instant::now();
    let mut p = ManagedProcess::spawn("wasmtime-serve", wasmtime, &args, &[], dir)?;
    let ready = wait_http(&addr, HELLO, Duration::from_secs(30)).await;
    let took = start.elapsed();
    if let Err(e) = ready {
        p.ensure_running("answering on its address")?;
        return Err(e);
    }
    Ok((Server { addr, _process: p }, took))
}

/// wrk's throughput against `addr` with `connections` over two threads for `duration`.
pub async fn wrk(
    addr: &str,
    connections: usize,
    duration: Duration,
    dir: &Path,
) -> anyhow::Result<f64> {
    let wrk = which("wrk").context("wrk is not installed (run bash ci/setup-load)")?;
    let args = vec![
        "-t2".into(),
        format!("-c{connections}"),
        format!("-d{}s", duration.as_secs().max(1)),
        format!("http://{addr}/"),
    ];
    let out = ManagedProcess::spawn("wrk", &wrk, &args, &[], dir)?
        .finish(duration + Duration::from_secs(30))
        .await?;
    parse_wrk(&out).with_context(|| format!("no Requests/sec in wrk's output:\n{out}"))
}

/// `Requests/sec:  1234.56` from wrk's output; `None` when non-2xx answers were counted.
pub fn parse_wrk(out: &str) -> Option<f64> {
    if out.contains("Non-2xx or 3xx responses") {
        return None;
    }
    out.lines().find_map(|l| {
        l.trim()
            .strip_prefix("Requests/sec:")
            .and_then(|v| v.trim().parse().ok())
    })
}

/// A NATS responder echoing requests on `subject` (`wcc-load-anchor nats-echo`).
pub async fn nats_echo(
    anchor_bin: &Path,
    url: &str,
    subject: &str,
    dir: &Path,
) -> anyhow::Result<ManagedProcess> {
    let mut p = ManagedProcess::spawn(
        "nats-echo",
        anchor_bin,
        &["nats-echo".into(), url.into(), subject.into()],
        &[],
        dir,
    )?;
    p.wait_for_text("ready", Duration::from_secs(10)).await?;
    Ok(p)
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    #[test]
    fn wrk_output_is_parsed() {
        let out = "Running 2s test @ http://127.0.0.1:1/\n  2 threads and 16 connections\n  Thread Stats   Avg\n  71245 requests in 2.00s, 7.68MB read\nRequests/sec:  35612.48\nTransfer/sec:      3.84MB\n";
        assert_eq!(super::parse_wrk(out), Some(35612.48));
        assert_eq!(
            super::parse_wrk("  Non-2xx or 3xx responses: 5\nRequests/sec: 10.0"),
            None
        );
        assert_eq!(super::parse_wrk("nothing"), None);
    }
}
