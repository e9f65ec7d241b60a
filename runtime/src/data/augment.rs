//! Augmentation of event data, as mlGeNN's SHD training does it (Nowotny
//! et al. 2025, `genn-team/ml_genn` and `tnowotny/genn_eventprop`): blended
//! samples, channel shifts, time dilation and time jitter, drawn anew every
//! epoch.
//!
//! Input: the training set's [`RawEvents`], the spec's [`Augment`] list
//! (applied in the order blend, shift, dilate, jitter), the data's channel
//! count, the run's seed and the epoch (1-based). Output: the epoch's
//! training events (the originals, then the blended samples) and the number
//! of events the augmentation moved off the channels or before time 0
//! (dropped).
//!
//! Every draw comes from one `RandomState([seed, epoch])` (numpy's
//! `init_by_array` seeding), in this order (`docs/contract.md` section 9):
//! 1. blend (`p`, `keep`): `m = round(p n)` samples (half to even); for
//!    each: `i = randint(n)`, then two samples of `i`'s class, each
//!    `members[randint(len)]` (the class's samples in ascending order);
//!    each is moved so that its mean channel and mean time meet the pair's
//!    means (channels by `trunc(mean - own mean)`, times by `mean - own
//!    mean` seconds); then, sample by sample, event by event, an event is
//!    kept when `random_sample() < keep`;
//! 2. shift (`max`): per sample, every channel `+ trunc(uniform(-max, max))`;
//! 3. dilate (`low .. high`): per sample, every time `* exp(uniform(ln low, ln high))`;
//! 4. jitter (`sigma`): per sample, per event, time `+ normal(0, sigma)`.
//!
//! Events that leave the channels `0 .. C` or move before time 0 are
//! dropped. Because the epoch's inputs depend only on (data, seed, epoch),
//! every backend sees the same inputs and a resumed run the same as an
//! uninterrupted one.

use snnc_compiler::network::Augment;

use super::events::RawEvents;
use crate::rng::RandomState;

/// The generator of epoch `epoch`'s augmentation.
pub fn epoch_rng(seed: u32, epoch: u32) -> RandomState {
    RandomState::from_key(&[seed, epoch])
}

/// The epoch's augmented training events and the number of events dropped.
pub fn augment(train: &RawEvents, list: &[Augment], channels: u32, seed: u32, epoch: u32) -> (RawEvents, usize) {
    let mut rng = epoch_rng(seed, epoch);
    let mut dropped = 0usize;
    // Work on (time, channel as i64) per sample.
    let mut samples: Vec<(Vec<f64>, Vec<i64>, u32)> = (0..train.len())
        .map(|s| {
            let r = train.range(s);
            (
                train.times[r.clone()].to_vec(),
                train.channels[r].iter().map(|&c| i64::from(c)).collect(),
                train.labels[s],
            )
        })
        .collect();
    let c_max = i64::from(channels);
    for a in list {
        match *a {
            Augment::Blend { p, keep } => {
                let n = train.len();
                let m = (p * n as f64).round_ties_even() as usize;
                let mut members: std::collections::BTreeMap<u32, Vec<usize>> = std::collections::BTreeMap::new();
                for (s, &l) in train.labels.iter().enumerate() {
                    members.entry(l).or_default().push(s);
                }
                for _ in 0..m {
                    let i = rng.randint(n as u64) as usize;
                    let class = train.labels[i];
                    let pool = &members[&class];
                    let pair =
                        [pool[rng.randint(pool.len() as u64) as usize], pool[rng.randint(pool.len() as u64) as usize]];
                    let means: Vec<(f64, f64)> = pair
                        .iter()
                        .map(|&s| {
                            let r = train.range(s);
                            let k = r.len().max(1) as f64;
                            let mc = train.channels[r.clone()].iter().map(|&c| f64::from(c)).sum::<f64>() / k;
                            let mt = train.times[r].iter().sum::<f64>() / k;
                            (mc, mt)
                        })
                        .collect();
                    let (mmc, mmt) = ((means[0].0 + means[1].0) / 2.0, (means[0].1 + means[1].1) / 2.0);
                    let mut ev: Vec<(f64, i64)> = Vec::new();
                    for (&s, &(mc, mt)) in pair.iter().zip(&means) {
                        let dc = (mmc - mc).trunc() as i64;
                        let dt = mmt - mt;
                        for k in train.range(s) {
                            if rng.random_sample() < keep {
                                ev.push((train.times[k] + dt, i64::from(train.channels[k]) + dc));
                            }
                        }
                    }
                    ev.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
                    samples.push((ev.iter().map(|e| e.0).collect(), ev.iter().map(|e| e.1).collect(), class));
                }
            }
            Augment::Shift { max } => {
                let m = f64::from(max);
                for (_, ch, _) in &mut samples {
                    let k = rng.uniform(-m, m).trunc() as i64;
                    for c in ch.iter_mut() {
                        *c += k;
                    }
                }
            }
            Augment::Dilate { low, high } => {
                let (lo, hi) = (low.ln(), high.ln());
                for (t, _, _) in &mut samples {
                    let f = rng.uniform(lo, hi).exp();
                    for x in t.iter_mut() {
                        *x *= f;
                    }
                }
            }
            Augment::Jitter { sigma } => {
                for (t, _, _) in &mut samples {
                    for x in t.iter_mut() {
                        *x += rng.normal(0.0, sigma);
                    }
                }
            }
        }
    }
    let mut out = RawEvents::new();
    let (mut times, mut chans) = (Vec::new(), Vec::new());
    for (t, c, label) in &samples {
        times.clear();
        chans.clear();
        for (&x, &ch) in t.iter().zip(c) {
            if x >= 0.0 && (0..c_max).contains(&ch) {
                times.push(x);
                chans.push(ch as u32);
            } else {
                dropped += 1;
            }
        }
        out.push(&times, &chans, *label);
    }
    (out, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> RawEvents {
        let mut r = RawEvents::new();
        for s in 0..6u32 {
            let t: Vec<f64> = (0..20).map(|k| 0.001 * f64::from(k * (s + 1))).collect();
            let c: Vec<u32> = (0..20).map(|k| (k * 3 + s) % 50).collect();
            r.push(&t, &c, s % 2);
        }
        r
    }

    #[test]
    fn an_epoch_replays_and_epochs_differ() {
        let list = [
            Augment::Blend { p: 0.5, keep: 0.5 },
            Augment::Shift { max: 5 },
            Augment::Dilate { low: 0.9, high: 1.1 },
            Augment::Jitter { sigma: 1e-3 },
        ];
        let (a, _) = augment(&data(), &list, 50, 7, 3);
        let (b, _) = augment(&data(), &list, 50, 7, 3);
        assert_eq!(a, b);
        assert_eq!(a.len(), 9, "6 originals + round(0.5 * 6) blended");
        let (c, _) = augment(&data(), &list, 50, 7, 4);
        assert_ne!(a, c);
        let (d, _) = augment(&data(), &list, 50, 8, 3);
        assert_ne!(a, d);
    }

    #[test]
    fn shift_moves_whole_samples_and_drops_what_leaves_the_channels() {
        let (a, dropped) = augment(&data(), &[Augment::Shift { max: 30 }], 50, 1, 1);
        // Replay the draws: one uniform per sample.
        let mut rng = epoch_rng(1, 1);
        let src = data();
        let mut lost = 0;
        for s in 0..src.len() {
            let k = rng.uniform(-30.0, 30.0).trunc() as i64;
            let want: Vec<u32> = src.channels[src.range(s)]
                .iter()
                .map(|&c| i64::from(c) + k)
                .filter(|c| (0..50).contains(c))
                .map(|c| c as u32)
                .collect();
            lost += 20 - want.len();
            assert_eq!(&a.channels[a.range(s)], &want[..], "sample {s}");
        }
        assert_eq!(dropped, lost);
    }

    #[test]
    fn blended_samples_keep_their_class() {
        let src = data();
        let (a, _) = augment(&src, &[Augment::Blend { p: 1.0, keep: 0.5 }], 50, 2, 1);
        assert_eq!(a.len(), 12);
        assert_eq!(&a.labels[..6], &src.labels[..]);
        for s in 6..12 {
            let r = a.range(s);
            // About half of 2 x 20 events.
            assert!((8..=32).contains(&r.len()), "{}", r.len());
            assert!(a.times[r.clone()].windows(2).all(|w| w[0] <= w[1]));
        }
    }
}
