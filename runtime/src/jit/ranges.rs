//! Value ranges of a function's integer locals, to leave out the bounds
//! checks that can never fail.
//!
//! Input: one [`Function`]. Output: per local, an interval that holds every
//! value the local ever has (its initial value, each value assigned to it,
//! each value a `for` loop gives it), or none when no useful bound is known;
//! [`Ranges::of`] gives an expression's interval from them.
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

use snnc_compiler::kernel::{BinaryOp, ConvertOp, Expr, ExprKind, Function, Stmt, Ty};

/// An inclusive interval `lo ..= hi` of a value in its type's reading.
pub(super) type Interval = Option<(i64, i64)>;

/// Rounds of plain hulls before a growing local loses its interval.
const WIDEN_AFTER: usize = 8;

/// The intervals of one function's locals.
pub(super) struct Ranges {
    locals: Vec<Interval>,
    types: Vec<Ty>,
}

impl Ranges {
    pub(super) fn of_function(function: &Function) -> Ranges {
        let nparams = function.entry.params().len();
        let types: Vec<Ty> = function.locals.iter().map(|l| l.ty).collect();
        let locals = types
            .iter()
            .enumerate()
            .map(|(i, &ty)| if i < nparams || ty == Ty::F32 { None } else { Some((0, 0)) })
            .collect();
        let mut ranges = Ranges { locals, types };
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
                Stmt::Store { .. } | Stmt::Send { .. } => {}
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

    /// The interval of `e`'s value, from the locals' intervals.
    pub(super) fn of(&self, e: &Expr) -> Interval {
        let fits = |(lo, hi): (i64, i64)| {
            let (min, max) = match e.ty {
                Ty::I32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
                Ty::U32 => (0, i64::from(u32::MAX)),
                Ty::Bool => (0, 1),
                Ty::F32 => return None,
            };
            (lo >= min && hi <= max).then_some((lo, hi))
        };
        match &e.kind {
            ExprKind::Const(v) => match e.ty {
                Ty::I32 => Some((i64::from(v.bits() as i32), i64::from(v.bits() as i32))),
                Ty::U32 | Ty::Bool => Some((i64::from(v.bits()), i64::from(v.bits()))),
                Ty::F32 => None,
            },
            ExprKind::Local(id) => {
                let l = id.0 as usize;
                if self.types[l] == e.ty { self.locals[l] } else { None }
            }
            ExprKind::Compare { .. } => Some((0, 1)),
            ExprKind::Select { then, otherwise, .. } => {
                let ((a, b), (c, d)) = (self.of(then)?, self.of(otherwise)?);
                Some((a.min(c), b.max(d)))
            }
            ExprKind::Convert { op, arg } => match op {
                ConvertOp::I32AsU32 | ConvertOp::U32AsI32 => {
                    let (lo, hi) = self.of(arg)?;
                    (lo >= 0 && hi <= i64::from(i32::MAX)).then_some((lo, hi))
                }
                ConvertOp::BoolToU32 => Some((0, 1)),
                _ => None,
            },
            ExprKind::Binary { op, lhs, rhs } if e.ty != Ty::F32 => {
                let ((a, b), (c, d)) = (self.of(lhs)?, self.of(rhs)?);
                let nonneg = a >= 0 && c >= 0;
                match op {
                    BinaryOp::Add => fits((a + c, b + d)),
                    BinaryOp::Sub => fits((a - d, b - c)),
                    BinaryOp::Mul => {
                        // Bounds up to 2^32 in magnitude: products fit an i128.
                        let products = [(a, c), (a, d), (b, c), (b, d)].map(|(x, y)| i128::from(x) * i128::from(y));
                        let (lo, hi) = (*products.iter().min()?, *products.iter().max()?);
                        fits((i64::try_from(lo).ok()?, i64::try_from(hi).ok()?))
                    }
                    // Truncating division of non-negative values by a
                    // positive divisor: monotone in both.
                    BinaryOp::Div if nonneg && c > 0 => Some((a / d, b / c)),
                    BinaryOp::Rem if nonneg && c > 0 => Some((0, b.min(d - 1))),
                    BinaryOp::And if nonneg => Some((0, b.min(d))),
                    BinaryOp::Shr if nonneg && c == d && c < 32 => Some((a >> c, b >> c)),
                    _ => None,
                }
            }
            _ => None,
        }
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
