//! wadm's API, through the official `wadm-client`, with every exchange recorded.
use std::future::Future;
use std::time::{Duration, Instant};

use wadm_client::Client;
use wadm_types::api::{ModelSummary, Status, StatusType};
use wadm_types::Manifest;

use crate::journal::Journal;
use crate::wait::{Probe, Wait, WaitError};
use crate::HarnessError;

/// A recorded wadm client for one lattice.
#[derive(Clone)]
pub struct Wadm {
    client: Client,
    journal: Journal,
}

impl Wadm {
    pub(crate) fn new(nats: async_nats::Client, lattice: &str, journal: Journal) -> Self {
        Self {
            client: Client::from_nats_client(lattice, None, nats),
            journal,
        }
    }

    /// The underlying official client (calls through it are not recorded).
    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn record<T: std::fmt::Debug>(
        &self,
        operation: &str,
        request: String,
        call: impl Future<Output = wadm_client::Result<T>>,
    ) -> Result<T, wadm_client::error::ClientError> {
        let started = Instant::now();
        let result = call.await;
        let outcome = match &result {
            Ok(v) => {
                let text = format!("{v:?}");
                if text.chars().count() > 300 {
                    format!("{}…", text.chars().take(300).collect::<String>())
                } else {
                    text
                }
            }
            Err(e) => format!("error: {e}"),
        };
        self.journal.record_exchange(
            &format!("wadm {operation}"),
            request,
            outcome,
            started.elapsed(),
        );
        result
    }

    /// `model.put` of a typed manifest; returns (name, version).
    pub async fn put(
        &self,
        manifest: &Manifest,
    ) -> Result<(String, String), wadm_client::error::ClientError> {
        let request = format!("{} {}", manifest.metadata.name, manifest.version());
        self.record("put", request, self.client.put_manifest(manifest))
            .await
    }

    /// `model.put` of raw YAML or JSON bytes (the client parses them first, as `wash` does).
    pub async fn put_raw(
        &self,
        bytes: &[u8],
    ) -> Result<(String, String), wadm_client::error::ClientError> {
        self.record(
            "put",
            format!("{} bytes", bytes.len()),
            self.client.put_manifest(bytes),
        )
        .await
    }

    /// `model.deploy.<name>` of the newest (or given) version.
    pub async fn deploy(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<(String, Option<String>), wadm_client::error::ClientError> {
        self.record(
            "deploy",
            format!("{name} {version:?}"),
            self.client.deploy_manifest(name, version),
        )
        .await
    }

    /// `model.undeploy.<name>`.
    pub async fn undeploy(&self, name: &str) -> Result<String, wadm_client::error::ClientError> {
        self.record(
            "undeploy",
            name.to_string(),
            self.client.undeploy_manifest(name),
        )
        .await
    }

    /// `model.del.<name>` of all versions (or one).
    pub async fn delete(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<bool, wadm_client::error::ClientError> {
        self.record(
            "delete",
            format!("{name} {version:?}"),
            self.client.delete_manifest(name, version),
        )
        .await
    }

    /// `model.status.<name>`.
    pub async fn status(&self, name: &str) -> Result<Status, wadm_client::error::ClientError> {
        self.record(
            "status",
            name.to_string(),
            self.client.get_manifest_status(name),
        )
        .await
    }

    /// `model.list`: the applications wadm knows.
    pub async fn list(&self) -> Result<Vec<ModelSummary>, wadm_client::error::ClientError> {
        self.record("list", String::new(), self.client.list_manifests())
            .await
    }

    /// Waits until the application's aggregate status is `want`, seen `consecutive` times in a row.
    pub async fn wait_for_status(
        &self,
        name: &str,
        want: StatusType,
        timeout: Duration,
        consecutive: u32,
    ) -> Result<Status, WaitError> {
        Wait::new(format!("application {name} to be {want:?}"), timeout)
            .interval(Duration::from_millis(250))
            .consecutive(consecutive)
            .until(|_| async move {
                match self.status(name).await {
                    Ok(status) if status.info.status_type == want => Probe::Ready(status),
                    Ok(status) => Probe::NotYet(format!(
                        "{:?}: {} (scalers: {})",
                        status.info.status_type,
                        status.info.message,
                        status
                            .scalers
                            .iter()
                            .map(|s| format!(
                                "{} {:?} {}",
                                s.kind, s.info.status_type, s.info.message
                            ))
                            .collect::<Vec<_>>()
                            .join("; ")
                    )),
                    Err(e) => Probe::NotYet(format!("status request failed: {e}")),
                }
            })
            .await
    }
}

/// Maps a wadm client error into a harness error naming the operation.
pub fn wadm_error(operation: &str, e: wadm_client::error::ClientError) -> HarnessError {
    HarnessError::request(format!("wadm {operation}"), e)
}
