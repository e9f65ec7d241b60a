//! The emulator's per-PE traces (`snnc_runtime::emu::trace`) are complete
//! and follow the machine's timeline, without any C compiler: tracing does
//! not change a run; every PE's trace, replayed through the kernel-IR
//! interpreter (an independent backend) from the PE's initial data, gives
//! the packets it recorded and the emulator's final memory, bit for bit;
//! and a copy PE's ticks come in the lowering's order.

use crate::trace_replay;

use snnc_compiler::kernel::{Invocation, OpCounts};
use snnc_compiler::partition::Role;
use snnc_runtime::emu::PeEvent;
use snnc_runtime::interp::Interpreter;
use trace_replay::{record_training_batch, training_batch};

/// Replays every PE's trace through the interpreter; returns the number of
/// events replayed.
fn interpreter_replays_every_pe(example: &str) -> usize {
    interpreter_replays_every_pe_of(example, record_training_batch(example))
}

/// [`interpreter_replays_every_pe`] of a recorded batch: an event input's
/// DMA transfers read the DRAM words its trace gives.
fn interpreter_replays_every_pe_of(example: &str, r: trace_replay::Recorded) -> usize {
    let mut events = 0;
    for (c, core) in r.program.cores.iter().enumerate() {
        let kernel = &r.program.kernels[core.kernel];
        let interp = Interpreter::new(kernel);
        let mut memory = vec![0u32; kernel.memory_words()];
        for (name, words) in &core.data {
            let (_, b) = kernel.buffer_named(name).expect("buffer");
            let first = (b.offset / 4) as usize;
            memory[first..first + words.len()].copy_from_slice(words);
        }
        let trace = r.emu.trace(c).expect("traced");
        assert!(
            matches!(trace.events.first(), Some(PeEvent::Call { call: Invocation::Init, .. })),
            "{example}: core {c}'s trace starts with init"
        );
        // The DMA engine of an event input: the DRAM words the trace
        // announced, read by the pending transfer before a forward tick.
        let dma = kernel.buffer_named(snnc_compiler::ir::program::buffers::DMA).map(|(_, b)| (b.offset / 4) as usize);
        let mut dram: std::collections::VecDeque<(u32, u32)> = Default::default();
        for (n, e) in trace.events.iter().enumerate() {
            match e {
                PeEvent::Call { call, sent } => {
                    if let (Invocation::TickForward { .. }, Some(d)) = (call, dma)
                        && memory[d + 2] != 0
                    {
                        let (src, dst, words) = (memory[d], memory[d + 1] as usize, memory[d + 2]);
                        for i in 0..words {
                            let (addr, value) = dram.pop_front().expect("the trace announces the DRAM words");
                            assert_eq!(addr, src + i, "{example}: core {c}, event {n}: DRAM address");
                            memory[dst + i as usize] = value;
                        }
                        memory[d + 2] = 0;
                    }
                    let mut packets = Vec::new();
                    interp.run(*call, &mut memory, &mut [], &mut packets, &mut OpCounts::default()).expect("no trap");
                    assert_eq!(&packets, sent, "{example}: core {c}, event {n} ({call:?})");
                }
                PeEvent::Write { word, value } => memory[*word as usize] = *value,
                PeEvent::Dram { addr, value } => dram.push_back((*addr, *value)),
            }
        }
        assert!(memory == r.emu.memory(c), "{example}: core {c}'s final memory differs from the emulator's");
        events += trace.events.len();
    }
    events
}

#[test]
fn yinyang_traces_replay_through_the_interpreter() {
    assert!(interpreter_replays_every_pe("yinyang.snn") > 10_000);
}

/// Event inputs read from DRAM (`support/order.snn`).
#[test]
fn order_traces_replay_through_the_interpreter_with_their_dma_transfers() {
    let r = trace_replay::training_batch_of("order.snn", include_str!("support/order.snn"), true);
    assert!(interpreter_replays_every_pe_of("order.snn", r) > 10_000);
}

#[test]
fn deep_traces_replay_through_the_interpreter() {
    assert!(interpreter_replays_every_pe("deep.snn") > 10_000);
}

/// A traced emulator computes what an untraced one does, and a batch copy's
/// layer PE sees the timeline: init, then forward ticks `0..T`, backward
/// ticks `T-2..=0`, `end_of_sample`, `end_of_batch` (packets in between), and
/// the host's writes land on the input, loss and optimiser PEs only.
#[test]
fn traces_follow_the_timeline_and_do_not_change_the_run() {
    let r = record_training_batch("yinyang.snn");
    let plain = training_batch("yinyang.snn", false);
    assert!(plain.emu.trace(0).is_none(), "an untraced emulator records nothing");
    for c in 0..r.program.cores.len() {
        assert!(r.emu.memory(c) == plain.emu.memory(c), "core {c}: tracing changed the run");
    }
    let steps = r.program.steps as i32;
    for (c, core) in r.program.cores.iter().enumerate() {
        let trace = r.emu.trace(c).expect("traced");
        let writes = trace.events.iter().filter(|e| matches!(e, PeEvent::Write { .. })).count();
        match core.role {
            Role::Layer => assert_eq!(writes, 0, "core {c}: nobody writes a layer PE"),
            _ => assert!(writes > 0, "core {c} ({}) gets host writes", core.role.name()),
        }
        if core.role != Role::Layer {
            continue;
        }
        let ticks: Vec<Invocation> = trace
            .events
            .iter()
            .filter_map(|e| match e {
                PeEvent::Call { call, .. } if !matches!(call, Invocation::Packet { .. }) => Some(*call),
                _ => None,
            })
            .collect();
        let mut want = vec![Invocation::Init];
        want.extend((0..steps).map(|step| Invocation::TickForward { step }));
        want.extend((0..steps - 1).rev().map(|step| Invocation::TickBackward { step }));
        want.extend([Invocation::EndOfSample, Invocation::EndOfBatch]);
        assert_eq!(ticks, want, "core {c}'s ticks");
    }
}
