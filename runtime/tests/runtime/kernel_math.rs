//! The IR expansions of `exp` and `ln` equal `numerics::exp_f32`/`ln_f32`
//! bit for bit, in the interpreter and in the JIT, on a dense sweep, on the
//! edges of their ranges, and on random bit patterns.

use proptest::prelude::*;
use snnc_compiler::kernel::examples::exp_ln_probe;
use snnc_compiler::kernel::{Invocation, OpCounts, VerifiedKernel, verify};
use snnc_compiler::numerics::{exp_f32, ln_f32};
use snnc_runtime::interp::Interpreter;
use snnc_runtime::jit::JitKernel;

/// Runs the probe's `init` on `xs` with both backends; returns
/// `(exp, ln)` bits per backend.
fn probe(kernel: &VerifiedKernel, jit: &JitKernel, xs: &[f32]) -> [(Vec<u32>, Vec<u32>); 2] {
    let interp = Interpreter::new(kernel);
    let n = xs.len();
    let at = |name: &str| kernel.buffer_named(name).map(|(_, b)| (b.offset / 4) as usize).expect("probe buffer");
    let (x0, e0, l0) = (at("x"), at("exp_out"), at("ln_out"));
    let mut results = Vec::new();
    for backend in 0..2 {
        let mut memory = vec![0u32; kernel.memory_words()];
        for (i, x) in xs.iter().enumerate() {
            memory[x0 + i] = x.to_bits();
        }
        let mut out = Vec::new();
        let r = if backend == 0 {
            interp.run(Invocation::Init, &mut memory, &mut [], &mut out, &mut OpCounts::default())
        } else {
            jit.run(Invocation::Init, &mut memory, &mut [], &mut out, &mut OpCounts::default())
        };
        r.expect("no trap");
        results.push((memory[e0..e0 + n].to_vec(), memory[l0..l0 + n].to_vec()));
    }
    let jit_result = results.pop().expect("two backends");
    let interp_result = results.pop().expect("two backends");
    [interp_result, jit_result]
}

/// Asserts bit equality with `numerics` (NaN inputs: NaN outputs).
fn check(kernel: &VerifiedKernel, jit: &JitKernel, xs: &[f32]) {
    for (backend, (exps, lns)) in ["interpreter", "jit"].iter().zip(probe(kernel, jit, xs)) {
        for (i, &x) in xs.iter().enumerate() {
            let (e, l) = (f32::from_bits(exps[i]), f32::from_bits(lns[i]));
            if x.is_nan() {
                assert!(e.is_nan(), "{backend}: exp(NaN) = {e}");
                assert_eq!(l, f32::MIN, "{backend}: ln(NaN)");
                continue;
            }
            assert_eq!(exps[i], exp_f32(x).to_bits(), "{backend}: exp({x:e}) = {e:e}, numerics {:e}", exp_f32(x));
            assert_eq!(lns[i], ln_f32(x).to_bits(), "{backend}: ln({x:e}) = {l:e}, numerics {:e}", ln_f32(x));
        }
    }
}

const CHUNK: u32 = 4096;

#[test]
fn exp_and_ln_match_numerics_on_a_sweep_and_the_edges() {
    let kernel = verify(&exp_ln_probe(CHUNK)).expect("the probe verifies");
    let jit = JitKernel::compile(&kernel).expect("probe compiles");
    let mut xs: Vec<f32> = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        f32::MIN_POSITIVE,
        1e-45,
        f32::MAX,
        f32::MIN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        -87.0,
        -87.000_01,
        -86.999_99,
        88.0,
        88.000_01,
        87.999_99,
        std::f32::consts::SQRT_2,
        1.414_213_4,
        1.414_213_7,
        std::f32::consts::LN_2,
        1e30,
        1e-30,
    ];
    let mut x = -100.0f32;
    while x < 100.0 {
        xs.push(x);
        x += 0.0173;
    }
    let mut x = 1e-38f32;
    while x < 1e38 {
        xs.push(x);
        x *= 1.0093;
    }
    assert!(xs.len() > 20_000, "{} inputs", xs.len());
    for chunk in xs.chunks(CHUNK as usize) {
        check(&kernel, &jit, chunk);
    }
}

proptest! {
    #[test]
    fn exp_and_ln_match_numerics_on_random_bits(bits in proptest::collection::vec(any::<u32>(), 64)) {
        let kernel = verify(&exp_ln_probe(64)).expect("the probe verifies");
        let jit = JitKernel::compile(&kernel).expect("probe compiles");
        let xs: Vec<f32> = bits.into_iter().map(f32::from_bits).collect();
        check(&kernel, &jit, &xs);
    }
}
