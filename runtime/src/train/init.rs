//! Seeded weight initialisers (the `init = ...` of each projection).
//!
//! Input: a [`Plan`] and a seed. Output: one `[post][pre]` `f32` tensor per
//! projection, in declaration order.
//!
//! One [`Rng`] (stream `INIT`) draws every tensor in declaration order,
//! row-major; a weight is computed in `f64` and rounded to `f32` once:
//! `Normal`: `mean/k + (std/k) * z`; `Uniform`: `low/k + ((high-low)/k) * u`;
//! `Constant`: `value/k`, with `k` the projection's scale factor of the
//! post population's fan-in. Invariant: a pure function of (plan, seed).

use snnc_compiler::network::Init;

use super::plan::Plan;
use crate::rng::{Rng, stream};

pub fn init_weights(plan: &Plan, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Rng::new(seed, stream::INIT);
    plan.projections
        .iter()
        .map(|p| {
            let n = p.n_pre * p.n_post;
            match p.init {
                Init::Normal { mean, std, scale } => {
                    let k = scale.factor(p.fan_in);
                    (0..n).map(|_| (mean / k + (std / k) * rng.normal()) as f32).collect()
                }
                Init::Uniform { low, high, scale } => {
                    let k = scale.factor(p.fan_in);
                    (0..n).map(|_| (low / k + ((high - low) / k) * rng.next_f64()) as f32).collect()
                }
                Init::Constant { value, scale } => vec![(value / scale.factor(p.fan_in)) as f32; n],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use snnc_compiler::network::yinyang_network;

    #[test]
    fn normal_init_has_the_spec_moments_and_replays() {
        let plan = Plan::new(&yinyang_network(120)).unwrap();
        let w = init_weights(&plan, 5);
        assert_eq!(w, init_weights(&plan, 5));
        assert_ne!(w, init_weights(&plan, 6));
        // hidden->output: Normal(5.2, 2.8) / sqrt(120).
        let h = &w[1];
        let mean = h.iter().map(|&x| f64::from(x)).sum::<f64>() / h.len() as f64;
        assert!((mean - 5.2 / 120f64.sqrt()).abs() < 0.05, "mean {mean}");
        assert_eq!(w[0].len(), 600);
    }
}
