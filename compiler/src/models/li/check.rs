//! `li`'s parameters and their checks: `li(size) { tau_mem, tau_syn,
//! integration }`
//! (`docs/language.md`); a threshold or a reset is refused with
//! `snn::check::not_for_li`. Part of the checker ([`crate::check`]),
//! declared in `compiler/src/check/network.rs`, whose shared helpers (size,
//! time constants) it uses.

use super::{integration, size, time_constants};
use crate::check::error::CheckError;
use crate::check::params::{Errors, Shape, sp};
use crate::network::{LiParams, PopulationKind};
use crate::syntax::ast::Call;

// `threshold` and `reset` are accepted here only to be refused with `not_for_li`.
pub(super) const LI: Shape =
    Shape { name: "li", args: &["size"], body: &["tau_mem", "tau_syn", "threshold", "reset", "integration"] };

/// An `li(..)` population named `name`: its size and parameters.
pub(super) fn population(errs: &mut Errors, call: &Call, name: &str) -> (Option<u32>, Option<PopulationKind>) {
    let p = errs.call_params(call, &LI);
    let size = size(errs, p.get("size"), &p, 1);
    let mut ok = true;
    for param in ["threshold", "reset"] {
        if let Some(g) = p.get(param) {
            errs.push(CheckError::NotForLi { name: name.to_string(), param: param.into(), span: sp(g.name_span) });
            ok = false;
        }
    }
    let integration = integration(errs, &p);
    let kind = time_constants(errs, &p).filter(|_| ok);
    let kind = kind.zip(integration);
    (size, kind.map(|((tau_mem, tau_syn), integration)| PopulationKind::Li(LiParams { tau_mem, tau_syn, integration })))
}
