//! `lif`'s parameters as the checked network holds them (`docs/contract.md`
//! section 2), and its `f32` constants. Part of [`crate::network`] (the IR
//! every stage reads), declared there.

use super::{Integration, LayerConsts};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LifParams {
    /// Membrane time constant, seconds.
    pub tau_mem: f64,
    /// Synaptic time constant, seconds.
    pub tau_syn: f64,
    pub threshold: f64,
    pub reset: Reset,
    /// How the membrane equation is stepped.
    pub integration: Integration,
}

/// The language's defaults (`docs/language.md`): what `lif(n)` with no body
/// means, and what the checker fills in for a parameter left out.
impl Default for LifParams {
    fn default() -> Self {
        LifParams {
            tau_mem: 20e-3,
            tau_syn: 5e-3,
            threshold: 1.0,
            reset: Reset::Zero,
            integration: Integration::default(),
        }
    }
}

impl LifParams {
    /// This layer's constants on a grid of step `dt` seconds.
    pub fn f32_consts(&self, dt: f64) -> LayerConsts {
        LayerConsts::new(self.tau_mem, self.tau_syn, self.threshold, self.integration, dt)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reset {
    /// V is set to zero after a spike (the only reset EventProp's contract defines).
    Zero,
}
