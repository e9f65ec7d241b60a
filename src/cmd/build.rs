//! `snnc build` and `snnc run`: the compiled program on disk, and training it
//! in the emulator.
//!
//! Input: a `.snn` file with a `train` block. `build` writes a program
//! directory: `spec.snn` (the exact input), `program.yaml` (the manifest:
//! machine size, every PE with its place, role, copy, neurons, kernel and
//! the names of its initialised buffers, every chip's routing table),
//! `data.safetensors` (every PE's initial data: `u32` tensors
//! `pe<slice>.<buffer>`: send keys, receive table, weights; and
//! `pe<slice>.dram`, the first words of a PE's private DRAM region: the
//! weights of a layer whose synapses are in DRAM, `dram` being no buffer
//! name) and
//! `kernels/<name>.kir` (the kernel IR text of each kernel template);
//! `--emit kernel-ir` prints the kernel IR instead. The manifest records
//! the absolute folder the spec's data paths are relative to, so the program
//! directory trains wherever it is. `run DIR` rebuilds the program from
//! `DIR/spec.snn` (and that folder), refuses to run if any file differs from
//! the stored one (a stale or edited build), then trains it in the emulator
//! like `snnc train --backend emulator` with the run directory `DIR/run`.
//!
//! Invariant: `build` is deterministic: the same file gives the same bytes.

use std::path::{Path, PathBuf};

use serde_saphyr::FlowSeq;
use snnc_compiler::driver::Mapped;
use snnc_compiler::kernel::print_kernel;
use snnc_compiler::lower::Program;
use snnc_runtime::fsio::OutputDir;
use snnc_runtime::pipeline::{PipelineError, compile, initial_weights};
use snnc_runtime::session::RunTarget;

use super::session::{Backend, TrainRequest, train_session};
use super::{CmdResult, Failure, Out, count, load_network};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Emit {
    /// The kernel IR text of every kernel template.
    KernelIr,
}

#[derive(clap::Args, Debug)]
#[group(skip)]
#[command(group(clap::ArgGroup::new("destination").required(true).args(["output", "emit"])))]
pub struct BuildArgs {
    /// The .snn file to compile.
    pub file: PathBuf,
    /// The program directory to write (created if missing).
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// Print this intermediate form to stdout instead of writing a program.
    #[arg(long, value_enum)]
    pub emit: Option<Emit>,
    /// Replace files in the program directory even when snnc did not write them.
    #[arg(long, requires = "output")]
    pub force: bool,
}

/// Trains a program directory in the emulator. Results go to `DIR/run`, a
/// run directory like `snnc train --out`'s: `weights.safetensors`,
/// `metrics.csv`, `metrics.json`, `curves.svg`, `checkpoint.safetensors`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// A program directory written by `snnc build`.
    pub dir: PathBuf,
    /// Number of epochs to complete (default: the spec's `epochs`).
    #[arg(long, value_parser = super::session::epochs_arg)]
    pub epochs: Option<u32>,
    /// Continue the run in `DIR/run` from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Start over when `DIR/run` already holds a run.
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// One JSON object per epoch, then a summary object; nothing else on stdout.
    #[arg(long)]
    pub json: bool,
}

fn pipeline_failure(e: PipelineError) -> Failure {
    Failure::of(e.class(), e)
}

/// The manifest of a program (see the module doc): `program.yaml`.
#[derive(serde::Serialize)]
struct Manifest<'a> {
    format: &'static str,
    name: &'a str,
    /// The absolute folder the spec's data paths are relative to.
    data_dir: String,
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

fn manifest<'a>(mapped: &Mapped, program: &'a Program, data_dir: &Path) -> Manifest<'a> {
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
        format: "snnc-program-3",
        name: &program.name,
        data_dir: data_dir.display().to_string(),
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

/// Every PE's initial data as u32 tensors `pe<slice>.<buffer>`, and its
/// DRAM region's initial words as `pe<slice>.dram` (when it has any).
fn data_file(program: &Program) -> Result<Vec<u8>, Failure> {
    let bytes: Vec<(String, usize, Vec<u8>)> = program
        .cores
        .iter()
        .flat_map(|c| {
            let dram = (!c.dram.is_empty()).then_some(("dram".to_string(), &c.dram));
            c.data.iter().map(|(name, words)| (name.clone(), words)).chain(dram).map(move |(name, words)| {
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
fn program_files(
    src_text: &str,
    mapped: &Mapped,
    program: &Program,
    data_dir: &Path,
) -> Result<Vec<(String, Vec<u8>)>, Failure> {
    let yaml = serde_saphyr::to_string(&manifest(mapped, program, data_dir))
        .map_err(|e| Failure::internal(format!("the manifest: {e}")))?;
    let mut files = vec![
        ("spec.snn".to_string(), src_text.as_bytes().to_vec()),
        (
            MANIFEST.to_string(),
            format!("# written by snnc: the manifest of program {}\n{yaml}", program.name).into_bytes(),
        ),
        (DATA.to_string(), data_file(program)?),
    ];
    for k in &program.kernels {
        files.push((format!("kernels/{}.kir", k.name), print_kernel(k).into_bytes()));
    }
    Ok(files)
}

/// The absolute form of the folder `file` is in.
fn absolute_folder(file: &Path) -> Result<PathBuf, Failure> {
    let folder = super::session::data_dir(file);
    std::path::absolute(folder).map_err(|e| Failure::rejected(format!("cannot resolve {}: {e}", folder.display())))
}

pub fn build(args: BuildArgs) -> CmdResult {
    let (src, net) = load_network(&args.file)?;
    let weights = initial_weights(&net).map_err(pipeline_failure)?;
    let (mapped, program) = compile(&net, &weights).map_err(pipeline_failure)?;
    let mut out = Out::new();
    let Some(dir) = args.output else {
        // `--emit kernel-ir`: the kernel IR of every template on stdout.
        for k in &program.kernels {
            out.text(&print_kernel(k));
        }
        return out.finish();
    };
    let files = program_files(&src.text, &mapped, &program, &absolute_folder(&args.file)?)?;
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let mut out_dir = OutputDir::open(&dir, &names, &[&args.file], args.force)?;
    for (name, bytes) in &files {
        out_dir.write(name, bytes)?;
    }
    let per_copy = program.copy_cores(0).count();
    out.line(format!(
        "built {}: {} PEs ({} of {} PEs, {}) on {}, {}; program in {}",
        program.name,
        program.cores.len(),
        count(program.copies, "batch copy", "batch copies"),
        per_copy,
        count((program.cores.len() - per_copy * program.copies as usize) as u64, "optimiser PE", "optimiser PEs"),
        count(mapped.placement.chips_used() as u64, "chip", "chips"),
        count(program.kernels.len() as u64, "kernel", "kernels"),
        dir.display()
    ));
    out.finish()
}

/// The data folder a program directory's manifest records.
fn recorded_data_dir(dir: &Path) -> Result<PathBuf, Failure> {
    let text = std::fs::read_to_string(dir.join(MANIFEST)).map_err(|_| {
        Failure::rejected(format!(
            "{} is not a program directory (no {MANIFEST}): write one with `snnc build FILE -o DIR`",
            dir.display()
        ))
    })?;
    let line = text.lines().find_map(|l| l.strip_prefix("data_dir: ")).ok_or_else(|| {
        Failure::rejected(format!(
            "{} was written by an older snnc (it records no data folder): rebuild the program",
            dir.join(MANIFEST).display()
        ))
    })?;
    // The manifest writes the folder as a YAML scalar; read it back the same way.
    let folder: String = serde_saphyr::from_str(line)
        .map_err(|e| Failure::rejected(format!("{}: bad data_dir: {e}", dir.join(MANIFEST).display())))?;
    Ok(PathBuf::from(folder))
}

pub fn run(args: RunArgs) -> CmdResult {
    let spec = args.dir.join("spec.snn");
    let data_dir = recorded_data_dir(&args.dir)?;
    let (src, net) = load_network(&spec)?;
    // `build` is deterministic: the program rebuilt from the stored spec
    // with the spec's seed (its initial weights are part of the data) must
    // be the stored one, byte for byte.
    let weights = initial_weights(&net).map_err(pipeline_failure)?;
    let (mapped, program) = compile(&net, &weights).map_err(pipeline_failure)?;
    for (path, bytes) in program_files(&src.text, &mapped, &program, &data_dir)? {
        let on_disk = std::fs::read(args.dir.join(&path)).unwrap_or_default();
        if on_disk != bytes {
            return Err(Failure::rejected(format!(
                "{} differs from what `snnc build` makes of {} with the spec's seed: rebuild the program",
                args.dir.join(&path).display(),
                spec.display()
            )));
        }
    }
    let run_dir = args.dir.join("run");
    let target = if args.resume { RunTarget::Resume(run_dir) } else { RunTarget::Dir(run_dir) };
    let d = args.dir.display();
    train_session(TrainRequest {
        file: &spec,
        data_dir: &data_dir,
        backend: Backend::Emulator,
        target,
        epochs: args.epochs,
        seed: None,
        init_weights: None,
        force: args.force,
        json: args.json,
        resume_hint: format!("continue it with `snnc run {d} --resume`, or start over with `snnc run {d} --force`"),
    })
}
