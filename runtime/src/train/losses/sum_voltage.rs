//! `sum_voltage_cross_entropy` (`docs/contract.md` section 6): the score is
//! `(sum_{n >= 1} V[n]) * c` with `c = 1 / T`; every step `n >= 1` is in the support.

use super::Score;
use crate::train::eventprop::LayerState;

/// The score of a grid of `steps` steps (`c = 1 / T`, rounded to `f32` once).
pub fn score(steps: usize) -> Score {
    Score::Sum { c: (1.0 / steps as f64) as f32 }
}

/// Step `n`'s contribution: `y += V`.
pub(crate) fn accumulate(st: &mut LayerState) {
    for (y, &v) in st.score.iter_mut().zip(&st.b) {
        *y += v;
    }
}

/// After the last step: `y *= c`.
pub(crate) fn finish(c: f32, st: &mut LayerState) {
    for y in &mut st.score {
        *y *= c;
    }
}

/// `lV[n] = beta lV[n+1] + (kappa e) c` for `n >= 1`, else `beta lV[n+1]`.
pub(crate) fn inject(c: f32, n: usize, direct: &[f32], st: &mut LayerState, beta: f32) {
    for (lv, &ke) in st.b.iter_mut().zip(direct) {
        *lv = if n >= 1 { beta * *lv + ke * c } else { beta * *lv };
    }
}
