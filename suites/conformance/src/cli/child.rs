//! One `wasmcloud-conformance run` as a child process of this binary (what `power` and `matrix`
//! are made of): its output in a log file, and the report it names through `--outputs`.
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::exit::{CliError, Exit};

/// A `run` to start: its arguments after `run` (without `--outputs`), extra environment, and
/// where its output and outputs file go.
pub(crate) struct ChildRun {
    /// Arguments after `run`.
    pub(crate) args: Vec<OsString>,
    /// Variables set for it (on top of this process's environment).
    pub(crate) env: Vec<(String, String)>,
    /// Variables of this process's environment it must not see.
    pub(crate) unset: Vec<String>,
    /// Its stdout and stderr.
    pub(crate) log: PathBuf,
    /// Its `--outputs` file.
    pub(crate) outputs: PathBuf,
}

impl ChildRun {
    /// A run with no arguments yet, logging to `log`, its outputs in `outputs`.
    pub(crate) fn new(log: PathBuf, outputs: PathBuf) -> Self {
        Self {
            args: Vec::new(),
            env: Vec::new(),
            unset: Vec::new(),
            log,
            outputs,
        }
    }

    /// Adds `name value`.
    pub(crate) fn flag(&mut self, name: &str, value: impl AsRef<std::ffi::OsStr>) -> &mut Self {
        self.args.push(name.into());
        self.args.push(value.as_ref().to_os_string());
        self
    }

    /// Adds a flag without a value.
    pub(crate) fn switch(&mut self, name: &str) -> &mut Self {
        self.args.push(name.into());
        self
    }

    /// Runs it to its end; the path of the report it wrote. A run that ends without a verdict (an
    /// exit code other than 0, passed, or 1, failed) or names no report is an error pointing at
    /// its log.
    pub(crate) async fn report(&self, name: &str) -> Result<PathBuf, CliError> {
        let exe = std::env::current_exe()
            .map_err(|e| CliError::new(Exit::Internal, format!("cannot find this binary: {e}")))?;
        let file = std::fs::File::create(&self.log).map_err(|e| {
            CliError::new(
                Exit::Results,
                format!("cannot create {}: {e}", self.log.display()),
            )
        })?;
        let err = file.try_clone().map_err(|e| {
            CliError::new(
                Exit::Results,
                format!("cannot share {}: {e}", self.log.display()),
            )
        })?;
        let mut cmd = tokio::process::Command::new(&exe);
        cmd.arg("run")
            .args(&self.args)
            .arg("--outputs")
            .arg(&self.outputs)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(file)
            .stderr(err)
            .kill_on_drop(true);
        for name in &self.unset {
            cmd.env_remove(name);
        }
        let status = cmd.status().await.map_err(|e| {
            CliError::new(
                Exit::Internal,
                format!("cannot start {}: {e}", exe.display()),
            )
        })?;
        // 0 passed, 1 failed: a report either way. Anything else is not a judgement.
        if !matches!(status.code(), Some(0) | Some(1)) {
            return Err(CliError::new(
                Exit::Internal,
                format!(
                    "run {name} ended with {status} without a verdict; see {}",
                    self.log.display()
                ),
            ));
        }
        std::fs::read_to_string(&self.outputs)
            .ok()
            .and_then(|o| {
                o.lines()
                    .find_map(|l| l.strip_prefix("report=").map(PathBuf::from))
            })
            .ok_or_else(|| {
                CliError::new(
                    Exit::Internal,
                    format!("run {name} named no report; see {}", self.log.display()),
                )
            })
    }
}

/// The tests a report says failed or errored.
pub(crate) fn failed_tests(report: &Path) -> Result<Vec<String>, CliError> {
    let text = std::fs::read_to_string(report)
        .map_err(|e| CliError::new(Exit::Unreadable, format!("{}: {e}", report.display())))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| CliError::new(Exit::NotJson, format!("{}: {e}", report.display())))?;
    Ok(json["tests"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| matches!(t["status"].as_str(), Some("failed" | "error")))
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect())
}
