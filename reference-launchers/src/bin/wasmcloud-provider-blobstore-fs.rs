//! The upstream blobstore-fs capability provider (crates.io `wasmcloud-provider-blobstore-fs`
//! 0.11.1) as a binary, unchanged: `wasmcloud_provider_blobstore_fs::run()` reads the host data
//! the host writes to its stdin, serves `wrpc:blobstore/blobstore@0.2.0` to linked components
//! (each component's objects as files under its link's `ROOT`) until the host stops it.
//!
//! Built with the launchers (see `Cargo.toml`), packed as fixture `blobstore-fs-provider`.
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    wasmcloud_provider_blobstore_fs::run().await
}
