//! Test support: the cases the C backend's differential tests run: the
//! example kernels with data and invocations that exercise them, and random
//! kernels (`random_kernel.rs`, which the including test must declare as a
//! module next to this one).

use snnc_compiler::kernel::examples::exp_ln_probe;
use snnc_compiler::kernel::{Invocation, Kernel, parse_kernel, verify};

use crate::c_harness::Case;
use crate::random_kernel::{Rng, invocations, random_dram, random_kernel, random_memory};

/// The example kernels with data and an invocation sequence that exercises
/// them: the LIF layer gets random weights and spikes, the exp/ln probe the
/// edge cases of its argument, the DMA filetest's kernel a private DRAM
/// region and transfers that succeed and trap on each side.
pub fn example_cases() -> Vec<Case> {
    // The corpus's LIF layer: 5 inputs at keys 0x10000.., 4 neurons.
    let (inputs, key_in) = (5, 0x0001_0000);
    let lif = parse_kernel(include_str!("../../../../tests/kir/examples/lif_layer.kir")).expect("the example parses");
    let lif = verify(&lif).expect("the example verifies");
    let mut rng = Rng(7);
    let mut memory = vec![0u32; lif.memory_words()];
    let (_, weights) = lif.buffer_named("weights").expect("weights");
    for i in 0..weights.len {
        memory[(weights.offset / 4 + i) as usize] = ((rng.below(2001) as f32 - 700.0) / 1000.0).to_bits();
    }
    let mut calls = vec![Invocation::Init];
    for step in 0..20 {
        for _ in 0..rng.below(4) {
            calls.push(Invocation::Packet { key: key_in + rng.below(inputs) as u32, payload: 0 });
        }
        calls.push(Invocation::TickForward { step });
    }
    calls.push(Invocation::EndOfSample);
    let mut cases = vec![Case { kernel: lif, memory, dram: Vec::new(), calls }];

    let xs: Vec<f32> = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        2.0,
        10.0,
        -10.0,
        88.0,
        89.0,
        -87.0,
        -104.0,
        1e-40,
        f32::MIN_POSITIVE,
        f32::MAX,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::from_bits(0x7fa0_0001),
        f32::from_bits(0xffc0_1234),
        std::f32::consts::E,
        3e9,
        -3e9,
        0.1,
    ];
    let probe = verify(&exp_ln_probe(xs.len() as u32)).expect("the probe verifies");
    let mut memory = vec![0u32; probe.memory_words()];
    let (_, x) = probe.buffer_named("x").expect("x");
    for (i, v) in xs.iter().enumerate() {
        memory[x.offset as usize / 4 + i] = v.to_bits();
    }
    cases.push(Case {
        kernel: probe,
        memory,
        dram: Vec::new(),
        calls: vec![Invocation::Init, Invocation::EndOfSample],
    });

    let dma = parse_kernel(include_str!("../../../../tests/kir/run/dma.kir")).expect("the DMA filetest parses");
    let dma = verify(&dma).expect("the DMA filetest verifies");
    let mut memory = vec![0u32; dma.memory_words()];
    let (_, u) = dma.buffer_named("u").expect("u");
    memory[(u.offset / 4) as usize] = 3;
    let mut dram: Vec<u32> = [1.5f32, -0.0, f32::from_bits(0x7fa0_0001), f32::INFINITY].map(f32::to_bits).to_vec();
    dram.extend([1, 2, 3, 4, u32::MAX, 0x8000_0000, 7]);
    dram.resize(dma.dram_words as usize, 0);
    let calls = vec![
        Invocation::Init,
        Invocation::Packet { key: 1, payload: 4 },
        Invocation::Packet { key: 3, payload: 0 },
        Invocation::Packet { key: 2, payload: 11 },
        Invocation::TickForward { step: 8 },
        Invocation::TickForward { step: -1 },
        Invocation::TickBackward { step: 4 },
        Invocation::TickBackward { step: 5 },
        Invocation::EndOfSample,
        Invocation::EndOfBatch,
    ];
    cases.push(Case { kernel: dma, memory, dram, calls });
    cases
}

/// A random kernel case, renamed `r<seed>` (names must be unique in a batch).
pub fn random_case(seed: u64) -> Case {
    let mut kernel: Kernel = random_kernel(seed);
    kernel.name = format!("r{seed}");
    let mut rng = Rng(seed ^ 0x5eed);
    let memory = random_memory(&kernel, &mut rng);
    let calls = invocations(&mut rng);
    let dram = random_dram(&kernel, seed);
    Case { kernel: verify(&kernel).expect("random kernels verify"), memory, dram, calls }
}
