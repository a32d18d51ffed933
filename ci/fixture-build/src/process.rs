//! Running the tools a build needs, keeping what they printed for the error message.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Stdio};

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
}

impl Tool {
    pub fn new(program: impl AsRef<OsStr>) -> Tool {
        let mut cmd = Command::new(program);
        cmd.stdin(Stdio::null());
        Tool { cmd }
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

    pub fn env_remove(mut self, k: impl AsRef<OsStr>) -> Tool {
        self.cmd.env_remove(k);
        self
    }

    pub fn dir(mut self, d: impl AsRef<Path>) -> Tool {
        self.cmd.current_dir(d);
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

    /// Runs the command; on failure the error names it and carries the tail of its output.
    pub fn run(mut self) -> Result<String, ToolError> {
        let command = self.describe();
        let program = self.cmd.get_program().to_string_lossy().into_owned();
        let out = self
            .cmd
            .output()
            .map_err(|source| ToolError::Spawn { program, source })?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            return Ok(stdout);
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut shown = tail(&stderr, TAIL_LINES);
        if shown.trim().is_empty() {
            shown = tail(&stdout, TAIL_LINES);
        }
        let status = out
            .status
            .code()
            .map_or_else(|| "a signal".to_string(), |c| format!("status {c}"));
        Err(ToolError::Failed {
            command,
            status,
            tail: shown,
        })
    }
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
    let out = Tool::new(program).args(args).run()?;
    Ok(out.lines().next().unwrap_or("").trim().to_string())
}

#[cfg(test)]
mod tests {
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
    fn missing_program_is_a_spawn_error() {
        let err = Tool::new("/nonexistent/tool").run().unwrap_err();
        assert!(matches!(err, ToolError::Spawn { .. }), "{err}");
    }
}
