//! Event data: spike times and channels per sample, from files in the
//! Zenke lab's layout (the Spiking Heidelberg Digits, the Spiking Speech
//! Commands, the user's own) or from the generators ([`super::shd_like`],
//! [`super::order`]), and their binning onto the time grid.
//!
//! Input: a [`DataSpec`] of event data and the folder the spec's paths are
//! relative to; then the input population's [`EventEncoding`] and grid.
//! Output: [`EventSplits`] of [`RawEvents`] (times in seconds as stored,
//! channels, labels, speakers), and [`bin`]: [`Encoded`] samples with the
//! [`BinStats`] of what binning dropped and merged.
//!
//! Binning (`docs/contract.md` section 9): an event at time `t` lands in
//! step `n = max { k >= 0 : f64(k * dt) <= t }`; channel `c` feeds input
//! `c / pool` (integer division); events at or past the window (`duration`,
//! default the trial) are dropped and counted; several events of one input
//! in one step merge into one spike (counted). A bias input adds one event
//! per sample.
//!
//! Invariants: every file error names the file, the dataset and the sample
//! (and the event); nothing here panics on any file; the result is a pure
//! function of the files or seeds (no state).

use std::path::{Path, PathBuf};

use snnc_compiler::network::{DataSpec, EventEncoding, EventValidation, SpikeSource, TimeGrid};

use super::DataError;
use super::encode::{Encoded, EncodedBuilder};
use crate::h5io::read_event_file;
use crate::rng::RandomState;

/// Samples of event streams, CSR: sample `s`'s events are
/// `offsets[s] .. offsets[s + 1]` of `times` (seconds) and `channels`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RawEvents {
    pub offsets: Vec<u64>,
    pub times: Vec<f64>,
    pub channels: Vec<u32>,
    pub labels: Vec<u32>,
    /// `extra/speaker` of a file that has it.
    pub speakers: Option<Vec<u32>>,
}

impl RawEvents {
    pub fn new() -> RawEvents {
        RawEvents { offsets: vec![0], ..RawEvents::default() }
    }
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Sample `s`'s events.
    pub fn range(&self, s: usize) -> std::ops::Range<usize> {
        self.offsets[s] as usize..self.offsets[s + 1] as usize
    }
    pub fn event_count(&self) -> usize {
        self.times.len()
    }
    /// Appends a sample.
    pub fn push(&mut self, times: &[f64], channels: &[u32], label: u32) {
        debug_assert_eq!(times.len(), channels.len());
        self.times.extend_from_slice(times);
        self.channels.extend_from_slice(channels);
        self.offsets.push(self.times.len() as u64);
        self.labels.push(label);
    }
    /// The samples `keep`, in that order.
    pub fn select(&self, keep: &[usize]) -> RawEvents {
        let mut out = RawEvents::new();
        for &s in keep {
            let r = self.range(s);
            out.push(&self.times[r.clone()], &self.channels[r], self.labels[s]);
        }
        out.speakers = self.speakers.as_ref().map(|sp| keep.iter().map(|&s| sp[s]).collect());
        out
    }
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.offsets.len() * 8 + self.times.len() * 12 + self.labels.len() * 8
    }
}

/// The splits of an event data set (validation and test may be absent).
#[derive(Clone, Debug)]
pub struct EventSplits {
    pub train: RawEvents,
    pub validation: Option<RawEvents>,
    pub test: Option<RawEvents>,
    /// The data's channel count.
    pub channels: u32,
    pub class_count: u32,
}

/// Reads one event file and checks it for training: no empty sample, every
/// label below `classes`, every channel below `channels`.
pub fn read_events(path: &Path, channels: u32, classes: u32, pool: u32) -> Result<RawEvents, DataError> {
    let f = read_event_file(path).map_err(|e| match e {
        crate::h5io::H5Error::MissingFile { file, reason } => DataError::MissingFile { path: file, reason },
        other => other.into(),
    })?;
    let file = path.to_path_buf();
    let mut out = RawEvents::new();
    out.times.reserve(f.times.iter().map(Vec::len).sum());
    out.channels.reserve(out.times.capacity());
    for (s, (t, u)) in f.times.iter().zip(&f.units).enumerate() {
        if t.is_empty() {
            return Err(DataError::EmptySample { file, sample: s });
        }
        if f.labels[s] >= classes {
            return Err(DataError::EventLabelOutOfRange { file, sample: s, label: f.labels[s], classes });
        }
        if let Some((index, &unit)) = u.iter().enumerate().find(|(_, c)| **c >= channels) {
            return Err(DataError::ChannelOutOfRange { file, sample: s, index, unit, channels, pool });
        }
        out.push(t, u, f.labels[s]);
    }
    out.speakers = f.speaker;
    Ok(out)
}

/// Loads the files of an event data spec (`shd`, `ssc`, `events`), paths
/// relative to `base_dir`, and makes the validation split.
pub fn load_files(spec: &DataSpec, base_dir: &Path, pool: u32) -> Result<EventSplits, DataError> {
    let DataSpec::EventFiles { train, validation, test, channels, classes, .. } = spec else {
        unreachable!("load_files is called for event files only")
    };
    let read = |p: &str| read_events(&base_dir.join(p), *channels, *classes, pool);
    let train_path = base_dir.join(train);
    let mut train_set = read(train)?;
    let test = test.as_deref().map(read).transpose()?;
    let validation = match validation {
        None => None,
        Some(EventValidation::File(p)) => Some(read(p)?),
        Some(EventValidation::Fraction { fraction, seed }) => {
            let (t, v) = split_fraction(&train_set, *fraction, *seed);
            if t.is_empty() || v.is_empty() {
                return Err(DataError::NoTrainingSamples {
                    file: train_path,
                    why: format!(
                        "a validation fraction of {fraction} of its {} samples leaves {} for training and {} for validation",
                        train_set.len(),
                        t.len(),
                        v.len()
                    ),
                });
            }
            train_set = t;
            Some(v)
        }
        Some(EventValidation::Speakers(which)) => {
            let Some(sp) = &train_set.speakers else {
                return Err(DataError::NoSpeakers { file: train_path });
            };
            let (keep, held): (Vec<usize>, Vec<usize>) = (0..train_set.len()).partition(|&s| !which.contains(&sp[s]));
            if held.is_empty() {
                let mut present: Vec<u32> = sp.clone();
                present.sort_unstable();
                present.dedup();
                return Err(DataError::UnknownSpeakers { file: train_path, asked: which.clone(), present });
            }
            if keep.is_empty() {
                return Err(DataError::NoTrainingSamples {
                    file: train_path,
                    why: "every sample's speaker is held out for validation".into(),
                });
            }
            let v = train_set.select(&held);
            train_set = train_set.select(&keep);
            Some(v)
        }
    };
    Ok(EventSplits { train: train_set, validation, test, channels: *channels, class_count: *classes })
}

/// The seeded validation fraction of a training set: `k = round(f n)` (half
/// to even, at least 1) samples, the first `k` of `RandomState(seed).permutation(n)`,
/// in ascending order; the training set keeps the others in their order.
pub fn split_fraction(set: &RawEvents, fraction: f64, seed: u32) -> (RawEvents, RawEvents) {
    let n = set.len();
    let k = ((fraction * n as f64).round_ties_even() as usize).clamp(1, n);
    let perm = RandomState::new(seed).permutation(n);
    let mut held: Vec<usize> = perm[..k].to_vec();
    held.sort_unstable();
    let mut is_held = vec![false; n];
    for &s in &held {
        is_held[s] = true;
    }
    let keep: Vec<usize> = (0..n).filter(|&s| !is_held[s]).collect();
    (set.select(&keep), set.select(&held))
}

/// What binning dropped and merged, per split.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinStats {
    pub samples: usize,
    /// Events read (before binning).
    pub events: usize,
    /// Events at or past the input window.
    pub past_window: usize,
    /// Events that met another of the same input in the same step.
    pub merged: usize,
    /// Events whose channel was outside the data's channels (augmentation
    /// only: files are checked when read).
    pub off_channels: usize,
    /// Spikes after binning (bias spikes included).
    pub spikes: usize,
    /// Samples with no spike within the window.
    pub silent: usize,
}

impl BinStats {
    /// One line for the training report.
    pub fn line(&self, split: &str, window: u32, dt: f64) -> String {
        let mut s = format!(
            "{split}: {} samples, {} events -> {} input spikes on {window} steps",
            self.samples, self.events, self.spikes
        );
        let mut notes = Vec::new();
        if self.past_window > 0 {
            notes.push(format!(
                "{} past the {} window dropped",
                self.past_window,
                snnc_compiler::check::fmt_time(f64::from(window) * dt)
            ));
        }
        if self.merged > 0 {
            notes.push(format!("{} merged (same input, same step)", self.merged));
        }
        if self.off_channels > 0 {
            notes.push(format!("{} moved off the channels dropped", self.off_channels));
        }
        if self.silent > 0 {
            notes.push(format!("{} samples without a spike in the window", self.silent));
        }
        if !notes.is_empty() {
            s += &format!(" ({})", notes.join(", "));
        }
        s
    }
}

/// The step an event at `t` seconds lands in on a grid of step `dt`: the
/// largest `n >= 0` with `f64(n * dt) <= t` (`t >= 0`).
pub fn step_of(t: f64, dt: f64) -> u64 {
    let mut n = (t / dt).floor().max(0.0);
    // The division may be one off the products' order; the products decide.
    while n > 0.0 && n * dt > t {
        n -= 1.0;
    }
    while (n + 1.0) * dt <= t {
        n += 1.0;
    }
    n as u64
}

/// The binning of one population's input: its grid, window, pool, inputs
/// and bias step.
#[derive(Clone, Copy, Debug)]
pub struct Binning {
    pub dt: f64,
    pub steps: u32,
    /// Steps of the input window (`<= steps`).
    pub window: u32,
    pub pool: u32,
    /// Inputs fed by channels (the population's size minus the bias).
    pub inputs: u32,
    /// The data's channels (events on others are off-channel).
    pub channels: u32,
    /// The bias input's step, when it has one (below `steps`).
    pub bias: Option<u32>,
}

impl Binning {
    /// The binning of `source` (an `events(..)` spike source of `size`
    /// neurons) on `grid` for data of `channels` channels.
    pub fn new(source: &SpikeSource, enc: &EventEncoding, size: u32, grid: TimeGrid, channels: u32) -> Binning {
        let bias = source
            .bias
            .map(|b| b.in_steps(grid.dt).round_ties_even())
            .filter(|&b| b >= 0.0 && b < f64::from(grid.steps))
            .map(|b| b as u32);
        Binning {
            dt: grid.dt,
            steps: grid.steps,
            window: enc.window_steps(grid.dt, grid.steps),
            pool: enc.pool,
            inputs: source.feature_count(size),
            channels,
            bias,
        }
    }
}

/// Bins every sample of `raw` (`docs/contract.md` section 9). `size` is the
/// population's size (the bias input is its last neuron).
pub fn bin(raw: &RawEvents, b: &Binning, size: usize) -> (Encoded, BinStats) {
    let mut out = EncodedBuilder::new(size, b.steps);
    let mut stats = BinStats { samples: raw.len(), events: raw.event_count(), ..BinStats::default() };
    let mut keys: Vec<u64> = Vec::new();
    for s in 0..raw.len() {
        keys.clear();
        for k in raw.range(s) {
            let (t, c) = (raw.times[k], raw.channels[k]);
            if c >= b.channels || t.is_nan() || t < 0.0 {
                stats.off_channels += 1;
                continue;
            }
            let n = step_of(t, b.dt);
            if n >= u64::from(b.window) {
                stats.past_window += 1;
                continue;
            }
            let input = c / b.pool;
            if input >= b.inputs {
                stats.off_channels += 1;
                continue;
            }
            keys.push(out.key(n as u32, input));
        }
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        stats.merged += before - keys.len();
        if let Some(bs) = b.bias {
            let key = out.key(bs, b.inputs);
            let at = keys.partition_point(|&k| k < key);
            keys.insert(at, key);
        }
        if keys.is_empty() {
            stats.silent += 1;
        }
        stats.spikes += keys.len();
        out.push_sample(&keys, raw.labels[s]);
    }
    (out.finish(), stats)
}

/// The paths an event data spec reads (for the memory estimate), relative
/// to `base_dir`.
pub fn files(spec: &DataSpec, base_dir: &Path) -> Vec<PathBuf> {
    match spec {
        DataSpec::EventFiles { train, validation, test, .. } => {
            let mut v = vec![base_dir.join(train)];
            if let Some(EventValidation::File(p)) = validation {
                v.push(base_dir.join(p));
            }
            if let Some(t) = test {
                v.push(base_dir.join(t));
            }
            v
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contract's definition, by brute force over the grid's start times.
    fn step_by_definition(t: f64, dt: f64) -> u64 {
        let mut n = 0u64;
        while ((n + 1) as f64) * dt <= t {
            n += 1;
        }
        n
    }

    #[test]
    fn events_at_step_boundaries_land_in_the_step_they_start() {
        let dt = 1e-3;
        // Step 2001 starts at f64(2001 * 0.001) = 2.001, but 2.001 / 0.001 is
        // 2000.9999999999998 in f64: the products decide, not the division.
        assert_eq!(2001.0 * dt, 2.001);
        assert_eq!((2.001f64 / dt).floor(), 2000.0);
        assert_eq!(step_of(2.001, dt), 2001);
        // 0.043 is below f64(43 * 0.001) = 0.043000000000000003: step 42.
        assert!(43.0 * dt > 0.043);
        for (t, want) in [(0.0, 0), (0.003, 3), (0.0029999, 2), (0.043, 42), (0.999, 999), (1.0, 1000), (0.0005, 0)] {
            assert_eq!(step_of(t, dt), want, "t = {t}");
            assert_eq!(step_of(t, dt), step_by_definition(t, dt), "t = {t}");
        }
        // Every boundary k * dt (as f64) of several grids, and its neighbours.
        for dt in [1e-3, 0.5e-3, 0.1e-3, 1.0 / 3.0 * 1e-3, 2e-3] {
            for k in 0..1500u64 {
                let t = k as f64 * dt;
                for x in [t, f64::from_bits(t.to_bits().saturating_sub(1)), f64::from_bits(t.to_bits() + 1)] {
                    assert_eq!(step_of(x, dt), step_by_definition(x, dt), "t = {x:e}, dt = {dt:e}");
                }
            }
        }
        // A float16 time is binned as stored: numpy's float16(0.007) is
        // 0.006999969482421875 (1835 * 2^-18), in step 6.
        let f16_7ms = 1835.0 * 2f64.powi(-18);
        assert_eq!(f16_7ms, 0.006999969482421875);
        assert_eq!(step_of(f16_7ms, dt), 6);
    }

    fn binning(window: u32, pool: u32, inputs: u32, bias: Option<u32>) -> Binning {
        Binning { dt: 1e-3, steps: 10, window, pool, inputs, channels: inputs * pool, bias }
    }

    fn raw(samples: &[&[(f64, u32)]]) -> RawEvents {
        let mut r = RawEvents::new();
        for s in samples {
            let t: Vec<f64> = s.iter().map(|e| e.0).collect();
            let c: Vec<u32> = s.iter().map(|e| e.1).collect();
            r.push(&t, &c, 0);
        }
        r
    }

    #[test]
    fn duplicates_merge_and_late_events_are_dropped_and_counted() {
        // Two events of channel 1 in step 2, one past the window of 5 steps,
        // one exactly at its end (step 5: dropped), unsorted input.
        let r = raw(&[&[(0.0025, 1), (0.0021, 1), (0.007, 0), (0.005, 2), (0.0049, 2), (0.0, 0)]]);
        let (e, st) = bin(&r, &binning(5, 1, 3, None), 3);
        assert_eq!(e.events(0).iter().collect::<Vec<_>>(), [(0, 0), (2, 1), (4, 2)]);
        assert_eq!(st, BinStats { samples: 1, events: 6, past_window: 2, merged: 1, spikes: 3, ..BinStats::default() });
    }

    #[test]
    fn pooling_merges_adjacent_channels() {
        // pool 3: channels 0-2 -> input 0, 3-5 -> 1, 6 -> 2 (7 channels, 3 inputs).
        let r = raw(&[&[(0.001, 0), (0.001, 2), (0.001, 3), (0.0015, 5), (0.001, 6), (0.002, 1)]]);
        let mut b = binning(10, 3, 3, None);
        b.channels = 7;
        let (e, st) = bin(&r, &b, 3);
        assert_eq!(e.events(0).iter().collect::<Vec<_>>(), [(1, 0), (1, 1), (1, 2), (2, 0)]);
        assert_eq!(st.merged, 2);
        assert_eq!(st.spikes, 4);
    }

    #[test]
    fn the_bias_input_spikes_in_every_sample() {
        let r = raw(&[&[(0.004, 1)], &[]]);
        let (e, st) = bin(&r, &binning(10, 1, 2, Some(0)), 3);
        assert_eq!(e.events(0).iter().collect::<Vec<_>>(), [(0, 2), (4, 1)]);
        assert_eq!(e.events(1).iter().collect::<Vec<_>>(), [(0, 2)]);
        assert_eq!(st.silent, 0);
    }

    #[test]
    fn a_validation_fraction_is_a_seeded_permutation() {
        let mut r = RawEvents::new();
        for s in 0..10 {
            r.push(&[0.001], &[0], s);
        }
        let (t, v) = split_fraction(&r, 0.3, 5);
        // numpy: sorted(RandomState(5).permutation(10)[:3])
        let mut want: Vec<u32> = RandomState::new(5).permutation(10)[..3].iter().map(|&s| s as u32).collect();
        want.sort_unstable();
        assert_eq!(v.labels, want);
        assert_eq!(t.len() + v.len(), 10);
        assert!(t.labels.windows(2).all(|w| w[0] < w[1]));
    }
}
