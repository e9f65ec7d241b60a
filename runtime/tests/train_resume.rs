//! Training-loop properties: resume is bit-identical to an uninterrupted run,
//! the run directory holds its files, divergence is an error naming the
//! epoch, batch and projection, and the thread count does not change results.

use snnc_compiler::network::{DataSpec, SplitSpec, ValidNetwork, yinyang_network};
use snnc_runtime::train::run::{CHECKPOINT, WEIGHTS, create_run_dir, load_checkpoint, read_weights, train_in_dir};
use snnc_runtime::train::trainer::{Prepared, TrainError, TrainState, prepare, run_epoch};

fn small_net() -> ValidNetwork {
    let mut net = yinyang_network(16);
    let t = net.train.as_mut().unwrap();
    t.data = DataSpec::YinYang {
        train: SplitSpec { size: 440, seed: 42 },
        validation: SplitSpec { size: 100, seed: 41 },
        test: SplitSpec { size: 100, seed: 40 },
    };
    net
}

fn prepared() -> Prepared {
    prepare(&small_net(), std::path::Path::new(".")).unwrap()
}

#[test]
fn resume_is_bit_identical() {
    let p = prepared();
    let whole_dir = tempfile::tempdir().unwrap();
    let mut whole = TrainState::new(&p, 3, None);
    create_run_dir(whole_dir.path(), "spec").unwrap();
    train_in_dir(&p, &mut whole, whole_dir.path(), "small", 3, &mut |_| {}).unwrap();

    let dir = tempfile::tempdir().unwrap();
    create_run_dir(dir.path(), "spec").unwrap();
    let mut first = TrainState::new(&p, 3, None);
    train_in_dir(&p, &mut first, dir.path(), "small", 1, &mut |_| {}).unwrap();
    let mut resumed = load_checkpoint(&dir.path().join(CHECKPOINT), &p).unwrap();
    assert_eq!(resumed, first, "the checkpoint restores the whole state");
    train_in_dir(&p, &mut resumed, dir.path(), "small", 3, &mut |_| {}).unwrap();

    let bits = |w: &[Vec<f32>]| w.iter().flatten().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&resumed.weights), bits(&whole.weights));
    assert_eq!(resumed.optimizer, whole.optimizer);
    assert_eq!(resumed.rng, whole.rng);
    assert_eq!(bits(&read_weights(&dir.path().join(WEIGHTS), &p.plan).unwrap()), bits(&whole.weights));
    for f in ["spec.snn", "metrics.csv", "metrics.json", "curves.svg", CHECKPOINT, WEIGHTS] {
        assert!(dir.path().join(f).is_file(), "{f} written");
    }
    let csv = std::fs::read_to_string(dir.path().join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "header and three epochs:\n{csv}");
}

#[test]
fn training_lowers_the_loss() {
    let p = prepared();
    let mut s = TrainState::new(&p, 0, None);
    let first = run_epoch(&p, &mut s, &mut |_, _| {}).unwrap();
    let mut last = first.clone();
    for _ in 0..4 {
        last = run_epoch(&p, &mut s, &mut |_, _| {}).unwrap();
    }
    assert!(last.train_loss < first.train_loss, "{} -> {}", first.train_loss, last.train_loss);
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let p = prepared();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let mut s = TrainState::new(&p, 1, None);
            run_epoch(&p, &mut s, &mut |_, _| {}).unwrap();
            s.weights
        })
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn non_finite_weights_stop_training_with_a_named_error() {
    let p = prepared();
    let mut w = TrainState::new(&p, 0, None).weights;
    w[1][5] = f32::NAN;
    let mut s = TrainState::new(&p, 0, Some(w));
    let dir = tempfile::tempdir().unwrap();
    let err = train_in_dir(&p, &mut s, dir.path(), "small", 2, &mut |_| {}).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, snnc_runtime::train::run::RunError::Train(TrainError::NotFinite { epoch: 1, batch: 1, .. })),
        "{msg}"
    );
    assert!(
        msg.contains("gradient of projection input->hidden") && msg.contains("epoch 1") && msg.contains("batch 1"),
        "{msg}"
    );
    assert!(!dir.path().join(CHECKPOINT).exists(), "no checkpoint of a diverged epoch");
}
