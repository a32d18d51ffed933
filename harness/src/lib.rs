//! Stands up a real wasmCloud 1.x lattice — the official `nats-server` with JetStream, one or more
//! wasmCloud hosts, wadm — from a test, drives it through the official client crates while
//! recording every exchange, and tears it down when the test ends. Nothing is mocked.
//!
//! This is the library application teams depend on to test their own components and manifests
//! with `cargo nextest run` in their own repository (see `examples/hello-app/` in this repository
//! for a complete one). wasmCloud's conformance suite is built on it, and keeps its own machinery
//! out of it: the test framework lives in `suites/conformance`, the report format in
//! `suites/report`, the load generator in `suites/load`.
//!
//! # How a conformance run flows through the crates
//!
//! ```text
//! wasmcloud-conformance run (CLI: reads flags and WCC_* once)
//!   → selection (profile, areas, filter) → feature probe (a lattice of this crate)
//!   → per test: Lattice::builder() … start()      (this crate: NATS, hosts, wadm, ready by protocol)
//!              → body, given a Cx (lattice, ctl, wadm, wRPC, journal, OTLP receiver)
//!              → teardown (drop: every process, container, network gone)
//!              → record (status, duration, message, kept logs)
//!   → report (conformance-report: sealed report.json) → renderers (JUnit, Markdown, HTML, badge)
//!   → bundle.tar.gz
//! ```
//!
//! # A test of your own component
//!
//! ```no_run
//! use std::time::Duration;
//! use harness::{manifest::AppBuilder, wadm::StatusType, Lattice};
//!
//! # async fn demo() -> Result<(), harness::HarnessError> {
//! // NATS + one host + wadm, each ready by protocol; dropping `lattice` kills them all.
//! let lattice = Lattice::builder().hosts(1).wadm(true).start().await?;
//! let manifest = AppBuilder::new("hello", "v0.1.0")
//!     .component("greeter", "file:///abs/path/to/hello.wasm", 1)
//!     .build();
//! // Put, deploy, and wait until wadm reports Deployed (errors explain the cause and the fix).
//! let status = lattice.wadm().deploy_app(&manifest, Duration::from_secs(60)).await?;
//! assert_eq!(status.info.status_type, StatusType::Deployed);
//! let inventory = lattice.ctl().get_host_inventory(&lattice.host_ids()[0]).await?;
//! assert!(inventory.succeeded());
//! # Ok(()) }
//! ```
//!
//! Faults at the protocol level, on both backends and without Docker: start a host behind a
//! [`nemesis::Nemesis`] ([`LatticeBuilder::host_through_nemesis`]) and drop, delay, duplicate,
//! reorder or damage its NATS messages, or cut its connection, with counts of what happened.
//!
//! Read an app's real `wadm.yaml` with [`manifest::read_yaml`], invoke exports with
//! [`Lattice::wrpc_client`] and bindings from `wit-bindgen-wrpc`, wait for a condition with
//! [`wait::Wait`] (bounded, never a fixed sleep), and snapshot through the redaction policy with
//! [`snapshot!`] and [`redact::Redactor::for_lattice`].
//!
//! # Which binaries run
//!
//! [`binaries::Binaries::from_env`] decides: `WCC_NATS_SERVER_BIN`, `WCC_HOST_BIN` and
//! `WCC_WADM_BIN` name them; unset, the harness uses the pinned builds `ci/setup` installs into
//! this repository's `.wcc/bin/`. A missing or unusable one fails the lattice start with a message
//! naming the path tried and both fixes.
//!
//! # Cargo features
//!
//! None is on by default: the lattice (processes backend), the recorded clients, manifests, waits,
//! the journal and snapshots need none.
//!
//! | feature | what it adds |
//! |---|---|
//! | `containers` | the Docker backend (`WCC_BACKEND=containers`, fault injection) via `testcontainers` |
//! | `http` | `harness::wait::http_body`: wait until a route answers a body (reqwest) |
//! | `otel` | `harness::otel`: an OTLP/HTTP receiver tests assert on (hyper, prost; implies `http`) |
//! | `nats-auth` | `LatticeBuilder::nats_auth`: NATS with accounts, users and TLS made at run time (nats-io-jwt, rcgen) |
//! | `secrets` | `harness::secrets`: a secrets backend for the host's secrets protocol (wasmcloud-secrets-types) |
#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod backend;
pub mod binaries;
pub mod containers;
pub mod ctl;
pub mod error;
pub mod existing;
pub mod fixtures;
pub mod journal;
pub mod lattice;
pub mod manifest;
mod nats;
pub mod nats_auth;
pub mod nemesis;
pub mod net;
#[cfg(feature = "otel")]
pub mod otel;
pub mod policy;
pub mod process;
pub mod procfs;
pub mod reaper;
pub mod redact;
#[cfg(feature = "registry")]
pub mod registry;
mod scratch;
#[cfg(feature = "secrets")]
pub mod secrets;
mod services;
pub mod settings;
pub mod versions;
pub mod wadm;
pub mod wait;
pub mod wrpc;

pub use error::HarnessError;
pub use existing::ExistingLattice;
/// Re-exported so that [`snapshot!`] expands in the caller's crate with the same insta version.
pub use insta;
pub use lattice::{Backend, Lattice, LatticeBuilder};
pub use reaper::{reap_dead_runs, ReapReport};
/// Used by [`snapshot!`]'s expansion, so callers need no `serde_json` dependency of their own.
#[doc(hidden)]
pub use serde_json as __serde_json;
