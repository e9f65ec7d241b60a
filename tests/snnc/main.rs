//! The integration tests of `snnc`, one binary (after naga's
//! `naga/tests/naga/main.rs`): every file beside this one is a module, so the
//! crate and its dependencies are linked once, not once per file.

// Shared with the runtime crate's tests.
#[path = "../../runtime/tests/runtime/support/slow.rs"]
mod slow;

// The tests.
mod audit_cli;
mod check_examples;
mod cli_check;
mod cli_props;
mod diagnostics;
mod emit_cli;
mod emit_network;
mod emu_cli;
mod event_cli;
mod fuzz_check;
mod nir_cli;
mod place_cli;
mod readme;
mod sweep_cli;
mod sweep_slurm;
mod tidy;
mod train_cli;
