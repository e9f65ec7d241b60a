//! Cranelift JIT: a verified kernel -> one native function per entry point.
//!
//! Input: a [`VerifiedKernel`] (not verified again).
//! Output: a [`JitKernel`] whose [`JitKernel::run`] has the interpreter's
//! signature and semantics (`crate::interp` is the reference).
//!
//! Each entry point becomes `extern "C" fn(memory: *mut u32, dram: *mut u32,
//! outbox: *mut SendBuffer, trap: *mut TrapRecord, counts: *mut u64, arg0:
//! u32, arg1: u32) -> u32`, returning 0 on success and 1 after a trap, whose
//! kind, buffer and index it wrote to `trap`. The packet entry point is also
//! compiled as a drain function `(memory, dram, outbox, trap, counts, pairs:
//! *const [u32; 2], n: u32) -> u32` that runs its body on `n` `(key, payload)` pairs in turn, on
//! fresh locals each time ([`JitKernel::run_packets`], [`JitKernel::run_pairs`]:
//! one host call per inbox). Operation counts ([`OpClass`]) are summed at
//! compile time per block and added to `counts` once per executed block, or,
//! for a branch inside a loop (the packet loop included), counted as runs in
//! a register and added as runs x counts after the loop (the interpreter
//! counts node by node; the differential tests compare the two). `send`
//! appends to the [`SendBuffer`] in place while it has room, and otherwise
//! calls the host function [`snnc_jit_send`] (either way with the index of the
//! packet being drained, so that a trapping handler's sends can be dropped),
//! registered with `JITBuilder::symbol`. A DMA statement evaluates its
//! operands, then calls the host function [`snnc_jit_dma`], which checks the
//! ranges (`kernel::dma_range`, the interpreter's), copies, and adds its
//! `DmaTransfer` and `DmaFlit` counts, or writes the trap (one of a
//! constant count of up to 256 words is copied and counted inline when both
//! ranges are inside, and calls it otherwise). Every load and store is bounds-checked by a compare
//! and a branch to a cold block that sets the trap's arguments and jumps to
//! the function's trap block, except where the index's value range (`ranges`:
//! loop variables and what is computed from them) lies inside the buffer, so
//! that the access can never trap; integer division checks its divisor (and
//! `i32::MIN / -1`) the same way, so Cranelift's own traps are never reached.
//!
//! How the IR's semantics map to Cranelift: `f32` arithmetic uses
//! `fadd/fsub/fmul/fdiv/sqrt` (never fused), and a NaN result is replaced by
//! the canonical NaN where the value is observed bit for bit (see
//! `Gen::expr_raw`: the same bits as after every operation, fewer checks;
//! the constant comes from a cold block, so the path taken is a compare and a
//! branch); `neg`/`abs` are `fneg`/`fabs` (sign
//! bit only); `min`/`max` are a compare and `select`; `f32 -> i32/u32` is
//! `fcvt_to_sint_sat`/`fcvt_to_uint_sat` (truncating, saturating, NaN -> 0,
//! as Rust's `as`); shifts use Cranelift's modulo-32 amount; `bool` is an `i8`
//! holding 0 or 1; operands are evaluated in the interpreter's order, so the
//! first trap is the same.
//!
//! Layout: this file compiles a kernel's entry points and runs them;
//! `codegen` emits one entry point (statements, control flow, bounds checks,
//! the trap block), `expr` its expressions (arithmetic, comparisons,
//! conversions, canonical NaNs), `counts` the operation counting, `ranges`
//! the value ranges of integer locals (bounds checks that cannot fail are
//! left out).
//!
//! Invariant: for every verified kernel, memory image and invocation, `run`
//! leaves the same memory, packets and trap as `crate::interp::Interpreter`
//! (differential property test in `runtime/tests/runtime/kernel_differential.rs`).

mod codegen;
mod counts;
mod expr;
mod ranges;
mod vector;

use std::cell::Cell;
use std::sync::Mutex;

use cranelift_codegen::ir::{AbiParam, UserFuncName, types};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{Linkage, Module, default_libcall_names};
use snnc_compiler::kernel::{
    DmaFault, EntryPoint, Invocation, OpClass, OpCounts, Packet, Trap, Ty, VerifiedKernel, dma_flits, dma_range,
};

use codegen::Gen;

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
    /// In a drain function, the index of the packet whose handler trapped.
    packet: u32,
    /// A DMA trap's word count (its `index` is the buffer index or the DRAM
    /// address).
    words: i64,
}

const TRAP_OUT_OF_BOUNDS: i64 = 1;
const TRAP_DIVISION_BY_ZERO: i64 = 2;
const TRAP_DIVISION_OVERFLOW: i64 = 3;
const TRAP_DMA_OUT_OF_BOUNDS: i64 = 4;
const TRAP_DRAM_OUT_OF_BOUNDS: i64 = 5;

type EntryFn = unsafe extern "C" fn(*mut u32, *mut u32, *mut SendBuffer, *mut TrapRecord, *mut u64, u32, u32) -> u32;

/// A packet entry point run on `n` `(key, payload)` pairs in turn.
type DrainFn =
    unsafe extern "C" fn(*mut u32, *mut u32, *mut SendBuffer, *mut TrapRecord, *mut u64, *const [u32; 2], u32) -> u32;

/// A DMA statement of compiled code: `buffer` (its first word and length,
/// `write`: 0 reads from DRAM, 1 writes to it), the kernel's DRAM region of
/// `dram_words`, the operands as `i64` (each widened by its type). Checks
/// the ranges as the interpreter does; copies the words and adds the
/// transfer's counts and returns 0, or writes the trap and returns 1.
///
/// # Safety
/// `memory` holds the buffer's words, `dram` at least `dram_words` words (the
/// caller checked both), `counts` [`OpClass::COUNT`] counts; `trap` is
/// writable.
#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn snnc_jit_dma(
    memory: *mut u32,
    dram: *mut u32,
    counts: *mut u64,
    trap: *mut TrapRecord,
    buffer: u32,
    first_word: u32,
    len: u32,
    dram_words: u32,
    write: u32,
    index: i64,
    address: i64,
    words: i64,
) -> u32 {
    match dma_range(len, dram_words, index, address, words) {
        Ok(0) => 0,
        Ok(n) => {
            let n = n as usize;
            // SAFETY: `dma_range` put `index .. index + n` inside the buffer
            // and `address .. address + n` inside the region; the two are
            // different allocations.
            unsafe {
                let sram = memory.add(first_word as usize + index as usize);
                let dram = dram.add(address as usize);
                if write == 0 {
                    std::ptr::copy_nonoverlapping(dram, sram, n);
                } else {
                    std::ptr::copy_nonoverlapping(sram, dram, n);
                }
                *counts.add(OpClass::DmaTransfer as usize) += 1;
                *counts.add(OpClass::DmaFlit as usize) += dma_flits(n as u32);
            }
            0
        }
        Err(fault) => {
            let (kind, index, words) = match fault {
                DmaFault::Buffer { index, words } => (TRAP_DMA_OUT_OF_BOUNDS, index, words),
                DmaFault::Dram { address, words } => (TRAP_DRAM_OUT_OF_BOUNDS, address, words),
            };
            // SAFETY: the caller's record; `packet` is the JIT's to write.
            unsafe {
                (*trap).kind = kind as u32;
                (*trap).buffer = buffer;
                (*trap).index = index;
                (*trap).words = words;
            }
            1
        }
    }
}

/// What compiled code sends into: the sends as `[key, payload,
/// has_payload]` triples, and where the sends of the packet handled last
/// began (a drain function passes each send the index of the packet it
/// handles). Compiled code appends a triple itself while `len < cap` (and
/// updates `packet` and `start` as [`snnc_jit_send`] does), and calls
/// [`snnc_jit_send`] when the buffer is full.
#[repr(C)]
pub struct SendBuffer {
    /// `staged`'s buffer and capacity, and how many triples are written.
    data: *mut [u32; 3],
    len: usize,
    cap: usize,
    /// The packet index of the last send.
    packet: u32,
    /// `len` before the first send of that packet.
    start: usize,
    staged: Vec<[u32; 3]>,
}

thread_local! {
    /// Room for the sends of one call, reused.
    static STAGED: Cell<Vec<[u32; 3]>> = const { Cell::new(Vec::new()) };
}

impl SendBuffer {
    fn new(packet: u32) -> SendBuffer {
        let mut staged = STAGED.take();
        staged.clear();
        SendBuffer { data: staged.as_mut_ptr(), len: 0, cap: staged.capacity(), packet, start: 0, staged }
    }

    /// Appends the sends, but those from `drop_from` on, to `outbox`.
    fn finish(mut self, outbox: &mut impl Sends, drop_from: Option<usize>) {
        // SAFETY: compiled code and `snnc_jit_send` wrote every triple below
        // `len`, which is at most `cap`, the capacity of `staged`'s buffer.
        unsafe { self.staged.set_len(self.len) };
        if let Some(start) = drop_from {
            self.staged.truncate(start);
        }
        outbox.extend_sends(&self.staged);
        STAGED.set(std::mem::take(&mut self.staged));
    }
}

/// Where a call's sends go: packets (`Vec<Packet>`, what the interpreter
/// gives), or `[key, payload]` pairs with payload 0 for a packet without
/// one (`Vec<[u32; 2]>`, what the emulator routes: no conversion between).
pub trait Sends {
    /// Appends sends staged as `[key, payload, has_payload]`.
    fn extend_sends(&mut self, staged: &[[u32; 3]]);
}

impl Sends for Vec<Packet> {
    fn extend_sends(&mut self, staged: &[[u32; 3]]) {
        self.extend(staged.iter().map(|&[key, payload, has]| Packet { key, payload: (has != 0).then_some(payload) }));
    }
}

impl Sends for Vec<[u32; 2]> {
    fn extend_sends(&mut self, staged: &[[u32; 3]]) {
        self.extend(staged.iter().map(|&[key, payload, has]| [key, if has != 0 { payload } else { 0 }]));
    }
}

/// The host side of `send` when the buffer is full: appends a packet.
///
/// # Safety
/// `outbox` is the `SendBuffer` that [`JitKernel::run`] or
/// [`JitKernel::run_pairs`] passed to the compiled code, valid and
/// unaliased for the duration of the call.
pub unsafe extern "C" fn snnc_jit_send(outbox: *mut SendBuffer, key: u32, payload: u32, has_payload: u32, at: u32) {
    // SAFETY: see the function's contract.
    let outbox = unsafe { &mut *outbox };
    if outbox.packet != at {
        outbox.packet = at;
        outbox.start = outbox.len;
    }
    // SAFETY: the triples below `len` (at most the capacity) are written.
    unsafe { outbox.staged.set_len(outbox.len) };
    outbox.staged.push([key, payload, has_payload]);
    outbox.len = outbox.staged.len();
    outbox.cap = outbox.staged.capacity();
    outbox.data = outbox.staged.as_mut_ptr();
}

/// A kernel compiled to native code.
pub struct JitKernel {
    kernel: VerifiedKernel,
    /// The compiled entry points, indexed by [`EntryPoint`] (`None`: the
    /// kernel does not define it, and invoking it does nothing).
    entries: [Option<EntryFn>; EntryPoint::ALL.len()],
    /// The packet entry point as a drain function, when defined.
    drain: Option<DrainFn>,
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
        jb.symbol("snnc_jit_dma", snnc_jit_dma as *const u8);
        let mut module = JITModule::new(jb);
        let ptr = module.target_config().pointer_type();

        let mut send_sig = module.make_signature();
        send_sig.params.extend([ptr, types::I32, types::I32, types::I32, types::I32].map(AbiParam::new));
        let send_id =
            module.declare_function("snnc_jit_send", Linkage::Import, &send_sig).map_err(|e| fail(e.to_string()))?;
        let mut dma_sig = module.make_signature();
        dma_sig.params.extend([ptr, ptr, ptr, ptr].map(AbiParam::new));
        dma_sig.params.extend([types::I32; 5].map(AbiParam::new));
        dma_sig.params.extend([types::I64; 3].map(AbiParam::new));
        dma_sig.returns.push(AbiParam::new(types::I32));
        let dma_id =
            module.declare_function("snnc_jit_dma", Linkage::Import, &dma_sig).map_err(|e| fail(e.to_string()))?;

        let mut sig = module.make_signature();
        sig.params.extend([ptr, ptr, ptr, ptr, ptr, types::I32, types::I32].map(AbiParam::new));
        sig.returns.push(AbiParam::new(types::I32));
        let mut drain_sig = module.make_signature();
        drain_sig.params.extend([ptr, ptr, ptr, ptr, ptr, ptr, types::I32].map(AbiParam::new));
        drain_sig.returns.push(AbiParam::new(types::I32));

        let mut ctx = module.make_context();
        let mut fctx = FunctionBuilderContext::new();
        let mut ids = Vec::new();
        let mut drain_id = None;
        for (n, function) in kernel.functions.iter().enumerate() {
            if function.body.is_empty() {
                continue;
            }
            // Each entry point; the packet entry point also as a drain
            // function.
            let drains: &[bool] = if function.entry == EntryPoint::Packet { &[false, true] } else { &[false] };
            for &drain in drains {
                let name = if drain { "drain_packets" } else { function.entry.name() };
                let signature = if drain { &drain_sig } else { &sig };
                let id = module.declare_function(name, Linkage::Local, signature).map_err(|e| fail(e.to_string()))?;
                ctx.func.signature = signature.clone();
                ctx.func.name = UserFuncName::user(u32::from(drain), n as u32);
                let send = module.declare_func_in_func(send_id, &mut ctx.func);
                let dma = module.declare_func_in_func(dma_id, &mut ctx.func);
                let builder = FunctionBuilder::new(&mut ctx.func, &mut fctx);
                Gen::emit(builder, kernel, function, [send, dma], ptr, module.target_config(), drain);
                module.define_function(id, &mut ctx).map_err(|e| fail(format!("{name}: {e:?}")))?;
                module.clear_context(&mut ctx);
                if drain {
                    drain_id = Some(id);
                } else {
                    ids.push((function.entry, id));
                }
            }
        }
        module.finalize_definitions().map_err(|e| fail(e.to_string()))?;
        let mut entries = [None; EntryPoint::ALL.len()];
        for (entry, id) in ids {
            let code = module.get_finalized_function(id);
            // SAFETY: the function was compiled with exactly `EntryFn`'s
            // signature in the platform's default (C) calling convention.
            entries[entry as usize] = Some(unsafe { std::mem::transmute::<*const u8, EntryFn>(code) });
        }
        // SAFETY: compiled with exactly `DrainFn`'s signature, as above.
        let drain =
            drain_id.map(|id| unsafe { std::mem::transmute::<*const u8, DrainFn>(module.get_finalized_function(id)) });
        Ok(JitKernel { kernel: kernel.clone(), entries, drain, module: Mutex::new(Some(module)) })
    }

    pub fn kernel(&self) -> &VerifiedKernel {
        &self.kernel
    }

    /// Whether the kernel defines `entry` (invoking an entry point it does
    /// not define does nothing).
    pub fn defines(&self, entry: EntryPoint) -> bool {
        self.entries[entry as usize].is_some()
    }

    /// Runs one entry point on `memory` and the DRAM region `dram`,
    /// appending sent packets to `outbox` and adding the executed operations
    /// to `counts`; same contract as `crate::interp::Interpreter::run`.
    pub fn run(
        &self,
        invocation: Invocation,
        memory: &mut [u32],
        dram: &mut [u32],
        outbox: &mut impl Sends,
        counts: &mut OpCounts,
    ) -> Result<(), Trap> {
        self.kernel.check_memory(memory.len())?;
        self.kernel.check_dram(dram.len())?;
        let Some(code) = self.entries[invocation.entry() as usize] else {
            return Ok(());
        };
        let [arg0, arg1] = invocation.args();
        let mut record = TrapRecord::default();
        // SAFETY: the code was generated from a verified kernel: it touches
        // only buffer words inside the kernel's budget (every access is
        // bounds-checked or proven inside its buffer) and `memory` holds at
        // least that many words, `dram` at least the kernel's region (DMA
        // goes through `snnc_jit_dma`, which checks its ranges); the outbox
        // pointer is only used by `snnc_jit_send` during this call.
        let mut buffer = SendBuffer::new(0);
        let status = unsafe {
            code(memory.as_mut_ptr(), dram.as_mut_ptr(), &mut buffer, &mut record, counts.0.as_mut_ptr(), arg0, arg1)
        };
        buffer.finish(outbox, None);
        if status == 0 { Ok(()) } else { Err(self.trap(record)) }
    }

    /// Runs the `packet` entry point once per packet, in order, in one call
    /// of compiled code: the same as [`JitKernel::run`] with
    /// `Invocation::Packet` for each. On a trap in the handler of packet
    /// `i`, `outbox` holds what the handlers of packets `0 .. i` sent (as if
    /// each had been run alone, the trapping one's sends dropped) and the
    /// result is `Err((i, trap))`. `pairs` is room for the packets as
    /// `(key, payload)` words.
    pub fn run_packets(
        &self,
        packets: &[Packet],
        pairs: &mut Vec<[u32; 2]>,
        memory: &mut [u32],
        dram: &mut [u32],
        outbox: &mut impl Sends,
        counts: &mut OpCounts,
    ) -> Result<(), (usize, Trap)> {
        pairs.clear();
        pairs.extend(packets.iter().map(Packet::pair));
        self.run_pairs(pairs, memory, dram, outbox, counts)
    }

    /// [`JitKernel::run_packets`] on packets given as `[key, payload]`
    /// pairs (payload 0 when a packet has none).
    pub fn run_pairs(
        &self,
        pairs: &[[u32; 2]],
        memory: &mut [u32],
        dram: &mut [u32],
        outbox: &mut impl Sends,
        counts: &mut OpCounts,
    ) -> Result<(), (usize, Trap)> {
        self.run_pair_runs(&[pairs], memory, dram, outbox, counts)
    }

    /// [`JitKernel::run_pairs`] on the packets of `runs` one after another
    /// (as if concatenated; a trap's index counts from the first run's
    /// first packet), without gathering them first.
    pub fn run_pair_runs(
        &self,
        runs: &[&[[u32; 2]]],
        memory: &mut [u32],
        dram: &mut [u32],
        outbox: &mut impl Sends,
        counts: &mut OpCounts,
    ) -> Result<(), (usize, Trap)> {
        self.kernel.check_memory(memory.len()).map_err(|t| (0, t))?;
        self.kernel.check_dram(dram.len()).map_err(|t| (0, t))?;
        let Some(drain) = self.drain else {
            return Ok(());
        };
        let mut record = TrapRecord::default();
        let mut buffer = SendBuffer::new(u32::MAX);
        let mut before = 0;
        for pairs in runs {
            let n = u32::try_from(pairs.len()).expect("fewer than 2^32 packets in an inbox");
            // Packet indices start again at 0: no send is of this run yet.
            buffer.packet = u32::MAX;
            // SAFETY: as in `run`, for the whole call; `pairs` holds `n` pairs.
            let status = unsafe {
                drain(
                    memory.as_mut_ptr(),
                    dram.as_mut_ptr(),
                    &mut buffer,
                    &mut record,
                    counts.0.as_mut_ptr(),
                    pairs.as_ptr(),
                    n,
                )
            };
            if status != 0 {
                let dropped = (buffer.packet == record.packet).then_some(buffer.start);
                buffer.finish(outbox, dropped);
                return Err((before + record.packet as usize, self.trap(record)));
            }
            before += pairs.len();
        }
        buffer.finish(outbox, None);
        Ok(())
    }

    /// The trap a failed call reported in `record`.
    #[cold]
    fn trap(&self, record: TrapRecord) -> Trap {
        let kernel = self.kernel.name.clone();
        match i64::from(record.kind) {
            TRAP_OUT_OF_BOUNDS => {
                let b = &self.kernel.buffers[record.buffer as usize];
                Trap::OutOfBounds { kernel, buffer: b.name.clone(), index: record.index, len: b.len }
            }
            TRAP_DMA_OUT_OF_BOUNDS | TRAP_DRAM_OUT_OF_BOUNDS => {
                let b = &self.kernel.buffers[record.buffer as usize];
                let (index, words) = (record.index, record.words);
                let fault = if i64::from(record.kind) == TRAP_DMA_OUT_OF_BOUNDS {
                    DmaFault::Buffer { index, words }
                } else {
                    DmaFault::Dram { address: index, words }
                };
                fault.trap(&self.kernel, b)
            }
            TRAP_DIVISION_BY_ZERO => Trap::IntegerDivisionByZero { kernel },
            _ => Trap::IntegerDivisionOverflow { kernel },
        }
    }
}

fn cl_type(ty: Ty) -> types::Type {
    match ty {
        Ty::F32 => types::F32,
        Ty::I32 | Ty::U32 => types::I32,
        Ty::Bool => types::I8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snnc_compiler::kernel::{CANONICAL_NAN, Expr, FunctionBuilder, KernelBuilder, verify};

    /// Every NaN an f32 operation gives is stored as the canonical NaN,
    /// whatever the payload of its operands or the one the host CPU makes.
    #[test]
    fn stored_nans_are_canonical() {
        let mut k = KernelBuilder::new("canonical");
        let b = k.buffer("b", Ty::F32, 4);
        let mut f = FunctionBuilder::new(EntryPoint::TickForward);
        f.store(b, Expr::u32(1), b.at(Expr::u32(0)) * Expr::f32(1.0));
        f.store(b, Expr::u32(2), Expr::f32(2.0) * b.at(Expr::u32(0)) + Expr::f32(1.0));
        f.store(b, Expr::u32(3), b.at(Expr::u32(1)) - b.at(Expr::u32(1)));
        k.define(f.finish());
        let kernel = verify(&k.finish()).expect("verifies");
        let jit = JitKernel::compile(&kernel).expect("compiles");
        for (input, third) in [(0xffc0_0001u32, CANONICAL_NAN), (0x7f80_0000, CANONICAL_NAN), (0x3f80_0000, 0)] {
            let mut memory = vec![0; kernel.memory_words()];
            memory[0] = input;
            jit.run(
                Invocation::TickForward { step: 0 },
                &mut memory,
                &mut [],
                &mut Vec::<Packet>::new(),
                &mut OpCounts::default(),
            )
            .expect("runs");
            let nan = f32::from_bits(input).is_nan();
            assert_eq!(memory[1], if nan { CANONICAL_NAN } else { input }, "{input:#x} * 1");
            assert_eq!(memory[2] == CANONICAL_NAN, nan, "2 * {input:#x} + 1");
            // inf - inf is the host's default NaN before canonicalisation.
            assert_eq!(memory[3], third, "{input:#x}: x - x");
        }
    }
}
