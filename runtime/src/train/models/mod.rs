//! The neuron models of the reference trainer, one file each (`lif.rs`,
//! `li.rs`): a model's discrete forward step and adjoint step
//! (`docs/contract.md` sections 2-4). This file is the registry: the
//! [`LayerKind`] of a population and the dispatch of both steps.
//!
//! A new model adds its file here, a variant of [`LayerKind`], its arm in
//! [`LayerKind::of`], [`forward_step`] and [`adjoint_step`]; its parameters,
//! checks, constants, resources and kernels live in the compiler crate's
//! `compiler/src/models/` folder (ARCHITECTURE.md, "How to add a neuron model").

pub mod li;
pub mod lif;

use snnc_compiler::network::{LayerConsts, Population, PopulationKind};

use super::eventprop::{LayerState, Spikes};
use super::losses::Score;

/// The neuron model of a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerKind {
    /// Spiking, with threshold and reset (`docs/contract.md` section 2).
    Lif,
    /// Leaky integrator: no threshold, no reset (section 3).
    Li,
}

impl LayerKind {
    /// The model of a layer population (`None` for a spike source).
    pub fn of(p: &Population) -> Option<LayerKind> {
        match p.kind {
            PopulationKind::Lif(_) => Some(LayerKind::Lif),
            PopulationKind::Li(_) => Some(LayerKind::Li),
            PopulationKind::SpikeSource(_) => None,
        }
    }
}

/// One forward step `n >= 1` of a layer whose inputs of the step are in
/// `st.c`: its new state, its spikes of the step appended to `out`; a
/// voltage readout (`readout`) adds the step to its scores.
pub(crate) fn forward_step(
    kind: LayerKind,
    c: LayerConsts,
    st: &mut LayerState,
    out: &mut Spikes,
    readout: Option<&Score>,
    n: usize,
) {
    match kind {
        LayerKind::Lif => lif::forward_step(c, st, out),
        LayerKind::Li => li::forward_step(c, st, out, readout, n),
    }
}

/// What a layer's adjoint step at backward step `n` reads besides its state.
pub(crate) struct AdjointInputs<'a> {
    /// The layer's own spikes, and the indices of those of step `n + 1`.
    pub own: &'a Spikes,
    pub spikes_next: std::ops::Range<usize>,
    /// The errors of the outgoing projections (indices into `errors`).
    pub outgoing: &'a [usize],
    pub errors: &'a [Vec<f32>],
    /// The regulariser's `rho` per neuron, when the layer is regularised.
    pub rho: Option<&'a [f32]>,
    /// A voltage readout's score and direct term `kappa e_k` per neuron.
    pub readout: Option<(&'a Score, &'a [f32])>,
    pub n: usize,
}

/// The adjoint recurrences of one backward step (after the errors for the
/// layers below are taken from `lV - lI`): `lI`, `lV` of step `n` in `st`.
pub(crate) fn adjoint_step(kind: LayerKind, c: LayerConsts, st: &mut LayerState, x: AdjointInputs<'_>) {
    match kind {
        LayerKind::Lif => lif::adjoint_step(c, st, x),
        LayerKind::Li => li::adjoint_step(c, st, x),
    }
}
