//! Conformance tests as values, how one is executed against a fresh lattice, the libtest-mimic
//! adapter that lets `cargo nextest run` run each as its own test, and the report model (schema,
//! seal, verification, diff, HTML, badge, bundle) and the catalogue they are checked against.
pub mod badge;
pub mod bundle;
pub mod catalogue;
mod context;
pub mod diff;
pub mod eligibility;
mod execute;
pub mod features;
pub mod files;
pub mod html;
pub mod junit;
pub mod libtest;
pub mod markdown;
mod markup;
pub mod matrix;
mod model;
pub mod report;
pub mod schema;
pub mod verify;

pub use context::Cx;
pub use execute::{execute, execute_on_existing, skip_reason, Outcome, RunOptions, Status};
pub use model::{Area, ConformanceTest, Feature, Setup, TestFuture};
