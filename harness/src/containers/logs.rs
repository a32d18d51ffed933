//! A container's output, captured like a process's: every line to `<log dir>/<name>.log` and to a
//! ring buffer for failure reports. The follower ends when the container stops, which is also how
//! the harness learns that a container exited.
use std::collections::VecDeque;
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt as _;
use testcontainers::bollard::container::LogOutput;
use testcontainers::bollard::query_parameters::LogsOptionsBuilder;
use testcontainers::bollard::Docker;

use crate::error::HarnessError;

const LOG_LINES_KEPT: usize = 400;

#[derive(Default)]
struct State {
    lines: VecDeque<String>,
}

/// The captured output of one container, across restarts. Cheap to clone.
#[derive(Clone)]
pub(crate) struct ContainerLogs {
    state: Arc<Mutex<State>>,
    file: Arc<Mutex<std::fs::File>>,
    /// Lines received so far over every follow (a re-follow after a restart skips these).
    seen: Arc<AtomicUsize>,
    /// Set when the current follow ended: the container stopped.
    ended: Arc<AtomicBool>,
}

fn strip_ansi(line: &str) -> String {
    static ANSI: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]").expect("valid regex")
    });
    ANSI.replace_all(line, "").into_owned()
}

impl ContainerLogs {
    pub(crate) fn new(name: &str, log_dir: &Path) -> Result<Self, HarnessError> {
        let path = log_dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&path)
            .map_err(HarnessError::io(format!("create {}", path.display())))?;
        Ok(Self {
            state: Arc::default(),
            file: Arc::new(Mutex::new(file)),
            seen: Arc::default(),
            ended: Arc::new(AtomicBool::new(true)),
        })
    }

    fn push(&self, line: &str) {
        let line = strip_ansi(line);
        if let Ok(mut f) = self.file.lock() {
            let _ = writeln!(f, "{line}");
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.lines.len() == LOG_LINES_KEPT {
            state.lines.pop_front();
        }
        state.lines.push_back(line);
    }

    /// The last `n` lines joined by newlines.
    pub(crate) fn tail(&self, n: usize) -> String {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let skip = state.lines.len().saturating_sub(n);
        state
            .lines
            .iter()
            .skip(skip)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// How many lines were captured so far (to look only at lines after a mark).
    pub(crate) fn mark(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }

    /// Whether a line after `mark` contains `needle` (only lines still in the buffer are seen).
    pub(crate) fn contains_since(&self, mark: usize, needle: &str) -> bool {
        let seen = self.seen.load(Ordering::SeqCst);
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let newer = seen.saturating_sub(mark).min(state.lines.len());
        state
            .lines
            .iter()
            .rev()
            .take(newer)
            .any(|l| l.contains(needle))
    }

    /// Whether the container stopped (its log stream ended) since the last follow began.
    pub(crate) fn ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }

    /// Follows the container's output from its start (the engine keeps it across restarts), skipping
    /// the lines already captured. Call after every (re)start.
    pub(crate) fn follow(&self, docker: &Docker, id: &str) {
        self.ended.store(false, Ordering::SeqCst);
        let options = LogsOptionsBuilder::new()
            .follow(true)
            .stdout(true)
            .stderr(true)
            .build();
        let mut stream = docker.logs(id, Some(options));
        let logs = self.clone();
        let skip = self.seen.load(Ordering::SeqCst);
        tokio::spawn(async move {
            let mut index = 0usize;
            let mut partial = String::new();
            while let Some(item) = stream.next().await {
                let bytes = match item {
                    Ok(
                        LogOutput::StdOut { message }
                        | LogOutput::StdErr { message }
                        | LogOutput::Console { message },
                    ) => message,
                    Ok(LogOutput::StdIn { .. }) => continue,
                    Err(_) => break,
                };
                partial.push_str(&String::from_utf8_lossy(&bytes));
                while let Some(end) = partial.find('\n') {
                    let line: String = partial.drain(..=end).collect();
                    index += 1;
                    if index > skip {
                        logs.push(line.trim_end_matches(['\n', '\r']));
                        logs.seen.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
            if !partial.is_empty() {
                index += 1;
                if index > skip {
                    logs.push(&partial);
                    logs.seen.fetch_add(1, Ordering::SeqCst);
                }
            }
            logs.ended.store(true, Ordering::SeqCst);
        });
    }
}
