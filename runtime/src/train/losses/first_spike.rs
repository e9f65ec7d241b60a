//! `first_spike_cross_entropy` (`docs/contract.md` section 5): the softmax
//! of negative first-spike times with the early-spike regulariser; its
//! constants, loss and error per readout neuron, and prediction.

use snnc_compiler::network::{TimeGrid, TimeValue};
use snnc_compiler::numerics::{exp_f32, ln_f32};

use crate::train::eventprop::Spikes;

/// First-spike loss constants in steps of the plan's grid, as `f32`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossConsts {
    pub xi: f32,
    pub a: f32,
    pub b: f32,
}

/// The constants of the loss with `xi`, `alpha` and `beta` on `grid`.
pub fn consts(xi: TimeValue, alpha: f64, beta: TimeValue, grid: TimeGrid) -> LossConsts {
    LossConsts { xi: xi.in_steps(grid.dt) as f32, a: alpha as f32, b: beta.in_steps(grid.dt) as f32 }
}

/// First spike step of each neuron of `spikes` (`T` when silent) and the index
/// of that spike in the list (`usize::MAX` when silent).
pub fn first_spikes(spikes: &Spikes, size: usize, steps: usize) -> (Vec<u32>, Vec<usize>) {
    let mut first = vec![steps as u32; size];
    let mut event = vec![usize::MAX; size];
    for n in 0..steps {
        for k in spikes.at(n) {
            let j = spikes.neuron[k] as usize;
            if event[j] == usize::MAX {
                first[j] = n as u32;
                event[j] = k;
            }
        }
    }
    (first, event)
}

/// The prediction of first-spike times (argmin, ties to the lowest index)
/// and strict correctness.
pub fn predict(first: &[u32], label: u32) -> (u32, bool) {
    let mut best = 0;
    for (k, &t) in first.iter().enumerate() {
        if t < first[best] {
            best = k;
        }
    }
    let l = label as usize;
    let strict = best == l && first.iter().enumerate().all(|(k, &t)| k == l || t != first[l]);
    (best as u32, strict)
}

/// Loss of one sample and `dL/dt_k` (not yet divided by the batch size).
pub fn loss_and_error(first: &[u32], label: u32, lc: LossConsts) -> (f32, Vec<f32>) {
    let l = label as usize;
    let z: Vec<f32> = first.iter().map(|&t| -(t as f32 / lc.xi)).collect();
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let ez: Vec<f32> = z.iter().map(|&zk| exp_f32(zk - m)).collect();
    let mut s = 0.0f32;
    for &e in &ez {
        s += e;
    }
    let reg = exp_f32(first[l] as f32 / lc.b);
    let loss = ((m + ln_f32(s)) - z[l]) + lc.a * (reg - 1.0);
    let mut g: Vec<f32> = ez
        .iter()
        .enumerate()
        .map(|(k, &e)| {
            let delta = if k == l { 1.0 } else { 0.0 };
            (delta - e / s) / lc.xi
        })
        .collect();
    g[l] += (lc.a * reg) / lc.b;
    (loss, g)
}
