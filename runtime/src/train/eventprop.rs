//! Forward and backward pass of one sample: `docs/contract.md` sections 2-7,
//! in `f32`, for any network of `lif` and `li` layers: feed-forward,
//! recurrent, with delays and delay lines.
//!
//! Input: a [`Plan`], the weights transposed to `[pre][post]` ([`transpose`]),
//! one sample's input spikes ([`InputSpikes`]: its events, or one step per
//! input). Output: the spikes of every layer (with `I`
//! and `Vt` at each spike), the sample's loss, readout scores, prediction, and
//! its gradient (transposed, `[pre][post]`), already divided by the batch size.
//!
//! Exact order of every floating-point operation (the emulator reproduces it):
//! - Forward, step by step `n = 1 .. T-1`, each step layer by layer in
//!   declaration order (every input of step `n` comes from a step `<= n-1`, so
//!   the order of layers changes nothing): `acc = 0`; for each incoming
//!   projection copy in fan-in order, for each presynaptic spike at step
//!   `n - 1 - delay` in ascending presynaptic index, `acc[j] += W[j][i]`; then
//!   `I = alpha*I + acc`, `Vt = beta*V + (1-beta)*I` (two products, one sum);
//!   a `lif` spikes iff `Vt > theta` and then `V = 0`, else `V = Vt`; an `li`
//!   keeps `V = Vt` and feeds its readout score. Spikes are listed per step in
//!   ascending neuron index.
//! - Losses: first-spike (section 5) and the voltage losses (section 6), with
//!   `exp_f32`/`ln_f32` (`snnc_compiler::numerics`).
//! - Backward, step by step `n = T-2 down to 0`, each layer holding `lV`,
//!   `lI` of step `n+1` (section 4.2): 1. errors `e = sum_j W[j][i] (lV[j] -
//!   lI[j])` (ascending `j`) for the presynaptic spikes of step `n - delay` of
//!   each incoming projection copy from a layer, added to that network
//!   projection's error of the spike (`E = 0; E += e`, copies in the order
//!   reached); 2. `lI = alpha*lI + (1-alpha)*lV`; `lV = beta*lV` plus, at a
//!   spike of step `n+1`, `jump = (theta*lV + e_out) / ((I - Vt) + 1e-10)` (old
//!   `lV`; `e_out = 0; e_out += E` over the outgoing projections in
//!   declaration order) and minus the regulariser's `rho`; an `li` readout
//!   adds its loss' direct term `q[n]`; 3. `grad[j][i] += (-tau_syn) *
//!   lI[j]` for the presynaptic spikes of step `n - delay`.
//!
//!   A layer whose adjoints are all `+0` and that has no error, jump or
//!   direct term at this step would only produce `+0`s: it is skipped
//!   (exactly).
//!
//! Invariant: no allocation depends on anything but the sizes; the result is a
//! pure function of the inputs.

pub use super::losses::first_spike::{first_spikes, loss_and_error, predict};
pub use super::losses::voltage::{predict_scores, score_loss_and_error};
use super::losses::{self, ReadoutLoss, spike_count};
use super::models::{self, AdjointInputs};
use super::plan::{Plan, Pre};
use super::simd;
use crate::data::encode::{NO_SPIKE, SampleEvents};

/// The denominator guard of the reference (`I - Vt + 1e-10`).
pub const GUARD: f32 = 1e-10;

/// Spikes of one population, grouped by step (CSR): the spikes of step `n`
/// are `offsets[n] .. offsets[n+1]`, in ascending neuron index.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Spikes {
    pub offsets: Vec<u32>,
    pub neuron: Vec<u32>,
    /// `I[n]` and `Vt[n]` at each spike (empty for the input).
    pub i_at: Vec<f32>,
    pub vt_at: Vec<f32>,
}

impl Spikes {
    pub fn at(&self, n: usize) -> std::ops::Range<usize> {
        self.offsets[n] as usize..self.offsets[n + 1] as usize
    }
    /// The spikes of step `n`, none for a step before 0 or after the last.
    fn at_step(&self, n: isize) -> std::ops::Range<usize> {
        if n < 0 || n as usize + 1 >= self.offsets.len() { 0..0 } else { self.at(n as usize) }
    }
    pub fn len(&self) -> usize {
        self.neuron.len()
    }
    pub fn is_empty(&self) -> bool {
        self.neuron.is_empty()
    }
    fn clear(&mut self) {
        self.offsets.clear();
        self.neuron.clear();
        self.i_at.clear();
        self.vt_at.clear();
    }
}

/// Weights transposed to `[pre][post]`, the layout both passes read.
pub fn transpose(plan: &Plan, weights: &[Vec<f32>]) -> Vec<Vec<f32>> {
    plan.projections
        .iter()
        .zip(weights)
        .map(|(p, w)| {
            let mut t = vec![0.0; w.len()];
            for j in 0..p.n_post {
                for i in 0..p.n_pre {
                    t[i * p.n_post + j] = w[j * p.n_pre + i];
                }
            }
            t
        })
        .collect()
}

/// Transposes `[pre][post]` tensors back to `[post][pre]`.
pub fn untranspose(plan: &Plan, t: &[Vec<f32>]) -> Vec<Vec<f32>> {
    plan.projections
        .iter()
        .zip(t)
        .map(|(p, t)| {
            let mut w = vec![0.0; t.len()];
            for j in 0..p.n_post {
                for i in 0..p.n_pre {
                    w[j * p.n_pre + i] = t[i * p.n_post + j];
                }
            }
            w
        })
        .collect()
}

/// One layer's buffers for one sample.
#[derive(Clone, Debug, Default)]
pub(crate) struct LayerState {
    /// `I` (forward), `lI` (backward).
    pub(crate) a: Vec<f32>,
    /// `V` (forward), `lV` (backward).
    pub(crate) b: Vec<f32>,
    /// `acc` (forward), `lV - lI` (backward).
    pub(crate) c: Vec<f32>,
    /// `Vt` of the step (forward), jumps (backward).
    pub(crate) d: Vec<f32>,
    /// `e_out` of each own spike.
    pub(crate) e_out: Vec<f32>,
    /// Readout score per neuron (`li` readouts), and the step of its maximum.
    pub(crate) score: Vec<f32>,
    pub(crate) arg: Vec<u32>,
    /// Spikes per neuron (the regulariser's counts).
    pub(crate) count: Vec<u32>,
    /// Whether its adjoints can be non-zero (see the module doc).
    live: bool,
}

/// Reusable buffers of one sample's passes (one per thread).
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    pub input: Spikes,
    pub layers: Vec<Spikes>,
    state: Vec<LayerState>,
    /// Per network projection from a layer, the error `E` of each presynaptic spike.
    errors: Vec<Vec<f32>>,
    /// Per readout neuron, the loss' error `e_k` (voltage losses).
    err: Vec<f32>,
    /// Per projection, this sample's gradient, `[pre][post]`.
    pub grad: Vec<Vec<f32>>,
}

/// What one sample produced (its gradient stays in the scratch).
#[derive(Clone, Debug, PartialEq)]
pub struct SampleOut {
    pub loss: f32,
    /// First spike step of each readout neuron, `T` when silent (first-spike
    /// losses; empty for voltage losses).
    pub first: Vec<u32>,
    /// Class scores of a voltage readout (empty for first-spike losses).
    pub scores: Vec<f32>,
    pub prediction: u32,
    /// Correct with ties counted as wrong.
    pub strict_correct: bool,
}

/// One sample's input spikes, in either form: its events (an
/// [`Encoded`](crate::data::encode::Encoded) sample: `(step, input)` by
/// step, then input) or one step per input ([`NO_SPIKE`] for none, the
/// latency codes' view). Both give the same [`Spikes`].
pub trait InputSpikes {
    /// The spikes of steps `0 .. steps`, per step in ascending input order.
    fn spikes(&self, steps: usize, out: &mut Spikes);
}

impl InputSpikes for &[u32] {
    fn spikes(&self, steps: usize, out: &mut Spikes) {
        out.clear();
        out.offsets.push(0);
        for n in 0..steps {
            for (i, &s) in self.iter().enumerate() {
                if s != NO_SPIKE && s as usize == n {
                    out.neuron.push(i as u32);
                }
            }
            out.offsets.push(out.neuron.len() as u32);
        }
    }
}

impl InputSpikes for SampleEvents<'_> {
    fn spikes(&self, steps: usize, out: &mut Spikes) {
        out.clear();
        out.offsets.push(0);
        let mut events = self.iter().peekable();
        for n in 0..steps {
            while let Some((_, i)) = events.next_if(|&(s, _)| s as usize == n) {
                out.neuron.push(i);
            }
            out.offsets.push(out.neuron.len() as u32);
        }
    }
}

/// The forward pass: fills `scratch.input`, `scratch.layers` and the
/// readout's scores.
pub fn forward(plan: &Plan, wt: &[Vec<f32>], input: impl InputSpikes, scratch: &mut Scratch) {
    input.spikes(plan.steps, &mut scratch.input);
    let n_layers = plan.layers.len();
    scratch.layers.resize_with(n_layers, Spikes::default);
    scratch.state.resize_with(n_layers, LayerState::default);
    for (l, layer) in plan.layers.iter().enumerate() {
        let out = &mut scratch.layers[l];
        out.clear();
        out.offsets.extend([0, 0]);
        let st = &mut scratch.state[l];
        for buf in [&mut st.a, &mut st.b, &mut st.c, &mut st.d] {
            buf.clear();
            buf.resize(layer.size, 0.0);
        }
    }
    let readout = plan.readout.as_ref().and_then(|(r, loss)| match loss {
        ReadoutLoss::Voltage(score) => Some((*r, score)),
        ReadoutLoss::FirstSpike(_) => None,
    });
    if let Some((r, _)) = readout {
        let st = &mut scratch.state[r];
        st.score.clear();
        st.score.resize(plan.layers[r].size, 0.0);
        st.arg.clear();
        st.arg.resize(plan.layers[r].size, 1);
    }
    for n in 1..plan.steps {
        for (l, layer) in plan.layers.iter().enumerate() {
            let size = layer.size;
            // The weights of the inputs that landed at step n, in fan-in order.
            let mut acc = std::mem::take(&mut scratch.state[l].c);
            acc.fill(0.0);
            for &p in &layer.incoming {
                let proj = &plan.projections[p];
                let pre = match proj.pre {
                    Pre::Input => &scratch.input,
                    Pre::Layer(k) => &scratch.layers[k],
                };
                let w = &wt[p];
                for k in pre.at_step(n as isize - 1 - proj.delay as isize) {
                    simd::add_assign(&mut acc, &w[pre.neuron[k] as usize * size..][..size]);
                }
            }
            let st = &mut scratch.state[l];
            st.c = acc;
            let score = readout.filter(|&(r, _)| r == l).map(|(_, score)| score);
            models::forward_step(layer.kind, layer.consts, st, &mut scratch.layers[l], score, n);
        }
    }
    if let Some((r, score)) = readout {
        losses::finish_scores(score, &mut scratch.state[r]);
    }
}

/// The readout's outcome after a forward pass: loss, per-class errors (not
/// yet divided by the batch size), first spikes or scores, prediction.
fn readout_outcome(plan: &Plan, label: u32, scratch: &Scratch) -> (SampleOut, Vec<f32>, Vec<usize>) {
    let (r, loss) = plan.readout.as_ref().expect("training and inference need a readout");
    match loss {
        ReadoutLoss::FirstSpike(lc) => {
            let (first, event) = first_spikes(&scratch.layers[*r], plan.layers[*r].size, plan.steps);
            let (loss, g) = loss_and_error(&first, label, *lc);
            let (prediction, strict_correct) = predict(&first, label);
            (SampleOut { loss, first, scores: Vec::new(), prediction, strict_correct }, g, event)
        }
        ReadoutLoss::Voltage(_) => {
            let scores = scratch.state[*r].score.clone();
            let (loss, g) = score_loss_and_error(&scores, label);
            let (prediction, strict_correct) = predict_scores(&scores, label);
            (SampleOut { loss, first: Vec::new(), scores, prediction, strict_correct }, g, Vec::new())
        }
    }
}

/// Forward only: the readout's loss and the prediction.
pub fn infer(plan: &Plan, wt: &[Vec<f32>], input: impl InputSpikes, label: u32, scratch: &mut Scratch) -> SampleOut {
    forward(plan, wt, input, scratch);
    readout_outcome(plan, label, scratch).0
}

/// The regulariser's `rho_j` for each neuron of layer `l`, or `None` when it
/// is not regularised (`docs/contract.md` section 7).
fn regulariser_rho(plan: &Plan, l: usize, batch: usize, st: &mut LayerState, spikes: &Spikes) -> Option<Vec<f32>> {
    let reg = plan.regularizer.as_ref().filter(|r| r.layers[l])?;
    Some(spike_count::rho(reg, plan.layers[l].size, batch, st, spikes))
}

/// Forward, loss and backward of one sample; the gradient (divided by
/// `batch`) is left in `scratch.grad`, transposed `[pre][post]`.
pub fn sample_gradient(
    plan: &Plan,
    wt: &[Vec<f32>],
    input: impl InputSpikes,
    label: u32,
    batch: usize,
    scratch: &mut Scratch,
) -> SampleOut {
    forward(plan, wt, input, scratch);
    let (out, g, event) = readout_outcome(plan, label, scratch);
    let t = plan.steps;
    let bf = batch as f32;
    let (r, loss) = plan.readout.as_ref().expect("training needs a readout");

    // Errors of the own spikes, the projections' errors, the gradients.
    for (l, st) in scratch.state.iter_mut().enumerate() {
        st.e_out.clear();
        st.e_out.resize(scratch.layers[l].len(), 0.0);
        st.live = false;
    }
    match loss {
        ReadoutLoss::FirstSpike(_) => {
            for (k, &ev) in event.iter().enumerate() {
                if ev != usize::MAX && (out.first[k] as usize) < t - 1 {
                    scratch.state[*r].e_out[ev] = g[k] / bf;
                }
            }
        }
        ReadoutLoss::Voltage(_) => {
            scratch.err.clear();
            scratch.err.extend(g.iter().map(|&gk| gk / bf));
        }
    }
    scratch.errors.resize_with(plan.groups.len(), Vec::new);
    for (e, group) in scratch.errors.iter_mut().zip(&plan.groups) {
        e.clear();
        if let Pre::Layer(k) = group.pre {
            e.resize(scratch.layers[k].len(), 0.0);
        }
    }
    scratch.grad.resize_with(plan.projections.len(), Vec::new);
    for (gr, proj) in scratch.grad.iter_mut().zip(&plan.projections) {
        gr.clear();
        gr.resize(proj.n_pre * proj.n_post, 0.0);
    }
    let rho: Vec<Option<Vec<f32>>> = (0..plan.layers.len())
        .map(|l| regulariser_rho(plan, l, batch, &mut scratch.state[l], &scratch.layers[l]))
        .collect();
    // The readout's direct term per neuron: `kappa * e_k` (times `w[n]`).
    let direct: Vec<f32> = match loss {
        ReadoutLoss::Voltage(_) => {
            let kappa = plan.layers[*r].consts.kappa;
            scratch.err.iter().map(|&e| kappa * e).collect()
        }
        ReadoutLoss::FirstSpike(_) => Vec::new(),
    };
    let voltage = match loss {
        ReadoutLoss::Voltage(score) => Some((*r, score)),
        ReadoutLoss::FirstSpike(_) => None,
    };
    for (l, st) in scratch.state.iter_mut().enumerate() {
        for buf in [&mut st.a, &mut st.b] {
            buf.clear();
            buf.resize(plan.layers[l].size, 0.0);
        }
    }
    // lambda_V[T-1] of a voltage readout: beta * 0 + q[T-1].
    if let Some((r, score)) = voltage {
        let st = &mut scratch.state[r];
        losses::inject(score, t - 1, &direct, st, plan.layers[r].consts.beta);
        st.live = true;
    }

    for n in (0..t.saturating_sub(1)).rev() {
        for (l, layer) in plan.layers.iter().enumerate() {
            let size = layer.size;
            let own = &scratch.layers[l];
            let spikes_next = own.at(n + 1);
            // Does anything non-zero happen to this layer at this step?
            if !scratch.state[l].live {
                let st = &scratch.state[l];
                let e_out_now = |s: usize| {
                    let mut e = 0.0f32;
                    for &gp in &layer.outgoing {
                        e += scratch.errors[gp][s];
                    }
                    e
                };
                let rho_l = rho[l].as_deref();
                let wakes = spikes_next.clone().any(|s| {
                    st.e_out[s] != 0.0
                        || e_out_now(s) != 0.0
                        || rho_l.is_some_and(|rho| rho[own.neuron[s] as usize] != 0.0)
                });
                if !wakes {
                    continue;
                }
                scratch.state[l].live = true;
            }
            let c = layer.consts;
            // 1. Errors for the layers below, from lV, lI of step n+1.
            {
                let st = &mut scratch.state[l];
                for ((dj, &v), &i) in st.c.iter_mut().zip(&st.b).zip(&st.a) {
                    *dj = v - i;
                }
            }
            for &p in &layer.incoming {
                let proj = &plan.projections[p];
                let Pre::Layer(k) = proj.pre else { continue };
                let pre = &scratch.layers[k];
                let d = &scratch.state[l].c;
                let errs = &mut scratch.errors[proj.group];
                let spikes = pre.at_step(n as isize - proj.delay as isize);
                spike_errors(&wt[p], size, &pre.neuron[spikes.clone()], d, &mut errs[spikes]);
            }
            // 2. Adjoint recurrences, jumps at own spikes of step n+1.
            let x = AdjointInputs {
                own,
                spikes_next,
                outgoing: &layer.outgoing,
                errors: &scratch.errors,
                rho: rho[l].as_deref(),
                readout: voltage.filter(|&(r, _)| r == l).map(|(_, score)| (score, &direct[..])),
                n,
            };
            models::adjoint_step(layer.kind, c, &mut scratch.state[l], x);
            // 3. Gradients where an input landed at step n + 1.
            for &p in &layer.incoming {
                let proj = &plan.projections[p];
                let pre = match proj.pre {
                    Pre::Input => &scratch.input,
                    Pre::Layer(k) => &scratch.layers[k],
                };
                let li = &scratch.state[l].a;
                for s in pre.at_step(n as isize - proj.delay as isize) {
                    let gr = &mut scratch.grad[p][pre.neuron[s] as usize * size..][..size];
                    simd::add_scaled(gr, c.neg_tau_syn, li);
                }
            }
        }
    }
    out
}

/// `errs[k] += sum_j W[j][i_k] d[j]` for the presynaptic spikes `i_k` of one
/// step, each sum `e = 0; e += w_0 d_0; e += w_1 d_1; ...` in ascending `j`
/// (`wt` is `[pre][post]`, rows of `size`). Up to eight sums run side by
/// side, each in its own order: independent chains the CPU overlaps, the
/// same bits as one after another.
fn spike_errors(wt: &[f32], size: usize, pre: &[u32], d: &[f32], errs: &mut [f32]) {
    let mut k = 0;
    while k < pre.len() {
        let left = pre.len() - k;
        let group = &pre[k..];
        let out = &mut errs[k..];
        k += if left >= 8 {
            dots::<8>(wt, size, group, d, out)
        } else if left >= 4 {
            dots::<4>(wt, size, group, d, out)
        } else if left >= 2 {
            dots::<2>(wt, size, group, d, out)
        } else {
            dots::<1>(wt, size, group, d, out)
        };
    }
}

/// The first `G` sums of [`spike_errors`]; returns `G`.
#[inline(always)]
fn dots<const G: usize>(wt: &[f32], size: usize, pre: &[u32], d: &[f32], errs: &mut [f32]) -> usize {
    let rows: [&[f32]; G] = std::array::from_fn(|g| &wt[pre[g] as usize * size..][..size]);
    let mut e = [0.0f32; G];
    for (j, &dj) in d[..size].iter().enumerate() {
        for g in 0..G {
            e[g] += rows[g][j] * dj;
        }
    }
    for g in 0..G {
        errs[g] += e[g];
    }
    G
}
