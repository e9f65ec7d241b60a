//! The operations of the kernel IR on raw 32-bit values: the one written-down
//! meaning of every operator and conversion (see the parent module's
//! semantics).
//!
//! Input: an operator, the static type of its operands and their 32 bits
//! (`f32` as its IEEE bits, `i32` two's complement, `bool` 0 or 1).
//! Output: the result's 32 bits, or for an integer division the [`Fault`]
//! that traps.
//!
//! Used by the runtime's interpreter (which is the IR's reference
//! semantics) and by every constant folder (the C backend's, through
//! [`super::analysis::const_value`]), so that a folded constant is what the
//! interpreter would have computed. The Cranelift JIT emits the same
//! operations as machine code and does not fold; the differential tests
//! and the filetests (`tests/kir/`) check it against this module.
//!
//! Invariant: every function here is total and never panics; an operator
//! applied to a type it does not accept (which [`super::verify`] rules out)
//! gives an unspecified value.

use super::{BinaryOp, CANONICAL_NAN, CmpOp, ConvertOp, Trap, Ty, UnaryOp, Value};

/// An integer division that traps, before it is attributed to a kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `x / 0` or `x % 0`.
    DivisionByZero,
    /// `i32::MIN / -1` or `i32::MIN % -1`.
    DivisionOverflow,
}

impl Fault {
    /// The trap this fault raises in `kernel`.
    pub fn trap(self, kernel: &str) -> Trap {
        let kernel = kernel.to_string();
        match self {
            Fault::DivisionByZero => Trap::IntegerDivisionByZero { kernel },
            Fault::DivisionOverflow => Trap::IntegerDivisionOverflow { kernel },
        }
    }
}

fn f(bits: u32) -> f32 {
    f32::from_bits(bits)
}

/// The bits of an `f32` arithmetic result: a NaN becomes [`CANONICAL_NAN`].
pub fn canonical(x: f32) -> u32 {
    if x.is_nan() { CANONICAL_NAN } else { x.to_bits() }
}

/// `op a` on operands of type `ty` (which is also the result's type).
pub fn unary(op: UnaryOp, ty: Ty, a: u32) -> u32 {
    match (op, ty) {
        (UnaryOp::Neg, Ty::F32) => a ^ 0x8000_0000,
        (UnaryOp::Neg, _) => a.wrapping_neg(),
        (UnaryOp::Abs, _) => a & 0x7fff_ffff,
        (UnaryOp::Sqrt, _) => canonical(f(a).sqrt()),
        (UnaryOp::Not, Ty::Bool) => a ^ 1,
        (UnaryOp::Not, _) => !a,
        (UnaryOp::Ctz, _) => a.trailing_zeros(),
        (UnaryOp::Popcnt, _) => a.count_ones(),
    }
}

/// `a op b` on operands of type `ty` (which is also the result's type).
pub fn binary(op: BinaryOp, ty: Ty, a: u32, b: u32) -> Result<u32, Fault> {
    if ty == Ty::F32 {
        let (x, y) = (f(a), f(b));
        return Ok(match op {
            BinaryOp::Add => canonical(x + y),
            BinaryOp::Sub => canonical(x - y),
            BinaryOp::Mul => canonical(x * y),
            BinaryOp::Div => canonical(x / y),
            BinaryOp::Min => select(compare(CmpOp::Lt, ty, a, b), a, b),
            BinaryOp::Max => select(compare(CmpOp::Gt, ty, a, b), a, b),
            // Not defined on f32 (the verifier rejects them): unspecified.
            BinaryOp::Rem | BinaryOp::And | BinaryOp::Or | BinaryOp::Xor | BinaryOp::Shl | BinaryOp::Shr => 0,
        });
    }
    let signed = ty == Ty::I32;
    let (sa, sb) = (a as i32, b as i32);
    Ok(match op {
        BinaryOp::Add => a.wrapping_add(b),
        BinaryOp::Sub => a.wrapping_sub(b),
        BinaryOp::Mul => a.wrapping_mul(b),
        BinaryOp::Div | BinaryOp::Rem => {
            if b == 0 {
                return Err(Fault::DivisionByZero);
            }
            if signed && sa == i32::MIN && sb == -1 {
                return Err(Fault::DivisionOverflow);
            }
            match (op, signed) {
                (BinaryOp::Div, true) => (sa / sb) as u32,
                (BinaryOp::Div, false) => a / b,
                (_, true) => (sa % sb) as u32,
                (_, false) => a % b,
            }
        }
        BinaryOp::Min => select(compare(CmpOp::Lt, ty, a, b), a, b),
        BinaryOp::Max => select(compare(CmpOp::Gt, ty, a, b), a, b),
        BinaryOp::And => a & b,
        BinaryOp::Or => a | b,
        BinaryOp::Xor => a ^ b,
        BinaryOp::Shl => a.wrapping_shl(b),
        BinaryOp::Shr if signed => sa.wrapping_shr(b) as u32,
        BinaryOp::Shr => a.wrapping_shr(b),
    })
}

/// `a op b` on operands of type `ty`: ordered on `f32` (false with a NaN
/// but `!=`), signed on `i32`, unsigned on `u32` and `bool`.
pub fn compare(op: CmpOp, ty: Ty, a: u32, b: u32) -> bool {
    match ty {
        Ty::F32 => {
            let (x, y) = (f(a), f(b));
            match op {
                CmpOp::Eq => x == y,
                CmpOp::Ne => x != y,
                CmpOp::Lt => x < y,
                CmpOp::Le => x <= y,
                CmpOp::Gt => x > y,
                CmpOp::Ge => x >= y,
            }
        }
        Ty::I32 => ordered(op, a as i32, b as i32),
        Ty::U32 | Ty::Bool => ordered(op, a, b),
    }
}

fn ordered<T: Ord>(op: CmpOp, a: T, b: T) -> bool {
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        CmpOp::Lt => a < b,
        CmpOp::Le => a <= b,
        CmpOp::Gt => a > b,
        CmpOp::Ge => a >= b,
    }
}

/// `select(cond, then, otherwise)`: both arms already evaluated.
pub fn select(cond: bool, then: u32, otherwise: u32) -> u32 {
    if cond { then } else { otherwise }
}

/// A conversion of the bits `a` of its argument.
pub fn convert(op: ConvertOp, a: u32) -> u32 {
    match op {
        ConvertOp::F32ToI32 => f(a) as i32 as u32,
        ConvertOp::F32ToU32 => f(a) as u32,
        ConvertOp::I32ToF32 => (a as i32 as f32).to_bits(),
        ConvertOp::U32ToF32 => (a as f32).to_bits(),
        ConvertOp::I32AsU32
        | ConvertOp::U32AsI32
        | ConvertOp::F32Bits
        | ConvertOp::F32FromBits
        | ConvertOp::BoolToU32 => a,
    }
}

impl Value {
    /// The value of type `ty` with the bits `w` (for `bool`, any non-zero
    /// word is `true`).
    pub fn from_bits(ty: Ty, w: u32) -> Value {
        match ty {
            Ty::F32 => Value::F32(f(w)),
            Ty::I32 => Value::I32(w as i32),
            Ty::U32 => Value::U32(w),
            Ty::Bool => Value::Bool(w != 0),
        }
    }
}
