//! What every test of the hello app shares: the component build, the app's manifest pointed at
//! it, a lattice able to run it, and the wRPC bindings of its `greeter` export.
#![allow(dead_code)] // each test binary uses a different part

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{bail, Context as _};

use harness::Lattice;

/// Client bindings for the component's export (`wit-bindgen-wrpc` reads the component's own WIT).
pub mod bindings {
    wit_bindgen_wrpc::generate!({
        inline: "
            package hello:tests;
            world client {
                import hello:app/greeter@0.1.0;
            }
        ",
        path: "component/wit",
        world: "hello:tests/client",
        generate_all,
        // The vendored wasi WIT carries feature gates this parser only accepts when named.
        features: ["informational-outbound-responses", "network-error-code", "cli-exit-with-code", "clocks-timezone"],
    });
    pub use hello::app::greeter;
}

/// The image reference `wadm.yaml` names (what `wash build` would produce); tests replace it.
pub const MANIFEST_IMAGE: &str = "file://./build/hello_component.wasm";
/// The listen address `wadm.yaml` names; tests replace it with a free port.
pub const MANIFEST_ADDRESS: &str = "127.0.0.1:8000";

/// Builds the component (`cargo build --release --target wasm32-wasip2` in `component/`) once per
/// test process and returns the `.wasm` file. Cargo's own cache makes a rebuild a no-op.
pub fn component() -> anyhow::Result<PathBuf> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| build_component().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn build_component() -> anyhow::Result<PathBuf> {
    let dir = app_dir().join("component");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(&cargo)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-wasip2",
            "--message-format=json-render-diagnostics",
        ])
        .current_dir(&dir)
        .output()
        .with_context(|| format!("run {} build in {}", cargo.to_string_lossy(), dir.display()))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let hint =
            if stderr.contains("wasm32-wasip2") && stderr.contains("target may not be installed") {
                "\n  fix: rustup target add wasm32-wasip2"
            } else {
                ""
            };
        bail!(
            "building the component in {} failed ({}):\n{stderr}{hint}",
            dir.display(),
            out.status
        );
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| {
            msg["reason"] == "compiler-artifact" && msg["target"]["name"] == "hello_component"
        })
        .flat_map(|msg| msg["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(PathBuf::from))
        .find(|f| f.extension().is_some_and(|e| e == "wasm"))
        .context("cargo build reported no hello_component.wasm artifact")
}

/// The app's directory: cargo's `CARGO_MANIFEST_DIR` when it runs the tests, else the one the tests
/// were built in (they differ when two checkouts share a cargo target directory and one reuses
/// the other's build).
pub fn app_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// A TCP port free on 127.0.0.1 right now (the OS picks it).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// The app's own `wadm.yaml`, with the image pointed at `component` and the HTTP server at
/// `address`.
pub fn manifest(component: &Path, address: &str) -> anyhow::Result<harness::wadm::Manifest> {
    let path = app_dir().join("wadm.yaml");
    let image = format!("file://{}", component.display());
    Ok(harness::manifest::read_yaml(
        &path,
        &[(MANIFEST_IMAGE, &image), (MANIFEST_ADDRESS, address)],
    )?)
}

/// One host with the builtin HTTP server (the manifest's `wasmcloud+builtin://http-server`), and
/// wadm.
pub async fn lattice() -> anyhow::Result<Lattice> {
    Ok(Lattice::builder()
        .hosts(1)
        .host_feature("builtin-http-server")
        .wadm(true)
        .start()
        .await?)
}

/// An HTTP client for the app (10 s per request, no proxy: the app listens on loopback).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .expect("a plain reqwest client builds")
}

/// Waits until `GET url` answers 200 with `body` three times in a row: the link from the HTTP
/// server to the component reaches every host shortly after wadm reports Deployed.
pub async fn wait_http_body(http: &reqwest::Client, url: &str, body: &str) -> anyhow::Result<()> {
    Ok(harness::wait::http_body(http, url, body).await?)
}

/// The id the host runs the component under, found by its image reference in the inventory
/// (wadm derives it from the app and component names; the test does not hard-code that rule).
pub async fn component_id(lattice: &Lattice, image: &str) -> anyhow::Result<String> {
    let host = lattice
        .host_ids()
        .into_iter()
        .next()
        .context("the lattice has no host")?;
    let reply = lattice.ctl().get_host_inventory(&host).await?;
    let inventory = reply
        .into_data()
        .context("host.get answered no inventory")?;
    let ids: Vec<_> = inventory
        .components()
        .iter()
        .filter(|c| c.image_ref() == image)
        .map(|c| c.id().to_string())
        .collect();
    match ids.as_slice() {
        [id] => Ok(id.clone()),
        _ => bail!(
            "expected one component from {image} on {host}, found {ids:?} in {:?}",
            inventory.components()
        ),
    }
}
