//! What the voltage losses (`docs/contract.md` section 6) share: the softmax
//! cross-entropy of the readout's scores and the prediction by argmax.

use snnc_compiler::numerics::{exp_f32, ln_f32};

/// The prediction of scores (argmax, ties to the lowest index) and strict
/// correctness.
pub fn predict_scores(scores: &[f32], label: u32) -> (u32, bool) {
    let mut best = 0;
    for (k, &y) in scores.iter().enumerate() {
        if y > scores[best] {
            best = k;
        }
    }
    let l = label as usize;
    let strict = best == l && scores.iter().enumerate().all(|(k, &y)| k == l || y != scores[l]);
    (best as u32, strict)
}

/// Softmax cross-entropy of scores (`docs/contract.md` section 6): the loss
/// and `g_k = p_k - delta_kl` (not yet divided by the batch size).
pub fn score_loss_and_error(scores: &[f32], label: u32) -> (f32, Vec<f32>) {
    let l = label as usize;
    // m = max y, scanning up: a larger score replaces it (never a NaN).
    let mut m = f32::NEG_INFINITY;
    for &y in scores {
        if y > m {
            m = y;
        }
    }
    let ez: Vec<f32> = scores.iter().map(|&y| exp_f32(y - m)).collect();
    let mut s = 0.0f32;
    for &e in &ez {
        s += e;
    }
    let loss = (m + ln_f32(s)) - scores[l];
    let g = ez
        .iter()
        .enumerate()
        .map(|(k, &e)| {
            let delta = if k == l { 1.0 } else { 0.0 };
            e / s - delta
        })
        .collect();
    (loss, g)
}
