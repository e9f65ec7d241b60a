//! Differential test of the C backend on the host: the example kernels and
//! random kernels (`support/random_kernel.rs`) are emitted as C, compiled
//! together into one host harness with
//! `cc -std=c99 -O2 -ffp-contract=off -Wall -Wextra -Werror`, run on their
//! initial memory and invocations, and their transcripts (packets, traps,
//! final memory) must equal the interpreter's, bit for bit.
//! Skips (saying why) when no `cc` is installed.

#[path = "support/c_harness.rs"]
mod c_harness;
#[path = "support/random_kernel.rs"]
mod random_kernel;

use std::process::{Command, Stdio};

use c_harness::{
    Case, expected_transcript, first_difference, host_script, run, split_transcripts, tool,
    write_sources,
};
use random_kernel::{Rng, invocations, random_kernel, random_memory};
use snnc_compiler::kernel::examples::{LifExample, exp_ln_probe, lif_layer};
use snnc_compiler::kernel::{Invocation, Kernel, print_kernel};

const CFLAGS: [&str; 6] = [
    "-std=c99",
    "-O2",
    "-ffp-contract=off",
    "-Wall",
    "-Wextra",
    "-Werror",
];

/// Random kernels in the batch (seeds `0..RANDOM_CASES`).
const RANDOM_CASES: u64 = 400;

/// The example kernels with data and an invocation sequence that exercises
/// them: the LIF layer gets random weights and spikes, the exp/ln probe the
/// edge cases of its argument.
pub fn example_cases() -> Vec<Case> {
    let p = LifExample::default();
    let lif = lif_layer(p);
    let mut rng = Rng(7);
    let mut memory = vec![0u32; lif.memory_words()];
    let (_, weights) = lif.buffer_named("weights").expect("weights");
    for i in 0..weights.len {
        memory[(weights.offset / 4 + i) as usize] =
            ((rng.below(2001) as f32 - 700.0) / 1000.0).to_bits();
    }
    let mut calls = vec![Invocation::Init];
    for step in 0..20 {
        for _ in 0..rng.below(4) {
            calls.push(Invocation::Packet {
                key: p.key_in + rng.below(u64::from(p.inputs)) as u32,
                payload: 0,
            });
        }
        calls.push(Invocation::TickForward { step });
    }
    calls.push(Invocation::EndOfSample);
    let mut cases = vec![Case {
        kernel: lif,
        memory,
        calls,
    }];

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
    let probe = exp_ln_probe(xs.len() as u32);
    let mut memory = vec![0u32; probe.memory_words()];
    let (_, x) = probe.buffer_named("x").expect("x");
    for (i, v) in xs.iter().enumerate() {
        memory[x.offset as usize / 4 + i] = v.to_bits();
    }
    cases.push(Case {
        kernel: probe,
        memory,
        calls: vec![Invocation::Init, Invocation::EndOfSample],
    });
    cases
}

/// A random kernel case, renamed `r<seed>` (names must be unique in a batch).
pub fn random_case(seed: u64) -> Case {
    let mut kernel: Kernel = random_kernel(seed);
    kernel.name = format!("r{seed}");
    let mut rng = Rng(seed ^ 0x5eed);
    let memory = random_memory(&kernel, &mut rng);
    let calls = invocations(&mut rng);
    Case {
        kernel,
        memory,
        calls,
    }
}

#[test]
fn emitted_c_equals_interpreter_on_host() {
    let Some(cc) = tool("cc", "the host C compiler builds the emitted kernels") else {
        return;
    };
    let mut cases = example_cases();
    cases.extend((0..RANDOM_CASES).map(random_case));
    let dir = tempfile::tempdir().expect("temp dir");
    let files = write_sources(dir.path(), &cases);

    // Compile in two halves in parallel (two cores), then link.
    let mut sources: Vec<String> = files.clone();
    sources.extend(
        ["s2_run.c", "s2_hal_host.c", "s2_host_programs.c"].map(String::from),
    );
    let half = sources.len() / 2;
    let compiles: Vec<_> = [&sources[..half], &sources[half..]]
        .iter()
        .map(|chunk| {
            Command::new(&cc)
                .current_dir(dir.path())
                .args(CFLAGS)
                .arg("-c")
                .args(chunk.iter())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("cc starts")
        })
        .collect();
    for child in compiles {
        let out = child.wait_with_output().expect("cc runs");
        assert!(
            out.status.success(),
            "cc failed (emitted C must compile without warnings):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let objects: Vec<String> = sources.iter().map(|s| s.replace(".c", ".o")).collect();
    run(Command::new(&cc)
        .current_dir(dir.path())
        .args(&objects)
        .args(["-o", "host", "-lm"]));

    std::fs::write(dir.path().join("script.txt"), host_script(&cases)).expect("script");
    let output = run(Command::new("sh")
        .current_dir(dir.path())
        .args(["-c", "./host < script.txt"]));
    let actual = split_transcripts(&output);
    assert_eq!(actual.len(), cases.len(), "one transcript per program");

    let (mut sends, mut traps) = (0, 0);
    for (i, (case, actual)) in cases.iter().zip(&actual).enumerate() {
        let expected = expected_transcript(case, i);
        sends += expected.lines().filter(|l| l.starts_with("send")).count();
        traps += expected.lines().filter(|l| l.starts_with("trap")).count();
        if &expected != actual {
            let c = std::fs::read_to_string(dir.path().join(&files[i])).unwrap_or_default();
            panic!(
                "kernel `{}` differs, {}\n\n{}\n{c}",
                case.kernel.name,
                first_difference(&expected, actual),
                print_kernel(&case.kernel)
            );
        }
    }
    println!(
        "{} programs bit-identical ({sends} packets, {traps} traps)",
        cases.len()
    );
    assert!(sends > 1000 && traps > 200, "{sends} packets, {traps} traps");
}
