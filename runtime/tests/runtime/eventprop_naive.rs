//! The backward pass against a deliberately naive, independent implementation
//! of `docs/contract.md` sections 2, 4 and 5: dense arrays over every step, `f64`,
//! no events. Spikes must be identical and gradients equal within 1e-5 of the
//! projection's largest |gradient|. Also: the 1e-10 guard.

use snnc_compiler::network::*;
use snnc_runtime::data::encode::{Encoded, NO_SPIKE, encode};
use snnc_runtime::data::yinyang::generate;
use snnc_runtime::train::batch::batch_gradient;
use snnc_runtime::train::eventprop::{GUARD, Scratch, forward, transpose};
use snnc_runtime::train::init::init_weights;
use snnc_runtime::train::plan::{Plan, Pre, ReadoutLoss};

/// Naive f64 forward + backward of one sample; returns the loss and the
/// gradient per projection ([post][pre]), errors divided by `batch`.
/// Loss, gradient per projection, spikes `[population][step][neuron]`.
type Naive = (f64, Vec<Vec<f64>>, Vec<Vec<Vec<bool>>>);

fn naive(plan: &Plan, w: &[Vec<f64>], steps_in: &[u32], label: usize, batch: f64) -> Naive {
    let t = plan.steps;
    // s[pop][n][i]: pop 0 = input, pop l+1 = layer l.
    let mut s: Vec<Vec<Vec<bool>>> = vec![vec![vec![false; plan.inputs]; t]];
    for (i, &st) in steps_in.iter().enumerate() {
        if st != NO_SPIKE {
            s[0][st as usize][i] = true;
        }
    }
    let pop = |pre: Pre| match pre {
        Pre::Input => 0,
        Pre::Layer(l) => l + 1,
    };
    let mut cur = Vec::new();
    let mut vts = Vec::new();
    for layer in &plan.layers {
        let n_out = layer.size;
        let alpha = f64::from(layer.consts.alpha);
        let beta = f64::from(layer.consts.beta);
        let mut i_arr = vec![vec![0.0; n_out]; t];
        let mut v = vec![vec![0.0; n_out]; t];
        let mut vt = vec![vec![0.0; n_out]; t];
        let mut sp = vec![vec![false; n_out]; t];
        for n in 1..t {
            for j in 0..n_out {
                let mut input = 0.0;
                for &p in &layer.incoming {
                    let pr = &plan.projections[p];
                    for i in 0..pr.n_pre {
                        if s[pop(pr.pre)][n - 1][i] {
                            input += w[p][j * pr.n_pre + i];
                        }
                    }
                }
                i_arr[n][j] = alpha * i_arr[n - 1][j] + input;
                vt[n][j] = beta * v[n - 1][j] + (1.0 - beta) * i_arr[n][j];
                sp[n][j] = vt[n][j] > f64::from(layer.consts.theta);
                v[n][j] = if sp[n][j] { 0.0 } else { vt[n][j] };
            }
        }
        s.push(sp);
        cur.push(i_arr);
        vts.push(vt);
    }
    // Loss.
    let (r, ReadoutLoss::FirstSpike(lc)) = plan.readout.clone().unwrap() else { panic!("a first-spike readout") };
    let k_out = plan.layers[r].size;
    let first: Vec<usize> = (0..k_out).map(|k| (0..t).find(|&n| s[r + 1][n][k]).unwrap_or(t)).collect();
    let (xi, a, b) = (f64::from(lc.xi), f64::from(lc.a), f64::from(lc.b));
    let z: Vec<f64> = first.iter().map(|&tk| -(tk as f64) / xi).collect();
    let lse = z.iter().map(|x| x.exp()).sum::<f64>().ln();
    let loss = lse - z[label] + a * ((first[label] as f64 / b).exp() - 1.0);
    let sum: f64 = z.iter().map(|x| x.exp()).sum();
    // e_out[layer][n][j]
    let mut e_out: Vec<Vec<Vec<f64>>> = plan.layers.iter().map(|l| vec![vec![0.0; l.size]; t]).collect();
    for k in 0..k_out {
        if first[k] < t - 1 {
            let p = z[k].exp() / sum;
            let mut g = ((if k == label { 1.0 } else { 0.0 }) - p) / xi;
            if k == label {
                g += a / b * (first[label] as f64 / b).exp();
            }
            e_out[r][first[k]][k] = g / batch;
        }
    }
    let mut grads: Vec<Vec<f64>> = plan.projections.iter().map(|p| vec![0.0; p.n_pre * p.n_post]).collect();
    for (l, layer) in plan.layers.iter().enumerate().rev() {
        let n_out = layer.size;
        let alpha = f64::from(layer.consts.alpha);
        let beta = f64::from(layer.consts.beta);
        let tau_syn = -f64::from(layer.consts.neg_tau_syn);
        let mut lv = vec![vec![0.0; n_out]; t];
        let mut li = vec![vec![0.0; n_out]; t];
        for n in (0..t - 1).rev() {
            for &p in &layer.incoming {
                let pr = &plan.projections[p];
                if let Pre::Layer(k) = pr.pre {
                    for i in 0..pr.n_pre {
                        let mut e = 0.0;
                        for j in 0..n_out {
                            e += w[p][j * pr.n_pre + i] * (lv[n + 1][j] - li[n + 1][j]);
                        }
                        e_out[k][n][i] += e;
                    }
                }
            }
            for j in 0..n_out {
                li[n][j] = alpha * li[n + 1][j] + (1.0 - alpha) * lv[n + 1][j];
                let jump = if s[l + 1][n + 1][j] {
                    (f64::from(layer.consts.theta) * lv[n + 1][j] + e_out[l][n + 1][j])
                        / (cur[l][n + 1][j] - vts[l][n + 1][j] + 1e-10)
                } else {
                    0.0
                };
                lv[n][j] = beta * lv[n + 1][j] + jump;
            }
            for &p in &layer.incoming {
                let pr = &plan.projections[p];
                for i in 0..pr.n_pre {
                    if s[pop(pr.pre)][n][i] {
                        for j in 0..n_out {
                            grads[p][j * pr.n_pre + i] += -tau_syn * li[n][j];
                        }
                    }
                }
            }
        }
    }
    (loss, grads, s)
}

fn lif() -> PopulationKind {
    PopulationKind::Lif(LifParams::default())
}

fn normal(mean: f64, std: f64) -> Init {
    Init::Normal { mean, std, scale: InitScale::FanInSqrt }
}

/// The yinyang network with its layers replaced: `hidden` sizes in a chain,
/// plus optional skip projections `input -> last hidden` and `first hidden -> output`.
fn network(hidden: &[u32], skips: bool, steps: u32) -> ValidNetwork {
    let base = yinyang_network(4);
    let input_kind = base.graph[base.population_by_name("input").unwrap()].kind.clone();
    let mut b = NetworkBuilder::new("t", 1e-3, steps);
    let input = b.population("input", 5, input_kind);
    let mut prev = input;
    let mut hs = Vec::new();
    for (k, &h) in hidden.iter().enumerate() {
        let pop = b.population(&format!("h{k}"), h, lif());
        b.dense(prev, pop, normal(if k == 0 { 3.2 } else { 4.0 }, 3.0));
        hs.push(pop);
        prev = pop;
    }
    let out = b.population("output", 3, lif());
    b.dense(prev, out, normal(5.2, 2.8));
    if skips {
        b.dense(input, *hs.last().unwrap(), normal(2.0, 2.0));
        b.dense(hs[0], out, normal(3.0, 2.0));
    }
    let mut train = base.train.clone().unwrap();
    train.readout = out;
    b.train(train);
    b.build()
}

fn data(net: &ValidNetwork, n: usize) -> Encoded {
    let split = generate(n as u32, 42);
    let src = net.graph[net.population_by_name("input").unwrap()].spike_source().unwrap().clone();
    encode(&split, &src, 5, net.time)
}

fn compare(net: &ValidNetwork, seed: u32) {
    let plan = Plan::new(net).unwrap();
    let w = init_weights(&plan, seed);
    let w64: Vec<Vec<f64>> = w.iter().map(|x| x.iter().map(|&v| f64::from(v)).collect()).collect();
    let enc = data(net, 8);
    let idx: Vec<usize> = (0..8).collect();
    let out = batch_gradient(&plan, &w, &enc, &idx);
    let mut want: Vec<Vec<f64>> = w64.iter().map(|x| vec![0.0; x.len()]).collect();
    let mut want_loss = 0.0;
    let wt = transpose(&plan, &w);
    let mut scratch = Scratch::default();
    for s in 0..8 {
        let (loss, g, spikes) = naive(&plan, &w64, enc.sample(s), enc.labels[s] as usize, 8.0);
        want_loss += loss / 8.0;
        for (acc, x) in want.iter_mut().zip(&g) {
            for (a, b) in acc.iter_mut().zip(x) {
                *a += b;
            }
        }
        forward(&plan, &wt, enc.sample(s), &mut scratch);
        for (l, layer) in scratch.layers.iter().enumerate() {
            for (n, row) in spikes[l + 1].iter().enumerate() {
                let got: Vec<usize> = layer.at(n).map(|k| layer.neuron[k] as usize).collect();
                let exp: Vec<usize> = (0..plan.layers[l].size).filter(|&j| row[j]).collect();
                assert_eq!(got, exp, "sample {s} layer {l} step {n}");
            }
        }
    }
    let loss = f64::from(out.loss_sum) / 8.0;
    assert!(((loss - want_loss) / want_loss).abs() < 1e-5, "loss {loss} vs {want_loss}");
    for (p, proj) in plan.projections.iter().enumerate() {
        let scale = want[p].iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(scale > 0.0, "{}: the test needs a non-zero gradient", proj.name);
        for (k, (&g, &x)) in out.grad[p].iter().zip(&want[p]).enumerate() {
            assert!((f64::from(g) - x).abs() <= 1e-5 * scale, "{}[{k}]: {g} vs {x}", proj.name);
        }
    }
}

#[test]
fn naive_matches_on_the_yinyang_shape() {
    compare(&network(&[16], false, 27), 1);
    compare(&network(&[120], false, 27), 2);
}

#[test]
fn naive_matches_on_a_deep_chain() {
    compare(&network(&[32, 24, 16], false, 40), 3);
}

#[test]
fn naive_matches_on_a_dag_with_skip_projections() {
    compare(&network(&[24, 16], true, 35), 4);
}

/// The reference's `+ 1e-10` guard: in f32 it does not change any denominator
/// whose magnitude is at least 2^-9 (1e-10 is below half an ulp there), and it
/// keeps a zero denominator finite.
#[test]
fn the_guard_is_a_no_op_for_normal_denominators() {
    let net = network(&[120], false, 27);
    let plan = Plan::new(&net).unwrap();
    let w = init_weights(&plan, 1);
    let wt = transpose(&plan, &w);
    let enc = data(&net, 50);
    let mut scratch = Scratch::default();
    let (mut unchanged, mut checked) = (0, 0);
    for s in 0..enc.len() {
        forward(&plan, &wt, enc.sample(s), &mut scratch);
        for layer in &scratch.layers {
            for k in 0..layer.len() {
                let den = layer.i_at[k] - layer.vt_at[k];
                assert!(den > 0.0, "at a spike I > Vt");
                if den.abs() >= 1.0 / 512.0 {
                    checked += 1;
                    unchanged += usize::from(den + GUARD == den);
                }
            }
        }
    }
    assert!(checked > 100);
    assert_eq!(unchanged, checked);
    assert!((1.0f32 / (0.0 + GUARD)).is_finite());
}
