//! One batch: every sample's forward and backward in parallel (rayon), the
//! batch gradient reduced sequentially in ascending sample order.
//!
//! Input: a [`Plan`], weights `[post][pre]`, encoded samples and the indices of
//! the batch. Output: [`BatchOut`] (loss sum, accuracy counts, gradient
//! `[post][pre]`).
//!
//! Invariant: the result does not depend on the number of threads: each
//! sample's gradient is computed alone, and `grad = ((0 + g_0) + g_1) + ...`
//! in the batch's sample order for every weight (threads split the weights,
//! never the samples); the loss sum likewise.

use rayon::prelude::*;

use super::eventprop::{Scratch, forward, infer, sample_gradient, transpose, untranspose};
use super::plan::Plan;
use super::simd;
use crate::data::encode::Encoded;

#[derive(Clone, Debug, PartialEq)]
pub struct BatchOut {
    /// Sum of the per-sample losses, in sample order.
    pub loss_sum: f32,
    pub correct: usize,
    pub strict_correct: usize,
    /// Mean gradient of the batch (errors were divided by the batch size),
    /// one `[post][pre]` tensor per projection.
    pub grad: Vec<Vec<f32>>,
}

/// The gradient of the mean loss over the samples `idx` of `data`.
pub fn batch_gradient(plan: &Plan, weights: &[Vec<f32>], data: &Encoded, idx: &[usize]) -> BatchOut {
    let wt = transpose(plan, weights);
    batch_gradient_t(plan, &wt, data, idx)
}

/// As [`batch_gradient`], with weights already transposed to `[pre][post]`.
pub fn batch_gradient_t(plan: &Plan, wt: &[Vec<f32>], data: &Encoded, idx: &[usize]) -> BatchOut {
    let batch = idx.len();
    // Samples run in windows of a few per thread, each in a scratch of its
    // own that keeps its gradient; then the window's gradients are added to
    // the sum in sample order. Threads share that addition by splitting the
    // weights, never the samples: each weight's sum is `((0 + g_0) + g_1) +
    // ...`, whatever the thread count. Memory stays `window x weights`.
    let threads = rayon::current_num_threads().max(1);
    let window = (2 * threads).min(batch.max(1));
    let mut scratches: Vec<Scratch> = (0..window).map(|_| Scratch::default()).collect();
    let mut sum: Vec<Vec<f32>> = wt.iter().map(|w| vec![0.0; w.len()]).collect();
    let mut out = BatchOut { loss_sum: 0.0, correct: 0, strict_correct: 0, grad: Vec::new() };
    for chunk in idx.chunks(window) {
        let used = &mut scratches[..chunk.len()];
        let outs: Vec<_> = used
            .par_iter_mut()
            .zip(chunk.par_iter())
            .map(|(scratch, &s)| sample_gradient(plan, wt, data.events(s), data.labels[s], batch, scratch))
            .collect();
        for (s, &i) in outs.iter().zip(chunk) {
            out.loss_sum += s.loss;
            out.correct += usize::from(s.prediction == data.labels[i]);
            out.strict_correct += usize::from(s.strict_correct);
        }
        for (p, acc) in sum.iter_mut().enumerate() {
            let grads: Vec<&[f32]> = used.iter().map(|s| s.grad[p].as_slice()).collect();
            acc.par_chunks_mut(SUM_CHUNK).enumerate().for_each(|(c, part)| {
                let range = c * SUM_CHUNK..c * SUM_CHUNK + part.len();
                for g in &grads {
                    simd::add_assign(part, &g[range.clone()]);
                }
            });
        }
    }
    out.grad = untranspose(plan, &sum);
    out
}

/// Weights per task of the ordered gradient sum (64 KiB of `f32`).
const SUM_CHUNK: usize = 16 * 1024;

/// Accuracy and mean loss of a whole encoded split (forward only).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    pub loss: f32,
    pub accuracy: f64,
    pub strict_accuracy: f64,
}

pub fn evaluate(plan: &Plan, weights: &[Vec<f32>], data: &Encoded) -> Evaluation {
    let wt = transpose(plan, weights);
    let outs: Vec<_> = (0..data.len())
        .into_par_iter()
        .map_init(Scratch::default, |scratch, s| infer(plan, &wt, data.events(s), data.labels[s], scratch))
        .collect();
    let mut loss = 0.0f32;
    let (mut correct, mut strict) = (0usize, 0usize);
    for (s, o) in outs.iter().enumerate() {
        loss += o.loss;
        correct += usize::from(o.prediction == data.labels[s]);
        strict += usize::from(o.strict_correct);
    }
    let n = data.len().max(1) as f64;
    Evaluation {
        loss: loss / data.len().max(1) as f32,
        accuracy: correct as f64 / n,
        strict_accuracy: strict as f64 / n,
    }
}

/// The spikes each layer of `plan` fires over all of `data` at `weights`
/// (`[post][pre]`), in plan order (an `li` layer fires none): the forward
/// pass of [`evaluate`], counted. The run loop warns with it about layers
/// that stay silent (docs/contract.md: a silent layer passes no error on).
pub fn spike_counts(plan: &Plan, weights: &[Vec<f32>], data: &Encoded) -> Vec<u64> {
    let wt = transpose(plan, weights);
    (0..data.len())
        .into_par_iter()
        .map_init(Scratch::default, |scratch, s| {
            forward(plan, &wt, data.events(s), scratch);
            scratch.layers.iter().map(|l| l.neuron.len() as u64).collect::<Vec<u64>>()
        })
        .reduce(|| vec![0; plan.layers.len()], |a, b| a.iter().zip(&b).map(|(x, y)| x + y).collect())
}
