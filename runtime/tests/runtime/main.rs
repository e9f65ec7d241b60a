//! The integration tests of `runtime`, one binary (after naga's
//! `naga/tests/naga/main.rs`): every file beside this one is a module, so the
//! crate and its dependencies are linked once, not once per file.

// Shared helpers, at the crate root where the helpers expect each other.
#[path = "support/c_cases.rs"]
mod c_cases;
#[path = "support/c_harness.rs"]
mod c_harness;
#[path = "support/load.rs"]
mod load;
#[path = "support/random_kernel.rs"]
mod random_kernel;
#[path = "support/slow.rs"]
mod slow;
#[path = "support/trace_replay.rs"]
mod trace_replay;

// The tests.
mod data_sets;
mod emit_c_host;
mod emit_c_qemu;
mod emu_dram;
mod emu_events;
mod emu_kernels_differential;
mod emu_large;
mod emu_parity;
mod emu_random_networks;
mod emu_trace;
mod event_data;
mod eventprop_dense;
mod eventprop_golden;
mod eventprop_naive;
mod firmware_trace_parity;
mod gradcheck;
mod h5io;
mod kernel_differential;
mod kernel_examples;
mod kernel_math;
mod kir_filetests;
mod nir_random_graphs;
mod train_independent;
mod train_resume;
mod yinyang_reference;
