//! snnc's runtime crate: data sets, the EventProp reference trainer and its
//! exact continuous-time checker (the emulator and the JIT are added by their
//! own modules).
//!
//! Stages: `data` (data sets and encoders) -> `train` (forward, backward,
//! loss, optimisers, the training loop, run directories). `rng` is the seeded
//! generator that both use.

pub mod data;
pub mod rng;
pub mod train;
