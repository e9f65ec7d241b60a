//! `exp_weighted_voltage_cross_entropy(window)`: the readout window, two
//! times on the grid (`docs/language.md`).
//! Part of the checker ([`crate::check`]), declared in
//! `compiler/src/check/train.rs`, whose shared helpers it uses.

use crate::check::error::CheckError;
use crate::check::network::{NetworkParts, whole_steps};
use crate::check::params::{Errors, Given, Shape, sp};
use crate::network::{LossSpec, TimeValue};
use crate::syntax::ast::{Call, ValueKind};

pub(crate) const EXP_VOLTAGE: Shape =
    Shape { name: "exp_weighted_voltage_cross_entropy", args: &["window"], body: &[] };

/// The loss of an `exp_weighted_voltage_cross_entropy(..)` call.
pub(super) fn loss(errs: &mut Errors, c: &Call, net: &NetworkParts) -> Option<LossSpec> {
    let p = errs.call_params(c, &EXP_VOLTAGE);
    let window = match p.get("window") {
        None => None,
        Some(w) => Some(window(errs, w, net)?),
    };
    Some(LossSpec::ExpWeightedVoltageCrossEntropy { window })
}

/// `window = A .. B`: two times on the grid, `0 <= A < B <= T dt`.
fn window(errs: &mut Errors, g: Given, net: &NetworkParts) -> Option<(TimeValue, TimeValue)> {
    let ValueKind::Range { start, end, step } = &g.value.kind else {
        errs.push(CheckError::TypeMismatch {
            name: g.name.to_string(),
            expected: "a time range `A .. B`".into(),
            found: crate::check::params::describe(g.value),
            span: sp(g.value.span),
            help: "write the readout window as e.g. `window = 0 ms .. 1000 ms`".into(),
        });
        return None;
    };
    if let Some(step) = step {
        errs.push(CheckError::UnexpectedArgument {
            message: "a readout window has no `step`".into(),
            span: sp(step.span),
            help: "write the window as `A .. B`".into(),
        });
        return None;
    }
    let a = errs.time_value(Given { value: start, ..g }, false);
    let b = errs.time_value(Given { value: end, ..g }, false);
    let (a, b) = (a?, b?);
    let Some(grid) = net.grid else { return Some((a, b)) };
    let na = whole_steps(errs, Given { value: start, ..g }, a, grid);
    let nb = whole_steps(errs, Given { value: end, ..g }, b, grid);
    let (na, nb) = (na?, nb?);
    if na < 0 || nb > i64::from(grid.steps) || na >= nb {
        errs.range(
            g,
            &format!("is steps {na} .. {nb}, not a window within the trial of {} steps", grid.steps),
            "the window starts at 0 or later, ends after it starts and at most at the end of the trial",
        );
        return None;
    }
    Some((a, b))
}
