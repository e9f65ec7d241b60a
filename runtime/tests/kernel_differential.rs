//! Differential property test: random well-typed kernels (see
//! `support/random_kernel.rs`) on random memory images run in the
//! interpreter and in the JIT; memory, packet streams, operation counts and
//! trap outcomes must be identical, bit for bit.

#[path = "support/random_kernel.rs"]
mod random_kernel;

use proptest::prelude::*;
use random_kernel::{Rng, invocations, random_kernel, random_memory};
use snnc_compiler::kernel::{Kernel, OpCounts, Packet, Trap, VerifiedKernel, parse_kernel, print_kernel, verify};
use snnc_runtime::interp::Interpreter;
use snnc_runtime::jit::JitKernel;

#[derive(Debug, PartialEq)]
struct Outcome {
    memory: Vec<u32>,
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
    let calls = invocations(&mut rng);
    let interp = Interpreter::new(&verified);
    let jit = JitKernel::compile(&verified).expect("compiles");
    let mut outcomes = Vec::new();
    for backend in 0..2 {
        let mut m = memory.clone();
        let mut packets = Vec::new();
        let results = calls
            .iter()
            .map(|&c| {
                let mut counts = OpCounts::default();
                let r = if backend == 0 {
                    interp.run(c, &mut m, &mut packets, &mut counts)
                } else {
                    jit.run(c, &mut m, &mut packets, &mut counts)
                };
                r.map(|()| counts)
            })
            .collect();
        outcomes.push(Outcome { memory: m, packets, results });
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
        let calls = invocations(&mut rng);
        let run = |k: &VerifiedKernel| {
            let interp = Interpreter::new(k);
            let mut m = memory.clone();
            let mut packets = Vec::new();
            let results: Vec<_> = calls.iter().map(|&c| {
                let mut counts = OpCounts::default();
                interp.run(c, &mut m, &mut packets, &mut counts).map(|()| counts)
            }).collect();
            Outcome { memory: m, packets, results }
        };
        prop_assert_eq!(run(&parsed), run(&kernel));
    }
}

/// The generator is not vacuous: over fixed seeds it produces kernels that
/// run cleanly, that send packets, and that hit every kind of trap.
#[test]
fn random_kernels_cover_sends_and_every_trap() {
    let (mut clean, mut sends, mut oob, mut by_zero, mut overflow) = (0, 0, 0, 0, 0);
    for seed in 0..300 {
        let (_, interp, jit) = run_seed(seed);
        assert_eq!(interp, jit, "seed {seed}");
        sends += usize::from(!interp.packets.is_empty());
        for r in &interp.results {
            match r {
                Ok(_) => clean += 1,
                Err(Trap::OutOfBounds { .. }) => oob += 1,
                Err(Trap::IntegerDivisionByZero { .. }) => by_zero += 1,
                Err(Trap::IntegerDivisionOverflow { .. }) => overflow += 1,
                Err(Trap::MemoryTooSmall { .. }) => {}
            }
        }
    }
    println!("clean {clean}, with packets {sends}, out of bounds {oob}, by zero {by_zero}, overflow {overflow}");
    assert!(
        clean > 500 && sends > 100 && oob > 20 && by_zero > 5 && overflow > 0,
        "clean {clean}, with packets {sends}, out of bounds {oob}, by zero {by_zero}, overflow {overflow}"
    );
}
