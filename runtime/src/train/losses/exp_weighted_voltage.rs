//! `exp_weighted_voltage_cross_entropy` (`docs/contract.md` section 6): the
//! score is `sum_n w[n] V[n]` over the steps of its window (`exp_window`).

use snnc_compiler::network::{TimeGrid, TimeValue, exp_window};

use super::Score;
use crate::train::eventprop::LayerState;

/// The score with the step weights of `window` on `grid`.
pub fn score(grid: TimeGrid, window: Option<(TimeValue, TimeValue)>) -> Score {
    Score::Weighted { w: exp_window(grid, window).2 }
}

/// Step `n`'s contribution: `y += w[n] V` inside the window.
pub(crate) fn accumulate(w: &[Option<f32>], n: usize, st: &mut LayerState) {
    if let Some(w) = w[n] {
        for (y, &v) in st.score.iter_mut().zip(&st.b) {
            *y += w * v;
        }
    }
}

/// `lV[n] = beta lV[n+1] + (kappa e) w[n]` inside the window, else `beta lV[n+1]`.
pub(crate) fn inject(w: &[Option<f32>], n: usize, direct: &[f32], st: &mut LayerState, beta: f32) {
    match w[n] {
        Some(w) => {
            for (lv, &ke) in st.b.iter_mut().zip(direct) {
                *lv = beta * *lv + ke * w;
            }
        }
        None => {
            for lv in &mut st.b {
                *lv *= beta;
            }
        }
    }
}
