//! Expressions: the kernel IR's arithmetic, comparisons and conversions as
//! Cranelift instructions, with canonical NaNs where a value's bits are
//! observed.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{BlockArg, InstBuilder, MemFlagsData, Value, types};
use snnc_compiler::kernel::{BinaryOp, CANONICAL_NAN, CmpOp, ConvertOp, Expr, ExprKind, Ty, UnaryOp};

use super::codegen::Gen;
use super::{TRAP_DIVISION_BY_ZERO, TRAP_DIVISION_OVERFLOW, cl_type};

impl Gen<'_, '_> {
    /// `x`, or the canonical NaN if `x` is a NaN: a compare and a branch to
    /// a cold block that supplies the constant, so the path taken (no NaN)
    /// does not materialise it.
    pub(super) fn canonical(&mut self, x: Value) -> Value {
        let nan = self.b.ins().fcmp(FloatCC::Unordered, x, x);
        let fix = self.b.create_block();
        self.b.set_cold_block(fix);
        let cont = self.b.create_block();
        let out = self.b.append_block_param(cont, types::F32);
        self.b.ins().brif(nan, fix, &[], cont, &[BlockArg::Value(x)]);
        self.b.seal_block(fix);
        self.b.switch_to_block(fix);
        let canonical = self.b.ins().f32const(f32::from_bits(CANONICAL_NAN));
        self.b.ins().jump(cont, &[BlockArg::Value(canonical)]);
        self.b.seal_block(cont);
        self.b.switch_to_block(cont);
        out
    }

    /// An expression's value, with every NaN the IR's canonical NaN.
    pub(super) fn expr(&mut self, e: &Expr) -> Value {
        let (v, raw) = self.expr_raw(e);
        if raw { self.canonical(v) } else { v }
    }

    /// An expression's value, and whether it may be a NaN with another
    /// payload than the canonical one. The IR canonicalises the NaN of every
    /// `f32` add, sub, mul, div and sqrt; since these (and compares and the
    /// saturating conversions to integers) depend only on whether an operand
    /// is NaN, never on its bits, their operands may stay raw and one
    /// canonicalisation where a value is observed bit for bit (stored, sent,
    /// assigned, selected, negated, its bits taken) gives the same bits as
    /// one per operation.
    pub(super) fn expr_raw(&mut self, e: &Expr) -> (Value, bool) {
        match &e.kind {
            ExprKind::Binary { op, lhs, rhs }
                if lhs.ty == Ty::F32 && matches!(op, BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div) =>
            {
                let (a, _) = self.expr_raw(lhs);
                let (b, _) = self.expr_raw(rhs);
                // `c + x` and `c * x` give the bits of `x + c` and `x * c`
                // (a NaN's payload aside, which is canonicalised where
                // observed); a constant right operand can be a memory operand.
                let constant = |e: &Expr| matches!(e.kind, ExprKind::Const(_));
                if matches!(op, BinaryOp::Add | BinaryOp::Mul) && constant(lhs) && !constant(rhs) {
                    return (self.binary(*op, lhs.ty, b, a), true);
                }
                (self.binary(*op, lhs.ty, a, b), true)
            }
            ExprKind::Unary { op: UnaryOp::Sqrt, arg } => {
                let (a, _) = self.expr_raw(arg);
                (self.unary(UnaryOp::Sqrt, arg.ty, a), true)
            }
            ExprKind::Compare { op, lhs, rhs } if lhs.ty == Ty::F32 => {
                let (a, _) = self.expr_raw(lhs);
                let (b, _) = self.expr_raw(rhs);
                (self.compare(*op, lhs.ty, a, b), false)
            }
            ExprKind::Convert { op: op @ (ConvertOp::F32ToI32 | ConvertOp::F32ToU32), arg } => {
                let (a, _) = self.expr_raw(arg);
                (self.convert(*op, a), false)
            }
            _ => (self.expr_clean(e), false),
        }
    }

    /// The value of an expression whose result is never a raw NaN (its
    /// operands are canonicalised where it observes their bits).
    pub(super) fn expr_clean(&mut self, e: &Expr) -> Value {
        match &e.kind {
            ExprKind::Const(v) => match v.ty() {
                Ty::F32 => self.b.ins().f32const(f32::from_bits(v.bits())),
                ty => self.b.ins().iconst(cl_type(ty), i64::from(v.bits())),
            },
            ExprKind::Local(id) => self.b.use_var(self.vars[id.0 as usize]),
            ExprKind::Load { buffer, index } => {
                let i = self.expr(index);
                let addr = self.address(*buffer, index, i);
                self.b.ins().load(cl_type(e.ty), MemFlagsData::trusted(), addr, 0)
            }
            ExprKind::Unary { op, arg } => {
                let a = self.expr(arg);
                self.unary(*op, arg.ty, a)
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let a = self.expr(lhs);
                let b = self.expr(rhs);
                self.binary(*op, lhs.ty, a, b)
            }
            ExprKind::Compare { op, lhs, rhs } => {
                let a = self.expr(lhs);
                let b = self.expr(rhs);
                self.compare(*op, lhs.ty, a, b)
            }
            ExprKind::Select { cond, then, otherwise } => {
                let c = self.expr(cond);
                let a = self.expr(then);
                let b = self.expr(otherwise);
                self.b.ins().select(c, a, b)
            }
            ExprKind::Convert { op, arg } => {
                let a = self.expr(arg);
                self.convert(*op, a)
            }
        }
    }

    pub(super) fn unary(&mut self, op: UnaryOp, ty: Ty, a: Value) -> Value {
        let ins = self.b.ins();
        match (op, ty) {
            (UnaryOp::Neg, Ty::F32) => ins.fneg(a),
            (UnaryOp::Neg, _) => ins.ineg(a),
            (UnaryOp::Abs, _) => ins.fabs(a),
            // Raw: `expr` canonicalises its NaN (see `expr_raw`).
            (UnaryOp::Sqrt, _) => ins.sqrt(a),
            (UnaryOp::Not, Ty::Bool) => ins.bxor_imm_u(a, 1),
            (UnaryOp::Not, _) => ins.bnot(a),
            (UnaryOp::Ctz, _) => ins.ctz(a),
            (UnaryOp::Popcnt, _) => ins.popcnt(a),
        }
    }

    /// `f32` add, sub, mul and div give raw results: `expr` canonicalises
    /// their NaN (see `expr_raw`).
    pub(super) fn binary(&mut self, op: BinaryOp, ty: Ty, a: Value, b: Value) -> Value {
        if ty == Ty::F32 {
            return match op {
                BinaryOp::Add => self.b.ins().fadd(a, b),
                BinaryOp::Sub => self.b.ins().fsub(a, b),
                BinaryOp::Mul => self.b.ins().fmul(a, b),
                BinaryOp::Div => self.b.ins().fdiv(a, b),
                BinaryOp::Min | BinaryOp::Max => {
                    let cmp = if op == BinaryOp::Min { CmpOp::Lt } else { CmpOp::Gt };
                    let c = self.compare(cmp, ty, a, b);
                    self.b.ins().select(c, a, b)
                }
                BinaryOp::Rem | BinaryOp::And | BinaryOp::Or | BinaryOp::Xor | BinaryOp::Shl | BinaryOp::Shr => {
                    unreachable!("the verifier rejects `{}` on f32", op.name())
                }
            };
        }
        let signed = ty == Ty::I32;
        match op {
            BinaryOp::Add => self.b.ins().iadd(a, b),
            BinaryOp::Sub => self.b.ins().isub(a, b),
            BinaryOp::Mul => self.b.ins().imul(a, b),
            BinaryOp::Div | BinaryOp::Rem => {
                let by_zero = self.b.ins().icmp_imm_s(IntCC::Equal, b, 0);
                self.trap_if(by_zero, TRAP_DIVISION_BY_ZERO, 0, None);
                if signed {
                    let min = self.b.ins().icmp_imm_s(IntCC::Equal, a, i64::from(i32::MIN));
                    let minus_one = self.b.ins().icmp_imm_s(IntCC::Equal, b, -1);
                    let overflow = self.b.ins().band(min, minus_one);
                    self.trap_if(overflow, TRAP_DIVISION_OVERFLOW, 0, None);
                }
                match (op, signed) {
                    (BinaryOp::Div, true) => self.b.ins().sdiv(a, b),
                    (BinaryOp::Div, false) => self.b.ins().udiv(a, b),
                    (_, true) => self.b.ins().srem(a, b),
                    (_, false) => self.b.ins().urem(a, b),
                }
            }
            BinaryOp::Min | BinaryOp::Max => {
                let cmp = if op == BinaryOp::Min { CmpOp::Lt } else { CmpOp::Gt };
                let c = self.compare(cmp, ty, a, b);
                self.b.ins().select(c, a, b)
            }
            BinaryOp::And => self.b.ins().band(a, b),
            BinaryOp::Or => self.b.ins().bor(a, b),
            BinaryOp::Xor => self.b.ins().bxor(a, b),
            BinaryOp::Shl => self.b.ins().ishl(a, b),
            BinaryOp::Shr if signed => self.b.ins().sshr(a, b),
            BinaryOp::Shr => self.b.ins().ushr(a, b),
        }
    }

    pub(super) fn compare(&mut self, op: CmpOp, ty: Ty, a: Value, b: Value) -> Value {
        if ty == Ty::F32 {
            let cc = match op {
                CmpOp::Eq => FloatCC::Equal,
                CmpOp::Ne => FloatCC::NotEqual,
                CmpOp::Lt => FloatCC::LessThan,
                CmpOp::Le => FloatCC::LessThanOrEqual,
                CmpOp::Gt => FloatCC::GreaterThan,
                CmpOp::Ge => FloatCC::GreaterThanOrEqual,
            };
            return self.b.ins().fcmp(cc, a, b);
        }
        let signed = ty == Ty::I32;
        let cc = match (op, signed) {
            (CmpOp::Eq, _) => IntCC::Equal,
            (CmpOp::Ne, _) => IntCC::NotEqual,
            (CmpOp::Lt, true) => IntCC::SignedLessThan,
            (CmpOp::Le, true) => IntCC::SignedLessThanOrEqual,
            (CmpOp::Gt, true) => IntCC::SignedGreaterThan,
            (CmpOp::Ge, true) => IntCC::SignedGreaterThanOrEqual,
            (CmpOp::Lt, false) => IntCC::UnsignedLessThan,
            (CmpOp::Le, false) => IntCC::UnsignedLessThanOrEqual,
            (CmpOp::Gt, false) => IntCC::UnsignedGreaterThan,
            (CmpOp::Ge, false) => IntCC::UnsignedGreaterThanOrEqual,
        };
        self.b.ins().icmp(cc, a, b)
    }

    pub(super) fn convert(&mut self, op: ConvertOp, a: Value) -> Value {
        let ins = self.b.ins();
        match op {
            ConvertOp::F32ToI32 => ins.fcvt_to_sint_sat(types::I32, a),
            ConvertOp::F32ToU32 => ins.fcvt_to_uint_sat(types::I32, a),
            ConvertOp::I32ToF32 => ins.fcvt_from_sint(types::F32, a),
            ConvertOp::U32ToF32 => ins.fcvt_from_uint(types::F32, a),
            ConvertOp::I32AsU32 | ConvertOp::U32AsI32 => a,
            ConvertOp::F32Bits => ins.bitcast(types::I32, MemFlagsData::new(), a),
            ConvertOp::F32FromBits => ins.bitcast(types::F32, MemFlagsData::new(), a),
            ConvertOp::BoolToU32 => ins.uextend(types::I32, a),
        }
    }
}
