//! The whole training loop (encoding, forward, loss, backward, batch mean,
//! Adam with weight decay, per-batch schedule, shuffling, drop-last) against
//! an independent implementation: a dense numpy float32 trainer written from
//! the contract (`tests/independent/dense_trainer.py 3 0`), drawing its own seed-0 initial weights
//! (`RandomState(0).normal(m/sqrt(fan_in), s/sqrt(fan_in), (pre, post)).T`,
//! both projections from one generator) and its own batch order (a second
//! `RandomState(0)`, one `permutation(5000)` per epoch), printed these
//! per-epoch train losses (4 decimals) and train accuracies (3 decimals) for
//! `examples/yinyang.snn`'s recipe. So this also checks that snnc's seeded
//! initialiser and shuffle are numpy's.

use snnc_compiler::network::yinyang_network;
use snnc_runtime::train::trainer::{TrainState, prepare, run_epoch};

/// (train loss, train accuracy) of epochs 1..=3 from the independent trainer;
/// the tolerances are half a unit of the last printed digit.
const INDEPENDENT: [(f64, f64); 3] = [(0.9161, 0.510), (0.6079, 0.678), (0.4830, 0.791)];

#[test]
fn first_epochs_match_an_independent_trainer() {
    let net = yinyang_network(120);
    let p = prepare(&net, std::path::Path::new(".")).unwrap();
    let mut s = TrainState::new(&p, 0, None);
    for (i, (loss, accuracy)) in INDEPENDENT.iter().enumerate() {
        let m = run_epoch(&p, &mut s, &mut |_, _| {}).unwrap();
        assert_eq!(m.epoch as usize, i + 1);
        assert!((m.train_loss - loss).abs() <= 5.0001e-5, "epoch {}: loss {} vs {loss}", m.epoch, m.train_loss);
        assert!(
            (m.train_accuracy - accuracy).abs() <= 5.0001e-4,
            "epoch {}: accuracy {} vs {accuracy}",
            m.epoch,
            m.train_accuracy
        );
    }
}
