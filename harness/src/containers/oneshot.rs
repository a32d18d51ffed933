//! One container run to completion (e.g. `<image> --version`), through the engine API rather than
//! `docker run --rm`: the container carries the `wcc.run` and `wcc.owner` labels, so if this
//! process dies while it runs the reaper removes it; on a timeout it is removed at once.
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use testcontainers::bollard::container::LogOutput;
use testcontainers::bollard::models::{ContainerCreateBody, HostConfig};
use testcontainers::bollard::query_parameters::{
    CreateContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    StartContainerOptions, WaitContainerOptions,
};
use testcontainers::bollard::Docker;

use super::engine::{self, docker_error};
use crate::error::HarnessError;
use crate::wait::WaitError;

/// How a container run to completion ended.
#[derive(Clone, Debug)]
pub struct Completed {
    /// The container's exit code.
    pub exit_code: i64,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
}

impl Completed {
    /// Whether it exited 0.
    pub fn success(&self) -> bool {
        self.exit_code == 0
    }
}

/// Runs `image` with `args` (appended to its entrypoint) in a container without network, waits
/// at most `timeout` for it to exit and returns its exit code and output. The container is
/// labelled `wcc.run=oneshot-<pid>-<n>` and `wcc.owner=<this process>`, and removed (force)
/// whatever happens, including a timeout: that error names what was awaited and the container's
/// last log lines. Nothing is pulled: the image must be on the local engine.
pub async fn run_to_completion(
    image: &str,
    args: &[&str],
    timeout: Duration,
) -> Result<Completed, HarnessError> {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let run = format!(
        "oneshot-{}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    );
    let docker = engine::connect().await?;
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(args.iter().map(|a| a.to_string()).collect()),
        labels: Some(engine::labels(&run)),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::new().name(&run).build();
    docker
        .create_container(Some(options), body)
        .await
        .map_err(|e| docker_error(&format!("create a container of {image}"), e))?;
    let started = Instant::now();
    let outcome = async {
        docker
            .start_container(&run, None::<StartContainerOptions>)
            .await
            .map_err(|e| docker_error(&format!("start a container of {image}"), e))?;
        let mut wait = docker.wait_container(&run, None::<WaitContainerOptions>);
        let exit_code = match tokio::time::timeout(timeout, wait.next()).await {
            Ok(Some(Ok(r))) => r.status_code,
            Ok(Some(Err(testcontainers::bollard::errors::Error::DockerContainerWaitError {
                code,
                ..
            }))) => code,
            Ok(Some(Err(e))) => {
                return Err(docker_error(&format!("wait for the container {run}"), e))
            }
            Ok(None) => {
                return Err(docker_error(
                    &format!("wait for the container {run}"),
                    "the engine closed the wait without an exit code",
                ))
            }
            Err(_) => {
                let (stdout, stderr) = output(&docker, &run, Some(20)).await;
                return Err(HarnessError::Timeout(WaitError {
                    what: format!("the container {run} ({image} {}) to exit", args.join(" ")),
                    attempts: 1,
                    elapsed: started.elapsed(),
                    last_seen: format!(
                        "still running; it was removed (force)\n--- last log lines of {run} ---\n{}",
                        [stdout.trim_end(), stderr.trim_end()]
                            .iter()
                            .filter(|s| !s.is_empty())
                            .copied()
                            .collect::<Vec<_>>()
                            .join("\n")
                    ),
                }));
            }
        };
        let (stdout, stderr) = output(&docker, &run, None).await;
        Ok(Completed {
            exit_code,
            stdout,
            stderr,
        })
    }
    .await;
    let remove = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(true)
        .build();
    let _ = docker.remove_container(&run, Some(remove)).await;
    outcome
}

/// The container's stdout and stderr (the last `tail` lines of each, or all).
async fn output(docker: &Docker, id: &str, tail: Option<usize>) -> (String, String) {
    let tail = tail.map_or_else(|| "all".to_string(), |n| n.to_string());
    let options = LogsOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .tail(&tail)
        .build();
    let mut logs = docker.logs(id, Some(options));
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout(Duration::from_secs(5), logs.next()).await
    {
        match chunk {
            LogOutput::StdOut { message } | LogOutput::Console { message } => {
                stdout.extend_from_slice(&message)
            }
            LogOutput::StdErr { message } => stderr.extend_from_slice(&message),
            LogOutput::StdIn { .. } => {}
        }
    }
    (
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}
