//! `order(..)`: a seeded two-class temporal task that needs memory.
//!
//! Input: an [`OrderTask`] (channels `C`, splits, sample length `D`, `gap`,
//! `burst`, background `noise` rate, seed). Output: [`RawEvents`] per split.
//!
//! Channels `0 .. C/2` are group A, `C/2 .. C` group B. A sample (from its
//! split's `RandomState(split seed)`, in this order): `label = randint(2)`;
//! the first onset `t1 = uniform(0, D - 2 gap - burst)`; the first group (A
//! for label 0, B for label 1) bursts at `t1`, the other at `t2 = t1 + gap`:
//! each channel of a bursting group, ascending, spikes once at `onset +
//! uniform(0, burst)`; then every channel, ascending, gets background
//! spikes of a Poisson process of rate `noise` on `[0, D)` (exponential
//! intervals). Events are sorted by time, then channel. The class is the
//! order of the bursts: both classes have the same bursts, only their order
//! differs, and the first onset is spread over `D - 2 gap - burst`.
//!
//! Why a network without memory cannot solve it: with `gap` several times
//! every time constant (`tau_mem`, `tau_syn`), a feed-forward network
//! without delays answers each burst on its own, so its readout sees the
//! sum of two separate responses, one per group, whose order a score that
//! does not weigh time (`max_voltage_cross_entropy`,
//! `sum_voltage_cross_entropy` while the trial outlasts the responses)
//! cannot tell apart: it stays at chance. A recurrent network (activity
//! that outlives a burst) or a delay line of about `gap` (the first burst
//! arrives with the second) can. (A readout that weighs time, such as
//! `exp_weighted_voltage_cross_entropy`, leaks the onset times to a
//! feed-forward network; the measurements in `docs/language.md` say how
//! much.)
//!
//! Invariant: a deterministic function of the spec.

use snnc_compiler::network::{OrderTask, SplitSpec};

use super::events::{EventSplits, RawEvents};
use crate::rng::RandomState;

/// One split of the task.
pub fn split(task: &OrderTask, spec: SplitSpec) -> RawEvents {
    let mut rng = RandomState::new(spec.seed);
    let half = task.channels / 2;
    let mut out = RawEvents::new();
    let mut events: Vec<(f64, u32)> = Vec::new();
    for _ in 0..spec.size {
        events.clear();
        let label = rng.randint(2);
        let t1 = rng.uniform(0.0, task.duration - 2.0 * task.gap - task.burst);
        let (first, second) = if label == 0 { (0, half) } else { (half, 0) };
        for (group, onset) in [(first, t1), (second, t1 + task.gap)] {
            for c in group..group + half {
                events.push((onset + rng.uniform(0.0, task.burst), c));
            }
        }
        if task.noise > 0.0 {
            for c in 0..task.channels {
                let mut t = 0.0;
                loop {
                    t += rng.exponential(1.0 / task.noise);
                    if t >= task.duration {
                        break;
                    }
                    events.push((t, c));
                }
            }
        }
        events.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        let times: Vec<f64> = events.iter().map(|e| e.0).collect();
        let chans: Vec<u32> = events.iter().map(|e| e.1).collect();
        out.push(&times, &chans, label);
    }
    out
}

/// The three splits (an empty one is absent).
pub fn splits(task: &OrderTask) -> EventSplits {
    let make = |s: SplitSpec| (s.size > 0).then(|| split(task, s));
    EventSplits {
        train: split(task, task.splits[0]),
        validation: make(task.splits[1]),
        test: make(task.splits[2]),
        channels: task.channels,
        class_count: 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> OrderTask {
        let s = SplitSpec { size: 200, seed: 4 };
        OrderTask { channels: 10, splits: [s; 3], duration: 0.3, gap: 0.1, burst: 0.01, noise: 0.0 }
    }

    #[test]
    fn the_label_is_the_order_of_the_bursts() {
        let t = task();
        let r = split(&t, t.splits[0]);
        let mut counts = [0; 2];
        for s in 0..r.len() {
            let range = r.range(s);
            assert_eq!(range.len(), 10);
            let first = r.channels[range.start];
            let label = r.labels[s];
            counts[label as usize] += 1;
            assert_eq!(u32::from(first >= 5), label, "sample {s}");
            let times = &r.times[range];
            // The groups are a gap apart: the last of the first burst is
            // more than gap - burst before the first of the second.
            assert!(times[5] - times[4] > t.gap - t.burst);
            assert!(times[9] < t.duration - t.gap);
        }
        assert!(counts[0] > 70 && counts[1] > 70, "{counts:?}");
    }
}
