//! Differential test of the C backend on the host: the example kernels and
//! random kernels (`support/random_kernel.rs`) are emitted as C, compiled
//! together into one host harness with
//! `cc -std=c99 -O2 -ffp-contract=off -Wall -Wextra -Werror`, run on their
//! initial memory and invocations, and their transcripts (packets, traps,
//! final memory) must equal the interpreter's, bit for bit.
//! Skips (saying why) when no `cc` is installed.

#[path = "support/c_cases.rs"]
mod c_cases;
// Shared by the host and QEMU tests; each uses a part.
#[allow(dead_code)]
#[path = "support/c_harness.rs"]
mod c_harness;
#[path = "support/random_kernel.rs"]
mod random_kernel;

use std::process::Command;

use c_cases::{example_cases, random_case};
use c_harness::{
    build_host, expected_transcript, first_difference, host_script, run, split_transcripts, tool, write_sources,
};
use snnc_compiler::kernel::print_kernel;

/// Random kernels in the batch (seeds `0..RANDOM_CASES`).
const RANDOM_CASES: u64 = 400;

#[test]
fn emitted_c_equals_interpreter_on_host() {
    let Some(cc) = tool("cc", "the host C compiler builds the emitted kernels") else {
        return;
    };
    let mut cases = example_cases();
    cases.extend((0..RANDOM_CASES).map(random_case));
    let dir = tempfile::tempdir().expect("temp dir");
    let files = write_sources(dir.path(), &cases);

    build_host(dir.path(), &cc, &files);

    std::fs::write(dir.path().join("script.txt"), host_script(&cases)).expect("script");
    let output = run(Command::new("sh").current_dir(dir.path()).args(["-c", "./host < script.txt"]));
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
    println!("{} programs bit-identical ({sends} packets, {traps} traps)", cases.len());
    assert!(sends > 1000 && traps > 200, "{sends} packets, {traps} traps");
}
