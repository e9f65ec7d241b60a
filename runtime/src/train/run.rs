//! Run directories: the files a training run leaves behind, and checkpoints.
//!
//! Input: a [`Prepared`] problem, a [`TrainState`], a directory. Output, in
//! the directory: `spec.snn` (the exact input), `weights.safetensors` (one
//! `f32` tensor per projection named `<pre>-><post>`, shape `[post, pre]`),
//! `metrics.csv`, `metrics.json`, `curves.svg`, and `checkpoint.safetensors`
//! (weights, optimiser state, RNG state, epoch, history).
//!
//! Invariants: every file is written atomically (a temporary file in the same
//! directory, then a rename, [`crate::fsio`]), the spec, weights and an
//! epoch-0 checkpoint when the run starts and every file after every epoch,
//! so an interrupted run leaves the last complete epoch on disk and can be
//! resumed even before its first epoch ends; resuming from
//! `checkpoint.safetensors` continues bit-identically ([`load_checkpoint`]
//! restores every bit of the state). A run directory is created atomically
//! (a default name never collides with another run's), is locked while a
//! run writes it, and never replaces a file snnc did not write there.
//! The epochs' computation is an [`EpochRunner`]'s (the reference here, the
//! emulator in `crate::emu::train`), whose failures arrive as
//! [`RunnerFailure`]s: this module names no backend.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use snnc_compiler::ErrorClass;

use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use super::batch::{Evaluation, evaluate};
use super::optim::OptState;
use super::plan::{Group, Plan};
use super::trainer::{EpochMetrics, Prepared, TrainError, TrainState, run_epoch};
use crate::data::encode::Encoded;
use crate::fsio::{FsError, OutputDir, SAFETENSORS_GENERATOR};
use crate::rng::{RandomState, RngState};

pub const SPEC: &str = "spec.snn";
pub const CHECKPOINT: &str = "checkpoint.safetensors";
pub const WEIGHTS: &str = "weights.safetensors";
pub const METRICS_CSV: &str = "metrics.csv";
pub const METRICS_JSON: &str = "metrics.json";
pub const CURVES: &str = "curves.svg";
/// Every file a run directory holds.
pub const RUN_FILES: &[&str] = &[SPEC, CHECKPOINT, WEIGHTS, METRICS_CSV, METRICS_JSON, CURVES];
const FORMAT: &str = "snnc-checkpoint-2";

/// A backend's failure, as the run loop passes it on: its class (which the
/// CLI turns into an exit status), code, message and help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerFailure {
    pub class: ErrorClass,
    pub code: String,
    pub message: String,
    pub help: Option<String>,
}

impl std::fmt::Display for RunnerFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RunnerFailure {}

impl miette::Diagnostic for RunnerFailure {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
}

impl RunnerFailure {
    /// Any diagnostic, with its class.
    pub fn of(class: ErrorClass, e: &dyn miette::Diagnostic) -> RunnerFailure {
        RunnerFailure {
            class,
            code: e.code().map_or_else(|| "snn::runner".to_string(), |c| c.to_string()),
            message: e.to_string(),
            help: e.help().map(|h| h.to_string()),
        }
    }
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RunError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Fs(#[from] FsError),
    #[error("{path}: {reason}")]
    #[diagnostic(
        code(snn::train::bad_weights),
        help(
            "a weights file holds one finite f32 tensor per projection, named `<pre>-><post>`, shape [post, pre] ([copies, post, pre] for a delay line)"
        )
    )]
    BadWeights { path: PathBuf, reason: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Runner(#[from] RunnerFailure),
    #[error("{path}: {reason}")]
    #[diagnostic(
        code(snn::train::bad_checkpoint),
        help("resume from a run directory written by `snnc train` for this spec")
    )]
    BadCheckpoint { path: PathBuf, reason: String },
    #[error("{spec} differs from the spec of the run in {dir} (its spec.snn)")]
    #[diagnostic(
        code(snn::train::spec_differs),
        help("resume with the same network, training and target (comments and layout may differ)")
    )]
    SpecDiffers { spec: PathBuf, dir: PathBuf },
    #[error("{path} already holds a training run")]
    #[diagnostic(code(snn::train::run_exists), help("{resume}"))]
    RunExists { path: PathBuf, resume: String },
}

impl RunError {
    pub fn class(&self) -> ErrorClass {
        match self {
            RunError::Train(e) => e.class(),
            RunError::Fs(e) if e.is_refusal() => ErrorClass::Rejected,
            RunError::Fs(_) => ErrorClass::Output,
            RunError::Runner(f) => f.class,
            RunError::BadWeights { .. }
            | RunError::BadCheckpoint { .. }
            | RunError::RunExists { .. }
            | RunError::SpecDiffers { .. } => ErrorClass::Rejected,
        }
    }
}

fn le_bytes(x: &[f32]) -> Vec<u8> {
    x.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The shape of a network projection's tensor: `[post, pre]`, or
/// `[copies, post, pre]` for a delay line.
fn group_shape(g: &Group) -> Vec<usize> {
    match g.members.len() {
        1 => vec![g.n_post, g.n_pre],
        d => vec![d, g.n_post, g.n_pre],
    }
}

/// Serialises named tensors (plus metadata) to safetensors bytes: one per
/// network projection (its copies concatenated), per prefix.
fn tensors_to_bytes(plan: &Plan, groups: &[(&str, &[Vec<f32>])], metadata: Option<HashMap<String, String>>) -> Vec<u8> {
    let mut owned = Vec::new();
    for (prefix, tensors) in groups {
        for g in &plan.groups {
            let bytes: Vec<u8> = tensors[g.members.clone()].iter().flat_map(|t| le_bytes(t)).collect();
            owned.push((format!("{prefix}{}", g.name), group_shape(g), bytes));
        }
    }
    let views: Vec<(String, TensorView<'_>)> = owned
        .iter()
        .map(|(n, shape, bytes)| (n.clone(), TensorView::new(Dtype::F32, shape.clone(), bytes).expect("sizes agree")))
        .collect();
    safetensors::serialize(views, metadata).expect("f32 tensors serialise")
}

/// Reads `<prefix><pre>-><post>` tensors for every network projection of
/// `plan`, split into one `[post][pre]` tensor per copy.
fn read_tensors(st: &SafeTensors<'_>, plan: &Plan, prefix: &str) -> Result<Vec<Vec<f32>>, String> {
    let mut out = Vec::with_capacity(plan.projections.len());
    for g in &plan.groups {
        let name = format!("{prefix}{}", g.name);
        let t = st.tensor(&name).map_err(|_| format!("no tensor named `{name}`"))?;
        if t.dtype() != Dtype::F32 {
            return Err(format!("tensor `{name}` is {:?}, expected F32", t.dtype()));
        }
        let want = group_shape(g);
        if t.shape() != want.as_slice() {
            return Err(format!("tensor `{name}` has shape {:?}, expected {want:?}", t.shape()));
        }
        let values: Vec<f32> = t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        out.extend(values.chunks(g.n_post * g.n_pre).map(<[f32]>::to_vec));
    }
    Ok(out)
}

/// A weights (or gradient) file: `[post, pre]` tensors named
/// `<pre>-><post>`, marked as snnc's in its metadata.
pub fn weights_bytes(plan: &Plan, weights: &[Vec<f32>]) -> Vec<u8> {
    let generator = HashMap::from([(SAFETENSORS_GENERATOR.0.to_string(), SAFETENSORS_GENERATOR.1.to_string())]);
    tensors_to_bytes(plan, &[("", weights)], Some(generator))
}

/// Reads a weights file for `plan`; every value must be finite.
pub fn read_weights(path: &Path, plan: &Plan) -> Result<Vec<Vec<f32>>, RunError> {
    let bad = |reason: String| RunError::BadWeights { path: path.to_path_buf(), reason };
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(format!("not a safetensors file: {e}")))?;
    let weights = read_tensors(&st, plan, "").map_err(bad)?;
    for (proj, w) in plan.projections.iter().zip(&weights) {
        if let Some(at) = w.iter().position(|x| !x.is_finite()) {
            let copy =
                if plan.groups[proj.group].members.len() > 1 { format!("{}, ", proj.copy) } else { String::new() };
            return Err(bad(format!(
                "tensor `{}` holds a non-finite value ({}) at [{copy}{}, {}]",
                proj.name,
                w[at],
                at / proj.n_pre,
                at % proj.n_pre
            )));
        }
    }
    Ok(weights)
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CheckpointMeta {
    format: String,
    seed: u32,
    epoch: u32,
    step: u64,
    /// The shuffle generator's state (numpy `RandomState`).
    rng: RngState,
    history: Vec<EpochMetrics>,
}

/// The checkpoint of `state` as safetensors bytes.
pub fn checkpoint_bytes(plan: &Plan, state: &TrainState) -> Vec<u8> {
    let meta = CheckpointMeta {
        format: FORMAT.to_string(),
        seed: state.seed,
        epoch: state.epoch,
        step: state.optimizer.step,
        rng: state.rng.state(),
        history: state.history.clone(),
    };
    let metadata = HashMap::from([("snnc".to_string(), serde_json::to_string(&meta).expect("plain data"))]);
    match &state.optimizer.state {
        OptState::Adam { m, v } => {
            tensors_to_bytes(plan, &[("weights/", &state.weights), ("adam.m/", m), ("adam.v/", v)], Some(metadata))
        }
        OptState::Sgd { momentum } => {
            tensors_to_bytes(plan, &[("weights/", &state.weights), ("sgd.momentum/", momentum)], Some(metadata))
        }
    }
}

/// Restores a [`TrainState`] from a checkpoint written for the same problem.
pub fn load_checkpoint(path: &Path, p: &Prepared) -> Result<TrainState, RunError> {
    let bad = |reason: String| RunError::BadCheckpoint { path: path.to_path_buf(), reason };
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(format!("not a safetensors file: {e}")))?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| bad(e.to_string()))?;
    let json = header.metadata().as_ref().and_then(|m| m.get("snnc")).ok_or_else(|| bad("no snnc metadata".into()))?;
    let meta: CheckpointMeta = serde_json::from_str(json).map_err(|e| bad(format!("bad metadata: {e}")))?;
    if meta.format != FORMAT {
        return Err(bad(format!("unknown format `{}`", meta.format)));
    }
    let rng = RandomState::from_state(&meta.rng).ok_or_else(|| bad("bad RNG state".into()))?;
    let weights = read_tensors(&st, &p.plan, "weights/").map_err(bad)?;
    let mut state = TrainState::new(p, meta.seed, Some(weights));
    state.optimizer.state = match state.optimizer.state {
        OptState::Adam { .. } => OptState::Adam {
            m: read_tensors(&st, &p.plan, "adam.m/").map_err(bad)?,
            v: read_tensors(&st, &p.plan, "adam.v/").map_err(bad)?,
        },
        OptState::Sgd { .. } => OptState::Sgd { momentum: read_tensors(&st, &p.plan, "sgd.momentum/").map_err(bad)? },
    };
    state.optimizer.step = meta.step;
    state.epoch = meta.epoch;
    state.rng = rng;
    state.history = meta.history;
    Ok(state)
}

/// What a finished run reports.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    pub epochs: u32,
    pub validation_accuracy: Option<f64>,
    pub test_accuracy: Option<f64>,
    /// Test accuracy counting every tie with the label as wrong.
    pub test_strict_accuracy: Option<f64>,
    /// Wall-clock seconds of every epoch of the run (resumed ones included)
    /// plus the final test evaluation.
    pub seconds: f64,
    /// Training points removed by the ambiguous-point filter.
    pub filtered_ambiguous: usize,
}

/// Progress reported to the caller (the CLI draws it).
pub enum Event<'a> {
    Batch {
        epoch: u32,
        done: usize,
        total: usize,
    },
    Epoch(&'a EpochMetrics),
    /// After the first epoch of a run and after its last: the spiking
    /// layers that fired no spike on any training sample (with the epoch's
    /// weights), by name. Nothing trains through such a layer.
    Silent {
        epoch: u32,
        layers: Vec<String>,
        samples: usize,
    },
}

/// A number, or nothing for an absent value (a split the data set lacks).
fn csv_opt(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| format!("{v}"))
}

fn metrics_csv(history: &[EpochMetrics]) -> String {
    let mut s = String::from("epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,seconds,lr\n");
    for m in history {
        s += &format!(
            "{},{},{},{},{},{},{}\n",
            m.epoch,
            m.train_loss,
            m.train_accuracy,
            csv_opt(m.validation_loss),
            csv_opt(m.validation_accuracy),
            m.seconds,
            m.lr
        );
    }
    s
}

fn metrics_json(name: &str, seed: u32, history: &[EpochMetrics], summary: Option<&Summary>) -> String {
    let v = serde_json::json!({
        "spec": name,
        "seed": seed,
        "epochs": history,
        "summary": summary,
    });
    serde_json::to_string_pretty(&v).expect("plain data") + "\n"
}

/// The summary a finished run stored in its `metrics.json`, if any.
pub fn stored_summary(dir: &Path) -> Option<Summary> {
    let text = std::fs::read_to_string(dir.join(METRICS_JSON)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    serde_json::from_value(v.get("summary")?.clone()).ok()
}

/// A run directory, open and locked for writing (see the module doc).
#[derive(Debug)]
pub struct RunDir {
    out: OutputDir,
}

impl RunDir {
    /// A fresh run in `dir` (created when missing): refused when it holds
    /// another run (`resume` says how to continue that one) or files snnc
    /// did not write (unless `force`, which also starts over a finished
    /// run), or is one of `inputs`.
    pub fn create(dir: &Path, inputs: &[&Path], force: bool, resume: &str) -> Result<RunDir, RunError> {
        let out = OutputDir::open(dir, RUN_FILES, inputs, force)?;
        if !force && (out.wrote(CHECKPOINT) || dir.join(CHECKPOINT).exists()) {
            return Err(RunError::RunExists { path: dir.to_path_buf(), resume: resume.to_string() });
        }
        Ok(RunDir { out })
    }

    /// A fresh run in a new directory `<base>/<name>-<stamp>`, or, when a
    /// run started in the same second took that name, `-2`, `-3`, ...:
    /// creating the directory claims the name atomically.
    pub fn create_unique(base: &Path, name: &str, stamp: &str) -> Result<RunDir, RunError> {
        for n in 1u32.. {
            let dir = match n {
                1 => base.join(format!("{name}-{stamp}")),
                n => base.join(format!("{name}-{stamp}-{n}")),
            };
            match OutputDir::create_new(&dir) {
                Ok(out) => return Ok(RunDir { out: out? }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(FsError::Write { path: dir, reason: e.to_string() }.into()),
            }
        }
        unreachable!("u32 names run out only after 4 billion runs in one second")
    }

    /// An existing run to continue: it must hold a checkpoint.
    pub fn resume(dir: &Path) -> Result<RunDir, RunError> {
        if !dir.join(CHECKPOINT).is_file() {
            let reason = if dir.join(SPEC).is_file() {
                "it holds no checkpoint (a run of an older snnc stopped before its first epoch ended): start it again with `--out`"
            } else {
                "it was not written by `snnc train` (no spec.snn and no checkpoint)"
            };
            return Err(RunError::BadCheckpoint {
                path: dir.to_path_buf(),
                reason: format!("cannot resume: {reason}"),
            });
        }
        Ok(RunDir { out: OutputDir::open(dir, &[], &[], false)? })
    }

    pub fn path(&self) -> &Path {
        &self.out.path
    }

    /// Starts a fresh run: the spec, the initial weights and an epoch-0
    /// checkpoint, so that even a run stopped in its first epoch resumes.
    pub fn start(&mut self, plan: &Plan, spec_text: &str, state: &TrainState) -> Result<(), RunError> {
        self.out.write(SPEC, spec_text.as_bytes())?;
        self.out.write(CHECKPOINT, &checkpoint_bytes(plan, state))?;
        self.out.write(WEIGHTS, &weights_bytes(plan, &state.weights))?;
        Ok(())
    }

    /// Writes every per-epoch file of the run directory.
    fn write_epoch_files(&mut self, p: &Prepared, state: &TrainState, name: &str) -> Result<(), RunError> {
        self.out.write(CHECKPOINT, &checkpoint_bytes(&p.plan, state))?;
        self.out.write(WEIGHTS, &weights_bytes(&p.plan, &state.weights))?;
        self.out.write(METRICS_CSV, metrics_csv(&state.history).as_bytes())?;
        self.out.write(METRICS_JSON, metrics_json(name, state.seed, &state.history, None).as_bytes())?;
        self.out.write(CURVES, super::svg::curves(name, &state.history, None).as_bytes())?;
        Ok(())
    }
}

/// What computes epochs and the final test evaluation: the reference
/// trainer ([`Reference`]) or the emulator (`crate::emu::train::EmuRunner`).
pub trait EpochRunner {
    fn epoch(
        &mut self,
        p: &Prepared,
        state: &mut TrainState,
        on_batch: &mut dyn FnMut(usize, usize),
    ) -> Result<EpochMetrics, RunError>;
    fn test(&mut self, p: &Prepared, weights: &[Vec<f32>], data: &Encoded) -> Result<Evaluation, RunError>;
}

/// The reference trainer as an [`EpochRunner`].
pub struct Reference;

impl EpochRunner for Reference {
    fn epoch(
        &mut self,
        p: &Prepared,
        state: &mut TrainState,
        on_batch: &mut dyn FnMut(usize, usize),
    ) -> Result<EpochMetrics, RunError> {
        Ok(run_epoch(p, state, on_batch)?)
    }
    fn test(&mut self, p: &Prepared, weights: &[Vec<f32>], data: &Encoded) -> Result<Evaluation, RunError> {
        Ok(evaluate(&p.plan, weights, data))
    }
}

/// Trains `state` up to `epochs` completed epochs with the reference
/// trainer, writing the run directory after every epoch, then evaluates on
/// the test split.
pub fn train_in_dir(
    p: &Prepared,
    state: &mut TrainState,
    dir: &mut RunDir,
    name: &str,
    epochs: u32,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Summary, RunError> {
    train_in_dir_with(p, state, dir, name, epochs, &mut Reference, on_event)
}

/// The `lif` layers that fire no spike on any training sample at `weights`
/// (the reference's forward pass, which every backend equals bit for bit).
fn silent_layers(p: &Prepared, weights: &[Vec<f32>]) -> Vec<String> {
    let counts = super::batch::spike_counts(&p.plan, weights, &p.train);
    p.plan
        .layers
        .iter()
        .zip(counts)
        .filter(|(l, c)| l.kind == super::plan::LayerKind::Lif && *c == 0)
        .map(|(l, _)| l.name.clone())
        .collect()
}

/// As [`train_in_dir`], with epochs and the test evaluation by `runner`.
pub fn train_in_dir_with(
    p: &Prepared,
    state: &mut TrainState,
    dir: &mut RunDir,
    name: &str,
    epochs: u32,
    runner: &mut dyn EpochRunner,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Summary, RunError> {
    let first = state.epoch + 1;
    while state.epoch < epochs {
        let epoch = state.epoch + 1;
        let mut next = state.clone();
        let m = runner.epoch(p, &mut next, &mut |done, total| on_event(Event::Batch { epoch, done, total }))?;
        *state = next;
        dir.write_epoch_files(p, state, name)?;
        on_event(Event::Epoch(&m));
        if epoch == first || epoch == epochs {
            let layers = silent_layers(p, &state.weights);
            if !layers.is_empty() {
                on_event(Event::Silent { epoch, layers, samples: p.train.len() });
            }
        }
    }
    let start = Instant::now();
    let test = match &p.test {
        Some(t) => Some(runner.test(p, &state.weights, t)?),
        None => None,
    };
    let trained: f64 = state.history.iter().map(|m| m.seconds).sum();
    let summary = Summary {
        epochs: state.epoch,
        validation_accuracy: state.history.last().and_then(|m| m.validation_accuracy),
        test_accuracy: test.map(|e| e.accuracy),
        test_strict_accuracy: test.map(|e| e.strict_accuracy),
        seconds: trained + start.elapsed().as_secs_f64(),
        filtered_ambiguous: p.filtered,
    };
    dir.out.write(METRICS_JSON, metrics_json(name, state.seed, &state.history, Some(&summary)).as_bytes())?;
    dir.out.write(CURVES, super::svg::curves(name, &state.history, summary.test_accuracy).as_bytes())?;
    Ok(summary)
}
