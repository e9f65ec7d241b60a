//! Differential property test: random well-typed kernels (see
//! `support/random_kernel.rs`) on random memory images run in the
//! interpreter and in the JIT; memory, packet streams, operation counts and
//! trap outcomes must be identical, bit for bit.

use crate::random_kernel;

use proptest::prelude::*;
use random_kernel::{Rng, invocations, random_dram, random_kernel, random_memory};
use snnc_compiler::kernel::{
    Invocation, Kernel, OpClass, OpCounts, Packet, Trap, VerifiedKernel, parse_kernel, print_kernel, verify,
};
use snnc_runtime::interp::Interpreter;
use snnc_runtime::jit::JitKernel;

#[derive(Debug, PartialEq)]
struct Outcome {
    memory: Vec<u32>,
    dram: Vec<u32>,
    packets: Vec<Packet>,
    /// Per call: the operation counts, or the trap.
    results: Vec<Result<OpCounts, Trap>>,
}

/// Both backends on one seed: `(interpreter, jit)`.
fn run_seed(seed: u64) -> (Kernel, Outcome, Outcome) {
    let kernel = random_kernel(seed);
    let verified = match verify(&kernel) {
        Ok(v) => v,
        Err(e) => panic!("generated kernel does not verify: {:?}", e.errors),
    };
    let mut rng = Rng(seed ^ 0x5eed);
    let memory = random_memory(&kernel, &mut rng);
    let dram = random_dram(&kernel, seed);
    let calls = invocations(&mut rng);
    let interp = Interpreter::new(&verified);
    let jit = JitKernel::compile(&verified).expect("compiles");
    let mut outcomes = Vec::new();
    for backend in 0..2 {
        let mut m = memory.clone();
        let mut d = dram.clone();
        let mut packets = Vec::new();
        let results = calls
            .iter()
            .map(|&c| {
                let mut counts = OpCounts::default();
                let r = if backend == 0 {
                    interp.run(c, &mut m, &mut d, &mut packets, &mut counts)
                } else {
                    jit.run(c, &mut m, &mut d, &mut packets, &mut counts)
                };
                r.map(|()| counts)
            })
            .collect();
        outcomes.push(Outcome { memory: m, dram: d, packets, results });
    }
    let jit_outcome = outcomes.pop().expect("two");
    let interp_outcome = outcomes.pop().expect("two");
    (kernel, interp_outcome, jit_outcome)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn jit_equals_interpreter_on_random_kernels(seed in any::<u64>()) {
        let (kernel, interp, jit) = run_seed(seed);
        prop_assert!(
            interp == jit,
            "seed {seed}\n{}\ninterpreter: {interp:?}\njit: {jit:?}",
            print_kernel(&kernel)
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    /// The text form parses back to the same kernel (compared through its
    /// text, which keeps NaN constants' bits), which behaves the same.
    #[test]
    fn text_form_round_trips_random_kernels(seed in any::<u64>()) {
        let kernel = random_kernel(seed);
        let text = print_kernel(&kernel);
        let parsed = parse_kernel(&text).map_err(|e| TestCaseError::fail(format!("{e:?}\n{text}")))?;
        prop_assert_eq!(print_kernel(&parsed), text);
        let parsed = verify(&parsed).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let kernel = verify(&kernel).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let mut rng = Rng(seed ^ 0x5eed);
        let memory = random_memory(&kernel, &mut rng);
        let dram = random_dram(&kernel, seed);
        let calls = invocations(&mut rng);
        let run = |k: &VerifiedKernel| {
            let interp = Interpreter::new(k);
            let mut m = memory.clone();
            let mut d = dram.clone();
            let mut packets = Vec::new();
            let results: Vec<_> = calls.iter().map(|&c| {
                let mut counts = OpCounts::default();
                interp.run(c, &mut m, &mut d, &mut packets, &mut counts).map(|()| counts)
            }).collect();
            Outcome { memory: m, dram: d, packets, results }
        };
        prop_assert_eq!(run(&parsed), run(&kernel));
    }
}

/// A packet handler run over a whole inbox in one call
/// (`JitKernel::run_packets`), or over it cut into runs
/// (`JitKernel::run_pair_runs`), leaves what one call per packet leaves: the
/// same memory, the same packets (a trapping handler's dropped), the same
/// counts, and the same first trap with its packet's index.
#[test]
fn packets_in_one_call_equal_one_call_per_packet() {
    let (mut trapped, mut sent, mut split_traps) = (0, 0, 0);
    for seed in 0..300u64 {
        let kernel = verify(&random_kernel(seed)).expect("generated kernels verify");
        let mut rng = Rng(seed ^ 0xd7a1);
        let memory = random_memory(&kernel, &mut rng);
        let dram = random_dram(&kernel, seed);
        let packets: Vec<Packet> = (0..rng.below(12))
            .map(|_| Packet { key: rng.below(64) as u32, payload: rng.chance(80).then(|| rng.below(1 << 31) as u32) })
            .collect();
        let jit = JitKernel::compile(&kernel).expect("compiles");
        let (mut m1, mut out1, mut counts1) = (memory.clone(), Vec::<Packet>::new(), OpCounts::default());
        let mut d1 = dram.clone();
        let mut one_by_one = Ok(());
        for (i, p) in packets.iter().enumerate() {
            let before = out1.len();
            let call = Invocation::Packet { key: p.key, payload: p.payload.unwrap_or(0) };
            if let Err(trap) = jit.run(call, &mut m1, &mut d1, &mut out1, &mut counts1) {
                out1.truncate(before);
                one_by_one = Err((i, trap));
                break;
            }
        }
        let (mut m2, mut out2, mut counts2) = (memory.clone(), Vec::<Packet>::new(), OpCounts::default());
        let mut d2 = dram.clone();
        let together = jit.run_packets(&packets, &mut Vec::new(), &mut m2, &mut d2, &mut out2, &mut counts2);
        assert_eq!(together, one_by_one, "seed {seed}");
        assert_eq!((&m2, &d2, &out2), (&m1, &d1, &out1), "seed {seed}");
        if together.is_ok() {
            assert_eq!(counts2, counts1, "seed {seed}");
        }
        // The same packets cut into runs at random points (empty runs
        // included), sending into `[key, payload]` pairs, as the emulator's
        // optimiser PEs drain them at a batch's end.
        let pairs: Vec<[u32; 2]> = packets.iter().map(Packet::pair).collect();
        let mut cuts: Vec<usize> = (0..rng.below(4)).map(|_| rng.below(pairs.len() as u64 + 1) as usize).collect();
        cuts.extend([0, pairs.len()]);
        cuts.sort_unstable();
        let runs: Vec<&[[u32; 2]]> = cuts.windows(2).map(|w| &pairs[w[0]..w[1]]).collect();
        let (mut m3, mut out3, mut counts3) = (memory.clone(), Vec::<[u32; 2]>::new(), OpCounts::default());
        let mut d3 = dram.clone();
        let in_runs = jit.run_pair_runs(&runs, &mut m3, &mut d3, &mut out3, &mut counts3);
        assert_eq!(in_runs, together, "seed {seed}, runs {cuts:?}");
        let out2_pairs: Vec<[u32; 2]> = out2.iter().map(Packet::pair).collect();
        assert_eq!((&m3, &d3, &out3), (&m2, &d2, &out2_pairs), "seed {seed}, runs {cuts:?}");
        if in_runs.is_ok() {
            assert_eq!(counts3, counts2, "seed {seed}");
        }
        trapped += usize::from(together.is_err());
        sent += usize::from(!out2.is_empty());
        split_traps += usize::from(together.is_err() && runs.iter().filter(|r| !r.is_empty()).count() > 1);
    }
    assert!(trapped > 10 && sent > 10, "trapped {trapped}, sent {sent}");
    assert!(split_traps > 5, "traps in split inboxes: {split_traps}");
}

/// The generator is not vacuous: over fixed seeds it produces kernels that
/// run cleanly, that send packets, and that hit every kind of trap.
#[test]
fn random_kernels_cover_sends_and_every_trap() {
    let (mut clean, mut sends, mut oob, mut by_zero, mut overflow) = (0, 0, 0, 0, 0);
    let (mut dma, mut dma_oob) = (0, 0);
    for seed in 0..300 {
        let (_, interp, jit) = run_seed(seed);
        assert_eq!(interp, jit, "seed {seed}");
        sends += usize::from(!interp.packets.is_empty());
        for r in &interp.results {
            match r {
                Ok(counts) => {
                    clean += 1;
                    dma += counts.get(OpClass::DmaTransfer);
                }
                Err(Trap::OutOfBounds { .. }) => oob += 1,
                Err(Trap::IntegerDivisionByZero { .. }) => by_zero += 1,
                Err(Trap::IntegerDivisionOverflow { .. }) => overflow += 1,
                Err(Trap::DmaOutOfBounds { .. } | Trap::DramOutOfBounds { .. }) => dma_oob += 1,
                Err(Trap::MemoryTooSmall { .. } | Trap::DramTooSmall { .. }) => {}
            }
        }
    }
    let summary = format!(
        "clean {clean}, with packets {sends}, out of bounds {oob}, by zero {by_zero}, overflow {overflow}, DMA transfers {dma}, DMA out of bounds {dma_oob}"
    );
    println!("{summary}");
    assert!(
        clean > 500 && sends > 100 && oob > 20 && by_zero > 5 && overflow > 0 && dma > 20 && dma_oob > 5,
        "{summary}"
    );
}
