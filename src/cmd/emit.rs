//! `snnc emit FILE -o DIR`: C sources for the chip.
//!
//! Input: a `.snn` network, or one kernel in the kernel-IR text form (a file
//! ending in `.kir`). Output, in `DIR`: for a kernel, `<kernel>.c` (its
//! buffers zero-initialised), the C backend's support files (`s2_hal.h`,
//! `s2_kernel.h`, the host and QEMU HALs, the Cortex-M4 startup code, the
//! linker script, the Makefile), `programs.mk` and the host harness's
//! program table; `make` then builds `build/<kernel>.elf`, `make host` the
//! host harness. For a network (with a `train` block), the program `snnc
//! build` makes (mapping, lowering, the spec's initial weights): per kernel
//! template `<template>.c`, per PE its data header
//! `pe_<cx>_<cy>_<qx>_<qy>_<p>.h` (send keys, receive table, weights), per
//! chip `routing_chip_<x>_<y>.c`/`.h`, the support files and `programs.mk`;
//! `make` then builds `build/<pe>.elf` for every PE and the routing objects,
//! `make host` the host harness of the templates (zero data). What the
//! lowering does not support fails with its "not yet supported" error; a
//! template whose buffers exceed the PE's data region fails here.

use std::path::{Path, PathBuf};

use miette::Report;
use snnc_compiler::emit::c::program::program_files;
use snnc_compiler::emit::c::{emit_kernel, host_program_table, program_symbol, support_files};
use snnc_compiler::kernel::{parse_kernel, verify};

use snnc_compiler::ErrorClass;
use snnc_runtime::fsio::OutputDir;

use snnc_runtime::pipeline::{compile, initial_weights};

use super::{CmdResult, Failure, Out, Source, load_network};

#[derive(clap::Args, Debug)]
pub struct EmitArgs {
    /// The .snn network, or a kernel in kernel-IR text form (.kir).
    pub file: PathBuf,
    /// The directory to write the sources to (created if missing). Files
    /// snnc wrote there before are replaced; others are left alone.
    #[arg(short = 'o', long)]
    pub output: PathBuf,
    /// Replace files in the output directory even when snnc did not write them.
    #[arg(long)]
    pub force: bool,
}

pub fn emit(args: EmitArgs) -> CmdResult {
    let files = if args.file.extension().is_some_and(|e| e == "kir") {
        kernel_files(&Source::read(&args.file)?)?
    } else {
        network_files(&args.file)?
    };
    write_files(&files, &args.output, &args.file, args.force)
}

/// The files `snnc emit` writes for a network: (file name, contents).
pub fn network_files(file: &Path) -> Result<Vec<(String, String)>, Failure> {
    let (_, net) = load_network(file)?;
    let pipeline = |e: snnc_runtime::pipeline::PipelineError| Failure::of(e.class(), e);
    let weights = initial_weights(&net).map_err(pipeline)?;
    let (mapped, program) = compile(&net, &weights).map_err(pipeline)?;
    program_files(&program, &mapped).map_err(|e| match e {
        snnc_compiler::emit::c::program::ProgramError::Emit(e) => Failure::of(ErrorClass::Rejected, e),
        e => Failure::of(ErrorClass::Internal, e),
    })
}

/// The files `snnc emit` writes for one kernel: (file name, contents). A
/// kernel the user wrote is the user's input: its parse and verifier
/// errors are rejections that point into the file.
pub fn kernel_files(src: &Source) -> Result<Vec<(String, String)>, Failure> {
    let rejected = |r: Report| Failure::new(ErrorClass::Rejected, r.with_source_code(src.named()));
    let kernel = parse_kernel(&src.text).map_err(|e| rejected(Report::new(e)))?;
    let kernel = verify(&kernel).map_err(|e| rejected(Report::new(e)))?;
    let c = emit_kernel(&kernel, &[]).map_err(|e| rejected(Report::new(e)))?;
    let symbol = program_symbol(&kernel);
    let stem = symbol.trim_end_matches("_program").to_string();
    let mut files: Vec<(String, String)> =
        support_files().iter().map(|(name, text)| (name.to_string(), text.to_string())).collect();
    files.push((format!("{stem}.c"), c));
    files.push(("programs.mk".to_string(), format!("PROGRAMS = {stem}\nHOST_PROGRAMS = {stem}\n")));
    files.push(("s2_host_programs.c".to_string(), host_program_table(&[kernel.kernel()])));
    Ok(files)
}

fn write_files(files: &[(String, String)], dir: &Path, input: &Path, force: bool) -> CmdResult {
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let mut out_dir = OutputDir::open(dir, &names, &[input], force)?;
    for (name, text) in files {
        out_dir.write(name, text.as_bytes())?;
    }
    let mut out = Out::new();
    out.line(format!("wrote {} to {}", super::count(files.len() as u64, "file", "files"), dir.display()));
    out.finish()
}
