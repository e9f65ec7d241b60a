//! The run-time contract of a kernel, shared by every backend: how an entry
//! point is invoked, what it sends, and how it fails.

use super::EntryPoint;

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
            Invocation::TickForward { step } | Invocation::TickBackward { step } => {
                [step as u32, 0]
            }
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

/// Why an entry point stopped early. Every backend reports the same trap for
/// the same kernel, memory and invocation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum Trap {
    #[error("kernel `{kernel}`: index {index} is outside buffer `{buffer}` of length {len}")]
    #[diagnostic(code(snn::kernel::out_of_bounds))]
    OutOfBounds {
        kernel: String,
        buffer: String,
        index: i64,
        len: u32,
    },
    #[error("kernel `{kernel}`: integer division by zero")]
    #[diagnostic(code(snn::kernel::division_by_zero))]
    IntegerDivisionByZero { kernel: String },
    #[error("kernel `{kernel}`: integer division overflow (i32::MIN / -1)")]
    #[diagnostic(code(snn::kernel::division_overflow))]
    IntegerDivisionOverflow { kernel: String },
    #[error("kernel `{kernel}` needs {needed} words of memory, the image has {got}")]
    #[diagnostic(code(snn::kernel::memory_too_small))]
    MemoryTooSmall {
        kernel: String,
        needed: usize,
        got: usize,
    },
}
