//! Forward and backward pass of one sample: `docs/contract.md` sections 2, 4 and 5,
//! in `f32`, for any feed-forward DAG of LIF layers.
//!
//! Input: a [`Plan`], the weights transposed to `[pre][post]` ([`transpose`]),
//! one sample's input spike steps. Output: the spikes of every layer (with `I`
//! and `Vt` at each spike), the sample's loss, first-spike steps, and its
//! gradient (transposed, `[pre][post]`), already divided by the batch size.
//!
//! Exact order of every floating-point operation (the emulator reproduces it):
//! - Forward, layer by layer in topological order, steps `n = 1 .. T-1`:
//!   `acc = 0`; for each incoming projection in declaration order, for each
//!   presynaptic spike at step `n-1` in ascending presynaptic index,
//!   `acc[j] += W[j][i]`; then `I = alpha*I + acc`,
//!   `Vt = beta*V + (1-beta)*I` (two products, one sum), spike iff `Vt > theta`,
//!   `V = 0` on a spike, else `V = Vt`. Spikes are listed per step in ascending
//!   neuron index.
//! - Loss (`f32`, [`exp_f32`]/[`ln_f32`]): `z_k = -(t_k / xi)`; `m = max z`;
//!   `s = sum_k exp(z_k - m)` in ascending `k` from 0; `L = (m + ln s) - z_l
//!   + a * (exp(t_l / b) - 1)`; `p_k = exp(z_k - m) / s`;
//!   `g_k = (δ_kl - p_k) / xi`, then `g_l = g_l + (a * exp(t_l / b)) / b`;
//!   the error injected at `k`'s first spike is `g_k / batch` (none when `k` is
//!   silent or first spikes at `T-1`).
//! - Backward, layers in reverse topological order, each over
//!   `n = T-2 down to 0`, holding `lV`, `lI` of step `n+1`:
//!   1. for each incoming projection from a LIF layer (declaration order), for
//!      each presynaptic spike at step `n`: `e = sum_j W[j][i] * (lV[j] - lI[j])`
//!      in ascending `j` from 0;
//!   2. `lI = alpha*lI + (1-alpha)*lV`; `lV = beta*lV + jump`, where at a spike
//!      of step `n+1`: `jump = (lV + e_out) / ((I - Vt) + 1e-10)` (old `lV`);
//!   3. for each incoming projection, each presynaptic spike at step `n`:
//!      `grad[j][i] += (-tau_syn) * lI[j]`.
//!
//!   `e_out` of a spike is the sum, over the layer's outgoing projections in
//!   declaration order starting from 0, of the `e` computed for it in step 1.
//!   Per-sample gradients therefore accumulate in reverse step order.
//!
//! Invariant: no allocation depends on anything but the sizes; the result is a
//! pure function of the inputs.

use snnc_compiler::numerics::{exp_f32, ln_f32};

use super::plan::{LossConsts, Plan, Pre};
use crate::data::encode::NO_SPIKE;

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

/// Reusable buffers of one sample's passes (one per thread).
#[derive(Clone, Debug, Default)]
pub struct Scratch {
    pub input: Spikes,
    pub layers: Vec<Spikes>,
    /// Per layer, `e_out` of each of its spikes.
    e_out: Vec<Vec<f32>>,
    /// Per projection, the `e` sent down for each presynaptic spike.
    e_in: Vec<Vec<f32>>,
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
    jump: Vec<f32>,
    /// Per projection, this sample's gradient, `[pre][post]`.
    pub grad: Vec<Vec<f32>>,
}

/// What one sample produced (its gradient stays in the scratch).
#[derive(Clone, Debug, PartialEq)]
pub struct SampleOut {
    pub loss: f32,
    /// First spike step of each readout neuron, `T` when silent.
    pub first: Vec<u32>,
    pub prediction: u32,
    /// Correct with ties counted as wrong.
    pub strict_correct: bool,
}

/// Builds the input spikes from one sample's steps.
fn input_spikes(plan: &Plan, steps: &[u32], out: &mut Spikes) {
    out.clear();
    out.offsets.push(0);
    for n in 0..plan.steps {
        for (i, &s) in steps.iter().enumerate() {
            if s != NO_SPIKE && s as usize == n {
                out.neuron.push(i as u32);
            }
        }
        out.offsets.push(out.neuron.len() as u32);
    }
}

/// The forward pass: fills `scratch.input` and `scratch.layers`.
pub fn forward(plan: &Plan, wt: &[Vec<f32>], steps: &[u32], scratch: &mut Scratch) {
    input_spikes(plan, steps, &mut scratch.input);
    scratch.layers.resize_with(plan.layers.len(), Spikes::default);
    for (l, layer) in plan.layers.iter().enumerate() {
        let (done, rest) = scratch.layers.split_at_mut(l);
        let out = &mut rest[0];
        out.clear();
        let size = layer.size;
        let c = layer.consts;
        let (cur, v, acc, vts) = (&mut scratch.a, &mut scratch.b, &mut scratch.c, &mut scratch.jump);
        vts.resize(size, 0.0);
        cur.clear();
        cur.resize(size, 0.0);
        v.clear();
        v.resize(size, 0.0);
        acc.resize(size, 0.0);
        out.offsets.push(0);
        out.offsets.push(0);
        for n in 1..plan.steps {
            acc.fill(0.0);
            for &p in &layer.incoming {
                let pre = match plan.projections[p].pre {
                    Pre::Input => &scratch.input,
                    Pre::Layer(k) => &done[k],
                };
                let w = &wt[p];
                for k in pre.at(n - 1) {
                    let row = &w[pre.neuron[k] as usize * size..][..size];
                    for (a, &x) in acc.iter_mut().zip(row) {
                        *a += x;
                    }
                }
            }
            // Pass 1 (branch-free, vectorisable): the new state of every neuron.
            let mut any = false;
            let lanes = cur[..size].iter_mut().zip(&mut v[..size]).zip(&acc[..size]).zip(&mut vts[..size]);
            for (((ij, vj), &aj), vtj) in lanes {
                let i_new = c.alpha * *ij + aj;
                *ij = i_new;
                let vt = c.beta * *vj + c.one_minus_beta * i_new;
                *vtj = vt;
                let spike = vt > c.theta;
                any |= spike;
                *vj = if spike { 0.0 } else { vt };
            }
            // Pass 2, only at steps with spikes: record them in neuron order.
            if any {
                for j in 0..size {
                    if vts[j] > c.theta {
                        out.neuron.push(j as u32);
                        out.i_at.push(cur[j]);
                        out.vt_at.push(vts[j]);
                    }
                }
            }
            out.offsets.push(out.neuron.len() as u32);
        }
    }
}

/// First spike step of each neuron of `spikes` (`T` when silent) and the index
/// of that spike in the list (`usize::MAX` when silent).
pub fn first_spikes(spikes: &Spikes, size: usize, steps: usize) -> (Vec<u32>, Vec<usize>) {
    let mut first = vec![steps as u32; size];
    let mut event = vec![usize::MAX; size];
    for n in 0..steps {
        for k in spikes.at(n) {
            let j = spikes.neuron[k] as usize;
            if event[j] == usize::MAX {
                first[j] = n as u32;
                event[j] = k;
            }
        }
    }
    (first, event)
}

/// The prediction (argmin, ties to the lowest index) and strict correctness.
pub fn predict(first: &[u32], label: u32) -> (u32, bool) {
    let mut best = 0;
    for (k, &t) in first.iter().enumerate() {
        if t < first[best] {
            best = k;
        }
    }
    let l = label as usize;
    let strict = best == l && first.iter().enumerate().all(|(k, &t)| k == l || t != first[l]);
    (best as u32, strict)
}

/// Loss of one sample and `dL/dt_k` (not yet divided by the batch size).
pub fn loss_and_error(first: &[u32], label: u32, lc: LossConsts) -> (f32, Vec<f32>) {
    let l = label as usize;
    let z: Vec<f32> = first.iter().map(|&t| -(t as f32 / lc.xi)).collect();
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let ez: Vec<f32> = z.iter().map(|&zk| exp_f32(zk - m)).collect();
    let mut s = 0.0f32;
    for &e in &ez {
        s += e;
    }
    let reg = exp_f32(first[l] as f32 / lc.b);
    let loss = ((m + ln_f32(s)) - z[l]) + lc.a * (reg - 1.0);
    let mut g: Vec<f32> = ez
        .iter()
        .enumerate()
        .map(|(k, &e)| {
            let delta = if k == l { 1.0 } else { 0.0 };
            (delta - e / s) / lc.xi
        })
        .collect();
    g[l] += (lc.a * reg) / lc.b;
    (loss, g)
}

/// Forward only: the readout's first spikes and the prediction.
pub fn infer(plan: &Plan, wt: &[Vec<f32>], steps: &[u32], label: u32, scratch: &mut Scratch) -> SampleOut {
    forward(plan, wt, steps, scratch);
    let (r, lc) = plan.readout.expect("inference needs a readout");
    let (first, _) = first_spikes(&scratch.layers[r], plan.layers[r].size, plan.steps);
    let (loss, _) = loss_and_error(&first, label, lc);
    let (prediction, strict_correct) = predict(&first, label);
    SampleOut { loss, first, prediction, strict_correct }
}

/// Forward, loss and backward of one sample; the gradient (divided by
/// `batch`) is left in `scratch.grad`, transposed `[pre][post]`.
pub fn sample_gradient(
    plan: &Plan,
    wt: &[Vec<f32>],
    steps: &[u32],
    label: u32,
    batch: usize,
    scratch: &mut Scratch,
) -> SampleOut {
    forward(plan, wt, steps, scratch);
    let (r, lc) = plan.readout.expect("training needs a readout");
    let (first, event) = first_spikes(&scratch.layers[r], plan.layers[r].size, plan.steps);
    let (loss, g) = loss_and_error(&first, label, lc);
    let (prediction, strict_correct) = predict(&first, label);

    let t = plan.steps;
    scratch.e_out.resize_with(plan.layers.len(), Vec::new);
    for (l, e) in scratch.e_out.iter_mut().enumerate() {
        e.clear();
        e.resize(scratch.layers[l].len(), 0.0);
    }
    let bf = batch as f32;
    for (k, &ev) in event.iter().enumerate() {
        if ev != usize::MAX && (first[k] as usize) < t - 1 {
            scratch.e_out[r][ev] = g[k] / bf;
        }
    }
    scratch.e_in.resize_with(plan.projections.len(), Vec::new);
    scratch.grad.resize_with(plan.projections.len(), Vec::new);
    for (p, proj) in plan.projections.iter().enumerate() {
        let g = &mut scratch.grad[p];
        g.clear();
        g.resize(proj.n_pre * proj.n_post, 0.0);
        if let Pre::Layer(k) = proj.pre {
            scratch.e_in[p].clear();
            scratch.e_in[p].resize(scratch.layers[k].len(), 0.0);
        }
    }

    for (l, layer) in plan.layers.iter().enumerate().rev() {
        if l != r {
            // e_out = sum over outgoing projections in declaration order.
            let e_out = &mut scratch.e_out[l];
            for &p in &layer.outgoing {
                for (e, &x) in e_out.iter_mut().zip(&scratch.e_in[p]) {
                    *e += x;
                }
            }
        }
        let size = layer.size;
        let c = layer.consts;
        let (lv, li, d) = (&mut scratch.a, &mut scratch.b, &mut scratch.c);
        lv.clear();
        lv.resize(size, 0.0);
        li.clear();
        li.resize(size, 0.0);
        d.resize(size, 0.0);
        let own = &scratch.layers[l];
        let e_out = &scratch.e_out[l];
        // Steps after the last spike with a non-zero error leave lV = lI = 0,
        // send zero errors and add (-tau_syn) * 0 to gradients: exact no-ops,
        // skipped. The loop starts at the step whose n+1 holds that spike.
        let Some(last) = (0..own.len()).rev().find(|&s| e_out[s] != 0.0) else {
            continue;
        };
        let start = (1..t).rev().find(|&m| own.at(m).contains(&last)).map_or(0, |m| m - 1);
        for n in (0..=start).rev() {
            // 1. errors for the layers below, from lV[n+1], lI[n+1].
            for (dj, (&v, &i)) in d.iter_mut().zip(lv.iter().zip(li.iter())) {
                *dj = v - i;
            }
            for &p in &layer.incoming {
                if let Pre::Layer(k) = plan.projections[p].pre {
                    let pre = &scratch.layers[k];
                    for s in pre.at(n) {
                        let row = &wt[p][pre.neuron[s] as usize * size..][..size];
                        let mut e = 0.0f32;
                        for (&w, &dj) in row.iter().zip(d.iter()) {
                            e += w * dj;
                        }
                        scratch.e_in[p][s] = e;
                    }
                }
            }
            // 2. adjoint recurrences, jumps at own spikes of step n+1.
            scratch.jump.clear();
            for s in own.at(n + 1) {
                let j = own.neuron[s] as usize;
                let den = (own.i_at[s] - own.vt_at[s]) + GUARD;
                scratch.jump.push((lv[j] + e_out[s]) / den);
            }
            for (lij, lvj) in li[..size].iter_mut().zip(&mut lv[..size]) {
                *lij = c.alpha * *lij + c.one_minus_alpha * *lvj;
                *lvj *= c.beta;
            }
            for (q, s) in own.at(n + 1).enumerate() {
                lv[own.neuron[s] as usize] += scratch.jump[q];
            }
            // 3. gradient where an input spiked at step n.
            for &p in &layer.incoming {
                let pre = match plan.projections[p].pre {
                    Pre::Input => &scratch.input,
                    Pre::Layer(k) => &scratch.layers[k],
                };
                for s in pre.at(n) {
                    let g = &mut scratch.grad[p][pre.neuron[s] as usize * size..][..size];
                    for (gj, &x) in g.iter_mut().zip(li.iter()) {
                        *gj += c.neg_tau_syn * x;
                    }
                }
            }
        }
    }
    SampleOut { loss, first, prediction, strict_correct }
}
