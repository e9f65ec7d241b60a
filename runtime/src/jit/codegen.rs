//! Code generation for one entry point: statements and control flow,
//! bounds-checked memory accesses, the trap block.

use std::mem::offset_of;

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    Block, BlockArg, FuncRef, InstBuilder, MemFlagsData, StackSlot, StackSlotData, StackSlotKind, Value, types,
};
use cranelift_frontend::{FunctionBuilder, Variable};
use snnc_compiler::kernel::analysis::const_int;
use snnc_compiler::kernel::{
    BufferId, DmaDir, Expr, ExprKind, Function, OpClass, OpCounts, Stmt, Ty, VerifiedKernel, dma_flits,
};

use super::ranges::Ranges;
use super::{SendBuffer, TRAP_OUT_OF_BOUNDS, TrapRecord, cl_type};

/// Code generation for one function.
pub(super) struct Gen<'a, 'b> {
    pub(super) b: FunctionBuilder<'b>,
    pub(super) kernel: &'a VerifiedKernel,
    pub(super) vars: Vec<Variable>,
    pub(super) send: FuncRef,
    /// `snnc_jit_dma`.
    pub(super) dma: FuncRef,
    pub(super) ptr: types::Type,
    /// The memory, outbox, counts and DRAM pointers: variables, reloaded
    /// from `saved` after every call, so that no value lives across a call.
    pub(super) memory: Variable,
    pub(super) outbox: Variable,
    pub(super) counts: Variable,
    pub(super) dram: Variable,
    pub(super) saved: StackSlot,
    /// The trap record's pointer (the function's parameter).
    pub(super) trap_ptr: Value,
    pub(super) trap_block: Block,
    /// Operations of the current straight-line segment not yet added to
    /// `counts`; empty at every control-flow edge.
    pub(super) pending: OpCounts,
    /// Where a finished segment's counts go: the innermost scope.
    pub(super) scopes: Vec<Scope>,
    /// The intervals of the function's locals (bounds checks left out).
    pub(super) ranges: Ranges,
    /// In a drain function, the index of the packet being handled (passed
    /// to every send and reported with a trap).
    pub(super) packet: Option<Variable>,
    /// Index values checked against a buffer length (`value < len`) on
    /// every path to the code being emitted: a later check of the same
    /// value against a length at least as large cannot fail.
    pub(super) checked: Vec<(Value, i64)>,
}

/// A scope of the count bookkeeping: a block of statements, whose
/// straight-line segments are tallied here at compile time.
pub(super) enum Scope {
    /// The top level of a loop body: it runs once per iteration, so its
    /// tally is added, times the trip count, once after the loop.
    Loop(LoopTally),
    /// The function's body or a branch of an `if`: it runs whole each time
    /// it is entered (or traps, after which counts are unspecified), so its
    /// tally is added once, at its end.
    Once(OpCounts),
}

/// The counts of a loop (or of a drain function's packet loop) known at
/// compile time.
pub(super) struct LoopTally {
    /// The top level of the body, per iteration.
    pub(super) per_iteration: OpCounts,
    /// Counters (`i64` variables, zero before the loop) not yet given to a
    /// branch.
    pub(super) spare: Vec<Variable>,
    /// Branches inside the body (not inside an inner loop) that count their
    /// runs in a register: each runs its tally once per increment of its
    /// counter, added as counter x tally after the loop, so the branch adds
    /// one to a register instead of each class's count to memory.
    pub(super) branches: Vec<(Variable, OpCounts)>,
}

/// At most this many branches of one loop body count their runs in a
/// register (the others add their tallies to memory each time).
const MAX_COUNTERS: usize = 32;

/// Where `saved` holds the DRAM pointer.
const SAVED_DRAM: i32 = 24;

/// Loops with constant bounds and at most this many iterations are unrolled.
const UNROLL_TRIPS: i64 = 8;

/// DMA statements of a constant word count up to this copy inline (a
/// weight packet's word, a DRAM-mode layer's weight or gradient row of up
/// to 256 neurons, a step's input bits).
const INLINE_DMA_WORDS: i64 = 256;
/// ... when the unrolled body has at most this many statements and
/// expression nodes.
const UNROLL_SIZE: usize = 256;

impl<'a, 'b> Gen<'a, 'b> {
    pub(super) fn emit(
        mut b: FunctionBuilder<'b>,
        kernel: &'a VerifiedKernel,
        function: &'a Function,
        [send, dma]: [FuncRef; 2],
        ptr: types::Type,
        target: cranelift_codegen::isa::TargetFrontendConfig,
        drain: bool,
    ) {
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let params = b.block_params(entry).to_vec();
        let (memory_ptr, dram_ptr, outbox_ptr, trap_ptr, counts_ptr) =
            (params[0], params[1], params[2], params[3], params[4]);
        let saved = b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, 32, 3));
        let pointers = [(memory_ptr, 0), (outbox_ptr, 8), (counts_ptr, 16), (dram_ptr, SAVED_DRAM)];
        let [memory, outbox, counts, dram] = pointers.map(|(v, at)| {
            b.ins().stack_store(ptr, v, saved, at);
            let var = b.declare_var(ptr);
            b.def_var(var, v);
            var
        });
        let vars: Vec<Variable> = function.locals.iter().map(|local| b.declare_var(cl_type(local.ty))).collect();
        // Locals start as the parameters, or zero.
        let init_locals = |b: &mut FunctionBuilder, args: &[Value]| {
            for (i, (local, &var)) in function.locals.iter().zip(&vars).enumerate() {
                let init = match local.ty {
                    _ if i < args.len() => args[i],
                    Ty::F32 => b.ins().f32const(0.0),
                    ty => b.ins().iconst(cl_type(ty), 0),
                };
                b.def_var(var, init);
            }
        };
        let nparams = function.entry.params().len();
        // A drain function: `(memory, dram, outbox, trap, counts, packets, n)`, the
        // body run once per `(key, payload)` pair of `packets`, each time on
        // fresh locals.
        let packet = drain.then(|| {
            let (packets, n) = (params[5], params[6]);
            let i = b.declare_var(types::I32);
            let zero = b.ins().iconst(types::I32, 0);
            b.def_var(i, zero);
            // The packet loop counts like a loop: its body's tally once per
            // packet, after the last.
            let spare = new_counters(&mut b, branches(&function.body));
            let header = b.create_block();
            let body = b.create_block();
            let exit = b.create_block();
            b.ins().jump(header, &[]);
            b.switch_to_block(header);
            let at = b.use_var(i);
            let more = b.ins().icmp(IntCC::UnsignedLessThan, at, n);
            b.ins().brif(more, body, &[], exit, &[]);
            b.seal_block(body);
            b.seal_block(exit);
            b.switch_to_block(body);
            let wide = b.ins().uextend(ptr, at);
            let offset = b.ins().ishl_imm_u(wide, 3);
            let pair = b.ins().iadd(packets, offset);
            let key = b.ins().load(types::I32, MemFlagsData::trusted(), pair, 0);
            let payload = b.ins().load(types::I32, MemFlagsData::trusted(), pair, 4);
            init_locals(&mut b, &[key, payload][..nparams]);
            (i, header, exit, n, spare)
        });
        if !drain {
            init_locals(&mut b, &params[5..5 + nparams]);
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
            dma,
            ptr,
            memory,
            outbox,
            counts,
            dram,
            saved,
            trap_ptr,
            trap_block,
            pending: OpCounts::default(),
            scopes: Vec::new(),
            ranges: Ranges::of_function(function),
            packet: packet.as_ref().map(|p| p.0),
            checked: Vec::new(),
        };
        if let Some((i, header, exit, n, spare)) = packet {
            g.scopes.push(Scope::Loop(LoopTally { per_iteration: OpCounts::default(), spare, branches: Vec::new() }));
            g.block(&function.body);
            let Some(Scope::Loop(tally)) = g.scopes.pop() else { unreachable!("the packet loop's own scope") };
            let at = g.b.use_var(i);
            let next = g.b.ins().iadd_imm_u(at, 1);
            g.b.def_var(i, next);
            g.b.ins().jump(header, &[]);
            g.b.seal_block(header);
            g.b.switch_to_block(exit);
            let trips = g.b.ins().uextend(types::I64, n);
            g.add_loop_counts(&tally, &OpCounts::default(), trips);
            let ok = g.b.ins().iconst(types::I32, 0);
            g.b.ins().return_(&[ok]);
        } else {
            g.once(&function.body);
            let ok = g.b.ins().iconst(types::I32, 0);
            g.b.ins().return_(&[ok]);
        }

        g.b.switch_to_block(trap_block);
        let flags = MemFlagsData::trusted();
        g.b.ins().store(flags, kind, trap_ptr, offset_of!(TrapRecord, kind) as i32);
        g.b.ins().store(flags, buffer, trap_ptr, offset_of!(TrapRecord, buffer) as i32);
        g.b.ins().store(flags, index, trap_ptr, offset_of!(TrapRecord, index) as i32);
        let at = g.packet_index();
        g.b.ins().store(flags, at, trap_ptr, offset_of!(TrapRecord, packet) as i32);
        let failed = g.b.ins().iconst(types::I32, 1);
        g.b.ins().return_(&[failed]);
        g.b.seal_all_blocks();
        g.b.finalize(target);
    }

    /// The index of the packet being handled: 0 outside a drain function.
    fn packet_index(&mut self) -> Value {
        match self.packet {
            Some(i) => self.b.use_var(i),
            None => self.b.ins().iconst(types::I32, 0),
        }
    }

    /// Emits a block; its last segment's counts go to its scope's tally.
    pub(super) fn block(&mut self, body: &[Stmt]) {
        for stmt in body {
            self.stmt(stmt);
        }
        self.flush_counts();
    }

    /// Emits a block that runs whole each time it is entered (a function
    /// body, a branch), adding its tallied counts at its end.
    fn once(&mut self, body: &[Stmt]) {
        self.scopes.push(Scope::Once(OpCounts::default()));
        let checked = self.checked.len();
        self.block(body);
        // What the block checked holds only inside it.
        self.checked.truncate(checked);
        let Some(Scope::Once(tally)) = self.scopes.pop() else { unreachable!("the block's own scope") };
        if tally == OpCounts::default() {
            return;
        }
        // Inside a loop, a spare counter of the innermost loop counts the
        // block's runs instead.
        let innermost = self.scopes.iter_mut().rev().find_map(|s| match s {
            Scope::Loop(l) => Some(l),
            Scope::Once(_) => None,
        });
        match innermost.and_then(|l| l.spare.pop().map(|counter| (l, counter))) {
            Some((l, counter)) => {
                l.branches.push((counter, tally));
                let k = self.b.use_var(counter);
                let k = self.b.ins().iadd_imm_u(k, 1);
                self.b.def_var(counter, k);
            }
            None => self.add_counts(&tally),
        }
    }

    pub(super) fn stmt(&mut self, stmt: &Stmt) {
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
                let addr = self.address(*buffer, index, i);
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
                // Blocks are sealed once all their predecessors are known, so
                // that a variable read after a branch is the value it had
                // before (what `checked` compares), not a new block parameter.
                self.b.seal_block(then_block);
                self.b.seal_block(else_block);
                self.b.switch_to_block(then_block);
                self.once(then_body);
                self.b.ins().jump(merge, &[]);
                self.b.switch_to_block(else_block);
                self.once(else_body);
                self.b.ins().jump(merge, &[]);
                self.b.seal_block(merge);
                self.b.switch_to_block(merge);
            }
            Stmt::For { var, start, end, body } => {
                self.count(start);
                self.count(end);
                if let Some(first) = unrolled(start, end, body) {
                    // Each copy of the body counts in the enclosing scope;
                    // the loop's own compares, branches and increments are
                    // known here.
                    let trips = first.len() as u64;
                    self.pending.add(OpClass::Compare, trips + 1);
                    self.pending.add(OpClass::Branch, trips + 1);
                    self.pending.add(OpClass::IntArith, trips);
                    for i in first {
                        let i = self.b.ins().iconst(types::I32, i64::from(i));
                        self.b.def_var(self.vars[var.0 as usize], i);
                        for stmt in body {
                            self.stmt(stmt);
                        }
                    }
                    return;
                }
                let first = self.expr(start);
                let last = self.expr(end);
                self.flush_counts();
                // An elementwise loop runs four iterations at a time first.
                let first = match super::vector::plan(*var, start.ty, body) {
                    Some(accesses) => self.vector_loop(start.ty, *var, [first, last], &accesses, body),
                    None => first,
                };
                let spare = new_counters(&mut self.b, branches(body));
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
                self.b.seal_block(body_block);
                self.b.seal_block(exit);
                self.b.switch_to_block(body_block);
                self.b.def_var(self.vars[var.0 as usize], i);
                self.scopes.push(Scope::Loop(LoopTally {
                    per_iteration: OpCounts::default(),
                    spare,
                    branches: Vec::new(),
                }));
                self.pending.add(OpClass::IntArith, 1);
                let checked = self.checked.len();
                self.block(body);
                self.checked.truncate(checked);
                let Some(Scope::Loop(tally)) = self.scopes.pop() else { unreachable!("the loop's own scope") };
                let next = self.b.ins().iadd_imm_s(i, 1);
                self.b.ins().jump(header, &[BlockArg::Value(next)]);
                self.b.seal_block(header);
                self.b.switch_to_block(exit);
                let trips = self.trips(start.ty, first, last);
                self.add_loop_counts(&tally, &head, trips);
            }
            Stmt::Dma { dir, buffer, index, dram, words } => self.dma(*dir, *buffer, [index, dram, words]),
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
                let outbox = self.b.use_var(self.outbox);
                let at = self.packet_index();
                self.emit_send(outbox, [key, bits, has], at);
            }
        }
    }

    /// Appends `[key, payload, has_payload]` to the send buffer `outbox`:
    /// in place while there is room, else (a cold path) through
    /// `snnc_jit_send`, after which the pointers are reloaded.
    fn emit_send(&mut self, outbox: Value, triple: [Value; 3], at: Value) {
        let flags = MemFlagsData::trusted();
        let field = |offset: usize| offset as i32;
        let len = self.b.ins().load(types::I64, flags, outbox, field(offset_of!(SendBuffer, len)));
        let cap = self.b.ins().load(types::I64, flags, outbox, field(offset_of!(SendBuffer, cap)));
        let full = self.b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, len, cap);
        let slow = self.b.create_block();
        self.b.set_cold_block(slow);
        let fast = self.b.create_block();
        let merge = self.b.create_block();
        self.b.ins().brif(full, slow, &[], fast, &[]);
        self.b.seal_block(slow);
        self.b.seal_block(fast);
        self.b.switch_to_block(fast);
        let data = self.b.ins().load(self.ptr, flags, outbox, field(offset_of!(SendBuffer, data)));
        let offset = self.b.ins().imul_imm_u(len, 12);
        let slot = self.b.ins().iadd(data, offset);
        for (i, v) in triple.into_iter().enumerate() {
            self.b.ins().store(flags, v, slot, 4 * i as i32);
        }
        let next = self.b.ins().iadd_imm_u(len, 1);
        self.b.ins().store(flags, next, outbox, field(offset_of!(SendBuffer, len)));
        // `start` becomes `len` when this send is the first of packet `at`.
        let last = self.b.ins().load(types::I32, flags, outbox, field(offset_of!(SendBuffer, packet)));
        let same = self.b.ins().icmp(IntCC::Equal, last, at);
        let start = self.b.ins().load(types::I64, flags, outbox, field(offset_of!(SendBuffer, start)));
        let start = self.b.ins().select(same, start, len);
        self.b.ins().store(flags, at, outbox, field(offset_of!(SendBuffer, packet)));
        self.b.ins().store(flags, start, outbox, field(offset_of!(SendBuffer, start)));
        self.b.ins().jump(merge, &[]);
        self.b.switch_to_block(slow);
        let [key, bits, has] = triple;
        self.b.ins().call(self.send, &[outbox, key, bits, has, at]);
        self.reload_pointers();
        self.b.ins().jump(merge, &[]);
        self.b.seal_block(merge);
        self.b.switch_to_block(merge);
    }

    /// After a call: the pointers from `saved`.
    fn reload_pointers(&mut self) {
        for (var, at) in [(self.memory, 0), (self.outbox, 8), (self.counts, 16), (self.dram, SAVED_DRAM)] {
            let v = self.b.ins().stack_load(self.ptr, self.ptr, self.saved, at);
            self.b.def_var(var, v);
        }
    }

    /// A DMA statement: its operands in order, widened to `i64` by type,
    /// then `snnc_jit_dma` (which checks, copies and counts the transfer);
    /// on its trap, the packet index goes to the record and the function
    /// returns 1. A transfer of a constant 1 ..= [`INLINE_DMA_WORDS`] words
    /// (a weight packet's one word into DRAM, a weight row) is copied and counted inline
    /// when both ranges are inside; otherwise (and always for other
    /// transfers) the call does it, traps included.
    fn dma(&mut self, dir: DmaDir, buffer: BufferId, operands: [&Expr; 3]) {
        for e in operands {
            self.count(e);
        }
        let wide: Vec<Value> = operands
            .into_iter()
            .map(|e| {
                let v = self.expr(e);
                self.wide(e.ty, v)
            })
            .collect();
        let len = i64::from(self.kernel.buffers[buffer.0 as usize].len);
        let dram_words = i64::from(self.kernel.dram_words);
        let words = const_int(operands[2]).unwrap_or(0);
        let merge = (1..=INLINE_DMA_WORDS).contains(&words) && words <= len && words <= dram_words;
        let merge = merge.then(|| self.inline_dma(dir, buffer, [wide[0], wide[1]], words));
        self.dma_call(dir, buffer, &wide);
        if let Some(merge) = merge {
            self.b.ins().jump(merge, &[]);
            self.b.seal_block(merge);
            self.b.switch_to_block(merge);
        }
    }

    /// [`Gen::dma`]'s inline path for `words` words: when the buffer's
    /// `index ..` and the region's `address ..` both fit, copies and counts
    /// them and jumps to the returned block; otherwise continues in a block
    /// left current (the call's).
    fn inline_dma(&mut self, dir: DmaDir, buffer: BufferId, [index, address]: [Value; 2], words: i64) -> Block {
        let len = i64::from(self.kernel.buffers[buffer.0 as usize].len);
        let dram_words = i64::from(self.kernel.dram_words);
        // As unsigned: a negative start is huge, so it fails too.
        let in_buffer = self.b.ins().icmp_imm_u(IntCC::UnsignedLessThanOrEqual, index, len - words);
        let in_region = self.b.ins().icmp_imm_u(IntCC::UnsignedLessThanOrEqual, address, dram_words - words);
        let inside = self.b.ins().band(in_buffer, in_region);
        let fast = self.b.create_block();
        let slow = self.b.create_block();
        let merge = self.b.create_block();
        self.b.ins().brif(inside, fast, &[], slow, &[]);
        self.b.seal_block(fast);
        self.b.seal_block(slow);
        self.b.switch_to_block(fast);
        let flags = MemFlagsData::trusted();
        let memory = self.b.use_var(self.memory);
        let sram_byte = self.b.ins().ishl_imm_u(index, 2);
        let sram = self.b.ins().iadd(memory, sram_byte);
        let sram = self.b.ins().iadd_imm_u(sram, 4 * self.kernel.first_word(buffer) as i64);
        let dram = self.b.use_var(self.dram);
        let dram_byte = self.b.ins().ishl_imm_u(address, 2);
        let dram = self.b.ins().iadd(dram, dram_byte);
        let (from, to) = match dir {
            DmaDir::Read => (dram, sram),
            DmaDir::Write => (sram, dram),
        };
        // Four words at a time as one 16-byte vector (raw bits: a copy, in
        // any alignment), the rest one by one.
        let lanes = MemFlagsData::new().with_notrap();
        let quads = words as i32 / 4;
        for q in 0..quads {
            let v = self.b.ins().load(types::I32X4, lanes, from, 16 * q);
            self.b.ins().store(lanes, v, to, 16 * q);
        }
        for w in 4 * quads..words as i32 {
            let v = self.b.ins().load(types::I32, flags, from, 4 * w);
            self.b.ins().store(flags, v, to, 4 * w);
        }
        let counts = self.b.use_var(self.counts);
        for (class, add) in [(OpClass::DmaTransfer, 1), (OpClass::DmaFlit, dma_flits(words as u32) as i64)] {
            let at = 8 * class as i32;
            let n = self.b.ins().load(types::I64, flags, counts, at);
            let n = self.b.ins().iadd_imm_u(n, add);
            self.b.ins().store(flags, n, counts, at);
        }
        self.b.ins().jump(merge, &[]);
        self.b.switch_to_block(slow);
        merge
    }

    /// [`Gen::dma`]'s call of `snnc_jit_dma`.
    fn dma_call(&mut self, dir: DmaDir, buffer: BufferId, wide: &[Value]) {
        let b = &self.kernel.buffers[buffer.0 as usize];
        let first_word = self.kernel.first_word(buffer) as i64;
        let immediates = [i64::from(buffer.0), first_word, i64::from(b.len), i64::from(self.kernel.dram_words)];
        let mut args =
            vec![self.b.use_var(self.memory), self.b.use_var(self.dram), self.b.use_var(self.counts), self.trap_ptr];
        for imm in immediates {
            args.push(self.b.ins().iconst(types::I32, imm));
        }
        args.push(self.b.ins().iconst(types::I32, i64::from(dir == DmaDir::Write)));
        args.extend_from_slice(wide);
        let call = self.b.ins().call(self.dma, &args);
        let failed = self.b.inst_results(call)[0];
        self.reload_pointers();
        let cold = self.b.create_block();
        self.b.set_cold_block(cold);
        let cont = self.b.create_block();
        self.b.ins().brif(failed, cold, &[], cont, &[]);
        self.b.seal_block(cold);
        self.b.seal_block(cont);
        self.b.switch_to_block(cold);
        let at = self.packet_index();
        self.b.ins().store(MemFlagsData::trusted(), at, self.trap_ptr, offset_of!(TrapRecord, packet) as i32);
        let one = self.b.ins().iconst(types::I32, 1);
        self.b.ins().return_(&[one]);
        self.b.switch_to_block(cont);
    }

    /// `max(0, last - first)` as an `i64`, in the loop variable's signedness.
    pub(super) fn trips(&mut self, ty: Ty, first: Value, last: Value) -> Value {
        let (a, b) = (self.wide(ty, first), self.wide(ty, last));
        let below = if ty == Ty::I32 { IntCC::SignedLessThan } else { IntCC::UnsignedLessThan };
        let diff = self.b.ins().isub(b, a);
        let zero = self.b.ins().iconst(types::I64, 0);
        let runs = self.b.ins().icmp(below, first, last);
        self.b.ins().select(runs, diff, zero)
    }

    /// `v`, an integer of type `ty`, as an `i64` (`i32` sign-extended,
    /// `u32` and `bool` zero-extended).
    pub(super) fn wide(&mut self, ty: Ty, v: Value) -> Value {
        if ty == Ty::I32 { self.b.ins().sextend(types::I64, v) } else { self.b.ins().uextend(types::I64, v) }
    }

    pub(super) fn bits_of(&mut self, v: Value) -> Value {
        self.b.ins().bitcast(types::I32, MemFlagsData::new(), v)
    }

    /// Branches to the trap block with `(kind, buffer, index)` when `bad`,
    /// through a cold block that sets the arguments (`index`: a value of
    /// type `ty`, reported as an `i64`; none reports 0), so that the path
    /// taken computes only `bad`.
    pub(super) fn trap_if(&mut self, bad: Value, kind: i64, buffer: u32, index: Option<(Value, Ty)>) {
        let cold = self.b.create_block();
        self.b.set_cold_block(cold);
        let cont = self.b.create_block();
        self.b.ins().brif(bad, cold, &[], cont, &[]);
        self.b.seal_block(cold);
        self.b.seal_block(cont);
        self.b.switch_to_block(cold);
        let kind = self.b.ins().iconst(types::I32, kind);
        let buffer = self.b.ins().iconst(types::I32, i64::from(buffer));
        let index = match index {
            Some((index, ty)) => self.wide(ty, index),
            None => self.b.ins().iconst(types::I64, 0),
        };
        let args = [BlockArg::Value(kind), BlockArg::Value(buffer), BlockArg::Value(index)];
        self.b.ins().jump(self.trap_block, &args);
        self.b.switch_to_block(cont);
    }

    /// The address of `buffer[index]` (`value` is `index`'s value), after
    /// its bounds check unless `index`'s range lies inside the buffer or the
    /// same value passed a check against a length at most `buffer`'s on
    /// every path here.
    pub(super) fn address(&mut self, buffer: BufferId, index: &Expr, value: Value) -> Value {
        let len = i64::from(self.kernel.buffers[buffer.0 as usize].len);
        let offset = 4 * self.kernel.first_word(buffer) as i64;
        let inside = matches!(self.ranges.of(index), Some((lo, hi)) if lo >= 0 && hi < len)
            || self.checked.iter().any(|&(v, l)| v == value && l <= len);
        if !inside {
            let bad = self.b.ins().icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, value, len);
            self.trap_if(bad, TRAP_OUT_OF_BOUNDS, buffer.0, Some((value, index.ty)));
            self.checked.push((value, len));
        }
        let wide = self.b.ins().uextend(self.ptr, value);
        let scaled = self.b.ins().ishl_imm_u(wide, 2);
        let memory = self.b.use_var(self.memory);
        let base = self.b.ins().iadd_imm_u(memory, offset);
        self.b.ins().iadd(base, scaled)
    }
}

/// The loop variable's values (as 32-bit patterns) when a loop is to be
/// unrolled: constant bounds, a few iterations, a small body.
fn unrolled(start: &Expr, end: &Expr, body: &[Stmt]) -> Option<Vec<u32>> {
    let (ExprKind::Const(first), ExprKind::Const(last)) = (&start.kind, &end.kind) else { return None };
    let (first, last) = match start.ty {
        Ty::I32 => (i64::from(first.bits() as i32), i64::from(last.bits() as i32)),
        _ => (i64::from(first.bits()), i64::from(last.bits())),
    };
    let trips = (last - first).max(0);
    if trips > UNROLL_TRIPS || trips as usize * size(body) > UNROLL_SIZE {
        return None;
    }
    Some((first..last).map(|i| i as u32).collect())
}

/// `n` counters (at most [`MAX_COUNTERS`]), zero from here on.
fn new_counters(b: &mut FunctionBuilder, n: usize) -> Vec<Variable> {
    (0..n.min(MAX_COUNTERS))
        .map(|_| {
            let counter = b.declare_var(types::I64);
            let zero = b.ins().iconst(types::I64, 0);
            b.def_var(counter, zero);
            counter
        })
        .collect()
}

/// The branches (blocks emitted by `Gen::once`) of a loop body outside its
/// inner loops: those that may take one of its counters.
fn branches(body: &[Stmt]) -> usize {
    body.iter()
        .map(|s| match s {
            Stmt::If { then_body, else_body, .. } => 2 + branches(then_body) + branches(else_body),
            Stmt::For { start, end, body, .. } => unrolled(start, end, body).map_or(0, |i| i.len() * branches(body)),
            Stmt::Assign { .. } | Stmt::Store { .. } | Stmt::Send { .. } | Stmt::Dma { .. } => 0,
        })
        .sum()
}

/// Statements and expression nodes of a block.
fn size(body: &[Stmt]) -> usize {
    fn expr(e: &Expr) -> usize {
        1 + match &e.kind {
            ExprKind::Const(_) | ExprKind::Local(_) => 0,
            ExprKind::Load { index: a, .. } | ExprKind::Unary { arg: a, .. } | ExprKind::Convert { arg: a, .. } => {
                expr(a)
            }
            ExprKind::Binary { lhs, rhs, .. } | ExprKind::Compare { lhs, rhs, .. } => expr(lhs) + expr(rhs),
            ExprKind::Select { cond, then, otherwise } => expr(cond) + expr(then) + expr(otherwise),
        }
    }
    body.iter()
        .map(|s| {
            1 + match s {
                Stmt::Assign { value, .. } => expr(value),
                Stmt::Store { index, value, .. } => expr(index) + expr(value),
                Stmt::If { cond, then_body, else_body } => expr(cond) + size(then_body) + size(else_body),
                Stmt::For { start, end, body, .. } => expr(start) + expr(end) + size(body),
                Stmt::Send { key, payload } => expr(key) + payload.as_ref().map_or(0, expr),
                Stmt::Dma { index, dram, words, .. } => expr(index) + expr(dram) + expr(words),
            }
        })
        .sum()
}
