//! `sum_voltage_cross_entropy()`: no parameters (`docs/language.md`).
//! Part of the checker ([`crate::check`]), declared in
//! `compiler/src/check/train.rs`, whose shared helpers it uses.

use crate::check::params::{Errors, Shape};
use crate::network::LossSpec;
use crate::syntax::ast::Call;

pub(crate) const SUM_VOLTAGE: Shape = Shape { name: "sum_voltage_cross_entropy", args: &[], body: &[] };

/// The loss of a `sum_voltage_cross_entropy()` call.
pub(super) fn loss(errs: &mut Errors, c: &Call) -> Option<LossSpec> {
    errs.call_params(c, &SUM_VOLTAGE);
    Some(LossSpec::SumVoltageCrossEntropy)
}
