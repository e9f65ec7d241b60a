//! Static analyses of kernel-IR expressions, for the backends: constant
//! values, value ranges, a canonical form that identifies equal operands,
//! and comparisons their operands decide.
//!
//! Input: expressions of a verified kernel (every annotation is the real
//! type). Output: facts that hold for every evaluation of the expression;
//! `None` where nothing is known.
//!
//! The C backend uses them to print code that compiles without warnings
//! (C compilers warn about comparisons that constants or operand types
//! decide, and about self-comparisons) and to leave out index checks that
//! cannot fail (with the ranges of its constant-bound loop variables); the
//! runtime's JIT leaves out bounds checks by the same [`value_range`], with
//! the ranges of every local from a fixed point over the function. A
//! constant computed here is what the interpreter would compute, because it
//! is computed by [`super::eval`], the IR's one evaluator.
//!
//! Invariant: every fact is sound for the IR's semantics: a constant is the
//! value every evaluation gives, a range contains every value, equal
//! canonical forms mean equal values, a decided comparison has that result
//! whenever its operands evaluate without trapping.

use super::{BinaryOp, CmpOp, ConvertOp, Expr, ExprKind, LocalId, Ty, Value, eval};

/// An inclusive range `(lowest, highest)` of an integer expression's values.
pub type Range = (i64, i64);

/// The value of an integer or `bool` expression that reads no local, loads
/// nothing, has no `f32` sub-expression and does not trap, computed by
/// [`eval`] (as the interpreter computes it); `None` otherwise (a constant
/// integer division by zero or overflow is not folded: it traps at run
/// time). `f32` expressions are never folded.
pub fn const_value(e: &Expr) -> Option<Value> {
    if e.ty == Ty::F32 {
        return None;
    }
    let bits = |e: &Expr| const_value(e).map(Value::bits);
    let w = match &e.kind {
        ExprKind::Const(v) => return Some(*v),
        ExprKind::Local(_) | ExprKind::Load { .. } => return None,
        ExprKind::Unary { op, arg } => eval::unary(*op, arg.ty, bits(arg)?),
        ExprKind::Binary { op, lhs, rhs } => eval::binary(*op, lhs.ty, bits(lhs)?, bits(rhs)?).ok()?,
        ExprKind::Compare { op, lhs, rhs } => {
            let (Some(a), Some(b)) = (bits(lhs), bits(rhs)) else {
                let decided = cannot_trap(lhs) && cannot_trap(rhs);
                return if decided { decided_comparison(*op, lhs, rhs).map(Value::Bool) } else { None };
            };
            u32::from(eval::compare(*op, lhs.ty, a, b))
        }
        ExprKind::Select { cond, then, otherwise } => {
            let (c, a, b) = (bits(cond)?, bits(then)?, bits(otherwise)?);
            eval::select(c != 0, a, b)
        }
        ExprKind::Convert { op, arg } => eval::convert(*op, bits(arg)?),
    };
    Some(Value::from_bits(e.ty, w))
}

/// The value of an `i32` or `u32` expression that [`const_value`] folds.
pub fn const_int(e: &Expr) -> Option<i64> {
    match const_value(e)? {
        Value::I32(x) => Some(i64::from(x)),
        Value::U32(x) => Some(i64::from(x)),
        _ => None,
    }
}

/// A key that is equal for two expressions with equal values that C
/// compilers also see as the same operand: constants are folded, identity
/// operations (`x | 0`, `x & ~0`, `x + 0`, `x - 0`, `x * 1`, `x / 1`,
/// `x << 0`, ...) are dropped and the operands of commutative operators are
/// sorted. Equal keys mean equal values (expressions have no side effects).
pub fn canonical_form(e: &Expr) -> String {
    if let Some(v) = const_value(e) {
        return format!("{}:{}", e.ty.name(), v.bits());
    }
    match &e.kind {
        ExprKind::Binary { op, lhs, rhs } if e.ty != Ty::F32 => {
            let ones = if e.ty == Ty::Bool { 1 } else { u32::MAX };
            let identity = |x: &Expr| -> Option<u32> { const_value(x).map(Value::bits) };
            let (l, r) = (identity(lhs), identity(rhs));
            let drops_rhs = match op {
                BinaryOp::Or | BinaryOp::Xor | BinaryOp::Add | BinaryOp::Sub => r == Some(0),
                BinaryOp::Shl | BinaryOp::Shr => r.is_some_and(|c| c % 32 == 0),
                BinaryOp::And => r == Some(ones),
                BinaryOp::Mul | BinaryOp::Div => r == Some(1),
                _ => false,
            };
            let drops_lhs = match op {
                BinaryOp::Or | BinaryOp::Xor | BinaryOp::Add => l == Some(0),
                BinaryOp::And => l == Some(ones),
                BinaryOp::Mul => l == Some(1),
                _ => false,
            };
            if drops_rhs {
                return canonical_form(lhs);
            }
            if drops_lhs {
                return canonical_form(rhs);
            }
            let (mut a, mut b) = (canonical_form(lhs), canonical_form(rhs));
            let commutative = matches!(
                op,
                BinaryOp::Add
                    | BinaryOp::Mul
                    | BinaryOp::And
                    | BinaryOp::Or
                    | BinaryOp::Xor
                    | BinaryOp::Min
                    | BinaryOp::Max
            );
            if commutative && b < a {
                std::mem::swap(&mut a, &mut b);
            }
            format!("({a} {} {b})", op.name())
        }
        ExprKind::Binary { op, lhs, rhs } => format!("({} {} {})", canonical_form(lhs), op.name(), canonical_form(rhs)),
        ExprKind::Const(v) => format!("{}:{}", e.ty.name(), v.bits()),
        ExprKind::Local(id) => format!("local{}", id.0),
        ExprKind::Load { buffer, index } => {
            format!("buffer{}[{}]", buffer.0, canonical_form(index))
        }
        ExprKind::Unary { op, arg } => format!("{}({})", op.name(), canonical_form(arg)),
        ExprKind::Convert { op, arg } => format!("{}({})", op.name(), canonical_form(arg)),
        ExprKind::Compare { op, lhs, rhs } => {
            format!("({} {} {})", canonical_form(lhs), op.name(), canonical_form(rhs))
        }
        ExprKind::Select { cond, then, otherwise } => {
            format!("select({}, {}, {})", canonical_form(cond), canonical_form(then), canonical_form(otherwise))
        }
    }
}

/// Whether evaluating `e` can never trap: it loads nothing and every
/// integer division in it is folded by [`const_value`].
pub fn cannot_trap(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Const(_) | ExprKind::Local(_) => true,
        ExprKind::Load { .. } => false,
        ExprKind::Unary { arg, .. } | ExprKind::Convert { arg, .. } => cannot_trap(arg),
        ExprKind::Binary { op, lhs, rhs } => {
            let divides = matches!(op, BinaryOp::Div | BinaryOp::Rem) && e.ty.is_int();
            (!divides || const_value(e).is_some()) && cannot_trap(lhs) && cannot_trap(rhs)
        }
        ExprKind::Compare { lhs, rhs, .. } => cannot_trap(lhs) && cannot_trap(rhs),
        ExprKind::Select { cond, then, otherwise } => cannot_trap(cond) && cannot_trap(then) && cannot_trap(otherwise),
    }
}

/// The result of `lhs op rhs` when it does not depend on the operands'
/// run-time values: an integer compared with itself (equal canonical
/// forms), `(x | c1) == c2` and `(x & c1) == c2` (and `!=`, also under
/// `i32 <-> u32` bit casts) when some bit of the left side is known to
/// differ from `c2`, two constants, and a
/// comparison with the lowest or highest value of the type (`u < 0u`,
/// `i >= INT32_MIN`, ...). `None` when the operands decide nothing (and
/// for `f32`, whose NaN is never equal to itself).
pub fn decided_comparison(op: CmpOp, lhs: &Expr, rhs: &Expr) -> Option<bool> {
    if lhs.ty != Ty::F32 && canonical_form(lhs) == canonical_form(rhs) {
        return Some(matches!(op, CmpOp::Eq | CmpOp::Le | CmpOp::Ge));
    }
    if let Some(always) = decided_bitwise(op, lhs, rhs) {
        return Some(always);
    }
    let (lo, hi) = match lhs.ty {
        Ty::I32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
        Ty::U32 => (0, i64::from(u32::MAX)),
        _ => return None,
    };
    let (op, c) = match (const_int(lhs), const_int(rhs)) {
        (Some(a), Some(b)) => {
            return Some(match op {
                CmpOp::Eq => a == b,
                CmpOp::Ne => a != b,
                CmpOp::Lt => a < b,
                CmpOp::Le => a <= b,
                CmpOp::Gt => a > b,
                CmpOp::Ge => a >= b,
            });
        }
        (None, Some(c)) => (op, c),
        (Some(c), None) => (
            match op {
                CmpOp::Lt => CmpOp::Gt,
                CmpOp::Le => CmpOp::Ge,
                CmpOp::Gt => CmpOp::Lt,
                CmpOp::Ge => CmpOp::Le,
                other => other,
            },
            c,
        ),
        _ => return None,
    };
    match op {
        CmpOp::Lt if c == lo => Some(false),
        CmpOp::Ge if c == lo => Some(true),
        CmpOp::Gt if c == hi => Some(false),
        CmpOp::Le if c == hi => Some(true),
        _ => None,
    }
}

/// `(x | c1) == c2` and `(x & c1) == c2` (and `!=`, either side) when the
/// constants decide them: some bit of the bitwise side is known to differ
/// from `c2`.
fn decided_bitwise(op: CmpOp, lhs: &Expr, rhs: &Expr) -> Option<bool> {
    if !matches!(op, CmpOp::Eq | CmpOp::Ne) {
        return None;
    }
    let (bitwise, c2) = match (const_value(lhs), const_value(rhs)) {
        (None, Some(c)) => (lhs, c.bits()),
        (Some(c), None) => (rhs, c.bits()),
        _ => return None,
    };
    // `i32 <-> u32` keeps the bits (C compilers see through the cast too).
    let mut bitwise = bitwise;
    while let ExprKind::Convert { op: ConvertOp::I32AsU32 | ConvertOp::U32AsI32, arg } = &bitwise.kind {
        bitwise = arg;
    }
    let ExprKind::Binary { op: bop @ (BinaryOp::Or | BinaryOp::And), lhs: a, rhs: b } = &bitwise.kind else {
        return None;
    };
    let c1 = const_value(b).or_else(|| const_value(a))?.bits();
    let differs = if *bop == BinaryOp::Or { c1 & !c2 != 0 } else { c2 & !c1 != 0 };
    differs.then_some(op == CmpOp::Ne)
}

/// The range of an integer or `bool` expression's values (in its type's
/// reading: `i32` signed, `u32` unsigned, `bool` 0 or 1), if known:
/// constants (as [`const_int`] folds them), locals whose range `local` knows
/// (e.g. loop variables with constant bounds), comparisons, selects of two
/// known ranges, the conversions that keep the value (`i32`<->`u32` of a
/// range that fits both, `bool` to `u32`), `x % y` and `x & y` (on `u32`,
/// or on non-negative `i32` ranges), `x / y` and `x >> c` of non-negative
/// ranges, and sums, differences and products of known ranges that cannot
/// wrap (a range beyond the type's limits is unknown). Loads, parameters,
/// `f32` values and everything else are unknown.
pub fn value_range(e: &Expr, local: &dyn Fn(LocalId) -> Option<Range>) -> Option<Range> {
    let limit = match e.ty {
        Ty::I32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
        Ty::U32 => (0, i64::from(u32::MAX)),
        Ty::Bool => (0, 1),
        Ty::F32 => return None,
    };
    let range = |x: &Expr| value_range(x, local);
    let r = match &e.kind {
        ExprKind::Const(v) => {
            let c = match *v {
                Value::Bool(b) => i64::from(b),
                _ => const_int(e)?,
            };
            (c, c)
        }
        ExprKind::Local(id) => local(*id)?,
        ExprKind::Compare { .. } => (0, 1),
        ExprKind::Select { then, otherwise, .. } => {
            let ((a, b), (c, d)) = (range(then)?, range(otherwise)?);
            (a.min(c), b.max(d))
        }
        ExprKind::Convert { op, arg } => match op {
            ConvertOp::I32AsU32 | ConvertOp::U32AsI32 => {
                let (lo, hi) = range(arg)?;
                if lo < 0 || hi > i64::from(i32::MAX) {
                    return None;
                }
                (lo, hi)
            }
            ConvertOp::BoolToU32 => (0, 1),
            _ => return None,
        },
        ExprKind::Binary { op, lhs, rhs } => match (range(lhs), range(rhs)) {
            (Some((a, b)), Some((c, d))) => {
                let nonneg = a >= 0 && c >= 0;
                match op {
                    BinaryOp::Add => (a + c, b + d),
                    BinaryOp::Sub => (a - d, b - c),
                    BinaryOp::Mul => {
                        let products =
                            [a.saturating_mul(c), a.saturating_mul(d), b.saturating_mul(c), b.saturating_mul(d)];
                        (*products.iter().min()?, *products.iter().max()?)
                    }
                    // Truncating division of non-negative values by a
                    // positive divisor: monotone in both.
                    BinaryOp::Div if nonneg && c > 0 => (a / d, b / c),
                    BinaryOp::Rem if nonneg && c > 0 => (0, b.min(d - 1)),
                    BinaryOp::And if nonneg => (0, b.min(d)),
                    BinaryOp::Shr if nonneg && c == d && c < 32 => (a >> c, b >> c),
                    _ => return None,
                }
            }
            // On `u32`, `x % y` and `x & y` are bounded by a known `y` alone,
            // and `x & y` by a known `x`.
            (None, Some((c, d))) if e.ty == Ty::U32 => match op {
                BinaryOp::Rem if c > 0 => (0, d - 1),
                BinaryOp::And => (0, d),
                _ => return None,
            },
            (Some((_, b)), None) if e.ty == Ty::U32 && *op == BinaryOp::And => (0, b),
            _ => return None,
        },
        _ => return None,
    };
    (r.0 >= limit.0 && r.1 <= limit.1).then_some(r)
}
