//! The conformance tests of wasmCloud 1.x, as values in one explicit registry.
