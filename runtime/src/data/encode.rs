//! Encoded samples: every sample's input spike train on the time grid, and
//! the latency encoders that make them from feature rows
//! (`docs/contract.md` section 8), and the ambiguous-point filter.
//!
//! Input: a [`Split`], the spike source of the network and its time grid
//! (latency codes), or binned event streams ([`super::events`]).
//! Output: [`Encoded`]: per sample, a list of `(step, input)` events sorted
//! by step, then input, at most one per input and step (CSR: one offset per
//! sample, one packed `u32` key `step * inputs + input` per event, `u64`
//! when `steps * inputs` exceeds `u32`). Latency codes give at most one
//! spike per input; for them [`Encoded`] also keeps the per-input view
//! ([`Encoded::sample`]: the step of each input's spike or [`NO_SPIKE`]),
//! which the emulator's host interface takes.
//!
//! Latency arithmetic is `f64`; steps are rounded half to even:
//! - `early_high`: `v' = max(v, clip_low)`,
//!   `step = round(t_min + (t_max - t_min) * (1 - v'))`, `t_max` defaulting to `T-1`;
//! - `late_high`: `v' = max(v, clip_low)`, `step = round(t_min + v' * (t_max - t_min))`;
//! - bias: `step = round(at)`.
//!
//! Steps below 0 become 0; steps above `T-1` mean no spike.
//! Invariants: the result depends only on the inputs (no state); a
//! sample's events are strictly ascending keys, every step below the
//! grid's `T`, every input below `inputs`.

use std::collections::BTreeMap;

use snnc_compiler::network::{Encoding, LatencyEncoding, LatencyOrder, SpikeSource, TimeGrid};

use super::Split;

/// Marks an input that does not spike within the window.
pub const NO_SPIKE: u32 = u32::MAX;

/// The packed events of all samples: `u32` keys when every key fits.
#[derive(Clone, Debug, PartialEq)]
enum Keys {
    U32(Vec<u32>),
    U64(Vec<u64>),
}

impl Keys {
    fn new(steps: u32, inputs: usize) -> Keys {
        if u64::from(steps) * inputs as u64 <= u64::from(u32::MAX) {
            Keys::U32(Vec::new())
        } else {
            Keys::U64(Vec::new())
        }
    }
    fn len(&self) -> usize {
        match self {
            Keys::U32(k) => k.len(),
            Keys::U64(k) => k.len(),
        }
    }
    fn get(&self, i: usize) -> u64 {
        match self {
            Keys::U32(k) => u64::from(k[i]),
            Keys::U64(k) => k[i],
        }
    }
    fn push(&mut self, key: u64) {
        match self {
            Keys::U32(k) => k.push(key as u32),
            Keys::U64(k) => k.push(key),
        }
    }
    fn bytes_per_key(&self) -> usize {
        match self {
            Keys::U32(_) => 4,
            Keys::U64(_) => 8,
        }
    }
}

/// Encoded samples: each sample's input events on a grid of `steps` steps.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoded {
    pub inputs: usize,
    /// The grid's number of steps `T`: every event's step is below it.
    pub time_steps: u32,
    pub labels: Vec<u32>,
    /// Sample `s`'s events are `keys[offsets[s] .. offsets[s + 1]]`.
    offsets: Vec<u64>,
    keys: Keys,
    /// One-spike-per-input data (latency codes): `per_input[s * inputs + i]`
    /// is input `i`'s step in sample `s`, or [`NO_SPIKE`].
    per_input: Option<Vec<u32>>,
}

/// One sample's events, `(step, input)` in ascending order.
#[derive(Clone, Copy, Debug)]
pub struct SampleEvents<'a> {
    enc: &'a Encoded,
    range: (usize, usize),
}

impl<'a> SampleEvents<'a> {
    pub fn len(&self) -> usize {
        self.range.1 - self.range.0
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The events as `(step, input)`, by step, then input.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + 'a {
        let enc = self.enc;
        let inputs = enc.inputs as u64;
        (self.range.0..self.range.1).map(move |k| {
            let key = enc.keys.get(k);
            ((key / inputs) as u32, (key % inputs) as u32)
        })
    }
    /// The packed keys (`step * inputs + input`), ascending.
    pub fn keys(&self) -> impl Iterator<Item = u64> + 'a {
        let enc = self.enc;
        (self.range.0..self.range.1).map(move |k| enc.keys.get(k))
    }
}

/// Builds an [`Encoded`] sample by sample.
pub struct EncodedBuilder {
    enc: Encoded,
}

impl EncodedBuilder {
    pub fn new(inputs: usize, steps: u32) -> EncodedBuilder {
        EncodedBuilder {
            enc: Encoded {
                inputs,
                time_steps: steps,
                labels: Vec::new(),
                offsets: vec![0],
                keys: Keys::new(steps, inputs),
                per_input: None,
            },
        }
    }

    /// The key of `(step, input)`.
    pub fn key(&self, step: u32, input: u32) -> u64 {
        u64::from(step) * self.enc.inputs as u64 + u64::from(input)
    }

    /// Adds a sample: its keys strictly ascending, each of a step below
    /// `steps` and an input below `inputs` (the caller sorts and merges).
    pub fn push_sample(&mut self, keys: &[u64], label: u32) {
        debug_assert!(keys.windows(2).all(|w| w[0] < w[1]), "keys strictly ascending");
        debug_assert!(keys.iter().all(|&k| k < u64::from(self.enc.time_steps) * self.enc.inputs as u64));
        for &k in keys {
            self.enc.keys.push(k);
        }
        self.enc.offsets.push(self.enc.keys.len() as u64);
        self.enc.labels.push(label);
    }

    pub fn finish(self) -> Encoded {
        self.enc
    }
}

impl Encoded {
    /// One-spike-per-input samples (latency codes): `per_input[s * inputs +
    /// i]` is input `i`'s step in sample `s` (below `steps`) or [`NO_SPIKE`].
    pub fn from_per_input(inputs: usize, steps: u32, per_input: Vec<u32>, labels: Vec<u32>) -> Encoded {
        let mut b = EncodedBuilder::new(inputs, steps);
        let mut keys = Vec::with_capacity(inputs);
        for (s, &label) in labels.iter().enumerate() {
            keys.clear();
            for (i, &step) in per_input[s * inputs..(s + 1) * inputs].iter().enumerate() {
                if step != NO_SPIKE {
                    keys.push(b.key(step, i as u32));
                }
            }
            keys.sort_unstable();
            b.push_sample(&keys, label);
        }
        let mut enc = b.finish();
        enc.per_input = Some(per_input);
        enc
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Sample `s`'s events.
    pub fn events(&self, s: usize) -> SampleEvents<'_> {
        SampleEvents { enc: self, range: (self.offsets[s] as usize, self.offsets[s + 1] as usize) }
    }

    /// Number of events of all samples.
    pub fn event_count(&self) -> usize {
        self.keys.len()
    }

    /// Bytes held (events, offsets, labels, the per-input view).
    pub fn bytes(&self) -> usize {
        self.keys.len() * self.keys.bytes_per_key()
            + self.offsets.len() * 8
            + self.labels.len() * 4
            + self.per_input.as_ref().map_or(0, |p| p.len() * 4)
    }

    /// Whether every sample has at most one spike per input (latency
    /// codes), so that [`Encoded::sample`] exists.
    pub fn one_per_input(&self) -> bool {
        self.per_input.is_some()
    }

    /// Sample `s` as one step per input ([`NO_SPIKE`] for none): the
    /// emulator's host interface. Only for one-spike-per-input data (latency
    /// codes, [`Encoded::one_per_input`]); callers refuse event data first.
    pub fn sample(&self, s: usize) -> &[u32] {
        let per_input = self.per_input.as_ref().expect("the per-input view exists for latency-coded data only");
        &per_input[s * self.inputs..(s + 1) * self.inputs]
    }

    /// The same spikes on a grid `factor` times finer (steps multiplied).
    pub fn refine(&self, factor: u32) -> Encoded {
        let steps = self.time_steps * factor;
        let mut b = EncodedBuilder::new(self.inputs, steps);
        let mut keys = Vec::new();
        for s in 0..self.len() {
            keys.clear();
            keys.extend(self.events(s).iter().map(|(n, i)| b.key(n * factor, i)));
            b.push_sample(&keys, self.labels[s]);
        }
        let mut enc = b.finish();
        enc.per_input = self
            .per_input
            .as_ref()
            .map(|p| p.iter().map(|&s| if s == NO_SPIKE { NO_SPIKE } else { s * factor }).collect());
        enc
    }

    /// The samples `keep`, in that order.
    pub fn select(&self, keep: &[usize]) -> Encoded {
        let mut b = EncodedBuilder::new(self.inputs, self.time_steps);
        let mut keys = Vec::new();
        for &s in keep {
            keys.clear();
            keys.extend(self.events(s).keys());
            b.push_sample(&keys, self.labels[s]);
        }
        let mut enc = b.finish();
        enc.per_input = self.per_input.as_ref().map(|_| {
            let mut v = Vec::with_capacity(keep.len() * self.inputs);
            for &s in keep {
                v.extend_from_slice(self.sample(s));
            }
            v
        });
        enc
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

/// Encodes every row of `split` for a spike source of `size` neurons with a
/// latency code. The checker pairs feature data with latency codes only
/// (event data with `events(..)`, [`super::events`]).
pub fn encode(split: &Split, source: &SpikeSource, size: u32, grid: TimeGrid) -> Encoded {
    let Encoding::Latency(lat) = &source.encoding else {
        unreachable!("the checker pairs feature data with a latency code")
    };
    encode_latency(split, lat, source, size, grid)
}

fn encode_latency(split: &Split, lat: &LatencyEncoding, source: &SpikeSource, size: u32, grid: TimeGrid) -> Encoded {
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
    Encoded::from_per_input(size as usize, grid.steps, steps, split.labels.clone())
}

/// Indices of the samples to keep when dropping ambiguous points: every sample
/// whose spike pattern is shared with a sample of another label is dropped.
/// Returns (kept indices in ascending order, number removed).
pub fn unambiguous(enc: &Encoded) -> (Vec<usize>, usize) {
    let patterns: Vec<Vec<u64>> = (0..enc.len()).map(|s| enc.events(s).keys().collect()).collect();
    let mut labels_of: BTreeMap<&[u64], (u32, bool)> = BTreeMap::new();
    for (s, p) in patterns.iter().enumerate() {
        let entry = labels_of.entry(p).or_insert((enc.labels[s], false));
        if entry.0 != enc.labels[s] {
            entry.1 = true;
        }
    }
    let keep: Vec<usize> = (0..enc.len()).filter(|&s| !labels_of[patterns[s].as_slice()].1).collect();
    let removed = enc.len() - keep.len();
    (keep, removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use snnc_compiler::network::TimeValue;

    #[test]
    fn early_high_rounds_half_to_even_and_clips() {
        let grid = TimeGrid { dt: 1e-3, steps: 27 };
        // 2 + 24 * (1 - v): v = 1 -> 2, v = 0 -> clipped to 0.01 -> 25.76 -> 26,
        // v = 0.9375 -> 3.5 -> 4 (even), v = 0.5 -> 14.
        let split = Split { features: vec![1.0, 0.0, 0.9375, 0.5], labels: vec![0], feature_count: 4 };
        let e = encode(&split, &SpikeSource::seed_latency(), 5, grid);
        assert_eq!(e.sample(0), &[2, 26, 4, 14, 0]);
        // The events: by step, then input.
        assert_eq!(e.events(0).iter().collect::<Vec<_>>(), [(0, 4), (2, 0), (4, 2), (14, 3), (26, 1)]);
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
        assert_eq!(e.events(0).iter().collect::<Vec<_>>(), [(0, 4), (3, 1), (15, 0)]);
        let r = e.refine(2);
        assert_eq!(r.sample(0), &[30, 6, NO_SPIKE, NO_SPIKE, 0]);
        assert_eq!(r.events(0).iter().collect::<Vec<_>>(), [(0, 4), (6, 1), (30, 0)]);
        assert_eq!(r.time_steps, 40);
    }

    #[test]
    fn ambiguous_filter_drops_both_sides_of_a_conflict() {
        let enc = Encoded::from_per_input(2, 5, vec![1, 2, 1, 2, 3, 4, 1, 2, 3, 4], vec![0, 1, 2, 0, 2]);
        let (keep, removed) = unambiguous(&enc);
        assert_eq!(keep, vec![2, 4]);
        assert_eq!(removed, 3);
    }

    #[test]
    fn wide_grids_pack_keys_in_u64_and_select_keeps_both_views() {
        // 70000 steps x 70000 inputs does not fit a u32 key.
        let mut per_input = vec![NO_SPIKE; 70_000 * 2];
        per_input[69_999] = 69_999;
        per_input[70_000] = 5;
        let enc = Encoded::from_per_input(70_000, 70_000, per_input, vec![3, 4]);
        assert!(matches!(enc.keys, Keys::U64(_)));
        assert_eq!(enc.events(0).iter().collect::<Vec<_>>(), [(69_999, 69_999)]);
        let sel = enc.select(&[1, 0]);
        assert_eq!(sel.events(0).iter().collect::<Vec<_>>(), [(5, 0)]);
        assert_eq!(sel.sample(1)[69_999], 69_999);
        assert_eq!(sel.labels, [4, 3]);
    }
}
