//! Builders for kernels: buffers are laid out in declaration order, functions
//! are written with closures for structured control flow, and expressions are
//! combined with Rust operators (`a + b`, `a & b`, `-a`, `!a`) or methods.
//!
//! Builders never check types: [`super::verify`] does, once, on the result.

use std::collections::BTreeSet;
use std::ops;

use super::{
    BinaryOp, Buffer, BufferId, CmpOp, ConvertOp, DEFAULT_DATA_BUDGET, DmaDir, EntryPoint, Expr, ExprKind, Function,
    Kernel, Local, LocalId, Stmt, Ty, UnaryOp, Value,
};

/// A buffer declared with [`KernelBuilder::buffer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufRef {
    pub id: BufferId,
    pub elem: Ty,
}

impl BufRef {
    /// `buffer[index]`.
    pub fn at(self, index: Expr) -> Expr {
        Expr { ty: self.elem, kind: ExprKind::Load { buffer: self.id, index: Box::new(index) } }
    }
}

/// A local declared with a [`FunctionBuilder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Var {
    pub id: LocalId,
    pub ty: Ty,
}

impl Var {
    /// The local's current value.
    pub fn get(self) -> Expr {
        Expr { ty: self.ty, kind: ExprKind::Local(self.id) }
    }
}

/// Builds a [`Kernel`]: declare buffers, then add one function per entry point.
#[derive(Debug)]
pub struct KernelBuilder {
    kernel: Kernel,
    next_offset: u64,
}

impl KernelBuilder {
    /// A kernel with the default 96 KiB data budget.
    pub fn new(name: &str) -> Self {
        KernelBuilder::with_budget(name, DEFAULT_DATA_BUDGET)
    }

    pub fn with_budget(name: &str, budget: u32) -> Self {
        KernelBuilder {
            kernel: Kernel {
                name: name.to_string(),
                budget,
                dram_words: 0,
                buffers: Vec::new(),
                functions: Vec::new(),
            },
            next_offset: 0,
        }
    }

    /// Declares a buffer of `len` elements right after the previous one.
    /// An offset beyond `u32` saturates; the verifier reports it as over budget.
    pub fn buffer(&mut self, name: &str, elem: Ty, len: u32) -> BufRef {
        let id = BufferId(self.kernel.buffers.len() as u32);
        let offset = u32::try_from(self.next_offset).unwrap_or(u32::MAX);
        self.kernel.buffers.push(Buffer { name: name.to_string(), elem, len, offset });
        self.next_offset += 4 * u64::from(len);
        BufRef { id, elem }
    }

    /// Gives the PE a private DRAM region of `words` 32-bit words (0: none),
    /// which DMA statements reach.
    pub fn dram(&mut self, words: u32) {
        self.kernel.dram_words = words;
    }

    /// The byte offset the next [`KernelBuilder::buffer`] will get.
    pub fn next_offset(&self) -> u64 {
        self.next_offset
    }

    /// Adds a function (replacing an earlier one for the same entry point).
    pub fn define(&mut self, function: Function) {
        self.kernel.functions.retain(|f| f.entry != function.entry);
        self.kernel.functions.push(function);
    }

    /// The kernel, with an empty function for every entry point not defined,
    /// functions in [`EntryPoint::ALL`] order.
    pub fn finish(mut self) -> Kernel {
        for entry in EntryPoint::ALL {
            if self.kernel.function(entry).is_none() {
                self.kernel.functions.push(FunctionBuilder::new(entry).finish());
            }
        }
        self.kernel.functions.sort_by_key(|f| f.entry);
        self.kernel
    }
}

/// Builds one [`Function`]. Statements go to the innermost open block.
#[derive(Debug)]
pub struct FunctionBuilder {
    entry: EntryPoint,
    locals: Vec<Local>,
    names: BTreeSet<String>,
    blocks: Vec<Vec<Stmt>>,
}

impl FunctionBuilder {
    /// A function whose first locals are the entry point's parameters.
    pub fn new(entry: EntryPoint) -> Self {
        let mut fb = FunctionBuilder { entry, locals: Vec::new(), names: BTreeSet::new(), blocks: vec![Vec::new()] };
        for &(name, ty) in entry.params() {
            fb.local(name, ty);
        }
        fb
    }

    /// The parameters, in order.
    pub fn params(&self) -> Vec<Var> {
        (0..self.entry.params().len()).map(|i| Var { id: LocalId(i as u32), ty: self.locals[i].ty }).collect()
    }

    /// Declares a local. A name already used gets a numeric suffix, so
    /// helpers can declare temporaries freely.
    pub fn local(&mut self, name: &str, ty: Ty) -> Var {
        let mut unique = name.to_string();
        let mut n = 1;
        while self.names.contains(&unique) {
            unique = format!("{name}_{n}");
            n += 1;
        }
        self.names.insert(unique.clone());
        let id = LocalId(self.locals.len() as u32);
        self.locals.push(Local { name: unique, ty });
        Var { id, ty }
    }

    /// Declares a local of the value's type and assigns the value to it.
    pub fn let_(&mut self, name: &str, value: Expr) -> Var {
        let var = self.local(name, value.ty);
        self.assign(var, value);
        var
    }

    pub fn assign(&mut self, var: Var, value: Expr) {
        self.push(Stmt::Assign { local: var.id, value });
    }

    /// `buffer[index] = value`.
    pub fn store(&mut self, buffer: BufRef, index: Expr, value: Expr) {
        self.push(Stmt::Store { buffer: buffer.id, index, value });
    }

    /// Sends a packet without payload.
    pub fn send(&mut self, key: Expr) {
        self.push(Stmt::Send { key, payload: None });
    }

    /// Sends a packet with the payload's 32 bits.
    pub fn send_with(&mut self, key: Expr, payload: Expr) {
        self.push(Stmt::Send { key, payload: Some(payload) });
    }

    /// `dma_read buf[index], dram[dram], words`: copies DRAM words
    /// `dram .. dram + words` into `buf[index .. index + words]`.
    pub fn dma_read(&mut self, buf: BufRef, index: Expr, dram: Expr, words: Expr) {
        self.push(Stmt::Dma { dir: DmaDir::Read, buffer: buf.id, index, dram, words });
    }

    /// `dma_write buf[index], dram[dram], words`: copies
    /// `buf[index .. index + words]` into DRAM words `dram .. dram + words`.
    pub fn dma_write(&mut self, buf: BufRef, index: Expr, dram: Expr, words: Expr) {
        self.push(Stmt::Dma { dir: DmaDir::Write, buffer: buf.id, index, dram, words });
    }

    /// `if cond { then }`.
    pub fn if_(&mut self, cond: Expr, then: impl FnOnce(&mut Self)) {
        self.if_else(cond, then, |_| {});
    }

    /// `if cond { then } else { otherwise }`.
    pub fn if_else(&mut self, cond: Expr, then: impl FnOnce(&mut Self), otherwise: impl FnOnce(&mut Self)) {
        let then_body = self.block(then);
        let else_body = self.block(otherwise);
        self.push(Stmt::If { cond, then_body, else_body });
    }

    /// `for var in start..end { body(var) }`; the variable has `start`'s type.
    pub fn for_range(&mut self, name: &str, start: Expr, end: Expr, body: impl FnOnce(&mut Self, Var)) {
        let var = self.local(name, start.ty);
        let body = self.block(|fb| body(fb, var));
        self.push(Stmt::For { var: var.id, start, end, body });
    }

    pub fn finish(mut self) -> Function {
        let body = self.blocks.pop().unwrap_or_default();
        Function { entry: self.entry, locals: self.locals, body }
    }

    /// Runs `fill` on a fresh block and returns its statements (to build a
    /// [`Stmt`] by hand and [`FunctionBuilder::push`] it).
    pub fn block(&mut self, fill: impl FnOnce(&mut Self)) -> Vec<Stmt> {
        self.blocks.push(Vec::new());
        fill(self);
        self.blocks.pop().unwrap_or_default()
    }

    /// Appends a statement to the innermost open block.
    pub fn push(&mut self, stmt: Stmt) {
        if let Some(block) = self.blocks.last_mut() {
            block.push(stmt);
        }
    }
}

impl Expr {
    pub fn constant(value: Value) -> Expr {
        Expr { ty: value.ty(), kind: ExprKind::Const(value) }
    }
    pub fn f32(x: f32) -> Expr {
        Expr::constant(Value::F32(x))
    }
    pub fn i32(x: i32) -> Expr {
        Expr::constant(Value::I32(x))
    }
    pub fn u32(x: u32) -> Expr {
        Expr::constant(Value::U32(x))
    }
    pub fn bool(x: bool) -> Expr {
        Expr::constant(Value::Bool(x))
    }

    pub fn unary(op: UnaryOp, arg: Expr) -> Expr {
        Expr { ty: arg.ty, kind: ExprKind::Unary { op, arg: Box::new(arg) } }
    }
    pub fn binary(op: BinaryOp, lhs: Expr, rhs: Expr) -> Expr {
        Expr { ty: lhs.ty, kind: ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) } }
    }
    pub fn compare(op: CmpOp, lhs: Expr, rhs: Expr) -> Expr {
        Expr { ty: Ty::Bool, kind: ExprKind::Compare { op, lhs: Box::new(lhs), rhs: Box::new(rhs) } }
    }
    /// `if cond { then } else { otherwise }` as a value (both arms evaluated).
    pub fn select(cond: Expr, then: Expr, otherwise: Expr) -> Expr {
        Expr {
            ty: then.ty,
            kind: ExprKind::Select { cond: Box::new(cond), then: Box::new(then), otherwise: Box::new(otherwise) },
        }
    }
    pub fn convert(self, op: ConvertOp) -> Expr {
        Expr { ty: op.signature().1, kind: ExprKind::Convert { op, arg: Box::new(self) } }
    }

    pub fn abs(self) -> Expr {
        Expr::unary(UnaryOp::Abs, self)
    }
    pub fn sqrt(self) -> Expr {
        Expr::unary(UnaryOp::Sqrt, self)
    }
    pub fn min(self, rhs: Expr) -> Expr {
        Expr::binary(BinaryOp::Min, self, rhs)
    }
    pub fn max(self, rhs: Expr) -> Expr {
        Expr::binary(BinaryOp::Max, self, rhs)
    }
    pub fn equals(self, rhs: Expr) -> Expr {
        Expr::compare(CmpOp::Eq, self, rhs)
    }
    pub fn not_equals(self, rhs: Expr) -> Expr {
        Expr::compare(CmpOp::Ne, self, rhs)
    }
    pub fn lt(self, rhs: Expr) -> Expr {
        Expr::compare(CmpOp::Lt, self, rhs)
    }
    pub fn le(self, rhs: Expr) -> Expr {
        Expr::compare(CmpOp::Le, self, rhs)
    }
    pub fn gt(self, rhs: Expr) -> Expr {
        Expr::compare(CmpOp::Gt, self, rhs)
    }
    pub fn ge(self, rhs: Expr) -> Expr {
        Expr::compare(CmpOp::Ge, self, rhs)
    }
}

macro_rules! binary_operator {
    ($trait:ident, $method:ident, $op:expr) => {
        impl ops::$trait for Expr {
            type Output = Expr;
            fn $method(self, rhs: Expr) -> Expr {
                Expr::binary($op, self, rhs)
            }
        }
    };
}

binary_operator!(Add, add, BinaryOp::Add);
binary_operator!(Sub, sub, BinaryOp::Sub);
binary_operator!(Mul, mul, BinaryOp::Mul);
binary_operator!(Div, div, BinaryOp::Div);
binary_operator!(Rem, rem, BinaryOp::Rem);
binary_operator!(BitAnd, bitand, BinaryOp::And);
binary_operator!(BitOr, bitor, BinaryOp::Or);
binary_operator!(BitXor, bitxor, BinaryOp::Xor);
binary_operator!(Shl, shl, BinaryOp::Shl);
binary_operator!(Shr, shr, BinaryOp::Shr);

impl ops::Neg for Expr {
    type Output = Expr;
    fn neg(self) -> Expr {
        Expr::unary(UnaryOp::Neg, self)
    }
}

impl ops::Not for Expr {
    type Output = Expr;
    fn not(self) -> Expr {
        Expr::unary(UnaryOp::Not, self)
    }
}
