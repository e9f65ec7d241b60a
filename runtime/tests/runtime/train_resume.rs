//! Training-loop properties: resume is bit-identical to an uninterrupted run,
//! the run directory holds its files, divergence is an error naming the
//! epoch, batch and projection, and the thread count does not change results.

use snnc_compiler::network::{DataSpec, SplitSpec, ValidNetwork, yinyang_network};
use snnc_runtime::train::run::{CHECKPOINT, RunDir, WEIGHTS, load_checkpoint, read_weights, train_in_dir};
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

/// A fresh run directory in `dir`, started with `state`.
fn started(dir: &std::path::Path, p: &Prepared, state: &TrainState) -> RunDir {
    let mut run = RunDir::create(dir, &[], false, "").unwrap();
    run.start(&p.plan, "spec", state).unwrap();
    run
}

#[test]
fn resume_is_bit_identical() {
    let p = prepared();
    let whole_dir = tempfile::tempdir().unwrap();
    let mut whole = TrainState::new(&p, 3, None);
    let mut whole_run = started(whole_dir.path(), &p, &whole);
    let whole_summary = train_in_dir(&p, &mut whole, &mut whole_run, "small", 3, &mut |_| {}).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut first = TrainState::new(&p, 3, None);
    let mut run = started(dir.path(), &p, &first);
    // Stopped before its first epoch ended: the epoch-0 checkpoint resumes.
    assert_eq!(load_checkpoint(&dir.path().join(CHECKPOINT), &p).unwrap(), first);
    train_in_dir(&p, &mut first, &mut run, "small", 1, &mut |_| {}).unwrap();
    drop(run);
    let mut resumed = load_checkpoint(&dir.path().join(CHECKPOINT), &p).unwrap();
    assert_eq!(resumed, first, "the checkpoint restores the whole state");
    let mut run = RunDir::resume(dir.path()).unwrap();
    let summary = train_in_dir(&p, &mut resumed, &mut run, "small", 3, &mut |_| {}).unwrap();
    let epoch_seconds: f64 = resumed.history.iter().map(|m| m.seconds).sum();
    assert!(summary.seconds >= epoch_seconds, "the summary counts every epoch, the resumed ones included");
    assert_eq!(summary.test_accuracy, whole_summary.test_accuracy);

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
    let mut run = started(dir.path(), &p, &s);
    let err = train_in_dir(&p, &mut s, &mut run, "small", 2, &mut |_| {}).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, snnc_runtime::train::run::RunError::Train(TrainError::NotFinite { epoch: 1, batch: 1, .. })),
        "{msg}"
    );
    assert!(
        msg.contains("gradient of projection input->hidden") && msg.contains("epoch 1") && msg.contains("batch 1"),
        "{msg}"
    );
    let kept = load_checkpoint(&dir.path().join(CHECKPOINT), &p).unwrap();
    assert_eq!(kept.epoch, 0, "no checkpoint of a diverged epoch: the epoch-0 one is kept");
}
