//! The exact continuous-time LIF network (the original EventProp forward
//! model) and its exact gradient, in `f64`.
//!
//! Input: a checked network, its [`Plan`] (for the layer order), `[post][pre]`
//! weights, input spike times in seconds. Output: a [`Trace`] (spike times of
//! every layer, and every moment a voltage peak came near the threshold), the
//! first-spike cross-entropy loss on exact first-spike times (constants in
//! seconds), and its gradient ([`Exact::sample`]).
//!
//! Model: each neuron follows [`lif`] between events; a presynaptic spike at
//! `t` reaches its targets at `t + d` (`d` the projection's delay, 0 unless
//! [`Exact::with_delay`] says otherwise) and adds `W[j][i]` to `I` there.
//! Spikes are only searched in the window `[0, T dt)`; a readout neuron
//! without a spike there has first-spike time `T dt` (so a first spike that
//! leaves the window through its end changes the loss continuously).
//!
//! Schedule: populations are simulated one after another, each after the
//! populations it receives from ([`schedule`]), each neuron on its own (its
//! inputs are all known once the populations before it are done). The gradient walks the same
//! schedule backwards: the adjoint of a spike time (`dL/dt_s`) is pushed,
//! through the implicit function `V(t_s) = theta`, to the weights, to the
//! presynaptic spikes that arrived before `t_s` and to the neuron's previous
//! spike (its reset), i.e. `dt_s/dx = -(dV/dx) / V'(t_s)` with
//! `V'(t_s) = (I(t_s) - theta) / tau_mem`. A spike whose voltage grazes the
//! threshold has a small `V'` and a large gradient.
//!
//! Recurrent or delayed projections fit this shape: a delay is the `d`
//! above; a recurrent group of populations is one stage of the schedule
//! whose neurons are advanced together in time order (a queue of each
//! neuron's next crossing and of spikes in flight) instead of one by one,
//! and whose backward pass walks its spikes in reverse time order.
//!
//! Invariant: the gradient is that of [`Exact::loss`] wherever the loss is
//! differentiable (no spike appears, vanishes or crosses the window's end
//! for small weight changes); tests compare it with central differences.

mod lif;

pub use lif::{Lif, Psp, State};

use snnc_compiler::ValidNetwork;

use super::plan::{Plan, Pre};

/// Sub-threshold voltage peaks closer than this to the threshold (relative)
/// are recorded as [`Encounter`]s.
pub const NEAR: f64 = 0.5;

/// The exact model of one network.
#[derive(Clone, Debug)]
pub struct Exact {
    plan: Plan,
    lif: Vec<Lif>,
    window: f64,
    /// Per projection, seconds.
    delay: Vec<f64>,
    /// The layers in the order they are simulated: every layer after the
    /// layers it receives from.
    schedule: Vec<usize>,
}

/// Loss constants in seconds.
#[derive(Clone, Copy, Debug)]
pub struct ExactLoss {
    pub xi: f64,
    pub a: f64,
    pub b: f64,
}

/// A voltage peak near the threshold: a spike (`margin` is how far the
/// voltage would have gone above `theta`, [`Lif::crossing_margin`]) or a
/// sub-threshold maximum (`margin = (theta - V_max) / theta`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Encounter {
    pub time: f64,
    pub margin: f64,
    pub spike: bool,
}

/// One sample's forward pass.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    /// `[layer][neuron] -> spike times`, seconds.
    pub spikes: Vec<Vec<Vec<f64>>>,
    /// `[layer][neuron] -> encounters` in time order.
    pub encounters: Vec<Vec<Vec<Encounter>>>,
}

/// One sample's loss and exact gradient.
#[derive(Clone, Debug)]
pub struct ExactSample {
    pub loss: f64,
    /// First-spike time of each readout neuron (the window when silent).
    pub first: Vec<f64>,
    /// `dL/dW`, `[post][pre]` per projection.
    pub grad: Vec<Vec<f64>>,
    /// `dL/dt` of every spike, `[layer][neuron][spike]` (zero for spikes
    /// that cannot change the loss).
    pub adjoint: Vec<Vec<Vec<f64>>>,
    pub trace: Trace,
}

/// A spike reaching a layer: arrival time, projection, presynaptic neuron,
/// index of the spike among that neuron's spikes.
#[derive(Clone, Copy, Debug)]
struct Arrival {
    t: f64,
    p: usize,
    i: usize,
    m: usize,
}

impl Exact {
    /// `plan` gives the layers and projections; the window is `T dt` of
    /// the plan's grid. The network must be feed-forward and of `lif`
    /// layers (`gradcheck` refuses others first).
    pub fn new(net: &ValidNetwork, plan: &Plan) -> Exact {
        let lif = plan
            .layers
            .iter()
            .map(|l| {
                let p = net.graph[l.node].lif().expect("layers are lif");
                Lif { tau_syn: p.tau_syn, tau_mem: p.tau_mem, theta: p.threshold }
            })
            .collect();
        Exact {
            plan: plan.clone(),
            lif,
            window: plan.steps as f64 * plan.grid.dt,
            delay: vec![0.0; plan.projections.len()],
            schedule: schedule(plan),
        }
    }

    /// The same model with every projection delayed by `d` seconds.
    pub fn with_delay(mut self, d: f64) -> Exact {
        self.delay.fill(d);
        self
    }

    /// `T dt` in seconds.
    pub fn window(&self) -> f64 {
        self.window
    }

    /// Spikes reaching layer `l`, sorted by time, then projection, then
    /// presynaptic index.
    fn arrivals(&self, l: usize, inputs: &[Option<f64>], spikes: &[Vec<Vec<f64>>]) -> Vec<Arrival> {
        let mut out = Vec::new();
        for &p in &self.plan.layers[l].incoming {
            let d = self.delay[p];
            match self.plan.projections[p].pre {
                Pre::Input => {
                    for (i, t) in inputs.iter().enumerate() {
                        if let Some(t) = t {
                            out.push(Arrival { t: t + d, p, i, m: 0 });
                        }
                    }
                }
                Pre::Layer(k) => {
                    for (i, times) in spikes[k].iter().enumerate() {
                        for (m, &t) in times.iter().enumerate() {
                            out.push(Arrival { t: t + d, p, i, m });
                        }
                    }
                }
            }
        }
        out.sort_by(|a, b| a.t.total_cmp(&b.t).then(a.p.cmp(&b.p)).then(a.i.cmp(&b.i)));
        out
    }

    fn weight(&self, weights: &[Vec<f64>], a: &Arrival, j: usize) -> f64 {
        weights[a.p][j * self.plan.projections[a.p].n_pre + a.i]
    }

    /// The forward pass of one sample. `inputs[i]` is the spike time of
    /// input `i` (`None`: silent).
    pub fn forward(&self, weights: &[Vec<f64>], inputs: &[Option<f64>]) -> Trace {
        let n = self.plan.layers.len();
        let mut trace = Trace { spikes: vec![Vec::new(); n], encounters: vec![Vec::new(); n] };
        for &l in &self.schedule {
            let layer = &self.plan.layers[l];
            let arrivals = self.arrivals(l, inputs, &trace.spikes);
            let c = self.lif[l];
            let (mut spikes, mut enc) = (Vec::with_capacity(layer.size), Vec::with_capacity(layer.size));
            for j in 0..layer.size {
                let (s, e) = self.neuron(c, &arrivals, |a| self.weight(weights, a, j));
                spikes.push(s);
                enc.push(e);
            }
            trace.spikes[l] = spikes;
            trace.encounters[l] = enc;
        }
        trace
    }

    /// One neuron over the window: its spikes and encounters.
    fn neuron(&self, c: Lif, arrivals: &[Arrival], weight: impl Fn(&Arrival) -> f64) -> (Vec<f64>, Vec<Encounter>) {
        let (mut spikes, mut enc) = (Vec::new(), Vec::new());
        let mut st = State::default();
        let mut t0 = 0.0f64;
        let mut e = 0;
        loop {
            let t_end = if e < arrivals.len() { arrivals[e].t.min(self.window) } else { self.window };
            // Spikes in (t0, t_end]; a spike at t_end comes before the
            // events arriving there.
            while let Some(s) = c.crossing(st, t_end - t0) {
                let at = c.evolve(st, s);
                t0 += s;
                spikes.push(t0);
                enc.push(Encounter { time: t0, margin: c.crossing_margin(at.i), spike: true });
                st = State { v: 0.0, i: at.i };
            }
            if let Some((s, gap)) = c.subthreshold_peak(st, t_end - t0).filter(|&(_, g)| g < NEAR) {
                enc.push(Encounter { time: t0 + s, margin: gap, spike: false });
            }
            if e >= arrivals.len() || arrivals[e].t >= self.window {
                break;
            }
            st = c.evolve(st, t_end - t0);
            t0 = t_end;
            while e < arrivals.len() && arrivals[e].t == t_end {
                st.i += weight(&arrivals[e]);
                e += 1;
            }
        }
        // The window's end is not a spike.
        if spikes.last().is_some_and(|&t| t >= self.window) {
            spikes.pop();
            enc.retain(|x| !(x.spike && x.time >= self.window));
        }
        (spikes, enc)
    }

    /// Spike times (seconds) of every layer: `[layer][neuron] -> times`.
    pub fn spikes(&self, weights: &[Vec<f64>], inputs: &[Option<f64>]) -> Vec<Vec<Vec<f64>>> {
        self.forward(weights, inputs).spikes
    }

    fn readout(&self) -> usize {
        self.plan.readout.as_ref().expect("the exact loss needs a readout").0
    }

    /// First-spike times (seconds) of the readout, `T dt` when silent.
    pub fn first_spikes(&self, weights: &[Vec<f64>], inputs: &[Option<f64>]) -> Vec<f64> {
        let spikes = self.spikes(weights, inputs);
        self.first_of(&spikes)
    }

    fn first_of(&self, spikes: &[Vec<Vec<f64>>]) -> Vec<f64> {
        spikes[self.readout()].iter().map(|t| t.first().copied().unwrap_or(self.window)).collect()
    }

    /// `-log softmax(-t/xi)[label] + a (exp(t_label/b) - 1)` on exact times.
    pub fn loss(&self, weights: &[Vec<f64>], inputs: &[Option<f64>], label: usize, lc: ExactLoss) -> f64 {
        first_spike_loss(&self.first_spikes(weights, inputs), label, lc).0
    }

    /// Forward pass, loss and exact gradient of one sample.
    pub fn sample(&self, weights: &[Vec<f64>], inputs: &[Option<f64>], label: usize, lc: ExactLoss) -> ExactSample {
        let trace = self.forward(weights, inputs);
        let r = self.readout();
        let first = self.first_of(&trace.spikes);
        let (loss, dl) = first_spike_loss(&first, label, lc);
        // adj[l][j][m] = dL/d(time of spike m of neuron j of layer l).
        let mut adj: Vec<Vec<Vec<f64>>> =
            trace.spikes.iter().map(|l| l.iter().map(|t| vec![0.0; t.len()]).collect()).collect();
        for (k, t) in trace.spikes[r].iter().enumerate() {
            if !t.is_empty() {
                adj[r][k][0] = dl[k];
            }
        }
        let mut grad: Vec<Vec<f64>> = weights.iter().map(|w| vec![0.0; w.len()]).collect();
        let mut psp: Vec<(usize, Psp)> = Vec::new();
        for &l in self.schedule.iter().rev() {
            let layer = &self.plan.layers[l];
            let arrivals = self.arrivals(l, inputs, &trace.spikes);
            let c = self.lif[l];
            for j in 0..layer.size {
                let times = &trace.spikes[l][j];
                for m in (0..times.len()).rev() {
                    let a = adj[l][j][m];
                    if a == 0.0 {
                        continue;
                    }
                    let t = times[m];
                    let tp = (m > 0).then(|| times[m - 1]);
                    psp.clear();
                    let (mut slope, mut d_tp) = (0.0, 0.0);
                    for (e, ar) in arrivals.iter().enumerate() {
                        if ar.t >= t {
                            break;
                        }
                        let we = self.weight(weights, ar, j);
                        let q = c.psp(t - ar.t, tp.filter(|&tp| ar.t < tp).map(|tp| t - tp));
                        slope += we * q.d_t;
                        d_tp += we * q.d_tp;
                        psp.push((e, q));
                    }
                    // dt/dx = -(dV/dx) / V'(t).
                    let g = -a / slope;
                    for &(e, q) in &psp {
                        let ar = arrivals[e];
                        let n_pre = self.plan.projections[ar.p].n_pre;
                        grad[ar.p][j * n_pre + ar.i] += g * q.phi;
                        if let Pre::Layer(k) = self.plan.projections[ar.p].pre {
                            adj[k][ar.i][ar.m] += g * self.weight(weights, &ar, j) * q.d_te;
                        }
                    }
                    if m > 0 {
                        adj[l][j][m - 1] += g * d_tp;
                    }
                }
            }
        }
        ExactSample { loss, first, grad, adjoint: adj, trace }
    }
}

/// The plan's layers ordered so that each comes after the layers it
/// receives from (declaration order among the ready ones).
fn schedule(plan: &Plan) -> Vec<usize> {
    let n = plan.layers.len();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let ready = (0..n).find(|&l| {
            !done[l]
                && plan.layers[l].incoming.iter().all(|&p| match plan.projections[p].pre {
                    Pre::Input => true,
                    Pre::Layer(k) => done[k],
                })
        });
        let l = ready.expect("a feed-forward network (gradcheck refuses recurrence first)");
        done[l] = true;
        order.push(l);
    }
    order
}

/// The loss on first-spike times `t` (seconds) and `dL/dt_k`.
pub fn first_spike_loss(t: &[f64], label: usize, lc: ExactLoss) -> (f64, Vec<f64>) {
    let z: Vec<f64> = t.iter().map(|&tk| -tk / lc.xi).collect();
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let s: f64 = z.iter().map(|&x| (x - m).exp()).sum();
    let reg = (t[label] / lc.b).exp();
    let loss = m + s.ln() - z[label] + lc.a * (reg - 1.0);
    let mut g: Vec<f64> =
        z.iter().enumerate().map(|(k, &zk)| (f64::from(u8::from(k == label)) - (zk - m).exp() / s) / lc.xi).collect();
    g[label] += lc.a * reg / lc.b;
    (loss, g)
}

#[cfg(test)]
mod tests;
