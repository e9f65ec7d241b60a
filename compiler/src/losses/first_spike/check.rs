//! `first_spike_cross_entropy(xi, alpha, beta)`: its parameters, their
//! defaults and checks (`docs/language.md`). The default loss.
//! Part of the checker ([`crate::check`]), declared in
//! `compiler/src/check/train.rs`, whose shared helpers it uses.

use super::bounded;
use crate::check::params::{Errors, Given, Shape};
use crate::network::{LossSpec, TimeValue};
use crate::syntax::ast::Call;

pub(crate) const LOSS: Shape = Shape { name: "first_spike_cross_entropy", args: &["xi", "alpha", "beta"], body: &[] };

/// The loss of a `train` block that names none.
pub fn default_loss() -> LossSpec {
    LossSpec::FirstSpikeCrossEntropy { xi: TimeValue::Steps(1.5), alpha: 1e-2, beta: TimeValue::Steps(100.0) }
}

fn positive_time_value(errs: &mut Errors, g: Given) -> Option<TimeValue> {
    let v = errs.time_value(g, true)?;
    let raw = match v {
        TimeValue::Seconds(s) | TimeValue::Steps(s) => s,
    };
    if raw <= 0.0 {
        errs.range(g, "must be > 0", "the loss divides by this time");
        return None;
    }
    Some(v)
}

/// The loss of a `first_spike_cross_entropy(..)` call.
pub(super) fn loss(errs: &mut Errors, c: &Call) -> Option<LossSpec> {
    let p = errs.call_params(c, &LOSS);
    let LossSpec::FirstSpikeCrossEntropy { xi: dxi, alpha: dalpha, beta: dbeta } = default_loss() else {
        return None;
    };
    let xi = p.get("xi").map_or(Some(dxi), |g| positive_time_value(errs, g));
    let alpha = p.get("alpha").map_or(Some(dalpha), |g| {
        bounded(errs, g, |v| v >= 0.0, "must be >= 0", "alpha weighs the late-spike penalty; 0 turns it off")
    });
    let beta = p.get("beta").map_or(Some(dbeta), |g| positive_time_value(errs, g));
    Some(LossSpec::FirstSpikeCrossEntropy { xi: xi?, alpha: alpha?, beta: beta? })
}
