//! Runs every conformance test as its own test under `cargo nextest run` / `cargo test`.
fn main() {
    harness::conformance::libtest::main(conformance_suite::registry())
}
