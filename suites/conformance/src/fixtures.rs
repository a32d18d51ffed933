//! The fixtures the suite's tests name more than once (a test's other fixtures are named where it
//! is defined).
use harness::fixtures::{FixtureRef, Lang};

/// The probe component in Rust: exports echo, about, config-reader, logger, counter.
pub const PROBE_RUST: FixtureRef = FixtureRef::new("probe", Lang::Rust);
/// The runner component in Rust: imports echo, exports runner.
pub const RUNNER_RUST: FixtureRef = FixtureRef::new("runner", Lang::Rust);
/// The probe component in C (a second build of the same contract).
pub const PROBE_C: FixtureRef = FixtureRef::new("probe", Lang::C);
/// The HTTP hello/echo component in Rust.
pub const HTTP_RUST: FixtureRef = FixtureRef::new("http", Lang::Rust);
/// The provider that reports what the host gave it (`steps::inspect_provider`).
pub const INSPECT: FixtureRef = FixtureRef::new("inspect", Lang::Rust);
/// The component that writes to its stdout or stderr (`wcc:streams`).
pub const STREAMS_RUST: FixtureRef = FixtureRef::new("streams", Lang::Rust);
/// The component that answers messages through wasmCloud messaging (`wasmcloud:messaging@0.2.0`).
pub const MESSENGER_RUST: FixtureRef = FixtureRef::new("messenger", Lang::Rust);
/// The component that reports the WASI context it runs in (`wcc:sandbox`).
pub const SANDBOX_RUST: FixtureRef = FixtureRef::new("sandbox", Lang::Rust);
/// The component that gets a secret from the host and reveals it (`wcc:secrets`); unsigned as
/// built, tests sign it ([`crate::steps::signed_copy`]).
pub const SECRETS_RUST: FixtureRef = FixtureRef::new("secrets", Lang::Rust);
/// The component that spends the time or memory it is asked to (`wcc:limits`).
pub const LIMITS_RUST: FixtureRef = FixtureRef::new("limits", Lang::Rust);
/// The upstream HTTP server provider (crates.io `wasmcloud-provider-http-server` 0.27.1) as a
/// provider archive.
pub const HTTP_SERVER_PROVIDER: FixtureRef = FixtureRef::new("http-server-provider", Lang::Rust);
/// The upstream NATS messaging provider (crates.io `wasmcloud-provider-messaging-nats` 0.27.0) as
/// a provider archive.
pub const MESSAGING_NATS_PROVIDER: FixtureRef =
    FixtureRef::new("messaging-nats-provider", Lang::Rust);
/// The component that stores objects through `wasi:blobstore` (`wcc:blobstore`).
pub const BLOBSTORE_RUST: FixtureRef = FixtureRef::new("blobstore", Lang::Rust);
/// The upstream blobstore-fs provider (crates.io `wasmcloud-provider-blobstore-fs` 0.11.1, built
/// with the reference launchers) as a provider archive.
pub const BLOBSTORE_FS_PROVIDER: FixtureRef = FixtureRef::new("blobstore-fs-provider", Lang::Rust);
