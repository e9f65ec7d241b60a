//! The run-time contract of a kernel, shared by every backend: how an entry
//! point is invoked, what it sends, and how it fails.

use super::{BinaryOp, Buffer, EntryPoint, Expr, ExprKind, Kernel, Ty, UnaryOp};

/// One call of an entry point with its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Invocation {
    Init,
    Packet { key: u32, payload: u32 },
    TickForward { step: i32 },
    TickBackward { step: i32 },
    EndOfSample,
    EndOfBatch,
}

impl Invocation {
    pub fn entry(self) -> EntryPoint {
        match self {
            Invocation::Init => EntryPoint::Init,
            Invocation::Packet { .. } => EntryPoint::Packet,
            Invocation::TickForward { .. } => EntryPoint::TickForward,
            Invocation::TickBackward { .. } => EntryPoint::TickBackward,
            Invocation::EndOfSample => EntryPoint::EndOfSample,
            Invocation::EndOfBatch => EntryPoint::EndOfBatch,
        }
    }

    /// The arguments as the 32-bit values of the entry's parameters, in
    /// order (see [`EntryPoint::params`]), padded with zeros.
    pub fn args(self) -> [u32; 2] {
        match self {
            Invocation::Packet { key, payload } => [key, payload],
            Invocation::TickForward { step } | Invocation::TickBackward { step } => [step as u32, 0],
            Invocation::Init | Invocation::EndOfSample | Invocation::EndOfBatch => [0, 0],
        }
    }
}

/// A multicast packet as sent by a kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Packet {
    pub key: u32,
    /// The payload's raw 32 bits, if any.
    pub payload: Option<u32>,
}

impl Packet {
    /// The packet as `[key, payload]` words, payload 0 when it has none
    /// (a packet handler's arguments either way; the emulator routes these).
    pub fn pair(&self) -> [u32; 2] {
        [self.key, self.payload.unwrap_or(0)]
    }
}

/// Why an entry point stopped early. Every backend reports the same trap for
/// the same kernel, memory and invocation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum Trap {
    #[error("kernel `{kernel}`: index {index} is outside buffer `{buffer}` of length {len}")]
    #[diagnostic(code(snn::kernel::out_of_bounds))]
    OutOfBounds { kernel: String, buffer: String, index: i64, len: u32 },
    #[error("kernel `{kernel}`: integer division by zero")]
    #[diagnostic(code(snn::kernel::division_by_zero))]
    IntegerDivisionByZero { kernel: String },
    #[error("kernel `{kernel}`: integer division overflow (i32::MIN / -1)")]
    #[diagnostic(code(snn::kernel::division_overflow))]
    IntegerDivisionOverflow { kernel: String },
    #[error("kernel `{kernel}` needs {needed} words of memory, the image has {got}")]
    #[diagnostic(code(snn::kernel::memory_too_small))]
    MemoryTooSmall { kernel: String, needed: usize, got: usize },
    #[error(
        "kernel `{kernel}`: a DMA transfer of {words} words at index {index} is outside buffer `{buffer}` of length {len}"
    )]
    #[diagnostic(code(snn::kernel::dma_out_of_bounds))]
    DmaOutOfBounds { kernel: String, buffer: String, index: i64, words: i64, len: u32 },
    #[error(
        "kernel `{kernel}`: a DMA transfer of {words} words at DRAM word {address} is outside the PE's private DRAM region of {dram_words} words"
    )]
    #[diagnostic(code(snn::kernel::dram_out_of_bounds))]
    DramOutOfBounds { kernel: String, address: i64, words: i64, dram_words: u32 },
    #[error("kernel `{kernel}` has a DRAM region of {needed} words, the run gave it {got}")]
    #[diagnostic(code(snn::kernel::dram_too_small))]
    DramTooSmall { kernel: String, needed: usize, got: usize },
}

/// Bytes of one DMA flit: the DMA controller moves one 128-bit flit per
/// cycle.
pub const DMA_FLIT_BYTES: u64 = 16;

/// The [`OpClass::DmaFlit`]s of a DMA transfer of `words` words:
/// `ceil(4 words / 16)`.
pub fn dma_flits(words: u32) -> u64 {
    (4 * u64::from(words)).div_ceil(DMA_FLIT_BYTES)
}

/// Why a DMA statement traps (see the kernel module's semantics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmaFault {
    /// A negative index or word count, or `index + words` beyond the buffer.
    Buffer { index: i64, words: i64 },
    /// A negative DRAM address, or `address + words` beyond the region.
    Dram { address: i64, words: i64 },
}

impl DmaFault {
    /// The trap of `kernel` for a transfer into or out of `buffer`.
    pub fn trap(self, kernel: &Kernel, buffer: &Buffer) -> Trap {
        let kernel_name = kernel.name.clone();
        match self {
            DmaFault::Buffer { index, words } => {
                Trap::DmaOutOfBounds { kernel: kernel_name, buffer: buffer.name.clone(), index, words, len: buffer.len }
            }
            DmaFault::Dram { address, words } => {
                Trap::DramOutOfBounds { kernel: kernel_name, address, words, dram_words: kernel.dram_words }
            }
        }
    }
}

/// The range checks of a DMA statement on its operands' values (widened
/// to `i64` by their types, so nothing wraps), in the semantics' order:
/// `Ok(words)`, the words to copy, or the fault. The buffer has `len`
/// elements, the DRAM region `dram_words` words. Every backend on the host
/// calls this one function (the emitted C writes the same two conditions).
pub fn dma_range(len: u32, dram_words: u32, index: i64, address: i64, words: i64) -> Result<u32, DmaFault> {
    if index < 0 || words < 0 || index + words > i64::from(len) {
        return Err(DmaFault::Buffer { index, words });
    }
    if address < 0 || address + words > i64::from(dram_words) {
        return Err(DmaFault::Dram { address, words });
    }
    Ok(words as u32)
}

/// [`dma_range`] on the operands' 32 bits and types, its fault as the
/// [`Trap`] of `kernel`.
pub fn dma_check(
    kernel: &Kernel,
    buffer: &Buffer,
    index: (Ty, u32),
    dram: (Ty, u32),
    words: (Ty, u32),
) -> Result<u32, Trap> {
    let wide = |(ty, bits): (Ty, u32)| if ty == Ty::I32 { i64::from(bits as i32) } else { i64::from(bits) };
    dma_range(buffer.len, kernel.dram_words, wide(index), wide(dram), wide(words))
        .map_err(|fault| fault.trap(kernel, buffer))
}

/// Classes of executed kernel-IR operations, the unit of the emulator's
/// cycle estimate (each class gets one configurable cost).
///
/// Counting rule (both backends): every executed expression node counts once
/// in the class of its operator (constants and locals count nothing; a
/// `select` counts its condition and both arms); an assignment counts nothing
/// more, a store counts one `Store`, a send one `Send`, an `if` one `Branch`;
/// a `for` loop counts, per test of its condition (iterations + 1), one
/// `Compare` and one `Branch`, and per iteration one `IntArith` (the
/// increment); a DMA statement of `w > 0` words counts one `DmaTransfer`
/// and [`dma_flits`]`(w)` `DmaFlit`s (none for `w = 0`). Counts are exact when the entry point returns normally; after
/// a trap they are unspecified (the run stops there anyway).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpClass {
    /// `f32` add, sub, mul, neg, abs.
    FloatArith,
    FloatDiv,
    FloatSqrt,
    /// Comparisons, `min`, `max`, `select` on any type.
    Compare,
    /// Integer and `bool` add, sub, mul, neg, not, and, or, xor, shifts, `ctz`, `popcnt`.
    IntArith,
    /// Integer div and rem.
    IntDiv,
    /// Every [`super::ConvertOp`].
    Convert,
    Load,
    Store,
    Branch,
    Send,
    /// One DMA statement's transfer (the controller's setup), reads and
    /// writes alike.
    DmaTransfer,
    /// One 128-bit flit a DMA statement moves ([`dma_flits`]).
    DmaFlit,
}

impl OpClass {
    pub const COUNT: usize = 13;
    pub const ALL: [OpClass; OpClass::COUNT] = [
        OpClass::FloatArith,
        OpClass::FloatDiv,
        OpClass::FloatSqrt,
        OpClass::Compare,
        OpClass::IntArith,
        OpClass::IntDiv,
        OpClass::Convert,
        OpClass::Load,
        OpClass::Store,
        OpClass::Branch,
        OpClass::Send,
        OpClass::DmaTransfer,
        OpClass::DmaFlit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            OpClass::FloatArith => "float_arith",
            OpClass::FloatDiv => "float_div",
            OpClass::FloatSqrt => "float_sqrt",
            OpClass::Compare => "compare",
            OpClass::IntArith => "int_arith",
            OpClass::IntDiv => "int_div",
            OpClass::Convert => "convert",
            OpClass::Load => "load",
            OpClass::Store => "store",
            OpClass::Branch => "branch",
            OpClass::Send => "send",
            OpClass::DmaTransfer => "dma_transfer",
            OpClass::DmaFlit => "dma_flit",
        }
    }

    /// The class an expression node itself counts in (not its operands).
    pub fn of_expr(e: &Expr) -> Option<OpClass> {
        let float = |e: &Expr| e.ty == Ty::F32;
        Some(match &e.kind {
            ExprKind::Const(_) | ExprKind::Local(_) => return None,
            ExprKind::Load { .. } => OpClass::Load,
            ExprKind::Unary { op: UnaryOp::Sqrt, .. } => OpClass::FloatSqrt,
            ExprKind::Unary { arg, .. } if float(arg) => OpClass::FloatArith,
            ExprKind::Unary { .. } => OpClass::IntArith,
            ExprKind::Binary { op: BinaryOp::Min | BinaryOp::Max, .. } => OpClass::Compare,
            ExprKind::Binary { op: BinaryOp::Div, lhs, .. } if float(lhs) => OpClass::FloatDiv,
            ExprKind::Binary { lhs, .. } if float(lhs) => OpClass::FloatArith,
            ExprKind::Binary { op: BinaryOp::Div | BinaryOp::Rem, .. } => OpClass::IntDiv,
            ExprKind::Binary { .. } => OpClass::IntArith,
            ExprKind::Compare { .. } | ExprKind::Select { .. } => OpClass::Compare,
            ExprKind::Convert { .. } => OpClass::Convert,
        })
    }
}

/// Executed operations per [`OpClass`], indexed by `class as usize`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpCounts(pub [u64; OpClass::COUNT]);

impl OpCounts {
    pub fn add(&mut self, class: OpClass, n: u64) {
        self.0[class as usize] += n;
    }

    pub fn get(&self, class: OpClass) -> u64 {
        self.0[class as usize]
    }

    /// Adds every count of `other`.
    pub fn absorb(&mut self, other: &OpCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }
}
