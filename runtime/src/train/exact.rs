//! The exact continuous-time LIF network (the original EventProp forward
//! model), in `f64`, and the loss on exact first-spike times.
//!
//! Input: a checked network, its [`Plan`] (for the layer order), `[post][pre]`
//! weights, input spike times in seconds. Output: spike times of every layer
//! and the first-spike cross-entropy loss with constants in seconds.
//!
//! Model: between events `I(t) = I0 e^{-s/tau_syn}` and, with
//! `c = tau_syn / (tau_syn - tau_mem)`,
//! `V(t) = V0 e^{-s/tau_mem} + I0 c (e^{-s/tau_syn} - e^{-s/tau_mem})`
//! (`tau_mem dV/dt = I - V`, `dI/dt = -I/tau_syn`); a presynaptic spike adds
//! `W[j][i]` to `I` at the same instant (no delay); `V` reaching `theta`
//! emits a spike and resets `V` to 0. `V` is a sum of two exponentials, so it
//! has at most one extremum between events: each monotone piece is bracketed
//! and its crossing found by bisection to the last bit.
//!
//! Invariant: spikes are only searched in the window `[0, T dt)`; a neuron
//! without a spike in the window has first-spike time `T dt`.

use snnc_compiler::ValidNetwork;

use super::plan::{Plan, Pre};

/// Per-layer constants in `f64`.
#[derive(Clone, Copy, Debug)]
struct Lif {
    tau_syn: f64,
    tau_mem: f64,
    theta: f64,
}

/// The exact model of one network.
#[derive(Clone, Debug)]
pub struct Exact {
    plan: Plan,
    lif: Vec<Lif>,
    window: f64,
}

/// Loss constants in seconds.
#[derive(Clone, Copy, Debug)]
pub struct ExactLoss {
    pub xi: f64,
    pub a: f64,
    pub b: f64,
}

impl Exact {
    /// `plan` gives the layer order and projections; the window is `T dt` of
    /// the plan's grid.
    pub fn new(net: &ValidNetwork, plan: &Plan) -> Exact {
        let lif = plan
            .layers
            .iter()
            .map(|l| {
                let p = net.graph[l.node].lif().expect("layers are lif");
                Lif { tau_syn: p.tau_syn, tau_mem: p.tau_mem, theta: p.threshold }
            })
            .collect();
        Exact { plan: plan.clone(), lif, window: plan.steps as f64 * plan.grid.dt }
    }

    /// Spike times (seconds) of every layer: `[layer][neuron] -> times`.
    /// `inputs[i]` is the spike time of input `i` (`None`: silent).
    pub fn spikes(&self, weights: &[Vec<f64>], inputs: &[Option<f64>]) -> Vec<Vec<Vec<f64>>> {
        let mut out: Vec<Vec<Vec<f64>>> = Vec::with_capacity(self.plan.layers.len());
        for (l, layer) in self.plan.layers.iter().enumerate() {
            // Incoming events (time, projection, pre), sorted by time then
            // projection then presynaptic index.
            let mut events: Vec<(f64, usize, usize)> = Vec::new();
            for &p in &layer.incoming {
                match self.plan.projections[p].pre {
                    Pre::Input => {
                        for (i, t) in inputs.iter().enumerate() {
                            if let Some(t) = t {
                                events.push((*t, p, i));
                            }
                        }
                    }
                    Pre::Layer(k) => {
                        for (i, times) in out[k].iter().enumerate() {
                            for &t in times {
                                events.push((t, p, i));
                            }
                        }
                    }
                }
            }
            events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
            let c = self.lif[l];
            let layer_spikes = (0..layer.size)
                .map(|j| {
                    let mut spikes = Vec::new();
                    let (mut t0, mut v0, mut i0) = (0.0f64, 0.0f64, 0.0f64);
                    let mut e = 0;
                    loop {
                        let t_end = if e < events.len() { events[e].0.min(self.window) } else { self.window };
                        // Spikes in [t0, t_end).
                        while let Some(s) = crossing(c, v0, i0, t_end - t0) {
                            let ts = t0 + s;
                            spikes.push(ts);
                            i0 *= (-s / c.tau_syn).exp();
                            v0 = 0.0;
                            t0 = ts;
                        }
                        if e >= events.len() || events[e].0 >= self.window {
                            break;
                        }
                        let (v, i) = evolve(c, v0, i0, t_end - t0);
                        (v0, i0, t0) = (v, i, t_end);
                        while e < events.len() && events[e].0 == t_end {
                            let (_, p, i) = events[e];
                            i0 += weights[p][j * self.plan.projections[p].n_pre + i];
                            e += 1;
                        }
                    }
                    spikes
                })
                .collect();
            out.push(layer_spikes);
        }
        out
    }

    /// First-spike times (seconds) of the readout, `T dt` when silent.
    pub fn first_spikes(&self, weights: &[Vec<f64>], inputs: &[Option<f64>]) -> Vec<f64> {
        let r = self.plan.readout.as_ref().expect("gradcheck needs a readout").0;
        let spikes = self.spikes(weights, inputs);
        spikes[r].iter().map(|t| t.first().copied().unwrap_or(self.window)).collect()
    }

    /// `-log softmax(-t/xi)[label] + a (exp(t_label/b) - 1)` on exact times.
    pub fn loss(&self, weights: &[Vec<f64>], inputs: &[Option<f64>], label: usize, lc: ExactLoss) -> f64 {
        let t = self.first_spikes(weights, inputs);
        let z: Vec<f64> = t.iter().map(|&tk| -tk / lc.xi).collect();
        let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + z.iter().map(|&x| (x - m).exp()).sum::<f64>().ln();
        lse - z[label] + lc.a * ((t[label] / lc.b).exp() - 1.0)
    }
}

/// State after `s` seconds with no input.
fn evolve(c: Lif, v0: f64, i0: f64, s: f64) -> (f64, f64) {
    (voltage(c, v0, i0, s), i0 * (-s / c.tau_syn).exp())
}

fn voltage(c: Lif, v0: f64, i0: f64, s: f64) -> f64 {
    let k = c.tau_syn / (c.tau_syn - c.tau_mem);
    let em = (-s / c.tau_mem).exp();
    let es = (-s / c.tau_syn).exp();
    v0 * em + i0 * k * (es - em)
}

/// The first `s` in `(0, len)` where `V` reaches `theta`, if any.
fn crossing(c: Lif, v0: f64, i0: f64, len: f64) -> Option<f64> {
    if len <= 0.0 {
        return None;
    }
    // V(s) = A e^{-s/tm} + B e^{-s/ts}; V'(s) = 0 at most once.
    let k = c.tau_syn / (c.tau_syn - c.tau_mem);
    let (a, b) = (v0 - i0 * k, i0 * k);
    let ratio = -(b * c.tau_mem) / (a * c.tau_syn);
    let mut pieces = vec![0.0];
    if ratio > 0.0 && ratio.is_finite() {
        let s_star = ratio.ln() / (1.0 / c.tau_syn - 1.0 / c.tau_mem);
        if s_star > 0.0 && s_star < len {
            pieces.push(s_star);
        }
    }
    pieces.push(len);
    let f = |s: f64| voltage(c, v0, i0, s) - c.theta;
    for w in pieces.windows(2) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voltage_solves_the_ode() {
        let c = Lif { tau_syn: 5e-3, tau_mem: 20e-3, theta: 1.0 };
        // Integrate tau_mem dV/dt = I - V with small Euler steps.
        let (mut v, mut i) = (0.2f64, 3.0f64);
        let h = 1e-7;
        for _ in 0..100_000 {
            v += h * (i - v) / c.tau_mem;
            i -= h * i / c.tau_syn;
        }
        let (ve, ie) = evolve(c, 0.2, 3.0, 1e-2);
        assert!((v - ve).abs() < 1e-5 && (i - ie).abs() < 1e-5, "{v} {ve} {i} {ie}");
    }

    #[test]
    fn crossing_is_found_on_the_rising_piece() {
        let c = Lif { tau_syn: 5e-3, tau_mem: 20e-3, theta: 1.0 };
        let s = crossing(c, 0.0, 10.0, 0.05).expect("a strong current crosses");
        assert!((voltage(c, 0.0, 10.0, s) - 1.0).abs() < 1e-12);
        assert!(crossing(c, 0.0, 0.5, 0.05).is_none(), "a weak current never reaches theta");
    }
}
