//! Value ranges of a function's integer locals, to leave out the bounds
//! checks that can never fail.
//!
//! Input: one [`Function`]. Output: per local, an interval that holds every
//! value the local ever has (its initial value, each value assigned to it,
//! each value a `for` loop gives it), or none when no useful bound is known;
//! [`Ranges::of`] gives an expression's interval from them, by the kernel
//! module's shared analysis (`snnc_compiler::kernel::analysis::value_range`,
//! which the C backend uses with its loop variables' ranges): this module
//! adds only the fixed point over the locals.
//!
//! Intervals are in the type's own reading (`i32` signed, `u32` unsigned,
//! `bool` 0 or 1) as `i64` bounds. An operation whose result may wrap, and
//! every load, parameter and float conversion, has no interval. The locals'
//! intervals are a fixed point of the hulls of what is assigned to them; a
//! local still growing after [`WIDEN_AFTER`] rounds gets no interval, so the
//! analysis ends.
//!
//! Invariant: a bounds check is left out only when the index's interval lies
//! inside the buffer: such an access can never trap, so the JIT still traps
//! exactly where the interpreter does.

use snnc_compiler::kernel::analysis::{Range, value_range};
use snnc_compiler::kernel::{Expr, Function, Stmt, Ty};

/// An inclusive interval `lo ..= hi` of a value in its type's reading, if
/// known.
pub(super) type Interval = Option<Range>;

/// Rounds of plain hulls before a growing local loses its interval.
const WIDEN_AFTER: usize = 8;

/// The intervals of one function's locals.
pub(super) struct Ranges {
    locals: Vec<Interval>,
}

impl Ranges {
    pub(super) fn of_function(function: &Function) -> Ranges {
        let nparams = function.entry.params().len();
        let locals = (function.locals.iter().enumerate())
            .map(|(i, l)| if i < nparams || l.ty == Ty::F32 { None } else { Some((0, 0)) })
            .collect();
        let mut ranges = Ranges { locals };
        for round in 0.. {
            if !ranges.widen(&function.body, round >= WIDEN_AFTER) {
                break;
            }
        }
        ranges
    }

    /// One pass over `body`: every local's interval takes in what is
    /// assigned to it (with `jump`, a local that grows loses its interval).
    /// Returns whether any interval changed.
    fn widen(&mut self, body: &[Stmt], jump: bool) -> bool {
        let mut changed = false;
        for stmt in body {
            match stmt {
                Stmt::Assign { local, value } => {
                    let value = self.of(value);
                    changed |= self.take_in(local.0 as usize, value, jump);
                }
                Stmt::For { var, start, end, body } => {
                    // The body sees `start <= var < end`; a loop that never
                    // runs gives its variable no value.
                    match (self.of(start), self.of(end)) {
                        (Some((s, _)), Some((_, e))) if e - 1 < s => {}
                        (Some((s, _)), Some((_, e))) => changed |= self.take_in(var.0 as usize, Some((s, e - 1)), jump),
                        _ => changed |= self.take_in(var.0 as usize, None, jump),
                    }
                    changed |= self.widen(body, jump);
                }
                Stmt::If { then_body, else_body, .. } => {
                    changed |= self.widen(then_body, jump);
                    changed |= self.widen(else_body, jump);
                }
                Stmt::Store { .. } | Stmt::Send { .. } | Stmt::Dma { .. } => {}
            }
        }
        changed
    }

    /// Widens local `l` to hold `values` (`None`: any value of its type);
    /// with `jump`, a local that grows loses its interval. Returns whether
    /// the interval changed.
    fn take_in(&mut self, l: usize, values: Interval, jump: bool) -> bool {
        let Some(old) = self.locals[l] else { return false };
        let new = values.map(|(lo, hi)| (old.0.min(lo), old.1.max(hi)));
        if new == Some(old) {
            return false;
        }
        self.locals[l] = if jump { None } else { new };
        true
    }

    /// The interval of `e`'s value, from the locals' intervals
    /// ([`value_range`], the kernel module's analysis).
    pub(super) fn of(&self, e: &Expr) -> Interval {
        value_range(e, &|id| self.locals[id.0 as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snnc_compiler::kernel::{EntryPoint, FunctionBuilder};

    #[test]
    fn loop_indices_are_bounded_and_reassigned_locals_are_not() {
        let mut f = FunctionBuilder::new(EntryPoint::TickForward);
        let step = f.params()[0];
        let row = f.let_("row", Expr::i32(0));
        let r = f.let_("r", Expr::u32(0));
        let mut seen = Vec::new();
        f.for_range("pos", Expr::i32(0), Expr::i32(5), |f, pos| {
            f.assign(row, pos.get() * Expr::i32(120));
            f.for_range("j", Expr::i32(0), Expr::i32(120), |f, j| {
                seen.push(row.get() + j.get());
                f.assign(r, r.get() + Expr::u32(1));
            });
        });
        seen.push(step.get() + Expr::i32(1));
        seen.push(r.get());
        let function = f.finish();
        let ranges = Ranges::of_function(&function);
        assert_eq!(ranges.of(&seen[0]), Some((0, 599)));
        assert_eq!(ranges.of(&seen[1]), None, "a parameter is unbounded");
        assert_eq!(ranges.of(&seen[2]), None, "r grows every round");
        assert_eq!(ranges.of(&(row.get() / Expr::i32(7))), Some((0, 68)));
        assert_eq!(ranges.of(&(row.get() % Expr::i32(7))), Some((0, 6)));
    }
}
