//! The leaky-integrator (`li`) readout, exactly, in `f64`: the scores the
//! voltage losses read from its voltage, and their derivatives with respect
//! to each input event's weight and time.
//!
//! Model: the current and membrane equations of [`super::Lif`] without
//! threshold or reset. An event of weight `w` at `t_e` adds `w psi(t - t_e)`
//! to `V(t)` for `t > t_e`, with `psi(u) = k (e^{-u/tau_syn} - e^{-u/tau_mem})`,
//! `k = tau_syn / (tau_syn - tau_mem)`; `psi(0) = 0`, `psi'(0) = 1/tau_mem`.
//!
//! Scores (the limits `dt -> 0` of `docs/contract.md` section 6; `W = T dt`
//! the window; `docs/gradcheck.md` derives them):
//! - max: `y = max_{0 <= t <= W} V(t)` ([`Li::peak`]); the maximum is at
//!   `t = 0` (`V = 0`), at an interior smooth maximum (`V' = 0`), at an
//!   event where `V'` jumps from positive to negative (an inhibitory event
//!   while `V` rises: a kink), or at `W`;
//! - mean: `y = (1/W) int_0^W V(t) dt`;
//! - exp-weighted: `y = (1/D) int_A^B e^{-(t - A)/D} V(t) dt`, `D = B - A`.
//!
//! The integrals are sums over events of `w Phi(t_e)` with a closed-form
//! `Phi` ([`Weighting::kernel`]).
//!
//! Invariant: `tau_syn != tau_mem` (the checker rejects equal constants).

use super::lif::{Lif, State};

/// One `li` layer's constants, seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Li {
    pub tau_syn: f64,
    pub tau_mem: f64,
}

/// `omega(t) = c e^{-(t - origin) rate}` on `[from, to)`, zero elsewhere: the
/// weight an integral score gives `V(t)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weighting {
    pub from: f64,
    pub to: f64,
    pub origin: f64,
    pub rate: f64,
    pub c: f64,
}

impl Weighting {
    /// `(1/W) int_0^W V dt`.
    pub fn mean(window: f64) -> Weighting {
        Weighting { from: 0.0, to: window, origin: 0.0, rate: 0.0, c: 1.0 / window }
    }

    /// `(1/D) int_A^B e^{-(t - A)/D} V dt`, `D = B - A`.
    pub fn exp(a: f64, b: f64) -> Weighting {
        let d = b - a;
        Weighting { from: a, to: b, origin: a, rate: 1.0 / d, c: 1.0 / d }
    }

    /// `int omega(t) e^{-(t - t_e)/tau} dt` over `t > t_e`.
    fn moment(&self, tau: f64, t_e: f64) -> f64 {
        let lo = self.from.max(t_e);
        if lo >= self.to {
            return 0.0;
        }
        let r = self.rate + 1.0 / tau;
        let at = |t: f64| (-(t - self.origin) * self.rate - (t - t_e) / tau).exp();
        self.c / r * (at(lo) - at(self.to))
    }

    /// The score's kernel for an event of unit weight at `t_e`:
    /// `Phi = int omega(t) psi(t - t_e) dt` and `dPhi/dt_e`.
    pub fn kernel(&self, li: Li, t_e: f64) -> (f64, f64) {
        let k = li.k();
        let (es, em) = (self.moment(li.tau_syn, t_e), self.moment(li.tau_mem, t_e));
        // d/dt_e moves every psi(t - t_e): -int omega psi' (psi(0) = 0, so the
        // moving lower end adds nothing).
        (k * (es - em), k * (es / li.tau_syn - em / li.tau_mem))
    }
}

/// Where a voltage reaches its maximum over the window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PeakKind {
    /// `V <= 0` throughout: the maximum is `V(0) = 0`, whatever the weights.
    Start,
    /// Where `V' = 0`, or the window's end: `dy/dx = dV(t)/dx` at fixed `t`.
    Fixed,
    /// At an event time where `V'` jumps from `slope > 0` to a negative
    /// value: `dy/dx = dV(t)/dx` at fixed `t` plus `slope` times the
    /// derivative of the event's time.
    Kink { slope: f64 },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Peak {
    pub y: f64,
    pub t: f64,
    pub kind: PeakKind,
    /// How far the next-highest local maximum stays below `y`, relative to
    /// `|y|` (infinite when there is none): near a tie a small change of the
    /// weights moves the maximum to the other peak, and the gradient jumps.
    pub gap: f64,
}

impl Li {
    fn k(&self) -> f64 {
        self.tau_syn / (self.tau_syn - self.tau_mem)
    }

    /// The membrane without a threshold.
    fn membrane(&self) -> Lif {
        Lif { tau_syn: self.tau_syn, tau_mem: self.tau_mem, theta: f64::INFINITY }
    }

    /// `psi(u)` and its derivative in the event's time, `-psi'(u)`.
    pub fn point(&self, u: f64) -> (f64, f64) {
        let q = self.membrane().psp(u, None);
        (q.phi, q.d_te)
    }

    /// The maximum of `V` over `[0, window]` given the events `(t, w)` in
    /// time order (events at or after the window are ignored), and how far
    /// the next-highest local maximum stays below it.
    pub fn peak(&self, events: impl IntoIterator<Item = (f64, f64)>, window: f64) -> Peak {
        let m = self.membrane();
        let start = Peak { y: 0.0, t: 0.0, kind: PeakKind::Start, gap: f64::INFINITY };
        let fixed = |y: f64, t: f64| Peak { y, t, kind: PeakKind::Fixed, gap: f64::INFINITY };
        // Every local maximum of V: a piece's extremum where V rises into
        // it, a kink, the window's end where V still rises, and V = 0 at the
        // start when the first events make V fall.
        let mut maxima = Vec::new();
        let mut st = State::default();
        let mut t0 = 0.0;
        let mut first = true;
        let mut events = events.into_iter().peekable();
        while let Some(&(t, _)) = events.peek().filter(|e| e.0 < window) {
            if t > t0 {
                if let Some(s) = m.extremum(st).filter(|&s| s < t - t0 && st.i > st.v) {
                    maxima.push(fixed(m.voltage(st, s), t0 + s));
                }
                st = m.evolve(st, t - t0);
                t0 = t;
            }
            let before = st;
            while let Some((_, w)) = events.next_if(|e| e.0 == t) {
                st.i += w;
            }
            if first {
                if st.i < 0.0 {
                    maxima.push(start);
                }
                first = false;
            } else if before.i > before.v && st.i < st.v {
                let slope = (before.i - before.v) / self.tau_mem;
                maxima.push(Peak { y: st.v, t, kind: PeakKind::Kink { slope }, gap: f64::INFINITY });
            }
        }
        if let Some(s) = m.extremum(st).filter(|&s| s < window - t0 && st.i > st.v) {
            maxima.push(fixed(m.voltage(st, s), t0 + s));
        }
        let end = m.evolve(st, window - t0);
        if end.i > end.v {
            maxima.push(fixed(end.v, window));
        }
        let Some(mut best) = maxima.iter().copied().reduce(|a, b| if b.y > a.y { b } else { a }) else {
            return start;
        };
        let second = maxima.iter().filter(|p| p.t != best.t).map(|p| p.y).fold(f64::NEG_INFINITY, f64::max);
        if best.y != 0.0 {
            best.gap = (best.y - second) / best.y.abs();
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: Li = Li { tau_syn: 5e-3, tau_mem: 20e-3 };

    /// `V` at `n + 1` evenly spaced times of `[from, to]` (exact values).
    fn sampled(events: &[(f64, f64)], from: f64, to: f64, n: usize) -> Vec<(f64, f64)> {
        (0..=n)
            .map(|q| {
                let t = from + (to - from) * q as f64 / n as f64;
                let v: f64 = events.iter().filter(|e| e.0 < t).map(|e| e.1 * C.point(t - e.0).0).sum();
                (t, v)
            })
            .collect()
    }

    const EVENTS: [(f64, f64); 4] = [(1e-3, 2.0), (4e-3, -1.5), (6e-3, 3.0), (15e-3, -4.0)];

    #[test]
    fn integral_kernels_are_the_integrals_of_the_voltage() {
        let window = 27e-3;
        for wt in [Weighting::mean(window), Weighting::exp(5e-3, 20e-3)] {
            // The trapezoidal rule over the weight's support.
            let v = sampled(&EVENTS, wt.from, wt.to, 200_000);
            let f = |(t, v): (f64, f64)| wt.c * (-(t - wt.origin) * wt.rate).exp() * v;
            let num: f64 = v.windows(2).map(|p| 0.5 * (p[1].0 - p[0].0) * (f(p[0]) + f(p[1]))).sum();
            let y: f64 = EVENTS.iter().map(|e| e.1 * wt.kernel(C, e.0).0).sum();
            assert!((y - num).abs() < 1e-8 * y.abs(), "{wt:?}: {y} vs {num}");
            // dPhi/dt_e against a central difference.
            for e in EVENTS {
                let h = 1e-8;
                let fd = (wt.kernel(C, e.0 + h).0 - wt.kernel(C, e.0 - h).0) / (2.0 * h);
                let d = wt.kernel(C, e.0).1;
                assert!((fd - d).abs() < 1e-6 * d.abs().max(1.0), "{wt:?} {e:?}: {d} vs {fd}");
            }
        }
    }

    #[test]
    fn the_peak_is_the_largest_sampled_voltage() {
        let window = 27e-3;
        for events in [&EVENTS[..], &EVENTS[..1], &[(2e-3, -1.0)], &[(1e-3, 5.0), (3e-3, -30.0)], &[(20e-3, 4.0)]] {
            let p = C.peak(events.iter().copied(), window);
            let v = sampled(events, 0.0, window, 100_000);
            let best = v.iter().fold((0.0, f64::NEG_INFINITY), |b, &x| if x.1 > b.1 { x } else { b });
            // The sampled maximum is below the exact one by at most the
            // slope times the sampling step.
            let gap = p.y - best.1.max(0.0);
            assert!((-1e-12..1e-4).contains(&gap), "{events:?}: {p:?} vs {best:?}");
            assert!((p.t - best.0).abs() < 1e-6 || p.kind == PeakKind::Start, "{events:?}: {p:?} vs {best:?}");
        }
        // An inhibitory event while V rises is a kink; V <= 0 is the start;
        // a late excitatory event peaks at the window's end.
        assert!(matches!(C.peak([(1e-3, 5.0), (3e-3, -30.0)], window).kind, PeakKind::Kink { slope } if slope > 0.0));
        assert_eq!(C.peak([(2e-3, -1.0)], window).kind, PeakKind::Start);
        assert_eq!(C.peak([(26e-3, 4.0)], window).t, window);
        // One peak has no rival; two have a gap between their heights.
        assert_eq!(C.peak([(1e-3, 5.0)], window).gap, f64::INFINITY);
        let p = C.peak([(1e-3, 5.0), (3e-3, -30.0), (8e-3, 40.0)], window);
        let v = sampled(&[(1e-3, 5.0), (3e-3, -30.0), (8e-3, 40.0)], 0.0, 3e-3, 10_000);
        let first = v.last().unwrap().1;
        assert!(p.y > first && (p.gap - (p.y - first) / p.y).abs() < 1e-12, "{p:?} {first}");
    }
}
