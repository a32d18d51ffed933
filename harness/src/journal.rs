//! What happened on a lattice, kept for assertions and failure reports: every lattice event
//! (`wasmbus.evt.<lattice>.>`, `wadm.evt.<lattice>.>`) and every exchange made through the
//! harness's client wrappers, in bounded ring buffers.
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use serde::Serialize;

use crate::error::HarnessError;
use crate::wait::{Probe, Wait, WaitError};

const EVENTS_KEPT: usize = 4000;
const EXCHANGES_KEPT: usize = 400;

/// One lattice event as received (a CloudEvent, kept as raw JSON: its shape is under test).
#[derive(Clone, Debug, Serialize)]
pub struct LatticeEvent {
    /// Order of arrival on this lattice, from 1.
    pub seq: u64,
    /// Milliseconds since the lattice started.
    pub at_ms: u128,
    /// The NATS subject it arrived on.
    pub subject: String,
    /// The last subject token, e.g. `host_started`.
    pub kind: String,
    /// The whole payload (`{"specversion", "type", "source", "data", ...}`); `Null` if not JSON.
    pub payload: serde_json::Value,
}

impl LatticeEvent {
    /// The CloudEvent `data` object.
    pub fn data(&self) -> &serde_json::Value {
        &self.payload["data"]
    }

    /// The CloudEvent `source` (the host ID for host events).
    pub fn source(&self) -> &str {
        self.payload["source"].as_str().unwrap_or_default()
    }

    /// `data.<field>` as a string, if present.
    pub fn field(&self, field: &str) -> Option<&str> {
        self.data()[field].as_str()
    }

    fn summary(&self) -> String {
        let data = self.data().to_string();
        let data = if data.chars().count() > 300 {
            format!("{}…", data.chars().take(300).collect::<String>())
        } else {
            data
        };
        format!("#{} +{}ms {} {}", self.seq, self.at_ms, self.kind, data)
    }
}

/// The kind of convergence an awaited event shows (for [`crate::wait::Recorder`]).
fn convergence_of(event: &str) -> &'static str {
    match event {
        "component_scaled" | "component_scale_failed" => "scale",
        "provider_started" | "provider_stopped" | "provider_start_failed" => "provider",
        "linkdef_set" | "linkdef_deleted" | "linkdef_set_failed" => "link",
        "config_set" | "config_deleted" => "config",
        "host_heartbeat" => "heartbeat",
        "host_started" | "host_stopped" => "host",
        "labels_changed" => "label",
        _ => "event",
    }
}

/// One request made through a harness client wrapper and what came back.
#[derive(Clone, Debug, Serialize)]
pub struct Exchange {
    /// Milliseconds since the lattice started.
    pub at_ms: u128,
    /// E.g. `ctl scale_component`.
    pub operation: String,
    /// A summary of the request.
    pub request: String,
    /// A summary of the reply or the error.
    pub outcome: String,
    /// How long it took.
    pub elapsed_ms: u128,
}

#[derive(Default)]
struct State {
    events: VecDeque<LatticeEvent>,
    seq: u64,
    exchanges: VecDeque<Exchange>,
}

/// The event and exchange journal of one lattice. Cheap to clone.
#[derive(Clone)]
pub struct Journal {
    state: Arc<Mutex<State>>,
    started: Instant,
}

impl Journal {
    pub(crate) fn new(started: Instant) -> Self {
        Self {
            state: Arc::default(),
            started,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Subscribes to the lattice's event subjects and records everything that arrives.
    pub(crate) async fn follow(
        &self,
        client: &async_nats::Client,
        lattice: &str,
    ) -> Result<(), HarnessError> {
        for subject in [
            format!("wasmbus.evt.{lattice}.>"),
            format!("wadm.evt.{lattice}.>"),
        ] {
            let mut sub = client
                .subscribe(subject.clone())
                .await
                .map_err(|e| HarnessError::request(format!("subscribe {subject}"), e))?;
            let journal = self.clone();
            tokio::spawn(async move {
                while let Some(msg) = sub.next().await {
                    journal.record_event(&msg.subject, &msg.payload);
                }
            });
        }
        client
            .flush()
            .await
            .map_err(|e| HarnessError::request("flush event subscriptions", e))?;
        Ok(())
    }

    fn record_event(&self, subject: &str, payload: &[u8]) {
        let at_ms = self.started.elapsed().as_millis();
        let payload = serde_json::from_slice(payload).unwrap_or(serde_json::Value::Null);
        let kind = subject.rsplit('.').next().unwrap_or_default().to_string();
        let mut state = self.lock();
        state.seq += 1;
        let event = LatticeEvent {
            seq: state.seq,
            at_ms,
            subject: subject.to_string(),
            kind,
            payload,
        };
        if state.events.len() == EVENTS_KEPT {
            state.events.pop_front();
        }
        state.events.push_back(event);
    }

    /// Records an exchange made by a client wrapper.
    pub(crate) fn record_exchange(
        &self,
        operation: &str,
        request: String,
        outcome: String,
        elapsed: Duration,
    ) {
        let at_ms = self
            .started
            .elapsed()
            .as_millis()
            .saturating_sub(elapsed.as_millis());
        let mut state = self.lock();
        if state.exchanges.len() == EXCHANGES_KEPT {
            state.exchanges.pop_front();
        }
        state.exchanges.push_back(Exchange {
            at_ms,
            operation: operation.to_string(),
            request,
            outcome,
            elapsed_ms: elapsed.as_millis(),
        });
    }

    /// The sequence number of the newest event: pass it to [`Journal::wait_for`] to await only
    /// events that arrive after this point.
    pub fn mark(&self) -> u64 {
        self.lock().seq
    }

    /// Events that arrived after `mark`, oldest first.
    pub fn since(&self, mark: u64) -> Vec<LatticeEvent> {
        self.lock()
            .events
            .iter()
            .filter(|e| e.seq > mark)
            .cloned()
            .collect()
    }

    /// The last `n` events.
    pub fn last_events(&self, n: usize) -> Vec<LatticeEvent> {
        let state = self.lock();
        state
            .events
            .iter()
            .skip(state.events.len().saturating_sub(n))
            .cloned()
            .collect()
    }

    /// The last `n` exchanges.
    pub fn last_exchanges(&self, n: usize) -> Vec<Exchange> {
        let state = self.lock();
        state
            .exchanges
            .iter()
            .skip(state.exchanges.len().saturating_sub(n))
            .cloned()
            .collect()
    }

    /// Waits for the first event after `mark` of kind `kind` that satisfies `pred`.
    pub async fn wait_for(
        &self,
        mark: u64,
        kind: &str,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&LatticeEvent) -> bool,
    ) -> Result<LatticeEvent, WaitError> {
        Wait::new(format!("event {kind} ({what})"), timeout)
            .kind(convergence_of(kind))
            .interval(Duration::from_millis(20))
            .until(|_| {
                let events = self.since(mark);
                let found = events.iter().find(|e| e.kind == kind && pred(e)).cloned();
                let seen = events
                    .iter()
                    .rev()
                    .take(5)
                    .map(LatticeEvent::summary)
                    .collect::<Vec<_>>();
                async move {
                    match found {
                        Some(e) => Probe::Ready(e),
                        None if seen.is_empty() => Probe::NotYet("no events since the mark".into()),
                        None => Probe::NotYet(format!("newest events: {}", seen.join(" | "))),
                    }
                }
            })
            .await
    }

    /// Events rendered one per line, for failure reports.
    pub fn render_events(&self, n: usize) -> String {
        self.last_events(n)
            .iter()
            .map(LatticeEvent::summary)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Exchanges rendered one per line, for failure reports.
    pub fn render_exchanges(&self, n: usize) -> String {
        self.last_exchanges(n)
            .iter()
            .map(|x| {
                format!(
                    "+{}ms {} ({} ms) {} -> {}",
                    x.at_ms, x.operation, x.elapsed_ms, x.request, x.outcome
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wait_for_sees_only_events_after_the_mark() {
        let j = Journal::new(Instant::now());
        j.record_event(
            "wasmbus.evt.l.component_scaled",
            br#"{"data":{"component_id":"old"}}"#,
        );
        let mark = j.mark();
        j.record_event(
            "wasmbus.evt.l.component_scaled",
            br#"{"data":{"component_id":"new"}}"#,
        );
        let e = j
            .wait_for(
                mark,
                "component_scaled",
                "any",
                Duration::from_secs(1),
                |_| true,
            )
            .await
            .unwrap();
        assert_eq!(e.field("component_id"), Some("new"));
        let err = j
            .wait_for(
                mark,
                "component_scaled",
                "old one",
                Duration::from_millis(60),
                |e| e.field("component_id") == Some("old"),
            )
            .await
            .unwrap_err();
        assert!(err.last_seen.contains("component_scaled"), "{err}");
    }

    #[test]
    fn buffers_are_bounded() {
        let j = Journal::new(Instant::now());
        for _ in 0..(EVENTS_KEPT + 5) {
            j.record_event("wasmbus.evt.l.x", b"not json");
        }
        assert_eq!(j.last_events(usize::MAX).len(), EVENTS_KEPT);
        assert_eq!(j.mark(), (EVENTS_KEPT + 5) as u64);
        assert!(j.last_events(1)[0].payload.is_null());
    }
}
