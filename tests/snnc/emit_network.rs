//! `snnc emit` of whole networks: the emitted file list and kernel templates
//! of examples/yinyang.snn (snapshots; the per-PE data and routing files by
//! size and digest), deep.snn emits, and the yinyang firmware builds with
//! arm-none-eabi-gcc without warnings into images that fit a PE's 32 KiB of
//! code and 96 KiB of data (with 4 KiB of stack); `make host` builds the
//! host harness of the templates.

use std::path::PathBuf;
use std::process::Command;

use snnc::cmd::emit::{EmitArgs, emit, network_files};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples").join(name)
}

/// FNV-1a, 64 bits: a digest of a file's bytes for the snapshot.
fn fnv64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

fn is_template(name: &str, files: &[(String, String)]) -> bool {
    let mk = &files.iter().find(|(n, _)| n == "programs.mk").expect("programs.mk").1;
    let host = mk.lines().find_map(|l| l.strip_prefix("HOST_PROGRAMS = ")).expect("HOST_PROGRAMS");
    name.strip_suffix(".c").is_some_and(|stem| host.split(' ').any(|t| t == stem))
}

#[test]
fn yinyang_file_list_and_templates() {
    let files = network_files(&example("yinyang.snn")).unwrap_or_else(|_| panic!("emits"));
    let pes = files.iter().filter(|(n, _)| n.starts_with("pe_")).count();
    assert_eq!(pes, 89, "one data header per PE");
    let mut list = String::new();
    for (name, text) in &files {
        list.push_str(&format!("{name:<28} {:>7} bytes  fnv64 {:016x}\n", text.len(), fnv64(text.as_bytes())));
    }
    insta::assert_snapshot!("yinyang_files", list);
    let first_pe = files.iter().find(|(n, _)| n.starts_with("pe_")).expect("a PE");
    insta::assert_snapshot!("yinyang_first_pe_data", format!("{}\n{}", first_pe.0, first_pe.1));
    for (name, text) in &files {
        if is_template(name, &files) {
            insta::assert_snapshot!(format!("yinyang_template_{name}"), text);
        }
    }
}

#[test]
fn deep_emits_every_pe() {
    let files = network_files(&example("deep.snn")).unwrap_or_else(|_| panic!("emits"));
    let mk = &files.iter().find(|(n, _)| n == "programs.mk").expect("programs.mk").1;
    let pes = mk.lines().find_map(|l| l.strip_prefix("PES = ")).expect("PES");
    for pe in pes.split(' ') {
        assert!(files.iter().any(|(n, _)| *n == format!("{pe}.h")), "{pe}.h is emitted");
        assert!(mk.contains(&format!("build/{pe}.elf:")), "{pe} has a rule");
    }
    assert!(files.iter().any(|(n, _)| n.starts_with("routing_chip_") && n.ends_with(".c")));
}

fn has(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success())
}

#[test]
fn yinyang_firmware_builds_and_fits() {
    if crate::slow::skip("yinyang_firmware_builds_and_fits") {
        return;
    }
    if !(has("make") && has("arm-none-eabi-gcc") && has("arm-none-eabi-size")) {
        eprintln!("SKIPPED: building the firmware needs make, arm-none-eabi-gcc and arm-none-eabi-size");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    emit(EmitArgs { file: example("yinyang.snn"), output: out.clone(), force: false })
        .unwrap_or_else(|_| panic!("emits"));
    let make = Command::new("make").current_dir(&out).args(["-j2", "all"]).output().expect("make");
    let stderr = String::from_utf8_lossy(&make.stderr);
    assert!(make.status.success(), "make all failed:\n{stderr}");
    assert!(!stderr.to_lowercase().contains("warning"), "warnings:\n{stderr}");
    let mk = std::fs::read_to_string(out.join("programs.mk")).expect("programs.mk");
    let pes: Vec<&str> = mk.lines().find_map(|l| l.strip_prefix("PES = ")).expect("PES").split(' ').collect();
    assert_eq!(pes.len(), 89);
    let mut size = Command::new("arm-none-eabi-size");
    size.current_dir(&out);
    for pe in &pes {
        size.arg(format!("build/{pe}.elf"));
    }
    let size = size.output().expect("arm-none-eabi-size");
    assert!(size.status.success());
    let table = String::from_utf8_lossy(&size.stdout).to_string();
    println!("{table}");
    let mut rows = 0;
    for line in table.lines().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let n = |i: usize| cols[i].parse::<u64>().expect("a number");
        let (text, data, bss) = (n(0), n(1), n(2));
        assert!(text <= 32 * 1024, "{}: {text} bytes of code exceed 32 KiB", cols[5]);
        assert!(
            data + bss + 4 * 1024 <= 96 * 1024,
            "{}: {data} + {bss} bytes of data and 4 KiB of stack exceed 96 KiB",
            cols[5]
        );
        rows += 1;
    }
    assert_eq!(rows, pes.len(), "a size row per PE image");
    if has("cc") {
        let host = Command::new("make").current_dir(&out).args(["-s", "host"]).output().expect("make host");
        assert!(host.status.success(), "make host:\n{}", String::from_utf8_lossy(&host.stderr));
    } else {
        eprintln!("SKIPPED: make host needs cc");
    }
}

/// Every example's firmware: one image per kernel template (its first PE;
/// every PE of a template has the same code and data layout) builds with
/// arm-none-eabi-gcc without warnings and fits a PE: 32 KiB of code, 96 KiB
/// of data with 4 KiB of stack. Prints the size table. (yinyang's every PE
/// image is built above; large.snn has 6,339 PEs in 12 templates, shd.snn
/// 1,481 with its hidden synapses in DRAM.)
#[test]
fn every_example_firmware_builds_and_fits() {
    if crate::slow::skip("every_example_firmware_builds_and_fits") {
        return;
    }
    if !(has("make") && has("arm-none-eabi-gcc") && has("arm-none-eabi-size")) {
        eprintln!("SKIPPED: building the firmware needs make, arm-none-eabi-gcc and arm-none-eabi-size");
        return;
    }
    let mut names: Vec<String> = std::fs::read_dir(example(""))
        .expect("examples")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .filter(|n| n.ends_with(".snn"))
        .collect();
    names.sort();
    assert!(names.len() >= 4, "{names:?}");
    for name in &names {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("out");
        let emitted = emit(EmitArgs { file: example(name), output: out.clone(), force: false });
        emitted.unwrap_or_else(|_| panic!("{name} emits"));
        let mk = std::fs::read_to_string(out.join("programs.mk")).expect("programs.mk");
        let list = |key: &str| -> Vec<String> {
            mk.lines()
                .find_map(|l| l.strip_prefix(key))
                .unwrap_or_else(|| panic!("{key}"))
                .split(' ')
                .map(String::from)
                .collect()
        };
        let (templates, pes) = (list("HOST_PROGRAMS = "), list("TEMPLATE_PES = "));
        assert_eq!(templates.len(), pes.len(), "{name}: a first PE per template");
        let make = Command::new("make").current_dir(&out).args(["-j2", "-s", "templates"]).output().expect("make");
        let stderr = String::from_utf8_lossy(&make.stderr);
        assert!(make.status.success(), "{name}: make templates failed:\n{stderr}");
        assert!(!stderr.to_lowercase().contains("warning"), "{name}: warnings:\n{stderr}");
        let table = String::from_utf8_lossy(&make.stdout).to_string();
        println!("{name}: {} templates\n{table}", templates.len());
        let mut rows = 0;
        for line in table.lines().filter(|l| l.contains(".elf")) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let n = |i: usize| cols[i].parse::<u64>().expect("a number");
            let (text, data, bss) = (n(0), n(1), n(2));
            assert!(text <= 32 * 1024, "{name}: {}: {text} bytes of code exceed 32 KiB", cols[5]);
            assert!(
                data + bss + 4 * 1024 <= 96 * 1024,
                "{name}: {}: {data} + {bss} bytes of data and 4 KiB of stack exceed 96 KiB",
                cols[5]
            );
            rows += 1;
        }
        assert_eq!(rows, pes.len(), "{name}: a size row per template image");
    }
}
