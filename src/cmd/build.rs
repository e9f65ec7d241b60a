//! `snnc build` and `snnc run`: the compiled program on disk, and training it
//! in the emulator.
//!
//! Input: a `.snn` file with a `train` block. `build` writes a program
//! directory: `spec.snn` (the exact input), `program.yaml` (the manifest:
//! machine size, every PE with its place, role, copy, neurons, kernel and
//! the names of its initialised buffers, every chip's routing table),
//! `data.safetensors` (every PE's initial data: `u32` tensors
//! `pe<slice>.<buffer>`: send keys, receive table, weights) and
//! `kernels/<name>.kir` (the kernel IR text of each kernel template);
//! `--emit kernel-ir` prints the kernel IR instead. `run DIR` rebuilds the
//! program from `DIR/spec.snn`, refuses to run if any file differs from the
//! stored one (a stale or edited build), then trains it in the emulator like
//! `snnc train --backend emulator` with the run directory `DIR/run`.
//!
//! Invariant: `build` is deterministic: the same file gives the same bytes.

use std::path::{Path, PathBuf};

use miette::Report;
use serde_saphyr::FlowSeq;
use snnc_compiler::ValidNetwork;
use snnc_compiler::driver::{Mapped, map_network};
use snnc_compiler::kernel::print_kernel;
use snnc_compiler::lower::{Program, lower};
use snnc_runtime::emu::Emulator;
use snnc_runtime::train::init::init_weights;
use snnc_runtime::train::plan::Plan;

use super::{CmdResult, Failure, load_network};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emit {
    /// The kernel IR text of every kernel template.
    KernelIr,
}

#[derive(clap::Args, Debug)]
pub struct BuildArgs {
    /// The .snn file to compile.
    pub file: PathBuf,
    /// The program directory to write.
    #[arg(short = 'o', long, required_unless_present = "emit")]
    pub output: Option<PathBuf>,
    /// Print this intermediate form to stdout instead of writing a program.
    #[arg(long, value_enum)]
    pub emit: Option<Emit>,
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// A program directory written by `snnc build`.
    pub dir: PathBuf,
    /// Number of epochs (default: the spec's `epochs`).
    #[arg(long)]
    pub epochs: Option<u32>,
    /// One JSON object per epoch, then a summary object; nothing else on stdout.
    #[arg(long)]
    pub json: bool,
}

fn rejected(e: impl miette::Diagnostic + Send + Sync + 'static) -> Failure {
    Failure::Rejected(Report::new(e))
}

/// Maps and lowers `net` with `weights`.
pub fn compile_program(net: &ValidNetwork, weights: &[Vec<f32>]) -> Result<(Mapped, Program), Failure> {
    let mapped = map_network(net)
        .map_err(|e| if e.is_user_error() { rejected(e) } else { Failure::Internal(Report::new(e)) })?;
    let program = lower(net, &mapped, weights).map_err(|e| Failure::Internal(Report::new(e)))?;
    Ok((mapped, program))
}

/// Maps, lowers and loads `net` with `weights` into a fresh emulator.
pub fn emulator_for(net: &ValidNetwork, weights: &[Vec<f32>]) -> Result<Emulator, Failure> {
    let (mapped, program) = compile_program(net, weights)?;
    Emulator::new(program, &mapped.machine, &mapped.routing.tables).map_err(|e| Failure::Internal(Report::new(e)))
}

/// The initial weights from the spec's initialisers and seed.
pub fn initial_weights(net: &ValidNetwork) -> Result<Vec<Vec<f32>>, Failure> {
    let plan = Plan::new(net).map_err(rejected)?;
    let seed = net.train.as_ref().map_or(0, |t| t.seed);
    Ok(init_weights(&plan, seed))
}

/// The manifest of a program (see the module doc): `program.yaml`.
#[derive(serde::Serialize)]
struct Manifest<'a> {
    format: &'static str,
    name: &'a str,
    steps: u32,
    batch: u32,
    copies: u32,
    chips: usize,
    kernels: Vec<&'a str>,
    /// The file holding every PE's initial data.
    data: &'static str,
    cores: Vec<ManifestCore<'a>>,
    routing: Vec<ManifestTable>,
}

#[derive(serde::Serialize)]
struct ManifestCore<'a> {
    slice: usize,
    chip: FlowSeq<[u8; 2]>,
    qpe: FlowSeq<[u8; 2]>,
    pe: u8,
    role: &'static str,
    batch_copy: Option<u32>,
    neurons: FlowSeq<[u32; 2]>,
    kernel: &'a str,
    /// Buffers with initial data: tensors `pe<slice>.<buffer>` of `data`.
    data: FlowSeq<Vec<&'a str>>,
}

#[derive(serde::Serialize)]
struct ManifestTable {
    chip: FlowSeq<[u8; 2]>,
    entries: Vec<ManifestEntry>,
}

#[derive(serde::Serialize)]
struct ManifestEntry {
    key: String,
    mask: String,
    pes: FlowSeq<Vec<u8>>,
    links: FlowSeq<Vec<&'static str>>,
}

/// The file names of the manifest and of the initial data.
const MANIFEST: &str = "program.yaml";
const DATA: &str = "data.safetensors";

fn manifest<'a>(mapped: &Mapped, program: &'a Program) -> Manifest<'a> {
    let cores = program
        .cores
        .iter()
        .map(|c| {
            let at = mapped.machine.chips[usize::from(c.pe.chip.0)];
            ManifestCore {
                slice: c.slice,
                chip: FlowSeq([at.x, at.y]),
                qpe: FlowSeq([c.pe.qpe.x, c.pe.qpe.y]),
                pe: c.pe.pe,
                role: c.role.name(),
                batch_copy: c.batch_copy,
                neurons: FlowSeq([c.neurons.start, c.neurons.end]),
                kernel: &program.kernels[c.kernel].name,
                data: FlowSeq(c.data.keys().map(String::as_str).collect()),
            }
        })
        .collect();
    let routing = mapped
        .routing
        .tables
        .chips
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let at = mapped.machine.chips[i];
            let entries = t
                .iter()
                .map(|e| ManifestEntry {
                    key: format!("{:#010x}", e.key),
                    mask: format!("{:#010x}", e.mask),
                    pes: FlowSeq(e.route.pes.clone()),
                    links: FlowSeq(e.route.links.iter().map(|l| l.name()).collect()),
                })
                .collect();
            ManifestTable { chip: FlowSeq([at.x, at.y]), entries }
        })
        .collect();
    Manifest {
        format: "snnc-program-2",
        name: &program.name,
        steps: program.steps,
        batch: program.batch,
        copies: program.copies,
        chips: mapped.machine.chip_count(),
        kernels: program.kernels.iter().map(|k| k.name.as_str()).collect(),
        data: DATA,
        cores,
        routing,
    }
}

/// Every PE's initial data as u32 tensors `pe<slice>.<buffer>`.
fn data_file(program: &Program) -> Result<Vec<u8>, Failure> {
    let bytes: Vec<(String, usize, Vec<u8>)> = program
        .cores
        .iter()
        .flat_map(|c| {
            c.data.iter().map(move |(name, words)| {
                (format!("pe{}.{name}", c.slice), words.len(), words.iter().flat_map(|w| w.to_le_bytes()).collect())
            })
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(name, len, b)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::U32, vec![*len], b).map(|v| (name.clone(), v))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Failure::internal(format!("initial data: {e}")))?;
    safetensors::serialize(views, None).map_err(|e| Failure::internal(format!("initial data: {e}")))
}

/// Everything `build` writes, as (relative path, bytes).
fn program_files(src_text: &str, mapped: &Mapped, program: &Program) -> Result<Vec<(PathBuf, Vec<u8>)>, Failure> {
    let yaml = serde_saphyr::to_string(&manifest(mapped, program))
        .map_err(|e| Failure::internal(format!("the manifest: {e}")))?;
    let mut files = vec![
        (PathBuf::from("spec.snn"), src_text.as_bytes().to_vec()),
        (PathBuf::from(MANIFEST), yaml.into_bytes()),
        (PathBuf::from(DATA), data_file(program)?),
    ];
    for k in &program.kernels {
        files.push((Path::new("kernels").join(format!("{}.kir", k.name)), print_kernel(k).into_bytes()));
    }
    Ok(files)
}

pub fn build(args: BuildArgs) -> CmdResult {
    let (src, net) = load_network(&args.file)?;
    let weights = initial_weights(&net)?;
    let (mapped, program) = compile_program(&net, &weights)?;
    if args.emit == Some(Emit::KernelIr) {
        for k in &program.kernels {
            print!("{}", print_kernel(k));
        }
        return Ok(());
    }
    let Some(dir) = args.output else {
        return Err(Failure::rejected("give an output directory with -o DIR"));
    };
    std::fs::create_dir_all(dir.join("kernels"))
        .map_err(|e| Failure::rejected(format!("cannot create {}: {e}", dir.display())))?;
    for (path, bytes) in program_files(&src.text, &mapped, &program)? {
        std::fs::write(dir.join(&path), bytes)
            .map_err(|e| Failure::internal(format!("cannot write {}: {e}", dir.join(&path).display())))?;
    }
    let per_copy = program.copy_cores(0).count();
    println!(
        "built {}: {} PEs ({} batch copies of {} PEs, {} optimiser PEs) on {} chip(s), {} kernels; program in {}",
        program.name,
        program.cores.len(),
        program.copies,
        per_copy,
        program.cores.len() - per_copy * program.copies as usize,
        mapped.placement.chips_used(),
        program.kernels.len(),
        dir.display()
    );
    Ok(())
}

pub fn run(args: RunArgs) -> CmdResult {
    let spec = args.dir.join("spec.snn");
    if !args.dir.join(MANIFEST).is_file() {
        return Err(Failure::rejected(format!(
            "{} is not a program directory (no {MANIFEST}): write one with `snnc build FILE -o DIR`",
            args.dir.display()
        )));
    }
    let (src, net) = load_network(&spec)?;
    // `build` is deterministic: the program rebuilt from the stored spec
    // with the spec's seed (its initial weights are part of the data) must
    // be the stored one, byte for byte.
    let weights = initial_weights(&net)?;
    let (mapped, program) = compile_program(&net, &weights)?;
    for (path, bytes) in program_files(&src.text, &mapped, &program)? {
        let on_disk = std::fs::read(args.dir.join(&path)).unwrap_or_default();
        if on_disk != bytes {
            return Err(Failure::rejected(format!(
                "{} differs from what `snnc build` makes of {} with the spec's seed: rebuild the program",
                args.dir.join(&path).display(),
                spec.display()
            )));
        }
    }
    super::train::train(super::train::TrainArgs {
        file: spec,
        backend: super::train::Backend::Emulator,
        epochs: args.epochs,
        out: Some(args.dir.join("run")),
        init_weights: None,
        resume: None,
        seed: None,
        json: args.json,
    })
}
