//! Runs the upstream HTTP server provider (`wasmcloud_provider_http_server::run`): reads the host
//! data the host writes to stdin and serves until the host stops it.
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    wasmcloud_provider_http_server::run().await
}
