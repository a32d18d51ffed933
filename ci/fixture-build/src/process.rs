//! Running the tools a build needs, keeping what they printed for the error message.

use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Lines of a failing tool's output shown in the error.
const TAIL_LINES: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("run {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{command} exited with {status}\n{tail}")]
    Failed {
        command: String,
        status: String,
        tail: String,
    },
}

/// A command to run to completion with its output captured.
pub struct Tool {
    cmd: Command,
    timeout: Duration,
}

impl Tool {
    pub fn new(program: impl AsRef<OsStr>) -> Tool {
        let mut cmd = Command::new(program);
        cmd.stdin(Stdio::null());
        Tool {
            cmd,
            timeout: timeout(),
        }
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Tool {
        self.cmd.arg(a);
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(mut self, a: I) -> Tool {
        self.cmd.args(a);
        self
    }

    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Tool {
        self.cmd.env(k, v);
        self
    }

    /// For a nested cargo build: drops what `cargo run` (which runs this tool) put into the
    /// environment for fixture-build itself (its flags, its package's `CARGO_PKG_*`,
    /// `CARGO_MANIFEST_DIR`, ...). None of it is meant for the nested build, and build scripts
    /// that track such a variable (ring's tracks `CARGO_MANIFEST_DIR`) would otherwise make every
    /// build from here differ from the same build run from a shell: each would recompile much of
    /// the other's tree in a shared target directory.
    pub fn without_cargo_run_env(mut self) -> Tool {
        for (name, _) in std::env::vars_os() {
            if name.to_str().is_some_and(set_by_cargo_run) {
                self.cmd.env_remove(name);
            }
        }
        self
    }

    pub fn dir(mut self, d: impl AsRef<Path>) -> Tool {
        self.cmd.current_dir(d);
        self
    }

    /// Overrides how long the command may run.
    pub fn timeout(mut self, limit: Duration) -> Tool {
        self.timeout = limit;
        self
    }

    fn describe(&self) -> String {
        let mut s = self.cmd.get_program().to_string_lossy().into_owned();
        for a in self.cmd.get_args() {
            s.push(' ');
            s.push_str(&a.to_string_lossy());
        }
        s
    }

    /// Runs the command; on failure the error names it and carries the tail of its output. A
    /// command still running after [`TIMEOUT`] (or `WCC_FIXTURE_TOOL_TIMEOUT` seconds) is killed.
    pub fn run(mut self) -> Result<String, ToolError> {
        let command = self.describe();
        let program = self.cmd.get_program().to_string_lossy().into_owned();
        let mut child = self
            .cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| ToolError::Spawn { program, source })?;
        // Drain both pipes on threads so a chatty tool never blocks on a full pipe.
        let drain = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                if let Some(mut p) = pipe {
                    let _ = p.read_to_end(&mut buf);
                }
                buf
            })
        };
        let out_reader = drain(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let err_reader = drain(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let limit = self.timeout;
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if started.elapsed() > limit => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(_) => break child.wait().ok(),
            }
        };
        let stdout = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
        let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
        if status.is_some_and(|s| s.success()) {
            return Ok(stdout);
        }
        let mut shown = tail(&stderr, TAIL_LINES);
        if shown.trim().is_empty() {
            shown = tail(&stdout, TAIL_LINES);
        }
        let status = match status {
            None => format!("no result: killed after {}s", limit.as_secs()),
            Some(s) => s
                .code()
                .map_or_else(|| "a signal".to_string(), |c| format!("status {c}")),
        };
        Err(ToolError::Failed {
            command,
            status,
            tail: shown,
        })
    }
}

/// How long one tool may run (the slowest, a cold release build of the fixture providers, takes
/// about 5 minutes on 2 cores; a cold cargo build of a component, under a minute).
pub const TIMEOUT: Duration = Duration::from_secs(900);

fn timeout() -> Duration {
    std::env::var("WCC_FIXTURE_TOOL_TIMEOUT")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(TIMEOUT)
}

/// The last `n` lines of `text`, each indented, so they read as a quoted block.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    let mut out = String::new();
    if start > 0 {
        out.push_str(&format!("    ... ({start} earlier lines)\n"));
    }
    for l in &lines[start..] {
        out.push_str("    | ");
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// First line of a command's output, for version strings.
pub fn first_line(program: impl AsRef<OsStr>, args: &[&str]) -> Result<String, ToolError> {
    let out = Tool::new(program)
        .args(args)
        .timeout(Duration::from_secs(120))
        .run()?;
    Ok(out.lines().next().unwrap_or("").trim().to_string())
}

/// Whether `name` is one of the variables `cargo run` sets for the program it runs, or a flag
/// setting of the outer build.
fn set_by_cargo_run(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || matches!(
            name,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_TARGET_TMPDIR"
                | "OUT_DIR"
                | "RUSTFLAGS"
                | "CARGO_ENCODED_RUSTFLAGS"
                | "CARGO_BUILD_TARGET"
                | "CARGO_BUILD_RUSTFLAGS"
        )
}

#[cfg(test)]
mod tests {

    #[test]
    fn drops_what_cargo_run_sets_and_keeps_the_machines_settings() {
        for name in [
            "CARGO_MANIFEST_DIR",
            "CARGO_PKG_NAME",
            "CARGO_PKG_VERSION_MAJOR",
            "RUSTFLAGS",
        ] {
            assert!(super::set_by_cargo_run(name), "{name}");
        }
        for name in [
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_NET_OFFLINE",
            "PATH",
            "HOME",
        ] {
            assert!(!super::set_by_cargo_run(name), "{name}");
        }
    }
    use super::*;

    #[test]
    fn failure_carries_command_and_stderr_tail() {
        let err = Tool::new("sh")
            .args([
                "-c",
                "for i in $(seq 1 50); do echo line$i >&2; done; exit 3",
            ])
            .run()
            .unwrap_err()
            .to_string();
        assert!(err.contains("exited with status 3"), "{err}");
        assert!(
            err.contains("line50") && err.contains("line11") && !err.contains("line10\n"),
            "{err}"
        );
        assert!(err.contains("(10 earlier lines)"), "{err}");
    }

    #[test]
    fn success_returns_stdout_even_when_large() {
        let out = Tool::new("sh")
            .args([
                "-c",
                "head -c 300000 /dev/zero | tr '\\0' a; echo; echo done >&2",
            ])
            .run()
            .unwrap();
        assert_eq!(out.trim_end().len(), 300000);
    }

    #[test]
    fn a_hung_tool_is_killed() {
        let started = Instant::now();
        let err = Tool::new("sleep")
            .arg("30")
            .timeout(Duration::from_secs(1))
            .run()
            .unwrap_err()
            .to_string();
        assert!(err.contains("killed after 1s"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let err = Tool::new("/nonexistent/tool").run().unwrap_err();
        assert!(matches!(err, ToolError::Spawn { .. }), "{err}");
    }
}
