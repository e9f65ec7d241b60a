//! The exact gradient against central differences of the exact forward pass.

use snnc_compiler::network::*;

use super::*;
use crate::data::encode::{NO_SPIKE, encode};
use crate::data::yinyang::generate;
use crate::train::init::init_weights;

fn lif() -> PopulationKind {
    PopulationKind::Lif(LifParams { tau_mem: 20e-3, tau_syn: 5e-3, threshold: 1.0, reset: Reset::Zero })
}

/// 5 -> 6 -> 4 -> 3 with a skip projection input -> output.
fn network() -> ValidNetwork {
    let base = yinyang_network(4);
    let input_kind = base.graph[base.population_by_name("input").unwrap()].kind.clone();
    let mut b = NetworkBuilder::new("tiny", 1e-3, 27);
    let input = b.population("input", 5, input_kind);
    let h1 = b.population("h1", 6, lif());
    let h2 = b.population("h2", 4, lif());
    let out = b.population("output", 3, lif());
    b.dense(input, h1, Init::Normal { mean: 6.0, std: 3.0, scale: InitScale::FanInSqrt });
    b.dense(h1, h2, Init::Normal { mean: 7.0, std: 2.0, scale: InitScale::FanInSqrt });
    b.dense(h2, out, Init::Normal { mean: 9.0, std: 2.8, scale: InitScale::FanInSqrt });
    b.dense(input, out, Init::Normal { mean: 3.0, std: 1.0, scale: InitScale::FanInSqrt });
    let mut train = base.train.clone().unwrap();
    train.readout = out;
    b.train(train);
    b.build()
}

#[test]
fn exact_gradient_is_the_derivative_of_the_exact_loss() {
    let net = network();
    let plan = Plan::new(&net).unwrap();
    let exact = Exact::new(&net, &plan);
    let lc = ExactLoss { xi: 1.5e-3, a: 1e-2, b: 0.1 };
    let src = net.graph[net.population_by_name("input").unwrap()].spike_source().unwrap().clone();
    let data = encode(&generate(12, 42), &src, 5, net.time);
    let mut checked = 0;
    for seed in 0..3 {
        let w: Vec<Vec<f64>> =
            init_weights(&plan, seed).iter().map(|w| w.iter().map(|&x| f64::from(x)).collect()).collect();
        for s in 0..data.len() {
            let inputs: Vec<Option<f64>> =
                data.sample(s).iter().map(|&st| (st != NO_SPIKE).then(|| f64::from(st) * 1e-3)).collect();
            let label = data.labels[s] as usize;
            let got = exact.sample(&w, &inputs, label, lc);
            // Only points where the loss is smooth: every voltage peak clear
            // of the threshold (a spike cannot appear or vanish under h).
            let margin = got.trace.encounters.iter().flatten().flatten().map(|e| e.margin).fold(1.0, f64::min);
            if margin < 1e-3 || got.trace.spikes[plan.readout.as_ref().unwrap().0].iter().all(Vec::is_empty) {
                continue;
            }
            checked += 1;
            let h = 1e-6;
            for p in 0..w.len() {
                for k in 0..w[p].len() {
                    let mut wp = w.clone();
                    wp[p][k] += h;
                    let plus = exact.loss(&wp, &inputs, label, lc);
                    wp[p][k] -= 2.0 * h;
                    let minus = exact.loss(&wp, &inputs, label, lc);
                    let fd = (plus - minus) / (2.0 * h);
                    let g = got.grad[p][k];
                    assert!(
                        (fd - g).abs() <= 1e-6 * g.abs().max(1.0),
                        "seed {seed} sample {s} projection {p} weight {k}: exact {g} vs central difference {fd}"
                    );
                }
            }
        }
    }
    assert!(checked >= 10, "only {checked} samples were checked");
}

#[test]
fn a_delay_shifts_every_spike_of_a_feed_forward_layer() {
    let net = network();
    let plan = Plan::new(&net).unwrap();
    let w: Vec<Vec<f64>> = init_weights(&plan, 0).iter().map(|w| w.iter().map(|&x| f64::from(x)).collect()).collect();
    let inputs = [Some(3e-3), Some(20e-3), Some(10e-3), None, Some(0.0)];
    let a = Exact::new(&net, &plan).spikes(&w, &inputs);
    let b = Exact::new(&net, &plan).with_delay(1e-3).spikes(&w, &inputs);
    // h1 (one projection) moves by exactly one delay, inside the window.
    for (x, y) in a[0].iter().zip(&b[0]) {
        for (s, t) in x.iter().zip(y) {
            assert!((t - s - 1e-3).abs() < 1e-12, "{s} {t}");
        }
    }
}
