//! `lif`'s parameters and their checks: `lif(size) { tau_mem, tau_syn,
//! threshold, reset, integration }` (`docs/language.md`). Part of the checker
//! ([`crate::check`]), declared in `compiler/src/check/network.rs`, whose
//! shared helpers (size, time constants) it uses.

use super::{integration, size, time_constants};
use crate::check::params::{Errors, Params, Shape};
use crate::network::{LifParams, PopulationKind, Reset};
use crate::syntax::ast::Call;

pub(crate) const LIF: Shape =
    Shape { name: "lif", args: &["size"], body: &["tau_mem", "tau_syn", "threshold", "reset", "integration"] };

/// A `lif(..)` population: its size and parameters.
pub(super) fn population(errs: &mut Errors, call: &Call) -> (Option<u32>, Option<PopulationKind>) {
    let p = errs.call_params(call, &LIF);
    let size = size(errs, p.get("size"), &p, 1);
    (size, lif(errs, &p).map(PopulationKind::Lif))
}

fn lif(errs: &mut Errors, p: &Params) -> Option<LifParams> {
    let taus = time_constants(errs, p);
    let threshold = p.get("threshold").map_or(Some(LifParams::default().threshold), |g| {
        let v = errs.number(g)?;
        if v <= 0.0 {
            errs.range(g, "must be > 0", "the firing threshold is positive, e.g. `threshold = 1.0`");
            return None;
        }
        Some(v)
    });
    let reset = p.get("reset").map_or(Some(Reset::Zero), |g| errs.word(g, "reset", &["zero"]).map(|_| Reset::Zero));
    let integration = integration(errs, p);
    let (tau_mem, tau_syn) = taus?;
    Some(LifParams { tau_mem, tau_syn, threshold: threshold?, reset: reset?, integration: integration? })
}
