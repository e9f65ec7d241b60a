//! The losses of the reference trainer, one file each: `first_spike.rs`
//! (`first_spike_cross_entropy`, `docs/contract.md` section 5), the voltage
//! losses (section 6) `max_voltage.rs`, `sum_voltage.rs` and
//! `exp_weighted_voltage.rs` over their shared softmax cross-entropy
//! (`voltage.rs`), and the spike-count regulariser (`spike_count.rs`,
//! section 7). This file is the registry: the plan's [`ReadoutLoss`] of a
//! [`LossSpec`] and the dispatch of a voltage loss' score.
//!
//! A new loss adds its file here and its arms below (ARCHITECTURE.md, "How
//! to add a loss").

pub mod exp_weighted_voltage;
pub mod first_spike;
pub mod max_voltage;
pub mod spike_count;
pub mod sum_voltage;
pub mod voltage;

use snnc_compiler::network::{LossSpec, TimeGrid};

pub use first_spike::LossConsts;
pub use spike_count::RegularizerPlan;

use super::eventprop::LayerState;

/// How a voltage loss turns a readout neuron's voltage into its score.
#[derive(Clone, Debug, PartialEq)]
pub enum Score {
    /// `max_n V[n]`, the first maximum's step is the support.
    Max,
    /// `(sum_{n >= 1} V[n]) * c`, every step `n >= 1` in the support.
    Sum { c: f32 },
    /// `sum_n w[n] V[n]` over the steps with `w[n] != None`.
    Weighted { w: Vec<Option<f32>> },
}

/// The readout's loss.
#[derive(Clone, Debug, PartialEq)]
pub enum ReadoutLoss {
    FirstSpike(LossConsts),
    Voltage(Score),
}

impl ReadoutLoss {
    /// The loss of `spec` on `grid` (`steps` steps), its constants rounded to `f32` once.
    pub fn of(spec: &LossSpec, grid: TimeGrid, steps: usize) -> ReadoutLoss {
        match *spec {
            LossSpec::FirstSpikeCrossEntropy { xi, alpha, beta } => {
                ReadoutLoss::FirstSpike(first_spike::consts(xi, alpha, beta, grid))
            }
            LossSpec::MaxVoltageCrossEntropy => ReadoutLoss::Voltage(Score::Max),
            LossSpec::SumVoltageCrossEntropy => ReadoutLoss::Voltage(sum_voltage::score(steps)),
            LossSpec::ExpWeightedVoltageCrossEntropy { window } => {
                ReadoutLoss::Voltage(exp_weighted_voltage::score(grid, window))
            }
        }
    }
}

/// Step `n`'s contribution to a voltage readout's scores.
pub(crate) fn accumulate_score(score: &Score, n: usize, st: &mut LayerState) {
    match score {
        Score::Max => max_voltage::accumulate(n, st),
        Score::Sum { .. } => sum_voltage::accumulate(st),
        Score::Weighted { w } => exp_weighted_voltage::accumulate(w, n, st),
    }
}

/// The scores after the last forward step (the sum's scale).
pub(crate) fn finish_scores(score: &Score, st: &mut LayerState) {
    if let Score::Sum { c } = score {
        sum_voltage::finish(*c, st);
    }
}

/// `lV[n] = beta * lV[n+1] + q[n]` for the readout neurons whose support
/// holds `n`, `beta * lV[n+1]` for the others (`docs/contract.md` section 6).
pub(crate) fn inject(score: &Score, n: usize, direct: &[f32], st: &mut LayerState, beta: f32) {
    match score {
        Score::Max => max_voltage::inject(n, direct, st, beta),
        Score::Sum { c } => sum_voltage::inject(*c, n, direct, st, beta),
        Score::Weighted { w } => exp_weighted_voltage::inject(w, n, direct, st, beta),
    }
}
