//! Child processes the harness or a suite starts (the services of a lattice, the load suite's
//! anchors): each in its own process group, killed with its parent (`PR_SET_PDEATHSIG`) and when
//! its handle drops, its output captured to a file and a ring buffer for failure reports.
use std::collections::VecDeque;
use std::io::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::{Child, Command};

use crate::error::HarnessError;
use crate::wait::{Probe, Wait};

/// How many log lines a process keeps in memory for failure reports.
const LOG_LINES_KEPT: usize = 400;
/// Environment variables handed through to every child (everything else is cleared, so a
/// `WASMCLOUD_*` variable in the caller's shell cannot change the lattice under test).
const PASSTHROUGH_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "TMPDIR",
    "LD_LIBRARY_PATH",
    "RUST_BACKTRACE",
    "RUST_LOG",
];

/// Lines a process printed, most recent last.
#[derive(Clone, Default)]
pub(crate) struct LogBuffer(Arc<Mutex<VecDeque<String>>>);

impl LogBuffer {
    fn push(&self, line: String) {
        let mut lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == LOG_LINES_KEPT {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The last `n` lines joined by newlines.
    pub(crate) fn tail(&self, n: usize) -> String {
        let lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let skip = lines.len().saturating_sub(n);
        lines
            .iter()
            .skip(skip)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The first line matching `re`, with its captures rendered by `pick`.
    pub(crate) fn find<T>(
        &self,
        re: &regex::Regex,
        pick: impl Fn(&regex::Captures<'_>) -> T,
    ) -> Option<T> {
        let lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().find_map(|l| re.captures(l).map(|c| pick(&c)))
    }
}

/// A running child process, owned by its handle: dropping the handle kills its process group.
pub struct ManagedProcess {
    pub(crate) name: String,
    child: Child,
    pid: u32,
    pub(crate) logs: LogBuffer,
    /// `<log_dir>/<name>.log`: everything it printed.
    log_file: std::path::PathBuf,
    /// The tasks copying stdout and stderr into `logs`; finished once the pipes are closed.
    pumps: Vec<tokio::task::JoinHandle<()>>,
}

fn strip_ansi(line: &str) -> String {
    static ANSI: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]").expect("valid regex")
    });
    ANSI.replace_all(line, "").into_owned()
}

fn pump(
    reader: impl AsyncRead + Unpin + Send + 'static,
    logs: LogBuffer,
    file: Arc<Mutex<std::fs::File>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let line = strip_ansi(&line);
            if let Ok(mut f) = file.lock() {
                let _ = writeln!(f, "{line}");
            }
            logs.push(line);
        }
    })
}

impl ManagedProcess {
    /// Starts `path` with `args` and exactly `env` (plus a few pass-through variables: `PATH`,
    /// `HOME`, `TMPDIR`, `LD_LIBRARY_PATH`, `RUST_BACKTRACE`, `RUST_LOG`); its output goes to
    /// `<log_dir>/<name>.log` and to a ring buffer of its last lines.
    pub fn spawn(
        name: &str,
        path: &Path,
        args: &[String],
        env: &[(String, String)],
        log_dir: &Path,
    ) -> Result<Self, HarnessError> {
        let log_file = log_dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log_file)
            .map_err(HarnessError::io(format!("create {}", log_file.display())))?;
        let mut cmd = Command::new(path);
        cmd.args(args)
            .env_clear()
            .envs(
                PASSTHROUGH_ENV
                    .iter()
                    .filter_map(|k| std::env::var(k).ok().map(|v| (*k, v))),
            )
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Own process group (teardown kills the service and anything it started), dying with
        // the parent.
        crate::reaper::tie_to_this_process(&mut cmd);
        let mut child = cmd.spawn().map_err(|source| HarnessError::Spawn {
            what: name.to_string(),
            path: path.to_path_buf(),
            source,
        })?;
        let pid = child.id().unwrap_or_default();
        crate::reaper::register(pid);
        let logs = LogBuffer::default();
        let file = Arc::new(Mutex::new(file));
        let mut pumps = Vec::new();
        if let Some(out) = child.stdout.take() {
            pumps.push(pump(out, logs.clone(), file.clone()));
        }
        if let Some(err) = child.stderr.take() {
            pumps.push(pump(err, logs.clone(), file));
        }
        Ok(Self {
            name: name.to_string(),
            log_file,
            child,
            pid,
            logs,
            pumps,
        })
    }

    /// The process ID (the process group has the same ID).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Its last `n` output lines.
    pub fn log_tail(&self, n: usize) -> String {
        self.logs.tail(n)
    }

    /// Waits, bounded, until it exits and its output is read to the end; its whole output (its
    /// `<log_dir>/<name>.log`). Fails on a non-zero exit or a timeout, with its last lines.
    pub async fn finish(&mut self, timeout: Duration) -> Result<String, HarnessError> {
        let logs = self.logs.clone();
        let child = &mut self.child;
        let exited = Wait::new(format!("{} to finish", self.name), timeout)
            .interval(Duration::from_millis(20))
            .until(|_| {
                let status = child.try_wait();
                let last = logs.tail(1);
                async move {
                    match status {
                        Ok(Some(s)) => Probe::Ready((s.success(), s.to_string())),
                        Ok(None) => Probe::NotYet(format!("still running; last line {last:?}")),
                        Err(e) => Probe::Ready((false, format!("unknown ({e})"))),
                    }
                }
            })
            .await;
        let (success, status) = exited.map_err(|mut e| {
            e.last_seen = format!(
                "{}\n--- last log lines of {} ---\n{}",
                e.last_seen,
                self.name,
                self.logs.tail(30)
            );
            HarnessError::Timeout(e)
        })?;
        self.drain_logs().await;
        if !success {
            return Err(HarnessError::ExitedEarly {
                what: self.name.clone(),
                status,
                during: "it was expected to finish with success".into(),
                log_tail: self.logs.tail(40),
            });
        }
        std::fs::read_to_string(&self.log_file).map_err(HarnessError::io(format!(
            "read {}",
            self.log_file.display()
        )))
    }

    /// Waits, bounded, until a line of its output contains `needle`; fails at once, with its last
    /// lines, if it exits first.
    pub async fn wait_for_text(
        &mut self,
        needle: &str,
        timeout: Duration,
    ) -> Result<(), HarnessError> {
        let re =
            regex::Regex::new(&regex::escape(needle)).expect("an escaped literal is a valid regex");
        self.wait_for_log(&format!("to print {needle:?}"), &re, timeout, |_| ())
            .await
    }

    /// `Some(status)` once the process has exited.
    pub(crate) fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("unknown ({e})")),
        }
    }

    /// After an exit, waits (bounded) until everything the process printed is in `logs`: the
    /// exit can be seen before the last lines have been read from the pipes.
    pub(crate) async fn drain_logs(&self) {
        let pumps = &self.pumps;
        let _ = Wait::new(
            format!("{}: output read to the end", self.name),
            Duration::from_secs(2),
        )
        .interval(Duration::from_millis(5))
        .until(|_| async move {
            if pumps.iter().all(|p| p.is_finished()) {
                Probe::Ready(())
            } else {
                Probe::NotYet("a pipe is still open (a child of the process may hold it)".into())
            }
        })
        .await;
    }

    /// Fails with the log tail if the process has exited (`during`: what it was needed for).
    pub fn ensure_running(&mut self, during: &str) -> Result<(), HarnessError> {
        match self.exited() {
            None => Ok(()),
            Some(status) => Err(HarnessError::ExitedEarly {
                what: self.name.clone(),
                status,
                during: during.to_string(),
                log_tail: self.logs.tail(40),
            }),
        }
    }

    /// Runs `wait` on `probe`, but fails at once with the log tail if this process exits; a
    /// timeout carries the last log lines.
    pub(crate) async fn until_ready<T, F, Fut>(
        &mut self,
        wait: Wait,
        probe: F,
    ) -> Result<T, HarnessError>
    where
        F: FnMut(u32) -> Fut,
        Fut: std::future::Future<Output = Probe<T>>,
    {
        let what = wait.what().to_string();
        let mut exit: Option<HarnessError> = None;
        let result = wait
            .until_or_abort(probe, || match self.ensure_running(&what) {
                Ok(()) => None,
                Err(e) => {
                    exit = Some(e);
                    Some(())
                }
            })
            .await;
        if let Some(mut e) = exit {
            self.drain_logs().await;
            if let HarnessError::ExitedEarly { log_tail, .. } = &mut e {
                *log_tail = self.logs.tail(40);
            }
            return Err(e);
        }
        result.map_err(|mut e| {
            e.last_seen = format!(
                "{}\n--- last log lines of {} ---\n{}",
                e.last_seen,
                self.name,
                self.logs.tail(30)
            );
            HarnessError::Timeout(e)
        })
    }

    /// Waits until a log line matches `re`, returning what `pick` extracts from it.
    pub(crate) async fn wait_for_log<T: Send>(
        &mut self,
        what: &str,
        re: &regex::Regex,
        timeout: Duration,
        pick: impl Fn(&regex::Captures<'_>) -> T,
    ) -> Result<T, HarnessError> {
        let logs = self.logs.clone();
        let name = self.name.clone();
        let wait = Wait::new(format!("{name}: {what}"), timeout).interval(Duration::from_millis(5));
        self.until_ready(wait, |_| {
            let found = logs.find(re, &pick);
            async move {
                match found {
                    Some(v) => Probe::Ready(v),
                    None => Probe::NotYet("no matching log line yet".into()),
                }
            }
        })
        .await
    }

    /// Sends `signal` to the whole process group.
    pub(crate) fn signal(&self, signal: libc::c_int) {
        if self.pid > 0 {
            // SAFETY: plain syscall on a process group we created.
            unsafe {
                libc::killpg(self.pid as libc::pid_t, signal);
            }
        }
    }

    /// Asks the process to stop (SIGTERM), then kills it after `grace`; its exit status.
    pub async fn stop(&mut self, grace: Duration) -> Option<String> {
        self.signal(libc::SIGTERM);
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(Ok(status)) => {
                self.signal(libc::SIGKILL);
                Some(status.to_string())
            }
            _ => {
                self.signal(libc::SIGKILL);
                self.child.wait().await.ok().map(|s| s.to_string())
            }
        }
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        self.signal(libc::SIGKILL);
        crate::reaper::unregister(self.pid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_codes_are_stripped() {
        assert_eq!(
            strip_ansi("\x1b[2m2026\x1b[0m \x1b[32m INFO\x1b[0m ok"),
            "2026  INFO ok"
        );
    }

    #[test]
    fn log_buffer_keeps_the_tail() {
        let logs = LogBuffer::default();
        for i in 0..(LOG_LINES_KEPT + 10) {
            logs.push(format!("line {i}"));
        }
        let tail = logs.tail(2);
        assert_eq!(
            tail,
            format!("line {}\nline {}", LOG_LINES_KEPT + 8, LOG_LINES_KEPT + 9)
        );
        let re = regex::Regex::new(r"line (\d+)").unwrap();
        assert_eq!(logs.find(&re, |c| c[1].to_string()).as_deref(), Some("10"));
    }

    #[tokio::test]
    async fn finish_returns_the_whole_output_and_refuses_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let mut ok = ManagedProcess::spawn(
            "printer",
            Path::new("/bin/sh"),
            &[
                "-c".into(),
                "echo one; echo ready; sleep 0.5; echo two".into(),
            ],
            &[],
            dir.path(),
        )
        .unwrap();
        ok.wait_for_text("ready", Duration::from_secs(10))
            .await
            .unwrap();
        let out = ok.finish(Duration::from_secs(10)).await.unwrap();
        assert_eq!(out, "one\nready\ntwo\n");
        let mut bad = ManagedProcess::spawn(
            "bad",
            Path::new("/bin/sh"),
            &["-c".into(), "echo why >&2; exit 4".into()],
            &[],
            dir.path(),
        )
        .unwrap();
        let err = bad
            .finish(Duration::from_secs(10))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("exit status: 4") && err.contains("why"),
            "{err}"
        );
        let mut slow = ManagedProcess::spawn(
            "slow",
            Path::new("/bin/sleep"),
            &["30".into()],
            &[],
            dir.path(),
        )
        .unwrap();
        let err = slow
            .finish(Duration::from_millis(200))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("slow to finish"), "{err}");
    }

    #[tokio::test]
    async fn process_is_killed_on_drop_and_exit_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = ManagedProcess::spawn(
            "sleeper",
            Path::new("/bin/sleep"),
            &["30".into()],
            &[],
            dir.path(),
        )
        .unwrap();
        let pid = p.pid() as libc::pid_t;
        assert!(p.exited().is_none());
        drop(p);
        // The group was SIGKILLed; reap check via kill(0) converging within a bound.
        let gone = Wait::new("sleeper to die", Duration::from_secs(5))
            .until(|_| async move {
                // SAFETY: signal 0 only checks existence.
                if unsafe { libc::kill(pid, 0) } == 0 {
                    Probe::NotYet("still alive".into())
                } else {
                    Probe::Ready(())
                }
            })
            .await;
        assert!(gone.is_ok(), "{gone:?}");

        let mut p = ManagedProcess::spawn(
            "failer",
            Path::new("/bin/sh"),
            &["-c".into(), "echo boom >&2; exit 3".into()],
            &[],
            dir.path(),
        )
        .unwrap();
        let re = regex::Regex::new("never printed").unwrap();
        let err = p
            .wait_for_log("a line", &re, Duration::from_secs(10), |_| ())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("exited early") && err.contains("boom"),
            "{err}"
        );
    }
}
