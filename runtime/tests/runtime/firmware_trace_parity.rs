//! Firmware parity of whole lowered programs, PE by PE: the emulator runs
//! one training batch of an example (forward and backward on every batch
//! copy, then the optimiser's Adam step) recording every PE's events
//! ([`snnc_runtime::emu::trace`]); then every PE's emitted C (its kernel
//! template compiled with its own data header, i.e. its real initial data)
//! replays its recorded events (calls in the order handled, host writes in
//! between) and must send the same packets in the same order and end with
//! the same data memory, bit for bit.
//!
//! Why this proves the whole machine (see `emu::trace`): a PE's outputs and
//! state are a function of its initial memory and its event sequence; the
//! events of every PE are built, in the machine's deterministic order, from
//! packets sent earlier and host writes; so by induction over that order,
//! firmware that matches on every PE with the same inputs runs the whole
//! machine identically.
//!
//! Host: every PE of `examples/yinyang.snn`, `examples/deep.snn` and the
//! split network `support/split.snn` (every population over several PEs), all
//! compiled (`cc -std=c99 -O2 -ffp-contract=off -Wall -Wextra -Werror`) into
//! one harness (`s2_hal_host.c`, each PE's `<template>_program` renamed to
//! `<pe>_program`). Cortex-M4F: one PE of each template of yinyang, deep and
//! the split network built with the emitted Makefile and run under
//! `qemu-system-arm -M mps2-an386`. Tests skip, saying
//! why, when `cc` (or the ARM toolchain, QEMU or make) is missing.

use crate::c_harness;
use crate::trace_replay;

use std::process::Command;

use rayon::prelude::*;
use std::time::Instant;

use c_harness::{HOST_CFLAGS, run, run_qemu, split_transcripts, tool};
use snnc_compiler::emit::c::program::pe_name;
use snnc_compiler::emit::c::program_symbol;
use snnc_compiler::kernel::EntryPoint;
use snnc_runtime::emu::PeEvent;
use trace_replay::{
    Recorded, difference, expected_transcript, host_script, qemu_events, record_training_batch, write_program,
};

/// The file stem of a core's kernel template (`<stem>.c`).
fn template_stem(r: &Recorded, core: usize) -> String {
    program_symbol(&r.program.kernels[r.program.cores[core].kernel]).trim_end_matches("_program").to_string()
}

/// Replays every PE of `example`'s first training batch through its host
/// firmware; returns the number of PEs compared.
fn host_parity(example: &str) -> usize {
    host_parity_of(example, Instant::now(), record_training_batch(example))
}

/// [`host_parity`] of a recorded batch.
fn host_parity_of(example: &str, start: Instant, r: Recorded) -> usize {
    let cores = r.program.cores.len();
    let dir = tempfile::tempdir().expect("temp dir");
    write_program(dir.path(), &r);
    let recorded = start.elapsed();

    // Every trace is complete: its calls and packets add up to the
    // emulator's own counts.
    let traces: Vec<_> = (0..cores).map(|c| r.emu.trace(c).expect("traced")).collect();
    let counters = r.emu.counters();
    assert_eq!(traces.iter().map(|t| t.calls() as u64).sum::<u64>(), counters.invocations);
    assert_eq!(traces.iter().map(|t| t.sent() as u64).sum::<u64>(), counters.packets_sent.iter().sum::<u64>());

    // One object per PE (two compilers at a time), one harness.
    let objects: Vec<String> = (0..cores).map(|c| pe_name(&r.mapped, &r.program.cores[c])).collect();
    let cc = std::path::PathBuf::from("cc");
    std::thread::scope(|s| {
        for w in 0..2 {
            let (r, objects, cc, dir) = (&r, &objects, &cc, dir.path());
            s.spawn(move || {
                for c in (w..cores).step_by(2) {
                    let (stem, pe) = (template_stem(r, c), &objects[c]);
                    run(Command::new(cc)
                        .current_dir(dir)
                        .args(HOST_CFLAGS)
                        .arg(format!("-DS2_PE_DATA=\"{pe}.h\""))
                        .arg(format!("-D{stem}_program={pe}_program"))
                        .args(["-c", &format!("{stem}.c"), "-o", &format!("{pe}.o")]));
                }
            });
        }
    });
    let mut table = String::from("#include \"s2_hal.h\"\n\n");
    for pe in &objects {
        table.push_str(&format!("extern const s2_program {pe}_program;\n"));
    }
    table.push_str("\nconst s2_program *const s2_host_programs[] = {\n");
    for pe in &objects {
        table.push_str(&format!("    &{pe}_program,\n"));
    }
    table.push_str(&format!("}};\nconst uint32_t s2_host_program_count = {cores};\n"));
    std::fs::write(dir.path().join("trace_programs.c"), table).expect("write table");
    run(Command::new(&cc)
        .current_dir(dir.path())
        .args(HOST_CFLAGS)
        .args(["s2_run.c", "s2_hal_host.c", "trace_programs.c"])
        .args(objects.iter().map(|pe| format!("{pe}.o")))
        .args(["-o", "host", "-lm"]));
    let compiled = start.elapsed();

    let mut script = String::new();
    for (c, t) in traces.iter().enumerate() {
        host_script(&mut script, c, t);
    }
    std::fs::write(dir.path().join("script.txt"), script).expect("write script");
    let output = run(Command::new("sh").current_dir(dir.path()).args(["-c", "./host < script.txt"]));
    let actual = split_transcripts(&output);
    assert_eq!(actual.len(), cores, "{example}: one transcript per PE");

    let (mut events, mut packets, mut words, mut writes) = (0, 0, 0, 0);
    for c in 0..cores {
        let core = &r.program.cores[c];
        let kernel = &r.program.kernels[core.kernel];
        let expected = expected_transcript(c, kernel, traces[c], r.emu.memory(c), r.emu.dram_region(c));
        assert!(
            expected == actual[c],
            "{example}: PE {} ({} of copy {:?}, template `{}`) differs from the emulator, {}",
            objects[c],
            core.role.name(),
            core.batch_copy,
            kernel.name,
            difference(kernel, &expected, &actual[c])
        );
        assert!(traces[c].calls() > 1, "{example}: PE {} handled only init", objects[c]);
        events += traces[c].events.len();
        writes += traces[c].events.iter().filter(|e| matches!(e, PeEvent::Write { .. })).count();
        packets += traces[c].sent();
        words += snnc_compiler::emit::c::memory_words(kernel);
    }
    assert!(writes > 0 && packets > 1000, "{example}: {writes} host writes, {packets} packets");
    println!(
        "{example}: {cores} PEs bit-identical to the emulator: {events} events replayed ({writes} host writes), \
         {packets} packets and {words} memory words compared; recorded in {:.1} s, compiled in {:.1} s, total {:.1} s",
        recorded.as_secs_f64(),
        (compiled - recorded).as_secs_f64(),
        start.elapsed().as_secs_f64()
    );
    cores
}

#[test]
fn yinyang_every_pe_replays_its_training_batch_on_host() {
    if crate::slow::skip("yinyang_every_pe_replays_its_training_batch_on_host") {
        return;
    }
    if tool("cc", "the host C compiler builds every PE's firmware").is_none() {
        return;
    }
    assert_eq!(host_parity("yinyang.snn"), 89);
}

#[test]
fn deep_every_pe_replays_its_training_batch_on_host() {
    if crate::slow::skip("deep_every_pe_replays_its_training_batch_on_host") {
        return;
    }
    if tool("cc", "the host C compiler builds every PE's firmware").is_none() {
        return;
    }
    assert_eq!(host_parity("deep.snn"), 133);
}

/// Every population split over several PEs: the slices' packet handlers
/// continue the error sums and send them on (`runtime/tests/runtime/support/split.snn`).
#[test]
fn split_every_pe_replays_its_training_batch_on_host() {
    if crate::slow::skip("split_every_pe_replays_its_training_batch_on_host") {
        return;
    }
    if tool("cc", "the host C compiler builds every PE's firmware").is_none() {
        return;
    }
    let r = trace_replay::training_batch_of("split.snn", include_str!("support/split.snn"), true);
    assert_eq!(host_parity_of("split.snn", Instant::now(), r), 4 * 31 + 1);
}

/// The model class (`support/temporal.snn`: delay lines, recurrence and a
/// cycle with delays whose errors go through the ring, an `li` readout with
/// a voltage loss and its loss PE, the regulariser; every population split,
/// two chips): every PE replays its training batch.
#[test]
fn temporal_every_pe_replays_its_training_batch_on_host() {
    if crate::slow::skip("temporal_every_pe_replays_its_training_batch_on_host") {
        return;
    }
    if tool("cc", "the host C compiler builds every PE's firmware").is_none() {
        return;
    }
    let r = trace_replay::training_batch_of("temporal.snn", include_str!("support/temporal.snn"), true);
    let cores = r.emu.program().cores.len();
    assert!(cores > 40, "every population split over several PEs, in 4 batch copies");
    assert_eq!(host_parity_of("temporal.snn", Instant::now(), r), cores);
}

/// `support/temporal.snn` with every layer's synapses and input-spike
/// record in its PE's private DRAM region (`synapses = dram`).
fn temporal_in_dram() -> String {
    in_target(include_str!("support/temporal.snn"), "synapses = dram")
}

/// `text` (`support/temporal.snn` or a variant, its target block holding
/// `neurons_per_core = 3`) with `line` added to its target block.
fn in_target(text: &str, line: &str) -> String {
    let out = text.replacen("neurons_per_core = 3", &format!("neurons_per_core = 3\n    {line}"), 1);
    assert_ne!(out, text, "the target block of temporal.snn changed");
    out
}

/// The templates of `support/temporal.snn` on its target (all its
/// variants here map alike): inputs split 3 + 2; h1 and h2 each a first, a
/// middle and a last slice; the readout; the loss; the optimiser.
const TEMPORAL_TEMPLATES: [&str; 11] =
    ["input", "input", "layer", "layer", "layer", "layer", "layer", "layer", "layer", "loss", "optimiser"];

/// The model class with its synapses in DRAM: every PE replays its training
/// batch, the layer PEs' DMA statements reading and writing their private
/// DRAM regions (the trace's initial region, the emulator's final one).
#[test]
fn temporal_in_dram_every_pe_replays_its_training_batch_on_host() {
    if crate::slow::skip("temporal_in_dram_every_pe_replays_its_training_batch_on_host") {
        return;
    }
    if tool("cc", "the host C compiler builds every PE's firmware").is_none() {
        return;
    }
    let r = trace_replay::training_batch_of("temporal.snn", &temporal_in_dram(), true);
    let cores = r.emu.program().cores.len();
    let regions = (0..cores).filter(|&c| !r.emu.trace(c).expect("traced").region.is_empty()).count();
    let layers = r.program.cores.iter().filter(|c| c.role == snnc_compiler::partition::Role::Layer).count();
    assert!(layers > 0 && regions == layers, "{regions} regions for {layers} layer PEs");
    assert_eq!(host_parity_of("temporal.snn in DRAM", Instant::now(), r), cores);
}

/// `text` (the target block holding `neurons_per_core = 3`) with one copy
/// for the batch (`mapping = single_copy`).
fn single_copy(text: &str) -> String {
    in_target(text, "mapping = single_copy")
}

/// One copy for the batch: every layer PE adds each sample's gradients to
/// its batch sums at `end_of_sample` (in SRAM, and row by row by DMA in its
/// DRAM region) and sends the sums once; every PE replays its training
/// batch, with synapses in SRAM and in DRAM.
#[test]
fn temporal_single_copy_every_pe_replays_its_training_batch_on_host() {
    if crate::slow::skip("temporal_single_copy_every_pe_replays_its_training_batch_on_host") {
        return;
    }
    if tool("cc", "the host C compiler builds every PE's firmware").is_none() {
        return;
    }
    for (what, text) in [
        ("temporal.snn, single copy", single_copy(include_str!("support/temporal.snn"))),
        ("temporal.snn in DRAM, single copy", single_copy(&temporal_in_dram())),
    ] {
        let r = trace_replay::training_batch_of("temporal.snn", &text, true);
        assert_eq!(r.program.copies, 1, "{what}");
        let program = r.emu.program();
        let sums = program
            .cores
            .iter()
            .filter(|c| {
                let f = program.kernels[c.kernel].kernel().function(EntryPoint::EndOfSample);
                f.is_some_and(|f| !f.body.is_empty())
            })
            .count();
        let layers = program.cores.iter().filter(|c| c.role == snnc_compiler::partition::Role::Layer).count();
        assert!(layers > 0 && sums == layers, "{what}: {sums} of {layers} layer PEs sum the batch");
        let cores = program.cores.len();
        assert_eq!(host_parity_of(what, Instant::now(), r), cores);
    }
}

/// Two copies of two samples each (`copies = 2` for the batch of 4): every
/// layer PE keeps its samples' gradients in two slots (in SRAM, and in its
/// DRAM region) and the chain adds them in sample order; every PE replays
/// its training batch.
#[test]
fn temporal_two_copies_every_pe_replays_its_training_batch_on_host() {
    if crate::slow::skip("temporal_two_copies_every_pe_replays_its_training_batch_on_host") {
        return;
    }
    if tool("cc", "the host C compiler builds every PE's firmware").is_none() {
        return;
    }
    for (what, text) in [
        ("temporal.snn, two copies", two_copies(include_str!("support/temporal.snn"))),
        ("temporal.snn in DRAM, two copies", two_copies(&temporal_in_dram())),
    ] {
        let r = trace_replay::training_batch_of("temporal.snn", &text, true);
        assert_eq!(r.program.copies, 2, "{what}");
        let slots = r.program.kernels.iter().filter(|k| k.kernel().buffer_named("slot").is_some()).count();
        assert!(slots > 0, "{what}: no layer keeps gradient slots");
        let cores = r.emu.program().cores.len();
        assert_eq!(host_parity_of(what, Instant::now(), r), cores);
    }
}

/// One PE of each template of the model-class network on two copies of two
/// samples, with synapses in DRAM: the slots' DMA on the Cortex-M4F.
#[test]
fn temporal_two_copies_in_dram_pe_of_each_template_replays_its_training_batch_on_cortex_m4() {
    if crate::slow::skip("temporal_two_copies_in_dram_pe_of_each_template_replays_its_training_batch_on_cortex_m4") {
        return;
    }
    if qemu_tools() {
        let r = trace_replay::training_batch_of("temporal.snn", &two_copies(&temporal_in_dram()), true);
        qemu_parity_of("temporal.snn in DRAM, two copies", r, &TEMPORAL_TEMPLATES);
    }
}

/// `text` (the target block holding `neurons_per_core = 3`, a batch of 4)
/// on two batch copies of two samples each.
fn two_copies(text: &str) -> String {
    in_target(text, "copies = 2")
}

/// One PE of each template of the model-class network on one copy for the
/// batch, with synapses in DRAM: the batch sums' DMA on the Cortex-M4F.
#[test]
fn temporal_single_copy_in_dram_pe_of_each_template_replays_its_training_batch_on_cortex_m4() {
    if crate::slow::skip("temporal_single_copy_in_dram_pe_of_each_template_replays_its_training_batch_on_cortex_m4") {
        return;
    }
    if qemu_tools() {
        let r = trace_replay::training_batch_of("temporal.snn", &single_copy(&temporal_in_dram()), true);
        qemu_parity_of("temporal.snn in DRAM, single copy", r, &TEMPORAL_TEMPLATES);
    }
}

/// Builds `build/<pe>.elf` with the emitted Makefile and replays `events`
/// under QEMU; returns its transcript.
fn run_on_qemu(dir: &std::path::Path, pe: &str, events: &[u8]) -> String {
    let elf = format!("build/{pe}.elf");
    run(Command::new("make").current_dir(dir).args(["-s", &elf]));
    let work = dir.join(format!("qemu_{pe}"));
    std::fs::create_dir_all(&work).expect("work dir");
    std::fs::write(work.join("s2_events.bin"), events).expect("write events");
    let (status, stdout, stderr) = run_qemu(&work, &dir.join(&elf), 120);
    assert!(
        status.success(),
        "PE {pe}: qemu exited with {status}:\n{}\n{stderr}",
        stdout.lines().take(20).collect::<Vec<_>>().join("\n"),
    );
    stdout
}

/// One PE of each kernel template of `example` (the first in batch copy 0 or
/// the optimiser group: input, each layer, loss, optimiser) replays its
/// training batch on a Cortex-M4F under QEMU; `layers` is the number of
/// layer templates.
fn qemu_parity(example: &str, layers: usize) {
    let mut want = vec!["input"];
    want.extend(std::iter::repeat_n("layer", layers));
    want.extend(["loss", "optimiser"]);
    qemu_parity_of(example, record_training_batch(example), &want);
}

/// [`qemu_parity`] of a recorded batch; `want`: the roles of the PEs chosen.
fn qemu_parity_of(example: &str, r: Recorded, want: &[&str]) {
    let start = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    write_program(dir.path(), &r);
    let mut chosen: Vec<usize> = Vec::new();
    for (c, core) in r.program.cores.iter().enumerate() {
        if core.batch_copy.unwrap_or(0) == 0 && !chosen.iter().any(|&o| r.program.cores[o].kernel == core.kernel) {
            chosen.push(c);
        }
    }
    let roles: Vec<&str> = chosen.iter().map(|&c| r.program.cores[c].role.name()).collect();
    assert_eq!(roles, want, "{example}: the PEs chosen, by role");
    // On every core (rayon's pool), in PE order.
    let results: Vec<(usize, String)> = chosen
        .par_iter()
        .map(|&c| {
            let pe = pe_name(&r.mapped, &r.program.cores[c]);
            let trace = r.emu.trace(c).expect("traced");
            (c, run_on_qemu(dir.path(), &pe, &qemu_events(trace)))
        })
        .collect();
    let (mut events, mut packets) = (0, 0);
    for (c, actual) in &results {
        let core = &r.program.cores[*c];
        let kernel = &r.program.kernels[core.kernel];
        let trace = r.emu.trace(*c).expect("traced");
        let expected = expected_transcript(0, kernel, trace, r.emu.memory(*c), r.emu.dram_region(*c));
        let pe = pe_name(&r.mapped, core);
        assert!(
            &expected == actual,
            "{example}: PE {pe} ({}, template `{}`) differs on the Cortex-M4 from the emulator, {}",
            core.role.name(),
            kernel.name,
            difference(kernel, &expected, actual)
        );
        let size = run(Command::new("arm-none-eabi-size").arg(dir.path().join(format!("build/{pe}.elf"))));
        let n: Vec<u64> = size
            .lines()
            .nth(1)
            .expect("a size row")
            .split_whitespace()
            .take(3)
            .map(|x| x.parse().expect("a number"))
            .collect();
        let (text, data, bss) = (n[0], n[1], n[2]);
        let estimate = snnc_compiler::emit::c::code_estimate(kernel);
        println!(
            "{pe} {:<9} {:<13} {:>6} events {:>5} packets  text {text:>5} (estimate {estimate:>5}) data {data:>5} bss {bss}",
            core.role.name(),
            kernel.name,
            trace.events.len(),
            trace.sent(),
        );
        assert!(
            text <= estimate,
            "{example}: PE {pe}: snnc's code estimate {estimate} is below the image's real {text} bytes"
        );
        assert!(
            text <= 32 * 1024 && data + bss + 4 * 1024 <= 96 * 1024,
            "{example}: PE {pe} does not fit a PE: text {text}, data {data}, bss {bss}, 4 KiB stack"
        );
        events += trace.events.len();
        packets += trace.sent();
    }
    println!(
        "{example}: {} PEs bit-identical on qemu mps2-an386: {events} events replayed, {packets} packets compared, {:.1} s",
        results.len(),
        start.elapsed().as_secs_f64()
    );
}

fn qemu_tools() -> bool {
    let why = "the Cortex-M4 trace replay builds and runs the emitted firmware";
    tool("arm-none-eabi-gcc", why).is_some() && tool("qemu-system-arm", why).is_some() && tool("make", why).is_some()
}

/// Input, hidden layer, output layer, loss and optimiser PEs of yinyang.
#[test]
fn yinyang_pe_of_each_role_replays_its_training_batch_on_cortex_m4() {
    if crate::slow::skip("yinyang_pe_of_each_role_replays_its_training_batch_on_cortex_m4") {
        return;
    }
    if qemu_tools() {
        qemu_parity("yinyang.snn", 2);
    }
}

/// Input, the four layers', loss and optimiser PEs of deep.
#[test]
fn deep_pe_of_each_template_replays_its_training_batch_on_cortex_m4() {
    if crate::slow::skip("deep_pe_of_each_template_replays_its_training_batch_on_cortex_m4") {
        return;
    }
    if qemu_tools() {
        qemu_parity("deep.snn", 4);
    }
}

/// One PE of each template of the model-class network.
#[test]
fn temporal_pe_of_each_template_replays_its_training_batch_on_cortex_m4() {
    if crate::slow::skip("temporal_pe_of_each_template_replays_its_training_batch_on_cortex_m4") {
        return;
    }
    if qemu_tools() {
        let r = trace_replay::training_batch_of("temporal.snn", include_str!("support/temporal.snn"), true);
        qemu_parity_of("temporal.snn", r, &TEMPORAL_TEMPLATES);
    }
}

/// One PE of each template of the model-class network with its synapses in
/// DRAM: the layer PEs' regions in the QEMU board's RAM.
#[test]
fn temporal_in_dram_pe_of_each_template_replays_its_training_batch_on_cortex_m4() {
    if crate::slow::skip("temporal_in_dram_pe_of_each_template_replays_its_training_batch_on_cortex_m4") {
        return;
    }
    if qemu_tools() {
        let r = trace_replay::training_batch_of("temporal.snn", &temporal_in_dram(), true);
        qemu_parity_of("temporal.snn in DRAM", r, &TEMPORAL_TEMPLATES);
    }
}

/// One PE of each template of the split network: the input's two slice
/// sizes, the hidden layer, the first and a next slice of `h2` and of the
/// readout (whose handlers continue the error sums), loss and optimiser.
#[test]
fn split_pe_of_each_template_replays_its_training_batch_on_cortex_m4() {
    if crate::slow::skip("split_pe_of_each_template_replays_its_training_batch_on_cortex_m4") {
        return;
    }
    if qemu_tools() {
        let r = trace_replay::training_batch_of("split.snn", include_str!("support/split.snn"), true);
        let want = ["input", "input", "layer", "layer", "layer", "layer", "layer", "loss", "optimiser"];
        qemu_parity_of("split.snn", r, &want);
    }
}

/// Event inputs (`support/order.snn`, the order task of
/// `examples/recurrent.snn` on a few samples): the input PEs' DMA transfers
/// out of DRAM (the trace's DRAM words, read through the HAL's
/// `s2_dma_read`) and every other PE replay their training batch.
#[test]
fn order_every_pe_replays_its_training_batch_from_dram_on_host() {
    if crate::slow::skip("order_every_pe_replays_its_training_batch_from_dram_on_host") {
        return;
    }
    if tool("cc", "the host C compiler builds every PE's firmware").is_none() {
        return;
    }
    let r = trace_replay::training_batch_of("order.snn", include_str!("support/order.snn"), true);
    let cores = r.emu.program().cores.len();
    let dram_words: usize = (0..cores)
        .map(|c| r.emu.trace(c).expect("traced").events.iter().filter(|e| matches!(e, PeEvent::Dram { .. })).count())
        .sum();
    assert!(dram_words > 0, "the input PEs read DRAM");
    assert_eq!(host_parity_of("order.snn", Instant::now(), r), cores);
}

/// One PE of each template of `support/order.snn` on the Cortex-M4F: the
/// event input reads DRAM through the QEMU HAL.
#[test]
fn order_pe_of_each_template_replays_its_training_batch_from_dram_on_cortex_m4() {
    if crate::slow::skip("order_pe_of_each_template_replays_its_training_batch_from_dram_on_cortex_m4") {
        return;
    }
    if qemu_tools() {
        let r = trace_replay::training_batch_of("order.snn", include_str!("support/order.snn"), true);
        let want = ["input", "layer", "layer", "layer", "layer", "layer", "loss", "optimiser", "optimiser"];
        qemu_parity_of("order.snn", r, &want);
    }
}

/// `support/temporal.snn` with `h2` and the readout stepped by the exact
/// membrane integration (`integration = exact`, `docs/contract.md`
/// section 2) and `h1` by the default.
fn exact_integration(text: &str) -> String {
    let out = text.replacen("population h2  = lif(8)", "population h2  = lif(8) { integration = exact }", 1).replacen(
        "population out = li(3)",
        "population out = li(3) { integration = exact }",
        1,
    );
    assert_eq!(out.matches("integration = exact").count(), 2, "the populations of temporal.snn changed");
    out
}

/// Every PE of the model-class network with two populations stepped by the
/// exact integration replays its training batch on the host.
#[test]
fn temporal_exact_integration_every_pe_replays_its_training_batch_on_host() {
    if crate::slow::skip("temporal_exact_integration_every_pe_replays_its_training_batch_on_host") {
        return;
    }
    if tool("cc", "the host C compiler builds every PE's firmware").is_none() {
        return;
    }
    let r =
        trace_replay::training_batch_of("temporal.snn", &exact_integration(include_str!("support/temporal.snn")), true);
    let cores = r.emu.program().cores.len();
    assert_eq!(host_parity_of("temporal.snn, exact integration", Instant::now(), r), cores);
}

/// One PE of each template of the same network on the Cortex-M4F.
#[test]
fn temporal_exact_integration_pe_of_each_template_replays_its_training_batch_on_cortex_m4() {
    if crate::slow::skip("temporal_exact_integration_pe_of_each_template_replays_its_training_batch_on_cortex_m4") {
        return;
    }
    if qemu_tools() {
        let r = trace_replay::training_batch_of(
            "temporal.snn",
            &exact_integration(include_str!("support/temporal.snn")),
            true,
        );
        qemu_parity_of("temporal.snn, exact integration", r, &TEMPORAL_TEMPLATES);
    }
}
