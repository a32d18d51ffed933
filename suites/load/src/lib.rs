//! The load and performance suite: wasmCloud scenarios under load, each reported as a ratio to an
//! anchor measured in the same run on the same machine (see the crate's tests/load.rs and
//! `bash ci/load`), and the load generator they are driven with ([`generator`]).
pub mod anchors;
pub mod bindings;
pub mod config;
pub mod generator;
pub mod ready;
pub mod record;
pub mod report;
pub mod run;
pub mod scenarios;
