//! The whole pipeline as library calls: a checked network and its weights
//! -> the compiled program -> an emulator loaded with it. The CLI's commands
//! call these and never each other.
//!
//! Input: a [`ValidNetwork`] (and weights, or the spec's initialisers).
//! Output: the mapped and lowered program (`snnc_compiler::driver`), or an
//! [`Emulator`] ready to run it.

use snnc_compiler::driver::{CompileError, Mapped, compile_network};
use snnc_compiler::lower::Program;
use snnc_compiler::{ErrorClass, ValidNetwork};

use crate::emu::{EmuError, Emulator};
use crate::train::init::init_weights;
use crate::train::plan::{Plan, PlanError};

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PipelineError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Compile(#[from] CompileError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Emulator(#[from] EmuError),
}

impl PipelineError {
    pub fn class(&self) -> ErrorClass {
        match self {
            PipelineError::Plan(PlanError::SpikeSources(_)) => ErrorClass::NotYetSupported,
            PipelineError::Compile(e) => e.class(),
            PipelineError::Emulator(e) => e.class(),
        }
    }
}

/// The initial weights from the spec's initialisers and seed (seed 0
/// without a `train` block).
pub fn initial_weights(net: &ValidNetwork) -> Result<Vec<Vec<f32>>, PipelineError> {
    let plan = Plan::new(net)?;
    let seed = net.train.as_ref().map_or(0, |t| t.seed);
    Ok(init_weights(&plan, seed))
}

/// Maps and lowers `net` with `weights` (an event-stream input's PEs read
/// their samples' events from DRAM: `snnc_compiler::lower::input_events`).
pub fn compile(net: &ValidNetwork, weights: &[Vec<f32>]) -> Result<(Mapped, Program), PipelineError> {
    Ok(compile_network(net, weights)?)
}

/// Maps, lowers and loads `net` with `weights` into a fresh emulator.
pub fn emulator(net: &ValidNetwork, weights: &[Vec<f32>]) -> Result<Emulator, PipelineError> {
    let (mapped, program) = compile(net, weights)?;
    Ok(Emulator::new(program, &mapped.machine, &mapped.routing.tables)?)
}
