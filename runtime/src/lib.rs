//! snnc's runtime crate: data sets, the EventProp reference trainer and its
//! exact continuous-time checker, and the executors of the kernel IR.
//!
//! Stages: `data` (data sets and encoders) -> `train` (forward, backward,
//! loss, optimisers, the training loop, run directories). `rng` is the seeded
//! generator that both use; `h5io` reads and writes HDF5 files (event data
//! sets, NIR graphs). `interp` (reference semantics of the kernel IR) and `jit`
//! (Cranelift) run per-PE kernels.

pub mod data;
pub mod emu;
pub mod fsio;
pub mod h5io;
pub mod interp;
pub mod jit;
pub mod nir;
pub mod pipeline;
pub mod rng;
pub mod session;
pub mod train;
