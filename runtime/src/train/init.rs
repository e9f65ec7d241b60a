//! Seeded weight initialisers (the `init = ...` of each projection).
//!
//! Input: a [`Plan`] and a seed. Output: one `[post][pre]` `f32` tensor per
//! projection, in declaration order.
//!
//! One numpy `RandomState(seed)` draws every tensor in declaration order,
//! in numpy's layout: the tensor of a projection is drawn as a `[pre][post]`
//! array (row-major) and stored transposed, so that
//! `RandomState(seed).normal(m / k, s / k, (pre, post)).T.astype(float32)`
//! gives the same weights, the spare normal of the polar method carrying over
//! from one projection to the next. A weight is computed in `f64` and rounded
//! to `f32` once: `Normal`: `normal(mean/k, std/k)`; `Uniform`:
//! `uniform(low/k, high/k)`; `Constant`: `value/k`, with `k` the projection's
//! scale factor of the post population's fan-in. The copies of a delay line
//! are drawn one after another, ascending delay (numpy's `(D, pre, post)`
//! array, each copy transposed). Invariant: a pure function of (plan, seed).

use snnc_compiler::network::Init;

use super::plan::Plan;
use crate::rng::RandomState;

pub fn init_weights(plan: &Plan, seed: u32) -> Vec<Vec<f32>> {
    let mut rng = RandomState::new(seed);
    plan.projections
        .iter()
        .map(|p| {
            // Drawn [pre][post], stored [post][pre].
            let mut w = vec![0f32; p.n_pre * p.n_post];
            for i in 0..p.n_pre {
                for j in 0..p.n_post {
                    w[j * p.n_pre + i] = draw(&mut rng, p.init, p.fan_in);
                }
            }
            w
        })
        .collect()
}

fn draw(rng: &mut RandomState, init: Init, fan_in: u32) -> f32 {
    match init {
        Init::Normal { mean, std, scale } => {
            let k = scale.factor(fan_in);
            rng.normal(mean / k, std / k) as f32
        }
        Init::Uniform { low, high, scale } => {
            let k = scale.factor(fan_in);
            rng.uniform(low / k, high / k) as f32
        }
        Init::Constant { value, scale } => (value / scale.factor(fan_in)) as f32,
    }
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

    #[test]
    #[expect(clippy::excessive_precision, reason = "the values as numpy printed them (f64 repr of the f32 weights)")]
    fn seed_0_gives_numpys_weights() {
        // numpy 2.4.6: rs = RandomState(0)
        //   W0 = rs.normal(3.2/sqrt(5), 3.2/sqrt(5), (5, 120)).T.astype(float32)
        //   W1 = rs.normal(5.2/sqrt(120), 2.8/sqrt(120), (120, 3)).T.astype(float32)
        // W0[:2, :3], W1[2, -2:], and the sums of the f32 bit patterns.
        let plan = Plan::new(&yinyang_network(120)).unwrap();
        let w = init_weights(&plan, 0);
        assert_eq!(w[0][..3], [3.955589771270752f32, 1.9697798490524292, 0.5188578963279724]);
        assert_eq!(w[0][5..8], [2.003741979598999f32, -0.14225083589553833, 0.8625543713569641]);
        assert_eq!(w[1][2 * 120 + 118..], [0.6954118609428406f32, 0.1477343738079071]);
        let bits = |t: &[f32]| t.iter().map(|x| u64::from(x.to_bits())).sum::<u64>();
        assert_eq!((bits(&w[0]), bits(&w[1])), (861005798406, 396301036924));
    }
}
