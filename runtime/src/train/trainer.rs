//! The training loop: epochs of shuffled batches, optimiser steps, metrics.
//!
//! Input: a [`Prepared`] problem (plan + encoded splits, from [`prepare`]) and
//! a [`TrainState`] (fresh from [`TrainState::new`] or loaded from a
//! checkpoint). Output: the state after one more epoch and its
//! [`EpochMetrics`], or a [`TrainError`].
//!
//! Per epoch: the permutation `0..n` is shuffled by the state's RNG
//! (Fisher-Yates), cut into `n / batch` batches (the last incomplete batch is
//! dropped); each batch is one [`batch_gradient_t`] and one optimiser step.
//! Invariants: the state after an epoch is a pure function of the state
//! before it (so resuming from a checkpoint is bit-identical); a non-finite
//! loss, gradient or weight stops the epoch with an error naming the epoch,
//! batch and projection, leaving the caller's last checkpoint untouched.

use std::borrow::Cow;
use std::path::Path;
use std::time::Instant;

use snnc_compiler::ErrorClass;
use snnc_compiler::network::{Augment, DataSpec, Encoding, TrainSpec, ValidNetwork};

use super::batch::{Evaluation, batch_gradient_t, evaluate};
use super::eventprop::transpose;
use super::init::init_weights;
use super::optim::Optimizer;
use super::plan::{Plan, PlanError};
use crate::data::encode::{Encoded, encode, unambiguous};
use crate::data::events::{BinStats, Binning, EventSplits, RawEvents, bin, load_files};
use crate::data::{DataError, augment, order, shd_like, source};
use crate::rng::RandomState;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum TrainError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plan(#[from] PlanError),
    #[error("the network has no `train` block")]
    #[diagnostic(
        code(snn::train::no_train_block),
        help("add a `train {{ ... }}` block naming the data, readout and loss")
    )]
    NoTrainBlock,
    #[error("the training split has {samples} samples, fewer than one batch of {batch}")]
    #[diagnostic(code(snn::train::too_few_samples), help("lower `batch` or add data"))]
    TooFewSamples { samples: usize, batch: usize },
    #[error("training diverged: {what} is not finite at epoch {epoch}, batch {batch}")]
    #[diagnostic(
        code(snn::train::not_finite),
        help("lower the learning rate or change the initialisation; the last good checkpoint is kept")
    )]
    NotFinite { epoch: u32, batch: usize, what: String },
    #[error("training this spec needs about {estimate} of memory, more than the {limit} available")]
    #[diagnostic(
        code(snn::train::too_large),
        help(
            "{what}; make the data splits or the network smaller (set SNNC_MEMORY_LIMIT=<bytes> to change the limit)"
        )
    )]
    TooLarge { estimate: ByteSize, limit: ByteSize, what: String },
}

impl TrainError {
    pub fn class(&self) -> ErrorClass {
        match self {
            TrainError::NotFinite { .. } => ErrorClass::Diverged,
            TrainError::Plan(PlanError::SpikeSources(_)) => ErrorClass::NotYetSupported,
            _ => ErrorClass::Rejected,
        }
    }
}

/// A number of bytes, shown in KiB, MiB, GiB or TiB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl std::fmt::Display for ByteSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        let mut v = self.0 as f64;
        let mut u = 0;
        while v >= 1024.0 && u + 1 < units.len() {
            v /= 1024.0;
            u += 1;
        }
        if u == 0 { write!(f, "{} bytes", self.0) } else { write!(f, "{v:.1} {}", units[u]) }
    }
}

/// Bytes per event while event data loads and trains: the file's
/// per-sample arrays (times `f64`, units), the flat copy, the binned key;
/// with augmentation the raw events stay and each epoch copies them.
const EVENT_BYTES: u64 = 32;
/// Bytes per event in an uncompressed event file (float16 time, uint16 unit).
const FILE_BYTES_PER_EVENT: u64 = 4;

/// The memory a training run of `net` needs, estimated before anything is
/// allocated: the data (features as `f64` and their encoded spike steps,
/// per split; a CSV file by its size; event files by their size, about 4
/// bytes per event, 32 bytes per event held) and the model (weights,
/// per-thread gradients, optimiser state), with what dominates it.
pub fn memory_estimate(net: &ValidNetwork, base_dir: &Path) -> (u64, String) {
    let Some(t) = &net.train else { return (0, String::new()) };
    let inputs: u64 = net.populations().filter_map(|(_, p)| p.spike_source().map(|_| u64::from(p.size))).sum();
    let features = u64::from(t.data.feature_count());
    let per_sample = 8 * features + 4 * inputs + 4;
    let total = |splits: &[snnc_compiler::network::SplitSpec; 3], events: f64| -> u64 {
        let n: u64 = splits.iter().map(|s| u64::from(s.size)).sum();
        (n as f64 * events) as u64 * EVENT_BYTES
    };
    let data = match &t.data {
        DataSpec::EventFiles { .. } => {
            let bytes: u64 = crate::data::events::files(&t.data, base_dir)
                .iter()
                .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
                .sum();
            (bytes / FILE_BYTES_PER_EVENT).saturating_mul(EVENT_BYTES)
        }
        DataSpec::ShdLike { splits, channels, .. } => {
            total(splits, 1.05 * shd_like::SPIKES_PER_SAMPLE * f64::from(*channels) / 700.0)
        }
        DataSpec::Order(o) => total(&o.splits, f64::from(o.channels) * (1.0 + o.noise * o.duration)),
        DataSpec::YinYang { train, validation, test } | DataSpec::Synthetic { train, validation, test, .. } => {
            [train, validation, test].iter().map(|s| u64::from(s.size).saturating_mul(per_sample)).sum()
        }
        DataSpec::Csv { train, validation, test, .. } => {
            // A CSV cell takes at least two bytes of text ("0,"): at most
            // `size / 2` numbers, each held as 8 + 4 bytes.
            let size = |p: &String| std::fs::metadata(base_dir.join(p)).map_or(0, |m| m.len());
            let bytes: u64 = size(train) + validation.as_ref().map_or(0, size) + test.as_ref().map_or(0, size);
            bytes.saturating_mul(6)
        }
    };
    // Weights, their transpose, two threads' gradients, the batch sum and
    // two optimiser moments.
    let model = net.trainable_parameters().saturating_mul(4 * 7);
    let what = if data >= model {
        format!("the data set takes about {}", ByteSize(data))
    } else {
        format!("the {} trainable weights take about {}", net.trainable_parameters(), ByteSize(model))
    };
    (data.saturating_add(model), what)
}

/// The memory training may use: `SNNC_MEMORY_LIMIT` (bytes) when set, else
/// what the system reports available (`MemAvailable`), else no limit.
pub fn memory_limit() -> Option<u64> {
    if let Ok(v) = std::env::var("SNNC_MEMORY_LIMIT") {
        return v.trim().parse().ok();
    }
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 =
        info.lines().find_map(|l| l.strip_prefix("MemAvailable:"))?.split_whitespace().next()?.parse().ok()?;
    Some(kib * 1024)
}

/// Everything a training run reads and never changes.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub plan: Plan,
    pub train_spec: TrainSpec,
    /// The training samples (event data: without augmentation).
    pub train: Encoded,
    pub validation: Option<Encoded>,
    pub test: Option<Encoded>,
    /// Training points removed by the ambiguous-point filter.
    pub filtered: usize,
    /// What loading the data reports (event data: one line per split, with
    /// the events binning dropped and merged).
    pub data_notes: Vec<String>,
    /// Event data with augmentation: the raw training events each epoch
    /// augments and bins anew.
    pub augmenter: Option<Augmenter>,
}

/// The augmentation of a run's training events.
#[derive(Clone, Debug)]
pub struct Augmenter {
    pub raw: RawEvents,
    pub list: Vec<Augment>,
    pub binning: Binning,
    pub size: usize,
}

impl Augmenter {
    /// Training samples per epoch (the originals and the blended ones).
    pub fn samples(&self) -> usize {
        let blended = self.list.iter().find_map(|a| match a {
            Augment::Blend { p, .. } => Some((p * self.raw.len() as f64).round_ties_even() as usize),
            _ => None,
        });
        self.raw.len() + blended.unwrap_or(0)
    }

    /// Epoch `epoch`'s (1-based) training samples of a run seeded `seed`.
    pub fn epoch(&self, seed: u32, epoch: u32) -> (Encoded, BinStats) {
        let (raw, dropped) = augment::augment(&self.raw, &self.list, self.binning.channels, seed, epoch);
        let (enc, mut stats) = bin(&raw, &self.binning, self.size);
        stats.off_channels += dropped;
        (enc, stats)
    }
}

impl Prepared {
    /// Training samples per epoch.
    pub fn train_len(&self) -> usize {
        self.augmenter.as_ref().map_or(self.train.len(), Augmenter::samples)
    }

    /// The training samples of epoch `epoch` (1-based) of a run seeded
    /// `seed`: the data itself, or its augmentation for that epoch.
    pub fn epoch_train(&self, seed: u32, epoch: u32) -> Cow<'_, Encoded> {
        match &self.augmenter {
            None => Cow::Borrowed(&self.train),
            Some(a) => Cow::Owned(a.epoch(seed, epoch).0),
        }
    }
}

/// The event splits of an event data spec, loaded or generated.
fn event_splits(spec: &DataSpec, base_dir: &Path, pool: u32) -> Result<EventSplits, DataError> {
    Ok(match spec {
        DataSpec::EventFiles { .. } => load_files(spec, base_dir, pool)?,
        DataSpec::ShdLike { classes, channels, splits, duration, seed } => {
            shd_like::ShdLike::new(*classes, *channels, *duration, *seed).splits(*splits)
        }
        DataSpec::Order(task) => order::splits(task),
        _ => unreachable!("event_splits is called for event data only"),
    })
}

/// Loads, bins and reports event data; keeps the raw training events when
/// the spec augments them.
fn prepare_events(plan: &Plan, train_spec: &TrainSpec, base_dir: &Path) -> Result<Prepared, TrainError> {
    let Encoding::Events(enc) = &plan.input.encoding else {
        unreachable!("the checker pairs event data with an events encoding")
    };
    let splits = event_splits(&train_spec.data, base_dir, enc.pool)?;
    let binning = Binning::new(&plan.input, enc, plan.inputs as u32, plan.grid, splits.channels);
    let size = plan.inputs;
    let mut notes = Vec::new();
    let mut binned = |name: &str, raw: &RawEvents| {
        let (e, stats) = bin(raw, &binning, size);
        notes.push(stats.line(name, binning.window, binning.dt));
        e
    };
    let train = binned("train", &splits.train);
    let validation = splits.validation.as_ref().filter(|s| !s.is_empty()).map(|v| binned("validation", v));
    let test = splits.test.as_ref().filter(|s| !s.is_empty()).map(|t| binned("test", t));
    let augmenter = (!train_spec.augment.is_empty()).then(|| Augmenter {
        raw: splits.train,
        list: train_spec.augment.clone(),
        binning,
        size,
    });
    if let Some(a) = &augmenter {
        notes.push(format!(
            "augment: {} every epoch ({} training samples per epoch)",
            snnc_compiler::network::augment_summary(&a.list),
            a.samples()
        ));
    }
    Ok(Prepared {
        plan: plan.clone(),
        train_spec: train_spec.clone(),
        train,
        validation,
        test,
        filtered: 0,
        data_notes: notes,
        augmenter,
    })
}

/// Loads the data of `net`'s `train` block (CSV and event-file paths
/// relative to `base_dir`), encodes it (latency codes) or bins it (event
/// data) and applies the ambiguous-point filter.
pub fn prepare(net: &ValidNetwork, base_dir: &Path) -> Result<Prepared, TrainError> {
    let train_spec = net.train.clone().ok_or(TrainError::NoTrainBlock)?;
    let plan = Plan::new(net)?;
    let (estimate, what) = memory_estimate(net, base_dir);
    if let Some(limit) = memory_limit().filter(|&l| estimate > l) {
        return Err(TrainError::TooLarge { estimate: ByteSize(estimate), limit: ByteSize(limit), what });
    }
    if train_spec.data.is_events() {
        let mut p = prepare_events(&plan, &train_spec, base_dir)?;
        if train_spec.filter_ambiguous {
            let (keep, removed) = unambiguous(&p.train);
            p.train = p.train.select(&keep);
            p.filtered = removed;
            if let Some(a) = &mut p.augmenter {
                a.raw = a.raw.select(&keep);
            }
        }
        if p.train_len() < train_spec.batch as usize {
            return Err(TrainError::TooFewSamples { samples: p.train_len(), batch: train_spec.batch as usize });
        }
        return Ok(p);
    }
    let splits = source(&train_spec.data, base_dir).load()?;
    let enc = |s: &crate::data::Split| encode(s, &plan.input, plan.inputs as u32, plan.grid);
    let mut train = enc(&splits.train);
    let mut filtered = 0;
    if train_spec.filter_ambiguous {
        let (keep, removed) = unambiguous(&train);
        train = train.select(&keep);
        filtered = removed;
    }
    if train.len() < train_spec.batch as usize {
        return Err(TrainError::TooFewSamples { samples: train.len(), batch: train_spec.batch as usize });
    }
    // An empty split is no split: its accuracy is absent, not 0 %.
    let non_empty = |s: &Option<crate::data::Split>| s.as_ref().filter(|s| !s.is_empty()).map(enc);
    Ok(Prepared {
        validation: non_empty(&splits.validation),
        test: non_empty(&splits.test),
        plan,
        train_spec,
        train,
        filtered,
        data_notes: Vec::new(),
        augmenter: None,
    })
}

/// One epoch's numbers.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochMetrics {
    /// 1-based.
    pub epoch: u32,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub validation_loss: Option<f64>,
    pub validation_accuracy: Option<f64>,
    pub seconds: f64,
    /// Learning rate at the end of the epoch.
    pub lr: f64,
}

/// All that changes during training; what a checkpoint stores.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainState {
    pub seed: u32,
    /// Completed epochs.
    pub epoch: u32,
    pub weights: Vec<Vec<f32>>,
    pub optimizer: Optimizer,
    /// The shuffle's generator: a second `RandomState(seed)`, one
    /// `permutation(n)` per epoch.
    pub rng: RandomState,
    pub history: Vec<EpochMetrics>,
}

impl TrainState {
    /// A fresh state: weights from the initialisers (or given), seeded RNGs.
    pub fn new(p: &Prepared, seed: u32, weights: Option<Vec<Vec<f32>>>) -> TrainState {
        let weights = weights.unwrap_or_else(|| init_weights(&p.plan, seed));
        let shapes: Vec<usize> = weights.iter().map(Vec::len).collect();
        let bpe = p.train_len() / p.train_spec.batch as usize;
        TrainState {
            seed,
            epoch: 0,
            optimizer: Optimizer::new(p.train_spec.optimizer, p.train_spec.schedule, bpe, &shapes),
            weights,
            rng: RandomState::new(seed),
            history: Vec::new(),
        }
    }
}

fn check_finite(tensors: &[Vec<f32>], p: &Prepared, kind: &str, epoch: u32, batch: usize) -> Result<(), TrainError> {
    for (t, proj) in tensors.iter().zip(&p.plan.projections) {
        if t.iter().any(|x| !x.is_finite()) {
            return Err(TrainError::NotFinite {
                epoch,
                batch,
                what: format!("the {kind} of projection {}", proj.name),
            });
        }
    }
    Ok(())
}

/// Loss and accuracy counts of one epoch's training batches.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchTotals {
    pub loss_sum: f64,
    pub correct: usize,
    pub samples: usize,
}

/// The training part of an epoch (shuffle, batches, optimiser steps), without
/// validation; `on_batch(done, total)` is called after each batch.
pub fn train_batches(
    p: &Prepared,
    state: &mut TrainState,
    on_batch: &mut dyn FnMut(usize, usize),
) -> Result<BatchTotals, TrainError> {
    let epoch = state.epoch + 1;
    let batch = p.train_spec.batch as usize;
    let data = p.epoch_train(state.seed, epoch);
    let order = state.rng.permutation(data.len());
    let batches = order.len() / batch;
    let mut totals = BatchTotals { loss_sum: 0.0, correct: 0, samples: batches * batch };
    for (b, idx) in order.chunks_exact(batch).enumerate() {
        let wt = transpose(&p.plan, &state.weights);
        let out = batch_gradient_t(&p.plan, &wt, &data, idx);
        if !out.loss_sum.is_finite() {
            let readout = p.plan.readout.as_ref().map_or("", |(r, _)| p.plan.layers[*r].name.as_str()).to_string();
            return Err(TrainError::NotFinite { epoch, batch: b + 1, what: format!("the loss of readout {readout}") });
        }
        check_finite(&out.grad, p, "gradient", epoch, b + 1)?;
        state.optimizer.apply(&mut state.weights, &out.grad);
        check_finite(&state.weights, p, "weights", epoch, b + 1)?;
        totals.loss_sum += f64::from(out.loss_sum);
        totals.correct += out.correct;
        on_batch(b + 1, batches);
    }
    Ok(totals)
}

/// Runs one epoch on `state` (training batches, then validation).
pub fn run_epoch(
    p: &Prepared,
    state: &mut TrainState,
    on_batch: &mut dyn FnMut(usize, usize),
) -> Result<EpochMetrics, TrainError> {
    let start = Instant::now();
    let totals = train_batches(p, state, on_batch)?;
    let val: Option<Evaluation> = p.validation.as_ref().map(|v| evaluate(&p.plan, &state.weights, v));
    let n = totals.samples as f64;
    let m = EpochMetrics {
        epoch: state.epoch + 1,
        train_loss: totals.loss_sum / n,
        train_accuracy: totals.correct as f64 / n,
        validation_loss: val.map(|v| f64::from(v.loss)),
        validation_accuracy: val.map(|v| v.accuracy),
        seconds: start.elapsed().as_secs_f64(),
        lr: state.optimizer.lr(),
    };
    state.epoch += 1;
    state.history.push(m.clone());
    Ok(m)
}
