//! Kernel IR: the program of one processing element (PE), as data.
//!
//! Input: built by the lowering (or by hand, in tests) with [`KernelBuilder`],
//! or parsed from its text form ([`parse_kernel`]).
//! Output: checked by [`verify`], which returns the [`VerifiedKernel`] every
//! backend takes: executed by the runtime's interpreter (the reference
//! semantics) and its Cranelift JIT, and printed as C for the chip; printed
//! by [`print_kernel`] (the `--emit kernel-ir` text form).
//!
//! Where each part lives: the types here; the meaning of every operation on
//! 32-bit values in [`eval`] (shared by the interpreter and the C backend's
//! constant folding); static facts about expressions in [`analysis`]; the
//! run-time contract (invocations, packets, traps, operation counts) in
//! `exec.rs`; the text form in `print.rs`/`parse.rs`. The filetests in
//! `tests/kir/` (run by `runtime/tests/runtime/kir_filetests.rs`) are the IR's
//! executable specification: verifier errors, round trips, runs on every
//! backend and the emitted C.
//!
//! A [`Kernel`] is a set of typed buffers laid out in the PE's data SRAM plus
//! one [`Function`] per [`EntryPoint`]; all functions share the buffers. A
//! function body is a list of structured statements ([`Stmt`]: assignment to a
//! local, store, if/else, counted loop, send, DMA) over expression trees ([`Expr`]),
//! every node annotated with its result type. There are no calls, no `while`
//! loops and no early returns, so every entry point terminates.
//!
//! Semantics (every backend implements exactly this; all values are 32 bits,
//! `bool` is 0 or 1):
//! - `f32` `+ - * /` and `sqrt` are IEEE 754 binary32, round to nearest even,
//!   never fused; a NaN result is always the canonical quiet NaN
//!   `0x7fc0_0000` (ARM's default-NaN mode), see [`CANONICAL_NAN`]. `neg` and
//!   `abs` only flip/clear the sign bit.
//! - `i32`/`u32` `+ - * neg` wrap (two's complement). `/` truncates towards
//!   zero and `%` takes the sign of the dividend; a zero divisor traps
//!   ([`Trap::IntegerDivisionByZero`]), and so does `i32::MIN / -1` and
//!   `i32::MIN % -1` ([`Trap::IntegerDivisionOverflow`]).
//! - `ctz` and `popcnt` (integers) count the trailing zero bits (32 for 0)
//!   and the set bits of their operand's 32 bits.
//! - `<<` and `>>` use the shift amount modulo 32; `>>` is arithmetic on `i32`
//!   and logical on `u32`.
//! - Comparisons on `f32` are ordered (`<`, `<=`, `>`, `>=`, `==` are false if
//!   either side is NaN); `!=` is the negation of `==` (true on NaN), as in
//!   Rust and C. On `i32` they are signed, on `u32` unsigned.
//! - `min(a, b)` is `if a < b { a } else { b }` and `max(a, b)` is
//!   `if a > b { a } else { b }` on every type, so with a NaN operand they
//!   return `b`, and `min(-0.0, 0.0)` is `0.0`.
//! - Conversions ([`ConvertOp`]): `f32 -> i32/u32` truncate towards zero and
//!   saturate, NaN gives 0 (Rust's `as`, Cranelift's `fcvt_to_*_sat`);
//!   `i32/u32 -> f32` round to nearest even; `i32 <-> u32` and the `f32` bit
//!   casts keep the bits.
//! - Loads and stores index a buffer by an `i32` or `u32` value; an index
//!   outside `0 .. len` traps ([`Trap::OutOfBounds`]); a negative `i32` index
//!   is out of bounds. Memory is little-endian 32-bit words.
//! - `for v in a..b` evaluates `a` and `b` once, then runs the body with
//!   `v = a, a+1, ..., b-1` (no iteration if `a >= b`); `v` is read-only in
//!   the body and undefined after the loop.
//! - `send(key)` / `send(key, payload)` appends a packet to the PE's outbox;
//!   the payload's 32 bits are sent unchanged whatever its type.
//! - A trap stops the entry point; stores and sends done before it remain.
//!   Which trap comes first follows the evaluation order: operands left to
//!   right, depth first; `select` evaluates its condition, then both arms; a
//!   store evaluates its index, then its value, then checks the bounds; `send`
//!   evaluates the key, then the payload; `for` evaluates start, then end.
//! - A kernel may own a private DRAM region of [`Kernel::dram_words`] 32-bit
//!   words (word addresses `0 .. dram_words`, relative to the region; zero at
//!   load), which it reaches only by DMA ([`Stmt::Dma`]), synchronously: the
//!   statement starts the transfer and waits for it. `dma_read buf[i],
//!   dram[a], w` copies DRAM words `a .. a + w` into `buf[i .. i + w]`;
//!   `dma_write buf[i], dram[a], w` copies `buf[i .. i + w]` into DRAM words
//!   `a .. a + w`. The copy is of raw bits (the buffer's element type plays
//!   no part). It evaluates `i`, then `a`, then `w` (each `i32` or `u32`),
//!   then checks, without wrapping: a negative `i`, a negative `w` or
//!   `i + w > len` traps ([`Trap::DmaOutOfBounds`]), then a negative `a` or
//!   `a + w > dram_words` traps ([`Trap::DramOutOfBounds`]) (so `i = len`,
//!   `w = 0` is in bounds, `i = len + 1`, `w = 0` is not); then a transfer
//!   of `w = 0` words does nothing.
//! - Locals start at zero; entry-point parameters hold the invocation's
//!   arguments ([`Invocation::args`]); a packet without payload is handled with
//!   `payload = 0`.
//! - Executed operations are counted per [`OpClass`] by a fixed rule (see
//!   there), identically in every backend, for the emulator's cost estimate.
//!
//! Invariants (checked by [`verify`]): names are identifiers and not
//! reserved words (see [`is_valid_name`]); every expression's annotated type is
//! its real type; every local is assigned before it is read on every path;
//! loop variables are never assigned; constant indices are in bounds; buffers
//! are 4-byte aligned, disjoint and inside the data budget; each entry point is
//! defined exactly once with its parameters; a DMA statement appears only in
//! a kernel with a DRAM region, and its constant ranges are inside the buffer
//! and the region.

pub mod analysis;
mod build;
pub mod eval;
pub mod examples;
mod exec;
mod math;
mod parse;
mod print;
mod verified;
mod verify;

pub use build::{BufRef, FunctionBuilder, KernelBuilder, Var};
pub use exec::{
    DMA_FLIT_BYTES, DmaFault, Invocation, OpClass, OpCounts, Packet, Trap, dma_check, dma_flits, dma_range,
};
pub use math::{exp_f32, ln_f32};
pub use parse::{ParseError, SourceMap, parse_kernel, parse_kernel_with_map, parse_value};
pub use print::print_kernel;
pub use verified::VerifiedKernel;
pub use verify::{KernelError, KernelErrors, Site, verify};

/// Default data budget of one PE: the 96 KiB data half of its 128 KiB SRAM.
pub const DEFAULT_DATA_BUDGET: u32 = 96 * 1024;

/// The one NaN that `f32` arithmetic produces (see the module semantics).
pub const CANONICAL_NAN: u32 = 0x7fc0_0000;

/// Words with a meaning in the text form; no kernel, buffer or local may be
/// named so.
pub const RESERVED_WORDS: [&str; 17] = [
    "kernel",
    "budget",
    "buffer",
    "fn",
    "var",
    "if",
    "else",
    "for",
    "in",
    "send",
    "true",
    "false",
    "inf",
    "nan",
    "dram",
    "dma_read",
    "dma_write",
];

/// Whether `name` can name a kernel, buffer or local: an identifier
/// (`[A-Za-z_][A-Za-z0-9_]*`) that is not a reserved word, so that the text
/// form parses back.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !RESERVED_WORDS.contains(&name)
}

/// A scalar type. Buffers hold `f32`, `i32` or `u32`; `bool` exists only as
/// the value of comparisons and in locals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ty {
    F32,
    I32,
    U32,
    Bool,
}

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Ty::F32 => "f32",
            Ty::I32 => "i32",
            Ty::U32 => "u32",
            Ty::Bool => "bool",
        }
    }

    /// `i32` or `u32`.
    pub fn is_int(self) -> bool {
        matches!(self, Ty::I32 | Ty::U32)
    }
}

/// A constant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    F32(f32),
    I32(i32),
    U32(u32),
    Bool(bool),
}

impl Value {
    pub fn ty(self) -> Ty {
        match self {
            Value::F32(_) => Ty::F32,
            Value::I32(_) => Ty::I32,
            Value::U32(_) => Ty::U32,
            Value::Bool(_) => Ty::Bool,
        }
    }

    /// The 32 bits every backend stores for this value (`bool`: 0 or 1).
    pub fn bits(self) -> u32 {
        match self {
            Value::F32(x) => x.to_bits(),
            Value::I32(x) => x as u32,
            Value::U32(x) => x,
            Value::Bool(b) => b as u32,
        }
    }
}

/// Index of a buffer in [`Kernel::buffers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BufferId(pub u32);

/// Index of a local in [`Function::locals`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocalId(pub u32);

/// A typed array in the PE's data SRAM, at `offset` bytes from its base.
#[derive(Clone, Debug, PartialEq)]
pub struct Buffer {
    pub name: String,
    pub elem: Ty,
    /// Number of elements (4 bytes each).
    pub len: u32,
    /// Byte offset from the start of the PE's data memory; a multiple of 4.
    pub offset: u32,
}

impl Buffer {
    /// One past the last byte.
    pub fn end(&self) -> u64 {
        u64::from(self.offset) + 4 * u64::from(self.len)
    }
}

/// The entry points the runtime calls; every kernel defines all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryPoint {
    /// Once, before the first sample.
    Init,
    /// Once per received packet, with parameters `key: u32, payload: u32`
    /// (payload 0 for a packet without payload).
    Packet,
    /// Once per forward step, with parameter `step: i32`.
    TickForward,
    /// Once per backward step, with parameter `step: i32` (the forward step it
    /// revisits, counting down).
    TickBackward,
    /// After the backward phase of each sample.
    EndOfSample,
    /// After the last sample of a batch.
    EndOfBatch,
}

impl EntryPoint {
    pub const ALL: [EntryPoint; 6] = [
        EntryPoint::Init,
        EntryPoint::Packet,
        EntryPoint::TickForward,
        EntryPoint::TickBackward,
        EntryPoint::EndOfSample,
        EntryPoint::EndOfBatch,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EntryPoint::Init => "init",
            EntryPoint::Packet => "packet",
            EntryPoint::TickForward => "tick_forward",
            EntryPoint::TickBackward => "tick_backward",
            EntryPoint::EndOfSample => "end_of_sample",
            EntryPoint::EndOfBatch => "end_of_batch",
        }
    }

    /// Parameter names and types; they are the function's first locals.
    pub fn params(self) -> &'static [(&'static str, Ty)] {
        match self {
            EntryPoint::Packet => &[("key", Ty::U32), ("payload", Ty::U32)],
            EntryPoint::TickForward | EntryPoint::TickBackward => &[("step", Ty::I32)],
            EntryPoint::Init | EntryPoint::EndOfSample | EntryPoint::EndOfBatch => &[],
        }
    }
}

/// A local variable of a function (parameters first).
#[derive(Clone, Debug, PartialEq)]
pub struct Local {
    pub name: String,
    pub ty: Ty,
}

/// One entry point's code.
#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    pub entry: EntryPoint,
    /// Parameters (as given by [`EntryPoint::params`]) then other locals.
    pub locals: Vec<Local>,
    pub body: Vec<Stmt>,
}

/// The program of one PE.
#[derive(Clone, Debug, PartialEq)]
pub struct Kernel {
    pub name: String,
    /// Bytes of data SRAM the buffers may use.
    pub budget: u32,
    /// Words of the PE's private DRAM region (0: none), which only DMA
    /// statements ([`Stmt::Dma`]) reach.
    pub dram_words: u32,
    pub buffers: Vec<Buffer>,
    pub functions: Vec<Function>,
}

impl Kernel {
    /// The function of an entry point, if defined.
    pub fn function(&self, entry: EntryPoint) -> Option<&Function> {
        self.functions.iter().find(|f| f.entry == entry)
    }

    /// The byte after the kernel's last buffer (0 without buffers): the data
    /// memory its buffers take.
    pub fn buffers_end(&self) -> u64 {
        self.buffers.iter().map(Buffer::end).max().unwrap_or(0)
    }

    /// Number of 32-bit words a memory image for this kernel must have: the
    /// whole budget.
    #[inline]
    pub fn memory_words(&self) -> usize {
        (self.budget / 4) as usize
    }

    /// The check every backend makes before running an entry point: the
    /// memory image holds at least [`Kernel::memory_words`] words.
    #[inline]
    pub fn check_memory(&self, words: usize) -> Result<(), Trap> {
        let needed = self.memory_words();
        if words < needed {
            return Err(Trap::MemoryTooSmall { kernel: self.name.clone(), needed, got: words });
        }
        Ok(())
    }

    /// The check every backend makes before running an entry point: the
    /// DRAM region it is given holds at least [`Kernel::dram_words`] words.
    #[inline]
    pub fn check_dram(&self, words: usize) -> Result<(), Trap> {
        let needed = self.dram_words as usize;
        if words < needed {
            return Err(Trap::DramTooSmall { kernel: self.name.clone(), needed, got: words });
        }
        Ok(())
    }

    /// A buffer by name.
    pub fn buffer_named(&self, name: &str) -> Option<(BufferId, &Buffer)> {
        self.buffers.iter().enumerate().find(|(_, b)| b.name == name).map(|(i, b)| (BufferId(i as u32), b))
    }
}

/// A statement. Bodies are `Vec<Stmt>`, run in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    /// `local = value`.
    Assign { local: LocalId, value: Expr },
    /// `buffer[index] = value`.
    Store { buffer: BufferId, index: Expr, value: Expr },
    /// `if cond { then_body } else { else_body }`; `cond: bool`.
    If { cond: Expr, then_body: Vec<Stmt>, else_body: Vec<Stmt> },
    /// `for var in start..end { body }`; `var`, `start`, `end` all `i32` or
    /// all `u32`.
    For { var: LocalId, start: Expr, end: Expr, body: Vec<Stmt> },
    /// `send(key)` or `send(key, payload)`; `key: u32`, payload any non-bool.
    Send { key: Expr, payload: Option<Expr> },
    /// A synchronous DMA transfer of `words` 32-bit words between
    /// `buffer[index ..]` and the PE's private DRAM region at word `dram`
    /// (see the module semantics); `index`, `dram`, `words` each `i32` or
    /// `u32`.
    Dma { dir: DmaDir, buffer: BufferId, index: Expr, dram: Expr, words: Expr },
}

/// The direction of a [`Stmt::Dma`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DmaDir {
    /// DRAM -> buffer.
    Read,
    /// Buffer -> DRAM.
    Write,
}

impl DmaDir {
    /// The statement's keyword in the text form.
    pub fn name(self) -> &'static str {
        match self {
            DmaDir::Read => "dma_read",
            DmaDir::Write => "dma_write",
        }
    }
}

/// An expression tree; `ty` is the type of its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub ty: Ty,
    pub kind: ExprKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Const(Value),
    Local(LocalId),
    /// `buffer[index]`, of the buffer's element type.
    Load {
        buffer: BufferId,
        index: Box<Expr>,
    },
    Unary {
        op: UnaryOp,
        arg: Box<Expr>,
    },
    /// Both operands and the result have the same type.
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// Both operands have the same type; the result is `bool`.
    Compare {
        op: CmpOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `if cond { then } else { otherwise }`, both arms evaluated.
    Select {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    Convert {
        op: ConvertOp,
        arg: Box<Expr>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `f32` (sign flip), `i32`/`u32` (wrapping).
    Neg,
    /// `f32` only: clears the sign bit.
    Abs,
    /// `f32` only: correctly rounded square root.
    Sqrt,
    /// Bitwise not on `i32`/`u32`, logical not on `bool`.
    Not,
    /// `i32`/`u32` only: the number of trailing zero bits (32 for 0).
    Ctz,
    /// `i32`/`u32` only: the number of set bits.
    Popcnt,
}

impl UnaryOp {
    pub const ALL: [UnaryOp; 6] =
        [UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Sqrt, UnaryOp::Not, UnaryOp::Ctz, UnaryOp::Popcnt];

    pub fn name(self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Abs => "abs",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Not => "not",
            UnaryOp::Ctz => "ctz",
            UnaryOp::Popcnt => "popcnt",
        }
    }

    /// Whether the operation is defined on `ty`.
    pub fn accepts(self, ty: Ty) -> bool {
        match self {
            UnaryOp::Neg => ty != Ty::Bool,
            UnaryOp::Abs | UnaryOp::Sqrt => ty == Ty::F32,
            UnaryOp::Not => ty != Ty::F32,
            UnaryOp::Ctz | UnaryOp::Popcnt => ty.is_int(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    /// Integers only.
    Rem,
    Min,
    Max,
    /// Integers and `bool`.
    And,
    Or,
    Xor,
    /// Integers only; the amount is taken modulo 32.
    Shl,
    Shr,
}

impl BinaryOp {
    pub fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Rem => "%",
            BinaryOp::Min => "min",
            BinaryOp::Max => "max",
            BinaryOp::And => "&",
            BinaryOp::Or => "|",
            BinaryOp::Xor => "^",
            BinaryOp::Shl => "<<",
            BinaryOp::Shr => ">>",
        }
    }

    /// Whether the operation is defined on operands of type `ty`.
    pub fn accepts(self, ty: Ty) -> bool {
        match self {
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div => ty != Ty::Bool,
            BinaryOp::Min | BinaryOp::Max => ty != Ty::Bool,
            BinaryOp::Rem | BinaryOp::Shl | BinaryOp::Shr => ty.is_int(),
            BinaryOp::And | BinaryOp::Or | BinaryOp::Xor => ty != Ty::F32,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn name(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// Whether the comparison is defined on operands of type `ty` (ordering
    /// comparisons are not defined on `bool`).
    pub fn accepts(self, ty: Ty) -> bool {
        matches!(self, CmpOp::Eq | CmpOp::Ne) || ty != Ty::Bool
    }
}

/// Conversions between scalar types; see the module semantics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConvertOp {
    /// Truncate towards zero, saturate, NaN -> 0.
    F32ToI32,
    /// Truncate towards zero, saturate (negative -> 0), NaN -> 0.
    F32ToU32,
    /// Round to nearest even.
    I32ToF32,
    /// Round to nearest even.
    U32ToF32,
    /// Same bits.
    I32AsU32,
    /// Same bits.
    U32AsI32,
    /// The bits of an `f32`, as `u32`.
    F32Bits,
    /// The `f32` with these bits.
    F32FromBits,
    /// `false -> 0`, `true -> 1`.
    BoolToU32,
}

impl ConvertOp {
    pub const ALL: [ConvertOp; 9] = [
        ConvertOp::F32ToI32,
        ConvertOp::F32ToU32,
        ConvertOp::I32ToF32,
        ConvertOp::U32ToF32,
        ConvertOp::I32AsU32,
        ConvertOp::U32AsI32,
        ConvertOp::F32Bits,
        ConvertOp::F32FromBits,
        ConvertOp::BoolToU32,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ConvertOp::F32ToI32 => "f32_to_i32",
            ConvertOp::F32ToU32 => "f32_to_u32",
            ConvertOp::I32ToF32 => "i32_to_f32",
            ConvertOp::U32ToF32 => "u32_to_f32",
            ConvertOp::I32AsU32 => "i32_as_u32",
            ConvertOp::U32AsI32 => "u32_as_i32",
            ConvertOp::F32Bits => "f32_bits",
            ConvertOp::F32FromBits => "f32_from_bits",
            ConvertOp::BoolToU32 => "bool_to_u32",
        }
    }

    /// `(argument type, result type)`.
    pub fn signature(self) -> (Ty, Ty) {
        match self {
            ConvertOp::F32ToI32 => (Ty::F32, Ty::I32),
            ConvertOp::F32ToU32 => (Ty::F32, Ty::U32),
            ConvertOp::I32ToF32 => (Ty::I32, Ty::F32),
            ConvertOp::U32ToF32 => (Ty::U32, Ty::F32),
            ConvertOp::I32AsU32 => (Ty::I32, Ty::U32),
            ConvertOp::U32AsI32 => (Ty::U32, Ty::I32),
            ConvertOp::F32Bits => (Ty::F32, Ty::U32),
            ConvertOp::F32FromBits => (Ty::U32, Ty::F32),
            ConvertOp::BoolToU32 => (Ty::Bool, Ty::U32),
        }
    }
}

#[cfg(test)]
mod tests;
