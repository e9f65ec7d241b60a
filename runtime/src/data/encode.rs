//! Encoders: feature rows -> one spike step per input neuron (latency codes,
//! `docs/contract.md` section 8), and the ambiguous-point filter.
//!
//! Input: a [`Split`], the spike source of the network and its time grid.
//! Output: [`Encoded`]: for every sample, the step of each input neuron's
//! single spike (or [`NO_SPIKE`]), features first, the bias input last.
//!
//! Arithmetic is `f64`; steps are rounded half to even:
//! - `early_high`: `v' = max(v, clip_low)`,
//!   `step = round(t_min + (t_max - t_min) * (1 - v'))`, `t_max` defaulting to `T-1`;
//! - `late_high`: `v' = max(v, clip_low)`, `step = round(t_min + v' * (t_max - t_min))`;
//! - bias: `step = round(at)`.
//!
//! Steps below 0 become 0; steps above `T-1` mean no spike.
//! Invariant: the result depends only on the inputs (no state).

use std::collections::BTreeMap;

use snnc_compiler::network::{Encoding, LatencyOrder, SpikeSource, TimeGrid};

use super::Split;

/// Marks an input that does not spike within the window.
pub const NO_SPIKE: u32 = u32::MAX;

/// Encoded samples: `steps[s * inputs + i]` is input `i`'s spike step in sample `s`.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoded {
    pub inputs: usize,
    pub steps: Vec<u32>,
    pub labels: Vec<u32>,
}

impl Encoded {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    pub fn sample(&self, s: usize) -> &[u32] {
        &self.steps[s * self.inputs..(s + 1) * self.inputs]
    }
    /// The same spikes on a grid `factor` times finer (steps multiplied).
    pub fn refine(&self, factor: u32) -> Encoded {
        let steps = self.steps.iter().map(|&s| if s == NO_SPIKE { NO_SPIKE } else { s * factor }).collect();
        Encoded { inputs: self.inputs, steps, labels: self.labels.clone() }
    }
    /// The samples `keep`, in that order.
    pub fn select(&self, keep: &[usize]) -> Encoded {
        let mut steps = Vec::with_capacity(keep.len() * self.inputs);
        for &s in keep {
            steps.extend_from_slice(self.sample(s));
        }
        Encoded { inputs: self.inputs, steps, labels: keep.iter().map(|&s| self.labels[s]).collect() }
    }
}

fn to_step(x: f64, steps: u32) -> u32 {
    let r = x.round_ties_even();
    if r < 0.0 {
        0
    } else if r > f64::from(steps - 1) {
        NO_SPIKE
    } else {
        r as u32
    }
}

/// Encodes every row of `split` for a spike source of `size` neurons.
pub fn encode(split: &Split, source: &SpikeSource, size: u32, grid: TimeGrid) -> Encoded {
    let Encoding::Latency(lat) = &source.encoding;
    let last = f64::from(grid.steps - 1);
    let t_min = lat.t_min.in_steps(grid.dt);
    let t_max = lat.t_max.map_or(last, |t| t.in_steps(grid.dt));
    let features = source.feature_count(size) as usize;
    let bias = source.bias.map(|b| to_step(b.in_steps(grid.dt), grid.steps));
    let mut steps = Vec::with_capacity(split.len() * size as usize);
    for s in 0..split.len() {
        for &v in &split.row(s)[..features] {
            let v = v.max(lat.clip_low);
            let t = match lat.order {
                LatencyOrder::EarlyHigh => t_min + (t_max - t_min) * (1.0 - v),
                LatencyOrder::LateHigh => t_min + v * (t_max - t_min),
            };
            steps.push(to_step(t, grid.steps));
        }
        if let Some(b) = bias {
            steps.push(b);
        }
    }
    Encoded { inputs: size as usize, steps, labels: split.labels.clone() }
}

/// Indices of the samples to keep when dropping ambiguous points: every sample
/// whose spike pattern is shared with a sample of another label is dropped.
/// Returns (kept indices in ascending order, number removed).
pub fn unambiguous(enc: &Encoded) -> (Vec<usize>, usize) {
    let mut labels_of: BTreeMap<&[u32], (u32, bool)> = BTreeMap::new();
    for s in 0..enc.len() {
        let entry = labels_of.entry(enc.sample(s)).or_insert((enc.labels[s], false));
        if entry.0 != enc.labels[s] {
            entry.1 = true;
        }
    }
    let keep: Vec<usize> = (0..enc.len()).filter(|&s| !labels_of[enc.sample(s)].1).collect();
    let removed = enc.len() - keep.len();
    (keep, removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use snnc_compiler::network::{LatencyEncoding, TimeValue};

    #[test]
    fn early_high_rounds_half_to_even_and_clips() {
        let grid = TimeGrid { dt: 1e-3, steps: 27 };
        // 2 + 24 * (1 - v): v = 1 -> 2, v = 0 -> clipped to 0.01 -> 25.76 -> 26,
        // v = 0.9375 -> 3.5 -> 4 (even), v = 0.5 -> 14.
        let split = Split { features: vec![1.0, 0.0, 0.9375, 0.5], labels: vec![0], feature_count: 4 };
        let e = encode(&split, &SpikeSource::seed_latency(), 5, grid);
        assert_eq!(e.sample(0), &[2, 26, 4, 14, 0]);
    }

    #[test]
    fn late_high_uses_t_max_and_drops_late_spikes() {
        let src = SpikeSource {
            encoding: Encoding::Latency(LatencyEncoding {
                order: LatencyOrder::LateHigh,
                t_min: TimeValue::Seconds(0.0),
                t_max: Some(TimeValue::Seconds(30e-3)),
                clip_low: 0.0,
            }),
            bias: Some(TimeValue::Seconds(0.0)),
        };
        let grid = TimeGrid { dt: 1e-3, steps: 20 };
        let split = Split { features: vec![0.5, 0.1, 0.9, 1.0], labels: vec![1], feature_count: 4 };
        let e = encode(&split, &src, 5, grid);
        assert_eq!(e.sample(0), &[15, 3, NO_SPIKE, NO_SPIKE, 0]);
        assert_eq!(e.refine(2).sample(0), &[30, 6, NO_SPIKE, NO_SPIKE, 0]);
    }

    #[test]
    fn ambiguous_filter_drops_both_sides_of_a_conflict() {
        let enc = Encoded { inputs: 2, steps: vec![1, 2, 1, 2, 3, 4, 1, 2, 3, 4], labels: vec![0, 1, 2, 0, 2] };
        let (keep, removed) = unambiguous(&enc);
        assert_eq!(keep, vec![2, 4]);
        assert_eq!(removed, 3);
    }
}
