//! Runs every conformance test as its own test under `cargo nextest run` / `cargo test`.
fn main() {
    conformance_suite::framework::libtest::main(conformance_suite::registry())
}
