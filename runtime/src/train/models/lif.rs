//! The `lif` neuron of the reference trainer (`docs/contract.md` sections 2
//! and 4.2): its forward step (threshold, reset to zero, spikes recorded with
//! `I` and `Vt`) and its adjoint step (the jump at each own spike, the
//! regulariser's `rho`).

use snnc_compiler::network::LayerConsts;

use super::AdjointInputs;
use crate::train::eventprop::{GUARD, LayerState, Spikes};

/// `I = alpha*I + acc`, `Vt = beta*V + gamma*I`; a neuron spikes iff
/// `Vt > theta` and then `V = 0`, else `V = Vt`; the step's spikes are
/// appended to `out` in neuron order.
pub(crate) fn forward_step(c: LayerConsts, st: &mut LayerState, out: &mut Spikes) {
    // Pass 1 (branch-free, vectorisable): the new state of every neuron.
    let mut any = false;
    let lanes = st.a.iter_mut().zip(&mut st.b).zip(&st.c).zip(&mut st.d);
    for (((ij, vj), &aj), vtj) in lanes {
        let i_new = c.alpha * *ij + aj;
        *ij = i_new;
        let vt = c.beta * *vj + c.gamma * i_new;
        *vtj = vt;
        let spike = vt > c.theta;
        any |= spike;
        *vj = if spike { 0.0 } else { vt };
    }
    // Pass 2, only at steps with spikes: record them in neuron order.
    if any {
        for j in 0..st.a.len() {
            if st.d[j] > c.theta {
                out.neuron.push(j as u32);
                out.i_at.push(st.a[j]);
                out.vt_at.push(st.d[j]);
            }
        }
    }
    out.offsets.push(out.neuron.len() as u32);
}

/// `lI = alpha*lI + (1-alpha)*lV`; `lV = beta*lV` plus, at a spike of step
/// `n+1`, `jump = (theta*lV + e_out) / ((I - Vt) + 1e-10)` (old `lV`), minus
/// the regulariser's `rho`.
pub(crate) fn adjoint_step(c: LayerConsts, st: &mut LayerState, x: AdjointInputs<'_>) {
    let own = x.own;
    st.d.clear();
    for s in x.spikes_next.clone() {
        let j = own.neuron[s] as usize;
        // e_out: the loss' error (readout) or the sum of the
        // outgoing projections' errors, in declaration order.
        let mut e_out = st.e_out[s];
        for &gp in x.outgoing {
            e_out += x.errors[gp][s];
        }
        let den = (own.i_at[s] - own.vt_at[s]) + GUARD;
        st.d.push((c.theta * st.b[j] + e_out) / den);
    }
    for (lij, lvj) in st.a.iter_mut().zip(&mut st.b) {
        *lij = c.alpha * *lij + c.one_minus_alpha * *lvj;
        *lvj *= c.beta;
    }
    for (q, s) in x.spikes_next.enumerate() {
        let j = own.neuron[s] as usize;
        st.b[j] += st.d[q];
        if let Some(rho) = x.rho {
            st.b[j] -= rho[j];
        }
    }
}
