//! The spike-count regulariser `spike_count(populations, strength,
//! strength_below, target)`: its parameters and checks (`docs/language.md`);
//! it names `lif` populations only.
//! Part of the checker ([`crate::check`]), declared in
//! `compiler/src/check/train.rs`, whose shared helpers it uses.

use super::{RegularizerParts, bounded};
use crate::check::error::CheckError;
use crate::check::network::NetworkParts;
use crate::check::params::{Errors, Given, Shape, sp};
use crate::syntax::ast::ValueKind;

pub(crate) const SPIKE_COUNT: Shape =
    Shape { name: "spike_count", args: &["populations", "strength", "strength_below", "target"], body: &[] };

/// `spike_count(populations, strength, strength_below, target)`.
pub(super) fn regularizer(errs: &mut Errors, g: Given, net: &NetworkParts) -> Option<RegularizerParts> {
    let c = errs.call(g, "regularizer", &["spike_count"])?;
    let p = errs.call_params(c, &SPIKE_COUNT);
    let populations = errs
        .require(&p, "populations", "name the regularised layers, e.g. `populations = hidden` or `(h1, h2)`")
        .and_then(|pg| {
            let names: Vec<&crate::syntax::ast::Value> = match &pg.value.kind {
                ValueKind::Tuple(items) => items.iter().collect(),
                _ => vec![pg.value],
            };
            let mut out = Vec::new();
            let mut ok = true;
            for v in names {
                let Some(id) = errs.name(Given { value: v, ..pg }) else {
                    ok = false;
                    continue;
                };
                let Some(i) = net.resolve(errs, id) else {
                    ok = false;
                    continue;
                };
                let pop = &net.pops[i];
                if pop.is_source != Some(false) || pop.li {
                    let kind = if pop.li { "li" } else { "spike_source" };
                    errs.push(CheckError::RegularizerNotLif {
                        name: id.text.clone(),
                        kind: kind.into(),
                        span: sp(id.span),
                    });
                    ok = false;
                    continue;
                }
                if !out.contains(&i) {
                    out.push(i);
                }
            }
            ok.then_some(out)
        });
    let strength =
        errs.require(&p, "strength", "add the strength above the target, e.g. `strength = 5e-11`").and_then(|g| {
            bounded(errs, g, |v| v >= 0.0, "must be >= 0", "the regulariser's strength is a non-negative factor")
        });
    let strength_below = match p.get("strength_below") {
        None => strength,
        Some(g) => {
            bounded(errs, g, |v| v >= 0.0, "must be >= 0", "the regulariser's strength is a non-negative factor")
        }
    };
    let target = errs.require(&p, "target", "add the spike count aimed at, e.g. `target = 14`").and_then(|g| {
        bounded(errs, g, |v| v >= 0.0, "must be >= 0", "the target is a number of spikes per neuron and sample")
    });
    Some(RegularizerParts {
        populations: populations?,
        strength: strength?,
        strength_below: strength_below?,
        target: target?,
    })
}
