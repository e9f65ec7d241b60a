//! The exact gradient against central differences of the exact forward pass.

use snnc_compiler::network::*;

use super::*;
use crate::data::encode::{EncodedBuilder, encode};
use crate::data::yinyang::generate;
use crate::train::init::init_weights;

fn lif() -> PopulationKind {
    PopulationKind::Lif(LifParams::default())
}

/// 5 -> 6 -> 4 -> 3 with a skip projection input -> output.
fn network() -> ValidNetwork {
    network_with(lif(), None)
}

/// [`network`] with another readout model and loss.
fn network_with(readout: PopulationKind, loss: Option<LossSpec>) -> ValidNetwork {
    let base = yinyang_network(4);
    let input_kind = base.graph[base.population_by_name("input").unwrap()].kind.clone();
    let mut b = NetworkBuilder::new("tiny", 1e-3, 27);
    let input = b.population("input", 5, input_kind);
    let h1 = b.population("h1", 6, lif());
    let h2 = b.population("h2", 4, lif());
    let out = b.population("output", 3, readout);
    b.dense(input, h1, Init::Normal { mean: 6.0, std: 3.0, scale: InitScale::FanInSqrt });
    b.dense(h1, h2, Init::Normal { mean: 7.0, std: 2.0, scale: InitScale::FanInSqrt });
    b.dense(h2, out, Init::Normal { mean: 9.0, std: 2.8, scale: InitScale::FanInSqrt });
    b.dense(input, out, Init::Normal { mean: 3.0, std: 1.0, scale: InitScale::FanInSqrt });
    let mut train = base.train.clone().unwrap();
    train.readout = out;
    if let Some(loss) = loss {
        train.loss = loss;
    }
    b.train(train);
    b.build()
}

fn li() -> PopulationKind {
    PopulationKind::Li(LiParams::default())
}

/// Every weight's exact gradient against central differences of the exact
/// loss (`h = 1e-6`, agreement to `1e-6` relative) on the samples where the
/// loss is smooth: every voltage peak clear of the threshold, so that no
/// spike appears or vanishes under `h`. Returns the samples checked.
fn matches_central_differences(net: &ValidNetwork, seeds: u32, samples: u32) -> Vec<ExactSample> {
    let src = net.graph[net.population_by_name("input").unwrap()].spike_source().unwrap().clone();
    matches_central_differences_on(net, seeds, &encode(&generate(samples, 42), &src, 5, net.time))
}

/// [`matches_central_differences`] on given input spikes.
fn matches_central_differences_on(net: &ValidNetwork, seeds: u32, data: &Encoded) -> Vec<ExactSample> {
    let plan = Plan::new(net).unwrap();
    let exact = Exact::new(net, &plan);
    let mut checked = Vec::new();
    for seed in 0..seeds {
        let w: Vec<Vec<f64>> =
            init_weights(&plan, seed).iter().map(|w| w.iter().map(|&x| f64::from(x)).collect()).collect();
        for s in 0..data.len() {
            let inputs = input_times(data, s, 1e-3);
            let label = data.labels[s] as usize;
            let got = exact.sample(&w, &inputs, label);
            let margin = got.trace.encounters.iter().flatten().flatten().map(|e| e.margin).fold(1.0, f64::min);
            let r = plan.readout.as_ref().unwrap().0;
            let silent = got.scores.is_empty() && got.trace.spikes[r].iter().all(Vec::is_empty);
            if margin < 1e-3 || silent {
                continue;
            }
            let h = 1e-6;
            for p in 0..w.len() {
                for k in 0..w[p].len() {
                    let mut wp = w.clone();
                    wp[p][k] += h;
                    let plus = exact.loss(&wp, &inputs, label);
                    wp[p][k] -= 2.0 * h;
                    let minus = exact.loss(&wp, &inputs, label);
                    let fd = (plus - minus) / (2.0 * h);
                    let g = got.grad[p][k];
                    assert!(
                        (fd - g).abs() <= 1e-6 * g.abs().max(1.0),
                        "seed {seed} sample {s} projection {p} weight {k}: exact {g} vs central difference {fd}"
                    );
                }
            }
            checked.push(got);
        }
    }
    checked
}

#[test]
fn exact_gradient_is_the_derivative_of_the_exact_loss() {
    let checked = matches_central_differences(&network(), 3, 12).len();
    assert!(checked >= 10, "only {checked} samples were checked");
}

/// Event data: inputs that spike several times (each Yin-Yang latency spike
/// repeated 4 and 9 steps later, inside the window), with a first-spike and
/// a voltage readout. The second and third spikes of an input reach the same
/// weight, so its gradient sums over them.
#[test]
fn exact_gradient_with_several_spikes_per_input_is_the_derivative_of_the_exact_loss() {
    for net in [network(), network_with(li(), Some(LossSpec::SumVoltageCrossEntropy))] {
        let src = net.graph[net.population_by_name("input").unwrap()].spike_source().unwrap().clone();
        let once = encode(&generate(12, 42), &src, 5, net.time);
        let mut b = EncodedBuilder::new(once.inputs, once.time_steps);
        let mut repeats = 0;
        for s in 0..once.len() {
            let mut keys: Vec<u64> = once
                .events(s)
                .iter()
                .flat_map(|(n, i)| [n, n + 4, n + 9].into_iter().filter(|&m| m < once.time_steps).map(move |m| (m, i)))
                .map(|(m, i)| b.key(m, i))
                .collect();
            keys.sort_unstable();
            keys.dedup();
            repeats += keys.len() - once.events(s).len();
            b.push_sample(&keys, once.labels[s]);
        }
        let data = b.finish();
        assert!(repeats > 2 * once.len(), "only {repeats} repeated spikes");
        let checked = matches_central_differences_on(&net, 3, &data);
        assert!(checked.len() >= 8, "{}: only {} samples were checked", net.name, checked.len());
    }
}

/// The voltage losses on an `li` readout: every event's weight and time
/// (hidden spikes move with the weights below) reaches the scores. Inhibitory
/// weights into the readout make maxima at kinks.
#[test]
fn exact_gradient_of_each_voltage_loss_is_the_derivative_of_its_loss() {
    let window = Some((TimeValue::Steps(4.0), TimeValue::Steps(20.0)));
    for loss in [
        LossSpec::MaxVoltageCrossEntropy,
        LossSpec::SumVoltageCrossEntropy,
        LossSpec::ExpWeightedVoltageCrossEntropy { window: None },
        LossSpec::ExpWeightedVoltageCrossEntropy { window },
    ] {
        let mut net = network_with(li(), Some(loss));
        for e in net.graph.edge_indices().collect::<Vec<_>>() {
            let (_, b) = net.graph.edge_endpoints(e).unwrap();
            if net.graph[b].li().is_some() {
                net.graph[e].init = Init::Normal { mean: 0.0, std: 4.0, scale: InitScale::FanInSqrt };
            }
        }
        let checked = matches_central_differences(&net, 3, 12);
        assert!(checked.len() >= 10, "{loss:?}: only {} samples were checked", checked.len());
        if loss == LossSpec::MaxVoltageCrossEntropy {
            // Maxima at kinks where a hidden spike arrives are among them:
            // their time derivative is checked.
            let kinks: usize = checked.iter().map(|s| s.moving_kinks).sum();
            assert!(kinks >= 3, "only {kinks} maxima at a hidden spike's kink");
        }
    }
}

/// Delays in steps and in time, a delay line, and a delayed skip
/// projection, so that the paths into the readout differ in latency.
#[test]
fn exact_gradient_with_delays_is_the_derivative_of_the_exact_loss() {
    let mut net = network();
    let steps = |v: &[f64]| v.iter().map(|&x| TimeValue::Steps(x)).collect::<Vec<_>>();
    let delays = [steps(&[0.0, 2.0, 5.0]), vec![TimeValue::Seconds(3e-3)], steps(&[1.0]), steps(&[4.0])];
    for (e, d) in net.graph.edge_indices().collect::<Vec<_>>().into_iter().zip(delays) {
        net.graph[e].delays = d;
    }
    let plan = Plan::new(&net).unwrap();
    assert_eq!(plan.projections.iter().map(|p| p.delay).collect::<Vec<_>>(), [0, 2, 5, 3, 1, 4]);
    let checked = matches_central_differences(&net, 3, 12);
    assert!(checked.len() >= 10, "only {} samples were checked", checked.len());
    // A delay of the first projection moves the first layer's spikes by
    // exactly that much.
    let plain = network();
    let mut late = network();
    let e = late.graph.edge_indices().next().unwrap();
    late.graph[e].delays = vec![TimeValue::Steps(3.0)];
    let plan = Plan::new(&plain).unwrap();
    let w: Vec<Vec<f64>> = init_weights(&plan, 0).iter().map(|w| w.iter().map(|&x| f64::from(x)).collect()).collect();
    let inputs = [vec![3e-3], vec![20e-3], vec![10e-3], vec![], vec![0.0]];
    let a = Exact::new(&plain, &plan).spikes(&w, &inputs);
    let b = Exact::new(&late, &Plan::new(&late).unwrap()).spikes(&w, &inputs);
    assert!(a[0].iter().any(|x| !x.is_empty()), "h1 spikes");
    for (x, y) in a[0].iter().zip(&b[0]) {
        for (s, t) in x.iter().zip(y) {
            assert!((t - s - 3e-3).abs() < 1e-12, "{s} {t}");
        }
    }
}

/// [`network`] with a recurrent h1 -> h1 and a cycle h1 -> h2 -> h1 (the
/// second with a delay), drawn around 0 so that both signs recur.
fn recurrent_network(std: f64) -> ValidNetwork {
    let mut net = network();
    let (h1, h2) = (net.population_by_name("h1").unwrap(), net.population_by_name("h2").unwrap());
    let init = Init::Normal { mean: 0.0, std, scale: InitScale::FanInSqrt };
    let span = Span::default();
    let dense = |delays| Projection { kind: Connectivity::Dense, init, delays, span };
    net.graph.add_edge(h1, h1, dense(vec![TimeValue::Steps(0.0)]));
    net.graph.add_edge(h2, h1, dense(vec![TimeValue::Seconds(2e-3)]));
    net
}

#[test]
fn exact_gradient_with_recurrence_is_the_derivative_of_the_exact_loss() {
    let net = recurrent_network(4.0);
    let checked = matches_central_differences(&net, 3, 12);
    assert!(checked.len() >= 10, "only {} samples were checked", checked.len());
    // The recurrent layer spikes repeatedly in the checked samples.
    let most = checked.iter().flat_map(|s| &s.trace.spikes[0]).map(Vec::len).max().unwrap();
    println!("{} samples checked, up to {most} spikes per h1 neuron", checked.len());
    assert!(most >= 3, "at most {most} spikes per h1 neuron");
}

/// A recurrent group whose recurrent weights are all 0 spikes as the same
/// layers without those projections: the group's event queue reproduces
/// the neuron-by-neuron simulation.
#[test]
fn a_silent_recurrence_changes_no_spike() {
    let mut net = recurrent_network(1.0);
    for e in net.graph.edge_indices().skip(4).collect::<Vec<_>>() {
        net.graph[e].init = Init::Constant { value: 0.0, scale: InitScale::None };
    }
    let plain = network();
    let (plan, plain_plan) = (Plan::new(&net).unwrap(), Plan::new(&plain).unwrap());
    let w = |plan: &Plan| -> Vec<Vec<f64>> {
        init_weights(plan, 0).iter().map(|w| w.iter().map(|&x| f64::from(x)).collect()).collect()
    };
    let src = net.graph[net.population_by_name("input").unwrap()].spike_source().unwrap().clone();
    let data = encode(&generate(12, 42), &src, 5, net.time);
    let (mut compared, mut spikes) = (0, 0);
    for s in 0..data.len() {
        let inputs = input_times(&data, s, 1e-3);
        // The recurrent weights come last in the plan; the others are drawn alike.
        let mut wr = w(&plan);
        let wp = w(&plain_plan);
        wr[..wp.len()].clone_from_slice(&wp);
        let a = Exact::new(&net, &plan).forward(&wr, &inputs);
        let b = Exact::new(&plain, &plain_plan).forward(&wp, &inputs);
        for (x, y) in a.spikes.iter().flatten().zip(b.spikes.iter().flatten()) {
            assert_eq!(x.len(), y.len(), "sample {s}: {x:?} vs {y:?}");
            for (u, v) in x.iter().zip(y) {
                assert!((u - v).abs() < 1e-12, "sample {s}: {u} vs {v}");
                spikes += 1;
            }
        }
        assert_eq!(a.encounters.iter().flatten().count(), b.encounters.iter().flatten().count());
        compared += 1;
    }
    assert!(compared == 12 && spikes > 100, "{compared} samples, {spikes} spikes");
}

/// The voltage of `lif` neuron `j` of layer `l` at time `t`, from its reset
/// at spike `m - 1` (none for `m = 0`) and the events before `t`, in the
/// forward pass `trace` at `weights`: the quantity whose derivative the
/// regulariser pushes at spike `m`.
fn voltage_before(
    ex: &Exact,
    weights: &[Vec<f64>],
    inputs: &[Vec<f64>],
    trace: &Trace,
    (l, j, m): (usize, usize, usize),
    t: f64,
) -> f64 {
    let Model::Lif(c) = ex.models[l] else { unreachable!() };
    let tp = (m > 0).then(|| trace.spikes[l][j][m - 1]);
    ex.arrivals(l, inputs, &trace.spikes)
        .iter()
        .take_while(|a| a.t < t)
        .map(|a| ex.weight(weights, a, j) * c.psp(t - a.t, tp.filter(|&tp| a.t < tp).map(|tp| t - tp)).phi)
        .sum()
}

/// The regulariser's exact gradient is the derivative of `sum_s rho_j
/// tau_mem V_j(t_s-)`, each spike's voltage taken at its fixed time `t_s`
/// (from the moving previous reset and events), against central differences
/// (`h = 1e-6`, `1e-6` relative) on the samples where no spike appears or
/// vanishes under `h`.
#[test]
fn the_regularizer_gradient_is_the_derivative_of_the_voltage_at_each_spike() {
    let mut net = network();
    let (h1, h2) = (net.population_by_name("h1").unwrap(), net.population_by_name("h2").unwrap());
    net.train.as_mut().unwrap().regularizer =
        Some(SpikeCountRegularizer { populations: vec![h1, h2], strength: 0.5, strength_below: 0.2, target: 1.5 });
    let plan = Plan::new(&net).unwrap();
    let ex = Exact::new(&net, &plan);
    let src = net.graph[net.population_by_name("input").unwrap()].spike_source().unwrap().clone();
    let data = encode(&generate(12, 42), &src, 5, net.time);
    let reg = ex.regularizer().unwrap().clone();
    let mut checked = 0;
    for seed in 0..2 {
        let w: Vec<Vec<f64>> =
            init_weights(&plan, seed).iter().map(|w| w.iter().map(|&x| f64::from(x)).collect()).collect();
        for s in 0..data.len() {
            let inputs = input_times(&data, s, 1e-3);
            let got = ex.sample(&w, &inputs, data.labels[s] as usize);
            let margin = got.trace.encounters.iter().flatten().flatten().map(|e| e.margin).fold(1.0, f64::min);
            let coef = reg.coefficients(&ex.models, &got.trace);
            if margin < 1e-3 || coef.iter().flatten().all(|&c| c == 0.0) {
                continue;
            }
            // At the spikes of the unperturbed pass, the voltage is theta.
            let spikes: Vec<(usize, usize, usize, f64)> = (0..2)
                .flat_map(|l| {
                    got.trace.spikes[l]
                        .iter()
                        .enumerate()
                        .flat_map(move |(j, ts)| ts.iter().enumerate().map(move |(m, &t)| (l, j, m, t)))
                })
                .collect();
            let objective = |w: &[Vec<f64>]| -> f64 {
                let trace = ex.forward(w, &inputs);
                spikes
                    .iter()
                    .map(|&(l, j, m, t)| coef[l][j] * voltage_before(&ex, w, &inputs, &trace, (l, j, m), t))
                    .sum()
            };
            for &(l, j, m, t) in &spikes {
                let v = voltage_before(&ex, &w, &inputs, &got.trace, (l, j, m), t);
                assert!((v - 1.0).abs() < 1e-9, "spike {l} {j} {m}: V = {v}");
            }
            let reg_grad = got.grad_reg.as_ref().unwrap();
            let h = 1e-6;
            for p in 0..w.len() {
                for k in 0..w[p].len() {
                    let mut wp = w.clone();
                    wp[p][k] += h;
                    let plus = objective(&wp);
                    wp[p][k] -= 2.0 * h;
                    let minus = objective(&wp);
                    let fd = (plus - minus) / (2.0 * h);
                    let g = reg_grad[p][k];
                    assert!(
                        (fd - g).abs() <= 1e-6 * g.abs().max(1.0),
                        "seed {seed} sample {s} projection {p} weight {k}: exact {g} vs central difference {fd}"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 8, "only {checked} samples were checked");
}

#[test]
fn a_delay_shifts_every_spike_of_a_feed_forward_layer() {
    let net = network();
    let plan = Plan::new(&net).unwrap();
    let w: Vec<Vec<f64>> = init_weights(&plan, 0).iter().map(|w| w.iter().map(|&x| f64::from(x)).collect()).collect();
    let inputs = [vec![3e-3], vec![20e-3], vec![10e-3], vec![], vec![0.0]];
    let a = Exact::new(&net, &plan).spikes(&w, &inputs);
    let b = Exact::new(&net, &plan).with_delay(1e-3).spikes(&w, &inputs);
    // h1 (one projection) moves by exactly one delay, inside the window.
    for (x, y) in a[0].iter().zip(&b[0]) {
        for (s, t) in x.iter().zip(y) {
            assert!((t - s - 1e-3).abs() < 1e-12, "{s} {t}");
        }
    }
}
