//! Test support for replaying recorded PE traces (`snnc_runtime::emu::trace`)
//! through the C firmware: a traced training batch of an example, the
//! trace as the host harness's script and as the QEMU HAL's
//! `s2_events.bin`, and the transcript the firmware must print.

use std::fmt::Write as _;
use std::path::Path;

use snnc_compiler::driver::Mapped;
use snnc_compiler::emit::c::memory_words;
use snnc_compiler::emit::c::program::program_files;
use snnc_compiler::kernel::{Invocation, Kernel, VerifiedKernel};
use snnc_compiler::lower::Program;
use snnc_runtime::emu::{Emulator, PeEvent, PeTrace, SampleInput};
use snnc_runtime::train::optim::Optimizer;

/// A traced emulator after one training batch, with what it ran.
pub struct Recorded {
    pub program: Program,
    pub mapped: Mapped,
    pub emu: Emulator,
}

/// Loads `examples/<example>` with its initial weights (seed 0), and runs
/// the first training batch (samples `0..batch`, forward and backward on
/// every batch copy, then the optimiser's Adam step) in a traced emulator.
pub fn record_training_batch(example: &str) -> Recorded {
    training_batch(example, true)
}

/// [`record_training_batch`], traced or not.
pub fn training_batch(example: &str, traced: bool) -> Recorded {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let text = std::fs::read_to_string(dir.join(example)).expect("example");
    training_batch_of(example, &text, traced)
}

/// [`training_batch`] of a spec given as text (data relative to the examples).
pub fn training_batch_of(name: &str, text: &str, traced: bool) -> Recorded {
    let crate::load::Loaded { p, mapped, program, weights } = crate::load::load(name, text, None);
    let load = if traced { Emulator::new_traced } else { Emulator::new };
    let mut emu = load(program.clone(), &mapped.machine, &mapped.routing.tables).expect("loads");
    let batch = p.train_spec.batch as usize;
    let shapes: Vec<usize> = weights.iter().map(Vec::len).collect();
    let opt = Optimizer::new(p.train_spec.optimizer, p.train_spec.schedule, p.train.len() / batch, &shapes);
    let samples: Vec<SampleInput> = (0..batch).map(|s| SampleInput::of(&p.train, s)).collect();
    emu.load_inputs(&p.train).expect("the inputs fit DRAM");
    emu.run_batch(&samples, opt.adam_scalars()).expect("runs a training batch");
    Recorded { program, mapped, emu }
}

/// Writes every file `snnc emit` writes for the recorded program into `dir`.
pub fn write_program(dir: &Path, r: &Recorded) {
    for (name, text) in program_files(&r.program, &r.mapped).expect("emits") {
        std::fs::write(dir.join(name), text).expect("write emitted file");
    }
}

/// The host harness's script line of a call after `init`.
fn script_call(call: Invocation) -> String {
    match call {
        Invocation::Init => panic!("init is only the first event"),
        Invocation::Packet { key, payload } => format!("packet {key:x} {payload:x}"),
        Invocation::TickForward { step } => format!("forward {step}"),
        Invocation::TickBackward { step } => format!("backward {step}"),
        Invocation::EndOfSample => "end_of_sample".to_string(),
        Invocation::EndOfBatch => "end_of_batch".to_string(),
    }
}

/// The trace's events after its first (`init`); panics if it does not start
/// with `init`.
fn after_init(trace: &PeTrace) -> &[PeEvent] {
    match trace.events.first() {
        Some(PeEvent::Call { call: Invocation::Init, .. }) => &trace.events[1..],
        other => panic!("a trace starts with init, not {other:?}"),
    }
}

/// Appends the host harness's script block of program `number` replaying
/// `trace`.
pub fn host_script(out: &mut String, number: usize, trace: &PeTrace) {
    writeln!(out, "program {number}").expect("string");
    if !trace.region.is_empty() {
        writeln!(out, "region {}", trace.region.len()).expect("string");
        for (a, w) in trace.region.iter().enumerate().filter(|(_, w)| **w != 0) {
            writeln!(out, "region_word {a} {w:x}").expect("string");
        }
    }
    out.push_str("init\n");
    for e in after_init(trace) {
        match e {
            PeEvent::Call { call, .. } => out.push_str(&script_call(*call)),
            PeEvent::Write { word, value } => write!(out, "write {word} {value:x}").expect("string"),
            PeEvent::Dram { addr, value } => write!(out, "dram {addr} {value:x}").expect("string"),
        }
        out.push('\n');
    }
    out.push_str("run\n");
}

/// The QEMU HAL's `s2_events.bin` of a trace. The DRAM words a transfer
/// read (recorded before the forward tick it completes before) follow that
/// tick's record: the HAL reads them from the trace as its `s2_dma_read`
/// goes, keeping no copy.
pub fn qemu_events(trace: &PeTrace) -> Vec<u8> {
    let mut records: Vec<[u32; 3]> = Vec::new();
    if !trace.region.is_empty() {
        records.push([crate::c_harness::REC_REGION, trace.region.len() as u32, 0]);
        let words = trace.region.iter().enumerate().filter(|(_, w)| **w != 0);
        records.extend(words.map(|(a, &w)| [crate::c_harness::REC_REGION_WORD, a as u32, w]));
    }
    let mut dram: Vec<[u32; 3]> = Vec::new();
    for e in &trace.events {
        match *e {
            PeEvent::Call { call, .. } => {
                records.push(crate::c_harness::call_record(call));
                records.append(&mut dram);
            }
            PeEvent::Write { word, value } => records.push([6, word, value]),
            PeEvent::Dram { addr, value } => dram.push([7, addr, value]),
        }
    }
    records.iter().flatten().flat_map(|w| w.to_le_bytes()).collect()
}

/// What the firmware of program `number` must print for `trace`: its sent
/// packets numbered by call (`init` is 0), then the emulator's final
/// `memory` of the words the emitted program holds, and its final private
/// DRAM `region` (empty without one).
pub fn expected_transcript(
    number: usize,
    kernel: &VerifiedKernel,
    trace: &PeTrace,
    memory: &[u32],
    region: &[u32],
) -> String {
    let mut out = format!("program {number}\n");
    let calls = trace.events.iter().filter_map(|e| match e {
        PeEvent::Call { sent, .. } => Some(sent),
        PeEvent::Write { .. } | PeEvent::Dram { .. } => None,
    });
    for (event, sent) in calls.enumerate() {
        for p in sent {
            match p.payload {
                None => writeln!(out, "send {event} {:08x}", p.key),
                Some(payload) => writeln!(out, "send {event} {:08x} {payload:08x}", p.key),
            }
            .expect("string");
        }
    }
    let words = memory_words(kernel);
    write!(out, "memory {words}").expect("string");
    for w in &memory[..words] {
        write!(out, " {w:08x}").expect("string");
    }
    out.push('\n');
    if !region.is_empty() {
        write!(out, "dram {}", region.len()).expect("string");
        for w in region {
            write!(out, " {w:08x}").expect("string");
        }
        out.push('\n');
    }
    out
}

/// Where two transcripts first differ, for failure messages: the line, or
/// for the `memory` and `dram` lines the first differing word (a memory
/// word with its buffer).
pub fn difference(kernel: &Kernel, expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    for i in 0..e.len().max(a.len()) {
        let (el, al) = (e.get(i).copied().unwrap_or("<none>"), a.get(i).copied().unwrap_or("<none>"));
        if el == al {
            continue;
        }
        for (prefix, what) in [("memory ", "memory word"), ("dram ", "DRAM region word")] {
            if !(el.starts_with(prefix) && al.starts_with(prefix)) {
                continue;
            }
            let (ew, aw): (Vec<&str>, Vec<&str>) = (el.split(' ').skip(2).collect(), al.split(' ').skip(2).collect());
            if let Some(w) = (0..ew.len().max(aw.len())).find(|&w| ew.get(w) != aw.get(w)) {
                // A memory word's buffer (a region has none).
                let buffer = if prefix == "memory " {
                    let b = kernel.buffers.iter().find(|b| {
                        b.len > 0 && (b.offset / 4) as usize <= w && w < (b.offset / 4) as usize + b.len as usize
                    });
                    format!(
                        " ({})",
                        b.map_or("?".to_string(), |b| format!("{}[{}]", b.name, w - (b.offset / 4) as usize))
                    )
                } else {
                    String::new()
                };
                let n = ew.iter().zip(&aw).filter(|(x, y)| x != y).count();
                let (x, y) = (ew.get(w).unwrap_or(&"<none>"), aw.get(w).unwrap_or(&"<none>"));
                return format!("{what} {w}{buffer}: emulator {x}, firmware {y} ({n} words differ)");
            }
        }
        return format!("line {}:\n  emulator: {el}\n  firmware: {al}", i + 1);
    }
    "no difference".to_string()
}
