//! `snnc emit` as the CLI runs it: a kernel in kernel-IR text form is
//! emitted as a buildable C program; a network the lowering does not support
//! fails with the lowering's "not yet supported"; bad input is rejected.
//! (Whole networks: `emit_network.rs`.)

use std::path::PathBuf;
use std::process::Command;

use snnc::cmd::Failure;
use snnc::cmd::emit::{EmitArgs, emit};
use snnc_compiler::ErrorClass;

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples").join(name)
}

fn code(f: &Failure) -> Option<String> {
    f.report.code().map(|c| c.to_string())
}

#[test]
fn a_kernel_is_emitted_as_a_program_that_builds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let kir = dir.path().join("lif.kir");
    // The filetest corpus's LIF layer, its `;` directives included.
    std::fs::write(&kir, include_str!("kir/examples/lif_layer.kir")).expect("write");
    let out = dir.path().join("out");
    emit(EmitArgs { file: kir, output: out.clone(), force: false }).unwrap_or_else(|_| panic!("emits"));
    for name in ["lif_layer.c", "s2_hal.h", "s2_kernel.h", "s2_pe.ld", "Makefile", "programs.mk"] {
        assert!(out.join(name).is_file(), "{name} is written");
    }
    let has = |tool: &str| Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    if has("make") && has("cc") {
        let status = Command::new("make").current_dir(&out).args(["-s", "host"]).status().expect("make");
        assert!(status.success(), "make host");
    } else {
        eprintln!("SKIPPED: building the host harness needs make and cc");
    }
    if has("make") && has("arm-none-eabi-gcc") {
        let status = Command::new("make").current_dir(&out).args(["-s", "all"]).status().expect("make");
        assert!(status.success() && out.join("build/lif_layer.elf").is_file(), "make all");
    } else {
        eprintln!("SKIPPED: building the firmware needs make and arm-none-eabi-gcc");
    }
}

/// yinyang.snn without its `train` block: the forward pass alone (input and
/// layer PEs, no loss, no optimiser) is emitted, and its firmware builds
/// without warnings and fits.
#[test]
fn a_network_without_training_emits_forward_only_firmware() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(example("yinyang.snn")).expect("the example");
    let start = text.find("\ntrain {").expect("a train block");
    let end = start + text[start..].find("\n}\n").expect("its end") + 3;
    let untrained = format!("{}{}", &text[..start], &text[end..]);
    let spec = dir.path().join("untrained.snn");
    std::fs::write(&spec, untrained).expect("write");
    let out = dir.path().join("out");
    assert!(emit(EmitArgs { file: spec, output: out.clone(), force: false }).is_ok(), "emits");
    let mk = std::fs::read_to_string(out.join("programs.mk")).expect("programs.mk");
    let pes = mk.lines().find_map(|l| l.strip_prefix("PES = ")).expect("PES").split(' ').count();
    assert_eq!(pes, 3, "input, hidden and output PEs");
    let tools = ["make", "arm-none-eabi-gcc", "arm-none-eabi-size"];
    if tools.iter().any(|t| Command::new(t).arg("--version").output().is_err()) {
        eprintln!("SKIPPED: building the firmware needs make, arm-none-eabi-gcc and arm-none-eabi-size");
        return;
    }
    let make = Command::new("make").current_dir(&out).args(["-j2", "-s", "all"]).output().expect("make");
    let stderr = String::from_utf8_lossy(&make.stderr);
    assert!(make.status.success() && !stderr.to_lowercase().contains("warning"), "make all:\n{stderr}");
}

#[test]
fn bad_input_is_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let kir = dir.path().join("bad.kir");
    std::fs::write(&kir, "kernel k budget 64\nbuffer b: f32[4] @ 0\nfn init( {\n").expect("write");
    match emit(EmitArgs { file: kir, output: dir.path().join("a"), force: false }) {
        Err(f) if f.class == ErrorClass::Rejected => {
            assert_eq!(code(&f).as_deref(), Some("snn::kernel::parse"))
        }
        Err(f) => panic!("expected a rejection, got {:?}", code(&f)),
        Ok(()) => panic!("a syntax error is rejected"),
    }
    let snn = dir.path().join("bad.snn");
    std::fs::write(&snn, "network broken {").expect("write");
    let result = emit(EmitArgs { file: snn, output: dir.path().join("b"), force: false });
    assert!(matches!(result, Err(Failure { class: ErrorClass::Rejected, .. })));
}
