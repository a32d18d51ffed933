//! A load generator for the lattice under test: open loop (requests sent at scheduled times,
//! latency measured from the scheduled time, so a stalled system cannot hide its queue: the
//! coordinated-omission correction) or closed loop (each worker sends its next request when the
//! previous one is answered: peak throughput). Latencies go into one HDR histogram per worker,
//! merged at the end; the open-loop scheduler's own lateness is measured, and a run whose
//! scheduler was too late to be trusted is rejected.
//!
//! ```no_run
//! # async fn demo() {
//! use std::time::Duration;
//! use load_suite::generator::{http::HttpGet, LoadSpec, run};
//! let target = HttpGet::new("127.0.0.1:8080", "/", Some(b"hello".to_vec()));
//! let report = run(&target, &LoadSpec::open(2000.0, Duration::from_secs(5)).workers(16)).await;
//! assert!(report.rejected.is_none(), "{:?}", report.rejected);
//! println!("p50 {} us", report.latency.p50_us);
//! # }
//! ```
mod driver;
mod histogram;
pub mod http;
mod schedule;
mod target;

pub use driver::{run, LoadReport, LoadSpec, Mode};
pub use histogram::{LatencyHistogram, Summary};
pub use schedule::Schedule;
pub use target::{Caller, FnTarget, NatsRequest, Target};
