//! The gradient check on three network shapes: at dt = 0.05 ms the discrete
//! EventProp gradient points the same way as the finite-difference gradient
//! of the exact continuous-time model (cosine > 0.99 per projection), and its
//! size is about dt (seconds) times the continuous one (the relative error
//! after dividing by dt shrinks as dt does).

use snnc_compiler::network::*;
use snnc_runtime::data::encode::encode;
use snnc_runtime::data::yinyang::generate;
use snnc_runtime::train::gradcheck::{gradcheck, table};
use snnc_runtime::train::init::init_weights;
use snnc_runtime::train::plan::Plan;

fn lif() -> PopulationKind {
    PopulationKind::Lif(LifParams { tau_mem: 20e-3, tau_syn: 5e-3, threshold: 1.0, reset: Reset::Zero })
}

fn network(hidden: &[u32], skip: bool) -> ValidNetwork {
    let base = yinyang_network(4);
    let input_kind = base.graph[base.population_by_name("input").unwrap()].kind.clone();
    let mut b = NetworkBuilder::new("g", 1e-3, 27);
    let input = b.population("input", 5, input_kind);
    let mut prev = input;
    for (k, &h) in hidden.iter().enumerate() {
        let pop = b.population(&format!("h{k}"), h, lif());
        let (m, s) = if k == 0 { (3.2, 3.2) } else { (4.0, 2.0) };
        b.dense(prev, pop, Init::Normal { mean: m, std: s, scale: InitScale::FanInSqrt });
        prev = pop;
    }
    let out = b.population("output", 3, lif());
    b.dense(prev, out, Init::Normal { mean: 5.2, std: 2.8, scale: InitScale::FanInSqrt });
    if skip {
        b.dense(input, out, Init::Normal { mean: 2.0, std: 1.0, scale: InitScale::FanInSqrt });
    }
    let mut train = base.train.clone().unwrap();
    train.readout = out;
    b.train(train);
    b.build()
}

fn check(net: &ValidNetwork, seed: u64) {
    let plan = Plan::new(net).unwrap();
    let w = init_weights(&plan, seed);
    let split = generate(8, 42);
    let src = net.graph[net.population_by_name("input").unwrap()].spike_source().unwrap().clone();
    let data = encode(&split, &src, 5, net.time);
    let report = gradcheck(net, &w, &data).unwrap();
    let text = table(&report);
    let finest = report.grids.last().unwrap();
    assert!((finest.dt - 0.05e-3).abs() < 1e-12);
    let coarsest = report.grids.first().unwrap();
    for (l, c) in finest.layers.iter().zip(&coarsest.layers) {
        assert!(l.cosine > 0.99, "{}: cosine {} at dt = 0.05 ms\n{text}", l.projection, l.cosine);
        assert!(
            l.relative_error < c.relative_error && l.relative_error < 0.5,
            "{}: relative error {} after the dt factor (dt = 1 ms: {})\n{text}",
            l.projection,
            l.relative_error,
            c.relative_error
        );
    }
}

#[test]
fn gradcheck_5_16_3() {
    check(&network(&[16], false), 1);
}

#[test]
fn gradcheck_5_12_8_3() {
    check(&network(&[12, 8], false), 2);
}

#[test]
fn gradcheck_with_a_skip_projection() {
    check(&network(&[10], true), 3);
}
