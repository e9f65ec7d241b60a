//! Optimisers with PyTorch semantics, in `f32`, and the learning-rate schedule.
//!
//! Input: weights and the batch gradient (`[post][pre]` per projection), the
//! [`OptimizerSpec`] and [`Schedule`]. Output: updated weights and state.
//!
//! Exact operations per element (scalars computed in `f64`, rounded once):
//! - learning rate of global batch `k` (0-based): `lr * gamma^k`, with
//!   `gamma = per_epoch^(1/batches_per_epoch)` (`f64`, `powi`), so it depends on
//!   the step count only (resume-safe);
//! - Adam (`torch.optim.Adam`, single-tensor path), step `t = k + 1`:
//!   `g = grad + wd*w` (when `wd != 0`); `m = m + (1-b1)*(g - m)`;
//!   `v = b2*v + ((1-b2)*g)*g`; `denom = sqrt(v) / sqrt(1 - b2^t) + eps`;
//!   `w = w + (-(lr / (1 - b1^t))) * (m / denom)`;
//! - SGD with momentum (`torch.optim.SGD`, dampening 0): `g = grad + wd*w`;
//!   `buf = g` on the first step, else `buf = momentum*buf + g`;
//!   `w = w + (-lr) * buf` (`buf = g` when `momentum == 0`).
//!
//! Invariant: the state is plain tensors and a step count, saved whole in
//! checkpoints.

use snnc_compiler::network::{OptimizerSpec, Schedule};

#[derive(Clone, Debug, PartialEq)]
pub enum OptState {
    Adam { m: Vec<Vec<f32>>, v: Vec<Vec<f32>> },
    Sgd { momentum: Vec<Vec<f32>> },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Optimizer {
    pub spec: OptimizerSpec,
    pub schedule: Schedule,
    pub batches_per_epoch: usize,
    /// Number of steps taken so far.
    pub step: u64,
    pub state: OptState,
}

impl Optimizer {
    pub fn new(spec: OptimizerSpec, schedule: Schedule, batches_per_epoch: usize, shapes: &[usize]) -> Self {
        let zeros = || shapes.iter().map(|&n| vec![0.0f32; n]).collect::<Vec<_>>();
        let state = match spec {
            OptimizerSpec::Adam { .. } => OptState::Adam { m: zeros(), v: zeros() },
            OptimizerSpec::Sgd { .. } => OptState::Sgd { momentum: zeros() },
        };
        Optimizer { spec, schedule, batches_per_epoch, step: 0, state }
    }

    /// The learning rate used by the next step.
    pub fn lr(&self) -> f64 {
        let base = match self.spec {
            OptimizerSpec::Adam { lr, .. } | OptimizerSpec::Sgd { lr, .. } => lr,
        };
        match self.schedule {
            Schedule::Constant => base,
            Schedule::Exponential { per_epoch } => {
                let gamma = per_epoch.powf(1.0 / self.batches_per_epoch.max(1) as f64);
                base * gamma.powi(self.step.min(i32::MAX as u64) as i32)
            }
        }
    }

    /// Adam's per-step scalars of the next step, `(lr / (1 - b1^t), sqrt(1 -
    /// b2^t))`, computed in `f64` and rounded once, exactly as [`Optimizer::apply`]
    /// uses them (the emulator's optimiser PE receives them); `None` for SGD.
    pub fn adam_scalars(&self) -> Option<(f32, f32)> {
        let OptimizerSpec::Adam { beta1, beta2, .. } = self.spec else { return None };
        let t = (self.step + 1) as i32;
        let step_size = (self.lr() / (1.0 - beta1.powi(t))) as f32;
        let bc2_sqrt = (1.0 - beta2.powi(t)).sqrt() as f32;
        Some((step_size, bc2_sqrt))
    }

    /// The per-step scalars the emulator's optimiser PEs receive (their
    /// `hyper` buffer), as [`Optimizer::apply`] uses them: Adam's
    /// [`Optimizer::adam_scalars`]; for SGD the learning rate rounded to `f32`
    /// and `1.0` on the first step (the momentum buffer starts as the
    /// gradient), else `0.0`.
    pub fn step_scalars(&self) -> (f32, f32) {
        match self.adam_scalars() {
            Some(s) => s,
            None => (self.lr() as f32, if self.step == 0 { 1.0 } else { 0.0 }),
        }
    }

    /// One update of `weights` with `grad`.
    pub fn apply(&mut self, weights: &mut [Vec<f32>], grad: &[Vec<f32>]) {
        let lr = self.lr();
        let t = self.step + 1;
        let (step_size, bc2_sqrt) = self.adam_scalars().unwrap_or((0.0, 0.0));
        match (&self.spec, &mut self.state) {
            (OptimizerSpec::Adam { beta1, beta2, eps, weight_decay, .. }, OptState::Adam { m, v }) => {
                let (b2, wd, eps) = (*beta2 as f32, *weight_decay as f32, *eps as f32);
                let one_minus_b1 = (1.0 - *beta1) as f32;
                let one_minus_b2 = (1.0 - *beta2) as f32;
                for (p, w) in weights.iter_mut().enumerate() {
                    for k in 0..w.len() {
                        let g = if wd != 0.0 { grad[p][k] + wd * w[k] } else { grad[p][k] };
                        let mk = m[p][k] + one_minus_b1 * (g - m[p][k]);
                        let vk = b2 * v[p][k] + (one_minus_b2 * g) * g;
                        m[p][k] = mk;
                        v[p][k] = vk;
                        let denom = vk.sqrt() / bc2_sqrt + eps;
                        w[k] += -step_size * (mk / denom);
                    }
                }
            }
            (OptimizerSpec::Sgd { momentum: mu, weight_decay, .. }, OptState::Sgd { momentum }) => {
                let (mu, wd, lr) = (*mu as f32, *weight_decay as f32, lr as f32);
                for (p, w) in weights.iter_mut().enumerate() {
                    for k in 0..w.len() {
                        let g = if wd != 0.0 { grad[p][k] + wd * w[k] } else { grad[p][k] };
                        let b = if mu == 0.0 || self.step == 0 { g } else { mu * momentum[p][k] + g };
                        momentum[p][k] = b;
                        w[k] += -lr * b;
                    }
                }
            }
            _ => unreachable!("the state is built from the spec"),
        }
        self.step = t;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adam(wd: f64) -> Optimizer {
        let spec = OptimizerSpec::Adam { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: wd };
        Optimizer::new(spec, Schedule::Constant, 10, &[2])
    }

    /// Values from `torch.optim.Adam([w], lr=0.1, weight_decay=wd)` worked by
    /// hand: the first Adam step moves every weight by `lr * sign(g)` (up to eps).
    #[test]
    fn first_adam_step_is_lr_times_sign() {
        let mut o = adam(0.0);
        let mut w = vec![vec![1.0f32, -2.0]];
        o.apply(&mut w, &[vec![0.5, -3.0]]);
        assert!((w[0][0] - 0.9).abs() < 1e-6 && (w[0][1] + 1.9).abs() < 1e-6, "{w:?}");
        // Weight decay is added to the gradient: a zero gradient still moves w.
        let mut o = adam(0.5);
        let mut w = vec![vec![1.0f32, -2.0]];
        o.apply(&mut w, &[vec![0.0, 0.0]]);
        assert!((w[0][0] - 0.9).abs() < 1e-6 && (w[0][1] + 1.9).abs() < 1e-6, "{w:?}");
    }

    #[test]
    fn adam_second_step_matches_the_formula() {
        let mut o = adam(0.0);
        let mut w = vec![vec![0.0f32, 0.0]];
        o.apply(&mut w, &[vec![1.0, 1.0]]);
        o.apply(&mut w, &[vec![0.0, 2.0]]);
        // The textbook Adam update in f64.
        let f = |g1: f64, g2: f64| {
            let m = 0.9 * (0.1 * g1) + 0.1 * g2;
            let v = 0.999 * (0.001 * g1 * g1) + 0.001 * g2 * g2;
            let mh = m / (1.0 - 0.81);
            let vh = v / (1.0 - 0.999f64.powi(2));
            -0.1 - 0.1 * mh / (vh.sqrt() + 1e-8)
        };
        assert!((f64::from(w[0][0]) - f(1.0, 0.0)).abs() < 1e-5, "{} vs {}", w[0][0], f(1.0, 0.0));
        assert!((f64::from(w[0][1]) - f(1.0, 2.0)).abs() < 1e-5, "{} vs {}", w[0][1], f(1.0, 2.0));
    }

    #[test]
    fn sgd_momentum_accumulates() {
        let spec = OptimizerSpec::Sgd { lr: 0.1, momentum: 0.9, weight_decay: 0.0 };
        let mut o = Optimizer::new(spec, Schedule::Constant, 1, &[1]);
        let mut w = vec![vec![0.0f32]];
        o.apply(&mut w, &[vec![1.0]]);
        o.apply(&mut w, &[vec![1.0]]);
        // -0.1 * 1 - 0.1 * (0.9 + 1) = -0.29
        assert!((w[0][0] + 0.29).abs() < 1e-6, "{w:?}");
    }

    #[test]
    fn exponential_schedule_reaches_per_epoch_after_one_epoch() {
        let spec = OptimizerSpec::Sgd { lr: 1.0, momentum: 0.0, weight_decay: 0.0 };
        let mut o = Optimizer::new(spec, Schedule::Exponential { per_epoch: 0.95 }, 227, &[1]);
        assert_eq!(o.lr(), 1.0);
        o.step = 227;
        assert!((o.lr() - 0.95).abs() < 1e-12);
        o.step = 454;
        assert!((o.lr() - 0.9025).abs() < 1e-12);
    }
}
