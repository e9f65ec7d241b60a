//! One batch: every sample's forward and backward in parallel (rayon), the
//! batch gradient reduced sequentially in ascending sample order.
//!
//! Input: a [`Plan`], weights `[post][pre]`, encoded samples and the indices of
//! the batch. Output: [`BatchOut`] (loss sum, accuracy counts, gradient
//! `[post][pre]`).
//!
//! Invariant: the result does not depend on the number of threads: each
//! sample's gradient is computed alone, and `grad = ((0 + g_0) + g_1) + ...`
//! in the batch's sample order; the loss sum likewise.

use rayon::prelude::*;

use super::eventprop::{Scratch, infer, sample_gradient, transpose, untranspose};
use super::plan::Plan;
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
    let total: usize = wt.iter().map(Vec::len).sum();
    // Samples run in windows of a few per thread; each writes its gradient
    // into its own slot, then the window is added to the sum in sample order.
    // No reduction happens in parallel, and memory stays `window x weights`.
    let threads = rayon::current_num_threads().max(1);
    let window = (2 * threads).min(batch.max(1));
    let mut slots = vec![0.0f32; window * total];
    let mut sum: Vec<Vec<f32>> = wt.iter().map(|w| vec![0.0; w.len()]).collect();
    let mut out = BatchOut { loss_sum: 0.0, correct: 0, strict_correct: 0, grad: Vec::new() };
    for chunk in idx.chunks(window) {
        let outs: Vec<_> = slots
            .par_chunks_mut(total.max(1))
            .zip(chunk.par_iter())
            .map_init(Scratch::default, |scratch, (buf, &s)| {
                let out = sample_gradient(plan, wt, data.events(s), data.labels[s], batch, scratch);
                let mut at = 0;
                for g in &scratch.grad {
                    buf[at..at + g.len()].copy_from_slice(g);
                    at += g.len();
                }
                out
            })
            .collect();
        for (k, (s, &i)) in outs.iter().zip(chunk).enumerate() {
            out.loss_sum += s.loss;
            out.correct += usize::from(s.prediction == data.labels[i]);
            out.strict_correct += usize::from(s.strict_correct);
            let mut at = k * total;
            for acc in sum.iter_mut() {
                let len = acc.len();
                for (a, &b) in acc.iter_mut().zip(&slots[at..at + len]) {
                    *a += b;
                }
                at += len;
            }
        }
    }
    out.grad = untranspose(plan, &sum);
    out
}

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
