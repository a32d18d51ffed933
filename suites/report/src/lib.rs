//! The conformance report format: what a run of the wasmCloud conformance suite writes and what
//! anyone can check afterwards, with no lattice and no async runtime.
//!
//! - [`report`]: the sealed `report.json` model (schema v1, [`report::SCHEMA_JSON`], the file
//!   `schema/report-v1.schema.json` of this crate), and [`schema`], the validator of it;
//! - [`catalogue`]: the catalogue of contract items a report is checked against;
//! - [`verify`] (seal, schema, summary, coverage and catalogue checks) and [`diff`] (two reports);
//! - renderers, each depending on the report and never the reverse: [`junit`], [`markdown`],
//!   [`html`] (with the language × behaviour [`matrix`]) and [`badge`]; [`files`] writes them all;
//! - [`versions`]: the version matrix, several runs' reports (one per host, wadm and NATS version
//!   combination) side by side, with the tests whose result changes between neighbouring cells;
//! - [`bundle`]: `bundle.tar.gz`, a run's whole evidence in one file, read back by `verify`.
#![warn(missing_docs)]

pub mod badge;
pub mod bundle;
pub mod catalogue;
pub mod diff;
mod error;
pub mod files;
pub mod html;
pub mod junit;
pub mod markdown;
mod markup;
pub mod matrix;
#[cfg(test)]
mod properties;
pub mod report;
pub mod schema;
pub mod verify;
pub mod versions;

pub use error::ReportError;
pub use report::{
    Convergence, ConvergenceSpread, FeatureRecord, Phases, PropertyDraw, RecordStatus, Report,
    TestRecord,
};
