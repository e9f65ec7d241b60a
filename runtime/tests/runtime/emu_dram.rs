//! Private DRAM regions in the emulator (a kernel's `dram_words`, reached by
//! its DMA statements): each core of such a template gets its own region,
//! its initial words from `CoreProgram::dram` and zero after them; the host
//! reads and writes it between runs (`Emulator::dram_region`/`_mut`); the
//! statements run in the emulator and count in its report; regions count
//! against their chip's DRAM (`snn::emu::dram_full`, refused before any is
//! made); tracing such a program is not yet supported.

use crate::load::{Loaded, load_example};

use snnc_compiler::kernel::{DmaDir, EntryPoint, Expr, OpClass, Stmt, verify};
use snnc_compiler::partition::Role;
use snnc_runtime::emu::counters::RunReport;
use snnc_runtime::emu::{EmuError, Emulator, SampleInput};

/// `examples/yinyang.snn` whose input PEs' template gets a region of
/// `words` words and an `end_of_sample` that copies DRAM words `0..2` into
/// its `spike_step` buffer's first two words and then writes them back to
/// DRAM words `2..4`; returns the loaded example and the input cores.
fn with_region(words: u32) -> (Loaded, Vec<usize>) {
    let mut l = load_example("yinyang.snn");
    let inputs: Vec<usize> = (0..l.program.cores.len()).filter(|&c| l.program.cores[c].role == Role::Input).collect();
    let template = l.program.cores[inputs[0]].kernel;
    let mut kernel = l.program.kernels[template].kernel().clone();
    kernel.dram_words = words;
    let (id, _) = kernel.buffer_named("spike_step").expect("an input PE's spike steps");
    let f = kernel.functions.iter_mut().find(|f| f.entry == EntryPoint::TickForward).expect("defined");
    let dma =
        |dir, dram| Stmt::Dma { dir, buffer: id, index: Expr::u32(0), dram: Expr::u32(dram), words: Expr::u32(2) };
    f.body.push(dma(DmaDir::Read, 0));
    f.body.push(dma(DmaDir::Write, 2));
    l.program.kernels[template] = verify(&kernel).expect("the kernel with DMA statements verifies");
    (l, inputs)
}

#[test]
fn a_region_is_the_cores_own_written_by_the_host_and_its_statements_count() {
    let (mut l, inputs) = with_region(8);
    let first = *inputs.iter().find(|&&c| l.program.cores[c].batch_copy == Some(0)).expect("an input of copy 0");
    l.program.cores[first].dram = vec![7, 9];
    let mut emu = Emulator::new(l.program.clone(), &l.mapped.machine, &l.mapped.routing.tables).unwrap();
    assert_eq!(emu.dram_region(first), &[7, 9, 0, 0, 0, 0, 0, 0]);
    for &other in inputs.iter().filter(|&&c| c != first) {
        assert_eq!(emu.dram_region(other), &[0; 8], "core {other}: its own region, zero");
    }
    let hidden = (0..l.program.cores.len()).find(|&c| l.program.cores[c].role != Role::Input).expect("a layer");
    assert!(emu.dram_region(hidden).is_empty(), "a kernel without a region gets none");
    emu.dram_region_mut(first)[1] = 5;
    emu.run_batch(&[SampleInput::of(&l.p.train, 0)], None).expect("runs");
    // The core copied its words 0..2 to 2..4, through its SRAM.
    assert_eq!(emu.dram_region(first), &[7, 5, 7, 5, 0, 0, 0, 0]);
    let c = emu.counters();
    let (transfers, flits) = (c.ops.get(OpClass::DmaTransfer), c.ops.get(OpClass::DmaFlit));
    assert!(transfers >= 2 && transfers % 2 == 0 && flits == transfers, "8 bytes: one flit each; {c:?}");
    let report = RunReport::of(&emu);
    let text = report.text();
    assert!(text.contains(&format!("; {transfers} DMA statement transfers")), "{text}");
    assert_eq!(report.json()["dma"]["statement_cycles"], transfers * (50 + 1));
}

#[test]
fn regions_that_do_not_fit_their_chips_dram_are_refused_and_traced_ones_start_from_the_image() {
    let (huge, _) = with_region(u32::MAX);
    let Err(err) = Emulator::new(huge.program, &huge.mapped.machine, &huge.mapped.routing.tables) else {
        panic!("regions of 16 GiB on one chip load")
    };
    assert!(matches!(err, EmuError::DramFull { samples: 0, .. }), "{err:?}");
    assert!(err.to_string().contains("and the PEs' private DRAM regions ("), "{err}");
    assert_eq!(miette::Diagnostic::code(&err).unwrap().to_string(), "snn::emu::dram_full");
    let (mut small, _) = with_region(4);
    let first =
        (0..small.program.cores.len()).find(|&c| small.program.kernels[small.program.cores[c].kernel].dram_words > 0);
    let first = first.expect("a core with a region");
    small.program.cores[first].dram = vec![3];
    let emu = Emulator::new_traced(small.program, &small.mapped.machine, &small.mapped.routing.tables).unwrap();
    // The trace keeps the region as `init` found it (the firmware replay's
    // starting point); cores without one have none.
    assert_eq!(emu.trace(first).unwrap().region, vec![3, 0, 0, 0]);
    let hidden = (0..emu.program().cores.len()).find(|&c| emu.program().cores[c].role != Role::Input).unwrap();
    assert!(emu.trace(hidden).unwrap().region.is_empty());
}
