//! A policy service for the host's policy protocol (catalogue SEC-05), run by the harness on the
//! lattice's NATS: it records every request and answers with the decision a test chooses.
use std::sync::{Arc, Mutex};

use futures::StreamExt as _;
use serde_json::{json, Value};

use crate::error::HarnessError;

/// What the service answers to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// `permitted: true`.
    Allow,
    /// `permitted: false` with this message.
    Deny(String),
    /// No answer at all (the host must fail closed).
    Ignore,
}

/// A running policy service. Stops answering when dropped.
pub struct PolicyService {
    requests: Arc<Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl PolicyService {
    /// Subscribes to `topic` and answers each request with `decide(request)`.
    pub async fn start(
        nats: &async_nats::Client,
        topic: &str,
        decide: impl Fn(&Value) -> Decision + Send + Sync + 'static,
    ) -> Result<Self, HarnessError> {
        let mut sub = nats
            .subscribe(topic.to_string())
            .await
            .map_err(|e| HarnessError::request(format!("subscribe {topic}"), e))?;
        nats.flush()
            .await
            .map_err(|e| HarnessError::request("flush the policy subscription", e))?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        let nats = nats.clone();
        let task = tokio::spawn(async move {
            while let Some(msg) = sub.next().await {
                let request: Value = serde_json::from_slice(&msg.payload)
                    .unwrap_or_else(|e| json!({"unparsable": e.to_string()}));
                let decision = decide(&request);
                seen.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(request.clone());
                let (Some(reply), false) = (msg.reply, decision == Decision::Ignore) else {
                    continue;
                };
                let (permitted, message) = match decision {
                    Decision::Allow => (true, None),
                    Decision::Deny(m) => (false, Some(m)),
                    Decision::Ignore => unreachable!("handled above"),
                };
                let response = json!({"requestId": request["requestId"], "permitted": permitted, "message": message});
                let _ = nats.publish(reply, response.to_string().into()).await;
            }
        });
        Ok(Self { requests, task })
    }

    /// Every request received so far, as sent.
    pub fn requests(&self) -> Vec<Value> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for PolicyService {
    fn drop(&mut self) {
        self.task.abort();
    }
}
