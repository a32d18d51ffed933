//! wadm's API, through the official `wadm-client`, with every exchange recorded.
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, FutureExt, Shared};

use wadm_client::Client;
use wadm_types::api::ModelSummary;
/// Re-exported so tests need no direct `wadm-types` dependency to read statuses.
pub use wadm_types::api::{Status, StatusType};
/// Re-exported: the typed manifest every method here takes ([`crate::manifest`] builds and reads it).
pub use wadm_types::Manifest;

use crate::error::HarnessError;
use crate::journal::Journal;
use crate::wait::{Probe, Wait, WaitError};

/// How often [`Wadm::deploy_app`] asks for the status, and how many `Deployed` answers in a row it
/// wants (wadm reports `Deployed` as soon as its scalers are satisfied; twice rules out a blip).
const DEPLOY_POLL: Duration = Duration::from_millis(250);
const DEPLOY_CONSECUTIVE: u32 = 2;
/// How long [`Wadm::deploy_app`] lets an application stay `Failed` before it reports the failure
/// instead of waiting out its whole timeout (scaled by `WCC_TIMEOUT_SCALE`).
const FAILED_GRACE: Duration = Duration::from_secs(8);

/// A recorded wadm client for one lattice.
#[derive(Clone)]
pub struct Wadm {
    client: Client,
    journal: Journal,
    awareness: Option<Awareness>,
}

/// wadm knowing every host the lattice started with: watched in the background from the moment
/// the hosts answer, so lattice-up does not wait for it, and awaited (bounded) by the client's
/// first call. Once settled, awaiting it again costs nothing.
#[derive(Clone)]
pub(crate) struct Awareness {
    outcome: Shared<BoxFuture<'static, Result<(), Arc<WaitError>>>>,
    watch: Arc<tokio::task::AbortHandle>,
}

impl Awareness {
    /// Runs `watch` (a bounded wait) on the runtime now; its outcome is what the client awaits.
    pub(crate) fn spawn(
        what: String,
        watch: impl Future<Output = Result<(), WaitError>> + Send + 'static,
    ) -> Self {
        let started = Instant::now();
        let task = tokio::spawn(watch);
        let watch = Arc::new(task.abort_handle());
        let outcome = async move {
            task.await.unwrap_or_else(|e| {
                Err(WaitError {
                    what,
                    attempts: 0,
                    elapsed: started.elapsed(),
                    last_seen: format!("the watch ended without an answer: {e}"),
                })
            })
        }
        .map(|r| r.map_err(Arc::new))
        .boxed()
        .shared();
        Self { outcome, watch }
    }
}

impl Wadm {
    pub(crate) fn new(nats: async_nats::Client, lattice: &str, journal: Journal) -> Self {
        Self::with_prefix(nats, lattice, None, journal)
    }

    /// A client of wadm's API under `prefix` instead of `wadm.api` (a multitenant wadm answers
    /// under `<account>.wadm.api`).
    pub(crate) fn with_prefix(
        nats: async_nats::Client,
        lattice: &str,
        prefix: Option<&str>,
        journal: Journal,
    ) -> Self {
        Self {
            client: Client::from_nats_client(lattice, prefix, nats),
            journal,
            awareness: None,
        }
    }

    /// Every call through this client first awaits `awareness`.
    pub(crate) fn gate(&mut self, awareness: Awareness) {
        self.awareness = Some(awareness);
    }

    /// Stops the background watch, if it still runs (the lattice is going away).
    pub(crate) fn stop_watching(&self) {
        if let Some(a) = &self.awareness {
            a.watch.abort();
        }
    }

    /// Waits until wadm knows every host the lattice started with (at once on a lattice the
    /// harness did not start, or once that is settled). Every call below does this first.
    pub async fn ready(&self) -> Result<(), WaitError> {
        match &self.awareness {
            None => Ok(()),
            Some(a) => a.outcome.clone().await.map_err(|e| (*e).clone()),
        }
    }

    /// The underlying official client. Calls through it are not recorded and do not wait for
    /// [`Wadm::ready`]: await that first.
    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn record<T: std::fmt::Debug>(
        &self,
        operation: &str,
        request: String,
        call: impl Future<Output = wadm_client::Result<T>>,
    ) -> Result<T, wadm_client::error::ClientError> {
        self.ready()
            .await
            .map_err(|e| wadm_client::error::ClientError::Other(e.into()))?;
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
            .kind("deploy")
            .interval(Duration::from_millis(250))
            .consecutive(consecutive)
            .until(|_| async move {
                match self.status(name).await {
                    Ok(status) if status.info.status_type == want => Probe::Ready(status),
                    Ok(status) => Probe::NotYet(describe_status(&status)),
                    Err(e) => Probe::NotYet(format!("status request failed: {e}")),
                }
            })
            .await
    }
}

impl Wadm {
    /// Puts `manifest`, deploys that version and waits (up to `timeout`, scaled by
    /// `WCC_TIMEOUT_SCALE`) until wadm reports the application `Deployed` twice in a row: the
    /// one call an application test needs before it talks to the app. An application that stays
    /// `Failed` for 8 s (scaled) is reported at once rather than at the timeout.
    ///
    /// Errors say what went wrong and how to fix it:
    /// - [`HarnessError::ManifestRejected`] when wadm refuses the manifest (its validation message);
    /// - [`HarnessError::AppNotDeployed`] when the application does not converge, with wadm's last
    ///   status (each scaler's message, e.g. the host's "failed to read component" error) and the
    ///   likely fix (image path, host labels, host features, port in use);
    /// - [`HarnessError::Request`] when wadm does not answer (e.g. the lattice runs no wadm).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), harness::HarnessError> {
    /// use std::time::Duration;
    /// let lattice = harness::Lattice::builder().wadm(true).start().await?;
    /// let manifest = harness::manifest::AppBuilder::new("hello", "v1")
    ///     .component("greeter", "file:///abs/path/hello.wasm", 1)
    ///     .build();
    /// let status = lattice.wadm().deploy_app(&manifest, Duration::from_secs(60)).await?;
    /// assert_eq!(status.info.status_type, harness::wadm::StatusType::Deployed);
    /// # Ok(()) }
    /// ```
    pub async fn deploy_app(
        &self,
        manifest: &Manifest,
        timeout: Duration,
    ) -> Result<Status, HarnessError> {
        let app = manifest.metadata.name.clone();
        let (name, version) = self.put(manifest).await.map_err(|e| put_error(&app, e))?;
        self.deploy(&name, Some(&version))
            .await
            .map_err(|e| wadm_error(&format!("deploy {name} {version}"), e))?;
        let waited = std::time::Instant::now();
        let failed_since = std::sync::Mutex::new(None::<Instant>);
        let grace = crate::wait::scaled(FAILED_GRACE);
        let outcome = Wait::new(format!("application {name} to be Deployed"), timeout)
            .interval(DEPLOY_POLL)
            .consecutive(DEPLOY_CONSECUTIVE)
            .until(|_| async {
                let status = match self.status(&name).await {
                    Ok(status) => status,
                    Err(e) => return Probe::NotYet(format!("status request failed: {e}")),
                };
                let mut since = failed_since.lock().unwrap_or_else(|e| e.into_inner());
                match status.info.status_type {
                    StatusType::Deployed => Probe::Ready(Ok(status)),
                    // wadm retries failed scalers, so a failure may clear by itself; one that
                    // persists for the grace period will not, and waiting longer only hides it.
                    StatusType::Failed
                        if since.get_or_insert_with(Instant::now).elapsed() >= grace =>
                    {
                        Probe::Ready(Err(status))
                    }
                    StatusType::Failed => Probe::NotYet(describe_status(&status)),
                    _ => {
                        *since = None;
                        Probe::NotYet(describe_status(&status))
                    }
                }
            })
            .await;
        let not_deployed = |status: String| HarnessError::AppNotDeployed {
            app: name.clone(),
            waited: waited.elapsed(),
            fix: fix_for_status(&status),
            status,
        };
        match outcome {
            Ok(Ok(status)) => Ok(status),
            Ok(Err(failed)) => Err(not_deployed(describe_status(&failed))),
            Err(e) => Err(not_deployed(e.last_seen)),
        }
    }
}

/// One line: aggregate status, its message, and every scaler's kind, status and message.
fn describe_status(status: &Status) -> String {
    let scalers = status
        .scalers
        .iter()
        .map(|s| {
            format!(
                "{} {}: {:?} {}",
                s.kind, s.name, s.info.status_type, s.info.message
            )
            .trim_end()
            .to_string()
        })
        .collect::<Vec<_>>();
    format!(
        "{:?}: {} (scalers: {})",
        status.info.status_type,
        status.info.message,
        scalers.join("; ")
    )
}

/// The error of a `model.put`: a refusal by wadm, a manifest the client could not serialize, or
/// no answer at all.
fn put_error(app: &str, e: wadm_client::error::ClientError) -> HarnessError {
    use wadm_client::error::ClientError;
    match e {
        ClientError::ApiError(reason) => HarnessError::ManifestRejected { app: app.to_string(), fix: fix_for_rejection(&reason), reason },
        ClientError::ManifestLoad(_) | ClientError::Serialization(_) => HarnessError::ManifestRejected {
            app: app.to_string(),
            reason: e.to_string(),
            fix: "the manifest is not valid OAM YAML/JSON; compare it with the wadm manifest reference (apiVersion core.oam.dev/v1beta1, kind Application)".into(),
        },
        ClientError::NatsError(_) => HarnessError::request(
            format!("wadm put {app}"),
            format!("{e}\n  fix: no wadm answered on this lattice; start it with `Lattice::builder().wadm(true)`"),
        ),
        other => wadm_error(&format!("put {app}"), other),
    }
}

/// How to correct a manifest wadm refused, from its message (wadm's validation wording, 0.21).
fn fix_for_rejection(reason: &str) -> String {
    let r = reason.to_ascii_lowercase();
    let specific = if r.contains("version") && r.contains("latest") {
        "give `metadata.annotations.version` a concrete version (e.g. v0.1.0); `latest` is reserved"
    } else if r.contains("name")
        && (r.contains("invalid") || r.contains("must"))
        && r.contains("manifest")
    {
        "use a manifest name of letters, digits, `-` and `_` only"
    } else if r.contains("duplicate") || r.contains("unique") {
        "give every component a unique `name` (and unique `id` where you set one)"
    } else if r.contains("missing from the manifest") {
        "every link trait's `target.name` (and each `source`) must be the name of a component in `spec.components`: \
         add the missing component or correct the name"
    } else if r.contains("target") || r.contains("link") {
        "make every link trait's `target.name` the name of a component in the same manifest"
    } else {
        "correct the manifest as wadm's message says"
    };
    format!("{specific}; `wash app validate <file>` runs the same checks without a lattice")
}

/// The likely cause of an application that does not reach `Deployed`, from wadm's last status
/// (wording of wadm 0.21 and the wasmCloud 1.x host).
fn fix_for_status(last_seen: &str) -> String {
    let s = last_seen.to_ascii_lowercase();
    if s.contains("magic header") || s.contains("module claims") || s.contains("not a component") {
        "a component image is not a WebAssembly component: point the manifest's `image` at the `.wasm` file \
         `cargo build --target wasm32-wasip2` produced (an absolute `file://` path), not at another file"
            .into()
    } else if s.contains("file://")
        || s.contains("no such file")
        || s.contains("failed to read")
        || s.contains("failed to load")
    {
        "a component image could not be loaded: check that each `file://` path in the manifest is absolute and exists, \
         and that the file is a WebAssembly component built for wasm32-wasip2 (`cargo build --target wasm32-wasip2`)"
            .into()
    } else if s.contains("file load") || s.contains("allow_file_load") {
        "the host refuses `file://` images: leave `HostSpec::deny_file_load` false or use an OCI reference".into()
    } else if s.contains("no eligible")
        || s.contains("spread requirement")
        || s.contains("could not satisfy")
    {
        "no host matches the manifest's spread requirements: start hosts with those labels (`LatticeBuilder::host_label`)".into()
    } else if s.contains("address already in use") || s.contains("addrinuse") {
        "the HTTP address in the manifest is taken: give each test its own free port".into()
    } else if s.contains("builtin") {
        "builtin providers need the host feature: `LatticeBuilder::host_feature(\"builtin-http-server\")` (or \
         `builtin-messaging-nats`)"
            .into()
    } else if s.contains("status request failed") {
        "wadm did not answer status requests: start the lattice with `Lattice::builder().wadm(true)`".into()
    } else {
        "read the scaler messages above; `Lattice::diagnostics()` prints the hosts' and wadm's log tails, where a \
         component's start error is"
            .into()
    }
}

/// Maps a wadm client error into a harness error naming the operation.
pub fn wadm_error(operation: &str, e: wadm_client::error::ClientError) -> HarnessError {
    HarnessError::request(format!("wadm {operation}"), e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_error(last_seen: &str) -> WaitError {
        WaitError {
            what: "wadm to know the 1 host(s) of lattice t".into(),
            attempts: 3,
            elapsed: Duration::from_millis(30),
            last_seen: last_seen.into(),
        }
    }

    #[tokio::test]
    async fn awareness_hands_every_waiter_the_watch_outcome() {
        let ok = Awareness::spawn("w".into(), async { Ok(()) });
        assert!(ok.outcome.clone().await.is_ok());
        assert!(
            ok.outcome.clone().await.is_ok(),
            "a settled outcome is kept"
        );

        let failed = Awareness::spawn("w".into(), async {
            Err(wait_error("hosts unknown to wadm: [\"N1\"]"))
        });
        for _ in 0..2 {
            let e = failed.outcome.clone().await.unwrap_err();
            assert!(e.last_seen.contains("hosts unknown to wadm"), "{e}");
        }
    }

    #[tokio::test]
    async fn a_stopped_watch_is_an_error_not_a_hang() {
        let (_tx, rx) = tokio::sync::oneshot::channel::<()>();
        let watch = Awareness::spawn("wadm to know the hosts".into(), async move {
            let _ = rx.await;
            Ok(())
        });
        watch.watch.abort();
        let e = tokio::time::timeout(Duration::from_secs(5), watch.outcome.clone())
            .await
            .expect("an aborted watch settles")
            .unwrap_err();
        assert_eq!(e.what, "wadm to know the hosts");
        assert!(
            e.last_seen.contains("the watch ended without an answer"),
            "{e}"
        );
    }

    #[test]
    fn a_rejected_link_target_gets_a_fix_naming_the_field() {
        // wadm 0.21's answer to a link whose target is not in the manifest.
        let fix = fix_for_rejection(
            r#"The following capability component(s) are missing from the manifest: ["greeter"]"#,
        );
        assert!(
            fix.contains("target.name") && fix.contains("wash app validate"),
            "{fix}"
        );
        let generic = fix_for_rejection("something new");
        assert!(generic.contains("as wadm's message says"), "{generic}");
    }

    #[test]
    fn a_component_that_fails_to_start_gets_a_fix_naming_the_cause() {
        // What wadm reported for an image that is not WebAssembly (seen with the reference host).
        let not_wasm = "Failed: failed to extract module claims: I/O error: magic header not detected: bad magic number (scalers: ...)";
        let fix = fix_for_status(not_wasm);
        assert!(
            fix.contains("not a WebAssembly component") && fix.contains("wasm32-wasip2"),
            "{fix}"
        );
        let missing = fix_for_status(
            "Failed: failed to read component from file: No such file or directory (os error 2)",
        );
        assert!(missing.contains("absolute and exists"), "{missing}");
        let labels = fix_for_status("Failed: No eligible hosts found for spread requirements");
        assert!(labels.contains("host_label"), "{labels}");
        let unknown = fix_for_status("Reconciling: working on it");
        assert!(unknown.contains("diagnostics()"), "{unknown}");
    }

    #[test]
    fn not_deployed_error_reads_after_failed_to() {
        let e = HarnessError::AppNotDeployed {
            app: "hello-app".into(),
            waited: Duration::from_secs(8),
            status: "Failed: boom".into(),
            fix: "do this".into(),
        };
        let msg = e.to_string();
        assert!(
            msg.starts_with("deploy application hello-app: it did not reach Deployed within"),
            "{msg}"
        );
        assert!(
            msg.contains("wadm says Failed: boom\n  fix: do this"),
            "{msg}"
        );
    }
}
