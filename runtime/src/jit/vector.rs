//! Elementwise loops on four lanes.
//!
//! A loop `for j in start..end { a[j] = <f32 expression>; b[j] = ...; }`
//! whose statements are all stores at index `j` of values built from loads
//! at index `j`, `f32` constants, `f32` locals and `+ - * /`, `neg`, `abs`,
//! `sqrt` (a layer's weight or gradient row added to its sums, once per
//! input spike) runs four iterations at a time on `f32x4` values, then the
//! rest one at a time. Bit for bit the scalar loop's results: every lane
//! does the scalar operations on the same operands, in the same order (no
//! contraction, no reassociation; IEEE single precision per lane, every
//! NaN an operation makes the canonical one, as in the scalar code, and
//! `neg`/`abs` only touch the sign bit), and lane `j` reads
//! only what iteration `j` reads (every access is at index `j`, so no
//! iteration reads what another one writes). Counts: the vector iterations
//! add the scalar iterations' counts. Bounds: the lanes run only when the
//! whole range lies inside every buffer the loop touches and spans at least
//! four iterations; otherwise the scalar loop runs the whole range (and
//! traps where it would).

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{BlockArg, Endianness, InstBuilder, MemFlagsData, Value, types};
use snnc_compiler::kernel::{
    BinaryOp, BufferId, CANONICAL_NAN, Expr, ExprKind, LocalId, OpClass, OpCounts, Stmt, Ty, UnaryOp,
};

use super::codegen::Gen;

/// Lanes of a vector iteration.
const LANES: i64 = 4;

/// The buffers of a loop that runs on lanes (see the module doc), or none.
pub(super) fn plan(var: LocalId, body: &[Stmt]) -> Option<Vec<BufferId>> {
    let mut buffers = Vec::new();
    for stmt in body {
        let Stmt::Store { buffer, index, value } = stmt else { return None };
        if !at_var(index, var) || value.ty != Ty::F32 || !lane_expr(value, var, &mut buffers) {
            return None;
        }
        buffers.push(*buffer);
    }
    (!body.is_empty()).then_some(buffers)
}

/// `index` is the loop variable itself.
fn at_var(index: &Expr, var: LocalId) -> bool {
    matches!(index.kind, ExprKind::Local(v) if v == var)
}

/// An `f32` expression each lane can compute alone; collects its loads' buffers.
fn lane_expr(e: &Expr, var: LocalId, buffers: &mut Vec<BufferId>) -> bool {
    if e.ty != Ty::F32 {
        return false;
    }
    match &e.kind {
        ExprKind::Const(_) => true,
        ExprKind::Local(v) => *v != var,
        ExprKind::Load { buffer, index } => {
            buffers.push(*buffer);
            at_var(index, var)
        }
        ExprKind::Unary { op: UnaryOp::Neg | UnaryOp::Abs | UnaryOp::Sqrt, arg } => lane_expr(arg, var, buffers),
        ExprKind::Binary { op: BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div, lhs, rhs } => {
            lane_expr(lhs, var, buffers) && lane_expr(rhs, var, buffers)
        }
        _ => false,
    }
}

impl Gen<'_, '_> {
    /// Runs the lanes of a planned loop over `first .. last` when it can
    /// (see the module doc) and returns where the scalar loop starts: `last`
    /// rounded down to whole vector iterations, or `first`.
    pub(super) fn vector_loop(
        &mut self,
        ty: Ty,
        [first, last]: [Value; 2],
        buffers: &[BufferId],
        body: &[Stmt],
    ) -> Value {
        let len = buffers.iter().map(|b| i64::from(self.kernel.buffers[b.0 as usize].len)).min().unwrap_or(0);
        let trips = self.trips(ty, first, last);
        let wide = |g: &mut Self, v: Value| {
            if ty == Ty::I32 { g.b.ins().sextend(types::I64, v) } else { g.b.ins().uextend(types::I64, v) }
        };
        let (from, to) = (wide(self, first), wide(self, last));
        let from_ok = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, from, 0);
        let to_ok = self.b.ins().icmp_imm_s(IntCC::SignedLessThanOrEqual, to, len);
        let enough = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, trips, LANES);
        let ok = self.b.ins().band(from_ok, to_ok);
        let ok = self.b.ins().band(ok, enough);
        let lanes = self.b.create_block();
        let scalar = self.b.create_block();
        let start = self.b.append_block_param(scalar, types::I32);
        self.b.ins().brif(ok, lanes, &[], scalar, &[BlockArg::Value(first)]);
        self.b.seal_block(lanes);
        self.b.switch_to_block(lanes);
        let whole = self.b.ins().band_imm_s(trips, !(LANES - 1));
        let span = self.b.ins().ireduce(types::I32, whole);
        let end = self.b.ins().iadd(first, span);
        let header = self.b.create_block();
        let i = self.b.append_block_param(header, types::I32);
        let step = self.b.create_block();
        let done = self.b.create_block();
        self.b.ins().jump(header, &[BlockArg::Value(first)]);
        self.b.switch_to_block(header);
        // Non-negative here: signed or not, the same compare.
        let more = self.b.ins().icmp(IntCC::SignedLessThan, i, end);
        self.b.ins().brif(more, step, &[], done, &[]);
        self.b.seal_block(step);
        self.b.seal_block(done);
        self.b.switch_to_block(step);
        for stmt in body {
            let Stmt::Store { buffer, value, .. } = stmt else { unreachable!("a planned loop stores only") };
            let v = self.lane_value(value, i);
            let at = self.lane_address(*buffer, i);
            self.b.ins().store(lane_flags(), v, at, 0);
        }
        let next = self.b.ins().iadd_imm_s(i, LANES);
        self.b.ins().jump(header, &[BlockArg::Value(next)]);
        self.b.seal_block(header);
        self.b.switch_to_block(done);
        // The scalar loop's counts for these iterations: the body's stores,
        // the increment, and the header's compare and branch.
        let mut per = OpCounts::default();
        let pending = std::mem::take(&mut self.pending);
        for stmt in body {
            if let Stmt::Store { index, value, .. } = stmt {
                self.count(index);
                self.count(value);
                self.pending.add(OpClass::Store, 1);
            }
        }
        per.absorb(&std::mem::replace(&mut self.pending, pending));
        for class in [OpClass::IntArith, OpClass::Compare, OpClass::Branch] {
            per.add(class, 1);
        }
        for class in OpClass::ALL {
            let n = per.get(class);
            if n != 0 {
                let total = self.b.ins().imul_imm_u(whole, n as i64);
                self.add_count(class, total);
            }
        }
        self.b.ins().jump(scalar, &[BlockArg::Value(end)]);
        self.b.seal_block(scalar);
        self.b.switch_to_block(scalar);
        start
    }

    /// The four lanes of `e` at iterations `i .. i + 4`.
    fn lane_value(&mut self, e: &Expr, i: Value) -> Value {
        match &e.kind {
            ExprKind::Const(c) => {
                let s = self.b.ins().f32const(f32::from_bits(c.bits()));
                self.b.ins().splat(types::F32X4, s)
            }
            ExprKind::Local(v) => {
                let s = self.b.use_var(self.vars[v.0 as usize]);
                self.b.ins().splat(types::F32X4, s)
            }
            ExprKind::Load { buffer, .. } => {
                let at = self.lane_address(*buffer, i);
                self.b.ins().load(types::F32X4, lane_flags(), at, 0)
            }
            ExprKind::Unary { op, arg } => {
                let a = self.lane_value(arg, i);
                match op {
                    UnaryOp::Neg => self.b.ins().fneg(a),
                    UnaryOp::Abs => self.b.ins().fabs(a),
                    UnaryOp::Sqrt => {
                        let v = self.b.ins().sqrt(a);
                        self.canonical_lanes(v)
                    }
                    _ => unreachable!("planned: neg, abs, sqrt"),
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let (l, r) = (self.lane_value(lhs, i), self.lane_value(rhs, i));
                let v = match op {
                    BinaryOp::Add => self.b.ins().fadd(l, r),
                    BinaryOp::Sub => self.b.ins().fsub(l, r),
                    BinaryOp::Mul => self.b.ins().fmul(l, r),
                    BinaryOp::Div => self.b.ins().fdiv(l, r),
                    _ => unreachable!("planned: + - * /"),
                };
                self.canonical_lanes(v)
            }
            _ => unreachable!("planned: constants, locals, loads, arithmetic"),
        }
    }

    /// `v` with every NaN lane the IR's canonical NaN (an arithmetic
    /// result; the scalar code canonicalises where a value is observed,
    /// which gives the same bits).
    fn canonical_lanes(&mut self, v: Value) -> Value {
        let nan = self.b.ins().fcmp(FloatCC::Unordered, v, v);
        let canonical = self.b.ins().f32const(f32::from_bits(CANONICAL_NAN));
        let canonical = self.b.ins().splat(types::F32X4, canonical);
        // The mask's lanes (all ones where NaN) as `f32x4` bits.
        let lanes = MemFlagsData::new().with_endianness(Endianness::Little);
        let nan = self.b.ins().bitcast(types::F32X4, lanes, nan);
        self.b.ins().bitselect(nan, canonical, v)
    }

    /// The address of `buffer[i]` (in bounds: checked for the whole range).
    fn lane_address(&mut self, buffer: BufferId, i: Value) -> Value {
        let offset = 4 * self.kernel.first_word(buffer) as i64;
        let wide = self.b.ins().uextend(self.ptr, i);
        let scaled = self.b.ins().ishl_imm_u(wide, 2);
        let memory = self.b.use_var(self.memory);
        let base = self.b.ins().iadd_imm_u(memory, offset);
        self.b.ins().iadd(base, scaled)
    }
}

/// Four lanes at a word-aligned address that cannot trap.
fn lane_flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}
