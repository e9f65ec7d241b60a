//! An independent dense implementation of `docs/contract.md` sections 2-7
//! (written from the contract alone, not from `runtime/src/train`): every
//! step, every neuron, dense arrays, generic over the float type so that it
//! runs in `f64` (the checker) and in `f32` (to measure how much an `f32`
//! evaluation of the same formulas may differ from the `f64` one). It covers
//! every network the language accepts: `lif` and `li` layers, recurrence and
//! cycles, per-projection delays and delay lines, the first-spike and the
//! three voltage losses, the spike-count regulariser.
//!
//! What it shows:
//! - `li_readout_gradient_equals_finite_differences`: for input -> `li`
//!   networks (each voltage loss, with and without delays and delay lines),
//!   the contract's adjoint gradient equals central finite differences of
//!   the `f64` discrete forward, relative error <= 1e-5;
//! - `reference_matches_dense_*`: snnc's reference (`batch_gradient`, a
//!   black box) on networks covering every feature: spike trains identical
//!   to the `f64` ones (after checking that no membrane comes within 1e-4 of
//!   the threshold), gradients within a tolerance derived from this
//!   implementation's own `f32`-vs-`f64` difference (see [`compare`]), and,
//!   stricter, bit-identical to this file's own `f32` evaluation;
//! - `regularizer_*`: the regulariser's contribution is the contract's
//!   formula (with the loss error zeroed it alone gives the gradient), and a
//!   step against it moves spike counts towards the target.
//!
//! snnc is used only through its public API: `check_source` (the `.snn`
//! text this file writes), `Plan::new`, `batch_gradient`, and
//! `eventprop::forward` for the spike trains; weights are handed over per
//! copy, `[post][pre]`, in the order of the weights file (projections in
//! declaration order, copies by ascending delay).

use std::fmt::Debug;
use std::ops::{Add, Div, Mul, Neg, Sub};

use snnc_compiler::check_source;
use snnc_compiler::numerics::{exp_f32, ln_f32};
use snnc_runtime::data::encode::{Encoded, NO_SPIKE};
use snnc_runtime::train::batch::batch_gradient;
use snnc_runtime::train::eventprop::{Scratch, forward, transpose};
use snnc_runtime::train::plan::Plan;

// ---------------------------------------------------------------------------
// Arithmetic.

trait Real:
    Copy
    + PartialOrd
    + Debug
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    const ZERO: Self;
    /// Rounds an `f64` once.
    fn of(x: f64) -> Self;
    fn to64(self) -> f64;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
}

impl Real for f32 {
    const ZERO: f32 = 0.0;
    fn of(x: f64) -> f32 {
        x as f32
    }
    fn to64(self) -> f64 {
        f64::from(self)
    }
    // The contract's exp and ln (section 0).
    fn exp(self) -> f32 {
        exp_f32(self)
    }
    fn ln(self) -> f32 {
        ln_f32(self)
    }
}

impl Real for f64 {
    const ZERO: f64 = 0.0;
    fn of(x: f64) -> f64 {
        x
    }
    fn to64(self) -> f64 {
        self
    }
    fn exp(self) -> f64 {
        f64::exp(self)
    }
    fn ln(self) -> f64 {
        f64::ln(self)
    }
}

// ---------------------------------------------------------------------------
// Networks.

#[derive(Clone, Debug)]
enum Kind {
    Input,
    /// Time constants in ms.
    Lif {
        tau_mem: f64,
        tau_syn: f64,
        theta: f64,
    },
    Li {
        tau_mem: f64,
        tau_syn: f64,
    },
}

#[derive(Clone, Debug)]
struct Pop {
    name: &'static str,
    size: usize,
    kind: Kind,
    /// `integration = exact` (section 2's `gamma`), else the default.
    exact: bool,
}

#[derive(Clone, Debug)]
struct Proj {
    pre: usize,
    post: usize,
    /// Ascending, in steps; `delay_line` writes them as `delays = A .. B step S`.
    delays: Vec<usize>,
    delay_line: bool,
    /// This file's own initialiser: Normal(mean, std) / sqrt(|pre|).
    mean: f64,
    std: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Loss {
    /// xi, a, b in steps.
    FirstSpike {
        xi: f64,
        a: f64,
        b: f64,
    },
    Max,
    Sum,
    /// Window in steps; `None` is the default (the whole trial).
    Exp(Option<(usize, usize)>),
}

#[derive(Clone, Debug)]
struct Reg {
    pops: Vec<usize>,
    up: f64,
    below: f64,
    target: f64,
}

#[derive(Clone, Debug)]
struct Net {
    steps: usize,
    pops: Vec<Pop>,
    projs: Vec<Proj>,
    readout: usize,
    loss: Loss,
    reg: Option<Reg>,
}

const DT_MS: f64 = 1.0;

struct Consts<F> {
    alpha: F,
    beta: F,
    oma: F,
    omb: F,
    neg_tau_syn: F,
    theta: F,
    kappa: F,
}

impl Net {
    fn input(&self) -> usize {
        self.pops.iter().position(|p| matches!(p.kind, Kind::Input)).unwrap()
    }

    /// Section 0: constants in f64, rounded to `F` once (`f32` first when
    /// `round32`, so that the f64 model sees the f32 reference's constants).
    fn consts<F: Real>(&self, pop: usize, round32: bool) -> Consts<F> {
        let r = |x: f64| if round32 { F::of(f64::from(x as f32)) } else { F::of(x) };
        let (tm, ts, th) = match self.pops[pop].kind {
            Kind::Lif { tau_mem, tau_syn, theta } => (tau_mem, tau_syn, theta),
            Kind::Li { tau_mem, tau_syn } => (tau_mem, tau_syn, f64::INFINITY),
            Kind::Input => unreachable!(),
        };
        let (dt, tm, ts) = (DT_MS * 1e-3, tm * 1e-3, ts * 1e-3);
        let alpha = (-dt / ts).exp();
        let beta = (-dt / tm).exp();
        // Section 2: the exact step's V(dt) for I(0) = 1, V(0) = 0.
        let gamma = if self.pops[pop].exact {
            ts / (ts - tm) * ((-dt / ts).exp_m1() - (-dt / tm).exp_m1())
        } else {
            1.0 - beta
        };
        Consts {
            alpha: r(alpha),
            beta: r(beta),
            oma: r(1.0 - alpha),
            omb: r(gamma),
            neg_tau_syn: r(-ts),
            theta: r(th),
            kappa: r(-gamma / ((1.0 - alpha) * ts)),
        }
    }

    /// The loss' weights `w[n]` (0 outside the support; the max loss' support
    /// depends on the voltages and is found by [`scores`]).
    fn weights_in_time<F: Real>(&self, round32: bool) -> Vec<Option<F>> {
        let r = |x: f64| if round32 { F::of(f64::from(x as f32)) } else { F::of(x) };
        let t = self.steps;
        match self.loss {
            Loss::Sum => (0..t).map(|n| (n >= 1).then(|| r(1.0 / t as f64))).collect(),
            Loss::Exp(win) => {
                let (a, b) = win.unwrap_or((0, t));
                let (a, b) = (a as f64, b as f64);
                (0..t)
                    .map(|n| {
                        let nf = n as f64;
                        (n >= 1 && a <= nf && nf < b)
                            .then(|| r((-(nf - a) / (b - a)).exp() * DT_MS / ((b - a) * DT_MS)))
                    })
                    .collect()
            }
            Loss::Max => (0..t).map(|n| (n >= 1).then(|| F::of(1.0))).collect(),
            Loss::FirstSpike { .. } => vec![None; t],
        }
    }

    /// The `.snn` text of this network (snnc's view of it).
    fn snn(&self, batch: usize) -> String {
        let mut s = format!("network dense {{\n    time {{ dt = {DT_MS} ms; steps = {} }}\n", self.steps);
        for p in &self.pops {
            let integration = if p.exact { "; integration = exact" } else { "" };
            match p.kind {
                Kind::Input => {
                    s += &format!(
                        "    population {} = spike_source({}) {{ encoding = latency(order = early_high) }}\n",
                        p.name, p.size
                    )
                }
                Kind::Lif { tau_mem, tau_syn, theta } => {
                    s += &format!(
                        "    population {} = lif({}) {{ tau_mem = {tau_mem} ms; tau_syn = {tau_syn} ms; threshold = {theta}{integration} }}\n",
                        p.name, p.size
                    )
                }
                Kind::Li { tau_mem, tau_syn } => {
                    s += &format!(
                        "    population {} = li({}) {{ tau_mem = {tau_mem} ms; tau_syn = {tau_syn} ms{integration} }}\n",
                        p.name, p.size
                    )
                }
            }
        }
        for p in &self.projs {
            let delay = if p.delay_line {
                let d = &p.delays;
                format!("; delays = {} steps .. {} steps step {} steps", d[0], d[d.len() - 1], d[1] - d[0])
            } else {
                format!("; delay = {} steps", p.delays[0])
            };
            s += &format!(
                "    projection {} -> {} = dense {{ init = normal(){delay} }}\n",
                self.pops[p.pre].name, self.pops[p.post].name
            );
        }
        let classes = self.pops[self.readout].size;
        let features = self.pops[self.input()].size;
        let loss = match self.loss {
            Loss::FirstSpike { xi, a, b } => {
                format!("first_spike_cross_entropy(xi = {xi} steps, alpha = {a}, beta = {b} steps)")
            }
            Loss::Max => "max_voltage_cross_entropy()".into(),
            Loss::Sum => "sum_voltage_cross_entropy()".into(),
            Loss::Exp(None) => "exp_weighted_voltage_cross_entropy()".into(),
            Loss::Exp(Some((a, b))) => format!("exp_weighted_voltage_cross_entropy(window = {a} steps .. {b} steps)"),
        };
        let reg = match &self.reg {
            None => String::new(),
            Some(r) => {
                let names: Vec<&str> = r.pops.iter().map(|&p| self.pops[p].name).collect();
                let pops = if names.len() == 1 { names[0].to_string() } else { format!("({})", names.join(", ")) };
                format!(
                    "    regularizer = spike_count(populations = {pops}, strength = {}, strength_below = {}, target = {})\n",
                    r.up, r.below, r.target
                )
            }
        };
        s += "}\n";
        s += &format!(
            "train {{\n    data = synthetic(features = {features}, classes = {classes}, train = {batch}, validation = 0, test = 0)\n    readout = {}\n    loss = {loss}\n{reg}    batch = {batch}\n    epochs = 1\n}}\n",
            self.pops[self.readout].name
        );
        s
    }
}

/// Weights: `[projection][copy][j * |pre| + i]`.
type Weights<F> = Vec<Vec<Vec<F>>>;

// ---------------------------------------------------------------------------
// Forward (sections 2 and 3).

struct Trace<F> {
    /// `[pop][n][j]`.
    spikes: Vec<Vec<Vec<bool>>>,
    cur: Vec<Vec<Vec<F>>>,
    vt: Vec<Vec<Vec<F>>>,
    v: Vec<Vec<Vec<F>>>,
    /// The smallest |Vt - theta| of any `lif` membrane at any step >= 1,
    /// and where (pop, step, neuron).
    margin: (f64, usize, usize, usize),
}

fn forward_dense<F: Real>(net: &Net, w: &Weights<F>, input: &[u32], round32: bool) -> Trace<F> {
    let t = net.steps;
    let np = net.pops.len();
    let mut spikes: Vec<Vec<Vec<bool>>> = net.pops.iter().map(|p| vec![vec![false; p.size]; t]).collect();
    let mut cur: Vec<Vec<Vec<F>>> = net.pops.iter().map(|p| vec![vec![F::ZERO; p.size]; t]).collect();
    let mut vt = cur.clone();
    let mut v = cur.clone();
    let inp = net.input();
    for (i, &st) in input.iter().enumerate() {
        if st != NO_SPIKE {
            spikes[inp][st as usize][i] = true;
        }
    }
    let consts: Vec<Option<Consts<F>>> =
        (0..np).map(|q| (!matches!(net.pops[q].kind, Kind::Input)).then(|| net.consts(q, round32))).collect();
    let mut margin = (f64::INFINITY, 0, 0, 0);
    for n in 1..t {
        for q in 0..np {
            let Some(c) = &consts[q] else { continue };
            let size = net.pops[q].size;
            let mut acc = vec![F::ZERO; size];
            for (pi, p) in net.projs.iter().enumerate().filter(|(_, p)| p.post == q) {
                let n_pre = net.pops[p.pre].size;
                for (k, &d) in p.delays.iter().enumerate() {
                    if n < 1 + d {
                        continue;
                    }
                    for i in 0..n_pre {
                        if spikes[p.pre][n - 1 - d][i] {
                            for (j, a) in acc.iter_mut().enumerate() {
                                *a = *a + w[pi][k][j * n_pre + i];
                            }
                        }
                    }
                }
            }
            for j in 0..size {
                let i_n = c.alpha * cur[q][n - 1][j] + acc[j];
                let vt_n = c.beta * v[q][n - 1][j] + c.omb * i_n;
                cur[q][n][j] = i_n;
                vt[q][n][j] = vt_n;
                match net.pops[q].kind {
                    Kind::Lif { .. } => {
                        let s = vt_n > c.theta;
                        spikes[q][n][j] = s;
                        v[q][n][j] = if s { F::ZERO } else { vt_n };
                        let m = (vt_n.to64() - c.theta.to64()).abs();
                        if m < margin.0 {
                            margin = (m, q, n, j);
                        }
                    }
                    _ => v[q][n][j] = vt_n,
                }
            }
        }
    }
    Trace { spikes, cur, vt, v, margin }
}

// ---------------------------------------------------------------------------
// Losses (sections 5 and 6).

fn first_spike_steps(net: &Net, tr: &Trace<impl Real>) -> Vec<usize> {
    let r = net.readout;
    (0..net.pops[r].size).map(|k| (0..net.steps).find(|&n| tr.spikes[r][n][k]).unwrap_or(net.steps)).collect()
}

/// Voltage scores and each class' support (`n*` for the max loss).
fn scores<F: Real>(net: &Net, tr: &Trace<F>, wt: &[Option<F>]) -> (Vec<F>, Vec<Option<usize>>) {
    let r = net.readout;
    let t = net.steps;
    let mut y = Vec::new();
    let mut arg = Vec::new();
    for k in 0..net.pops[r].size {
        let v = |n: usize| tr.v[r][n][k];
        match net.loss {
            Loss::Max => {
                let (mut best, mut at) = (v(1), 1);
                for n in 2..t {
                    if v(n) > best {
                        best = v(n);
                        at = n;
                    }
                }
                y.push(best);
                arg.push(Some(at));
            }
            Loss::Sum => {
                let mut s = F::ZERO;
                for n in 1..t {
                    s = s + v(n);
                }
                y.push(s * wt[1].unwrap());
                arg.push(None);
            }
            Loss::Exp(_) => {
                let mut s = F::ZERO;
                for (n, w) in wt.iter().enumerate() {
                    if let Some(w) = *w {
                        s = s + w * v(n);
                    }
                }
                y.push(s);
                arg.push(None);
            }
            Loss::FirstSpike { .. } => unreachable!(),
        }
    }
    (y, arg)
}

struct SampleOut<F> {
    loss: F,
    /// `[projection][copy][j * |pre| + i]`.
    grad: Weights<F>,
    trace: Trace<F>,
    correct: bool,
    /// The max loss' `n*` per class.
    support: Vec<Option<usize>>,
    /// The smallest |I - Vt| at a spike (the jump's denominator).
    min_den: f64,
}

#[derive(Clone, Copy, PartialEq)]
enum Errors {
    /// The contract.
    All,
    /// The loss' errors set to zero (the regulariser alone).
    NoLoss,
    /// The regulariser left out.
    NoReg,
}

/// One sample: forward, loss, discrete adjoint (section 4.2).
fn sample<F: Real>(
    net: &Net,
    w: &Weights<F>,
    input: &[u32],
    label: usize,
    batch: usize,
    round32: bool,
    errors: Errors,
) -> SampleOut<F> {
    let t = net.steps;
    let np = net.pops.len();
    let tr = forward_dense(net, w, input, round32);
    let r = net.readout;
    let c_r = net.consts::<F>(r, round32);
    let bf = F::of(batch as f64);
    let nk = net.pops[r].size;
    let r32 = |x: f64| if round32 { F::of(f64::from(x as f32)) } else { F::of(x) };

    // Loss, the errors at the readout's first spikes (`e_loss[n][k]`) or the
    // li readout's direct terms `q[k][n]`.
    let mut e_loss = vec![vec![F::ZERO; nk]; t];
    let mut q = vec![vec![None::<F>; t]; nk];
    let wt = net.weights_in_time::<F>(round32);
    let (loss, correct, support);
    match net.loss {
        Loss::FirstSpike { xi, a, b } => {
            let (xi, a, b) = (r32(xi), r32(a), r32(b));
            let ts = first_spike_steps(net, &tr);
            let z: Vec<F> = ts.iter().map(|&tk| -(F::of(tk as f64) / xi)).collect();
            let m = z.iter().fold(z[0], |m, &x| if x > m { x } else { m });
            let mut s = F::ZERO;
            for &zk in &z {
                s = s + (zk - m).exp();
            }
            let tl = F::of(ts[label] as f64);
            loss = (m + s.ln()) - z[label] + a * ((tl / b).exp() - F::of(1.0));
            for k in 0..nk {
                let delta = if k == label { F::of(1.0) } else { F::ZERO };
                let mut g = (delta - (z[k] - m).exp() / s) / xi;
                if k == label {
                    g = g + (a * (tl / b).exp()) / b;
                }
                if ts[k] < t - 1 && errors != Errors::NoLoss {
                    e_loss[ts[k]][k] = g / bf;
                }
            }
            let pred = (0..nk).fold(0, |best, k| if ts[k] < ts[best] { k } else { best });
            correct = pred == label;
            support = vec![None; nk];
        }
        _ => {
            let (y, arg) = scores(net, &tr, &wt);
            let m = y.iter().fold(y[0], |m, &x| if x > m { x } else { m });
            let mut s = F::ZERO;
            for &yk in &y {
                s = s + (yk - m).exp();
            }
            loss = (m + s.ln()) - y[label];
            for k in 0..nk {
                let delta = if k == label { F::of(1.0) } else { F::ZERO };
                let g = (y[k] - m).exp() / s - delta;
                let e = if errors == Errors::NoLoss { F::ZERO } else { g / bf };
                let ke = c_r.kappa * e;
                for n in 1..t {
                    let wn = match (net.loss, arg[k]) {
                        (Loss::Max, Some(at)) => (n == at).then(|| F::of(1.0)),
                        _ => wt[n],
                    };
                    q[k][n] = wn.map(|wn| ke * wn);
                }
            }
            let pred = (0..nk).fold(0, |best, k| if y[k] > y[best] { k } else { best });
            correct = pred == label;
            support = arg;
        }
    }

    // Regulariser: rho_j = f32(s_j / B) * (f32(c_j) - f32(nu)).
    let mut rho: Vec<Option<Vec<F>>> = vec![None; np];
    if let Some(reg) = net.reg.as_ref().filter(|_| errors != Errors::NoReg) {
        for &p in &reg.pops {
            rho[p] = Some(
                (0..net.pops[p].size)
                    .map(|j| {
                        let c = (1..t).filter(|&n| tr.spikes[p][n][j]).count() as f64;
                        let s = if c > reg.target { reg.up } else { reg.below };
                        r32(s / batch as f64) * (F::of(c) - r32(reg.target))
                    })
                    .collect(),
            );
        }
    }

    let consts: Vec<Option<Consts<F>>> =
        (0..np).map(|p| (!matches!(net.pops[p].kind, Kind::Input)).then(|| net.consts(p, round32))).collect();
    let mut lv: Vec<Vec<Vec<F>>> = net.pops.iter().map(|p| vec![vec![F::ZERO; p.size]; t]).collect();
    let mut li = lv.clone();
    // E_p(i, m): `[projection][m][i]`.
    let mut e_proj: Vec<Vec<Vec<F>>> = net.projs.iter().map(|p| vec![vec![F::ZERO; net.pops[p.pre].size]; t]).collect();
    let mut grad: Weights<F> = w.iter().map(|c| c.iter().map(|x| vec![F::ZERO; x.len()]).collect()).collect();
    if matches!(net.pops[r].kind, Kind::Li { .. }) {
        for k in 0..nk {
            lv[r][t - 1][k] = match q[k][t - 1] {
                Some(qk) => c_r.beta * F::ZERO + qk,
                None => c_r.beta * F::ZERO,
            };
        }
    }
    let guard = F::of(1e-10);
    let mut min_den = f64::INFINITY;
    for n in (0..t - 1).rev() {
        // 1. Errors for the layers below.
        for (pi, p) in net.projs.iter().enumerate() {
            if !matches!(net.pops[p.pre].kind, Kind::Lif { .. }) {
                continue;
            }
            let n_pre = net.pops[p.pre].size;
            for (k, &d) in p.delays.iter().enumerate() {
                if n < d {
                    continue;
                }
                let m = n - d;
                for i in 0..n_pre {
                    if tr.spikes[p.pre][m][i] {
                        let mut e = F::ZERO;
                        for j in 0..net.pops[p.post].size {
                            e = e + w[pi][k][j * n_pre + i] * (lv[p.post][n + 1][j] - li[p.post][n + 1][j]);
                        }
                        e_proj[pi][m][i] = e_proj[pi][m][i] + e;
                    }
                }
            }
        }
        // 2. Adjoint recurrences and jumps.
        for p in 0..np {
            let Some(c) = &consts[p] else { continue };
            for j in 0..net.pops[p].size {
                li[p][n][j] = c.alpha * li[p][n + 1][j] + c.oma * lv[p][n + 1][j];
                lv[p][n][j] = match net.pops[p].kind {
                    Kind::Lif { .. } if tr.spikes[p][n + 1][j] => {
                        let mut e_out = F::ZERO;
                        for (pi, _) in net.projs.iter().enumerate().filter(|(_, x)| x.pre == p) {
                            e_out = e_out + e_proj[pi][n + 1][j];
                        }
                        if p == r {
                            e_out = e_out + e_loss[n + 1][j];
                        }
                        let den = tr.cur[p][n + 1][j] - tr.vt[p][n + 1][j];
                        min_den = min_den.min(den.to64().abs());
                        let jump = (c.theta * lv[p][n + 1][j] + e_out) / (den + guard);
                        let x = c.beta * lv[p][n + 1][j] + jump;
                        match &rho[p] {
                            Some(rho) => x - rho[j],
                            None => x,
                        }
                    }
                    Kind::Li { .. } if p == r => match q[j][n] {
                        Some(qn) => c.beta * lv[p][n + 1][j] + qn,
                        None => c.beta * lv[p][n + 1][j],
                    },
                    _ => c.beta * lv[p][n + 1][j],
                };
            }
        }
        // 3. Gradients.
        for (pi, p) in net.projs.iter().enumerate() {
            let c = consts[p.post].as_ref().unwrap();
            let n_pre = net.pops[p.pre].size;
            for (k, &d) in p.delays.iter().enumerate() {
                if n < d {
                    continue;
                }
                for i in 0..n_pre {
                    if tr.spikes[p.pre][n - d][i] {
                        for j in 0..net.pops[p.post].size {
                            let g = &mut grad[pi][k][j * n_pre + i];
                            *g = *g + c.neg_tau_syn * li[p.post][n][j];
                        }
                    }
                }
            }
        }
    }
    SampleOut { loss, grad, trace: tr, correct, support, min_den }
}

struct BatchOut<F> {
    loss_sum: F,
    grad: Weights<F>,
    correct: usize,
    outs: Vec<SampleOut<F>>,
}

/// A batch: the sum of the samples' gradients in sample order (each error
/// already divided by the batch size), and of their losses.
fn batch<F: Real>(net: &Net, w: &Weights<F>, data: &Data, round32: bool, errors: Errors) -> BatchOut<F> {
    let b = data.labels.len();
    let mut grad: Weights<F> = w.iter().map(|c| c.iter().map(|x| vec![F::ZERO; x.len()]).collect()).collect();
    let mut loss_sum = F::ZERO;
    let mut correct = 0;
    let mut outs = Vec::new();
    for s in 0..b {
        let o = sample(net, w, &data.inputs[s], data.labels[s], b, round32, errors);
        loss_sum = loss_sum + o.loss;
        correct += usize::from(o.correct);
        for (gp, op) in grad.iter_mut().zip(&o.grad) {
            for (gc, oc) in gp.iter_mut().zip(op) {
                for (g, x) in gc.iter_mut().zip(oc) {
                    *g = *g + *x;
                }
            }
        }
        outs.push(o);
    }
    BatchOut { loss_sum, grad, correct, outs }
}

// ---------------------------------------------------------------------------
// Inputs and weights (this file's own generator: splitmix64, Box-Muller).

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let u = 1.0 - self.uniform();
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
    fn below(&mut self, n: usize) -> usize {
        (self.uniform() * n as f64) as usize
    }
}

struct Data {
    inputs: Vec<Vec<u32>>,
    labels: Vec<usize>,
}

/// `b` samples: each input neuron spikes once at a random step in
/// `0 .. last` or (one in eight) not at all; the last one, a bias, at step 0.
fn random_data(net: &Net, b: usize, last: usize, rng: &mut Rng) -> Data {
    let n_in = net.pops[net.input()].size;
    let classes = net.pops[net.readout].size;
    let inputs = (0..b)
        .map(|_| {
            (0..n_in)
                .map(|i| match i {
                    _ if i == n_in - 1 => 0,
                    _ if rng.below(8) == 0 => NO_SPIKE,
                    _ => rng.below(last) as u32,
                })
                .collect()
        })
        .collect();
    let labels = (0..b).map(|_| rng.below(classes)).collect();
    Data { inputs, labels }
}

fn random_weights(net: &Net, rng: &mut Rng) -> Weights<f32> {
    net.projs
        .iter()
        .map(|p| {
            let n_pre = net.pops[p.pre].size;
            let k = (n_pre as f64).sqrt();
            p.delays
                .iter()
                .map(|_| {
                    (0..n_pre * net.pops[p.post].size).map(|_| ((p.mean + p.std * rng.normal()) / k) as f32).collect()
                })
                .collect()
        })
        .collect()
}

fn widen(w: &Weights<f32>) -> Weights<f64> {
    w.iter().map(|p| p.iter().map(|c| c.iter().map(|&x| f64::from(x)).collect()).collect()).collect()
}

// ---------------------------------------------------------------------------
// Network builders.

fn input(size: usize) -> Pop {
    Pop { name: "inp", size, kind: Kind::Input, exact: false }
}
fn lif(name: &'static str, size: usize) -> Pop {
    Pop { name, size, kind: Kind::Lif { tau_mem: 20.0, tau_syn: 5.0, theta: 1.0 }, exact: false }
}
fn li(name: &'static str, size: usize) -> Pop {
    Pop { name, size, kind: Kind::Li { tau_mem: 20.0, tau_syn: 5.0 }, exact: false }
}
fn proj(pre: usize, post: usize, delay: usize, mean: f64, std: f64) -> Proj {
    Proj { pre, post, delays: vec![delay], delay_line: false, mean, std }
}
fn line(pre: usize, post: usize, a: usize, b: usize, step: usize, mean: f64, std: f64) -> Proj {
    Proj { pre, post, delays: (a..=b).step_by(step).collect(), delay_line: true, mean, std }
}

// ---------------------------------------------------------------------------
// Item 1: LI readouts against finite differences.

/// The mean loss of the batch in f64 with exact constants, and the max
/// loss' supports (to check that they do not move).
fn mean_loss(net: &Net, w: &Weights<f64>, data: &Data) -> (f64, Vec<Vec<Option<usize>>>) {
    let out = batch(net, w, data, false, Errors::All);
    (out.loss_sum / data.labels.len() as f64, out.outs.iter().map(|o| o.support.clone()).collect())
}

/// Central differences with step `h` on every weight; returns (max
/// relative error over weights with |fd| >= 1e-3 max|fd|, max |g - fd| /
/// max |fd|) and prints them.
fn fd_check(name: &str, net: &Net, seed: u64) -> (f64, f64) {
    let mut rng = Rng(seed);
    let data = random_data(net, 6, net.steps - 3, &mut rng);
    let w = widen(&random_weights(net, &mut rng));
    let out = batch(net, &w, &data, false, Errors::All);
    let (_, base_support) = mean_loss(net, &w, &data);
    let h = 1e-4;
    let (mut max_rel, mut max_abs, mut scale) = (0.0f64, 0.0f64, 0.0f64);
    let mut pairs = Vec::new();
    for p in 0..w.len() {
        for k in 0..w[p].len() {
            for x in 0..w[p][k].len() {
                let mut wp = w.clone();
                wp[p][k][x] += h;
                let (lp, sp) = mean_loss(net, &wp, &data);
                let mut wm = w.clone();
                wm[p][k][x] -= h;
                let (lm, sm) = mean_loss(net, &wm, &data);
                assert_eq!(sp, base_support, "{name}: the max moved under +h at weight ({p},{k},{x})");
                assert_eq!(sm, base_support, "{name}: the max moved under -h at weight ({p},{k},{x})");
                let fd = (lp - lm) / (2.0 * h);
                scale = scale.max(fd.abs());
                pairs.push((out.grad[p][k][x], fd));
            }
        }
    }
    let mut nonzero = 0;
    for &(g, fd) in &pairs {
        max_abs = max_abs.max((g - fd).abs());
        if fd.abs() >= 1e-3 * scale {
            max_rel = max_rel.max((g - fd).abs() / fd.abs());
            nonzero += 1;
        }
    }
    // For the max loss: how far the maximum is from the runner-up, relative.
    // Equal values are ties at 0 before any input has landed: they do not
    // depend on the weights (the support check above would see them move).
    let (mut gap, mut zero_ties) = (f64::INFINITY, 0);
    if net.loss == Loss::Max {
        for o in &out.outs {
            for k in 0..net.pops[net.readout].size {
                let at = o.support[k].unwrap();
                let v = |n: usize| o.trace.v[net.readout][n][k];
                let ties = (1..net.steps).filter(|&n| n != at && v(n) == v(at)).count();
                if ties > 0 {
                    assert_eq!(v(at), 0.0, "{name}: a tie at a non-zero maximum");
                    zero_ties += 1;
                }
                let second = (1..net.steps).filter(|&n| v(n) != v(at)).map(v).fold(f64::NEG_INFINITY, f64::max);
                gap = gap.min(v(at) - second);
            }
        }
    }
    println!(
        "{name}: {} weights ({nonzero} with |fd| >= 1e-3 max), max |fd| {scale:.3e}, max rel err {max_rel:.2e}, \
         max |g - fd| / max |fd| {:.2e}{}",
        pairs.len(),
        max_abs / scale,
        if gap.is_finite() {
            format!(
                ", smallest gap max - runner-up {gap:.2e} ({zero_ties} of the maxima are a tie at 0 before any input)"
            )
        } else {
            String::new()
        }
    );
    assert!(scale > 0.0 && nonzero >= pairs.len() / 2, "{name}: too few non-zero gradients");
    (max_rel, max_abs / scale)
}

fn li_net(loss: Loss, delays: Proj, steps: usize) -> Net {
    Net { steps, pops: vec![input(6), li("out", 3)], projs: vec![delays], readout: 1, loss, reg: None }
}

#[test]
fn li_readout_gradient_equals_finite_differences() {
    li_readout_gradients_against_finite_differences(false);
}

/// The same networks, seeds and data with the readout stepped by the exact
/// integration (`integration = exact`): only `gamma` changes, in the forward
/// and in `kappa`, and the adjoint stays the forward's exact gradient.
#[test]
fn li_readout_gradient_with_the_exact_integration_equals_finite_differences() {
    li_readout_gradients_against_finite_differences(true);
}

fn li_readout_gradients_against_finite_differences(exact: bool) {
    let scheme = if exact { "exact integration, " } else { "" };
    let losses = [
        ("max", Loss::Max),
        ("sum", Loss::Sum),
        ("exp (whole trial)", Loss::Exp(None)),
        ("exp (window 5..22)", Loss::Exp(Some((5, 22)))),
    ];
    let wirings = [
        ("no delay", proj(0, 1, 0, 0.5, 2.0)),
        ("delay 3", proj(0, 1, 3, 0.5, 2.0)),
        ("delay line 0..6 step 3", line(0, 1, 0, 6, 3, 0.5, 2.0)),
    ];
    let mut seed = 100;
    for (ln, loss) in losses {
        for (wn, p) in &wirings {
            seed += 1;
            let mut net = li_net(loss, p.clone(), 30);
            net.pops[1].exact = exact;
            if let Kind::Li { tau_mem, .. } = &mut net.pops[1].kind {
                // A second time constant pair too.
                if seed % 2 == 0 {
                    *tau_mem = 10.0;
                }
            }
            let (rel, abs) = fd_check(&format!("{scheme}{ln}, {wn}"), &net, seed);
            assert!(rel <= 1e-5 && abs <= 1e-5, "{ln}, {wn}: relative error {rel:.2e} / {abs:.2e}");
        }
    }
    // Two projections into the readout (a plain one and a delay line), from
    // one input, and a readout with other time constants.
    let mut net = Net {
        steps: 25,
        pops: vec![input(4), Pop { name: "out", size: 2, kind: Kind::Li { tau_mem: 7.0, tau_syn: 3.0 }, exact }],
        projs: vec![line(0, 1, 1, 5, 2, 0.0, 1.5)],
        readout: 1,
        loss: Loss::Max,
        reg: None,
    };
    for loss in [Loss::Max, Loss::Sum, Loss::Exp(Some((3, 20)))] {
        net.loss = loss;
        let (rel, abs) = fd_check(&format!("{scheme}{loss:?}, tau 7/3 ms, delay line 1..5 step 2"), &net, 7);
        assert!(rel <= 1e-5 && abs <= 1e-5);
    }
}

// ---------------------------------------------------------------------------
// snnc's reference against the dense f64 implementation.

struct Snnc {
    plan: Plan,
}

impl Snnc {
    fn new(net: &Net, batch: usize) -> Snnc {
        let text = net.snn(batch);
        let valid = check_source("dense.snn", &text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        Snnc { plan: Plan::new(&valid).unwrap() }
    }

    /// Weights in the weights file's order: per projection (declaration
    /// order), per copy (ascending delay), `[post][pre]`.
    fn flat(w: &Weights<f32>) -> Vec<Vec<f32>> {
        w.iter().flat_map(|p| p.iter().cloned()).collect()
    }

    fn unflat(net: &Net, g: &[Vec<f32>]) -> Weights<f32> {
        let mut it = g.iter();
        net.projs.iter().map(|p| p.delays.iter().map(|_| it.next().unwrap().clone()).collect()).collect()
    }

    fn encoded(net: &Net, data: &Data) -> Encoded {
        Encoded::from_per_input(
            net.pops[net.input()].size,
            net.steps as u32,
            data.inputs.iter().flatten().copied().collect(),
            data.labels.iter().map(|&l| l as u32).collect(),
        )
    }

    /// snnc's spikes `[layer name][n] -> neurons` for one sample.
    fn spikes(&self, w: &Weights<f32>, input: &[u32]) -> Vec<(String, Vec<Vec<usize>>)> {
        let wt = transpose(&self.plan, &Snnc::flat(w));
        let mut scratch = Scratch::default();
        forward(&self.plan, &wt, input, &mut scratch);
        self.plan
            .layers
            .iter()
            .enumerate()
            .map(|(l, layer)| {
                let per_step = (0..self.plan.steps)
                    .map(|n| {
                        if l < scratch.layers.len() {
                            scratch.layers[l].at(n).map(|k| scratch.layers[l].neuron[k] as usize).collect()
                        } else {
                            Vec::new()
                        }
                    })
                    .collect();
                (layer.name.clone(), per_step)
            })
            .collect()
    }
}

struct Report {
    /// Spikes per population, all samples.
    spikes: Vec<usize>,
    margin: f64,
    min_den: f64,
    /// Per projection: max |snnc - f64| / max |f64|, max |f32 - f64| / max |f64|,
    /// fraction of snnc's values bit-identical to this file's f32 ones.
    per_proj: Vec<(String, f64, f64, f64)>,
}

/// Random data and weights for a comparison.
struct Case {
    data: Data,
    w32: Weights<f32>,
    w64: Weights<f64>,
}

fn case(net: &Net, seed: u64, b: usize) -> Case {
    let mut rng = Rng(seed);
    let data = random_data(net, b, net.steps / 2, &mut rng);
    let w32 = random_weights(net, &mut rng);
    let w64 = widen(&w32);
    Case { data, w32, w64 }
}

/// The margin below which f32 and f64 may legitimately disagree on a spike.
const MARGIN: f64 = 1e-4;

/// `Err` names the first membrane of the f64 forward within [`MARGIN`] of
/// the threshold.
fn near_threshold(net: &Net, c: &Case) -> Result<f64, String> {
    let mut margin = f64::INFINITY;
    for (s, input) in c.data.inputs.iter().enumerate() {
        let (m, p, n, j) = forward_dense(net, &c.w64, input, true).margin;
        if m < MARGIN {
            return Err(format!(
                "sample {s}: the membrane of {}[{j}] at step {n} is {m:.3e} from the threshold",
                net.pops[p].name
            ));
        }
        margin = margin.min(m);
    }
    Ok(margin)
}

/// snnc's spike trains against the f64 ones: the first difference, if any.
fn spike_difference(net: &Net, c: &Case, snnc: &Snnc) -> Option<String> {
    for (s, input) in c.data.inputs.iter().enumerate() {
        let tr = forward_dense(net, &c.w64, input, true);
        for (layer, per_step) in snnc.spikes(&c.w32, input) {
            let p = net.pops.iter().position(|p| p.name == layer).unwrap();
            for (n, got) in per_step.iter().enumerate() {
                let exp: Vec<usize> = (0..net.pops[p].size).filter(|&j| tr.spikes[p][n][j]).collect();
                if got != &exp {
                    return Some(format!("sample {s}, {layer}, step {n}: snnc {got:?}, f64 {exp:?}"));
                }
            }
        }
    }
    None
}

/// The first of the seeds `seed, seed + 1, ...` (at most 20) whose f64
/// forward keeps every `lif` membrane at least [`MARGIN`] from the
/// threshold; every seed it skips is printed with the membrane that was too
/// close and whether snnc's spikes happened to agree anyway.
fn pick_case(name: &str, net: &Net, seed: u64, b: usize, snnc: &Snnc) -> (Case, f64) {
    for s in seed..seed + 20 {
        let c = case(net, s, b);
        match near_threshold(net, &c) {
            Ok(margin) => return (c, margin),
            Err(e) => println!(
                "{name}: seed {s} skipped: {e} (snnc's spikes vs f64: {})",
                spike_difference(net, &c, snnc).unwrap_or_else(|| "identical".into())
            ),
        }
    }
    panic!("{name}: 20 seeds in a row put a membrane within {MARGIN} of the threshold");
}

/// Compares snnc's reference with the dense implementation on `b` random
/// samples and weights from `seed` (or the next seeds, [`pick_case`]):
/// 1. no `lif` membrane of the f64 forward within [`MARGIN`] of the
///    threshold (else f32 and f64 may legitimately disagree on a spike);
/// 2. spike trains identical (snnc's f32 vs f64), every layer, every sample;
/// 3. loss within 1e-5 relative, correct count equal;
/// 4. gradient: `|snnc - f64| <= 4 * max|f32 - f64| + 1e-6 * max|f64|` per
///    projection, where `f32` is this file's own f32 evaluation of the same
///    formulas: the tolerance is four times the rounding error that an f32
///    evaluation of the contract exhibits on this very network and data
///    (plus a floor of 1e-6 of the largest gradient for projections whose
///    f32 error happens to be tiny).
fn compare(name: &str, net: &Net, seed: u64, b: usize) -> Report {
    let snnc = Snnc::new(net, b);
    let (c, margin) = pick_case(name, net, seed, b, &snnc);
    let want = batch(net, &c.w64, &c.data, true, Errors::All);
    let mine32 = batch(net, &c.w32, &c.data, true, Errors::All);
    if let Some(d) = spike_difference(net, &c, &snnc) {
        panic!("{name}: spike trains differ: {d}");
    }
    for (s, o) in want.outs.iter().enumerate() {
        assert_eq!(mine32.outs[s].trace.spikes, o.trace.spikes, "{name}: f32 vs f64 spikes of sample {s}");
    }
    let spikes: Vec<usize> = (0..net.pops.len())
        .map(|p| want.outs.iter().map(|o| o.trace.spikes[p].iter().flatten().filter(|&&x| x).count()).sum())
        .collect();
    let min_den = want.outs.iter().fold(f64::INFINITY, |m, o| m.min(o.min_den));
    let idx: Vec<usize> = (0..b).collect();
    let got = batch_gradient(&snnc.plan, &Snnc::flat(&c.w32), &Snnc::encoded(net, &c.data), &idx);
    let loss = f64::from(got.loss_sum);
    assert!((loss - want.loss_sum).abs() <= 1e-5 * want.loss_sum.abs(), "{name}: loss sum {loss} vs {}", want.loss_sum);
    assert_eq!(got.correct, want.correct, "{name}: correct count");
    let g = Snnc::unflat(net, &got.grad);
    let mut per_proj = Vec::new();
    for (pi, p) in net.projs.iter().enumerate() {
        let pname = format!("{}->{}", net.pops[p.pre].name, net.pops[p.post].name);
        let want_p: Vec<f64> = want.grad[pi].iter().flatten().copied().collect();
        let mine_p: Vec<f64> = mine32.grad[pi].iter().flatten().map(|&x| f64::from(x)).collect();
        let got_p: Vec<f64> = g[pi].iter().flatten().map(|&x| f64::from(x)).collect();
        let scale = want_p.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(scale > 0.0, "{name}: {pname}: the test needs a non-zero gradient");
        let err = |a: &[f64]| a.iter().zip(&want_p).fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
        let (e_snnc, e_mine) = (err(&got_p), err(&mine_p));
        let tol = 4.0 * e_mine + 1e-6 * scale;
        let same = got_p.iter().zip(&mine_p).filter(|(a, b)| (**a as f32).to_bits() == (**b as f32).to_bits()).count();
        for (x, (a, y)) in got_p.iter().zip(&want_p).enumerate() {
            assert!(
                (a - y).abs() <= tol,
                "{name}: {pname}[{x}]: snnc {a} vs f64 {y} (tolerance {tol:.3e}; this file's f32 gives {})",
                mine_p[x]
            );
        }
        per_proj.push((pname.clone(), e_snnc / scale, e_mine / scale, same as f64 / got_p.len() as f64));
        // Stricter than the tolerance: the contract fixes every operation,
        // and this file follows it independently; a difference means one
        // of the two deviates from the written order, or the contract
        // leaves an order open (worth a look either way).
        assert_eq!(same, got_p.len(), "{name}: {pname}: snnc's f32 gradient is not bit-identical to this file's f32");
    }
    println!(
        "{name}: loss sum bits: snnc {:#010x}, this file's f32 {:#010x}",
        got.loss_sum.to_bits(),
        mine32.loss_sum.to_bits()
    );
    let r = Report { spikes, margin, min_den, per_proj };
    let counts: Vec<String> = net.pops.iter().zip(&r.spikes).skip(1).map(|(p, c)| format!("{} {c}", p.name)).collect();
    println!(
        "{name}: {b} samples; spikes {}; smallest |Vt - theta| {:.2e}; smallest |I - Vt| at a spike {:.2e}; loss {:.6}",
        counts.join(", "),
        r.margin,
        r.min_den,
        want.loss_sum / b as f64
    );
    for (p, es, em, same) in &r.per_proj {
        println!(
            "    {p:>10}: max|snnc - f64|/max|f64| {es:.2e}, max|f32 - f64|/max|f64| {em:.2e} (this file's f32), \
             snnc bit-identical to this file's f32: {:.1} %",
            100.0 * same
        );
    }
    r
}

#[test]
fn reference_matches_dense_on_input_to_li_networks() {
    // The finite-difference networks, inputs spiking from step 0 (so that
    // V[1] can be negative and the max loss' scan starts below 0).
    let mut seed = 200;
    for loss in [Loss::Max, Loss::Sum, Loss::Exp(None), Loss::Exp(Some((5, 22)))] {
        for p in [proj(0, 1, 0, -0.5, 2.0), proj(0, 1, 3, 0.5, 2.0), line(0, 1, 0, 6, 3, 0.5, 2.0)] {
            seed += 1;
            let net = li_net(loss, p.clone(), 30);
            compare(&format!("inp->li {loss:?} delays {:?}", p.delays), &net, seed, 8);
            if p.delays == [0] {
                // (No lif layer, so `compare` used this seed.)
                let c = case(&net, seed, 8);
                let (mut below, mut negative_max) = (0, 0);
                for x in &c.data.inputs {
                    let tr = forward_dense(&net, &c.w64, x, true);
                    below += tr.v[1][1].iter().filter(|&&v| v < 0.0).count();
                    negative_max += (0..3).filter(|&k| (1..net.steps).all(|n| tr.v[1][n][k] < 0.0)).count();
                }
                println!(
                    "    (sample, class) pairs with V[1] < 0: {below}, with every V[n] < 0 (a negative maximum): {negative_max}"
                );
                assert!(below > 0);
                if loss == Loss::Max {
                    assert!(negative_max > 0);
                }
            }
        }
    }
}

/// A hidden `lif` layer `h` fed by the input, and a readout.
fn hidden(readout: Pop, loss: Loss) -> Net {
    Net {
        steps: 40,
        pops: vec![input(5), lif("h", 20), readout],
        projs: vec![proj(0, 1, 0, 5.0, 3.0), proj(1, 2, 0, 1.0, 2.5)],
        readout: 2,
        loss,
        reg: None,
    }
}

#[test]
fn reference_matches_dense_on_li_readouts_with_each_loss() {
    for (i, loss) in [Loss::Max, Loss::Sum, Loss::Exp(None), Loss::Exp(Some((6, 31)))].into_iter().enumerate() {
        compare(&format!("5-20lif-3li {loss:?}"), &hidden(li("out", 3), loss), 10 + i as u64, 8);
    }
    // The input straight into the readout as well (a delay line), next to the hidden path.
    let mut net = hidden(li("out", 3), Loss::Exp(Some((4, 36))));
    net.projs.push(line(0, 2, 2, 8, 3, 0.0, 1.0));
    compare("5-20lif-3li + inp->out delay line", &net, 20, 8);
}

#[test]
fn reference_matches_dense_on_a_first_spike_readout() {
    let fs = Loss::FirstSpike { xi: 1.5, a: 1e-2, b: 100.0 };
    let mut net = hidden(lif("out", 3), fs);
    net.projs[1] = proj(1, 2, 0, 4.0, 2.5);
    compare("5-20lif-3lif first spike", &net, 30, 8);
    // With a skip projection with a delay.
    net.projs.push(proj(0, 2, 4, 1.0, 1.0));
    compare("5-20lif-3lif first spike + inp->out delay 4", &net, 31, 8);
}

#[test]
fn reference_matches_dense_on_a_recurrent_layer_with_delay() {
    let mut net = hidden(li("out", 3), Loss::Exp(Some((5, 40))));
    net.projs.push(proj(1, 1, 2, 0.0, 1.5));
    compare("recurrent h->h delay 2, li exp", &net, 40, 8);
    let mut net = hidden(lif("out", 3), Loss::FirstSpike { xi: 1.5, a: 1e-2, b: 100.0 });
    net.projs[1] = proj(1, 2, 1, 4.0, 2.5);
    net.projs.push(proj(1, 1, 0, -0.5, 1.5));
    compare("recurrent h->h delay 0, hidden->out delay 1, first spike", &net, 41, 8);
}

#[test]
fn reference_matches_dense_on_a_cycle_through_two_populations() {
    let net = Net {
        steps: 40,
        pops: vec![input(5), lif("h1", 16), lif("h2", 12), li("out", 3)],
        projs: vec![
            proj(0, 1, 0, 4.0, 3.0),
            proj(1, 2, 1, 2.5, 2.5),
            proj(2, 1, 3, 0.5, 1.5),
            proj(2, 3, 0, 1.0, 2.0),
            proj(1, 3, 2, 0.0, 1.0),
        ],
        readout: 3,
        loss: Loss::Max,
        reg: None,
    };
    compare("cycle h1->h2->h1 (delays 1, 3), li max", &net, 50, 8);
    let mut fs = net.clone();
    fs.pops[3] = lif("out", 3);
    fs.projs[3] = proj(2, 3, 0, 1.5, 2.0);
    fs.projs[4] = proj(1, 3, 2, 0.5, 1.0);
    fs.loss = Loss::FirstSpike { xi: 1.5, a: 1e-2, b: 100.0 };
    compare("cycle h1->h2->h1 (delays 1, 3), first spike", &fs, 51, 8);
}

#[test]
fn reference_matches_dense_on_a_delay_line_input() {
    let mut net = hidden(li("out", 3), Loss::Max);
    net.projs[0] = line(0, 1, 0, 4, 2, 1.5, 2.0);
    compare("inp->h delays 0..4 step 2, li max", &net, 60, 8);
    // A delay line between two lif layers (errors summed over copies) into a first-spike readout.
    let mut net = hidden(lif("out", 3), Loss::FirstSpike { xi: 1.5, a: 1e-2, b: 100.0 });
    net.projs[0] = line(0, 1, 0, 4, 2, 1.5, 2.0);
    net.projs[1] = line(1, 2, 1, 7, 3, 2.5, 2.0);
    compare("inp->h delay line, h->out delays 1..7 step 3, first spike", &net, 61, 8);
}

/// Populations stepped by the exact integration (`integration = exact`,
/// section 2), beside one stepped by the default: a recurrent `lif` layer
/// into an `li` readout, and a first-spike readout.
#[test]
fn reference_matches_dense_with_the_exact_integration() {
    let mut net = hidden(li("out", 3), Loss::Exp(Some((5, 40))));
    net.projs.push(proj(1, 1, 2, 0.0, 1.5));
    net.pops[1].exact = true;
    net.pops[2].exact = true;
    compare("exact integration: recurrent h->h delay 2, li exp", &net, 80, 8);
    let mut net = hidden(lif("out", 3), Loss::FirstSpike { xi: 1.5, a: 1e-2, b: 100.0 });
    net.projs[1] = proj(1, 2, 1, 4.0, 2.5);
    net.pops[1].exact = true;
    compare("exact integration on h only, first spike", &net, 81, 8);
}

#[test]
fn reference_matches_dense_with_the_regularizer() {
    let mut net = hidden(li("out", 3), Loss::Sum);
    net.projs.push(proj(1, 1, 2, 0.0, 1.0));
    net.reg = Some(Reg { pops: vec![1], up: 0.5, below: 0.2, target: 2.0 });
    compare("regularised recurrent h, li sum", &net, 70, 8);
    let mut net = Net {
        steps: 40,
        pops: vec![input(5), lif("h1", 16), lif("h2", 12), lif("out", 3)],
        projs: vec![proj(0, 1, 0, 5.0, 3.0), proj(1, 2, 1, 4.0, 3.0), proj(2, 1, 3, 1.0, 2.0), proj(2, 3, 0, 4.0, 2.0)],
        readout: 3,
        loss: Loss::FirstSpike { xi: 1.5, a: 1e-2, b: 100.0 },
        reg: None,
    };
    net.reg = Some(Reg { pops: vec![1, 2, 3], up: 1e-2, below: 3e-3, target: 1.5 });
    compare("regularised cycle + first-spike readout", &net, 71, 8);
}

// ---------------------------------------------------------------------------
// The regulariser (section 7).

/// `sum_j (s_j / 2) (c_j - nu)^2 / B` over a batch (the f64 forward).
fn reg_loss(net: &Net, w: &Weights<f64>, data: &Data) -> f64 {
    let reg = net.reg.as_ref().unwrap();
    let b = data.labels.len() as f64;
    let mut l = 0.0;
    for input in &data.inputs {
        let tr = forward_dense(net, w, input, true);
        for &p in &reg.pops {
            for j in 0..net.pops[p].size {
                let c = (1..net.steps).filter(|&n| tr.spikes[p][n][j]).count() as f64;
                let s = if c > reg.target { reg.up } else { reg.below };
                l += s / 2.0 * (c - reg.target).powi(2) / b;
            }
        }
    }
    l
}

/// Whether spikes of `from` can reach `to` through projections (so that
/// `from`'s adjoint depends on `to`'s).
fn reaches(net: &Net, from: usize, to: usize) -> bool {
    let mut seen = vec![false; net.pops.len()];
    let mut stack = vec![from];
    while let Some(q) = stack.pop() {
        for p in net.projs.iter().filter(|p| p.pre == q) {
            if p.post == to {
                return true;
            }
            if !seen[p.post] {
                seen[p.post] = true;
                stack.push(p.post);
            }
        }
    }
    false
}

fn regularised_net() -> Net {
    let mut net = hidden(li("out", 3), Loss::Exp(Some((5, 35))));
    net.projs.push(proj(1, 1, 2, 0.0, 1.0));
    net.pops.insert(2, lif("h2", 10));
    // h2 (index 2) between h and the readout (now index 3).
    net.readout = 3;
    net.projs[1] = proj(1, 3, 0, 1.0, 2.5);
    net.projs.push(proj(1, 2, 1, 2.5, 2.0));
    net.projs.push(proj(2, 3, 0, 0.0, 2.0));
    net.reg = Some(Reg { pops: vec![1, 2], up: 0.05, below: 0.02, target: 2.0 });
    net
}

/// With the loss error zeroed, the dense implementation gives the
/// regulariser's gradient alone; snnc's is its gradient with the
/// regulariser minus its gradient without (the backward pass is linear in
/// what it injects, for fixed spike trains). They agree, and swapping
/// `strength` and `strength_below`, or leaving out the division by the batch
/// size, would not.
#[test]
fn regularizer_contribution_is_the_contracts_formula() {
    regularizer_contribution("regulariser, li readout", &regularised_net(), 80);
    // A first-spike readout: its errors stop at the last first spike, the
    // regulariser acts at every later hidden spike too (the contract's "steps
    // after the last spike that carries a non-zero error ... may be skipped"
    // must not skip them).
    let mut net = regularised_net();
    net.pops[3] = lif("out", 3);
    net.projs[1] = proj(1, 3, 0, 4.0, 2.5);
    net.projs[4] = proj(2, 3, 0, 2.0, 2.0);
    net.loss = Loss::FirstSpike { xi: 1.5, a: 1e-2, b: 100.0 };
    regularizer_contribution("regulariser, first-spike readout", &net, 90);
}

fn regularizer_contribution(name: &str, net: &Net, seed: u64) {
    let net = net.clone();
    let b = 8;
    let mut plain = net.clone();
    plain.reg = None;
    let with = Snnc::new(&net, b);
    let without = Snnc::new(&plain, b);
    let (c, margin) = pick_case(name, &net, seed, b, &with);
    assert_eq!(spike_difference(&net, &c, &with), None);
    let idx: Vec<usize> = (0..b).collect();
    let enc = Snnc::encoded(&net, &c.data);
    let g_with = Snnc::unflat(&net, &batch_gradient(&with.plan, &Snnc::flat(&c.w32), &enc, &idx).grad);
    let g_without = Snnc::unflat(&net, &batch_gradient(&without.plan, &Snnc::flat(&c.w32), &enc, &idx).grad);
    let alone = batch(&net, &c.w64, &c.data, true, Errors::NoLoss).grad;
    // Linearity in this implementation: all - no regulariser = regulariser alone.
    let all = batch(&net, &c.w64, &c.data, true, Errors::All).grad;
    let noreg = batch(&net, &c.w64, &c.data, true, Errors::NoReg).grad;
    // The same difference in this file's f32: the size of the cancellation error.
    let all32 = batch(&net, &c.w32, &c.data, true, Errors::All).grad;
    let noreg32 = batch(&net, &c.w32, &c.data, true, Errors::NoReg).grad;
    let variant = |up: f64, below: f64| {
        let mut v = net.clone();
        v.reg = Some(Reg { up, below, ..net.reg.clone().unwrap() });
        batch(&v, &c.w64, &c.data, true, Errors::NoLoss).grad
    };
    let swapped = variant(0.02, 0.05);
    let times_b = variant(0.05 * b as f64, 0.02 * b as f64);
    let (mut above, mut below, mut late) = (0, 0, 0);
    let reg = net.reg.as_ref().unwrap();
    for input in &c.data.inputs {
        let tr = forward_dense(&net, &c.w64, input, true);
        // The last step at which the first-spike loss injects an error.
        let last_error = match net.loss {
            Loss::FirstSpike { .. } => {
                first_spike_steps(&net, &tr).into_iter().filter(|&t| t < net.steps - 1).max().unwrap_or(0)
            }
            _ => net.steps,
        };
        for &p in &reg.pops {
            for j in 0..net.pops[p].size {
                let n = (1..net.steps).filter(|&n| tr.spikes[p][n][j]).count() as f64;
                if n > reg.target {
                    above += 1;
                } else if n > 0.0 {
                    below += 1;
                }
                late += (last_error + 1..net.steps).filter(|&n| tr.spikes[p][n][j]).count();
            }
        }
    }
    println!(
        "{name}: {above} (sample, neuron) pairs above the target, {below} spiking at or below it; \
         {late} regularised spikes after the sample's last loss error; smallest |Vt - theta| {margin:.2e}"
    );
    if matches!(net.loss, Loss::FirstSpike { .. }) {
        assert!(late > 10, "{name}: the test needs regularised spikes after the last loss error");
    }
    assert!(above > 5 && below > 5, "the test needs neurons on both sides of the target");
    for (pi, p) in net.projs.iter().enumerate() {
        let pname = format!("{}->{}", net.pops[p.pre].name, net.pops[p.post].name);
        let f = |x: &Weights<f64>| -> Vec<f64> { x[pi].iter().flatten().copied().collect() };
        let f32v = |x: &Weights<f32>| -> Vec<f64> { x[pi].iter().flatten().map(|&v| f64::from(v)).collect() };
        let want = f(&alone);
        let diff = |a: &[f64], b: &[f64]| -> Vec<f64> { a.iter().zip(b).map(|(x, y)| x - y).collect() };
        let scale = want.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        if !reg.pops.contains(&p.post) && !reg.pops.iter().any(|&q| reaches(&net, p.post, q)) {
            // The post population is not regularised and reaches no
            // regularised one: its adjoint does not see the regulariser.
            assert_eq!(scale, 0.0, "{pname}");
            assert!(diff(&f32v(&g_with), &f32v(&g_without)).iter().all(|&x| x == 0.0), "{pname}: snnc");
            println!("    {pname:>8}: its post population reaches no regularised one: contribution exactly 0 in both");
            continue;
        }
        assert!(scale > 0.0, "{pname}: the regulariser moves this projection");
        let err = |a: &[f64]| a.iter().zip(&want).fold(0.0f64, |m, (x, y)| m.max((x - y).abs())) / scale;
        let e_lin = err(&diff(&f(&all), &f(&noreg)));
        let e32 = err(&diff(&f32v(&all32), &f32v(&noreg32)));
        let e_snnc = err(&diff(&f32v(&g_with), &f32v(&g_without)));
        let (e_swap, e_b) = (err(&f(&swapped)), err(&f(&times_b)));
        let tol = 4.0 * e32 + 1e-6;
        println!(
            "    {pname:>8}: max|regulariser alone| {scale:.3e}; relative to it: snnc (with - without) {e_snnc:.2e}, \
             this file's f32 {e32:.2e}, f64 all - no-reg {e_lin:.2e}; strengths swapped {e_swap:.2e}, not divided by B {e_b:.2e}"
        );
        assert!(e_lin <= 1e-9, "{pname}: linearity");
        assert!(e_snnc <= tol, "{pname}: snnc's regulariser contribution differs: {e_snnc:.3e} > {tol:.3e}");
        assert!(e_swap > 10.0 * tol && e_b > 10.0 * tol, "{pname}: the test would not see a wrong formula");
    }
}

/// A step against the regulariser's gradient (snnc's, with - without)
/// moves the spike counts towards the target: `L_reg` decreases.
#[test]
fn regularizer_step_moves_counts_towards_the_target() {
    let net = regularised_net();
    let b = 8;
    let mut plain = net.clone();
    plain.reg = None;
    let with = Snnc::new(&net, b);
    let (c, _) = pick_case("regulariser step", &net, 80, b, &with);
    let idx: Vec<usize> = (0..b).collect();
    let enc = Snnc::encoded(&net, &c.data);
    let g_with = batch_gradient(&with.plan, &Snnc::flat(&c.w32), &enc, &idx).grad;
    let g_without = batch_gradient(&Snnc::new(&plain, b).plan, &Snnc::flat(&c.w32), &enc, &idx).grad;
    let g_reg: Vec<Vec<f64>> = g_with
        .iter()
        .zip(&g_without)
        .map(|(a, b)| a.iter().zip(b).map(|(x, y)| f64::from(*x) - f64::from(*y)).collect())
        .collect();
    let l0 = reg_loss(&net, &c.w64, &c.data);
    let norm = g_reg.iter().flatten().fold(0.0f64, |m, x| m.max(x.abs()));
    let step = |eta: f64| {
        // Largest weight change |eta|.
        let w: Vec<Vec<f32>> = Snnc::flat(&c.w32)
            .iter()
            .zip(&g_reg)
            .map(|(w, g)| w.iter().zip(g).map(|(w, g)| (f64::from(*w) - eta * g / norm) as f32).collect())
            .collect();
        reg_loss(&net, &widen(&Snnc::unflat(&net, &w)), &c.data)
    };
    for eta in [0.01, 0.02, 0.05, 0.1, 0.2] {
        let (down, up) = (step(eta), step(-eta));
        println!(
            "regulariser step: largest weight change {eta}: L_reg {l0:.4} -> {down:.4} against the gradient, {up:.4} along it"
        );
        // A step of 0.01 moves few spikes and can go either way: the
        // regulariser is a heuristic, not the gradient of L_reg.
        if eta >= 0.05 {
            assert!(down < l0 && up > l0, "L_reg does not decrease against the regulariser's gradient");
        }
    }
}

/// The near-threshold detector: these weights put a membrane within 1e-4 of
/// the threshold; the comparison refuses them rather than hiding the case.
#[test]
fn near_threshold_cases_are_detected() {
    let mut net = hidden(li("out", 3), Loss::Max);
    net.projs[0] = line(0, 1, 0, 4, 2, 1.5, 2.0);
    let c = case(&net, 60, 8);
    let e = near_threshold(&net, &c).unwrap_err();
    let snnc = Snnc::new(&net, 8);
    println!("detected: {e}; snnc's spikes vs f64: {:?}", spike_difference(&net, &c, &snnc));
}
