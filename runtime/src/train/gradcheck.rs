//! The gradient check: discrete EventProp gradients at several `dt` against
//! central finite differences of the exact continuous-time model ([`Exact`]).
//!
//! Input: a checked network with a `train` block, `[post][pre]` weights and
//! encoded samples (spike steps on the network's own grid). Output: a
//! [`GradcheckReport`]: for each grid refinement `k` (dt / k, T k steps), per
//! projection, the cosine similarity and the relative error
//! `|g_disc / dt - g_cont| / |g_cont|`.
//!
//! The factor: the discrete adjoint approximates the continuous one with
//! `lV ≈ (dt/tau_mem) mu_V` and `lI ≈ (dt/tau_syn) mu_I` (`mu` the
//! continuous sensitivities), because the error is injected per step
//! (`dL/dn = dt dL/dt`); the contract's gradient multiplies `lI` by `tau_syn`
//! in seconds, so `g_disc ≈ (dt in seconds) * g_cont`. The relative error
//! is reported after dividing by `dt` in seconds.
//!
//! Invariants: input spike times stay on the network's own grid (every
//! refinement represents them exactly); loss constants given in steps are
//! converted to time on the network's grid before refining.

use rayon::prelude::*;
use snnc_compiler::ValidNetwork;
use snnc_compiler::network::{LossSpec, TimeGrid, TimeValue};

use super::batch::batch_gradient;
use super::exact::{Exact, ExactLoss};
use super::plan::{Plan, PlanError};
use crate::data::encode::{Encoded, NO_SPIKE};

/// Grid refinements of the check: dt, dt/2, dt/4, dt/10, dt/20
/// (1, 0.5, 0.25, 0.1, 0.05 ms for a 1 ms network).
pub const REFINEMENTS: [u32; 5] = [1, 2, 4, 10, 20];

/// Central-difference step on each weight.
pub const FD_STEP: f64 = 1e-6;

#[derive(Clone, Debug, PartialEq)]
pub struct LayerCheck {
    pub projection: String,
    pub cosine: f64,
    /// `|g_disc / dt - g_cont| / |g_cont|`, dt in seconds.
    pub relative_error: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GridCheck {
    /// Step in seconds.
    pub dt: f64,
    pub steps: u32,
    pub layers: Vec<LayerCheck>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GradcheckReport {
    pub samples: usize,
    pub grids: Vec<GridCheck>,
    /// The continuous gradient (mean over the samples), `[post][pre]`.
    pub continuous: Vec<Vec<f64>>,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum GradcheckError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plan(#[from] PlanError),
    #[error("the exact continuous-time model of {what} is not yet supported")]
    #[diagnostic(
        code(snn::gradcheck::not_yet_supported),
        help("gradcheck covers feed-forward lif networks without delays and with a first-spike loss")
    )]
    NotYetSupported { what: String },
}

/// `net` with its loss constants expressed in seconds on its own grid.
pub fn loss_in_time(net: &ValidNetwork) -> ValidNetwork {
    let mut net = net.clone();
    let dt = net.time.dt;
    if let Some(t) = net.train.as_mut()
        && let LossSpec::FirstSpikeCrossEntropy { xi, alpha, beta } = t.loss
    {
        t.loss = LossSpec::FirstSpikeCrossEntropy {
            xi: TimeValue::Seconds(xi.in_seconds(dt)),
            alpha,
            beta: TimeValue::Seconds(beta.in_seconds(dt)),
        };
    }
    net
}

/// What the exact model does not cover yet, if `net` has it.
fn unsupported(net: &ValidNetwork) -> Option<String> {
    if let Some(p) = net
        .populations()
        .map(|(_, p)| p)
        .find(|p| p.spike_source().is_some_and(|s| matches!(s.encoding, snnc_compiler::network::Encoding::Events(_))))
    {
        return Some(format!("event data (input `{}` has `encoding = events(..)`)", p.name));
    }
    if let Some(p) = net.populations().map(|(_, p)| p).find(|p| p.li().is_some()) {
        return Some(format!("the leaky-integrator population `{}`", p.name));
    }
    let order = net.topological_order();
    let rank = |n| order.iter().position(|&m| m == n);
    for (e, a, b, proj) in net.projections() {
        if proj.delay_steps(net.time.dt) != [0] {
            return Some(format!("the delays of {}", net.projection_name(e)));
        }
        if rank(a) >= rank(b) {
            return Some(format!("the recurrent projection {}", net.projection_name(e)));
        }
    }
    let t = net.train.as_ref()?;
    if t.regularizer.is_some() {
        return Some("the spike-count regulariser".into());
    }
    t.loss.on_voltage().then(|| format!("the loss `{}`", t.loss.name()))
}

/// Runs the check on `data` (all its samples).
pub fn gradcheck(net: &ValidNetwork, weights: &[Vec<f32>], data: &Encoded) -> Result<GradcheckReport, GradcheckError> {
    if let Some(what) = unsupported(net) {
        return Err(GradcheckError::NotYetSupported { what });
    }
    let net = loss_in_time(net);
    let base = Plan::new(&net)?;
    let exact = Exact::new(&net, &base);
    let Some(train) = &net.train else {
        return Ok(GradcheckReport { samples: 0, grids: Vec::new(), continuous: Vec::new() });
    };
    let LossSpec::FirstSpikeCrossEntropy { xi, alpha, beta } = train.loss else {
        return Err(GradcheckError::NotYetSupported { what: format!("the loss `{}`", train.loss.name()) });
    };
    let lc = ExactLoss { xi: xi.in_seconds(net.time.dt), a: alpha, b: beta.in_seconds(net.time.dt) };
    let inputs: Vec<Vec<Option<f64>>> = (0..data.len())
        .map(|s| data.sample(s).iter().map(|&st| (st != NO_SPIKE).then(|| f64::from(st) * net.time.dt)).collect())
        .collect();
    let w64: Vec<Vec<f64>> = weights.iter().map(|w| w.iter().map(|&x| f64::from(x)).collect()).collect();
    let mean_loss = |w: &[Vec<f64>]| {
        let mut sum = 0.0;
        for (s, inp) in inputs.iter().enumerate() {
            sum += exact.loss(w, inp, data.labels[s] as usize, lc);
        }
        sum / inputs.len() as f64
    };
    let index: Vec<(usize, usize)> =
        w64.iter().enumerate().flat_map(|(p, w)| (0..w.len()).map(move |k| (p, k))).collect();
    let flat: Vec<f64> = index
        .par_iter()
        .map(|&(p, k)| {
            let mut w = w64.clone();
            w[p][k] = w64[p][k] + FD_STEP;
            let plus = mean_loss(&w);
            w[p][k] = w64[p][k] - FD_STEP;
            let minus = mean_loss(&w);
            (plus - minus) / (2.0 * FD_STEP)
        })
        .collect();
    let mut continuous: Vec<Vec<f64>> = w64.iter().map(|w| vec![0.0; w.len()]).collect();
    for (&(p, k), g) in index.iter().zip(flat) {
        continuous[p][k] = g;
    }

    let idx: Vec<usize> = (0..data.len()).collect();
    let mut grids = Vec::new();
    for &k in &REFINEMENTS {
        let grid = TimeGrid { dt: net.time.dt / f64::from(k), steps: net.time.steps * k };
        let plan = Plan::on_grid(&net, grid)?;
        let out = batch_gradient(&plan, weights, &data.refine(k), &idx);
        let layers = plan
            .projections
            .iter()
            .enumerate()
            .map(|(p, proj)| {
                let d: Vec<f64> = out.grad[p].iter().map(|&x| f64::from(x)).collect();
                let c = &continuous[p];
                let dot: f64 = d.iter().zip(c).map(|(a, b)| a * b).sum();
                let nd = d.iter().map(|a| a * a).sum::<f64>().sqrt();
                let nc = c.iter().map(|a| a * a).sum::<f64>().sqrt();
                let diff = d.iter().zip(c).map(|(a, b)| (a / grid.dt - b).powi(2)).sum::<f64>().sqrt();
                LayerCheck {
                    projection: proj.name.clone(),
                    cosine: if nd > 0.0 && nc > 0.0 { dot / (nd * nc) } else { 0.0 },
                    relative_error: if nc > 0.0 { diff / nc } else { f64::INFINITY },
                }
            })
            .collect();
        grids.push(GridCheck { dt: grid.dt, steps: grid.steps, layers });
    }
    Ok(GradcheckReport { samples: data.len(), grids, continuous })
}

/// The report as a plain-text table.
pub fn table(r: &GradcheckReport) -> String {
    let mut s =
        format!("{:>8}  {:>5}  {:<24} {:>9}  {:>10}\n", "dt (ms)", "steps", "projection", "cosine", "rel. error");
    for g in &r.grids {
        for l in &g.layers {
            s += &format!(
                "{:>8}  {:>5}  {:<24} {:>9.5}  {:>10.4}\n",
                format!("{}", (g.dt * 1e3 * 1e6).round() / 1e6),
                g.steps,
                l.projection,
                l.cosine,
                l.relative_error
            );
        }
    }
    s
}
