//! Load scenarios.
