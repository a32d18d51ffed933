//! Bounded waits that converge on an observed condition.
//!
//! Every wait has a deadline (scaled by `WCC_TIMEOUT_SCALE` for slow machines), may require several
//! successes in a row where the system is eventually consistent, and on timeout reports what was
//! awaited, how many attempts were made and what was last seen.
use std::future::Future;
use std::time::{Duration, Instant};

pub use crate::settings::TIMEOUT_SCALE_ENV;

/// The outcome of one look at the system.
#[derive(Debug)]
pub enum Probe<T> {
    /// The condition holds; here is what was observed.
    Ready(T),
    /// Not yet; the text says what was seen instead.
    NotYet(String),
}

/// A wait ran out of time.
#[derive(Clone, Debug, thiserror::Error)]
#[error("timed out after {elapsed:.1?} ({attempts} attempts) waiting for {what}\n  last seen: {last_seen}")]
pub struct WaitError {
    /// What was awaited.
    pub what: String,
    /// How many times the condition was checked.
    pub attempts: u32,
    /// How long the wait lasted.
    pub elapsed: Duration,
    /// What the last check observed.
    pub last_seen: String,
}

/// A bounded wait for a condition.
#[derive(Clone, Debug)]
pub struct Wait {
    what: String,
    timeout: Duration,
    interval: Duration,
    consecutive: u32,
    kind: Option<&'static str>,
}

/// A wait that converged: what it returned, how long it took and how many checks it made.
#[derive(Clone, Debug)]
pub struct Converged<T> {
    /// What the last check observed.
    pub value: T,
    /// From the wait's start to the check that completed it.
    pub elapsed: Duration,
    /// How many times the condition was checked.
    pub attempts: u32,
}

/// One convergence of the lattice a [`Recorder`] kept: a wait of a named kind that ended ready.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Convergence {
    /// What converged: `scale`, `provider`, `link`, `config`, `deploy`, `inventory`, `http`, …
    /// (see [`Wait::kind`]).
    pub kind: &'static str,
    /// What was awaited, as the wait names it.
    pub what: String,
    /// How long it took.
    pub elapsed: Duration,
    /// How many checks it made.
    pub attempts: u32,
}

tokio::task_local! {
    static RECORDER: Recorder;
}

/// Keeps the convergences of every wait with a kind that ends ready inside
/// [`Recorder::scope`] (in the same task: a spawned task records nothing).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::time::Duration;
/// use harness::wait::{Probe, Recorder, Wait};
/// let recorder = Recorder::default();
/// recorder
///     .scope(async {
///         Wait::new("the answer", Duration::from_secs(1))
///             .kind("demo")
///             .until(|n| async move { if n < 3 { Probe::NotYet("no".into()) } else { Probe::Ready(42) } })
///             .await
///     })
///     .await
///     .unwrap();
/// let seen = recorder.take();
/// assert_eq!((seen[0].kind, seen[0].attempts), ("demo", 3));
/// # });
/// ```
#[derive(Clone, Debug, Default)]
pub struct Recorder(std::sync::Arc<std::sync::Mutex<Vec<Convergence>>>);

impl Recorder {
    /// Runs `f` with this recorder keeping the convergences of its waits.
    pub async fn scope<F: Future>(&self, f: F) -> F::Output {
        RECORDER.scope(self.clone(), f).await
    }

    /// The convergences kept so far, oldest first (they stay kept).
    pub fn take(&self) -> Vec<Convergence> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn push(&self, c: Convergence) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(c);
    }
}

/// `d` scaled by the process's timeout factor ([`crate::settings::timeout_scale`]).
pub fn scaled(d: Duration) -> Duration {
    d.mul_f64(crate::settings::timeout_scale())
}

/// Waits until `GET url` answers 200 with exactly `body` three times in a row (checked every
/// 200 ms, at most 60 s scaled): what a route through an HTTP server to a component looks like
/// once it is really up (links and subscriptions reach every host shortly after wadm reports
/// Deployed). The timeout says the last status and body seen, or why the request failed.
#[cfg(feature = "http")]
pub async fn http_body(http: &reqwest::Client, url: &str, body: &str) -> Result<(), WaitError> {
    Wait::new(
        format!("GET {url} to answer {body:?}"),
        Duration::from_secs(60),
    )
    .kind("http")
    .consecutive(3)
    .interval(Duration::from_millis(200))
    .until(|_| async move {
        match http.get(url).send().await {
            Ok(resp) => {
                let status = resp.status();
                let text = resp.text().await.unwrap_or_default();
                if status == 200 && text == body {
                    Probe::Ready(())
                } else {
                    Probe::NotYet(format!("{status} {text:?}"))
                }
            }
            Err(e) => Probe::NotYet(format!("request failed: {e}")),
        }
    })
    .await
}

impl Wait {
    /// A wait for `what`, giving up after `timeout` (scaled).
    pub fn new(what: impl Into<String>, timeout: Duration) -> Self {
        Self {
            what: what.into(),
            timeout: scaled(timeout),
            interval: Duration::from_millis(100),
            consecutive: 1,
            kind: None,
        }
    }

    /// Pause between checks (default 100 ms).
    pub fn interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Names what kind of convergence this wait observes (e.g. `scale`, `link`, `deploy`): a wait
    /// with a kind that ends ready is kept by the [`Recorder`] in scope, for the report's times to
    /// consistency.
    pub fn kind(mut self, kind: &'static str) -> Self {
        self.kind = Some(kind);
        self
    }

    /// Require `n` successful checks in a row (default 1).
    pub fn consecutive(mut self, n: u32) -> Self {
        self.consecutive = n.max(1);
        self
    }

    /// Checks `probe` (given the attempt number) until it is ready `consecutive` times in a row.
    pub async fn until<T, F, Fut>(self, probe: F) -> Result<T, WaitError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Probe<T>>,
    {
        Ok(self.run(probe, || None).await?.value)
    }

    /// Like [`Wait::until`], and also says how long the wait took and how many checks it made.
    pub async fn until_timed<T, F, Fut>(self, probe: F) -> Result<Converged<T>, WaitError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Probe<T>>,
    {
        self.run(probe, || None).await
    }

    /// What is awaited (as its timeout error will say).
    pub(crate) fn what(&self) -> &str {
        &self.what
    }

    /// Like [`Wait::until`], but gives up at once when `abort` says so (returns `Some`): the
    /// caller knows why (e.g. the process it waits on exited).
    pub(crate) async fn until_or_abort<T, F, Fut>(
        self,
        probe: F,
        abort: impl FnMut() -> Option<()>,
    ) -> Result<T, WaitError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Probe<T>>,
    {
        Ok(self.run(probe, abort).await?.value)
    }

    async fn run<T, F, Fut>(
        self,
        mut probe: F,
        mut abort: impl FnMut() -> Option<()>,
    ) -> Result<Converged<T>, WaitError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Probe<T>>,
    {
        let start = Instant::now();
        let deadline = start + self.timeout;
        let mut attempts = 0;
        let mut streak = 0;
        let mut last_seen = String::from("(not checked yet)");
        loop {
            attempts += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(remaining.max(Duration::from_millis(1)), probe(attempts))
                .await
            {
                Ok(Probe::Ready(value)) => {
                    streak += 1;
                    if streak >= self.consecutive {
                        let converged = Converged {
                            value,
                            elapsed: start.elapsed(),
                            attempts,
                        };
                        if let Some(kind) = self.kind {
                            let _ = RECORDER.try_with(|r| {
                                r.push(Convergence {
                                    kind,
                                    what: self.what.clone(),
                                    elapsed: converged.elapsed,
                                    attempts,
                                })
                            });
                        }
                        return Ok(converged);
                    }
                    last_seen = format!("ready {streak} of {} times in a row", self.consecutive);
                }
                Ok(Probe::NotYet(seen)) => {
                    streak = 0;
                    last_seen = seen;
                }
                Err(_) => {
                    streak = 0;
                    last_seen =
                        format!("{last_seen} (the last check itself did not finish in time)");
                }
            }
            if abort().is_some() {
                return Err(WaitError {
                    what: self.what,
                    attempts,
                    elapsed: start.elapsed(),
                    last_seen,
                });
            }
            if Instant::now() + self.interval > deadline {
                return Err(WaitError {
                    what: self.what,
                    attempts,
                    elapsed: start.elapsed(),
                    last_seen,
                });
            }
            tokio::time::sleep(self.interval).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_recorder_keeps_the_waits_with_a_kind_that_converged() {
        let recorder = Recorder::default();
        recorder
            .scope(async {
                let timed = Wait::new("third time", Duration::from_secs(5))
                    .interval(Duration::from_millis(1))
                    .kind("scale")
                    .until_timed(|n| async move {
                        if n < 3 {
                            Probe::NotYet("not yet".into())
                        } else {
                            Probe::Ready(n)
                        }
                    })
                    .await
                    .unwrap();
                assert_eq!((timed.value, timed.attempts), (3, 3));
                // Without a kind, and a wait that timed out: neither is a convergence.
                Wait::new("untagged", Duration::from_secs(1))
                    .until(|_| async { Probe::Ready(()) })
                    .await
                    .unwrap();
                let _ = Wait::new("never", Duration::from_millis(5))
                    .kind("link")
                    .interval(Duration::from_millis(1))
                    .until(|_| async { Probe::<()>::NotYet("no".into()) })
                    .await;
            })
            .await;
        let kept = recorder.take();
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!(
            (kept[0].kind, kept[0].what.as_str(), kept[0].attempts),
            ("scale", "third time", 3)
        );
        // Outside a scope a wait records nothing and still works.
        Wait::new("outside", Duration::from_secs(1))
            .kind("scale")
            .until(|_| async { Probe::Ready(()) })
            .await
            .unwrap();
        assert_eq!(recorder.take().len(), 1);
    }

    #[tokio::test]
    async fn requires_consecutive_successes() {
        // Ready, NotYet, Ready, Ready, Ready: three in a row only from attempt 3 on.
        let seen = Wait::new("flappy", Duration::from_secs(5))
            .interval(Duration::from_millis(1))
            .consecutive(3)
            .until(|n| async move {
                if n == 2 {
                    Probe::NotYet("blip".into())
                } else {
                    Probe::Ready(n)
                }
            })
            .await
            .unwrap();
        assert_eq!(seen, 5);
    }

    #[tokio::test]
    async fn timeout_reports_what_was_awaited_and_last_seen() {
        let err = Wait::new("the moon", Duration::from_millis(50))
            .interval(Duration::from_millis(5))
            .until(|n| async move { Probe::<()>::NotYet(format!("cloud #{n}")) })
            .await
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("waiting for the moon") && msg.contains("last seen: cloud #"),
            "{msg}"
        );
        assert!(err.attempts >= 2, "{err:?}");
    }

    #[tokio::test]
    async fn a_hanging_check_is_bounded() {
        let err = Wait::new("a hanging check", Duration::from_millis(50))
            .until(|_| async { std::future::pending::<Probe<()>>().await })
            .await
            .unwrap_err();
        assert!(err.elapsed < Duration::from_secs(2), "{err:?}");
    }
}
