//! Unit tests of the C backend's refusals and of templates; the emitted C
//! of example kernels is checked by the filetests (`tests/kir/`, `; test
//! emit-c`).

use super::*;
use crate::kernel::{EntryPoint, Expr, FunctionBuilder, Kernel, KernelBuilder, Ty, parse_kernel, verify};

fn verified(kernel: Kernel) -> VerifiedKernel {
    verify(&kernel).expect("the kernel verifies")
}

/// Buffers that fill the kernel's 96 KiB budget leave no room for the stack:
/// snnc refuses them (gcc's linker would too, later and less clearly).
#[test]
fn buffers_without_room_for_the_stack_do_not_fit() {
    let mut k = KernelBuilder::new("full");
    k.buffer("big", Ty::F32, 23 * 1024);
    let kernel = verified(k.finish());
    match emit_kernel(&kernel, &[]) {
        Err(EmitError::DoesNotFit { bytes, .. }) => assert_eq!(bytes, 23 * 4096),
        other => panic!("expected DoesNotFit, got {other:?}"),
    }
    let mut k = KernelBuilder::new("fits");
    k.buffer("big", Ty::F32, 22 * 1024);
    assert!(emit_kernel(&verified(k.finish()), &[]).is_ok());
}

/// A template is refused like a kernel when its buffers do not fit.
#[test]
fn a_template_that_does_not_fit_is_refused() {
    let mut k = KernelBuilder::new("full");
    k.buffer("big", Ty::F32, 23 * 1024);
    assert!(matches!(emit_template(&verified(k.finish())), Err(EmitError::DoesNotFit { .. })));
}

/// A template with a PE's data header is the kernel emitted with that data:
/// the header is exactly the data definition `emit_kernel` writes in place
/// of the template's `#ifdef S2_PE_DATA` block.
#[test]
fn template_plus_pe_data_is_the_kernel_with_its_data() {
    let kernel = parse_kernel(include_str!("../../../../tests/kir/examples/lif_layer.kir")).expect("parses");
    let kernel = verified(kernel);
    let mut memory = vec![0u32; kernel.memory_words()];
    for (i, w) in memory.iter_mut().take(20).enumerate() {
        *w = (i as f32 * 0.5 + 0.25).to_bits();
    }
    let template = emit_template(&kernel).expect("emits");
    let block = "#ifdef S2_PE_DATA\n#include S2_PE_DATA\n#else\nstatic struct lif_layer_memory mem;\n#endif\n";
    assert!(template.contains(block), "the template includes S2_PE_DATA");
    assert_eq!(template.replace(block, &pe_data(&kernel, &memory)), emit_kernel(&kernel, &memory).expect("emits"));
}

/// IR names that are C keywords or collide with the emitted code's own
/// names are renamed; others are kept.
#[test]
fn reserved_names_are_renamed() {
    let mut k = KernelBuilder::new("s2_hal");
    let int = k.buffer("int", Ty::I32, 2);
    let mut f = crate::kernel::FunctionBuilder::new(crate::kernel::EntryPoint::Init);
    let a = f.let_("mem", crate::kernel::Expr::i32(1));
    let b = f.let_("mem_", crate::kernel::Expr::i32(2));
    f.store(int, crate::kernel::Expr::u32(0), a.get());
    f.store(int, crate::kernel::Expr::u32(1), b.get());
    k.define(f.finish());
    let c = emit_kernel(&verified(k.finish()), &[]).expect("emits");
    for expected in [
        "int32_t int_[2];",
        "int32_t mem__ = 0;",
        "int32_t mem_ = 0;",
        "mem.int_[0u] = mem__;",
        "mem.int_[1u] = mem_;",
        "const s2_program k_s2_hal_program",
    ] {
        assert!(c.contains(expected), "missing `{expected}` in\n{c}");
    }
}

/// A template whose estimated code exceeds the 32 KiB code region is
/// refused by snnc, before gcc's linker would refuse it.
#[test]
fn code_over_the_code_region_does_not_fit() {
    let kernel_with = |stores: u32| {
        let mut k = KernelBuilder::new("long");
        let out = k.buffer("out", Ty::F32, 4);
        let mut f = FunctionBuilder::new(EntryPoint::Init);
        for i in 0..stores {
            f.store(out, Expr::u32(i % 4), Expr::f32(i as f32));
        }
        k.define(f.finish());
        verified(k.finish())
    };
    // Each store is 3 nodes: 12 * 3 * 820 + 3072 = 32592 bytes fit ...
    assert!(emit_template(&kernel_with(820)).is_ok());
    // ... 12 * 3 * 900 + 3072 = 35472 do not.
    match emit_template(&kernel_with(900)) {
        Err(EmitError::CodeDoesNotFit { nodes, bytes, .. }) => assert_eq!((nodes, bytes), (2700, 35472)),
        other => panic!("expected CodeDoesNotFit, got {other:?}"),
    }
}
