//! The containers backend: NATS, wadm and the hosts of a lattice in Docker containers, started
//! through `testcontainers` from local images built from the binaries under test
//! (`ci/images/build`, no registry), on a network of their own, with the same readiness contract
//! as the processes backend. Fault injection (kill, graceful stop, partition, restarts) acts on the
//! containers; a reaper removes what dead runs left.
//!
//! Everything here needs the cargo feature `containers` (on by default), except the check whether
//! an engine answers.
mod engine;
#[cfg(feature = "containers")]
mod images;
#[cfg(feature = "containers")]
pub(crate) mod lattice;
#[cfg(feature = "containers")]
mod logs;
#[cfg(feature = "containers")]
mod oneshot;
#[cfg(feature = "containers")]
mod reaper;
#[cfg(feature = "containers")]
pub(crate) mod service;

pub(crate) use engine::availability;
#[cfg(feature = "containers")]
pub use images::Images;
#[cfg(feature = "containers")]
pub use oneshot::{run_to_completion, Completed};
#[cfg(feature = "containers")]
pub use reaper::sweep_blocking as sweep;
#[cfg(feature = "containers")]
pub(crate) use reaper::sweep_detailed;

pub use crate::settings::{HOST_IMAGE_ENV, NATS_IMAGE_ENV, WADM_IMAGE_ENV};

/// The images `ci/images/build` made from `binaries` (no vendor image in their place), built
/// first when they are missing or older than the binaries: what a test that runs one of the
/// lattice's images by itself starts from. A fresh clone has none until the first call.
#[cfg(feature = "containers")]
pub async fn images_of(
    binaries: &crate::binaries::Binaries,
) -> Result<Images, crate::error::HarnessError> {
    images::from_binaries(binaries).await
}

/// The label every container, network and volume of a lattice carries: `wcc.run=<lattice name>`
/// (`docker ps -a --filter label=wcc.run` lists them).
pub const RUN_LABEL: &str = engine::RUN_LABEL;

/// The address on this machine that containers reach (the engine's default bridge gateway); the
/// harness binds listeners the hosts must call back (the OTLP receiver) there too.
#[cfg(feature = "containers")]
pub(crate) async fn harness_address() -> Result<std::net::IpAddr, crate::error::HarnessError> {
    engine::bridge_gateway().await
}

/// Why the containers backend cannot run here (`None` when it can): the harness was built
/// without the `containers` feature, or no Docker engine answers.
pub fn unavailable() -> Option<String> {
    if !cfg!(feature = "containers") {
        return Some("the harness was built without the `containers` feature".into());
    }
    availability().err()
}

/// Whether the containers backend is expected here: in CI (`CI` set and not `false`). A test
/// that needs it fails without it either way (a skip is never a pass); outside CI, `bash ci/test`
/// leaves such tests out when no engine answers and nextest reports them as skipped.
pub fn required() -> bool {
    crate::settings::is_ci()
}
