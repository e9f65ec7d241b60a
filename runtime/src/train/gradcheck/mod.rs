//! The gradient check: discrete EventProp gradients at several `dt` against
//! the exact gradient of the exact continuous-time model ([`Exact`]), per
//! sample, per batch and per seed of the initial weights.
//!
//! Input: a checked network with a `train` block, `[post][pre]` weights (or
//! seeds to draw them from) and encoded samples (spike steps on the network's
//! own grid). Output: a [`Report`]: for each seed, each grid refinement `k`
//! (dt / k, T k steps) and each projection, the cosine similarity and the
//! relative error `|g_disc / u - g_exact| / |g_exact|` of the batch gradient
//! and of every sample's gradient, and what happens near each sample in the
//! exact model (how close its voltage peaks come to the threshold, how close
//! its first output spikes come to the window's end, whether the discrete
//! model spikes as often).
//!
//! The unit `u` ([`Unit`]): the first-spike loss injects its error per step
//! (`dL/dn = dt dL/dt`, the error of a spike time in steps), so the discrete
//! adjoint approximates the continuous one with `lV ≈ (dt/tau_mem) mu_V` and
//! `lI ≈ (dt/tau_syn) mu_I` (`mu` the continuous sensitivities); the
//! contract's gradient multiplies `lI` by `tau_syn` in seconds, so
//! `g_disc ≈ (dt in seconds) * g_cont`, and `u = dt` in seconds. A voltage
//! loss injects `dL/dV[n]`, the reverse-mode derivative of the discrete
//! score, whose limit is the continuous one: `u = 1`.
//!
//! Invariants: input spike times stay on the network's own grid (every
//! refinement represents them exactly); times given in steps (loss
//! constants, the exp-weighted loss' window, delays) are converted to time
//! on the network's grid before refining; results do not depend on the number of
//! threads (samples run in parallel, every sum is taken in sample order).

mod render;
pub mod stats;

pub use render::{GRAZING, markdown, samples_csv, summarize, summary, table};

use rayon::prelude::*;
use snnc_compiler::ValidNetwork;
use snnc_compiler::network::{Integration, LossSpec, TimeGrid, TimeValue};

use super::eventprop::{Scratch, sample_gradient, transpose};
use super::exact::{Exact, ExactLoss, ExactSample, input_times};
use super::init::init_weights;
use super::plan::{Plan, PlanError};
use crate::data::encode::Encoded;

/// Grid refinements of the check: dt, dt/2, dt/4, dt/10, dt/20, dt/50,
/// dt/100 (1, 0.5, 0.25, 0.1, 0.05, 0.02, 0.01 ms for a 1 ms network).
pub const REFINEMENTS: [u32; 7] = [1, 2, 4, 10, 20, 50, 100];

/// The refinement the verdict is taken at (0.05 ms for a 1 ms network).
pub const VERDICT_REFINEMENT: u32 = 20;

/// A layer converges when at least [`SEED_GOAL`] of the seeds reach this
/// cosine at [`VERDICT_REFINEMENT`].
pub const COSINE_GOAL: f64 = 0.99;
pub const SEED_GOAL: f64 = 0.9;

/// Where the check's weights come from.
#[derive(Clone, Debug)]
pub enum Weights {
    /// Given weights (`[post][pre]` per projection).
    Given(Vec<Vec<f32>>),
    /// The network's initialisers with each of these seeds.
    Seeds(Vec<u32>),
}

#[derive(Clone, Debug)]
pub struct Options {
    /// Grid refinements, coarsest first.
    pub refinements: Vec<u32>,
    /// Also report the batch gradient without the samples whose margin
    /// ([`SampleReport::margin`]) is below this.
    pub exclude_grazing: Option<f64>,
    /// Compare each grid with an exact model whose projections delay
    /// spikes by one more `dt` of that grid (the discrete forward's
    /// one-step latency) instead of the exact model without it.
    pub delay_per_step: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options { refinements: REFINEMENTS.to_vec(), exclude_grazing: None, delay_per_step: false }
    }
}

/// What the discrete gradient is divided by before it is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// The grid's `dt` in seconds (the first-spike loss).
    Dt,
    /// 1 (the voltage losses).
    One,
}

impl Unit {
    fn of(loss: ExactLoss) -> Unit {
        match loss {
            ExactLoss::FirstSpike { .. } => Unit::Dt,
            ExactLoss::MaxVoltage | ExactLoss::Integral(_) => Unit::One,
        }
    }

    /// Its value on a grid of step `dt` seconds.
    pub fn value(self, dt: f64) -> f64 {
        match self {
            Unit::Dt => dt,
            Unit::One => 1.0,
        }
    }

    /// `g_disc / u` in words.
    pub fn describe(self) -> &'static str {
        match self {
            Unit::Dt => "discrete gradient / dt (seconds)",
            Unit::One => "discrete gradient (a voltage loss: no dt factor)",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Compare {
    pub cosine: f64,
    /// `|g_disc / u - g_exact| / |g_exact|`.
    pub relative_error: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LayerCheck {
    pub projection: String,
    pub cosine: f64,
    /// `|g_disc / u - g_cont| / |g_cont|`.
    pub relative_error: f64,
    /// The largest share one sample has in `sum_s |e_s|^2`, `e_s` the
    /// sample's error `g_disc / u - g_exact`.
    pub top_share: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GridCheck {
    /// Step in seconds.
    pub dt: f64,
    pub steps: u32,
    pub layers: Vec<LayerCheck>,
}

/// One sample on one grid.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleGrid {
    /// Per projection.
    pub layers: Vec<Compare>,
    /// Neurons whose number of spikes before the readout's last first
    /// spike differs between the discrete and the exact model.
    pub count_changes: usize,
    /// Readout neurons silent in one model and not in the other.
    pub silence_changes: usize,
}

/// One sample: what the exact model says about it and how each grid does.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleReport {
    /// Index into the checked samples.
    pub index: usize,
    pub loss: f64,
    /// The smallest distance (relative to the threshold) between a voltage
    /// peak and the threshold, among the peaks that can change the loss:
    /// spikes and sub-threshold maxima of hidden neurons before the
    /// decision time ([`ExactSample::decision`]), of first-spike readout
    /// neurons up to their first spike. A spike's margin is how far its
    /// voltage would have risen above the threshold
    /// ([`super::exact::Lif::crossing_margin`]).
    pub margin: f64,
    /// The layer (index into the plan's layers) of that peak.
    pub margin_layer: usize,
    /// The smallest margin among spikes whose time the loss depends on
    /// (non-zero adjoint): these make the exact gradient large.
    pub spike_margin: f64,
    /// The smallest margin among sub-threshold peaks that can change the
    /// loss: where the discrete model may spike and the exact one does not.
    pub peak_margin: f64,
    /// Max-voltage loss: the smallest gap between a readout neuron's
    /// highest and next-highest voltage maxima ([`super::exact::Peak::gap`];
    /// infinite otherwise).
    pub peak_gap: f64,
    /// Max-voltage loss: readout neurons whose maximum is a kink where a
    /// spike of a layer arrives ([`ExactSample::moving_kinks`]).
    pub moving_kinks: usize,
    /// The window's end minus the latest readout first spike, seconds
    /// (infinite when the readout is silent or reads voltages).
    pub end_gap: f64,
    /// The smallest time between a spike of a layer and the arrival of
    /// another layer spike at that layer, seconds ([`Exact::order_gap`]):
    /// below about one step, the grid cannot tell their order.
    pub order_gap: f64,
    /// `|g_exact|` per projection.
    pub exact_norm: Vec<f64>,
    /// `|g_disc / u - g_exact|` per grid and projection.
    pub error_norm: Vec<Vec<f64>>,
    pub grids: Vec<SampleGrid>,
}

/// One set of weights.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedReport {
    /// The initialisers' seed (`None` for given weights).
    pub seed: Option<u32>,
    /// The batch gradient (mean over the samples), per grid.
    pub grids: Vec<GridCheck>,
    /// The same without the grazing samples (when asked for), and how many
    /// samples were left out.
    pub non_grazing: Option<(usize, Vec<GridCheck>)>,
    pub samples: Vec<SampleReport>,
    /// The exact gradient (mean over the samples), `[post][pre]` (where it
    /// depends on the grid, with `delay_per_step` or a regulariser beside
    /// the first-spike loss, the coarsest grid's).
    pub exact: Vec<Vec<f64>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    pub network: String,
    pub samples: usize,
    /// The network's own step, seconds.
    pub dt: f64,
    pub refinements: Vec<u32>,
    pub projections: Vec<String>,
    pub layers: Vec<String>,
    pub exclude_grazing: Option<f64>,
    pub delay_per_step: bool,
    /// The populations whose membrane is not stepped by the default scheme,
    /// with theirs (`docs/contract.md` section 2), in declaration order.
    pub integration: Vec<(String, Integration)>,
    pub unit: Unit,
    pub seeds: Vec<SeedReport>,
}

/// The older single-set report: the batch gradient per grid.
#[derive(Clone, Debug, PartialEq)]
pub struct GradcheckReport {
    pub samples: usize,
    pub grids: Vec<GridCheck>,
    /// The continuous gradient (mean over the samples), `[post][pre]`.
    pub continuous: Vec<Vec<f64>>,
}

/// `net` with every time given in steps (loss constants, the exp-weighted
/// loss' window, delays) expressed in seconds on its own grid, so that a
/// finer grid keeps them fixed in time.
pub fn in_time(net: &ValidNetwork) -> ValidNetwork {
    let mut net = net.clone();
    let dt = net.time.dt;
    let secs = |v: TimeValue| TimeValue::Seconds(v.in_seconds(dt));
    for p in net.graph.edge_weights_mut() {
        p.delays = p.delays.iter().map(|&d| secs(d)).collect();
    }
    if let Some(t) = net.train.as_mut() {
        t.loss = match t.loss {
            LossSpec::FirstSpikeCrossEntropy { xi, alpha, beta } => {
                LossSpec::FirstSpikeCrossEntropy { xi: secs(xi), alpha, beta: secs(beta) }
            }
            LossSpec::ExpWeightedVoltageCrossEntropy { window } => {
                LossSpec::ExpWeightedVoltageCrossEntropy { window: window.map(|(a, b)| (secs(a), secs(b))) }
            }
            other => other,
        };
    }
    net
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum GradcheckError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plan(#[from] PlanError),
}

/// Runs the check at `weights` on all samples of `data` with the default
/// options.
pub fn gradcheck(net: &ValidNetwork, weights: &[Vec<f32>], data: &Encoded) -> Result<GradcheckReport, GradcheckError> {
    let r = check(net, &Weights::Given(weights.to_vec()), data, &Options::default(), &|| ())?;
    let s = r.seeds.into_iter().next().expect("one weight set");
    Ok(GradcheckReport { samples: r.samples, grids: s.grids, continuous: s.exact })
}

/// Number of progress steps [`check`] reports: one per sample, grid and seed.
pub fn progress_total(weights: &Weights, samples: usize, options: &Options) -> u64 {
    let sets = match weights {
        Weights::Given(_) => 1,
        Weights::Seeds(s) => s.len(),
    };
    (sets * samples * options.refinements.len()) as u64
}

/// One grid of the check.
struct Grid {
    plan: Plan,
    data: Encoded,
    exact: Option<Exact>,
}

/// Runs the check; `tick` is called once per sample, grid and weight set
/// (from worker threads).
pub fn check(
    net: &ValidNetwork,
    weights: &Weights,
    data: &Encoded,
    options: &Options,
    tick: &(dyn Fn() + Sync),
) -> Result<Report, GradcheckError> {
    let net = in_time(net);
    let base = Plan::new(&net)?;
    let exact = Exact::new(&net, &base);
    let unit = Unit::of(exact.exact_loss());
    let grids: Vec<Grid> = options
        .refinements
        .iter()
        .map(|&k| {
            let grid = TimeGrid { dt: net.time.dt / f64::from(k), steps: net.time.steps * k };
            let plan = Plan::on_grid(&net, grid)?;
            let exact = options.delay_per_step.then(|| Exact::new(&net, &base).with_delay(grid.dt));
            Ok(Grid { plan, data: data.refine(k), exact })
        })
        .collect::<Result<_, PlanError>>()?;
    let sets: Vec<(Option<u32>, Vec<Vec<f32>>)> = match weights {
        Weights::Given(w) => vec![(None, w.clone())],
        Weights::Seeds(s) => s.iter().map(|&seed| (Some(seed), init_weights(&base, seed))).collect(),
    };
    let mut seeds = Vec::new();
    if net.train.is_some() {
        for (seed, w) in sets {
            seeds.push(check_weights(&base, &exact, &grids, unit, &w, data, options, tick, seed));
        }
    }
    Ok(Report {
        network: net.name.clone(),
        samples: data.len(),
        dt: net.time.dt,
        refinements: options.refinements.clone(),
        projections: labels(&base),
        layers: base.layers.iter().map(|l| l.name.clone()).collect(),
        exclude_grazing: options.exclude_grazing,
        delay_per_step: options.delay_per_step,
        integration: net
            .graph
            .node_weights()
            .filter_map(|p| Some((p.name.clone(), p.integration()?)))
            .filter(|(_, i)| *i != Integration::default())
            .collect(),
        unit,
        seeds,
    })
}

/// One sample's gradients: exact (one per grid when the exact model
/// depends on the grid, else one) and discrete divided by the unit, all
/// `[post][pre]`.
struct SampleWork {
    report: SampleReport,
    exact: Vec<Vec<Vec<f64>>>,
    disc: Vec<Vec<Vec<f64>>>,
}

impl SampleWork {
    fn exact(&self, grid: usize, p: usize) -> &Vec<f64> {
        &self.exact[grid.min(self.exact.len() - 1)][p]
    }
}

#[allow(clippy::too_many_arguments)]
fn check_weights(
    base: &Plan,
    exact: &Exact,
    grids: &[Grid],
    unit: Unit,
    weights: &[Vec<f32>],
    data: &Encoded,
    options: &Options,
    tick: &(dyn Fn() + Sync),
    seed: Option<u32>,
) -> SeedReport {
    let w64: Vec<Vec<f64>> = weights.iter().map(|w| w.iter().map(|&x| f64::from(x)).collect()).collect();
    let wt = transpose(base, weights);
    let dt0 = base.grid.dt;
    let work: Vec<SampleWork> = (0..data.len())
        .into_par_iter()
        .map_init(Scratch::default, |scratch, s| {
            let inputs = input_times(data, s, dt0);
            let label = data.labels[s];
            let ex = exact.sample(&w64, &inputs, label as usize);
            let m = relevant_margin(base, &ex);
            // The exact gradient depends on the grid with a delay per step,
            // and with a regulariser beside a loss whose unit is dt.
            let per_grid = options.delay_per_step || (ex.grad_reg.is_some() && unit == Unit::Dt);
            let mut exact_per_grid = Vec::new();
            let mut disc_per_grid = Vec::new();
            let mut sample_grids = Vec::new();
            let mut error_norm = Vec::new();
            for g in grids {
                let delayed = g.exact.as_ref().map(|e| e.sample(&w64, &inputs, label as usize));
                let ex_g = delayed.as_ref().unwrap_or(&ex);
                let u = unit.value(g.plan.grid.dt);
                let exact_g = total(ex_g, u);
                let out = sample_gradient(&g.plan, &wt, g.data.events(s), label, 1, scratch);
                let disc: Vec<Vec<f64>> = g
                    .plan
                    .projections
                    .iter()
                    .zip(&scratch.grad)
                    .map(|(p, t)| {
                        let mut w = vec![0.0; t.len()];
                        for j in 0..p.n_post {
                            for i in 0..p.n_pre {
                                w[j * p.n_pre + i] = f64::from(t[i * p.n_post + j]) / u;
                            }
                        }
                        w
                    })
                    .collect();
                let layers = disc.iter().zip(&exact_g).map(|(d, c)| compare(d, c)).collect();
                error_norm.push(disc.iter().zip(&exact_g).map(|(d, c)| distance(d, c)).collect());
                let (count_changes, silence_changes) =
                    spike_changes(&g.plan, scratch, &out.first, ex_g, exact.regularizer().is_some());
                sample_grids.push(SampleGrid { layers, count_changes, silence_changes });
                disc_per_grid.push(disc);
                if per_grid || exact_per_grid.is_empty() {
                    exact_per_grid.push(exact_g);
                }
                tick();
            }
            let first_max = ex.first.iter().copied().filter(|&t| t < exact.window()).fold(f64::NEG_INFINITY, f64::max);
            let report = SampleReport {
                index: s,
                loss: ex.loss,
                margin: m.all.0,
                margin_layer: m.all.1,
                spike_margin: m.spike,
                peak_margin: m.peak,
                peak_gap: ex.peaks.iter().map(|p| p.gap).fold(f64::INFINITY, f64::min),
                moving_kinks: ex.moving_kinks,
                end_gap: exact.window() - first_max,
                order_gap: exact.order_gap(&ex),
                exact_norm: exact_per_grid[0].iter().map(|g| norm(g)).collect(),
                error_norm,
                grids: sample_grids,
            };
            SampleWork { report, exact: exact_per_grid, disc: disc_per_grid }
        })
        .collect();
    let n = work.len().max(1) as f64;
    let mean_exact: Vec<Vec<f64>> =
        (0..w64.len()).map(|p| mean_of(work.iter().map(|x| &x.exact[0][p]), w64[p].len(), n)).collect();
    let all: Vec<usize> = (0..work.len()).collect();
    let batch = batch_checks(base, grids, &work, &all);
    let non_grazing = options.exclude_grazing.map(|eps| {
        let keep: Vec<usize> = (0..work.len()).filter(|&s| work[s].report.margin >= eps).collect();
        (work.len() - keep.len(), batch_checks(base, grids, &work, &keep))
    });
    SeedReport {
        seed,
        grids: batch,
        non_grazing,
        samples: work.into_iter().map(|w| w.report).collect(),
        exact: mean_exact,
    }
}

/// Each projection's name in the report: a delay line's copies are
/// `pre->post@<delay>ms`.
fn labels(plan: &Plan) -> Vec<String> {
    plan.projections
        .iter()
        .map(|p| {
            if plan.groups[p.group].members.len() > 1 {
                format!("{}@{}ms", p.name, (p.delay as f64 * plan.grid.dt * 1e9).round() / 1e6)
            } else {
                p.name.clone()
            }
        })
        .collect()
}

/// The exact gradient compared with the discrete one divided by `u`: the
/// loss' plus the regulariser's divided by `u`. The contract's regulariser
/// acts on `lambda_V` directly, so its part of the discrete gradient has no
/// `dt` factor even where the loss' has (the first-spike loss).
fn total(ex: &ExactSample, u: f64) -> Vec<Vec<f64>> {
    match &ex.grad_reg {
        None => ex.grad.clone(),
        Some(reg) => ex.grad.iter().zip(reg).map(|(g, r)| g.iter().zip(r).map(|(a, b)| a + b / u).collect()).collect(),
    }
}

/// The batch gradient of the samples `keep` (their mean) per grid.
fn batch_checks(base: &Plan, grids: &[Grid], work: &[SampleWork], keep: &[usize]) -> Vec<GridCheck> {
    let n = keep.len().max(1) as f64;
    let labels = labels(base);
    grids
        .iter()
        .enumerate()
        .map(|(gi, g)| {
            let layers = base
                .projections
                .iter()
                .enumerate()
                .map(|(p, proj)| {
                    let len = proj.n_pre * proj.n_post;
                    let d = mean_of(keep.iter().map(|&s| &work[s].disc[gi][p]), len, n);
                    let c = mean_of(keep.iter().map(|&s| work[s].exact(gi, p)), len, n);
                    let cmp = compare(&d, &c);
                    let errs: Vec<f64> = keep
                        .iter()
                        .map(|&s| {
                            let (d, c) = (&work[s].disc[gi][p], work[s].exact(gi, p));
                            d.iter().zip(c).map(|(a, b)| (a - b) * (a - b)).sum::<f64>()
                        })
                        .collect();
                    let total: f64 = errs.iter().sum();
                    let top = errs.iter().copied().fold(0.0, f64::max);
                    LayerCheck {
                        projection: labels[p].clone(),
                        cosine: cmp.cosine,
                        relative_error: cmp.relative_error,
                        top_share: if total > 0.0 { top / total } else { 0.0 },
                    }
                })
                .collect();
            GridCheck { dt: g.plan.grid.dt, steps: g.plan.grid.steps, layers }
        })
        .collect()
}

fn mean_of<'a>(vs: impl Iterator<Item = &'a Vec<f64>>, len: usize, n: f64) -> Vec<f64> {
    let mut sum = vec![0.0; len];
    for v in vs {
        for (a, b) in sum.iter_mut().zip(v) {
            *a += b;
        }
    }
    sum.iter().map(|x| x / n).collect()
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt()
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}

/// Cosine and relative error of `d` (discrete / dt) against `c` (exact).
/// Two zero gradients agree (cosine 1, error 0); a zero against a non-zero
/// one has cosine 0.
pub fn compare(d: &[f64], c: &[f64]) -> Compare {
    let dot: f64 = d.iter().zip(c).map(|(a, b)| a * b).sum();
    let (nd, nc) = (norm(d), norm(c));
    let diff = d.iter().zip(c).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt();
    match (nd > 0.0, nc > 0.0) {
        (true, true) => Compare { cosine: dot / (nd * nc), relative_error: diff / nc },
        (false, false) => Compare { cosine: 1.0, relative_error: 0.0 },
        (true, false) => Compare { cosine: 0.0, relative_error: f64::INFINITY },
        (false, true) => Compare { cosine: 0.0, relative_error: 1.0 },
    }
}

/// The margins of [`SampleReport`].
struct Margins {
    /// The smallest relevant margin and its layer.
    all: (f64, usize),
    spike: f64,
    peak: f64,
}

fn relevant_margin(plan: &Plan, ex: &ExactSample) -> Margins {
    let r = plan.readout.as_ref().expect("a readout").0;
    let t_dec = ex.decision;
    let mut m = Margins { all: (f64::INFINITY, r), spike: f64::INFINITY, peak: f64::INFINITY };
    for (l, layer) in ex.trace.encounters.iter().enumerate() {
        for (j, enc) in layer.iter().enumerate() {
            let mut spike = 0;
            for e in enc {
                let relevant = if l == r { e.time <= ex.first[j] } else { e.time < t_dec };
                if e.spike {
                    if ex.adjoint[l][j].get(spike).is_some_and(|&a| a != 0.0) {
                        m.spike = m.spike.min(e.margin);
                    }
                    spike += 1;
                } else if relevant {
                    m.peak = m.peak.min(e.margin);
                }
                if relevant && e.margin < m.all.0 {
                    m.all = (e.margin, l);
                }
            }
        }
    }
    m
}

/// Neurons whose spike count before the decision time differs between the
/// discrete forward in `scratch` and the exact trace, and readout neurons
/// silent in one model only (first-spike readouts; `first` is empty for a
/// voltage loss). The decision time of the hidden layers is
/// [`ExactSample::decision`], on the discrete side the discrete readout's
/// last first spike (a first-spike loss without regulariser) or the same
/// time; a first-spike readout's own is its last first spike in each model.
fn spike_changes(plan: &Plan, scratch: &Scratch, first: &[u32], ex: &ExactSample, regularised: bool) -> (usize, usize) {
    let r = plan.readout.as_ref().expect("a readout").0;
    let t = plan.steps;
    let readout_disc = first.iter().copied().max().map(|f| (f as usize).min(t));
    let readout_exact = ex.first.iter().copied().fold(0.0, f64::max);
    let hidden_disc = match readout_disc {
        Some(f) if !regularised => f,
        _ => ((ex.decision / plan.grid.dt).ceil() as usize).min(t),
    };
    let mut changes = 0;
    for (l, layer) in plan.layers.iter().enumerate() {
        let mut counts = vec![0usize; layer.size];
        let sp = &scratch.layers[l];
        let (dec_disc, dec_exact) =
            if l == r { (readout_disc.unwrap_or(0), readout_exact) } else { (hidden_disc, ex.decision) };
        for n in 0..dec_disc.min(t) {
            for s in sp.at(n) {
                counts[sp.neuron[s] as usize] += 1;
            }
        }
        for (j, c) in counts.iter().enumerate() {
            if ex.trace.spikes[l][j].iter().filter(|&&s| s < dec_exact).count() != *c {
                changes += 1;
            }
        }
    }
    let silence = first.iter().zip(&ex.trace.spikes[r]).filter(|(f, s)| (**f as usize >= t) != s.is_empty()).count();
    (changes, silence)
}
