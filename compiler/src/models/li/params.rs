//! `li`'s parameters (the leaky integrator) as the checked network holds
//! them (`docs/contract.md` section 3), and its `f32` constants: no
//! threshold (`+inf`). Part of [`crate::network`], declared there.

use super::{Integration, LayerConsts, LifParams};

/// A leaky integrator: the LIF's current and membrane equations without a
/// threshold or reset (`docs/contract.md` section 3).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiParams {
    /// Membrane time constant, seconds.
    pub tau_mem: f64,
    /// Synaptic time constant, seconds.
    pub tau_syn: f64,
    /// How the membrane equation is stepped.
    pub integration: Integration,
}

/// The language's defaults: those of `lif` (`docs/language.md`).
impl Default for LiParams {
    fn default() -> Self {
        let l = LifParams::default();
        LiParams { tau_mem: l.tau_mem, tau_syn: l.tau_syn, integration: l.integration }
    }
}

impl LiParams {
    /// This layer's constants on a grid of step `dt` seconds (no threshold).
    pub fn f32_consts(&self, dt: f64) -> LayerConsts {
        LayerConsts::new(self.tau_mem, self.tau_syn, f64::INFINITY, self.integration, dt)
    }
}
