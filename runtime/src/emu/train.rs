//! Training in the emulator: the reference trainer's epoch (same shuffle,
//! same batches, same metrics) with every batch run by the emulated machine.
//!
//! Input: a [`Prepared`] problem, a [`TrainState`] whose weights the
//! emulator's program was lowered with, the [`Emulator`]. Output: the state
//! after one more epoch (weights and Adam moments read back from the
//! optimiser PEs, the step count advanced) and its [`EpochMetrics`].
//!
//! Invariant: with the same state, an epoch gives bit-identical weights and
//! metrics (except `seconds`) to `train::trainer::run_epoch`: the emulator
//! reproduces the reference's floating-point order (tested).

use std::time::Instant;

use super::{EmuError, Emulator, SampleInput};
use crate::data::encode::Encoded;
use crate::train::batch::Evaluation;
use snnc_compiler::network::OptimizerSpec;

use crate::train::optim::{OptState, Optimizer};
use crate::train::run::{EpochRunner, RunError};
use crate::train::trainer::{BatchTotals, EpochMetrics, Prepared, TrainError, TrainState};

/// Accuracy and mean loss of a split, forward in the emulator (copies side by
/// side, the last group possibly smaller).
pub fn evaluate(emu: &mut Emulator, data: &Encoded) -> Result<Evaluation, EmuError> {
    let copies = emu.program().copies as usize;
    let mut loss = 0.0f32;
    let (mut correct, mut strict) = (0usize, 0usize);
    let idx: Vec<usize> = (0..data.len()).collect();
    emu.load_inputs(data)?;
    for chunk in idx.chunks(copies.max(1)) {
        let samples: Vec<SampleInput> = chunk.iter().map(|&s| SampleInput::of(data, s)).collect();
        for (r, &s) in emu.run_batch(&samples, None)?.iter().zip(chunk) {
            loss += r.loss;
            let (prediction, strict_correct) = r.predict(data.labels[s]);
            correct += usize::from(prediction == data.labels[s]);
            strict += usize::from(strict_correct);
        }
    }
    let n = data.len().max(1) as f64;
    Ok(Evaluation {
        loss: loss / data.len().max(1) as f32,
        accuracy: correct as f64 / n,
        strict_accuracy: strict as f64 / n,
    })
}

/// The optimiser state the optimiser PEs hold, with its buffer names: Adam's
/// moments, SGD's momentum buffer (without momentum the PEs keep none: the
/// reference's copy of the last gradient is not used by the update).
fn pe_state(opt: &mut Optimizer) -> Vec<(&'static str, &mut Vec<Vec<f32>>)> {
    let keeps_momentum = matches!(opt.spec, OptimizerSpec::Sgd { momentum, .. } if momentum != 0.0);
    match &mut opt.state {
        OptState::Adam { m, v } => vec![("m", m), ("v", v)],
        OptState::Sgd { momentum } if keeps_momentum => vec![("momentum", momentum)],
        OptState::Sgd { .. } => Vec::new(),
    }
}

/// Reads the optimiser PEs' state into `opt`.
pub fn read_optimiser_state(emu: &mut Emulator, opt: &mut Optimizer) -> Result<(), EmuError> {
    for (name, tensors) in pe_state(opt) {
        *tensors = emu.optimiser_tensors(name)?;
    }
    Ok(())
}

/// Writes `opt`'s state into the optimiser PEs (to resume a checkpoint).
pub fn write_optimiser_state(emu: &mut Emulator, opt: &mut Optimizer) -> Result<(), EmuError> {
    for (name, tensors) in pe_state(opt) {
        emu.set_optimiser_tensors(name, tensors)?;
    }
    Ok(())
}

/// The training part of an epoch in the emulator (shuffle, batches,
/// optimiser steps on the optimiser PEs), without validation; afterwards
/// `state` holds the weights and optimiser state the PEs hold.
pub fn train_batches(
    p: &Prepared,
    state: &mut TrainState,
    emu: &mut Emulator,
    on_batch: &mut dyn FnMut(usize, usize),
) -> Result<BatchTotals, RunError> {
    let epoch = state.epoch + 1;
    let batch = p.train_spec.batch as usize;
    // The epoch's training data (augmented anew each epoch, as the
    // reference's), written into DRAM once when the inputs read it there.
    let data = p.epoch_train(state.seed, epoch);
    emu.load_inputs(&data)?;
    let order = state.rng.permutation(data.len());
    let batches = order.len() / batch;
    let mut totals = BatchTotals { loss_sum: 0.0, correct: 0, samples: batches * batch };
    for (b, idx) in order.chunks_exact(batch).enumerate() {
        let hyper = state.optimizer.step_scalars();
        let samples: Vec<SampleInput> = idx.iter().map(|&s| SampleInput::of(&data, s)).collect();
        let results = emu.run_batch(&samples, Some(hyper))?;
        let mut batch_loss = 0.0f32;
        for (r, &s) in results.iter().zip(idx) {
            batch_loss += r.loss;
            totals.correct += usize::from(r.predict(data.labels[s]).0 == data.labels[s]);
        }
        if !batch_loss.is_finite() {
            let readout = p.plan.readout.as_ref().map_or("", |(r, _)| p.plan.layers[*r].name.as_str()).to_string();
            return Err(
                TrainError::NotFinite { epoch, batch: b + 1, what: format!("the loss of readout {readout}") }.into()
            );
        }
        totals.loss_sum += f64::from(batch_loss);
        state.optimizer.step += 1;
        on_batch(b + 1, batches);
    }
    state.weights = emu.weights()?;
    for (w, proj) in state.weights.iter().zip(&p.plan.projections) {
        if w.iter().any(|x| !x.is_finite()) {
            let what = format!("the weights of projection {}", proj.name);
            return Err(TrainError::NotFinite { epoch, batch: batches, what }.into());
        }
    }
    read_optimiser_state(emu, &mut state.optimizer)?;
    Ok(totals)
}

/// One epoch: shuffled batches through the emulator, then validation.
pub fn run_epoch(
    p: &Prepared,
    state: &mut TrainState,
    emu: &mut Emulator,
    on_batch: &mut dyn FnMut(usize, usize),
) -> Result<EpochMetrics, RunError> {
    let start = Instant::now();
    let totals = train_batches(p, state, emu, on_batch)?;
    let val = match &p.validation {
        Some(v) => Some(evaluate(emu, v)?),
        None => None,
    };
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

/// The emulator as the run directory's [`EpochRunner`]; the test split is
/// evaluated in the emulator with the weights its PEs hold.
pub struct EmuRunner<'a> {
    pub emu: &'a mut Emulator,
}

impl EpochRunner for EmuRunner<'_> {
    fn epoch(
        &mut self,
        p: &Prepared,
        state: &mut TrainState,
        on_batch: &mut dyn FnMut(usize, usize),
    ) -> Result<EpochMetrics, RunError> {
        run_epoch(p, state, self.emu, on_batch)
    }
    fn test(&mut self, _: &Prepared, _: &[Vec<f32>], data: &Encoded) -> Result<Evaluation, RunError> {
        Ok(evaluate(self.emu, data)?)
    }
}
