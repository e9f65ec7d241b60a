//! Emission: kernel IR -> sources for the chip.
//!
//! Input: verified per-PE [`crate::kernel::Kernel`]s with their initial data.
//! Output: text files (C99 sources, headers, linker script, Makefile); the
//! caller decides where they go.
//!
//! Invariant: emission never panics and is a pure function of its inputs
//! (deterministic text); a kernel that does not verify is refused.

pub mod c;
