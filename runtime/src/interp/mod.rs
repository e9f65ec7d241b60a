//! Interpreter: the reference semantics of the kernel IR.
//!
//! Input: a verified [`Kernel`], an [`Invocation`], the PE's memory image (a
//! slice of little-endian 32-bit words, at least [`Kernel::memory_words`]
//! long) and an outbox.
//! Output: the memory updated in place, the sent packets appended to the
//! outbox in send order, the executed operations added to an [`OpCounts`]
//! (counted node by node, see [`OpClass`]), or the [`Trap`] that stopped the
//! entry point (stores and sends before it remain).
//!
//! Every value is held as its 32 bits (`bool` as 0 or 1) and each operation
//! is chosen by the static type of its operands, exactly as documented in
//! `snnc_compiler::kernel`. Evaluation order, which decides the first trap:
//! operands left to right, depth first; `select` evaluates the condition then
//! both arms; a store evaluates its index, then its value, then checks the
//! bounds; `send` evaluates the key then the payload; `for` evaluates the start
//! then the end.
//!
//! Invariant: the Cranelift JIT (`crate::jit`) produces the same memory, the
//! same packets and the same trap for every verified kernel and input
//! (differential tests in `runtime/tests/kernel_*.rs`).

use snnc_compiler::kernel::{
    BinaryOp, BufferId, CANONICAL_NAN, CmpOp, ConvertOp, Expr, ExprKind, Invocation, Kernel, KernelErrors, OpClass,
    OpCounts, Packet, Stmt, Trap, Ty, UnaryOp, verify,
};

/// A verified kernel, ready to interpret.
#[derive(Clone, Debug)]
pub struct Interpreter {
    kernel: Kernel,
}

impl Interpreter {
    /// Verifies the kernel; an invalid kernel is refused.
    pub fn new(kernel: &Kernel) -> Result<Self, KernelErrors> {
        verify(kernel)?;
        Ok(Interpreter { kernel: kernel.clone() })
    }

    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    /// Runs one entry point on `memory`, appending sent packets to `outbox`
    /// and adding the executed operations to `counts`.
    pub fn run(
        &self,
        invocation: Invocation,
        memory: &mut [u32],
        outbox: &mut Vec<Packet>,
        counts: &mut OpCounts,
    ) -> Result<(), Trap> {
        self.kernel.check_memory(memory.len())?;
        let Some(function) = self.kernel.function(invocation.entry()) else {
            return Ok(());
        };
        let mut locals = vec![0u32; function.locals.len()];
        let params = function.entry.params().len();
        for (slot, arg) in locals.iter_mut().zip(invocation.args()).take(params) {
            *slot = arg;
        }
        let mut frame = Frame { kernel: &self.kernel, locals, memory, outbox, counts };
        frame.block(&function.body)
    }
}

struct Frame<'a> {
    kernel: &'a Kernel,
    locals: Vec<u32>,
    memory: &'a mut [u32],
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
            return Ok((b.offset / 4) as usize + index as usize);
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
            ExprKind::Unary { op, arg } => unary(*op, arg.ty, self.expr(arg)?),
            ExprKind::Binary { op, lhs, rhs } => {
                let a = self.expr(lhs)?;
                let b = self.expr(rhs)?;
                binary(*op, lhs.ty, a, b).map_err(|fault| fault.trap(&self.kernel.name))?
            }
            ExprKind::Compare { op, lhs, rhs } => {
                let a = self.expr(lhs)?;
                let b = self.expr(rhs)?;
                u32::from(compare(*op, lhs.ty, a, b))
            }
            ExprKind::Select { cond, then, otherwise } => {
                let c = self.expr(cond)?;
                let a = self.expr(then)?;
                let b = self.expr(otherwise)?;
                if c != 0 { a } else { b }
            }
            ExprKind::Convert { op, arg } => convert(*op, self.expr(arg)?),
        })
    }
}

fn f(bits: u32) -> f32 {
    f32::from_bits(bits)
}

/// The bits of an `f32` arithmetic result, NaN made canonical.
fn canonical(x: f32) -> u32 {
    if x.is_nan() { CANONICAL_NAN } else { x.to_bits() }
}

fn unary(op: UnaryOp, ty: Ty, a: u32) -> u32 {
    match (op, ty) {
        (UnaryOp::Neg, Ty::F32) => a ^ 0x8000_0000,
        (UnaryOp::Neg, _) => a.wrapping_neg(),
        (UnaryOp::Abs, _) => a & 0x7fff_ffff,
        (UnaryOp::Sqrt, _) => canonical(f(a).sqrt()),
        (UnaryOp::Not, Ty::Bool) => a ^ 1,
        (UnaryOp::Not, _) => !a,
    }
}

/// An integer division fault, before it is attributed to a kernel.
enum Fault {
    DivisionByZero,
    DivisionOverflow,
}

impl Fault {
    fn trap(self, kernel: &str) -> Trap {
        let kernel = kernel.to_string();
        match self {
            Fault::DivisionByZero => Trap::IntegerDivisionByZero { kernel },
            Fault::DivisionOverflow => Trap::IntegerDivisionOverflow { kernel },
        }
    }
}

fn binary(op: BinaryOp, ty: Ty, a: u32, b: u32) -> Result<u32, Fault> {
    if ty == Ty::F32 {
        let (x, y) = (f(a), f(b));
        return Ok(match op {
            BinaryOp::Add => canonical(x + y),
            BinaryOp::Sub => canonical(x - y),
            BinaryOp::Mul => canonical(x * y),
            BinaryOp::Div => canonical(x / y),
            BinaryOp::Min => {
                if x < y {
                    a
                } else {
                    b
                }
            }
            BinaryOp::Max => {
                if x > y {
                    a
                } else {
                    b
                }
            }
            BinaryOp::Rem | BinaryOp::And | BinaryOp::Or | BinaryOp::Xor | BinaryOp::Shl | BinaryOp::Shr => {
                unreachable!("the verifier rejects `{}` on f32", op.name())
            }
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
        BinaryOp::Min => {
            if compare(CmpOp::Lt, ty, a, b) {
                a
            } else {
                b
            }
        }
        BinaryOp::Max => {
            if compare(CmpOp::Gt, ty, a, b) {
                a
            } else {
                b
            }
        }
        BinaryOp::And => a & b,
        BinaryOp::Or => a | b,
        BinaryOp::Xor => a ^ b,
        BinaryOp::Shl => a.wrapping_shl(b),
        BinaryOp::Shr if signed => sa.wrapping_shr(b) as u32,
        BinaryOp::Shr => a.wrapping_shr(b),
    })
}

fn compare(op: CmpOp, ty: Ty, a: u32, b: u32) -> bool {
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

fn convert(op: ConvertOp, a: u32) -> u32 {
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
