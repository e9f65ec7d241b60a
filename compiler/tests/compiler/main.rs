//! The integration tests of `compiler`, one binary (after naga's
//! `naga/tests/naga/main.rs`): every file beside this one is a module, so the
//! crate and its dependencies are linked once, not once per file.

mod common;

// The tests.
mod place_errors;
mod place_examples;
mod place_props;
mod place_svg;
mod place_verify;
