//! `shd_like(..)`: seeded synthetic event data with the shape of the Spiking
//! Heidelberg Digits (Cramer et al. 2020): 700 channels, 20 classes, 8156
//! training and 2264 test samples of at most 1 s, about 8,000 spikes per
//! sample (the figure snnc aims at; see `docs/language.md`, "Event data
//! sets", for what is matched and how closely).
//!
//! Input: classes `K`, channels `C`, three (size, seed) splits, the longest
//! sample `D` (seconds) and the task seed. Output: [`RawEvents`] per split.
//!
//! The model: a word is a few formant-like tracks sweeping across the
//! channels, as a cochlea model's output is. Class `k`'s template is drawn
//! first from `RandomState(seed)`, for `k = 0 .. K`, per track `j = 0 ..
//! 4`: start channel `a = uniform(0.05 C, 0.95 C)`, end `b = a + normal(0,
//! 0.15 C)`, bend `m = normal(0, 0.05 C)`, width `w = uniform(0.005 C,
//! 0.02 C)`, weight `r = uniform(0.5, 1.5)`, active from `s = uniform(0,
//! 0.3)` to `e = uniform(0.6, 1)` of the word. A sample (from the split's own
//! `RandomState(split seed)`): `label = randint(K)`, length `L = D
//! uniform(0.5, 0.9)`, onset `o = D uniform(0, 0.05)`, channel offset
//! `delta = normal(0, 0.01 C)` and gain `g = uniform(0.8, 1.2)` (the
//! speaker); then per track a Poisson process of rate `g r R_k` on
//! `[o + s L, o + e L)` by exponential intervals, each event's channel
//! `round(a + (b - a) tau + 4 m tau (1 - tau) + delta + normal(0, w))`
//! (`tau = (t - o) / L`), dropped when off the channels; then background
//! events at rate `0.05 R0` on `[0, o + L)` with channels `randint(C)`.
//! `R_k = 8000 (C / 700) / (0.7 D sum_j r_j (e_j - s_j))` makes the mean
//! about `8000 C / 700` track events per sample. Events are sorted by time,
//! then channel.
//!
//! Invariant: a deterministic function of the spec.

use snnc_compiler::network::SplitSpec;

use super::events::{EventSplits, RawEvents};
use crate::rng::RandomState;

/// Tracks per class.
pub const TRACKS: usize = 4;
/// Mean spikes per sample aimed at, for 700 channels.
pub const SPIKES_PER_SAMPLE: f64 = 8000.0;
/// The background's share of the track rate.
const BACKGROUND: f64 = 0.05;

#[derive(Clone, Copy, Debug)]
struct Track {
    a: f64,
    b: f64,
    m: f64,
    w: f64,
    r: f64,
    s: f64,
    e: f64,
}

/// The generator of one `shd_like(..)` spec.
#[derive(Clone, Debug)]
pub struct ShdLike {
    pub classes: u32,
    pub channels: u32,
    pub duration: f64,
    templates: Vec<[Track; TRACKS]>,
    /// Track rate per class (events per second, times the weight `r`).
    rates: Vec<f64>,
}

impl ShdLike {
    pub fn new(classes: u32, channels: u32, duration: f64, seed: u32) -> ShdLike {
        let c = f64::from(channels);
        let mut rng = RandomState::new(seed);
        let mut templates = Vec::with_capacity(classes as usize);
        let mut rates = Vec::with_capacity(classes as usize);
        let target = SPIKES_PER_SAMPLE * c / 700.0;
        for _ in 0..classes {
            let tracks: [Track; TRACKS] = std::array::from_fn(|_| {
                let a = rng.uniform(0.05 * c, 0.95 * c);
                let b = a + rng.normal(0.0, 0.15 * c);
                let m = rng.normal(0.0, 0.05 * c);
                let w = rng.uniform(0.005 * c, 0.02 * c);
                let r = rng.uniform(0.5, 1.5);
                let s = rng.uniform(0.0, 0.3);
                let e = rng.uniform(0.6, 1.0);
                Track { a, b, m, w, r, s, e }
            });
            let weight: f64 = tracks.iter().map(|t| t.r * (t.e - t.s)).sum();
            rates.push(target / (0.7 * duration * weight));
            templates.push(tracks);
        }
        ShdLike { classes, channels, duration, templates, rates }
    }

    /// `size` samples drawn from `RandomState(seed)`.
    pub fn split(&self, spec: SplitSpec) -> RawEvents {
        let mut rng = RandomState::new(spec.seed);
        let c = f64::from(self.channels);
        let d = self.duration;
        let background = BACKGROUND * SPIKES_PER_SAMPLE * c / 700.0 / (0.7 * d);
        let mut out = RawEvents::new();
        let mut events: Vec<(f64, u32)> = Vec::new();
        for _ in 0..spec.size {
            events.clear();
            let label = rng.randint(u64::from(self.classes));
            let len = d * rng.uniform(0.5, 0.9);
            let onset = d * rng.uniform(0.0, 0.05);
            let delta = rng.normal(0.0, 0.01 * c);
            let gain = rng.uniform(0.8, 1.2);
            let rate = self.rates[label as usize] * gain;
            for tr in &self.templates[label as usize] {
                let (start, end) = (onset + tr.s * len, onset + tr.e * len);
                let lambda = rate * tr.r;
                let mut t = start;
                loop {
                    t += rng.exponential(1.0 / lambda);
                    if t >= end {
                        break;
                    }
                    let tau = (t - onset) / len;
                    let centre = tr.a + (tr.b - tr.a) * tau + 4.0 * tr.m * tau * (1.0 - tau) + delta;
                    let ch = (centre + rng.normal(0.0, tr.w)).round();
                    if ch >= 0.0 && ch < c {
                        events.push((t, ch as u32));
                    }
                }
            }
            let end = onset + len;
            let mut t = 0.0;
            loop {
                t += rng.exponential(1.0 / background);
                if t >= end {
                    break;
                }
                events.push((t, rng.randint(u64::from(self.channels))));
            }
            events.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
            let times: Vec<f64> = events.iter().map(|e| e.0).collect();
            let chans: Vec<u32> = events.iter().map(|e| e.1).collect();
            out.push(&times, &chans, label);
        }
        out
    }

    /// The three splits (an empty one is absent).
    pub fn splits(&self, specs: [SplitSpec; 3]) -> EventSplits {
        let make = |s: SplitSpec| (s.size > 0).then(|| self.split(s));
        EventSplits {
            train: self.split(specs[0]),
            validation: make(specs[1]),
            test: make(specs[2]),
            channels: self.channels,
            class_count: self.classes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_sorted_within_the_duration_and_deterministic() {
        let g = ShdLike::new(5, 100, 0.5, 3);
        let a = g.split(SplitSpec { size: 20, seed: 1 });
        let b = ShdLike::new(5, 100, 0.5, 3).split(SplitSpec { size: 20, seed: 1 });
        assert_eq!(a, b);
        for s in 0..a.len() {
            let r = a.range(s);
            let t = &a.times[r.clone()];
            assert!(t.windows(2).all(|w| w[0] <= w[1]));
            assert!(t.iter().all(|&x| (0.0..0.5).contains(&x)));
            assert!(a.channels[r].iter().all(|&c| c < 100));
        }
    }
}
