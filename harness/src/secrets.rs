//! A secrets backend for the host's secrets protocol (catalogue SEC-07), run by the harness on the
//! lattice's NATS: it hands out its xkey, opens each sealed request, records it, and answers what
//! a test chooses, sealed for the asking host as the protocol says.
//!
//! The wire types and constants are wasmCloud's own (`wasmcloud-secrets-types`); the sealing is
//! nkeys' xkeys. Secret references (the `SECRET_*` configs that name a secret) are built with
//! [`reference()`].
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt as _;
use nkeys::XKey;
use wasmcloud_secrets_types::{
    GetSecretError, Secret, SecretConfig, SecretRequest, SecretResponse, RESPONSE_XKEY,
    SECRET_API_VERSION, WASMCLOUD_HOST_XKEY,
};

use crate::error::HarnessError;

pub use wasmcloud_secrets_types::{GetSecretError as Refusal, SECRET_PREFIX};

/// A secret's value, as a backend returns it.
#[derive(Clone, PartialEq, Eq)]
pub enum Value {
    /// A string secret.
    Text(String),
    /// A binary secret.
    Bytes(Vec<u8>),
}

impl std::fmt::Debug for Value {
    /// Never shows the value.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Text(s) => write!(f, "Text([{} chars])", s.chars().count()),
            Value::Bytes(b) => write!(f, "Bytes([{} bytes])", b.len()),
        }
    }
}

/// What the backend answers to one `get`.
#[derive(Debug)]
pub enum Answer {
    /// The secret, sealed for the asking host.
    Give(Value),
    /// An error response (unsealed, as the protocol sends errors).
    Refuse(GetSecretError),
    /// No answer at all.
    Silent,
    /// The secret, but sealed for a key that is not the asking host's.
    SealedForAnother(Value),
}

/// One `get` as the backend opened it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The secret's key in the backend.
    pub key: String,
    /// The field asked for, if any.
    pub field: Option<String>,
    /// The version asked for, if any.
    pub version: Option<String>,
    /// The signed JWT of the component or provider the secret is for.
    pub entity_jwt: String,
    /// The signed JWT of the asking host.
    pub host_jwt: String,
    /// The application the entity belongs to, if any.
    pub application: Option<String>,
    /// The reference's policy, as the JSON string the host sent.
    pub policy: String,
    /// The xkey the host sealed the request with (header `WasmCloud-Host-Xkey`).
    pub host_xkey: String,
}

/// What the backend saw that was not a well-formed sealed `get`, with the reason.
#[derive(Clone, Debug)]
pub struct Rejected {
    /// The subject it arrived on.
    pub subject: String,
    /// Why it was not taken.
    pub why: String,
}

#[derive(Default)]
struct Log {
    xkey_requests: usize,
    gets: Vec<Seen>,
    rejected: Vec<Rejected>,
}

/// A running secrets backend named `name` under a topic prefix. Stops answering when dropped.
pub struct SecretsBackend {
    log: Arc<Mutex<Log>>,
    xkey: String,
    task: tokio::task::JoinHandle<()>,
}

/// The subject prefix a backend named `name` listens under (`<prefix>.v1alpha1.<name>`).
pub fn subject(prefix: &str, name: &str) -> String {
    format!("{prefix}.{SECRET_API_VERSION}.{name}")
}

/// A secret reference for the config store: the config to put under a name starting with
/// `SECRET_` (the reference's own `name` is what the entity asks for), pointing at `key` in
/// `backend`, with optional policy properties.
pub fn reference(
    name: &str,
    backend: &str,
    key: &str,
    field: Option<&str>,
    version: Option<&str>,
    policy: HashMap<String, serde_json::Value>,
) -> Result<HashMap<String, String>, HarnessError> {
    SecretConfig::new(
        name.to_string(),
        backend.to_string(),
        key.to_string(),
        field.map(str::to_string),
        version.map(str::to_string),
        policy,
    )
    .try_into()
    .map_err(|e: anyhow::Error| HarnessError::request("build a secret reference", e))
}

impl SecretsBackend {
    /// Subscribes under [`subject`]`(prefix, name)` and answers each `get` with `answer(seen)`.
    pub async fn start(
        nats: &async_nats::Client,
        prefix: &str,
        name: &str,
        answer: impl Fn(&Seen) -> Answer + Send + Sync + 'static,
    ) -> Result<Self, HarnessError> {
        let base = subject(prefix, name);
        let mut sub = nats
            .subscribe(format!("{base}.>"))
            .await
            .map_err(|e| HarnessError::request(format!("subscribe {base}.>"), e))?;
        nats.flush()
            .await
            .map_err(|e| HarnessError::request("flush the secrets backend's subscription", e))?;
        let server = XKey::new();
        let xkey = server.public_key();
        let log = Arc::new(Mutex::new(Log::default()));
        let seen = log.clone();
        let nats = nats.clone();
        let (xkey_subject, get_subject) = (format!("{base}.server_xkey"), format!("{base}.get"));
        let task = tokio::spawn(async move {
            while let Some(msg) = sub.next().await {
                let Some(reply) = msg.reply.clone() else {
                    continue;
                };
                let subject = msg.subject.to_string();
                if subject == xkey_subject {
                    seen.lock().unwrap_or_else(|e| e.into_inner()).xkey_requests += 1;
                    let _ = nats.publish(reply, server.public_key().into()).await;
                    continue;
                }
                if subject != get_subject {
                    continue;
                }
                let opened = open(&server, &msg);
                let (host_key, request) = match opened {
                    Ok(opened) => opened,
                    Err(why) => {
                        seen.lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .rejected
                            .push(Rejected {
                                subject,
                                why: why.to_string(),
                            });
                        let _ = nats.publish(reply, error_body(why)).await;
                        continue;
                    }
                };
                let request = Seen {
                    key: request.key,
                    field: request.field,
                    version: request.version,
                    entity_jwt: request.context.entity_jwt,
                    host_jwt: request.context.host_jwt,
                    application: request.context.application.name,
                    policy: request.context.application.policy,
                    host_xkey: host_key.public_key(),
                };
                let decision = answer(&request);
                seen.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .gets
                    .push(request);
                let (value, recipient) = match decision {
                    Answer::Silent => continue,
                    Answer::Refuse(e) => {
                        let _ = nats.publish(reply, error_body(e)).await;
                        continue;
                    }
                    Answer::Give(value) => (value, host_key),
                    Answer::SealedForAnother(value) => (value, XKey::new()),
                };
                let response = SecretResponse {
                    secret: Some(secret(value)),
                    error: None,
                };
                let Ok(body) = serde_json::to_vec(&response) else {
                    continue;
                };
                // A fresh key per response, named in the header, as the protocol does.
                let sealer = XKey::new();
                let Ok(sealed) = sealer.seal(&body, &recipient) else {
                    let _ = nats
                        .publish(reply, error_body(GetSecretError::EncryptionError))
                        .await;
                    continue;
                };
                let mut headers = async_nats::HeaderMap::new();
                headers.insert(RESPONSE_XKEY, sealer.public_key().as_str());
                let _ = nats
                    .publish_with_headers(reply, headers, sealed.into())
                    .await;
            }
        });
        Ok(Self { log, xkey, task })
    }

    /// The backend's public xkey (what `server_xkey` answers).
    pub fn xkey(&self) -> &str {
        &self.xkey
    }

    /// Every `get` opened so far, in arrival order.
    pub fn requests(&self) -> Vec<Seen> {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .gets
            .clone()
    }

    /// How many times a host asked for the backend's xkey.
    pub fn xkey_requests(&self) -> usize {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .xkey_requests
    }

    /// Messages on the `get` subject that were not well-formed sealed requests.
    pub fn rejected(&self) -> Vec<Rejected> {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .rejected
            .clone()
    }
}

impl Drop for SecretsBackend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Opens a sealed `get`: the host's xkey from its header, then the request it sealed for us.
fn open(server: &XKey, msg: &async_nats::Message) -> Result<(XKey, SecretRequest), GetSecretError> {
    let header = msg
        .headers
        .as_ref()
        .and_then(|h| h.get(WASMCLOUD_HOST_XKEY))
        .ok_or(GetSecretError::InvalidHeaders)?;
    let host = XKey::from_public_key(header.as_str()).map_err(|_| GetSecretError::InvalidXKey)?;
    let plain = server
        .open(&msg.payload, &host)
        .map_err(|_| GetSecretError::DecryptionError)?;
    let request = serde_json::from_slice(&plain).map_err(|_| GetSecretError::InvalidRequest)?;
    Ok((host, request))
}

fn error_body(e: GetSecretError) -> bytes::Bytes {
    SecretResponse::from(e).into()
}

fn secret(value: Value) -> Secret {
    let (string_secret, binary_secret) = match value {
        Value::Text(s) => (Some(s), None),
        Value::Bytes(b) => (None, Some(b)),
    };
    Secret {
        version: "1".to_string(),
        string_secret,
        binary_secret,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_carry_the_fields_the_host_reads() {
        let policy = HashMap::from([("scope".to_string(), serde_json::json!("tests"))]);
        let r = reference("db-password", "wcc", "db/pw", Some("pw"), Some("3"), policy).unwrap();
        assert_eq!(r["name"], "db-password");
        assert_eq!(r["backend"], "wcc");
        assert_eq!(r["key"], "db/pw");
        assert_eq!(r["field"], "pw");
        assert_eq!(r["version"], "3");
        assert_eq!(r["type"], "secret.wasmcloud.dev/v1alpha1");
        let policy: serde_json::Value = serde_json::from_str(&r["policy"]).unwrap();
        assert_eq!(policy["properties"]["scope"], "tests");
        assert_eq!(
            subject("wasmcloud.secrets", "wcc"),
            "wasmcloud.secrets.v1alpha1.wcc"
        );
    }

    #[test]
    fn a_value_never_shows_in_debug() {
        let shown = format!("{:?}", Value::Text("hunter2".into()));
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
