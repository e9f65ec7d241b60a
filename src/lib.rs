//! The `snnc` command-line package. `main.rs` only parses arguments; the
//! commands live here so that integration tests can call them directly.

pub mod cmd;
pub mod sweep;
