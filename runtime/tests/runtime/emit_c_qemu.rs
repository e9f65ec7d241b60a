//! Differential test of the C backend on a Cortex-M4F: the example kernels
//! and random kernels are emitted as C, built with the emitted Makefile
//! (`arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard
//! -mfpu=fpv4-sp-d16 -O2 -ffp-contract=off -Wall -Wextra -Werror`), run under
//! `qemu-system-arm -M mps2-an386` with the invocations as a semihosted
//! trace, and their transcripts (packets, traps, final memory) must equal the
//! interpreter's, bit for bit. Prints `arm-none-eabi-size` of each example
//! program and checks the 32 KiB code / 96 KiB data budget.
//! Skips (saying why) when the ARM toolchain, QEMU or make is missing.

use crate::c_cases;
use crate::c_harness;

use std::path::Path;
use std::process::Command;

use rayon::prelude::*;

use c_cases::{example_cases, random_case};
use c_harness::{Case, expected_transcript, first_difference, qemu_trace, run, run_qemu, tool, write_sources};
use snnc_compiler::kernel::print_kernel;

/// Random kernels run on QEMU (seeds `0..RANDOM_CASES`); each is its own
/// firmware image.
const RANDOM_CASES: u64 = 48;

/// Code and data budget of a PE (bytes).
const CODE_BUDGET: u64 = 32 * 1024;
const DATA_BUDGET: u64 = 96 * 1024;

/// `text data bss` of an ELF.
fn size(elf: &Path) -> (u64, u64, u64) {
    let out = run(Command::new("arm-none-eabi-size").arg(elf));
    let line = out.lines().nth(1).expect("size prints a row");
    let n: Vec<u64> = line.split_whitespace().take(3).map(|x| x.parse().expect("number")).collect();
    (n[0], n[1], n[2])
}

/// Builds and runs one case; returns its transcript and its ELF's size.
fn run_on_qemu(case: &Case) -> (String, (u64, u64, u64)) {
    let dir = tempfile::tempdir().expect("temp dir");
    let files = write_sources(dir.path(), std::slice::from_ref(case));
    let stem = files[0].trim_end_matches(".c");
    let elf = format!("build/{stem}.elf");
    run(Command::new("make").current_dir(dir.path()).args(["-s", &elf]));
    std::fs::write(dir.path().join("s2_events.bin"), qemu_trace(case)).expect("trace");
    let (status, stdout, stderr) = run_qemu(dir.path(), &dir.path().join(&elf), 60);
    assert!(status.success(), "kernel `{}`: qemu exited with {status}:\n{stdout}\n{stderr}", case.kernel.name);
    (stdout, size(&dir.path().join(&elf)))
}

#[test]
fn emitted_c_equals_interpreter_on_cortex_m4() {
    if crate::slow::skip("emitted_c_equals_interpreter_on_cortex_m4") {
        return;
    }
    let why = "the Cortex-M4 parity test builds and runs the emitted firmware";
    if tool("arm-none-eabi-gcc", why).is_none() || tool("qemu-system-arm", why).is_none() || tool("make", why).is_none()
    {
        return;
    }
    let examples = example_cases();
    let n_examples = examples.len();
    let mut cases = examples;
    cases.extend((0..RANDOM_CASES).map(random_case));
    // On every core (rayon's pool), in case order.
    let results: Vec<(usize, String, (u64, u64, u64))> = (0..cases.len())
        .into_par_iter()
        .map(|i| {
            let (t, sz) = run_on_qemu(&cases[i]);
            (i, t, sz)
        })
        .collect();
    println!("program            text    data     bss  (budget: text 32768, data+bss 98304)");
    for (i, actual, (text, data, bss)) in &results {
        let case = &cases[*i];
        let expected = expected_transcript(case, 0);
        assert!(
            &expected == actual,
            "kernel `{}` differs on the Cortex-M4, {}\n\n{}",
            case.kernel.name,
            first_difference(&expected, actual),
            print_kernel(&case.kernel)
        );
        if *i < n_examples {
            println!("{:<16} {text:>6} {data:>7} {bss:>7}", case.kernel.name);
        }
        assert!(
            *text <= CODE_BUDGET && data + bss <= DATA_BUDGET,
            "kernel `{}` does not fit: text {text}, data {data}, bss {bss}",
            case.kernel.name
        );
    }
    println!("{} programs bit-identical on qemu mps2-an386", results.len());
}
