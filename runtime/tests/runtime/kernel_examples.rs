//! The corpus's LIF layer (`tests/kir/examples/lif_layer.kir`, whose run
//! lines check the JIT and host C against the interpreter, traps and
//! operation counts included) on what a filetest cannot express: the
//! interpreter against an independent plain-Rust model of the same layer
//! over a whole sample, a memory image that is too short, and compiled
//! kernels shared between threads.

use snnc_compiler::kernel::{Invocation, OpCounts, Packet, Trap, VerifiedKernel, parse_kernel, verify};
use snnc_runtime::interp::Interpreter;
use snnc_runtime::jit::JitKernel;

/// The parameters of the corpus's LIF layer (written into its code).
struct LifExample {
    inputs: u32,
    neurons: u32,
    /// Synaptic current decay per step.
    alpha: f32,
    /// Membrane decay per step.
    beta: f32,
    threshold: f32,
    /// Base key of the incoming spikes.
    key_in: u32,
    /// Base key of this layer's spikes.
    key_out: u32,
}

const LIF: LifExample = LifExample {
    inputs: 5,
    neurons: 4,
    alpha: 0.9,
    beta: 0.95,
    threshold: 1.0,
    key_in: 0x0001_0000,
    key_out: 0x0002_0000,
};

fn lif_layer() -> VerifiedKernel {
    let kernel = parse_kernel(include_str!("../../../tests/kir/examples/lif_layer.kir")).expect("the example parses");
    verify(&kernel).expect("the example verifies")
}

/// What one backend did with a sequence of invocations.
#[derive(Debug, PartialEq)]
struct Outcome {
    memory: Vec<u32>,
    packets: Vec<Packet>,
    /// Per call: the operation counts, or the trap.
    results: Vec<Result<OpCounts, Trap>>,
}

fn run_interp(kernel: &VerifiedKernel, memory: &[u32], calls: &[Invocation]) -> Outcome {
    let interp = Interpreter::new(kernel);
    let mut memory = memory.to_vec();
    let mut packets = Vec::new();
    let results = calls
        .iter()
        .map(|&c| {
            let mut counts = OpCounts::default();
            interp.run(c, &mut memory, &mut [], &mut packets, &mut counts).map(|()| counts)
        })
        .collect();
    Outcome { memory, packets, results }
}

fn run_jit(kernel: &VerifiedKernel, memory: &[u32], calls: &[Invocation]) -> Outcome {
    let jit = JitKernel::compile(kernel).expect("kernel compiles");
    let mut memory = memory.to_vec();
    let mut packets = Vec::new();
    let results = calls
        .iter()
        .map(|&c| {
            let mut counts = OpCounts::default();
            jit.run(c, &mut memory, &mut [], &mut packets, &mut counts).map(|()| counts)
        })
        .collect();
    Outcome { memory, packets, results }
}

fn word_of(kernel: &VerifiedKernel, buffer: &str) -> usize {
    let (_, b) = kernel.buffer_named(buffer).expect("buffer exists");
    (b.offset / 4) as usize
}

/// Input spikes `(step, source)` of the LIF test, in delivery order.
const SPIKES: [(i32, u32); 9] = [(0, 0), (0, 3), (1, 1), (2, 4), (2, 0), (3, 2), (5, 1), (5, 3), (6, 4)];
const STEPS: i32 = 10;

fn lif_setup() -> (&'static LifExample, VerifiedKernel, Vec<u32>, Vec<f32>, Vec<Invocation>) {
    let p = &LIF;
    let kernel = lif_layer();
    let mut memory = vec![0u32; kernel.memory_words()];
    let w0 = word_of(&kernel, "weights");
    let weights: Vec<f32> =
        (0..p.inputs * p.neurons).map(|i| 0.35 + 0.11 * ((i * 7 % 5) as f32) - 0.2 * ((i % 3) as f32)).collect();
    for (i, w) in weights.iter().enumerate() {
        memory[w0 + i] = w.to_bits();
    }
    let mut calls = vec![Invocation::Init];
    for step in 0..STEPS {
        for &(_, src) in SPIKES.iter().filter(|(s, _)| *s == step) {
            calls.push(Invocation::Packet { key: p.key_in | src, payload: 0 });
        }
        calls.push(Invocation::TickForward { step });
    }
    calls.push(Invocation::EndOfSample);
    (p, kernel, memory, weights, calls)
}

#[test]
fn lif_interpreter_matches_a_plain_rust_model() {
    let (p, kernel, memory, weights, calls) = lif_setup();
    let got = run_interp(&kernel, &memory, &calls);
    assert!(got.results.iter().all(Result::is_ok), "{:?}", got.results);

    let n = p.neurons as usize;
    let (mut acc, mut i_syn, mut v) = (vec![0f32; n], vec![0f32; n], vec![0f32; n]);
    let mut first = vec![-1i32; n];
    let mut packets = Vec::new();
    for step in 0..STEPS {
        for &(_, src) in SPIKES.iter().filter(|(s, _)| *s == step) {
            for j in 0..n {
                acc[j] += weights[src as usize * n + j];
            }
        }
        for j in 0..n {
            i_syn[j] = p.alpha * i_syn[j] + acc[j];
            acc[j] = 0.0;
            let u = p.beta * v[j] + i_syn[j];
            if u >= p.threshold {
                v[j] = 0.0;
                packets.push(Packet { key: p.key_out | j as u32, payload: None });
                if first[j] < 0 {
                    first[j] = step;
                }
            } else {
                v[j] = u;
            }
        }
    }
    for (j, f) in first.iter().enumerate() {
        packets.push(Packet { key: p.key_out | j as u32, payload: Some(*f as u32) });
    }
    assert!(packets.len() > n + 3, "the test input makes the layer spike: {packets:?}");
    assert_eq!(got.packets, packets);
    let at = |name: &str| word_of(&kernel, name);
    for j in 0..n {
        assert_eq!(got.memory[at("v") + j], v[j].to_bits(), "v[{j}]");
        assert_eq!(got.memory[at("i_syn") + j], i_syn[j].to_bits(), "i_syn[{j}]");
        assert_eq!(got.memory[at("first_spike") + j], u32::MAX, "first_spike[{j}] reset");
    }
}

#[test]
fn a_short_memory_image_is_refused_by_both() {
    let (_, kernel, _, _, _) = lif_setup();
    let memory = vec![0u32; 10];
    let want = vec![Err(Trap::MemoryTooSmall { kernel: "lif_layer".into(), needed: 24576, got: 10 })];
    assert_eq!(run_interp(&kernel, &memory, &[Invocation::Init]).results, want);
    assert_eq!(run_jit(&kernel, &memory, &[Invocation::Init]).results, want);
}

#[test]
fn compiled_kernels_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<JitKernel>();
    shareable::<Interpreter>();
    let (_, kernel, memory, _, calls) = lif_setup();
    let jit = JitKernel::compile(&kernel).expect("compiles");
    let want = run_interp(&kernel, &memory, &calls);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let mut m = memory.clone();
                let mut packets = Vec::new();
                let results: Vec<_> = calls
                    .iter()
                    .map(|&c| {
                        let mut counts = OpCounts::default();
                        jit.run(c, &mut m, &mut [], &mut packets, &mut counts).map(|()| counts)
                    })
                    .collect();
                assert_eq!(Outcome { memory: m, packets, results }, want);
            });
        }
    });
}
