//! Run directories: the files a training run leaves behind, and checkpoints.
//!
//! Input: a [`Prepared`] problem, a [`TrainState`], a directory. Output, in
//! the directory: `spec.snn` (the exact input), `weights.safetensors` (one
//! `f32` tensor per projection named `<pre>-><post>`, shape `[post, pre]`),
//! `metrics.csv`, `metrics.json`, `curves.svg`, and `checkpoint.safetensors`
//! (weights, optimiser state, RNG state, epoch, history).
//!
//! Invariants: every file is written atomically (a temporary file in the same
//! directory, then a rename), after every epoch, so an interrupted run leaves
//! the last complete epoch on disk; resuming from `checkpoint.safetensors`
//! continues bit-identically ([`load_checkpoint`] restores every bit of the
//! state).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use super::batch::{Evaluation, evaluate};
use super::optim::OptState;
use super::plan::Plan;
use super::trainer::{EpochMetrics, Prepared, TrainError, TrainState, run_epoch};
use crate::data::encode::Encoded;
use crate::rng::{RandomState, RngState};

pub const CHECKPOINT: &str = "checkpoint.safetensors";
pub const WEIGHTS: &str = "weights.safetensors";
const FORMAT: &str = "snnc-checkpoint-2";

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RunError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Train(#[from] TrainError),
    #[error("cannot write {path}: {reason}")]
    #[diagnostic(code(snn::train::io))]
    Io { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    #[diagnostic(
        code(snn::train::bad_weights),
        help("a weights file holds one f32 tensor per projection, named `<pre>-><post>`, shape [post, pre]")
    )]
    BadWeights { path: PathBuf, reason: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Emulator(#[from] crate::emu::EmuError),
    #[error("{path}: {reason}")]
    #[diagnostic(
        code(snn::train::bad_checkpoint),
        help("resume from a run directory written by `snnc train` for this spec")
    )]
    BadCheckpoint { path: PathBuf, reason: String },
}

/// Writes `bytes` to `path` atomically (temporary file + rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    let io = |e: std::io::Error| RunError::Io { path: path.to_path_buf(), reason: e.to_string() };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

fn le_bytes(x: &[f32]) -> Vec<u8> {
    x.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Serialises named `[post, pre]` tensors (plus metadata) to safetensors bytes.
fn tensors_to_bytes(plan: &Plan, groups: &[(&str, &[Vec<f32>])], metadata: Option<HashMap<String, String>>) -> Vec<u8> {
    let mut owned = Vec::new();
    for (prefix, tensors) in groups {
        for (proj, t) in plan.projections.iter().zip(tensors.iter()) {
            owned.push((format!("{prefix}{}", proj.name), vec![proj.n_post, proj.n_pre], le_bytes(t)));
        }
    }
    let views: Vec<(String, TensorView<'_>)> = owned
        .iter()
        .map(|(n, shape, bytes)| (n.clone(), TensorView::new(Dtype::F32, shape.clone(), bytes).expect("sizes agree")))
        .collect();
    safetensors::serialize(views, metadata).expect("f32 tensors serialise")
}

/// Reads `<prefix><pre>-><post>` tensors for every projection of `plan`.
fn read_tensors(st: &SafeTensors<'_>, plan: &Plan, prefix: &str) -> Result<Vec<Vec<f32>>, String> {
    plan.projections
        .iter()
        .map(|proj| {
            let name = format!("{prefix}{}", proj.name);
            let t = st.tensor(&name).map_err(|_| format!("no tensor named `{name}`"))?;
            if t.dtype() != Dtype::F32 {
                return Err(format!("tensor `{name}` is {:?}, expected F32", t.dtype()));
            }
            if t.shape() != [proj.n_post, proj.n_pre] {
                return Err(format!(
                    "tensor `{name}` has shape {:?}, expected [{}, {}]",
                    t.shape(),
                    proj.n_post,
                    proj.n_pre
                ));
            }
            Ok(t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
        })
        .collect()
}

/// The weights file of a run (`[post, pre]` tensors named `<pre>-><post>`).
pub fn weights_bytes(plan: &Plan, weights: &[Vec<f32>]) -> Vec<u8> {
    tensors_to_bytes(plan, &[("", weights)], None)
}

/// Reads a weights file for `plan`.
pub fn read_weights(path: &Path, plan: &Plan) -> Result<Vec<Vec<f32>>, RunError> {
    let bad = |reason: String| RunError::BadWeights { path: path.to_path_buf(), reason };
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read: {e}")))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(format!("not a safetensors file: {e}")))?;
    read_tensors(&st, plan, "").map_err(bad)
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
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Summary {
    pub epochs: u32,
    pub validation_accuracy: Option<f64>,
    pub test_accuracy: Option<f64>,
    /// Test accuracy counting every tie with the label as wrong.
    pub test_strict_accuracy: Option<f64>,
    /// Wall-clock seconds of this invocation's epochs plus evaluation.
    pub seconds: f64,
    /// Training points removed by the ambiguous-point filter.
    pub filtered_ambiguous: usize,
}

/// Progress reported to the caller (the CLI draws it).
pub enum Event<'a> {
    Batch { epoch: u32, done: usize, total: usize },
    Epoch(&'a EpochMetrics),
}

fn metrics_csv(history: &[EpochMetrics]) -> String {
    let opt = |x: Option<f64>| x.map_or(String::new(), |v| format!("{v}"));
    let mut s = String::from("epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,seconds,lr\n");
    for m in history {
        s += &format!(
            "{},{},{},{},{},{},{}\n",
            m.epoch,
            m.train_loss,
            m.train_accuracy,
            opt(m.validation_loss),
            opt(m.validation_accuracy),
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

/// Writes every per-epoch file of the run directory.
fn write_epoch_files(dir: &Path, p: &Prepared, state: &TrainState, name: &str) -> Result<(), RunError> {
    write_atomic(&dir.join(CHECKPOINT), &checkpoint_bytes(&p.plan, state))?;
    write_atomic(&dir.join(WEIGHTS), &weights_bytes(&p.plan, &state.weights))?;
    write_atomic(&dir.join("metrics.csv"), metrics_csv(&state.history).as_bytes())?;
    write_atomic(&dir.join("metrics.json"), metrics_json(name, state.seed, &state.history, None).as_bytes())?;
    write_atomic(&dir.join("curves.svg"), super::svg::curves(name, &state.history, None).as_bytes())?;
    Ok(())
}

/// Creates the run directory and writes `spec.snn` (a fresh run).
pub fn create_run_dir(dir: &Path, spec_text: &str) -> Result<(), RunError> {
    std::fs::create_dir_all(dir).map_err(|e| RunError::Io { path: dir.to_path_buf(), reason: e.to_string() })?;
    write_atomic(&dir.join("spec.snn"), spec_text.as_bytes())
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

/// Trains `state` up to `epochs` completed epochs, writing the run directory
/// after every epoch, then evaluates on the test split.
pub fn train_in_dir(
    p: &Prepared,
    state: &mut TrainState,
    dir: &Path,
    name: &str,
    epochs: u32,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Summary, RunError> {
    train_in_dir_with(p, state, dir, name, epochs, &mut Reference, on_event)
}

/// As [`train_in_dir`], with epochs and the test evaluation by `runner`.
pub fn train_in_dir_with(
    p: &Prepared,
    state: &mut TrainState,
    dir: &Path,
    name: &str,
    epochs: u32,
    runner: &mut dyn EpochRunner,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Summary, RunError> {
    let start = Instant::now();
    while state.epoch < epochs {
        let epoch = state.epoch + 1;
        let mut next = state.clone();
        let m = runner.epoch(p, &mut next, &mut |done, total| on_event(Event::Batch { epoch, done, total }))?;
        *state = next;
        write_epoch_files(dir, p, state, name)?;
        on_event(Event::Epoch(&m));
    }
    let test = match &p.test {
        Some(t) => Some(runner.test(p, &state.weights, t)?),
        None => None,
    };
    let summary = Summary {
        epochs: state.epoch,
        validation_accuracy: state.history.last().and_then(|m| m.validation_accuracy),
        test_accuracy: test.map(|e| e.accuracy),
        test_strict_accuracy: test.map(|e| e.strict_accuracy),
        seconds: start.elapsed().as_secs_f64(),
        filtered_ambiguous: p.filtered,
    };
    write_atomic(&dir.join("metrics.json"), metrics_json(name, state.seed, &state.history, Some(&summary)).as_bytes())?;
    let curves = super::svg::curves(name, &state.history, summary.test_accuracy);
    write_atomic(&dir.join("curves.svg"), curves.as_bytes())?;
    Ok(summary)
}
