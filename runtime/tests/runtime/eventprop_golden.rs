//! Forward and backward against `tests/data/eventprop-golden/golden.json`
//! (an independent f64 implementation of `docs/contract.md` sections 2, 4 and 5):
//! spikes identical, loss within 1e-5 relative, every gradient within 1e-5 of
//! its layer's largest |gradient|.

use serde_json::Value;
use snnc_compiler::network::yinyang_network;
use snnc_runtime::data::{encode::encode, yinyang::generate};
use snnc_runtime::train::batch::batch_gradient;
use snnc_runtime::train::eventprop::{Scratch, forward, transpose};
use snnc_runtime::train::plan::Plan;

fn golden() -> Value {
    let path = format!("{}/../tests/data/eventprop-golden/golden.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn matrix(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().flat_map(|row| row.as_array().unwrap().iter().map(|x| x.as_f64().unwrap())).collect()
}

fn check_case(case: &Value) {
    let sizes: Vec<u64> = case["network"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect();
    let net = yinyang_network(sizes[1] as u32);
    let plan = Plan::new(&net).unwrap();
    let names: Vec<String> = plan.projections.iter().map(|p| p.name.clone()).collect();
    let weights: Vec<Vec<f32>> =
        names.iter().map(|n| matrix(&case["weights"][n]).iter().map(|&x| x as f32).collect()).collect();

    // Inputs: the first four training samples, encoded by our encoder.
    let train = generate(5000, 42).select(&[0, 1, 2, 3]);
    let src = net.graph[net.population_by_name("input").unwrap()].spike_source().unwrap().clone();
    let enc = encode(&train, &src, 5, net.time);
    let labels: Vec<u32> = case["labels"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect();
    assert_eq!(enc.labels, labels);
    for s in 0..4 {
        let want: Vec<u32> =
            case["input_spike_steps"][s].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect();
        assert_eq!(enc.sample(s), &want[..], "input spikes of sample {s}");
    }

    // Spikes, identical.
    let wt = transpose(&plan, &weights);
    let mut scratch = Scratch::default();
    for s in 0..4 {
        forward(&plan, &wt, enc.sample(s), &mut scratch);
        for (l, layer) in scratch.layers.iter().enumerate() {
            let mut got = Vec::new();
            for n in 0..plan.steps {
                for k in layer.at(n) {
                    got.push((n as u64, u64::from(layer.neuron[k])));
                }
            }
            let want: Vec<(u64, u64)> = case["spikes"][s][l]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_u64().unwrap(), p[1].as_u64().unwrap()))
                .collect();
            assert_eq!(got, want, "spikes of sample {s}, layer {l}");
        }
    }

    // Loss and gradients.
    let out = batch_gradient(&plan, &weights, &enc, &[0, 1, 2, 3]);
    let loss = f64::from(out.loss_sum) / 4.0;
    let want_loss = case["loss"].as_f64().unwrap();
    assert!(((loss - want_loss) / want_loss).abs() < 1e-5, "loss {loss} vs {want_loss}");
    for (p, name) in names.iter().enumerate() {
        let want = matrix(&case["grad"][name]);
        let scale = want.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(scale > 0.0, "{name}: golden gradient is not all zero");
        for (k, (&g, &w)) in out.grad[p].iter().zip(&want).enumerate() {
            assert!((f64::from(g) - w).abs() <= 1e-5 * scale, "{name}[{k}]: {g} vs {w} (scale {scale})");
        }
    }
}

#[test]
fn golden_5_16_3() {
    check_case(&golden()["cases"][0]);
}

#[test]
fn golden_5_120_3() {
    check_case(&golden()["cases"][1]);
}
