//! The EventProp reference trainer (`docs/eventprop.md`): the oracle every
//! later backend is tested against.
//!
//! Modules: `plan` (network -> layers and constants), `eventprop` (one
//! sample's forward and backward), `batch` (a batch: samples in parallel,
//! reduced in sample order).

pub mod batch;
pub mod eventprop;
pub mod exact;
pub mod gradcheck;
pub mod init;
pub mod optim;
pub mod plan;
pub mod run;
pub mod svg;
pub mod trainer;
