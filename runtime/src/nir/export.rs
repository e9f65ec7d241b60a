//! A checked network and its weights as a NIR graph.
//!
//! Input: a [`ValidNetwork`] with one spike source (the trainer's
//! [`Plan`]), its weights (one `[post][pre]` matrix per projection copy, in
//! plan order) and the spec's text. Output: a [`Graph`]: per spike source
//! an `Input`; per `lif` population a `CubaLIF`, per `li` a `CubaLI` (named
//! after the population); per projection copy a `Linear` (`<pre>_to_<post>`,
//! `_<k>` for copy `k` of a delay line), preceded by a `Delay` of
//! `delay * dt` seconds (`..._delay`) when its delay is not zero; an `Output`
//! after every layer without outgoing projections (`<pop>_output`). Recurrent
//! projections are edges back into the `Linear` that feeds the population.
//!
//! Every parameter is one value repeated per neuron (float32): `tau_syn`,
//! `tau_mem`, `r = 1`, `v_leak = 0`, `v_threshold` (a `lif`'s threshold),
//! `v_reset = 0` and `w_in = tau_syn`, with the weights as they are
//! ([`mapping::exported_factors`]: the import's factor is exactly 1). The root graph's metadata holds `generator =
//! snnc` and the spec's text (`snnc_spec`), from which the import takes
//! back what NIR has no place for (time grid, input encoding, initialisers,
//! `train` and `target` blocks).

use std::collections::BTreeSet;

use snnc_compiler::ValidNetwork;
use snnc_compiler::network::PopulationKind;

use super::graph::{Array, Graph, Node, Params};
use super::mapping::exported_factors;
use super::{GENERATOR, NirError, SPEC_KEY};
use crate::train::plan::Plan;

/// The graph of `net` with `weights` (plan order).
pub fn export(net: &ValidNetwork, plan: &Plan, weights: &[Vec<f32>], spec_text: &str) -> Result<Graph, NirError> {
    let fail = |reason: String| NirError::Export {
        network: net.name.clone(),
        reason,
        help: "this is a bug in snnc; please report it".into(),
    };
    if weights.len() != plan.projections.len() {
        return Err(fail(format!("{} weight matrices for {} projections", weights.len(), plan.projections.len())));
    }
    if let Some((k, p)) = plan.projections.iter().enumerate().find(|(k, p)| weights[*k].len() != p.n_post * p.n_pre) {
        return Err(fail(format!(
            "{} weights for a [{}, {}] matrix (projection {k})",
            weights[k].len(),
            p.n_post,
            p.n_pre
        )));
    }
    let mut g = Graph::default();
    let mut taken: BTreeSet<String> = net.populations().map(|(_, p)| p.name.clone()).collect();
    let mut fresh = |base: String| {
        let mut name = base;
        while taken.contains(&name) {
            name.push('_');
        }
        taken.insert(name.clone());
        name
    };

    for (_, p) in net.populations() {
        let n = p.size as usize;
        let each = |v: f32| Array::full(n, f64::from(v));
        let node = match &p.kind {
            PopulationKind::SpikeSource(_) => Node::Input { shape: vec![n] },
            PopulationKind::Lif(l) => {
                let (tau_syn, r, w_in) = exported_factors(l.tau_syn);
                let params: Params = [
                    ("tau_syn", each(tau_syn)),
                    ("tau_mem", each(l.tau_mem as f32)),
                    ("r", each(r)),
                    ("v_leak", each(0.0)),
                    ("v_threshold", each(l.threshold as f32)),
                    ("v_reset", each(0.0)),
                    ("w_in", each(w_in)),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
                Node::Neuron { kind: "CubaLIF".into(), params }
            }
            PopulationKind::Li(l) => {
                let (tau_syn, r, w_in) = exported_factors(l.tau_syn);
                let params: Params = [
                    ("tau_syn", each(tau_syn)),
                    ("tau_mem", each(l.tau_mem as f32)),
                    ("r", each(r)),
                    ("v_leak", each(0.0)),
                    ("w_in", each(w_in)),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
                Node::Neuron { kind: "CubaLI".into(), params }
            }
        };
        g.nodes.insert(p.name.clone(), node);
    }

    for group in &plan.groups {
        let first = &plan.projections[group.members.start];
        let pre = match first.pre {
            crate::train::plan::Pre::Input => plan.input_name.clone(),
            crate::train::plan::Pre::Layer(l) => plan.layers[l].name.clone(),
        };
        let post = plan.layers[first.post].name.clone();
        let copies = group.members.len();
        for k in group.members.clone() {
            let proj = &plan.projections[k];
            let suffix = if copies > 1 { format!("_{}", proj.copy) } else { String::new() };
            let linear = fresh(format!("{pre}_to_{post}{suffix}"));
            let w = &weights[k];
            g.nodes.insert(
                linear.clone(),
                Node::Linear {
                    weight: Array {
                        shape: vec![proj.n_post, proj.n_pre],
                        data: w.iter().map(|&v| f64::from(v)).collect(),
                    },
                },
            );
            if proj.delay > 0 {
                let delay = fresh(format!("{pre}_to_{post}_delay{suffix}"));
                let seconds = (proj.delay as f64 * net.time.dt) as f32;
                g.nodes.insert(delay.clone(), Node::Delay { delay: Array::full(proj.n_pre, f64::from(seconds)) });
                g.edges.push((pre.clone(), delay.clone()));
                g.edges.push((delay, linear.clone()));
            } else {
                g.edges.push((pre.clone(), linear.clone()));
            }
            g.edges.push((linear, post.clone()));
        }
    }
    for layer in &plan.layers {
        if layer.outgoing.is_empty() {
            let out = fresh(format!("{}_output", layer.name));
            g.nodes.insert(out.clone(), Node::Output { shape: vec![layer.size] });
            g.edges.push((layer.name.clone(), out));
        }
    }
    g.metadata.insert(GENERATOR.0.into(), GENERATOR.1.into());
    g.metadata.insert(SPEC_KEY.into(), spec_text.into());
    Ok(g)
}
