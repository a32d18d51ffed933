//! An OCI registry for the hosts to pull from: Debian's `docker-registry` (the CNCF distribution
//! server, 2.8) run as a process on plain HTTP, optionally behind htpasswd auth, with components
//! pushed as Wasm OCI artifacts through the maintained OCI client crates.
//!
//! ```no_run
//! # async fn demo(lattice: &harness::Lattice) -> Result<(), harness::HarnessError> {
//! use harness::registry::{Registry, RegistryOptions};
//! let registry = Registry::start(lattice.backend(), RegistryOptions::default()).await?;
//! let wasm = std::fs::read("hello.wasm").unwrap();
//! let pushed = registry.push_component("hello", "0.1.0", wasm).await?;
//! // A host started with WASMCLOUD_OCI_ALLOWED_INSECURE=<registry.address()> can run
//! // pushed.reference (e.g. "127.0.0.1:5123/hello:0.1.0").
//! # Ok(()) }
//! ```
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::Reference;
use oci_wasm::{WasmClient, WasmConfig};

use crate::backend::Backend;
use crate::error::HarnessError;
use crate::process::ManagedProcess;
use crate::wait::{scaled, Probe, Wait};

/// Environment variable naming the registry binary (default: `.wcc/bin/docker-registry`, which
/// `ci/setup` links to Debian's `/usr/bin/docker-registry`).
pub const REGISTRY_ENV: &str = "WCC_REGISTRY_BIN";

/// How a registry is started.
#[derive(Clone, Debug, Default)]
pub struct RegistryOptions {
    /// `(user, password)`: the registry requires them (htpasswd, bcrypt) for every request.
    pub credentials: Option<(String, String)>,
}

/// The layer media type of a provider archive, as hosts fetch providers (wasmcloud-core `oci`).
const PAR_LAYER_MEDIA_TYPE: &str = "application/vnd.wasmcloud.provider.archive.layer.v1+par";
/// The config media type `wash push` gives a provider archive.
const PAR_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasmcloud.provider.archive.config";

/// A registry the harness pushes to but did not start (e.g. the one an existing lattice's hosts
/// pull from).
#[derive(Clone, Debug)]
pub struct Remote {
    /// `host[:port]`, what references start with.
    pub address: String,
    /// Plain HTTP instead of HTTPS.
    pub insecure: bool,
    /// `(user, password)` when it requires them.
    pub credentials: Option<(String, String)>,
}

impl Remote {
    /// Pushes `wasm` (a component) as `<repository>:<tag>`, in the Wasm OCI artifact layout
    /// (`application/wasm` layer, `application/vnd.wasm.config.v0+json` config), bounded.
    pub async fn push_component(
        &self,
        repository: &str,
        tag: &str,
        wasm: Vec<u8>,
    ) -> Result<Pushed, HarnessError> {
        let (reference, parsed) = self.reference(repository, tag)?;
        let (config, layer) = WasmConfig::from_raw_component(wasm, None).map_err(|e| {
            HarnessError::Fixture(format!("{repository}:{tag} is not a component: {e:#}"))
        })?;
        let client = WasmClient::new(self.client());
        let auth = self.auth();
        let push = client.push(&parsed, &auth, layer, config, None);
        pushed(reference, push).await
    }

    /// Pushes `par` (a provider archive, as `.par.gz` bytes) as `<repository>:<tag>`, with the
    /// provider archive layer media type hosts fetch providers by, bounded.
    pub async fn push_provider(
        &self,
        repository: &str,
        tag: &str,
        par: Vec<u8>,
    ) -> Result<Pushed, HarnessError> {
        let (reference, parsed) = self.reference(repository, tag)?;
        let layer = oci_client::client::ImageLayer::new(par, PAR_LAYER_MEDIA_TYPE.into(), None);
        let config =
            oci_client::client::Config::new(b"{}".to_vec(), PAR_CONFIG_MEDIA_TYPE.into(), None);
        let client = self.client();
        let (auth, layers) = (self.auth(), [layer]);
        let push = client.push(&parsed, &layers, config, &auth, None);
        pushed(reference, push).await
    }

    /// `<address>/<repository>:<tag>`, as text and parsed.
    fn reference(&self, repository: &str, tag: &str) -> Result<(String, Reference), HarnessError> {
        let reference = format!("{}/{repository}:{tag}", self.address);
        let parsed = reference
            .parse()
            .map_err(|e| HarnessError::Config(format!("OCI reference {reference}: {e}")))?;
        Ok((reference, parsed))
    }

    fn client(&self) -> oci_client::Client {
        oci_client::Client::new(ClientConfig {
            protocol: match self.insecure {
                true => ClientProtocol::Http,
                false => ClientProtocol::Https,
            },
            ..Default::default()
        })
    }

    fn auth(&self) -> RegistryAuth {
        match &self.credentials {
            Some((user, password)) => RegistryAuth::Basic(user.clone(), password.clone()),
            None => RegistryAuth::Anonymous,
        }
    }
}

/// Awaits `push` of `reference` (bounded) and reads the manifest digest from its answer.
async fn pushed<E: std::fmt::Display>(
    reference: String,
    push: impl std::future::Future<Output = Result<oci_client::client::PushResponse, E>>,
) -> Result<Pushed, HarnessError> {
    let response = tokio::time::timeout(scaled(Duration::from_secs(60)), push)
        .await
        .map_err(|_| HarnessError::request("registry push", format!("{reference}: no answer")))?
        .map_err(|e| HarnessError::request("registry push", format!("{reference}: {e:#}")))?;
    let digest = response
        .manifest_url
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    Ok(Pushed { reference, digest })
}

/// What a push stored.
#[derive(Clone, Debug)]
pub struct Pushed {
    /// `<address>/<repository>:<tag>`, what a host is given after `oci://` (or without a scheme).
    pub reference: String,
    /// The manifest digest (`sha256:…`).
    pub digest: String,
}

/// A running registry. Stops (its process group is killed) when dropped; its storage goes with
/// its temporary directory.
pub struct Registry {
    process: ManagedProcess,
    address: String,
    credentials: Option<(String, String)>,
    dir: tempfile::TempDir,
}

impl Registry {
    /// Starts a registry reachable by the hosts of `backend` (on 127.0.0.1 for processes, on the
    /// Docker bridge address for containers) and waits until `GET /v2/` answers.
    pub async fn start(backend: Backend, options: RegistryOptions) -> Result<Self, HarnessError> {
        let bin = binary()?;
        let dir = tempfile::Builder::new()
            .prefix("wcc-registry-")
            .tempdir()
            .map_err(HarnessError::io("create the registry's directory"))?;
        let ip = listen_ip(backend).await?;
        let port = crate::net::free_port()?;
        let address = format!("{ip}:{port}");
        let storage = dir.path().join("storage");
        let mut auth = String::new();
        if let Some((user, password)) = &options.credentials {
            let hash = bcrypt::hash(password, 5)
                .map_err(|e| HarnessError::Config(format!("bcrypt the registry password: {e}")))?;
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, format!("{user}:{hash}\n"))
                .map_err(HarnessError::io("write the registry's htpasswd"))?;
            auth = format!(
                "auth:\n  htpasswd:\n    realm: wcc\n    path: {}\n",
                htpasswd.display()
            );
        }
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: info\n  formatter: text\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {address}\n  secret: {}\n{auth}",
                storage.display(),
                ulid::Ulid::new()
            ),
        )
        .map_err(HarnessError::io("write the registry's config"))?;
        let process = ManagedProcess::spawn(
            "registry",
            &bin,
            &["serve".to_string(), config.display().to_string()],
            &[],
            dir.path(),
        )?;
        let registry = Self {
            process,
            address,
            credentials: options.credentials,
            dir,
        };
        registry.wait_answers().await?;
        Ok(registry)
    }

    /// `<ip>:<port>`: the registry's name in references, and the value of
    /// `WASMCLOUD_OCI_ALLOWED_INSECURE` that lets a host pull from it over HTTP.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Where the registry keeps blobs and manifests (the `docker/registry/v2` tree), e.g. to
    /// tamper with a stored blob.
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    /// The registry's last log lines, for failure reports.
    pub fn log_tail(&self, n: usize) -> String {
        self.process.log_tail(n)
    }

    /// Pushes `wasm` (a component) as `<repository>:<tag>` (see [`Remote::push_component`]).
    pub async fn push_component(
        &self,
        repository: &str,
        tag: &str,
        wasm: Vec<u8>,
    ) -> Result<Pushed, HarnessError> {
        self.remote().push_component(repository, tag, wasm).await
    }

    /// This registry as a [`Remote`]: plain HTTP, with its credentials.
    pub fn remote(&self) -> Remote {
        Remote {
            address: self.address.clone(),
            insecure: true,
            credentials: self.credentials.clone(),
        }
    }

    /// Alters one byte of the stored layer of `<repository>:<tag>` in the registry's storage,
    /// keeping its size and digest name: the registry then serves content that does not match
    /// the digest its manifest names. Returns that digest.
    pub async fn alter_layer(&self, repository: &str, tag: &str) -> Result<String, HarnessError> {
        let reference = format!("{}/{repository}:{tag}", self.address);
        let parsed: Reference = reference
            .parse()
            .map_err(|e| HarnessError::Config(format!("OCI reference {reference}: {e}")))?;
        let (manifest, _) = tokio::time::timeout(
            scaled(Duration::from_secs(30)),
            self.client().pull_image_manifest(&parsed, &self.auth()),
        )
        .await
        .map_err(|_| HarnessError::request("registry manifest", format!("{reference}: no answer")))?
        .map_err(|e| HarnessError::request("registry manifest", format!("{reference}: {e}")))?;
        let digest = manifest
            .layers
            .first()
            .map(|l| l.digest.clone())
            .ok_or_else(|| {
                HarnessError::request("registry manifest", format!("{reference} has no layer"))
            })?;
        let hex = digest.strip_prefix("sha256:").unwrap_or(&digest);
        let blob = self
            .storage()
            .join("docker/registry/v2/blobs/sha256")
            .join(hex.get(..2).unwrap_or_default())
            .join(hex)
            .join("data");
        let mut bytes =
            std::fs::read(&blob).map_err(HarnessError::io(format!("read {}", blob.display())))?;
        let middle = bytes.len() / 2;
        if let Some(b) = bytes.get_mut(middle) {
            *b ^= 0xff;
        }
        std::fs::write(&blob, bytes)
            .map_err(HarnessError::io(format!("write {}", blob.display())))?;
        Ok(digest)
    }

    fn client(&self) -> oci_client::Client {
        self.remote().client()
    }

    fn auth(&self) -> RegistryAuth {
        self.remote().auth()
    }

    async fn wait_answers(&self) -> Result<(), HarnessError> {
        let url = format!("http://{}/v2/", self.address);
        let client = reqwest::Client::new();
        let (client, url) = (&client, &url);
        Wait::new(
            format!("the registry to answer {url}"),
            Duration::from_secs(30),
        )
        .interval(Duration::from_millis(50))
        .until(|_| async move {
            match client.get(url).timeout(Duration::from_secs(2)).send().await {
                // 401 is the answer of a registry that wants credentials.
                Ok(r) if r.status().as_u16() == 200 || r.status().as_u16() == 401 => {
                    Probe::Ready(())
                }
                Ok(r) => Probe::NotYet(format!("status {}", r.status())),
                Err(e) => Probe::NotYet(e.to_string()),
            }
        })
        .await
        .map_err(|e| {
            HarnessError::Config(format!(
                "{e}\n--- registry log ---\n{}",
                self.process.log_tail(30)
            ))
        })
    }
}

/// The registry binary: `WCC_REGISTRY_BIN`, else `.wcc/bin/docker-registry`.
fn binary() -> Result<PathBuf, HarnessError> {
    binary_at(crate::settings::binary(REGISTRY_ENV))
}

fn binary_at(given: Option<PathBuf>) -> Result<PathBuf, HarnessError> {
    let (path, origin) = match given {
        Some(path) => (path, format!("from {REGISTRY_ENV}")),
        None => (
            crate::binaries::default_bin_dir().join("docker-registry"),
            format!("the default; {REGISTRY_ENV} is not set"),
        ),
    };
    crate::binaries::check_executable("docker-registry", &path, REGISTRY_ENV).map_err(|_| {
        HarnessError::Config(format!(
            "no usable OCI registry binary at {} ({origin}); fix: run `bash {}` (it installs Debian's docker-registry and links it there), or set {REGISTRY_ENV} to a docker-registry binary",
            path.display(),
            crate::binaries::repo_root().join("ci").join("setup").display()
        ))
    })?;
    Ok(path)
}

async fn listen_ip(backend: Backend) -> Result<IpAddr, HarnessError> {
    match backend {
        Backend::Processes => Ok(IpAddr::from([127, 0, 0, 1])),
        #[cfg(feature = "containers")]
        Backend::Containers => crate::containers::harness_address().await,
        #[cfg(not(feature = "containers"))]
        Backend::Containers => Err(HarnessError::Config(
            crate::containers::unavailable().unwrap_or_default(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_binary_says_where_it_looked_and_how_to_get_one() {
        let e = binary_at(Some(PathBuf::from("/nonexistent/docker-registry")))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("/nonexistent/docker-registry")
                && e.contains("fix: run `bash")
                && e.contains("ci/setup")
                && e.contains(REGISTRY_ENV),
            "{e}"
        );
    }
}
