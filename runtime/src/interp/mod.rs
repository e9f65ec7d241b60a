//! Interpreter: the reference semantics of the kernel IR.
//!
//! Input: a [`VerifiedKernel`] (not verified again), an [`Invocation`], the
//! PE's memory image (a slice of little-endian 32-bit words, at least
//! [`memory_words`](snnc_compiler::kernel::Kernel::memory_words) long), its
//! private DRAM region (at least
//! [`dram_words`](snnc_compiler::kernel::Kernel::dram_words) long; empty for a
//! kernel without one) and an outbox.
//! Output: the memory and the DRAM region updated in place, the sent packets appended to the
//! outbox in send order, the executed operations added to an [`OpCounts`]
//! (counted node by node, see [`OpClass`]), or the [`Trap`] that stopped the
//! entry point (stores and sends before it remain).
//!
//! Every value is held as its 32 bits (`bool` as 0 or 1) and each operation
//! is chosen by the static type of its operands and computed by
//! `snnc_compiler::kernel::eval`, the IR's one evaluator (which the C
//! backend's constant folding also uses). This module adds the statements,
//! memory, packets, operation counts and traps. Evaluation order, which decides the first trap:
//! operands left to right, depth first; `select` evaluates the condition then
//! both arms; a store evaluates its index, then its value, then checks the
//! bounds; `send` evaluates the key then the payload; `for` evaluates the start
//! then the end; a DMA statement evaluates its index, DRAM address and words,
//! then checks both ranges (`kernel::dma_check`, shared with the JIT).
//!
//! Invariant: the Cranelift JIT (`crate::jit`) produces the same memory, the
//! same packets and the same trap for every verified kernel and input
//! (differential tests in `runtime/tests/kernel_*.rs`).

use snnc_compiler::kernel::{
    BufferId, DmaDir, Expr, ExprKind, Invocation, OpClass, OpCounts, Packet, Stmt, Trap, Ty, VerifiedKernel, dma_check,
    dma_flits, eval,
};

/// A verified kernel, ready to interpret.
#[derive(Clone, Debug)]
pub struct Interpreter {
    kernel: VerifiedKernel,
}

impl Interpreter {
    pub fn new(kernel: &VerifiedKernel) -> Self {
        Interpreter { kernel: kernel.clone() }
    }

    pub fn kernel(&self) -> &VerifiedKernel {
        &self.kernel
    }

    /// Runs one entry point on `memory` and the DRAM region `dram`,
    /// appending sent packets to `outbox` and adding the executed operations
    /// to `counts`.
    pub fn run(
        &self,
        invocation: Invocation,
        memory: &mut [u32],
        dram: &mut [u32],
        outbox: &mut Vec<Packet>,
        counts: &mut OpCounts,
    ) -> Result<(), Trap> {
        self.kernel.check_memory(memory.len())?;
        self.kernel.check_dram(dram.len())?;
        let function = self.kernel.function(invocation.entry());
        let mut locals = vec![0u32; function.locals.len()];
        let params = function.entry.params().len();
        for (slot, arg) in locals.iter_mut().zip(invocation.args()).take(params) {
            *slot = arg;
        }
        let mut frame = Frame { kernel: &self.kernel, locals, memory, dram, outbox, counts };
        frame.block(&function.body)
    }
}

struct Frame<'a> {
    kernel: &'a VerifiedKernel,
    locals: Vec<u32>,
    memory: &'a mut [u32],
    dram: &'a mut [u32],
    outbox: &'a mut Vec<Packet>,
    counts: &'a mut OpCounts,
}

impl Frame<'_> {
    fn block(&mut self, body: &[Stmt]) -> Result<(), Trap> {
        for stmt in body {
            self.stmt(stmt)?;
        }
        Ok(())
    }

    fn stmt(&mut self, stmt: &Stmt) -> Result<(), Trap> {
        match stmt {
            Stmt::Assign { local, value } => {
                let v = self.expr(value)?;
                self.locals[local.0 as usize] = v;
            }
            Stmt::Store { buffer, index, value } => {
                let i = self.expr(index)?;
                let v = self.expr(value)?;
                let word = self.word(*buffer, index.ty, i)?;
                self.memory[word] = v;
                self.counts.add(OpClass::Store, 1);
            }
            Stmt::If { cond, then_body, else_body } => {
                let c = self.expr(cond)?;
                self.counts.add(OpClass::Branch, 1);
                if c != 0 {
                    self.block(then_body)?;
                } else {
                    self.block(else_body)?;
                }
            }
            Stmt::For { var, start, end, body } => {
                let start_bits = self.expr(start)?;
                let end_bits = self.expr(end)?;
                let (first, last) = match start.ty {
                    Ty::I32 => (i64::from(start_bits as i32), i64::from(end_bits as i32)),
                    _ => (i64::from(start_bits), i64::from(end_bits)),
                };
                let iterations = (last - first).max(0) as u64;
                self.counts.add(OpClass::Compare, iterations + 1);
                self.counts.add(OpClass::Branch, iterations + 1);
                self.counts.add(OpClass::IntArith, iterations);
                for i in first..last {
                    self.locals[var.0 as usize] = i as u32;
                    self.block(body)?;
                }
            }
            Stmt::Dma { dir, buffer, index, dram, words } => {
                let i = self.expr(index)?;
                let a = self.expr(dram)?;
                let w = self.expr(words)?;
                let b = &self.kernel.buffers[buffer.0 as usize];
                let n = dma_check(self.kernel, b, (index.ty, i), (dram.ty, a), (words.ty, w))? as usize;
                if n > 0 {
                    let sram = self.kernel.first_word(*buffer) + i as usize;
                    let (sram, dram) = (&mut self.memory[sram..sram + n], &mut self.dram[a as usize..a as usize + n]);
                    match dir {
                        DmaDir::Read => sram.copy_from_slice(dram),
                        DmaDir::Write => dram.copy_from_slice(sram),
                    }
                    self.counts.add(OpClass::DmaTransfer, 1);
                    self.counts.add(OpClass::DmaFlit, dma_flits(n as u32));
                }
            }
            Stmt::Send { key, payload } => {
                let key = self.expr(key)?;
                let payload = payload.as_ref().map(|p| self.expr(p)).transpose()?;
                self.outbox.push(Packet { key, payload });
                self.counts.add(OpClass::Send, 1);
            }
        }
        Ok(())
    }

    /// The memory word of `buffer[index]`, or the out-of-bounds trap.
    fn word(&self, buffer: BufferId, index_ty: Ty, index: u32) -> Result<usize, Trap> {
        let b = &self.kernel.buffers[buffer.0 as usize];
        if index < b.len {
            return Ok(self.kernel.first_word(buffer) + index as usize);
        }
        let index = if index_ty == Ty::I32 { i64::from(index as i32) } else { i64::from(index) };
        Err(Trap::OutOfBounds { kernel: self.kernel.name.clone(), buffer: b.name.clone(), index, len: b.len })
    }

    fn expr(&mut self, e: &Expr) -> Result<u32, Trap> {
        if let Some(class) = OpClass::of_expr(e) {
            self.counts.add(class, 1);
        }
        Ok(match &e.kind {
            ExprKind::Const(v) => v.bits(),
            ExprKind::Local(id) => self.locals[id.0 as usize],
            ExprKind::Load { buffer, index } => {
                let i = self.expr(index)?;
                self.memory[self.word(*buffer, index.ty, i)?]
            }
            ExprKind::Unary { op, arg } => eval::unary(*op, arg.ty, self.expr(arg)?),
            ExprKind::Binary { op, lhs, rhs } => {
                let a = self.expr(lhs)?;
                let b = self.expr(rhs)?;
                eval::binary(*op, lhs.ty, a, b).map_err(|fault| fault.trap(&self.kernel.name))?
            }
            ExprKind::Compare { op, lhs, rhs } => {
                let a = self.expr(lhs)?;
                let b = self.expr(rhs)?;
                u32::from(eval::compare(*op, lhs.ty, a, b))
            }
            ExprKind::Select { cond, then, otherwise } => {
                let c = self.expr(cond)?;
                let a = self.expr(then)?;
                let b = self.expr(otherwise)?;
                eval::select(c != 0, a, b)
            }
            ExprKind::Convert { op, arg } => eval::convert(*op, self.expr(arg)?),
        })
    }
}
