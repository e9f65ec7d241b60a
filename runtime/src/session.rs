//! A training session: a checked network, its data, a run directory and a
//! backend (the reference trainer or the emulator), as one library call
//! behind `snnc train`, `snnc run` and `snnc grad`.
//!
//! Input: a [`SessionSpec`] (the network, its source text, where its data
//! lives, the run directory to create or resume, the backend and the
//! overrides). Output: a [`Session`] that trains up to its epochs and
//! reports a [`Summary`]; its events (batches, epochs) go to a callback, so
//! the caller draws progress.
//!
//! Invariants: everything that can be refused (the spec, the data, the
//! weights, what the emulator cannot run, the run directory) is refused
//! before the run directory is touched; a resumed run continues
//! bit-identically (the checkpoint's state, the emulator's optimiser PEs
//! written back from it).

use std::path::{Path, PathBuf};

use snnc_compiler::ValidNetwork;
use snnc_compiler::ir::program::buffers;
use snnc_compiler::network::Mapping;

use crate::data::encode::Encoded;
use crate::emu::counters::RunReport;
use crate::emu::train::{EmuRunner, write_optimiser_state};
use crate::emu::{Emulator, SampleInput};
use crate::pipeline::{PipelineError, emulator};
use crate::train::batch::batch_gradient;
use crate::train::eventprop::untranspose;
use crate::train::run::{
    CHECKPOINT, Event, Reference, RunDir, RunError, RunnerFailure, Summary, load_checkpoint, read_weights,
    stored_summary, train_in_dir_with,
};
use crate::train::trainer::{Prepared, TrainError, TrainState, prepare};

/// Which implementation trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The dense EventProp reference trainer on the host.
    Reference,
    /// The SpiNNaker2 emulator: the lowered per-PE kernels, JIT-compiled,
    /// every packet routed.
    Emulator,
}

/// Where a session's run directory is.
#[derive(Clone, Debug)]
pub enum RunTarget {
    /// A new directory `<base>/<name>-<stamp>[-n]`, never another run's.
    Unique { base: PathBuf, stamp: String },
    /// This directory (created when missing).
    Dir(PathBuf),
    /// Continue the run in this directory.
    Resume(PathBuf),
}

/// Everything a session starts from.
#[derive(Clone, Debug)]
pub struct SessionSpec<'a> {
    pub net: &'a ValidNetwork,
    /// The exact spec text (stored in the run directory).
    pub spec_text: &'a str,
    /// The spec file (an input no output may replace).
    pub spec_path: &'a Path,
    /// The folder data paths are relative to.
    pub data_dir: &'a Path,
    pub backend: Backend,
    pub target: RunTarget,
    /// Epochs to complete (default: the spec's).
    pub epochs: Option<u32>,
    /// Overrides the spec's seed (fresh runs only).
    pub seed: Option<u32>,
    /// Starting weights (fresh runs only).
    pub init_weights: Option<&'a Path>,
    /// Start a fresh run even over files snnc did not write or another run.
    pub force: bool,
    /// What the "already holds a run" error suggests.
    pub resume_hint: &'a str,
}

/// A session's backend, ready to run epochs.
enum Runner {
    Reference,
    Emulator(Box<Emulator>),
}

/// An open training session.
pub struct Session {
    pub prepared: Prepared,
    pub state: TrainState,
    pub dir: RunDir,
    pub epochs: u32,
    name: String,
    runner: Runner,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SessionError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Pipeline(#[from] PipelineError),
}

impl SessionError {
    pub fn class(&self) -> snnc_compiler::ErrorClass {
        match self {
            SessionError::Run(e) => e.class(),
            SessionError::Pipeline(e) => e.class(),
        }
    }
}

impl From<TrainError> for SessionError {
    fn from(e: TrainError) -> Self {
        SessionError::Run(e.into())
    }
}

impl Session {
    /// Prepares the data, checks what the backend needs, then creates (or
    /// opens, to resume) the run directory.
    pub fn open(spec: SessionSpec<'_>) -> Result<Session, SessionError> {
        let p = prepare(spec.net, spec.data_dir)?;
        let epochs = spec.epochs.unwrap_or(p.train_spec.epochs);
        let weights = match spec.init_weights {
            Some(f) => Some(read_weights(f, &p.plan)?),
            None => None,
        };
        let (dir, state) = match &spec.target {
            RunTarget::Resume(dir) => {
                let run = RunDir::resume(dir)?;
                let stored = dir.join(crate::train::run::SPEC);
                let same = std::fs::read_to_string(&stored)
                    .ok()
                    .and_then(|text| snnc_compiler::check_source(&stored.display().to_string(), &text).ok());
                if !same.is_some_and(|n| n.same_as(spec.net)) {
                    return Err(RunError::SpecDiffers { spec: spec.spec_path.to_path_buf(), dir: dir.clone() }.into());
                }
                let state = load_checkpoint(&dir.join(CHECKPOINT), &p)?;
                (run, state)
            }
            fresh => {
                let state = TrainState::new(&p, spec.seed.unwrap_or(p.train_spec.seed), weights);
                // Refuse what the emulator cannot run before touching the disk.
                if spec.backend == Backend::Emulator {
                    crate::pipeline::compile(spec.net, &state.weights)?;
                }
                let mut run = match fresh {
                    RunTarget::Unique { base, stamp } => RunDir::create_unique(base, &spec.net.name, stamp)?,
                    RunTarget::Dir(d) => RunDir::create(d, &[spec.spec_path], spec.force, spec.resume_hint)?,
                    RunTarget::Resume(_) => unreachable!("matched above"),
                };
                run.start(&p.plan, spec.spec_text, &state)?;
                (run, state)
            }
        };
        let mut state = state;
        let runner = match spec.backend {
            Backend::Reference => Runner::Reference,
            Backend::Emulator => {
                let mut emu = emulator(spec.net, &state.weights)?;
                write_optimiser_state(&mut emu, &mut state.optimizer).map_err(RunError::from)?;
                Runner::Emulator(Box::new(emu))
            }
        };
        Ok(Session { prepared: p, state, dir, epochs, name: spec.net.name.clone(), runner })
    }

    /// Whether the run already completed its epochs.
    pub fn finished(&self) -> bool {
        self.state.epoch >= self.epochs
    }

    /// The summary a finished run stored, if it got that far.
    pub fn stored_summary(&self) -> Option<Summary> {
        stored_summary(self.dir.path()).filter(|s| s.epochs == self.state.epoch)
    }

    /// Trains up to the session's epochs, then evaluates the test split.
    pub fn run(&mut self, on_event: &mut dyn FnMut(Event<'_>)) -> Result<Summary, RunError> {
        let Session { prepared, state, dir, epochs, name, runner } = self;
        match runner {
            Runner::Reference => train_in_dir_with(prepared, state, dir, name, *epochs, &mut Reference, on_event),
            Runner::Emulator(emu) => {
                let mut r = EmuRunner { emu };
                train_in_dir_with(prepared, state, dir, name, *epochs, &mut r, on_event)
            }
        }
    }

    /// The emulator's counters and estimates (emulator sessions only).
    pub fn emulator_report(&self) -> Option<RunReport> {
        match &self.runner {
            Runner::Emulator(emu) => Some(RunReport::of(emu)),
            Runner::Reference => None,
        }
    }
}

/// The mean loss and gradient of the samples `idx` of `data` at `weights`
/// (`[post][pre]` tensors). The emulator runs one sample per batch copy
/// when `idx` is one batch; any other number of samples runs on one copy
/// (`single_copy`) whose loss error divides by their number, the
/// reference's mean. Each layer PE holds its sample's gradient; the host
/// sums them in sample order, as the optimiser PE does.
pub fn gradient(
    net: &ValidNetwork,
    p: &Prepared,
    weights: &[Vec<f32>],
    data: &Encoded,
    idx: &[usize],
    backend: Backend,
) -> Result<(f32, Vec<Vec<f32>>), SessionError> {
    if backend == Backend::Reference {
        let out = batch_gradient(&p.plan, weights, data, idx);
        return Ok((out.loss_sum, out.grad));
    }
    let runner = |e: crate::emu::EmuError| SessionError::Run(RunnerFailure::from(e).into());
    let mut net = net.clone();
    if idx.len() != p.train_spec.batch as usize
        && let Some(t) = net.train.as_mut()
    {
        t.batch = u32::try_from(idx.len()).unwrap_or(u32::MAX);
        net.target.mapping = Mapping::SingleCopy;
    }
    let mut emu = emulator(&net, weights)?;
    emu.load_inputs(data).map_err(runner)?;
    let copies = emu.program().copies as usize;
    let mut loss_sum = 0.0f32;
    let mut sum: Vec<Vec<f32>> = p.plan.projections.iter().map(|q| vec![0.0; q.n_pre * q.n_post]).collect();
    // Waves of one sample per copy (one wave with a copy per sample).
    for wave in idx.chunks(copies.max(1)) {
        let samples: Vec<SampleInput> = wave.iter().map(|&s| SampleInput::of(data, s)).collect();
        for r in emu.run_batch(&samples, None).map_err(runner)? {
            loss_sum += r.loss;
        }
        for copy in 0..wave.len() as u32 {
            for layer in &p.plan.layers {
                let grad = emu.layer_buffer(copy, layer.node, buffers::GRAD).map_err(runner)?;
                let mut at = 0;
                for &q in &layer.incoming {
                    let len = sum[q].len();
                    for (acc, &g) in sum[q].iter_mut().zip(&grad[at..at + len]) {
                        *acc += f32::from_bits(g);
                    }
                    at += len;
                }
            }
        }
    }
    Ok((loss_sum, untranspose(&p.plan, &sum)))
}
