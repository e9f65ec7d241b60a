//! The EventProp reference trainer (`docs/contract.md`): the oracle every
//! later backend is tested against.
//!
//! Modules: `plan` (network -> layers and `f32` constants), `eventprop` (one
//! sample's forward, loss and backward, with the exact order of every sum),
//! `models` (one file per neuron model: its forward and adjoint step),
//! `losses` (one file per loss and the regulariser),
//! `batch` (a batch: samples in parallel, reduced in sample order), `simd`
//! (the element-wise row loops, for the widest vector unit), `init`
//! (seeded initialisers), `optim` (Adam and SGD with PyTorch semantics, the
//! schedule), `trainer` (the epoch loop), `run` (run directories and atomic
//! checkpoints), `svg` (the curves), `exact` (the continuous-time model in
//! `f64`) and `gradcheck` (discrete vs continuous gradients).

pub mod batch;
pub mod eventprop;
pub mod exact;
pub mod gradcheck;
pub mod init;
pub mod losses;
pub mod models;
pub mod optim;
pub mod plan;
pub mod run;
pub mod simd;
pub mod svg;
pub mod trainer;
