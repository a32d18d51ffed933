//! A lattice start refuses a malformed setting before it starts anything: the error names the
//! variable and its value, and no process is left (`wcc-lattice` exits at once).
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn a_timeout_factor_that_is_not_a_number_is_refused_at_lattice_start() {
    for bad in ["abc", "0", "-1"] {
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_wcc-lattice"))
            .env("WCC_TIMEOUT_SCALE", bad)
            .output()
            .expect("wcc-lattice runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("invalid configuration")
                && stderr.contains(&format!("WCC_TIMEOUT_SCALE={bad}"))
                && stderr.contains("above 0"),
            "{stderr}"
        );
        // Refused before anything starts: no service's start-up timeout ran.
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
    }
}
