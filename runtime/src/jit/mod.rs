//! Cranelift JIT: a verified kernel -> one native function per entry point.
//!
//! Input: a [`VerifiedKernel`] (not verified again).
//! Output: a [`JitKernel`] whose [`JitKernel::run`] has the interpreter's
//! signature and semantics (`crate::interp` is the reference).
//!
//! Each entry point becomes `extern "C" fn(memory: *mut u32, outbox: *mut
//! Vec<Packet>, trap: *mut TrapRecord, counts: *mut u64, arg0: u32, arg1: u32)
//! -> u32`, returning 0 on success and 1 after a trap, whose kind, buffer and
//! index it wrote to `trap`. Operation counts ([`OpClass`]) are summed at
//! compile time per straight-line segment and added to `counts` once per
//! executed segment (the interpreter counts node by node; the differential
//! tests compare the two). `send` calls the host function [`snnc_jit_send`], registered with
//! `JITBuilder::symbol`. Every load and store is bounds-checked by a compare
//! and branch to the function's trap block; integer division checks its
//! divisor (and `i32::MIN / -1`) the same way, so Cranelift's own traps are
//! never reached.
//!
//! How the IR's semantics map to Cranelift: `f32` arithmetic uses
//! `fadd/fsub/fmul/fdiv/sqrt` (never fused), and a NaN result is replaced by
//! the canonical NaN where the value is observed bit for bit (see
//! `Gen::expr_raw`: the same bits as after every operation, fewer selects); `neg`/`abs` are `fneg`/`fabs` (sign
//! bit only); `min`/`max` are a compare and `select`; `f32 -> i32/u32` is
//! `fcvt_to_sint_sat`/`fcvt_to_uint_sat` (truncating, saturating, NaN -> 0,
//! as Rust's `as`); shifts use Cranelift's modulo-32 amount; `bool` is an `i8`
//! holding 0 or 1; operands are evaluated in the interpreter's order, so the
//! first trap is the same.
//!
//! Invariant: for every verified kernel, memory image and invocation, `run`
//! leaves the same memory, packets and trap as `crate::interp::Interpreter`
//! (differential property test in `runtime/tests/kernel_differential.rs`).

use std::mem::offset_of;
use std::sync::Mutex;

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    AbiParam, Block, BlockArg, FuncRef, InstBuilder, MemFlagsData, UserFuncName, Value, types,
};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module, default_libcall_names};
use snnc_compiler::kernel::{
    BinaryOp, BufferId, CANONICAL_NAN, CmpOp, ConvertOp, EntryPoint, Expr, ExprKind, Function, Invocation, OpClass,
    OpCounts, Packet, Stmt, Trap, Ty, UnaryOp, VerifiedKernel,
};

/// Why a kernel could not be compiled.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum JitError {
    #[error("Cranelift failed on kernel `{kernel}`: {message}")]
    #[diagnostic(code(snn::jit::codegen), help("this is a bug in snnc's JIT"))]
    Codegen { kernel: String, message: String },
}

/// Where a JIT-compiled entry point reports its trap.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TrapRecord {
    kind: u32,
    buffer: u32,
    index: i64,
}

const TRAP_OUT_OF_BOUNDS: i64 = 1;
const TRAP_DIVISION_BY_ZERO: i64 = 2;
const TRAP_DIVISION_OVERFLOW: i64 = 3;

type EntryFn = unsafe extern "C" fn(*mut u32, *mut Vec<Packet>, *mut TrapRecord, *mut u64, u32, u32) -> u32;

/// The host side of `send`: appends a packet to the outbox.
///
/// # Safety
/// `outbox` is the `&mut Vec<Packet>` that [`JitKernel::run`] passed to the
/// compiled entry point, valid and unaliased for the duration of the call.
pub unsafe extern "C" fn snnc_jit_send(outbox: *mut Vec<Packet>, key: u32, payload: u32, has_payload: u32) {
    let packet = Packet { key, payload: (has_payload != 0).then_some(payload) };
    // SAFETY: see the function's contract.
    unsafe { (*outbox).push(packet) };
}

/// A kernel compiled to native code.
pub struct JitKernel {
    kernel: VerifiedKernel,
    /// The compiled entry points, indexed by [`EntryPoint`] (`None`: the
    /// kernel does not define it, and invoking it does nothing).
    entries: [Option<EntryFn>; EntryPoint::ALL.len()],
    /// Owns the code the entry pointers point into; freed on drop. Behind a
    /// mutex only to make the kernel `Sync` (it is never locked while running).
    module: Mutex<Option<JITModule>>,
}

impl std::fmt::Debug for JitKernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitKernel").field("kernel", &self.kernel.name).finish_non_exhaustive()
    }
}

impl Drop for JitKernel {
    fn drop(&mut self) {
        let module = self.module.get_mut().map(Option::take).unwrap_or_else(|p| p.into_inner().take());
        if let Some(module) = module {
            // SAFETY: the entry pointers live in `self` and die with it; no
            // call can be running since `drop` has `&mut self`.
            unsafe { module.free_memory() };
        }
    }
}

impl JitKernel {
    /// Compiles every entry point of `kernel`.
    pub fn compile(kernel: &VerifiedKernel) -> Result<JitKernel, JitError> {
        let fail = |message: String| JitError::Codegen { kernel: kernel.name.clone(), message };
        let mut flags = settings::builder();
        flags.set("opt_level", "speed").map_err(|e| fail(e.to_string()))?;
        let isa = cranelift_native::builder()
            .map_err(|e| fail(e.to_string()))?
            .finish(settings::Flags::new(flags))
            .map_err(|e| fail(e.to_string()))?;
        let mut jb = JITBuilder::with_isa(isa, default_libcall_names());
        jb.symbol("snnc_jit_send", snnc_jit_send as *const u8);
        let mut module = JITModule::new(jb);
        let ptr = module.target_config().pointer_type();

        let mut send_sig = module.make_signature();
        send_sig.params.extend([ptr, types::I32, types::I32, types::I32].map(AbiParam::new));
        let send_id =
            module.declare_function("snnc_jit_send", Linkage::Import, &send_sig).map_err(|e| fail(e.to_string()))?;

        let mut sig = module.make_signature();
        sig.params.extend([ptr, ptr, ptr, ptr, types::I32, types::I32].map(AbiParam::new));
        sig.returns.push(AbiParam::new(types::I32));

        let mut ctx = module.make_context();
        let mut fctx = FunctionBuilderContext::new();
        let mut ids = Vec::new();
        for (n, function) in kernel.functions.iter().enumerate() {
            if function.body.is_empty() {
                continue;
            }
            let name = function.entry.name();
            let id = module.declare_function(name, Linkage::Local, &sig).map_err(|e| fail(e.to_string()))?;
            ctx.func.signature = sig.clone();
            ctx.func.name = UserFuncName::user(0, n as u32);
            let send = module.declare_func_in_func(send_id, &mut ctx.func);
            let builder = FunctionBuilder::new(&mut ctx.func, &mut fctx);
            Gen::emit(builder, kernel, function, send, ptr, module.target_config());
            module.define_function(id, &mut ctx).map_err(|e| fail(format!("{name}: {e:?}")))?;
            module.clear_context(&mut ctx);
            ids.push((function.entry, id));
        }
        module.finalize_definitions().map_err(|e| fail(e.to_string()))?;
        let mut entries = [None; EntryPoint::ALL.len()];
        for (entry, id) in ids {
            let code = module.get_finalized_function(id);
            // SAFETY: the function was compiled with exactly `EntryFn`'s
            // signature in the platform's default (C) calling convention.
            entries[entry as usize] = Some(unsafe { std::mem::transmute::<*const u8, EntryFn>(code) });
        }
        Ok(JitKernel { kernel: kernel.clone(), entries, module: Mutex::new(Some(module)) })
    }

    pub fn kernel(&self) -> &VerifiedKernel {
        &self.kernel
    }

    /// Runs one entry point on `memory`, appending sent packets to `outbox`
    /// and adding the executed operations to `counts`; same contract as
    /// `crate::interp::Interpreter::run`.
    pub fn run(
        &self,
        invocation: Invocation,
        memory: &mut [u32],
        outbox: &mut Vec<Packet>,
        counts: &mut OpCounts,
    ) -> Result<(), Trap> {
        self.kernel.check_memory(memory.len())?;
        let Some(code) = self.entries[invocation.entry() as usize] else {
            return Ok(());
        };
        let [arg0, arg1] = invocation.args();
        let mut record = TrapRecord::default();
        // SAFETY: the code was generated from a verified kernel: it touches
        // only buffer words inside the kernel's budget (every access is
        // bounds-checked) and `memory` holds at least that many words; the
        // outbox pointer is only used by `snnc_jit_send` during this call.
        let status = unsafe { code(memory.as_mut_ptr(), outbox, &mut record, counts.0.as_mut_ptr(), arg0, arg1) };
        if status == 0 {
            return Ok(());
        }
        let kernel = self.kernel.name.clone();
        Err(match i64::from(record.kind) {
            TRAP_OUT_OF_BOUNDS => {
                let b = &self.kernel.buffers[record.buffer as usize];
                Trap::OutOfBounds { kernel, buffer: b.name.clone(), index: record.index, len: b.len }
            }
            TRAP_DIVISION_BY_ZERO => Trap::IntegerDivisionByZero { kernel },
            _ => Trap::IntegerDivisionOverflow { kernel },
        })
    }
}

fn cl_type(ty: Ty) -> types::Type {
    match ty {
        Ty::F32 => types::F32,
        Ty::I32 | Ty::U32 => types::I32,
        Ty::Bool => types::I8,
    }
}

/// Code generation for one function.
struct Gen<'a, 'b> {
    b: FunctionBuilder<'b>,
    kernel: &'a VerifiedKernel,
    vars: Vec<Variable>,
    send: FuncRef,
    ptr: types::Type,
    memory: Value,
    outbox: Value,
    counts: Value,
    trap_block: Block,
    /// Operations of the current straight-line segment not yet added to
    /// `counts`; empty at every control-flow edge.
    pending: OpCounts,
    /// Where a finished segment's counts go: the innermost scope.
    scopes: Vec<Scope>,
}

/// A scope of the count bookkeeping.
enum Scope {
    /// The top level of a loop body: its segments run once per iteration,
    /// so their counts are tallied here at compile time and added, times
    /// the trip count, once after the loop.
    Loop(OpCounts),
    /// A branch of an `if`: its segments are added where they end.
    Branch,
}

impl<'a, 'b> Gen<'a, 'b> {
    fn emit(
        mut b: FunctionBuilder<'b>,
        kernel: &'a VerifiedKernel,
        function: &'a Function,
        send: FuncRef,
        ptr: types::Type,
        target: cranelift_codegen::isa::TargetFrontendConfig,
    ) {
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        let (memory, outbox, trap_ptr, counts) = (params[0], params[1], params[2], params[3]);
        let mut vars = Vec::with_capacity(function.locals.len());
        let nparams = function.entry.params().len();
        for (i, local) in function.locals.iter().enumerate() {
            let var = b.declare_var(cl_type(local.ty));
            let init = match local.ty {
                _ if i < nparams => params[4 + i],
                Ty::F32 => b.ins().f32const(0.0),
                ty => b.ins().iconst(cl_type(ty), 0),
            };
            b.def_var(var, init);
            vars.push(var);
        }

        let trap_block = b.create_block();
        let kind = b.append_block_param(trap_block, types::I32);
        let buffer = b.append_block_param(trap_block, types::I32);
        let index = b.append_block_param(trap_block, types::I64);

        let mut g = Gen {
            b,
            kernel,
            vars,
            send,
            ptr,
            memory,
            outbox,
            counts,
            trap_block,
            pending: OpCounts::default(),
            scopes: Vec::new(),
        };
        g.block(&function.body);
        let ok = g.b.ins().iconst(types::I32, 0);
        g.b.ins().return_(&[ok]);

        g.b.switch_to_block(trap_block);
        let flags = MemFlagsData::trusted();
        g.b.ins().store(flags, kind, trap_ptr, offset_of!(TrapRecord, kind) as i32);
        g.b.ins().store(flags, buffer, trap_ptr, offset_of!(TrapRecord, buffer) as i32);
        g.b.ins().store(flags, index, trap_ptr, offset_of!(TrapRecord, index) as i32);
        let failed = g.b.ins().iconst(types::I32, 1);
        g.b.ins().return_(&[failed]);
        g.b.seal_all_blocks();
        g.b.finalize(target);
    }

    /// Emits a block; its last segment's counts are flushed at its end.
    fn block(&mut self, body: &[Stmt]) {
        for stmt in body {
            self.stmt(stmt);
        }
        self.flush_counts();
    }

    /// Ends the pending segment: its counts go to the enclosing loop's
    /// tally, or are added to the counts array here.
    fn flush_counts(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        match self.scopes.last_mut() {
            Some(Scope::Loop(tally)) => tally.absorb(&pending),
            Some(Scope::Branch) | None => {
                for class in OpClass::ALL {
                    let n = pending.get(class);
                    if n != 0 {
                        let n = self.b.ins().iconst(types::I64, n as i64);
                        self.add_count(class, n);
                    }
                }
            }
        }
    }

    /// `counts[class] += n` (`n` an `i64` value).
    fn add_count(&mut self, class: OpClass, n: Value) {
        let offset = (8 * class as usize) as i32;
        let flags = MemFlagsData::trusted();
        let old = self.b.ins().load(types::I64, flags, self.counts, offset);
        let new = self.b.ins().iadd(old, n);
        self.b.ins().store(flags, new, self.counts, offset);
    }

    /// The counts of a finished loop: `per_iteration * trips + header *
    /// (trips + 1)` per class, `trips` an `i64` value.
    fn add_loop_counts(&mut self, per_iteration: &OpCounts, header: &OpCounts, trips: Value) {
        for class in OpClass::ALL {
            let (n, h) = (per_iteration.get(class), header.get(class));
            if n == 0 && h == 0 {
                continue;
            }
            let body = self.b.ins().imul_imm_u(trips, (n + h) as i64);
            let total = self.b.ins().iadd_imm_u(body, h as i64);
            // Inside an outer loop body this runs once per outer iteration.
            self.add_count(class, total);
        }
    }

    /// Adds the static counts of an expression tree to the pending segment.
    fn count(&mut self, e: &Expr) {
        if let Some(class) = OpClass::of_expr(e) {
            self.pending.add(class, 1);
        }
        match &e.kind {
            ExprKind::Const(_) | ExprKind::Local(_) => {}
            ExprKind::Load { index: arg, .. } | ExprKind::Unary { arg, .. } | ExprKind::Convert { arg, .. } => {
                self.count(arg)
            }
            ExprKind::Binary { lhs, rhs, .. } | ExprKind::Compare { lhs, rhs, .. } => {
                self.count(lhs);
                self.count(rhs);
            }
            ExprKind::Select { cond, then, otherwise } => {
                self.count(cond);
                self.count(then);
                self.count(otherwise);
            }
        }
    }

    fn stmt(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::Assign { local, value } => {
                self.count(value);
                let v = self.expr(value);
                self.b.def_var(self.vars[local.0 as usize], v);
            }
            Stmt::Store { buffer, index, value } => {
                self.count(index);
                self.count(value);
                self.pending.add(OpClass::Store, 1);
                let i = self.expr(index);
                let v = self.expr(value);
                let addr = self.address(*buffer, index.ty, i);
                self.b.ins().store(MemFlagsData::trusted(), v, addr, 0);
            }
            Stmt::If { cond, then_body, else_body } => {
                self.count(cond);
                self.pending.add(OpClass::Branch, 1);
                let c = self.expr(cond);
                self.flush_counts();
                let then_block = self.b.create_block();
                let else_block = self.b.create_block();
                let merge = self.b.create_block();
                self.b.ins().brif(c, then_block, &[], else_block, &[]);
                self.scopes.push(Scope::Branch);
                self.b.switch_to_block(then_block);
                self.block(then_body);
                self.b.ins().jump(merge, &[]);
                self.b.switch_to_block(else_block);
                self.block(else_body);
                self.b.ins().jump(merge, &[]);
                self.scopes.pop();
                self.b.switch_to_block(merge);
            }
            Stmt::For { var, start, end, body } => {
                self.count(start);
                self.count(end);
                let first = self.expr(start);
                let last = self.expr(end);
                self.flush_counts();
                let below = if start.ty == Ty::I32 { IntCC::SignedLessThan } else { IntCC::UnsignedLessThan };
                let header = self.b.create_block();
                let i = self.b.append_block_param(header, types::I32);
                let body_block = self.b.create_block();
                let exit = self.b.create_block();
                self.b.ins().jump(header, &[BlockArg::Value(first)]);
                self.b.switch_to_block(header);
                // The header runs trips + 1 times, the body trips times:
                // both are counted once, after the loop.
                let mut head = OpCounts::default();
                head.add(OpClass::Compare, 1);
                head.add(OpClass::Branch, 1);
                let more = self.b.ins().icmp(below, i, last);
                self.b.ins().brif(more, body_block, &[], exit, &[]);
                self.b.switch_to_block(body_block);
                self.b.def_var(self.vars[var.0 as usize], i);
                self.scopes.push(Scope::Loop(OpCounts::default()));
                self.pending.add(OpClass::IntArith, 1);
                self.block(body);
                let Some(Scope::Loop(per_iteration)) = self.scopes.pop() else { unreachable!("the loop's own scope") };
                let next = self.b.ins().iadd_imm_s(i, 1);
                self.b.ins().jump(header, &[BlockArg::Value(next)]);
                self.b.switch_to_block(exit);
                let trips = self.trips(start.ty, first, last);
                self.add_loop_counts(&per_iteration, &head, trips);
            }
            Stmt::Send { key, payload } => {
                self.count(key);
                if let Some(p) = payload {
                    self.count(p);
                }
                self.pending.add(OpClass::Send, 1);
                let key = self.expr(key);
                let (bits, has) = match payload {
                    Some(p) => {
                        let v = self.expr(p);
                        let bits = if p.ty == Ty::F32 { self.bits_of(v) } else { v };
                        (bits, self.b.ins().iconst(types::I32, 1))
                    }
                    None => (self.b.ins().iconst(types::I32, 0), self.b.ins().iconst(types::I32, 0)),
                };
                self.b.ins().call(self.send, &[self.outbox, key, bits, has]);
            }
        }
    }

    /// `max(0, last - first)` as an `i64`, in the loop variable's signedness.
    fn trips(&mut self, ty: Ty, first: Value, last: Value) -> Value {
        let (a, b, below) = if ty == Ty::I32 {
            (self.b.ins().sextend(types::I64, first), self.b.ins().sextend(types::I64, last), IntCC::SignedLessThan)
        } else {
            (self.b.ins().uextend(types::I64, first), self.b.ins().uextend(types::I64, last), IntCC::UnsignedLessThan)
        };
        let diff = self.b.ins().isub(b, a);
        let zero = self.b.ins().iconst(types::I64, 0);
        let runs = self.b.ins().icmp(below, first, last);
        self.b.ins().select(runs, diff, zero)
    }

    fn bits_of(&mut self, v: Value) -> Value {
        self.b.ins().bitcast(types::I32, MemFlagsData::new(), v)
    }

    /// Branches to the trap block with `(kind, buffer, index)` when `bad`.
    fn trap_if(&mut self, bad: Value, kind: i64, buffer: u32, index: Value) {
        let kind = self.b.ins().iconst(types::I32, kind);
        let buffer = self.b.ins().iconst(types::I32, i64::from(buffer));
        let cont = self.b.create_block();
        let args = [BlockArg::Value(kind), BlockArg::Value(buffer), BlockArg::Value(index)];
        self.b.ins().brif(bad, self.trap_block, &args, cont, &[]);
        self.b.switch_to_block(cont);
    }

    /// The address of `buffer[index]` after its bounds check.
    fn address(&mut self, buffer: BufferId, index_ty: Ty, index: Value) -> Value {
        let len = i64::from(self.kernel.buffers[buffer.0 as usize].len);
        let offset = 4 * self.kernel.first_word(buffer) as i64;
        let bad = self.b.ins().icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, index, len);
        let reported = if index_ty == Ty::I32 {
            self.b.ins().sextend(types::I64, index)
        } else {
            self.b.ins().uextend(types::I64, index)
        };
        self.trap_if(bad, TRAP_OUT_OF_BOUNDS, buffer.0, reported);
        let wide = self.b.ins().uextend(self.ptr, index);
        let scaled = self.b.ins().ishl_imm_u(wide, 2);
        let base = self.b.ins().iadd_imm_u(self.memory, offset);
        self.b.ins().iadd(base, scaled)
    }

    fn canonical(&mut self, x: Value) -> Value {
        let nan = self.b.ins().fcmp(FloatCC::Unordered, x, x);
        let canonical = self.b.ins().f32const(f32::from_bits(CANONICAL_NAN));
        self.b.ins().select(nan, canonical, x)
    }

    /// An expression's value, with every NaN the IR's canonical NaN.
    fn expr(&mut self, e: &Expr) -> Value {
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
    fn expr_raw(&mut self, e: &Expr) -> (Value, bool) {
        match &e.kind {
            ExprKind::Binary { op, lhs, rhs }
                if lhs.ty == Ty::F32 && matches!(op, BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div) =>
            {
                let (a, _) = self.expr_raw(lhs);
                let (b, _) = self.expr_raw(rhs);
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
    fn expr_clean(&mut self, e: &Expr) -> Value {
        match &e.kind {
            ExprKind::Const(v) => match v.ty() {
                Ty::F32 => self.b.ins().f32const(f32::from_bits(v.bits())),
                ty => self.b.ins().iconst(cl_type(ty), i64::from(v.bits())),
            },
            ExprKind::Local(id) => self.b.use_var(self.vars[id.0 as usize]),
            ExprKind::Load { buffer, index } => {
                let i = self.expr(index);
                let addr = self.address(*buffer, index.ty, i);
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

    fn unary(&mut self, op: UnaryOp, ty: Ty, a: Value) -> Value {
        let ins = self.b.ins();
        match (op, ty) {
            (UnaryOp::Neg, Ty::F32) => ins.fneg(a),
            (UnaryOp::Neg, _) => ins.ineg(a),
            (UnaryOp::Abs, _) => ins.fabs(a),
            // Raw: `expr` canonicalises its NaN (see `expr_raw`).
            (UnaryOp::Sqrt, _) => ins.sqrt(a),
            (UnaryOp::Not, Ty::Bool) => ins.bxor_imm_u(a, 1),
            (UnaryOp::Not, _) => ins.bnot(a),
        }
    }

    /// `f32` add, sub, mul and div give raw results: `expr` canonicalises
    /// their NaN (see `expr_raw`).
    fn binary(&mut self, op: BinaryOp, ty: Ty, a: Value, b: Value) -> Value {
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
                let zero = self.b.ins().iconst(types::I64, 0);
                let by_zero = self.b.ins().icmp_imm_s(IntCC::Equal, b, 0);
                self.trap_if(by_zero, TRAP_DIVISION_BY_ZERO, 0, zero);
                if signed {
                    let min = self.b.ins().icmp_imm_s(IntCC::Equal, a, i64::from(i32::MIN));
                    let minus_one = self.b.ins().icmp_imm_s(IntCC::Equal, b, -1);
                    let overflow = self.b.ins().band(min, minus_one);
                    self.trap_if(overflow, TRAP_DIVISION_OVERFLOW, 0, zero);
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

    fn compare(&mut self, op: CmpOp, ty: Ty, a: Value, b: Value) -> Value {
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

    fn convert(&mut self, op: ConvertOp, a: Value) -> Value {
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
