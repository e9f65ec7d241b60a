//! The current-based LIF neuron between events, exactly, in `f64`: the
//! per-neuron-model part of the exact simulator ([`super::Exact`]).
//!
//! Model: `tau_mem dV/dt = I - V`, `dI/dt = -I / tau_syn`; an input event adds
//! its weight to `I`; `V` reaching `theta` emits a spike and sets `V = 0`
//! (`I` is kept). Between events, with `k = tau_syn / (tau_syn - tau_mem)`,
//! `V(s) = V0 e^{-s/tau_mem} + I0 k (e^{-s/tau_syn} - e^{-s/tau_mem})`: a sum
//! of two exponentials, so `V` has at most one extremum between events.
//!
//! What a simulator needs from a neuron model (a new model, e.g. a leaky
//! integrator readout, provides the same): the state after `s` seconds
//! ([`Lif::evolve`]), the first threshold crossing within a piece
//! ([`Lif::crossing`]), the jump of an input event ([`State::i`] `+= w`) and
//! the reset; for the gradient, the effect of one input event on `V` at a
//! spike and its partial derivatives ([`Lif::psp`]); for the diagnosis, how
//! close a piece's voltage peak comes to the threshold ([`Lif::crossing_margin`],
//! [`Lif::subthreshold_peak`]).
//!
//! Invariant: `tau_syn != tau_mem` (the checker rejects equal constants).

/// One layer's constants, seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lif {
    pub tau_syn: f64,
    pub tau_mem: f64,
    pub theta: f64,
}

/// Membrane voltage and synaptic current.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct State {
    pub v: f64,
    pub i: f64,
}

/// The contribution `phi` of one input event of unit weight to `V` at time
/// `t`, with its partial derivatives in `t`, in the event's time `t_e` and in
/// the time `t_p` of the neuron's last reset.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Psp {
    pub phi: f64,
    pub d_t: f64,
    pub d_te: f64,
    pub d_tp: f64,
}

impl Lif {
    fn k(&self) -> f64 {
        self.tau_syn / (self.tau_syn - self.tau_mem)
    }

    pub fn voltage(&self, st: State, s: f64) -> f64 {
        let em = (-s / self.tau_mem).exp();
        let es = (-s / self.tau_syn).exp();
        st.v * em + st.i * self.k() * (es - em)
    }

    /// State after `s` seconds without input.
    pub fn evolve(&self, st: State, s: f64) -> State {
        State { v: self.voltage(st, s), i: st.i * (-s / self.tau_syn).exp() }
    }

    /// The time `s > 0` of `V`'s only extremum, if any.
    pub(super) fn extremum(&self, st: State) -> Option<f64> {
        // V(s) = A e^{-s/tm} + B e^{-s/ts}; V'(s) = 0 at most once.
        let k = self.k();
        let (a, b) = (st.v - st.i * k, st.i * k);
        let ratio = -(b * self.tau_mem) / (a * self.tau_syn);
        if !(ratio > 0.0 && ratio.is_finite()) {
            return None;
        }
        let s = ratio.ln() / (1.0 / self.tau_syn - 1.0 / self.tau_mem);
        (s > 0.0).then_some(s)
    }

    /// The first `s` in `(0, len]` where `V` reaches `theta`, if any: each
    /// monotone piece is bracketed and the crossing found by bisection to
    /// the last bit.
    pub fn crossing(&self, st: State, len: f64) -> Option<f64> {
        if len <= 0.0 {
            return None;
        }
        let mut pieces = [0.0, len, len];
        let mut n = 2;
        if let Some(s) = self.extremum(st).filter(|&s| s < len) {
            pieces = [0.0, s, len];
            n = 3;
        }
        let f = |s: f64| self.voltage(st, s) - self.theta;
        for w in pieces[..n].windows(2) {
            let (mut lo, mut hi) = (w[0], w[1]);
            if f(lo) >= 0.0 && lo > 0.0 {
                return Some(lo);
            }
            if f(hi) < 0.0 {
                continue;
            }
            // f(lo) < 0 <= f(hi), f monotone on [lo, hi].
            for _ in 0..200 {
                let mid = 0.5 * (lo + hi);
                if mid <= lo || mid >= hi {
                    break;
                }
                if f(mid) >= 0.0 {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            return Some(hi);
        }
        None
    }

    /// How far the voltage would go above the threshold after a crossing
    /// with current `i` (relative to `theta`): `V'^2 / (2 |V''|)`, the peak
    /// of the parabola through the crossing (infinite where `V` is convex
    /// there). A small value is a grazing spike: its time moves like
    /// `1 / V'`, i.e. like `1 / sqrt(margin)`, when a weight changes.
    pub fn crossing_margin(&self, i: f64) -> f64 {
        let d1 = (i - self.theta) / self.tau_mem;
        let d2 = (-i / self.tau_syn - d1) / self.tau_mem;
        if d2 >= 0.0 { f64::INFINITY } else { d1 * d1 / (2.0 * -d2) / self.theta }
    }

    /// A local maximum of `V` inside `(0, len)` that stays below the
    /// threshold: its time and `(theta - V_max) / theta`.
    pub fn subthreshold_peak(&self, st: State, len: f64) -> Option<(f64, f64)> {
        let s = self.extremum(st).filter(|&s| s < len)?;
        let v = self.voltage(st, s);
        // A maximum: V rises into it.
        let rising = self.voltage(st, 0.5 * s) < v;
        (rising && v < self.theta).then_some((s, (self.theta - v) / self.theta))
    }

    /// The effect on `V(t)` of an event of unit weight at `t_e`, `u = t - t_e`
    /// seconds earlier; `since_reset = t - t_p` when the neuron's last reset
    /// `t_p` came after the event (`t_e < t_p`), else `None`.
    pub fn psp(&self, u: f64, since_reset: Option<f64>) -> Psp {
        let k = self.k();
        let (ts, tm) = (self.tau_syn, self.tau_mem);
        match since_reset {
            None => {
                let (es, em) = ((-u / ts).exp(), (-u / tm).exp());
                let d_t = k * (-es / ts + em / tm);
                Psp { phi: k * (es - em), d_t, d_te: -d_t, d_tp: 0.0 }
            }
            Some(r) => {
                // V restarts from 0 at t_p with the event's current decayed
                // to I(t_p): phi = k (e^{-u/ts} - e^{-r/tm - (u-r)/ts}).
                let e1 = (-u / ts).exp();
                let e2 = (-r / tm - (u - r) / ts).exp();
                Psp { phi: k * (e1 - e2), d_t: k * (-e1 / ts + e2 / tm), d_te: k * (e1 - e2) / ts, d_tp: -e2 / tm }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: Lif = Lif { tau_syn: 5e-3, tau_mem: 20e-3, theta: 1.0 };

    #[test]
    fn voltage_solves_the_ode() {
        // Integrate tau_mem dV/dt = I - V with small Euler steps.
        let (mut v, mut i) = (0.2f64, 3.0f64);
        let h = 1e-7;
        for _ in 0..100_000 {
            v += h * (i - v) / C.tau_mem;
            i -= h * i / C.tau_syn;
        }
        let e = C.evolve(State { v: 0.2, i: 3.0 }, 1e-2);
        assert!((v - e.v).abs() < 1e-5 && (i - e.i).abs() < 1e-5, "{v} {e:?} {i}");
    }

    #[test]
    fn crossing_is_found_on_the_rising_piece() {
        let st = State { v: 0.0, i: 10.0 };
        let s = C.crossing(st, 0.05).expect("a strong current crosses");
        assert!((C.voltage(st, s) - 1.0).abs() < 1e-12);
        assert!(C.crossing(State { v: 0.0, i: 0.5 }, 0.05).is_none(), "a weak current never reaches theta");
    }

    #[test]
    fn psp_partials_are_the_derivatives_of_phi() {
        let h = 1e-9;
        for since in [None, Some(1.5e-3)] {
            let p = C.psp(4e-3, since);
            // d/dt moves u (and the time since reset) together.
            let dt =
                (C.psp(4e-3 + h, since.map(|r| r + h)).phi - C.psp(4e-3 - h, since.map(|r| r - h)).phi) / (2.0 * h);
            assert!((dt - p.d_t).abs() < 1e-6 * p.d_t.abs().max(1.0), "{since:?}: {dt} vs {}", p.d_t);
            let dte = (C.psp(4e-3 - h, since).phi - C.psp(4e-3 + h, since).phi) / (2.0 * h);
            assert!((dte - p.d_te).abs() < 1e-6 * p.d_te.abs().max(1.0), "{since:?}: {dte} vs {}", p.d_te);
            if let Some(r) = since {
                let dtp = (C.psp(4e-3, Some(r - h)).phi - C.psp(4e-3, Some(r + h)).phi) / (2.0 * h);
                assert!((dtp - p.d_tp).abs() < 1e-6 * p.d_tp.abs().max(1.0), "{dtp} vs {}", p.d_tp);
            }
        }
        // The event's effect matches the simulated voltage.
        let st = C.evolve(State { v: 0.0, i: 1.0 }, 4e-3);
        assert!((C.psp(4e-3, None).phi - st.v).abs() < 1e-15);
    }

    #[test]
    fn margins_measure_the_distance_of_the_peak_to_the_threshold() {
        // A current that just reaches theta: the peak margin is small.
        let st = State { v: 0.0, i: 6.3 };
        let (s, gap) = C.subthreshold_peak(st, 0.05).expect("a peak below theta");
        assert!((gap - (1.0 - C.voltage(st, s))).abs() < 1e-12 && gap > 0.0 && gap < 0.02, "{gap}");
        // A strong current crosses steeply: a large margin.
        assert!(C.crossing_margin(10.0) > C.crossing_margin(3.0));
    }
}
