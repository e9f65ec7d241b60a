//! The `li` neuron (leaky integrator) of the reference trainer
//! (`docs/contract.md` sections 3 and 6): no threshold, no reset, no spikes;
//! as a voltage readout it feeds its loss' score forward and takes the
//! loss' direct term backward.

use snnc_compiler::network::LayerConsts;

use super::AdjointInputs;
use crate::train::eventprop::{LayerState, Spikes};
use crate::train::losses::{self, Score};

/// `I = alpha*I + acc`, `V = beta*V + gamma*I`; a readout adds step `n`
/// to its scores. No spikes (the step's list in `out` is empty).
pub(crate) fn forward_step(c: LayerConsts, st: &mut LayerState, out: &mut Spikes, readout: Option<&Score>, n: usize) {
    for ((ij, vj), &aj) in st.a.iter_mut().zip(&mut st.b).zip(&st.c) {
        let i_new = c.alpha * *ij + aj;
        *ij = i_new;
        *vj = c.beta * *vj + c.gamma * i_new;
    }
    if let Some(score) = readout {
        losses::accumulate_score(score, n, st);
    }
    out.offsets.push(out.neuron.len() as u32);
}

/// `lI = alpha*lI + (1-alpha)*lV`; `lV = beta*lV`, plus a readout's direct
/// term `q[n]`.
pub(crate) fn adjoint_step(c: LayerConsts, st: &mut LayerState, x: AdjointInputs<'_>) {
    for (lij, lvj) in st.a.iter_mut().zip(&st.b) {
        *lij = c.alpha * *lij + c.one_minus_alpha * *lvj;
    }
    match x.readout {
        Some((score, direct)) => losses::inject(score, x.n, direct, st, c.beta),
        None => {
            for lvj in &mut st.b {
                *lvj *= c.beta;
            }
        }
    }
}
