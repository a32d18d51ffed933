//! Open- and closed-loop runs: workers, the open-loop dispatcher thread, the report and the rule
//! that rejects a run the generator itself made untrustworthy.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, Mutex};

use super::histogram::{LatencyHistogram, Summary};
use super::schedule::Schedule;
use super::target::{Caller, Target};

/// Error messages kept as samples per run.
const ERROR_SAMPLES: usize = 5;

/// How requests are paced.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "mode")]
pub enum Mode {
    /// `rate` requests per second at scheduled times, whatever the answers do; latency is
    /// measured from the scheduled time.
    Open {
        /// Requests per second offered.
        rate: f64,
    },
    /// Each worker sends its next request when the previous one is answered (peak throughput;
    /// latency from the send, which hides queueing: use it for throughput only).
    Closed,
}

/// What to run.
#[derive(Clone, Debug)]
pub struct LoadSpec {
    /// Pacing.
    pub mode: Mode,
    /// The measured window.
    pub duration: Duration,
    /// Run before the measured window, not counted (connections, caches, JIT-less warm paths).
    pub warmup: Duration,
    /// Concurrent workers (each with its own caller, e.g. connection).
    pub workers: usize,
    /// Open loop: the run is rejected when the dispatcher's p99 lateness exceeds this.
    pub max_lateness_p99: Duration,
    /// A call without an answer after this is an error.
    pub call_timeout: Duration,
    /// Open loop: slots still queued this long after the schedule's end are not sent (and the
    /// run is rejected: the target could not keep up with the offered rate).
    pub drain_limit: Duration,
}

impl LoadSpec {
    fn new(mode: Mode, duration: Duration) -> Self {
        Self {
            mode,
            duration,
            warmup: Duration::from_millis(500),
            workers: 8,
            max_lateness_p99: Duration::from_millis(2),
            call_timeout: Duration::from_secs(10),
            drain_limit: Duration::from_secs(5),
        }
    }

    /// Open loop at `rate` requests per second for `duration`.
    pub fn open(rate: f64, duration: Duration) -> Self {
        Self::new(Mode::Open { rate }, duration)
    }

    /// Closed loop for `duration`.
    pub fn closed(duration: Duration) -> Self {
        Self::new(Mode::Closed, duration)
    }

    /// Sets the number of workers (at least 1).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }

    /// Sets the warm-up.
    pub fn warmup(mut self, d: Duration) -> Self {
        self.warmup = d;
        self
    }

    /// Sets the rejection threshold for the dispatcher's p99 lateness.
    pub fn max_lateness_p99(mut self, d: Duration) -> Self {
        self.max_lateness_p99 = d;
        self
    }
}

/// The outcome of a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoadReport {
    /// What was called.
    pub target: String,
    /// Pacing (and offered rate).
    #[serde(flatten)]
    pub mode: Mode,
    /// Workers.
    pub workers: usize,
    /// Length of the measured window, seconds.
    pub duration_s: f64,
    /// Answered correctly within the window.
    pub ok: u64,
    /// Failed within the window (wrong answer, transport error, timeout).
    pub errors: u64,
    /// A few error messages.
    pub error_samples: Vec<String>,
    /// Correct answers per second over the window.
    pub throughput_rps: f64,
    /// Open loop: from the intended send time to the answer (corrected for coordinated
    /// omission). Closed loop: from the send.
    pub latency: Summary,
    /// From the actual send to the answer.
    pub service: Summary,
    /// Open loop: from the intended time to the actual send (dispatcher lateness plus waiting
    /// for a free worker).
    pub send_delay: Summary,
    /// Open loop: how late the dispatcher released each slot (the generator's own lateness).
    pub lateness: Summary,
    /// Open loop: slots never sent (the drain limit passed).
    pub unsent: u64,
    /// Why the run cannot be trusted, if it cannot.
    pub rejected: Option<String>,
    /// Whether it was rejected for the generator's own lateness: a verdict on the measuring
    /// machine, not on the target (unsent slots and connect failures are the target's).
    #[serde(default)]
    pub generator_late: bool,
    /// The merged latency histogram (not serialised).
    #[serde(skip)]
    pub histogram: Option<LatencyHistogram>,
}

impl LoadReport {
    /// A report of nothing yet: no answers, no errors, not rejected.
    pub fn empty(target: String, mode: Mode, workers: usize, duration_s: f64) -> Self {
        Self {
            target,
            mode,
            workers,
            duration_s,
            ok: 0,
            errors: 0,
            error_samples: Vec::new(),
            throughput_rps: 0.0,
            latency: Summary::default(),
            service: Summary::default(),
            send_delay: Summary::default(),
            lateness: Summary::default(),
            unsent: 0,
            rejected: None,
            generator_late: false,
            histogram: None,
        }
    }

    /// The error rate within the window.
    pub fn error_rate(&self) -> f64 {
        let total = self.ok + self.errors;
        if total == 0 {
            1.0
        } else {
            self.errors as f64 / total as f64
        }
    }
}

/// Why an open-loop run cannot be trusted.
#[derive(Debug, PartialEq)]
pub(crate) enum Rejection {
    /// The dispatcher released its slots too late: the latencies partly measure the generator
    /// (or the machine it shares with the target), not the target.
    Late(String),
    /// Slots were never sent: the target could not keep up with the offered rate.
    Unsent(String),
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Late(why) | Self::Unsent(why) => f.write_str(why),
        }
    }
}

/// The rule: an open-loop run is rejected when its dispatcher was too late or when slots could
/// not be sent at all.
pub(crate) fn judge(lateness: &Summary, unsent: u64, limit: Duration) -> Option<Rejection> {
    let limit_us = limit.as_secs_f64() * 1e6;
    if lateness.count > 0 && lateness.p99_us > limit_us {
        return Some(Rejection::Late(format!(
            "the generator was late: dispatcher lateness p99 {:.0} us > limit {limit_us:.0} us (max {:.0} us)",
            lateness.p99_us, lateness.max_us
        )));
    }
    if unsent > 0 {
        return Some(Rejection::Unsent(format!("{unsent} scheduled requests were never sent: the target could not keep up with the offered rate")));
    }
    None
}

#[derive(Default)]
struct WorkerStats {
    ok: u64,
    errors: u64,
    samples: Vec<String>,
    latency: LatencyHistogram,
    service: LatencyHistogram,
    send_delay: LatencyHistogram,
    unsent: u64,
}

impl WorkerStats {
    fn error(&mut self, counted: bool, message: String) {
        if counted {
            self.errors += 1;
        }
        if self.samples.len() < ERROR_SAMPLES {
            self.samples.push(message);
        }
    }

    fn merge(&mut self, other: WorkerStats) {
        self.ok += other.ok;
        self.errors += other.errors;
        self.unsent += other.unsent;
        for s in other.samples {
            if self.samples.len() < ERROR_SAMPLES {
                self.samples.push(s);
            }
        }
        self.latency.merge(&other.latency);
        self.service.merge(&other.service);
        self.send_delay.merge(&other.send_delay);
    }
}

async fn one_call<C: Caller>(caller: &mut C, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, caller.call()).await {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {timeout:?}")),
    }
}

/// A slot released by the dispatcher.
struct Slot {
    intended: Instant,
}

/// Runs `spec` against `target` (needs a multi-threaded Tokio runtime to use more than one core).
pub async fn run<T: Target>(target: &T, spec: &LoadSpec) -> LoadReport {
    let workers = spec.workers.max(1);
    let mut callers = Vec::with_capacity(workers);
    let mut connect_errors = Vec::new();
    for r in futures::future::join_all((0..workers).map(|_| target.caller())).await {
        match r {
            Ok(c) => callers.push(c),
            Err(e) => connect_errors.push(e),
        }
    }
    let mut report = LoadReport::empty(
        target.describe(),
        spec.mode,
        workers,
        spec.duration.as_secs_f64(),
    );
    if !connect_errors.is_empty() {
        report.errors = connect_errors.len() as u64;
        report.rejected = Some(format!(
            "{} of {workers} workers could not connect: {}",
            connect_errors.len(),
            connect_errors[0]
        ));
        report.error_samples = connect_errors.into_iter().take(ERROR_SAMPLES).collect();
        return report;
    }
    let (stats, lateness) = match spec.mode {
        Mode::Open { rate } => open_loop(callers, spec, rate).await,
        Mode::Closed => (
            closed_loop(callers, spec).await,
            LatencyHistogram::default(),
        ),
    };
    report.ok = stats.ok;
    report.errors = stats.errors;
    report.error_samples = stats.samples;
    report.throughput_rps = stats.ok as f64 / spec.duration.as_secs_f64();
    report.latency = stats.latency.summary();
    report.service = stats.service.summary();
    report.send_delay = stats.send_delay.summary();
    report.lateness = lateness.summary();
    report.unsent = stats.unsent;
    if matches!(spec.mode, Mode::Open { .. }) {
        if let Some(r) = judge(&report.lateness, stats.unsent, spec.max_lateness_p99) {
            report.generator_late = matches!(r, Rejection::Late(_));
            report.rejected = Some(r.to_string());
        }
    }
    report.histogram = Some(stats.latency);
    report
}

async fn closed_loop<C: Caller>(callers: Vec<C>, spec: &LoadSpec) -> WorkerStats {
    let t0 = Instant::now();
    let measure_from = t0 + spec.warmup;
    let end_at = measure_from + spec.duration;
    let timeout = spec.call_timeout;
    let tasks: Vec<_> = callers
        .into_iter()
        .map(|mut caller| {
            tokio::spawn(async move {
                let mut stats = WorkerStats::default();
                loop {
                    let start = Instant::now();
                    if start >= end_at {
                        break;
                    }
                    let result = one_call(&mut caller, timeout).await;
                    let end = Instant::now();
                    // Counted: sent in the window and answered before its end.
                    let counted = start >= measure_from && end <= end_at;
                    match result {
                        Ok(()) if counted => {
                            stats.ok += 1;
                            stats.latency.record(end - start);
                            stats.service.record(end - start);
                        }
                        Ok(()) => {}
                        Err(e) => stats.error(counted, e),
                    }
                }
                stats
            })
        })
        .collect();
    collect(tasks).await
}

async fn collect(tasks: Vec<tokio::task::JoinHandle<WorkerStats>>) -> WorkerStats {
    let mut all = WorkerStats::default();
    for t in tasks {
        match t.await {
            Ok(stats) => all.merge(stats),
            Err(e) => all.error(true, format!("a worker panicked: {e}")),
        }
    }
    all
}

/// Releases the slots of `schedule` at their times from a dedicated thread (not the runtime
/// the workers and the target share), recording how late each was released.
fn dispatcher(
    schedule: Schedule,
    tx: mpsc::UnboundedSender<Slot>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<LatencyHistogram> {
    std::thread::Builder::new()
        .name("wcc-load-dispatch".into())
        .spawn(move || {
            // Wake-ups within a microsecond of the requested time instead of the default 50 us,
            // and, where allowed (root or CAP_SYS_NICE), a real-time priority so the system under
            // test, sharing the cores, does not delay the schedule. Best effort: the lateness
            // histogram says how well it worked either way.
            // SAFETY: prctl and sched_setscheduler on the calling thread with plain arguments.
            unsafe {
                libc::prctl(libc::PR_SET_TIMERSLACK, 1000 as libc::c_ulong);
                let param = libc::sched_param { sched_priority: 1 };
                libc::sched_setscheduler(0, libc::SCHED_FIFO, &param);
            }
            let mut lateness = LatencyHistogram::default();
            let mut next = 0u64;
            while next < schedule.total() && !stop.load(Ordering::Relaxed) {
                let now = Instant::now();
                let due = schedule.due(now);
                while next < due {
                    let intended = schedule.intended(next);
                    lateness.record(now - intended);
                    if tx.send(Slot { intended }).is_err() {
                        return lateness;
                    }
                    next += 1;
                }
                if next < schedule.total() {
                    let wake = schedule.intended(next);
                    let now = Instant::now();
                    if wake > now {
                        std::thread::sleep(wake - now);
                    }
                }
            }
            lateness
        })
        .expect("spawn the dispatcher thread")
}

async fn open_loop<C: Caller>(
    callers: Vec<C>,
    spec: &LoadSpec,
    rate: f64,
) -> (WorkerStats, LatencyHistogram) {
    // Start a little ahead so the first slots are not already late when the thread starts.
    let t0 = Instant::now() + Duration::from_millis(20);
    let schedule = Schedule::new(t0, rate, spec.warmup + spec.duration);
    let measure_from = t0 + spec.warmup;
    let give_up_at = t0 + spec.warmup + spec.duration + spec.drain_limit;
    let (tx, rx) = mpsc::unbounded_channel();
    let rx = Arc::new(Mutex::new(rx));
    let stop = Arc::new(AtomicBool::new(false));
    let thread = dispatcher(schedule, tx, stop.clone());
    let timeout = spec.call_timeout;
    let tasks: Vec<_> = callers
        .into_iter()
        .map(|mut caller| {
            let rx = rx.clone();
            tokio::spawn(async move {
                let mut stats = WorkerStats::default();
                loop {
                    let slot = { rx.lock().await.recv().await };
                    let Some(Slot { intended }) = slot else { break };
                    let counted = intended >= measure_from;
                    let start = Instant::now();
                    if start > give_up_at {
                        stats.unsent += 1;
                        continue;
                    }
                    let result = one_call(&mut caller, timeout).await;
                    let end = Instant::now();
                    match result {
                        Ok(()) if counted => {
                            stats.ok += 1;
                            stats.latency.record(end - intended);
                            stats.service.record(end - start);
                            stats
                                .send_delay
                                .record(start.saturating_duration_since(intended));
                        }
                        Ok(()) => {}
                        Err(e) => stats.error(counted, e),
                    }
                }
                stats
            })
        })
        .collect();
    let stats = collect(tasks).await;
    stop.store(true, Ordering::Relaxed);
    let lateness = tokio::task::spawn_blocking(move || thread.join())
        .await
        .ok()
        .and_then(|r| r.ok())
        .unwrap_or_default();
    (stats, lateness)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::target::FnTarget;
    use std::sync::atomic::AtomicU64;

    fn summary_p99(us: f64) -> Summary {
        Summary {
            count: 100,
            p99_us: us,
            max_us: us * 2.0,
            ..Default::default()
        }
    }

    #[test]
    fn a_late_dispatcher_or_unsent_slots_reject_the_run() {
        let limit = Duration::from_millis(2);
        assert_eq!(judge(&summary_p99(150.0), 0, limit), None);
        let Some(Rejection::Late(late)) = judge(&summary_p99(2500.0), 0, limit) else {
            panic!("a p99 lateness of 2.5 ms over a 2 ms limit is the generator's lateness");
        };
        assert!(
            late.contains("generator was late") && late.contains("2500"),
            "{late}"
        );
        let Some(Rejection::Unsent(unsent)) = judge(&summary_p99(10.0), 7, limit) else {
            panic!("unsent slots are the target's");
        };
        assert!(unsent.contains("7 scheduled requests"), "{unsent}");
        assert_eq!(judge(&Summary::default(), 0, limit), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn open_loop_sends_the_scheduled_count_at_the_offered_rate() {
        let calls = Arc::new(AtomicU64::new(0));
        let c = calls.clone();
        let target = FnTarget::new("count", move || {
            let c = c.clone();
            async move {
                c.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
        });
        // Unit tests share the machine with builds: the lateness limit is not what is tested here.
        let spec = LoadSpec::open(500.0, Duration::from_secs(1))
            .warmup(Duration::from_millis(200))
            .workers(4)
            .max_lateness_p99(Duration::from_millis(100));
        let r = run(&target, &spec).await;
        assert_eq!(
            calls.load(Ordering::Relaxed),
            600,
            "warm-up 100 + window 500 slots"
        );
        assert_eq!(r.ok, 500);
        assert_eq!(r.latency.count, 500);
        assert_eq!(r.lateness.count, 600);
        assert!(r.rejected.is_none(), "{:?} {:?}", r.rejected, r.lateness);
        assert!((r.throughput_rps - 500.0).abs() < 1.0);
    }

    /// One answer stalls for 200 ms with a single worker: the slots scheduled during the stall
    /// queue behind it. Measured from the send (what a closed-loop tool reports) only the stalled
    /// call is slow; measured from the intended time every queued slot shows its wait.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn latency_is_measured_from_the_intended_time() {
        let calls = Arc::new(AtomicU64::new(0));
        let c = calls.clone();
        let target = FnTarget::new("stall", move || {
            let c = c.clone();
            async move {
                if c.fetch_add(1, Ordering::Relaxed) == 50 {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Ok(())
            }
        });
        let spec = LoadSpec::open(200.0, Duration::from_secs(1))
            .warmup(Duration::ZERO)
            .workers(1)
            .max_lateness_p99(Duration::from_millis(100));
        let r = run(&target, &spec).await;
        assert_eq!(r.ok, 200);
        // About 40 slots (200 ms at 200/s) waited, from ~195 ms down to ~5 ms: over 10% of 200.
        assert!(r.latency.p90_us > 50_000.0, "corrected p90 {:?}", r.latency);
        assert!(r.latency.max_us >= 195_000.0, "{:?}", r.latency);
        assert!(r.service.p90_us < 5_000.0, "service p90 {:?}", r.service);
        assert!(r.send_delay.p90_us > 40_000.0, "{:?}", r.send_delay);
        assert!(
            r.rejected.is_none(),
            "the stall is the target's, not the generator's: {:?}",
            r.rejected
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn closed_loop_counts_answers_and_errors_in_the_window() {
        let calls = Arc::new(AtomicU64::new(0));
        let c = calls.clone();
        let target = FnTarget::new("every-tenth-fails", move || {
            let c = c.clone();
            async move {
                let n = c.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(1)).await;
                if n % 10 == 9 {
                    Err(format!("call {n} failed"))
                } else {
                    Ok(())
                }
            }
        });
        let r = run(
            &target,
            &LoadSpec::closed(Duration::from_millis(500))
                .warmup(Duration::from_millis(100))
                .workers(4),
        )
        .await;
        assert!(r.ok > 100, "{r:?}");
        let rate = r.error_rate();
        assert!((0.05..0.15).contains(&rate), "error rate {rate}");
        assert!(r.error_samples[0].contains("failed"));
        assert_eq!(r.latency.count, r.ok);
        assert!(r.rejected.is_none());
    }

    #[tokio::test]
    async fn workers_that_cannot_connect_reject_the_run() {
        let target = crate::generator::http::HttpGet::new("127.0.0.1:1", "/", None);
        let r = run(
            &target,
            &LoadSpec::closed(Duration::from_millis(100)).workers(2),
        )
        .await;
        assert!(
            r.rejected
                .as_deref()
                .unwrap_or_default()
                .contains("could not connect"),
            "{r:?}"
        );
    }
}
