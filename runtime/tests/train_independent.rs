//! The whole training loop (encoding, forward, loss, backward, batch mean,
//! Adam with weight decay, per-batch schedule, shuffling, drop-last) against
//! an independent implementation: a dense numpy float32 trainer written from
//! the contract, given this trainer's seed-0 initial weights and batch order,
//! printed these per-epoch train losses (4 decimals) and train accuracies
//! (3 decimals) for `examples/yinyang.snn`'s recipe.

use snnc_compiler::network::yinyang_network;
use snnc_runtime::train::trainer::{TrainState, prepare, run_epoch};

/// (train loss, train accuracy) of epochs 1..=3 from the independent trainer;
/// the tolerances are half a unit of the last printed digit.
const INDEPENDENT: [(f64, f64); 3] = [(0.9402, 0.542), (0.6361, 0.631), (0.5273, 0.686)];

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
