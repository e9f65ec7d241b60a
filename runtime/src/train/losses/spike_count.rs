//! The spike-count regulariser (`docs/contract.md` section 7): its plan and
//! each regularised neuron's `rho`, which the `lif` adjoint subtracts at
//! every own spike.

use snnc_compiler::network::SpikeCountRegularizer;

use crate::train::eventprop::{LayerState, Spikes};

/// The spike-count regulariser on the plan's layers.
#[derive(Clone, Debug, PartialEq)]
pub struct RegularizerPlan {
    /// Per layer: whether it is regularised.
    pub layers: Vec<bool>,
    pub strength: f64,
    pub strength_below: f64,
    pub target: f32,
}

impl RegularizerPlan {
    /// The plan of `r` over the layers `order` (declaration order).
    pub fn of(r: &SpikeCountRegularizer, order: &[petgraph::graph::NodeIndex]) -> RegularizerPlan {
        RegularizerPlan {
            layers: order.iter().map(|n| r.populations.contains(n)).collect(),
            strength: r.strength,
            strength_below: r.strength_below,
            target: r.target as f32,
        }
    }
}

/// `rho_j` for each of the `size` neurons of a regularised layer with these
/// spikes, in a batch of `batch` samples.
pub(crate) fn rho(reg: &RegularizerPlan, size: usize, batch: usize, st: &mut LayerState, spikes: &Spikes) -> Vec<f32> {
    st.count.clear();
    st.count.resize(size, 0);
    for &j in &spikes.neuron {
        st.count[j as usize] += 1;
    }
    let up = (reg.strength / batch as f64) as f32;
    let lo = (reg.strength_below / batch as f64) as f32;
    st.count
        .iter()
        .map(|&c| {
            let s = if c as f32 > reg.target { up } else { lo };
            s * (c as f32 - reg.target)
        })
        .collect()
}
