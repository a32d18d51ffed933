//! The conformance framework: tests as values ([`ConformanceTest`]), what a test body gets
//! ([`Cx`]), how one is executed against a fresh lattice or an existing one ([`execute`],
//! [`execute_on_existing`]), the libtest-mimic adapter that lets `cargo nextest run` run each as
//! its own test, the feature probe, which tests an existing lattice can run, and the named time
//! budgets tests wait with ([`T`]), and how a property test draws its cases ([`properties`]). What a run writes is the report crate's
//! (`conformance_report`).
mod context;
pub mod eligibility;
mod execute;
pub mod features;
pub mod libtest;
mod model;
pub mod properties;
mod timeouts;

pub use context::Cx;
pub use execute::{
    execute, execute_on_existing, execute_shared, fixtures_delivered, keep_from_env, record,
    skip_reason, NemesisPlan, Outcome, RunOptions, Status,
};
pub use model::{Area, ConformanceTest, Feature, Setup, TestFuture};
pub use timeouts::{Timeouts, T};
