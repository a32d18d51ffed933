//! The wasmCloud conformance harness: stands up a real wasmCloud 1.x lattice (NATS with JetStream,
//! hosts, wadm), drives it through the official client crates while recording every exchange, and
//! runs conformance tests against it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), harness::HarnessError> {
//! let lattice = harness::Lattice::builder().hosts(1).wadm(true).start().await?;
//! let hosts = lattice.ctl().get_hosts().await?;
//! assert_eq!(hosts.len(), 1);
//! # Ok(()) }
//! ```
#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub mod backend;
pub mod binaries;
pub mod conformance;
pub mod containers;
pub mod ctl;
pub mod error;
pub mod fixtures;
pub mod journal;
pub mod lattice;
pub mod load;
pub mod manifest;
pub mod otel;
pub mod policy;
mod nats;
mod process;
pub mod redact;
pub mod reaper;
mod services;
pub mod versions;
pub mod wadm;
pub mod wait;
pub mod wrpc;

pub use error::HarnessError;
pub use lattice::{Backend, Lattice, LatticeBuilder};
/// Re-exported so that [`snapshot!`] expands in the caller's crate with the same insta version.
pub use insta;
