//! Elementwise loops on four lanes.
//!
//! A loop `for j in start..end { a[j] = <f32 expression>; b[x + j] = ...; }`
//! whose statements are all stores of values built from loads, `f32`
//! constants, `f32` locals and `+ - * /`, `neg`, `abs`, `sqrt`, every access
//! at `j` or at `j` plus an invariant (a local the loop does not assign, or
//! a constant), and every access to a buffer the loop stores to at one and
//! the same index (a layer's weight row added to its input sums, a gradient
//! row updated, its state cleared) runs four iterations at a time on `f32x4`
//! values, then the rest one at a time. Bit for bit the scalar loop's
//! results: every lane does the scalar operations on the same operands, in
//! the same order (no contraction, no reassociation; IEEE single precision
//! per lane, every NaN an operation makes the canonical one, as in the
//! scalar code, and `neg`/`abs` only touch the sign bit), and no iteration
//! reads what another one writes (a stored buffer is read only at the index
//! it is stored at). Counts: the vector iterations add the scalar
//! iterations' counts. Bounds: the lanes run only when every access's whole
//! range (as true sums, so no index wraps) lies inside its buffer and the
//! loop spans at least four iterations; otherwise the scalar loop runs the
//! whole range (and traps where it would).

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{BlockArg, Endianness, InstBuilder, MemFlagsData, Value, types};
use snnc_compiler::kernel::{
    BinaryOp, BufferId, CANONICAL_NAN, Expr, ExprKind, LocalId, OpClass, OpCounts, Stmt, Ty, UnaryOp,
};

use snnc_compiler::kernel::analysis::const_int;

use super::codegen::Gen;

/// Lanes of a vector iteration.
const LANES: i64 = 4;

/// Where an access of a planned loop lies: `buffer[offset + j]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Offset {
    None,
    /// A local the loop does not assign (it assigns none).
    Local(LocalId),
    /// A constant (folded), as the loop variable's type gives it.
    Const(i64),
}

/// The accesses of a loop that runs on lanes (see the module doc), or none:
/// every one at `j`, or at `j` plus an invariant, and every access to a
/// buffer the loop stores to at the same index (so no iteration reads what
/// another writes).
pub(super) fn plan(var: LocalId, ty: Ty, body: &[Stmt]) -> Option<Vec<(BufferId, Offset)>> {
    let mut accesses = Vec::new();
    for stmt in body {
        let Stmt::Store { buffer, index, value } = stmt else { return None };
        if value.ty != Ty::F32 || !lane_expr(value, var, ty, &mut accesses) {
            return None;
        }
        accesses.push((*buffer, offset(index, var, ty)?));
    }
    let stored = |b: BufferId| body.iter().any(|s| matches!(s, Stmt::Store { buffer, .. } if *buffer == b));
    let aliased = accesses.iter().any(|&(b, o)| stored(b) && accesses.iter().any(|&(c, p)| c == b && p != o));
    (!body.is_empty() && !aliased).then_some(accesses)
}

/// The offset of an index `j`, `j + x` or `x + j` (`x` a local other than
/// `j`, or a constant), of the loop variable's type.
fn offset(index: &Expr, var: LocalId, ty: Ty) -> Option<Offset> {
    if index.ty != ty {
        return None;
    }
    let invariant = |e: &Expr| match e.kind {
        _ if e.ty != ty => None,
        ExprKind::Local(v) if v != var => Some(Offset::Local(v)),
        _ => const_int(e).map(Offset::Const),
    };
    let at_var = |e: &Expr| matches!(e.kind, ExprKind::Local(v) if v == var);
    match &index.kind {
        ExprKind::Local(v) if *v == var => Some(Offset::None),
        ExprKind::Binary { op: BinaryOp::Add, lhs, rhs } if at_var(lhs) => invariant(rhs),
        ExprKind::Binary { op: BinaryOp::Add, lhs, rhs } if at_var(rhs) => invariant(lhs),
        _ => None,
    }
}

/// An `f32` expression each lane can compute alone; collects its loads.
fn lane_expr(e: &Expr, var: LocalId, ty: Ty, accesses: &mut Vec<(BufferId, Offset)>) -> bool {
    if e.ty != Ty::F32 {
        return false;
    }
    match &e.kind {
        ExprKind::Const(_) => true,
        ExprKind::Local(v) => *v != var,
        ExprKind::Load { buffer, index } => match offset(index, var, ty) {
            Some(o) => {
                accesses.push((*buffer, o));
                true
            }
            None => false,
        },
        ExprKind::Unary { op: UnaryOp::Neg | UnaryOp::Abs | UnaryOp::Sqrt, arg } => lane_expr(arg, var, ty, accesses),
        ExprKind::Binary { op: BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div, lhs, rhs } => {
            lane_expr(lhs, var, ty, accesses) && lane_expr(rhs, var, ty, accesses)
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
        var: LocalId,
        [first, last]: [Value; 2],
        accesses: &[(BufferId, Offset)],
        body: &[Stmt],
    ) -> Value {
        let trips = self.trips(ty, first, last);
        let (from, to) = (self.wide(ty, first), self.wide(ty, last));
        // Every access's `offset + first ..= offset + last - 1` inside its
        // buffer, as true (64-bit) sums: then no index wraps either.
        let mut ok = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, trips, LANES);
        let mut seen: Vec<(BufferId, Offset)> = Vec::new();
        for &(buffer, at) in accesses {
            if seen.contains(&(buffer, at)) {
                continue;
            }
            seen.push((buffer, at));
            let len = i64::from(self.kernel.buffers[buffer.0 as usize].len);
            let off = self.offset_value(ty, at);
            let lo = self.b.ins().iadd(from, off);
            let hi = self.b.ins().iadd(to, off);
            let lo_ok = self.b.ins().icmp_imm_s(IntCC::SignedGreaterThanOrEqual, lo, 0);
            let hi_ok = self.b.ins().icmp_imm_s(IntCC::SignedLessThanOrEqual, hi, len);
            let both = self.b.ins().band(lo_ok, hi_ok);
            ok = self.b.ins().band(ok, both);
        }
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
            let Stmt::Store { buffer, index, value } = stmt else { unreachable!("a planned loop stores only") };
            let v = self.lane_value(value, ty, var, i);
            let at = self.lane_address(*buffer, ty, var, index, i);
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

    /// An access's offset as an `i64`.
    fn offset_value(&mut self, ty: Ty, at: Offset) -> Value {
        match at {
            Offset::None => self.b.ins().iconst(types::I64, 0),
            Offset::Const(c) => self.b.ins().iconst(types::I64, c),
            Offset::Local(v) => {
                let x = self.b.use_var(self.vars[v.0 as usize]);
                self.wide(ty, x)
            }
        }
    }

    /// The four lanes of `e` at iterations `i .. i + 4`.
    fn lane_value(&mut self, e: &Expr, ty: Ty, var: LocalId, i: Value) -> Value {
        match &e.kind {
            ExprKind::Const(c) => {
                let s = self.b.ins().f32const(f32::from_bits(c.bits()));
                self.b.ins().splat(types::F32X4, s)
            }
            ExprKind::Local(v) => {
                let s = self.b.use_var(self.vars[v.0 as usize]);
                self.b.ins().splat(types::F32X4, s)
            }
            ExprKind::Load { buffer, index } => {
                let at = self.lane_address(*buffer, ty, var, index, i);
                self.b.ins().load(types::F32X4, lane_flags(), at, 0)
            }
            ExprKind::Unary { op, arg } => {
                let a = self.lane_value(arg, ty, var, i);
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
                let (l, r) = (self.lane_value(lhs, ty, var, i), self.lane_value(rhs, ty, var, i));
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

    /// The address of `buffer[index]` at lane start `i` (in bounds:
    /// checked for the whole range, as true sums).
    fn lane_address(&mut self, buffer: BufferId, ty: Ty, var: LocalId, index: &Expr, i: Value) -> Value {
        let offset = 4 * self.kernel.first_word(buffer) as i64;
        let at = offset_of_index(index, var, ty);
        let off = self.offset_value(ty, at);
        let i = self.wide(ty, i);
        let wide = self.b.ins().iadd(i, off);
        let scaled = self.b.ins().ishl_imm_u(wide, 2);
        let memory = self.b.use_var(self.memory);
        let base = self.b.ins().iadd_imm_u(memory, offset);
        self.b.ins().iadd(base, scaled)
    }
}

/// The offset of a planned access's index.
fn offset_of_index(index: &Expr, var: LocalId, ty: Ty) -> Offset {
    offset(index, var, ty).expect("a planned access")
}

/// Four lanes at a word-aligned address that cannot trap.
fn lane_flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}
