//! Anchor processes (native server, `wasmtime serve`, `wrk`, a bare `nats-server`): each in its own
//! process group, killed with the suite (`harness::reaper`) and when its handle is dropped, its
//! output captured to a file for error messages.
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::generator::{http::HttpGet, Caller as _, Target as _};
use anyhow::Context as _;
use harness::wait::{Probe, Wait};
use tokio::process::{Child, Command};

/// A child process owned by the suite.
pub struct Owned {
    name: String,
    child: Child,
    pid: i32,
    log: PathBuf,
}

impl Owned {
    /// Starts `program` with `args`, output to `<dir>/<name>.log`.
    pub fn spawn(name: &str, program: &Path, args: &[String], dir: &Path) -> anyhow::Result<Self> {
        let log = dir.join(format!("{name}.log"));
        let out =
            std::fs::File::create(&log).with_context(|| format!("create {}", log.display()))?;
        let err = out.try_clone()?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true);
        harness::reaper::tie_to_this_process(&mut cmd);
        let child = cmd
            .spawn()
            .with_context(|| format!("start {name} ({})", program.display()))?;
        let pid = child.id().unwrap_or_default() as i32;
        harness::reaper::register(pid as u32);
        Ok(Self {
            name: name.to_string(),
            child,
            pid,
            log,
        })
    }

    /// What it printed so far (last 30 lines).
    pub fn output(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Fails with its output when it has exited.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => anyhow::bail!("{} exited ({status}):\n{}", self.name, self.output()),
        }
    }

    /// Waits (bounded) until it exits, returns its whole output; fails on a non-zero exit.
    pub async fn finish(mut self, timeout: Duration) -> anyhow::Result<String> {
        let status = tokio::time::timeout(timeout, self.child.wait())
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "{} did not finish within {timeout:?}:\n{}",
                    self.name,
                    self.output()
                )
            })??;
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        anyhow::ensure!(
            status.success(),
            "{} exited with {status}:\n{}",
            self.name,
            self.output()
        );
        Ok(text)
    }

    /// Waits until its output contains `needle` (fails early if it exits).
    pub async fn wait_output(&mut self, needle: &str, timeout: Duration) -> anyhow::Result<()> {
        let log = self.log.clone();
        let what = format!("{} to print {needle:?}", self.name);
        Wait::new(what, timeout)
            .interval(Duration::from_millis(5))
            .until(|_| {
                let running = self.ensure_running();
                let seen = std::fs::read_to_string(&log).unwrap_or_default();
                async move {
                    match running {
                        Err(e) => Probe::Ready(Err(e)),
                        Ok(()) if seen.contains(needle) => Probe::Ready(Ok(())),
                        Ok(()) => Probe::NotYet(format!(
                            "last line so far: {:?}",
                            seen.lines().last().unwrap_or("")
                        )),
                    }
                }
            })
            .await?
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        if self.pid > 0 {
            // SAFETY: plain syscall on the process group this handle created.
            unsafe {
                libc::killpg(self.pid, libc::SIGKILL);
            }
            harness::reaper::unregister(self.pid as u32);
        }
    }
}

/// A free TCP port on loopback.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Waits until `GET http://<addr>/` answers 200 with `body` (bounded), through the same HTTP
/// client the load runs use.
pub async fn wait_http(addr: &str, body: &str, timeout: Duration) -> anyhow::Result<()> {
    let target = HttpGet::new(addr, "/", Some(body.as_bytes().to_vec()));
    let target = &target;
    Wait::new(format!("GET http://{addr}/ to answer {body:?}"), timeout)
        .interval(Duration::from_millis(10))
        .until(|_| async move {
            let answer = match target.caller().await {
                Ok(mut caller) => caller.call().await,
                Err(e) => Err(e),
            };
            match answer {
                Ok(()) => Probe::Ready(()),
                Err(e) => Probe::NotYet(e),
            }
        })
        .await?;
    Ok(())
}
