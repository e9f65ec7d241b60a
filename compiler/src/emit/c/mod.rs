//! C backend of the kernel IR: one C99 file per kernel, plus the fixed
//! support files every PE program is built with.
//!
//! Input: a [`VerifiedKernel`] (this backend does not verify again) and the
//! PE's initial data memory (little-endian 32-bit words from byte 0; words
//! not given are zero).
//! Output: `<kernel>.c`, which defines the buffers as one `static struct`
//! initialised with the data (in `.data`, loaded by the host with the
//! program), one `static` function per entry point, and the
//! `const s2_program <kernel>_program` the event loop (`s2_run.c`) runs; and
//! [`support_files`]: `s2_kernel.h` (the IR's arithmetic in portable C),
//! `s2_hal.h` (the board interface), the host and QEMU HALs, the Cortex-M4
//! startup code, linker script and Makefile. A kernel shared by several PEs
//! is emitted once as a template ([`emit_template`]) whose data each PE
//! supplies as a header ([`pe_data`]); [`program`] emits a whole lowered
//! program that way.
//!
//! Semantics: the emitted code computes exactly what the interpreter
//! (`snnc_runtime::interp`) computes, bit for bit, when compiled by a C99
//! compiler with `-ffp-contract=off` for a target where `int` is 32 bits and
//! `float` is IEEE binary32 evaluated in single precision (x86-64, Cortex-M4F):
//! f32 arithmetic goes through `s2_kernel.h`'s helpers (canonical NaN), i32
//! arithmetic wraps without signed overflow, and every trap of the IR (an
//! index out of bounds, an integer division by zero or overflow) is a
//! check that calls `s2_trap` and returns, evaluated in the interpreter's
//! order (operands left to right, depth first): a trapping sub-expression is
//! hoisted into a statement before the expression that uses it.
//!
//! Invariants: the emitted code compiles without warnings under
//! `-std=c99 -Wall -Wextra -Werror` (unread locals are not declared, unused
//! parameters are cast to void, constant integer sub-expressions and
//! comparisons that their operand types or constants decide are folded); it
//! contains nothing board specific (only `s2_hal.h` calls); index checks are
//! left out only where the index is proven in bounds (constants, loop
//! variables with constant bounds, `x % c`, `x & c`, and sums and products of
//! those); an access to an empty buffer (no member of the memory struct)
//! prints only its check, which always traps.

mod kernel;
pub mod program;

use crate::kernel::{Expr, ExprKind, Kernel, Stmt, VerifiedKernel};

/// Bytes of a PE's data region (SRAM above the 32 KiB of code).
pub const DATA_REGION: u64 = 96 * 1024;

/// Data bytes the program needs besides the kernel's buffers: the stack the
/// linker script keeps (4 KiB) and the HAL's and C library's state (1 KiB).
pub const DATA_RESERVED: u64 = 5 * 1024;

/// Bytes of the PE's code region (ITCM).
pub const CODE_REGION: u64 = 32 * 1024;

/// The code-size estimate: a fixed part (startup, HAL, C library: 2.5 KiB
/// measured) and a per-IR-node part. Calibrated on the Cortex-M4F images
/// of yinyang and deep (`arm-none-eabi-size`): 2534 bytes for a 14-node
/// kernel and at most 7.6 bytes per further node; the estimate takes 3 KiB
/// and 12 bytes per node, and `runtime/tests/runtime/firmware_trace_parity.rs`
/// checks that it is never below an image's real size.
pub const CODE_BASE: u64 = 3 * 1024;
pub const CODE_PER_NODE: u64 = 12;

/// The estimated code bytes of a kernel's image.
pub fn code_estimate(kernel: &Kernel) -> u64 {
    CODE_BASE + CODE_PER_NODE * ir_nodes(kernel)
}

/// Why a kernel could not be emitted.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EmitError {
    #[error(
        "kernel `{kernel}` needs {bytes} bytes of buffers; with {reserved} bytes of stack and HAL state that exceeds the PE's {region}-byte data region"
    )]
    #[diagnostic(
        code(snn::emit::does_not_fit),
        help("the buffers may use at most {} bytes: give this PE fewer neurons or a smaller spike budget", region - reserved)
    )]
    DoesNotFit { kernel: String, bytes: u64, reserved: u64, region: u64 },
    #[error(
        "kernel `{kernel}` has {nodes} IR nodes, an estimated {bytes} bytes of code: more than the PE's {region}-byte code region"
    )]
    #[diagnostic(
        code(snn::emit::code_does_not_fit),
        help(
            "the estimate is {} bytes plus {} per IR node: split the population over more PEs",
            CODE_BASE,
            CODE_PER_NODE
        )
    )]
    CodeDoesNotFit { kernel: String, nodes: u64, bytes: u64, region: u64 },
}

/// The C source of one kernel, `<kernel>.c`, with its buffers initialised
/// from `memory` (word `i` is the data memory's bytes `4i..4i+4`).
/// Fails if the buffers and the reserved data do not fit the data region.
pub fn emit_kernel(kernel: &VerifiedKernel, memory: &[u32]) -> Result<String, EmitError> {
    let bytes = 4 * memory_words(kernel) as u64;
    if bytes + DATA_RESERVED > DATA_REGION {
        return Err(EmitError::DoesNotFit {
            kernel: kernel.name.clone(),
            bytes,
            reserved: DATA_RESERVED,
            region: DATA_REGION,
        });
    }
    Ok(kernel::emit(kernel, Some(memory)))
}

/// The C source of a kernel template shared by several PEs: its data comes
/// from the header named by `S2_PE_DATA` ([`pe_data`]). Fails as
/// [`emit_kernel`] does, and when the template's estimated code
/// ([`code_estimate`]) exceeds the PE's code region: every PE of a lowered
/// program must fit (a single kernel emitted for tests is left to the linker).
pub fn emit_template(kernel: &VerifiedKernel) -> Result<String, EmitError> {
    emit_kernel(kernel, &[])?;
    let code = code_estimate(kernel);
    if code > CODE_REGION {
        return Err(EmitError::CodeDoesNotFit {
            kernel: kernel.name.clone(),
            nodes: ir_nodes(kernel),
            bytes: code,
            region: CODE_REGION,
        });
    }
    Ok(kernel::emit(kernel, None))
}

/// One PE's data header for `kernel`'s template (see [`emit_template`]):
/// the definition of its memory, initialised from `memory`.
pub fn pe_data(kernel: &VerifiedKernel, memory: &[u32]) -> String {
    kernel::pe_data(kernel, memory)
}

/// The number of 32-bit words of data memory the emitted program holds
/// (and outputs): from byte 0 to the end of the last non-empty buffer, at
/// least one word.
pub fn memory_words(kernel: &VerifiedKernel) -> usize {
    kernel.data_words()
}

/// The number of IR nodes of a kernel: statements and expression nodes,
/// over every entry point (what its code size grows with).
pub fn ir_nodes(kernel: &Kernel) -> u64 {
    fn expr(e: &Expr) -> u64 {
        1 + match &e.kind {
            ExprKind::Const(_) | ExprKind::Local(_) => 0,
            ExprKind::Load { index: a, .. } | ExprKind::Unary { arg: a, .. } | ExprKind::Convert { arg: a, .. } => {
                expr(a)
            }
            ExprKind::Binary { lhs, rhs, .. } | ExprKind::Compare { lhs, rhs, .. } => expr(lhs) + expr(rhs),
            ExprKind::Select { cond, then, otherwise } => expr(cond) + expr(then) + expr(otherwise),
        }
    }
    fn block(body: &[Stmt]) -> u64 {
        body.iter()
            .map(|s| {
                1 + match s {
                    Stmt::Assign { value, .. } => expr(value),
                    Stmt::Store { index, value, .. } => expr(index) + expr(value),
                    Stmt::If { cond, then_body, else_body } => expr(cond) + block(then_body) + block(else_body),
                    Stmt::For { start, end, body, .. } => expr(start) + expr(end) + block(body),
                    Stmt::Send { key, payload } => expr(key) + payload.as_ref().map_or(0, expr),
                    Stmt::Dma { index, dram, words, .. } => expr(index) + expr(dram) + expr(words),
                }
            })
            .sum()
    }
    kernel.functions.iter().map(|f| block(&f.body)).sum()
}

/// The C identifier of a kernel's `s2_program` (`<kernel>_program`).
pub fn program_symbol(kernel: &Kernel) -> String {
    format!("{}_program", kernel::c_prefix(&kernel.name))
}

/// A file shipped with every emitted program: (file name, contents).
pub type SupportFile = (&'static str, &'static str);

/// The fixed files of the C backend.
pub fn support_files() -> [SupportFile; 9] {
    [
        ("s2_kernel.h", include_str!("files/s2_kernel.h")),
        ("s2_hal.h", include_str!("files/s2_hal.h")),
        ("s2_run.c", include_str!("files/s2_run.c")),
        ("s2_main.c", include_str!("files/s2_main.c")),
        ("s2_hal_host.c", include_str!("files/s2_hal_host.c")),
        ("s2_hal_qemu.c", include_str!("files/s2_hal_qemu.c")),
        ("s2_startup_m4.c", include_str!("files/s2_startup_m4.c")),
        ("s2_pe.ld", include_str!("files/s2_pe.ld")),
        ("Makefile", include_str!("files/Makefile")),
    ]
}

/// The host harness's program table (`s2_host_programs`), for a host build
/// of several kernels into one executable, in the given order.
pub fn host_program_table(kernels: &[&Kernel]) -> String {
    let mut out = String::from("/* Programs of this host harness, by number. */\n#include \"s2_hal.h\"\n\n");
    for k in kernels {
        out.push_str(&format!("extern const s2_program {};\n", program_symbol(k)));
    }
    out.push_str("\nconst s2_program *const s2_host_programs[] = {\n");
    for k in kernels {
        out.push_str(&format!("    &{},\n", program_symbol(k)));
    }
    out.push_str(&format!("}};\nconst uint32_t s2_host_program_count = {};\n", kernels.len()));
    out
}

#[cfg(test)]
mod tests;
