//! [`VerifiedKernel`]: a kernel that passed [`super::verify`], with what the
//! verifier learned about it. It is the only form of a kernel the backends
//! (the runtime's interpreter and JIT, the C emitter) accept, so none of
//! them verifies again, and none needs to handle an invalid kernel.
//!
//! What the verifier learned: every entry point is defined exactly once (so
//! [`VerifiedKernel::function`] cannot fail); the buffers' layout in words
//! (first word, the non-empty buffers in address order, the data words in
//! use); and that every expression's annotated type is its real type (the
//! annotations in the IR are the types, so they are not stored twice).
//!
//! Invariant: a `VerifiedKernel` is only made by `verify` (or renamed by
//! [`VerifiedKernel::with_suffix`], which keeps the name valid), and it
//! never changes: it derefs to [`Kernel`] for reading, never for writing.

use std::ops::Deref;

use super::{BufferId, EntryPoint, Function, Kernel};

/// A kernel that passed [`super::verify`].
#[derive(Clone, Debug, PartialEq)]
pub struct VerifiedKernel {
    kernel: Kernel,
    info: KernelInfo,
}

/// What the verifier learned about a kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
struct KernelInfo {
    /// Per [`EntryPoint`] (as `usize`): its function's index in
    /// [`Kernel::functions`].
    entries: [usize; EntryPoint::ALL.len()],
    /// Per buffer: the word its element 0 is at.
    first_word: Vec<usize>,
    /// The non-empty buffers in address order.
    by_address: Vec<BufferId>,
    /// The words from 0 to the end of the last non-empty buffer (at least 1).
    data_words: usize,
}

impl VerifiedKernel {
    /// Wraps a kernel that has just passed `verify`.
    pub(super) fn new(kernel: Kernel) -> VerifiedKernel {
        let mut entries = [0; EntryPoint::ALL.len()];
        for (i, f) in kernel.functions.iter().enumerate() {
            entries[f.entry as usize] = i;
        }
        let first_word = kernel.buffers.iter().map(|b| (b.offset / 4) as usize).collect();
        let mut by_address: Vec<BufferId> =
            (0..kernel.buffers.len()).filter(|&i| kernel.buffers[i].len > 0).map(|i| BufferId(i as u32)).collect();
        by_address.sort_by_key(|id| kernel.buffers[id.0 as usize].offset);
        let end = kernel.buffers.iter().filter(|b| b.len > 0).map(|b| b.end()).max().unwrap_or(4);
        let data_words = (end / 4) as usize;
        VerifiedKernel { kernel, info: KernelInfo { entries, first_word, by_address, data_words } }
    }

    pub fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    pub fn into_kernel(self) -> Kernel {
        self.kernel
    }

    /// The function of an entry point (every verified kernel defines each
    /// exactly once).
    pub fn function(&self, entry: EntryPoint) -> &Function {
        &self.kernel.functions[self.info.entries[entry as usize]]
    }

    /// The memory word of element 0 of a buffer.
    pub fn first_word(&self, buffer: BufferId) -> usize {
        self.info.first_word[buffer.0 as usize]
    }

    /// The non-empty buffers in address order.
    pub fn buffers_by_address(&self) -> &[BufferId] {
        &self.info.by_address
    }

    /// The number of 32-bit words from byte 0 to the end of the last
    /// non-empty buffer, at least 1: what an emitted program holds and
    /// outputs (the budget may be larger).
    pub fn data_words(&self) -> usize {
        self.info.data_words
    }

    /// The same kernel named `<name>_<n>` (still a valid name: an
    /// identifier that is not a reserved word stays one with `_<digits>`
    /// appended).
    pub fn with_suffix(mut self, n: u32) -> VerifiedKernel {
        self.kernel.name = format!("{}_{n}", self.kernel.name);
        self
    }
}

impl Deref for VerifiedKernel {
    type Target = Kernel;

    fn deref(&self) -> &Kernel {
        &self.kernel
    }
}
