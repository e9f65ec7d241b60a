//! The exact continuous-time network of `lif` and `li` layers (the original
//! EventProp forward model) and its exact gradient, in `f64`.
//!
//! Input: a checked network, its [`Plan`] (for the layer order), `[post][pre]`
//! weights, input spike times in seconds. Output: a [`Trace`] (spike times of
//! every layer, and every moment a voltage peak came near the threshold), the
//! readout's loss (constants in seconds) and its gradient ([`Exact::sample`]).
//!
//! Model: each `lif` neuron follows [`lif`] between events, each `li` neuron
//! [`li`]; a presynaptic spike at `t` reaches its targets at `t + d` (`d` the
//! delay of the projection or of the delay line's copy, in seconds, plus
//! what [`Exact::with_delay`] adds; the discrete forward's extra step is
//! not modelled: it vanishes as `dt -> 0`) and adds `W[j][i]` to `I` there.
//! Spikes are only searched in the window `[0, T dt)`.
//!
//! Losses ([`ExactLoss`]): the first-spike cross-entropy on exact
//! first-spike times (a readout neuron without a spike in the window has
//! first-spike time `T dt`, so a first spike that leaves the window through
//! its end changes the loss continuously), and softmax cross-entropy on the
//! scores of an `li` readout: the maximum of `V` over the window, its mean,
//! or its exp-weighted mean over a window ([`li`]). The spike-count
//! regulariser's contribution ([`ExactRegularizer`]) is kept apart
//! ([`ExactSample::grad_reg`]).
//!
//! Schedule ([`stages`]): the layers in stages, each stage after the stages
//! it receives from. A stage is one layer, or a recurrent group (the layers
//! of a cycle of projections, or one projecting to itself). A stage of one
//! layer is simulated neuron by neuron (its inputs are all known once the
//! stages before it are done); a recurrent group's neurons are advanced
//! together in time order: each neuron's next threshold crossing is
//! predicted from its state, and the earliest of those and of the spikes in
//! flight (a queue) is the next event. The gradient walks the same schedule
//! backwards (a recurrent group's spikes in reverse time order, so every
//! spike is pushed after all the spikes it can influence): the adjoint of a
//! spike time (`dL/dt_s`) is pushed, through the implicit function
//! `V(t_s) = theta`, to the weights, to the
//! presynaptic spikes that arrived before `t_s` and to the neuron's previous
//! spike (its reset), i.e. `dt_s/dx = -(dV/dx) / V'(t_s)` with
//! `V'(t_s) = (I(t_s) - theta) / tau_mem`. A spike whose voltage grazes the
//! threshold has a small `V'` and a large gradient. A voltage score is pushed
//! the same way: `dy/dx` is `dV(t*)/dx` at the maximum's fixed time `t*`
//! (plus `V'(t*-)` times the derivative of an event's time when the maximum
//! is a kink at that event), or the integral of `dV(t)/dx` against the
//! score's weight, in closed form per event; the regulariser's `rho
//! tau_mem` at each regularised spike multiplies `dV(t_s-)/dx` alike.
//!
//! A delay is the `d` above: arrivals are sorted by their time, so the
//! backward pass needs nothing else. A recurrent projection without a delay
//! delivers at the spike's own instant (the discrete forward's one step
//! vanishes as `dt -> 0`); `V` is continuous, so that arrival cannot make
//! another spike at the same instant.
//!
//! Invariant: the gradient is that of [`Exact::loss`] wherever the loss is
//! differentiable (no spike appears, vanishes or crosses the window's end
//! for small weight changes), and the regulariser's that of `sum_s rho_j
//! tau_mem V_j(t_s-)` at fixed spike times; tests compare both with central
//! differences.

mod li;
mod lif;

pub use li::{Li, Peak, PeakKind, Weighting};
pub use lif::{Lif, Psp, State};

use std::collections::BinaryHeap;

use snnc_compiler::ValidNetwork;
use snnc_compiler::network::{LossSpec, PopulationKind};

use super::plan::{Plan, Pre};
use crate::data::encode::Encoded;

/// Sub-threshold voltage peaks closer than this to the threshold (relative)
/// are recorded as [`Encounter`]s.
pub const NEAR: f64 = 0.5;

/// A layer's neuron model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Model {
    Lif(Lif),
    Li(Li),
}

/// The readout's loss, constants in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ExactLoss {
    /// `-log softmax(-t/xi)[label] + a (exp(t_label/b) - 1)` on first-spike
    /// times `t` of a `lif` readout.
    FirstSpike { xi: f64, a: f64, b: f64 },
    /// Softmax cross-entropy on `y_k = max_{0 <= t <= T dt} V_k(t)` of an `li`
    /// readout.
    MaxVoltage,
    /// Softmax cross-entropy on `y_k = int omega(t) V_k(t) dt` of an `li`
    /// readout (the mean and the exp-weighted mean).
    Integral(Weighting),
}

/// The exact model of one network.
#[derive(Clone, Debug)]
pub struct Exact {
    plan: Plan,
    models: Vec<Model>,
    window: f64,
    /// Per projection, seconds.
    delay: Vec<f64>,
    /// The stages in the order they are simulated: every stage after the
    /// stages it receives from.
    stages: Vec<Stage>,
    loss: ExactLoss,
    regularizer: Option<ExactRegularizer>,
}

/// The spike-count regulariser of `docs/contract.md` section 7 in continuous
/// time (one sample, `B = 1`): with `c_j` the number of spikes of neuron `j`
/// in the window, `rho_j = s_j (c_j - nu)`, `s_j` the strength above or
/// below the target. The contract subtracts `rho_j` from `lambda_V` at each
/// of `j`'s spikes, i.e. adds the gradient of `(rho_j / -kappa) V` at the
/// step before the spike, `-1/kappa -> tau_mem`: in continuous time, the
/// gradient of `sum_s rho_j tau_mem V_j(t_s-)` at fixed spike times `t_s`
/// (the voltage just before each spike, through the events before it and
/// the neuron's previous reset).
#[derive(Clone, Debug, PartialEq)]
pub struct ExactRegularizer {
    /// Per layer: whether it is regularised.
    pub layers: Vec<bool>,
    pub strength: f64,
    pub strength_below: f64,
    pub target: f64,
}

impl ExactRegularizer {
    /// `rho_j tau_mem` of every neuron, `[layer][neuron]` (0 where not
    /// regularised).
    fn coefficients(&self, models: &[Model], trace: &Trace) -> Vec<Vec<f64>> {
        trace
            .spikes
            .iter()
            .enumerate()
            .map(|(l, layer)| {
                layer
                    .iter()
                    .map(|times| match models[l] {
                        Model::Lif(c) if self.layers[l] => {
                            let n = times.len() as f64;
                            let s = if n > self.target { self.strength } else { self.strength_below };
                            s * (n - self.target) * c.tau_mem
                        }
                        _ => 0.0,
                    })
                    .collect()
            })
            .collect()
    }
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
    /// `[layer][neuron] -> spike times`, seconds (none for `li` layers).
    pub spikes: Vec<Vec<Vec<f64>>>,
    /// `[layer][neuron] -> encounters` in time order.
    pub encounters: Vec<Vec<Vec<Encounter>>>,
}

/// One sample's loss and exact gradient.
#[derive(Clone, Debug)]
pub struct ExactSample {
    pub loss: f64,
    /// First-spike time of each readout neuron (the window when silent);
    /// empty for voltage losses.
    pub first: Vec<f64>,
    /// The class scores of a voltage loss (empty for the first-spike loss).
    pub scores: Vec<f64>,
    /// Where each readout neuron's voltage peaks (the max-voltage loss).
    pub peaks: Vec<Peak>,
    /// Readout neurons whose maximum is a kink where a spike of a layer
    /// arrives: the maximum moves with that spike's time
    /// ([`PeakKind::Kink`]).
    pub moving_kinks: usize,
    /// The time after which no spike of a layer other than the readout can
    /// change the loss: the readout's last first spike (the window when one
    /// is silent), the window's end (max-voltage loss, or any loss with the
    /// regulariser, which counts every spike) or the end of the integral's
    /// weight.
    pub decision: f64,
    /// `dL/dW`, `[post][pre]` per projection.
    pub grad: Vec<Vec<f64>>,
    /// The regulariser's contribution, `[post][pre]` per projection, when
    /// the network has one ([`ExactRegularizer`]).
    pub grad_reg: Option<Vec<Vec<f64>>>,
    /// `dL/dt` of every spike (the loss' plus the regulariser's),
    /// `[layer][neuron][spike]` (zero for spikes that change neither).
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

/// What the readout makes of a forward pass.
struct Outcome {
    loss: f64,
    first: Vec<f64>,
    scores: Vec<f64>,
    peaks: Vec<Peak>,
    moving_kinks: usize,
    /// `dL/dt_k` (first spike) or `dL/dy_k` (voltage losses).
    dl: Vec<f64>,
    decision: f64,
}

impl Exact {
    /// `plan` (on `net`'s own grid) gives the layers and projections; the
    /// window is `T dt`, the loss `net`'s, its constants in seconds.
    pub fn new(net: &ValidNetwork, plan: &Plan) -> Exact {
        let models = plan
            .layers
            .iter()
            .map(|l| match &net.graph[l.node].kind {
                PopulationKind::Lif(p) => {
                    Model::Lif(Lif { tau_syn: p.tau_syn, tau_mem: p.tau_mem, theta: p.threshold })
                }
                PopulationKind::Li(p) => Model::Li(Li { tau_syn: p.tau_syn, tau_mem: p.tau_mem }),
                PopulationKind::SpikeSource(_) => unreachable!("layers are lif or li"),
            })
            .collect();
        let window = plan.steps as f64 * plan.grid.dt;
        let dt = net.time.dt;
        let loss = match net.train.as_ref().map(|t| t.loss) {
            Some(LossSpec::FirstSpikeCrossEntropy { xi, alpha, beta }) => {
                ExactLoss::FirstSpike { xi: xi.in_seconds(dt), a: alpha, b: beta.in_seconds(dt) }
            }
            Some(LossSpec::MaxVoltageCrossEntropy) => ExactLoss::MaxVoltage,
            Some(LossSpec::SumVoltageCrossEntropy) => ExactLoss::Integral(Weighting::mean(window)),
            Some(LossSpec::ExpWeightedVoltageCrossEntropy { window: w }) => {
                let (a, b) = w.map_or((0.0, window), |(a, b)| (a.in_seconds(dt), b.in_seconds(dt)));
                ExactLoss::Integral(Weighting::exp(a, b))
            }
            None => ExactLoss::FirstSpike { xi: 1.0, a: 0.0, b: 1.0 },
        };
        let regularizer = net.train.as_ref().and_then(|t| t.regularizer.as_ref()).map(|r| ExactRegularizer {
            layers: plan.layers.iter().map(|l| r.populations.contains(&l.node)).collect(),
            strength: r.strength,
            strength_below: r.strength_below,
            target: r.target,
        });
        Exact {
            plan: plan.clone(),
            models,
            window,
            delay: plan.projections.iter().map(|p| p.delay as f64 * plan.grid.dt).collect(),
            stages: stages(plan),
            loss,
            regularizer,
        }
    }

    /// The same model with every projection delayed by `d` seconds more.
    pub fn with_delay(mut self, d: f64) -> Exact {
        for x in &mut self.delay {
            *x += d;
        }
        self
    }

    /// `T dt` in seconds.
    pub fn window(&self) -> f64 {
        self.window
    }

    /// The readout's loss, constants in seconds.
    pub fn exact_loss(&self) -> ExactLoss {
        self.loss
    }

    /// The spike-count regulariser, when the network has one.
    pub fn regularizer(&self) -> Option<&ExactRegularizer> {
        self.regularizer.as_ref()
    }

    /// The smallest time between a spike of a `lif` layer before the
    /// sample's decision and the arrival, at that layer, of a spike of a
    /// `lif` layer (its own, through a recurrent projection, included; a
    /// neuron's own spike arriving at itself with no delay left out),
    /// seconds; infinite when there is no such pair. A grid whose spikes
    /// sit on its points cannot order two such events closer than one step:
    /// the discrete model counts an arrival in the step of a spike as
    /// before it, the exact one by its time, and the exact gradient of the
    /// arrival's spike time jumps there (from the spike's `lambda_V` to 0).
    pub fn order_gap(&self, sample: &ExactSample) -> f64 {
        let spikes = &sample.trace.spikes;
        let mut gap = f64::INFINITY;
        for (l, layer) in spikes.iter().enumerate() {
            if !matches!(self.models[l], Model::Lif(_)) {
                continue;
            }
            // The layer spikes reaching `l` (no input times: inputs are left out).
            let arrivals = self.arrivals(l, &[], spikes);
            for (j, times) in layer.iter().enumerate() {
                for (m, &s) in times.iter().enumerate().filter(|&(_, &s)| s < sample.decision) {
                    let others = arrivals.iter().filter(|a| {
                        let own = self.plan.projections[a.p].pre == Pre::Layer(l) && (a.i, a.m) == (j, m);
                        !(own && self.delay[a.p] == 0.0)
                    });
                    gap = others.fold(gap, |g, a| g.min((a.t - s).abs()));
                }
            }
        }
        gap
    }

    /// Spikes reaching layer `l`, sorted by time, then projection, then
    /// presynaptic index.
    fn arrivals(&self, l: usize, inputs: &[Vec<f64>], spikes: &[Vec<Vec<f64>>]) -> Vec<Arrival> {
        let mut out = Vec::new();
        for &p in &self.plan.layers[l].incoming {
            let d = self.delay[p];
            match self.plan.projections[p].pre {
                Pre::Input => {
                    for (i, times) in inputs.iter().enumerate() {
                        for (m, &t) in times.iter().enumerate() {
                            out.push(Arrival { t: t + d, p, i, m });
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
        out.sort_by(arrival_order);
        out
    }

    fn weight(&self, weights: &[Vec<f64>], a: &Arrival, j: usize) -> f64 {
        weights[a.p][j * self.plan.projections[a.p].n_pre + a.i]
    }

    /// Adds `g_phi` to the weight of arrival `a` at neuron `j` and `g_te`
    /// times that weight to the adjoint of the spike it carries.
    fn credit(&self, weights: &[Vec<f64>], a: &Arrival, j: usize, g_phi: f64, g_te: f64, out: &mut Backward) {
        let n_pre = self.plan.projections[a.p].n_pre;
        out.grad[a.p][j * n_pre + a.i] += g_phi;
        if let Pre::Layer(k) = self.plan.projections[a.p].pre {
            out.adj[k][a.i][a.m] += g_te * self.weight(weights, a, j);
        }
    }

    /// The forward pass of one sample. `inputs[i]` holds the spike times of
    /// input `i`, ascending (empty: silent; one for a latency code, any
    /// number for event data).
    pub fn forward(&self, weights: &[Vec<f64>], inputs: &[Vec<f64>]) -> Trace {
        let n = self.plan.layers.len();
        let mut trace = Trace { spikes: vec![Vec::new(); n], encounters: vec![Vec::new(); n] };
        for stage in &self.stages {
            if stage.recurrent {
                self.recurrent_forward(&stage.layers, weights, inputs, &mut trace);
                continue;
            }
            let l = stage.layers[0];
            let layer = &self.plan.layers[l];
            let Model::Lif(c) = self.models[l] else {
                trace.spikes[l] = vec![Vec::new(); layer.size];
                trace.encounters[l] = vec![Vec::new(); layer.size];
                continue;
            };
            let arrivals = self.arrivals(l, inputs, &trace.spikes);
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
    pub fn spikes(&self, weights: &[Vec<f64>], inputs: &[Vec<f64>]) -> Vec<Vec<Vec<f64>>> {
        self.forward(weights, inputs).spikes
    }

    fn readout(&self) -> usize {
        self.plan.readout.as_ref().expect("the exact loss needs a readout").0
    }

    /// First-spike times (seconds) of the readout, `T dt` when silent.
    pub fn first_spikes(&self, weights: &[Vec<f64>], inputs: &[Vec<f64>]) -> Vec<f64> {
        let spikes = self.spikes(weights, inputs);
        self.first_of(&spikes)
    }

    fn first_of(&self, spikes: &[Vec<Vec<f64>>]) -> Vec<f64> {
        spikes[self.readout()].iter().map(|t| t.first().copied().unwrap_or(self.window)).collect()
    }

    /// The readout's loss of one sample, on exact times and voltages.
    pub fn loss(&self, weights: &[Vec<f64>], inputs: &[Vec<f64>], label: usize) -> f64 {
        let trace = self.forward(weights, inputs);
        self.outcome(weights, inputs, &trace, label).loss
    }

    /// Loss, scores and the loss' derivatives of a forward pass.
    fn outcome(&self, weights: &[Vec<f64>], inputs: &[Vec<f64>], trace: &Trace, label: usize) -> Outcome {
        let r = self.readout();
        let Model::Li(li) = self.models[r] else {
            let ExactLoss::FirstSpike { xi, a, b } = self.loss else { unreachable!("a voltage loss on a lif readout") };
            let first = self.first_of(&trace.spikes);
            let (loss, dl) = first_spike_loss(&first, label, xi, a, b);
            let decision = first.iter().copied().fold(0.0, f64::max);
            return Outcome { loss, first, scores: Vec::new(), peaks: Vec::new(), moving_kinks: 0, dl, decision };
        };
        let arrivals = self.arrivals(r, inputs, &trace.spikes);
        let size = self.plan.layers[r].size;
        let (scores, peaks, decision): (Vec<f64>, _, _) = match self.loss {
            ExactLoss::MaxVoltage => {
                let peaks: Vec<Peak> = (0..size)
                    .map(|k| li.peak(arrivals.iter().map(|a| (a.t, self.weight(weights, a, k))), self.window))
                    .collect();
                // A spike anywhere in the window can make a new maximum.
                (peaks.iter().map(|p| p.y).collect(), peaks, self.window)
            }
            ExactLoss::Integral(wt) => {
                let scores = (0..size)
                    .map(|k| {
                        arrivals
                            .iter()
                            .take_while(|a| a.t < wt.to)
                            .map(|a| self.weight(weights, a, k) * wt.kernel(li, a.t).0)
                            .sum()
                    })
                    .collect();
                (scores, Vec::new(), wt.to)
            }
            ExactLoss::FirstSpike { .. } => unreachable!("a first-spike loss on an li readout"),
        };
        let (loss, dl) = score_loss(&scores, label);
        let moving = |p: &&Peak| {
            matches!(p.kind, PeakKind::Kink { .. })
                && arrivals.iter().any(|a| a.t == p.t && matches!(self.plan.projections[a.p].pre, Pre::Layer(_)))
        };
        let moving_kinks = peaks.iter().filter(moving).count();
        Outcome { loss, first: Vec::new(), scores, peaks, moving_kinks, dl, decision }
    }

    /// Forward pass, loss and exact gradient of one sample.
    pub fn sample(&self, weights: &[Vec<f64>], inputs: &[Vec<f64>], label: usize) -> ExactSample {
        let trace = self.forward(weights, inputs);
        let o = self.outcome(weights, inputs, &trace, label);
        let loss = self.backward(weights, inputs, &trace, Some(&o), None);
        let reg = self.regularizer.as_ref().map(|reg| {
            let coef = reg.coefficients(&self.models, &trace);
            self.backward(weights, inputs, &trace, None, Some(&coef))
        });
        let mut adjoint = loss.adj;
        if let Some(reg) = &reg {
            for (x, y) in adjoint.iter_mut().flatten().flatten().zip(reg.adj.iter().flatten().flatten()) {
                *x += y;
            }
        }
        ExactSample {
            loss: o.loss,
            first: o.first,
            scores: o.scores,
            peaks: o.peaks,
            moving_kinks: o.moving_kinks,
            decision: if reg.is_some() { self.window } else { o.decision },
            grad: loss.grad,
            grad_reg: reg.map(|r| r.grad),
            adjoint,
            trace,
        }
    }

    /// The backward pass from the loss' derivatives `o` and from the
    /// coefficients `coef` of each regularised spike's voltage
    /// (`[layer][neuron]`, [`ExactRegularizer::coefficients`]).
    fn backward(
        &self,
        weights: &[Vec<f64>],
        inputs: &[Vec<f64>],
        trace: &Trace,
        o: Option<&Outcome>,
        coef: Option<&[Vec<f64>]>,
    ) -> Backward {
        let r = self.readout();
        let mut b = Backward {
            // adj[l][j][m] = dL/d(time of spike m of neuron j of layer l).
            adj: trace.spikes.iter().map(|l| l.iter().map(|t| vec![0.0; t.len()]).collect()).collect(),
            grad: weights.iter().map(|w| vec![0.0; w.len()]).collect(),
        };
        if let (Some(o), ExactLoss::FirstSpike { .. }) = (o, self.loss) {
            for (k, t) in trace.spikes[r].iter().enumerate() {
                if !t.is_empty() {
                    b.adj[r][k][0] = o.dl[k];
                }
            }
        }
        let c = |l: usize, j: usize| coef.map_or(0.0, |c| c[l][j]);
        let mut psp: Vec<(usize, Psp)> = Vec::new();
        for stage in self.stages.iter().rev() {
            let arrivals: Vec<Vec<Arrival>> =
                stage.layers.iter().map(|&l| self.arrivals(l, inputs, &trace.spikes)).collect();
            if stage.recurrent {
                // Every spike of the group, latest first.
                let mut order: Vec<(f64, usize, usize, usize)> = Vec::new();
                for (q, &l) in stage.layers.iter().enumerate() {
                    for (j, times) in trace.spikes[l].iter().enumerate() {
                        order.extend(times.iter().enumerate().map(|(m, &t)| (t, q, j, m)));
                    }
                }
                order.sort_by(|a, b| b.0.total_cmp(&a.0).then((b.1, b.2).cmp(&(a.1, a.2))));
                for (_, q, j, m) in order {
                    let l = stage.layers[q];
                    self.spike_backward((l, j, m), c(l, j), weights, &arrivals[q], trace, &mut b, &mut psp);
                }
                continue;
            }
            let l = stage.layers[0];
            if let Model::Li(li) = self.models[l] {
                if let Some(o) = o.filter(|_| l == r) {
                    self.readout_backward(li, weights, &arrivals[0], o, &mut b);
                }
                continue;
            }
            for j in 0..self.plan.layers[l].size {
                for m in (0..trace.spikes[l][j].len()).rev() {
                    self.spike_backward((l, j, m), c(l, j), weights, &arrivals[0], trace, &mut b, &mut psp);
                }
            }
        }
        b
    }

    /// Pushes the adjoint `a` of spike `m` of neuron `j` of `lif` layer `l`
    /// through the implicit function `V(t) = theta`, `dt/dx = -(dV/dx) /
    /// V'(t)`, and `coef` times the voltage just before it, `coef dV(t-)/dx`
    /// at fixed `t` (the regulariser), to the weights and times of the
    /// events before it (`arrivals` are the layer's) and to the neuron's
    /// previous spike (its reset).
    #[allow(clippy::too_many_arguments)]
    fn spike_backward(
        &self,
        (l, j, m): (usize, usize, usize),
        coef: f64,
        weights: &[Vec<f64>],
        arrivals: &[Arrival],
        trace: &Trace,
        b: &mut Backward,
        psp: &mut Vec<(usize, Psp)>,
    ) {
        let a = b.adj[l][j][m];
        if a == 0.0 && coef == 0.0 {
            return;
        }
        let Model::Lif(c) = self.models[l] else { unreachable!("only lif layers spike") };
        let times = &trace.spikes[l][j];
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
        let g = -a / slope + coef;
        for &(e, q) in psp.iter() {
            self.credit(weights, &arrivals[e], j, g * q.phi, g * q.d_te, b);
        }
        if m > 0 {
            b.adj[l][j][m - 1] += g * d_tp;
        }
    }

    /// The forward pass of a recurrent group of `lif` layers, all neurons
    /// together in time order.
    fn recurrent_forward(&self, layers: &[usize], weights: &[Vec<f64>], inputs: &[Vec<f64>], trace: &mut Trace) {
        let inside = |l: usize| layers.iter().position(|&k| k == l);
        let lif = |q: usize| match self.models[layers[q]] {
            Model::Lif(c) => c,
            Model::Li(_) => unreachable!("li layers project nowhere, so are never recurrent"),
        };
        // The spikes from outside the group, known already.
        let mut outside: Vec<Arrival> = Vec::new();
        for &l in layers {
            outside.extend(
                self.arrivals(l, inputs, &trace.spikes)
                    .into_iter()
                    .filter(|a| !matches!(self.plan.projections[a.p].pre, Pre::Layer(k) if inside(k).is_some())),
            );
        }
        outside.sort_by(arrival_order);
        let mut outside = outside.into_iter().peekable();
        let mut flight: BinaryHeap<InFlight> = BinaryHeap::new();
        let predict = |c: Lif, cell: &Cell| {
            c.crossing(cell.st, self.window - cell.t0).map(|s| cell.t0 + s).filter(|&t| t < self.window)
        };
        let mut cells: Vec<Vec<Cell>> = layers
            .iter()
            .enumerate()
            .map(|(q, &l)| {
                let cell = Cell { st: State::default(), t0: 0.0, next: None };
                vec![Cell { next: predict(lif(q), &cell), ..cell }; self.plan.layers[l].size]
            })
            .collect();
        let mut spikes: Vec<Vec<Vec<f64>>> =
            layers.iter().map(|&l| vec![Vec::new(); self.plan.layers[l].size]).collect();
        let mut enc: Vec<Vec<Vec<Encounter>>> = spikes.clone().into_iter().map(|l| vec![Vec::new(); l.len()]).collect();
        loop {
            // The earliest predicted spike (the lowest layer and neuron on a tie).
            let mut first: Option<(f64, usize, usize)> = None;
            for (q, layer) in cells.iter().enumerate() {
                for (j, cell) in layer.iter().enumerate() {
                    if let Some(t) = cell.next
                        && first.is_none_or(|f| t < f.0)
                    {
                        first = Some((t, q, j));
                    }
                }
            }
            // The earliest arrival, from outside or in flight.
            let from_outside = match (outside.peek(), flight.peek()) {
                (Some(a), Some(f)) => arrival_order(a, &f.0).is_le(),
                (a, _) => a.is_some(),
            };
            let next = if from_outside { outside.peek().copied() } else { flight.peek().map(|f| f.0) };
            let t_arr = next.map_or(f64::INFINITY, |a| a.t);
            // A spike at an arrival's time comes before the arrival.
            if let Some((t, q, j)) = first.filter(|f| f.0 <= t_arr) {
                let c = lif(q);
                let cell = &mut cells[q][j];
                let at = c.evolve(cell.st, t - cell.t0);
                let m = spikes[q][j].len();
                spikes[q][j].push(t);
                enc[q][j].push(Encounter { time: t, margin: c.crossing_margin(at.i), spike: true });
                *cell = Cell { st: State { v: 0.0, i: at.i }, t0: t, next: None };
                cell.next = predict(c, cell);
                let l = layers[q];
                for (p, proj) in self.plan.projections.iter().enumerate() {
                    let arrival = Arrival { t: t + self.delay[p], p, i: j, m };
                    if proj.pre == Pre::Layer(l) && inside(proj.post).is_some() && arrival.t < self.window {
                        flight.push(InFlight(arrival));
                    }
                }
                continue;
            }
            let Some(a) = next.filter(|a| a.t < self.window) else { break };
            if from_outside {
                outside.next();
            } else {
                flight.pop();
            }
            let q = inside(self.plan.projections[a.p].post).expect("an arrival into the group");
            let c = lif(q);
            for (j, cell) in cells[q].iter_mut().enumerate() {
                if a.t > cell.t0 {
                    if let Some((s, gap)) = c.subthreshold_peak(cell.st, a.t - cell.t0).filter(|&(_, g)| g < NEAR) {
                        enc[q][j].push(Encounter { time: cell.t0 + s, margin: gap, spike: false });
                    }
                    cell.st = c.evolve(cell.st, a.t - cell.t0);
                    cell.t0 = a.t;
                }
                cell.st.i += self.weight(weights, &a, j);
                cell.next = predict(c, cell);
            }
        }
        for (q, layer) in cells.iter().enumerate() {
            for (j, cell) in layer.iter().enumerate() {
                let peak = lif(q).subthreshold_peak(cell.st, self.window - cell.t0).filter(|&(_, g)| g < NEAR);
                if let Some((s, gap)) = peak {
                    enc[q][j].push(Encounter { time: cell.t0 + s, margin: gap, spike: false });
                }
            }
        }
        for ((&l, s), e) in layers.iter().zip(spikes).zip(enc) {
            trace.spikes[l] = s;
            trace.encounters[l] = e;
        }
    }

    /// Pushes `dL/dy_k` of an `li` readout to its weights and to the spikes
    /// that reached it.
    fn readout_backward(&self, li: Li, weights: &[Vec<f64>], arrivals: &[Arrival], o: &Outcome, b: &mut Backward) {
        for (k, &e) in o.dl.iter().enumerate() {
            if e == 0.0 {
                continue;
            }
            match self.loss {
                ExactLoss::MaxVoltage => {
                    let peak = o.peaks[k];
                    if peak.kind == PeakKind::Start {
                        continue;
                    }
                    // y = V(t*) at fixed t*: every event before it.
                    for a in arrivals.iter().take_while(|a| a.t < peak.t) {
                        let (phi, d_te) = li.point(peak.t - a.t);
                        self.credit(weights, a, k, e * phi, e * d_te, b);
                    }
                    // A kink moves with its event: dy/dt_e = V'(t*-).
                    if let PeakKind::Kink { slope } = peak.kind {
                        for a in arrivals.iter().filter(|a| a.t == peak.t) {
                            if let Pre::Layer(q) = self.plan.projections[a.p].pre {
                                b.adj[q][a.i][a.m] += e * slope;
                            }
                        }
                    }
                }
                ExactLoss::Integral(wt) => {
                    for a in arrivals.iter().take_while(|a| a.t < wt.to) {
                        let (phi, d_te) = wt.kernel(li, a.t);
                        self.credit(weights, a, k, e * phi, e * d_te, b);
                    }
                }
                ExactLoss::FirstSpike { .. } => unreachable!("a first-spike loss on an li readout"),
            }
        }
    }
}

/// The gradient being accumulated by the backward pass.
struct Backward {
    adj: Vec<Vec<Vec<f64>>>,
    grad: Vec<Vec<f64>>,
}

/// Layers simulated together.
#[derive(Clone, Debug)]
struct Stage {
    /// Declaration order.
    layers: Vec<usize>,
    /// A cycle of projections, or one layer projecting to itself.
    recurrent: bool,
}

/// One neuron of a recurrent group: its state at `t0` and its next
/// threshold crossing without further input.
#[derive(Clone, Copy, Debug)]
struct Cell {
    st: State,
    t0: f64,
    next: Option<f64>,
}

/// Arrivals in time order, then projection, then presynaptic index.
fn arrival_order(a: &Arrival, b: &Arrival) -> std::cmp::Ordering {
    a.t.total_cmp(&b.t).then(a.p.cmp(&b.p)).then(a.i.cmp(&b.i))
}

/// A spike in flight inside a recurrent group; the heap pops the earliest.
#[derive(Clone, Copy, Debug)]
struct InFlight(Arrival);

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for InFlight {}

impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        arrival_order(&other.0, &self.0)
    }
}

/// The plan's layers in stages (the strongly connected groups of the
/// projection graph), each stage after the stages it receives from
/// (declaration order among the ready ones), so a feed-forward network gets
/// one stage per layer in its topological order.
fn stages(plan: &Plan) -> Vec<Stage> {
    let n = plan.layers.len();
    // reach[a][b]: a path of projections leads from layer a to layer b.
    let mut reach = vec![vec![false; n]; n];
    for p in &plan.projections {
        if let Pre::Layer(k) = p.pre {
            reach[k][p.post] = true;
        }
    }
    for m in 0..n {
        let via = reach[m].clone();
        for row in reach.iter_mut().filter(|row| row[m]) {
            for (x, &y) in row.iter_mut().zip(&via) {
                *x |= y;
            }
        }
    }
    // Each layer's group is named by its lowest member.
    let group: Vec<usize> =
        (0..n).map(|a| (0..n).find(|&b| b == a || (reach[a][b] && reach[b][a])).unwrap_or(a)).collect();
    let mut done = vec![false; n];
    let mut out = Vec::new();
    loop {
        let ready = (0..n).find(|&g| {
            group[g] == g
                && !done[g]
                && (0..n).filter(|&l| group[l] == g).all(|l| {
                    plan.layers[l].incoming.iter().all(|&p| match plan.projections[p].pre {
                        Pre::Input => true,
                        Pre::Layer(k) => group[k] == g || done[group[k]],
                    })
                })
        });
        let Some(g) = ready else { break };
        done[g] = true;
        let layers: Vec<usize> = (0..n).filter(|&l| group[l] == g).collect();
        let recurrent = layers.len() > 1 || reach[g][g];
        out.push(Stage { layers, recurrent });
    }
    out
}

/// The loss on first-spike times `t` (seconds) and `dL/dt_k`.
/// Sample `s` of `data` as the exact model's inputs: each input's spikes
/// at the start of their steps (`step * dt` seconds), ascending; latency
/// codes give at most one per input, event data any number.
pub fn input_times(data: &Encoded, s: usize, dt: f64) -> Vec<Vec<f64>> {
    let mut times = vec![Vec::new(); data.inputs];
    // Events come by step, then input: each input's times ascend.
    for (step, input) in data.events(s).iter() {
        times[input as usize].push(f64::from(step) * dt);
    }
    times
}

pub fn first_spike_loss(t: &[f64], label: usize, xi: f64, a: f64, b: f64) -> (f64, Vec<f64>) {
    let z: Vec<f64> = t.iter().map(|&tk| -tk / xi).collect();
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let s: f64 = z.iter().map(|&x| (x - m).exp()).sum();
    let reg = (t[label] / b).exp();
    let loss = m + s.ln() - z[label] + a * (reg - 1.0);
    let mut g: Vec<f64> =
        z.iter().enumerate().map(|(k, &zk)| (f64::from(u8::from(k == label)) - (zk - m).exp() / s) / xi).collect();
    g[label] += a * reg / b;
    (loss, g)
}

/// Softmax cross-entropy on scores `y` and `dL/dy_k = p_k - delta_kl`.
pub fn score_loss(y: &[f64], label: usize) -> (f64, Vec<f64>) {
    let m = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let s: f64 = y.iter().map(|&x| (x - m).exp()).sum();
    let loss = m + s.ln() - y[label];
    let g = y.iter().enumerate().map(|(k, &yk)| (yk - m).exp() / s - f64::from(u8::from(k == label))).collect();
    (loss, g)
}

#[cfg(test)]
mod tests;
