//! The gradient chain across the batch copies (`docs/machine.md`, "Gradient
//! traffic"): copy `c`'s layer PEs add their gradients to copy `c - 1`'s
//! partial sums and pass them on, and only the last copy's sums reach the
//! optimiser. Training with the chain forced on (`gradients = chain`) and
//! forced off (`gradients = direct`) is bit-identical to the reference
//! trainer, so to each other: Yin-Yang (22 copies), the recurrent order
//! task (delay line, `li` readout), populations split over several PEs, a
//! placement over two chips; and the optimiser receives one gradient per
//! weight and batch instead of one per weight, copy and batch.

use std::path::Path;

use crate::emu_events::{order_task, two_epochs_match};
use crate::load::{Loaded, load};
use crate::slow;

use snnc_compiler::kernel::{Invocation, OpCounts};
use snnc_compiler::partition::PacketKind;
use snnc_runtime::emu::{CostModel, Counters, Emulator};
use snnc_runtime::interp::Interpreter;

fn example(name: &str) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    std::fs::read_to_string(dir.join(name)).expect("the example")
}

/// `text` with `gradients = scheme` in its target block (which it must have).
fn with_gradients(text: &str, scheme: &str) -> String {
    let out = text.replacen("target spinnaker2 {", &format!("target spinnaker2 {{ gradients = {scheme};"), 1);
    assert_ne!(out, text, "no target block");
    out
}

/// Loads `text` with the gradient `scheme`, checks that the mapping took it,
/// and trains two epochs on the first `samples` training samples in the
/// emulator and in the reference trainer, bit for bit. Returns the
/// emulator's counters and the training batches run.
fn trains_identically(name: &str, text: &str, scheme: &str, samples: Option<usize>) -> (Counters, u64, Emulator) {
    let Loaded { mut p, mapped, program, weights } = load(name, &with_gradients(text, scheme), None);
    assert_eq!(mapped.cores.gradients.chain, scheme == "chain", "{name}: {:?}", mapped.cores.gradients);
    if let Some(n) = samples {
        let keep: Vec<usize> = (0..n).collect();
        p.train = p.train.select(&keep);
    }
    let mut emu = Emulator::new(program, &mapped.machine, &mapped.routing.tables).unwrap();
    two_epochs_match(&p, &mut emu, weights);
    let batches = 2 * (p.train.len() / p.train_spec.batch as usize) as u64;
    (emu.counters(), batches, emu)
}

/// Yin-Yang, 22 copies, 20 batches an epoch: both schemes train as the
/// reference does; each copy sends each of its 960 gradients once either
/// way, but the optimiser handles 960 a batch with the chain and 22 x 960
/// without.
#[test]
fn yinyang_trains_identically_with_and_without_the_chain() {
    let text = example("yinyang.snn");
    let (chain, batches, _) = trains_identically("yinyang.snn", &text, "chain", Some(440));
    let (direct, same_batches, _) = trains_identically("yinyang.snn", &text, "direct", Some(440));
    assert_eq!((batches, same_batches), (40, 40));
    assert_eq!(chain.optimiser_received, batches * 960, "{chain:?}");
    assert_eq!(direct.optimiser_received, batches * 22 * 960, "{direct:?}");
    let gradients = PacketKind::Gradient as usize;
    assert_eq!(chain.packets_sent[gradients], batches * 22 * 960);
    assert_eq!(direct.packets_sent[gradients], batches * 22 * 960);
    // The same weights come back: the same weight packets.
    let weights = PacketKind::Weight as usize;
    assert_eq!(chain.packets_sent[weights], direct.packets_sent[weights]);
    // A batch's end costs its busiest PE (the optimiser, direct) far less.
    assert_eq!((chain.batches, direct.batches), (batches, batches));
    assert!(10 * chain.batch_end_cycles < direct.batch_end_cycles, "{chain:?}\n{direct:?}");
    eprintln!(
        "yinyang: gradient packets into the optimiser per batch: direct {}, chain {}",
        direct.optimiser_received / batches,
        chain.optimiser_received / batches
    );
}

/// The recurrent order task (a recurrent delay line, an `li` readout, event
/// inputs from DRAM) on 8 copies.
#[test]
fn the_recurrent_order_task_trains_identically_with_the_chain() {
    if slow::skip("the_recurrent_order_task_trains_identically_with_the_chain") {
        return;
    }
    let text = order_task("batch_parallel");
    let (chain, _, emu) = trains_identically("recurrent.snn", &text, "chain", None);
    assert_eq!(emu.program().copies, 8);
    let (direct, _, _) = trains_identically("recurrent.snn", &text, "direct", None);
    // The optimiser PEs hear one copy's gradients instead of 8 (a slice's
    // flow reaches every optimiser PE holding some of its weights).
    assert_eq!(8 * chain.optimiser_received, direct.optimiser_received, "{chain:?}");
}

/// Every population split over several PEs (at most 2 neurons each): each
/// slice chains with its twin in the next copy; the optimiser PEs take the
/// last copy's sums.
#[test]
fn split_populations_train_identically_with_the_chain() {
    let split = include_str!("support/split.snn");
    let (c, batches, emu) = trains_identically("split.snn", split, "chain", Some(200));
    let copies = u64::from(emu.program().copies);
    let weights: u64 = emu
        .program()
        .cores
        .iter()
        .filter(|core| core.role == snnc_compiler::partition::Role::Optimiser)
        .flat_map(|core| core.weights.iter().map(|w| w.range.end - w.range.start))
        .sum();
    assert!(copies > 1 && weights > 0);
    assert_eq!(c.optimiser_received, batches * weights, "{c:?}");
}

/// Yin-Yang with a batch of 40 on two chips: the chain crosses the chip
/// link between the copies of chip 0 and those of chip 1.
#[test]
fn two_chips_train_identically_with_the_chain() {
    let text = example("yinyang.snn");
    let two_chips = text.replace("batch     = 22", "batch     = 40").replace("chips    = 1", "chips    = 2");
    assert_ne!(two_chips, text, "the example's batch and chips lines moved");
    let (c, batches, emu) = trains_identically("yinyang_two_chips.snn", &two_chips, "chain", Some(400));
    let chips: std::collections::BTreeSet<u16> = emu.program().cores.iter().map(|core| core.pe.chip.0).collect();
    assert_eq!(chips.len(), 2);
    assert!(c.chip_hops > 0, "no packet crossed a chip link");
    assert_eq!(c.optimiser_received, batches * 960, "{c:?}");
}

/// The cycles a core's packet handler takes for one packet with `key`
/// (payload 1.0), under the emulator's cost model, and what it sent.
fn handler_cycles(l: &Loaded, core: usize, key: u32) -> (u64, usize) {
    let c = &l.program.cores[core];
    let kernel = &l.program.kernels[c.kernel];
    let mut mem = vec![0u32; kernel.memory_words()];
    for (name, words) in &c.data {
        let (_, b) = kernel.buffer_named(name).expect("a buffer");
        let start = (b.offset / 4) as usize;
        mem[start..start + words.len()].copy_from_slice(words);
    }
    let (mut outbox, mut ops) = (Vec::new(), OpCounts::default());
    let inv = Invocation::Packet { key, payload: 1.0f32.to_bits() };
    Interpreter::new(kernel).run(inv, &mut mem, &mut [], &mut outbox, &mut ops).unwrap();
    (CostModel::default().cycles_of(&ops), outbox.len())
}

/// The partitioner's cost model (`ChipSpec::gradient_cycles`) prices a
/// gradient's handler as the lowered kernels' operations cost in the
/// emulator's cost model, within a tenth: the optimiser's add (direct,
/// 44 receive entries) and a chain stage's add and send.
#[test]
fn the_modelled_handler_cycles_are_the_lowered_handlers() {
    let text = example("yinyang.snn");
    let spec = snnc_compiler::machine::SPINNAKER2;
    for scheme in ["direct", "chain"] {
        let l = load("yinyang.snn", &with_gradients(&text, scheme), None);
        let g = &l.mapped.cores;
        let to = if scheme == "chain" { 1 + g.copy_slices[0].len() } else { g.optimiser_slices.start };
        let key = l.mapped.routing.keys[&(1, PacketKind::Gradient)].key | 5;
        let (got, sent) = handler_cycles(&l, to, key);
        let rx = l.program.cores[to].data["rx_key"].len() as u64;
        let chain = u64::from(scheme == "chain");
        let want = spec.handler_cycles(rx) + chain * (spec.chain_add_cycles + spec.packet_send_cycles);
        assert_eq!(sent as u64, chain);
        eprintln!("{scheme}: handler of {rx} entries: {got} cycles lowered, {want} modelled");
        assert!(10 * got.abs_diff(want) <= want, "{scheme}: {got} cycles lowered, {want} modelled");
    }
}
