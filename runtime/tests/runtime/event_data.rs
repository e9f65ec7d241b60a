//! Event data end to end below the CLI: the SHD reader on the h5py-written
//! fixtures (validation by speaker, by fraction, by file), SSC's layout
//! with its validation file, the user's own files of another shape, bad files as
//! snapshot-tested diagnostics, the latency path's spikes unchanged by the
//! event representation, augmentation replayed per epoch and resumed bit
//! for bit, and the generators' statistics.

use std::path::{Path, PathBuf};

use snnc_compiler::ValidNetwork;
use snnc_compiler::network::{DataSpec, EventSet, EventValidation, OrderTask, SplitSpec};
use snnc_runtime::data::encode::encode;
use snnc_runtime::data::events::{RawEvents, load_files};
use snnc_runtime::data::shd_like::ShdLike;
use snnc_runtime::data::{order, yinyang};
use snnc_runtime::h5io::{Value, read_event_file};
use snnc_runtime::train::eventprop::{InputSpikes, Spikes};
use snnc_runtime::train::run::{CHECKPOINT, RunDir, load_checkpoint, train_in_dir};
use snnc_runtime::train::trainer::{Prepared, TrainError, TrainState, prepare};

/// The fixtures, as a path relative to the test's working directory (so
/// that messages and snapshots do not depend on the checkout's place).
fn fixtures() -> PathBuf {
    PathBuf::from("../tests/fixtures/h5")
}

fn shd(train: &str, test: Option<&str>, validation: Option<EventValidation>) -> DataSpec {
    DataSpec::EventFiles {
        set: EventSet::Shd,
        train: train.into(),
        validation,
        test: test.map(Into::into),
        channels: 700,
        classes: 20,
    }
}

#[test]
fn the_shd_reader_reads_the_published_layout() {
    let s = load_files(&shd("shd_small_train.h5", Some("shd_small_test.h5"), None), &fixtures(), 1).unwrap();
    assert_eq!((s.train.len(), s.test.as_ref().unwrap().len(), s.validation.is_none()), (60, 24, true));
    assert_eq!(s.train.labels[..21], (0..21).map(|i| i % 20).collect::<Vec<u32>>()[..]);
    assert_eq!(s.train.speakers.as_ref().unwrap()[..5], [0, 1, 2, 3, 0]);
    // Times are float16 values, exactly.
    for &t in &s.train.times {
        assert_eq!(half_round_trip(t), t);
    }
}

/// `t` survives float16 if it is one (f16 has 11 significant bits).
fn half_round_trip(t: f64) -> f64 {
    if t == 0.0 {
        return 0.0;
    }
    let e = t.abs().log2().floor();
    let scale = 2f64.powf(10.0 - e.max(-14.0));
    (t * scale).round() / scale
}

#[test]
fn validation_by_speaker_by_fraction_and_by_file() {
    let all = load_files(&shd("shd_small_train.h5", None, None), &fixtures(), 1).unwrap().train;
    let sp = all.speakers.clone().unwrap();
    let s = load_files(&shd("shd_small_train.h5", None, Some(EventValidation::Speakers(vec![1, 3]))), &fixtures(), 1)
        .unwrap();
    let v = s.validation.unwrap();
    assert_eq!(v.len(), sp.iter().filter(|&&x| x == 1 || x == 3).count());
    assert!(v.speakers.as_ref().unwrap().iter().all(|&x| x == 1 || x == 3));
    assert!(s.train.speakers.as_ref().unwrap().iter().all(|&x| x == 0 || x == 2));
    assert_eq!(s.train.len() + v.len(), all.len());

    let s = load_files(
        &shd("shd_small_train.h5", None, Some(EventValidation::Fraction { fraction: 0.25, seed: 7 })),
        &fixtures(),
        1,
    )
    .unwrap();
    let v = s.validation.unwrap();
    assert_eq!(v.len(), 15, "round(0.25 * 60)");
    // numpy: sorted(RandomState(7).permutation(60)[:15]) are held out.
    let mut held: Vec<usize> = snnc_runtime::rng::RandomState::new(7).permutation(60)[..15].to_vec();
    held.sort_unstable();
    let pick = |r: &RawEvents, s: usize| r.times[r.range(s)].to_vec();
    for (k, &h) in held.iter().enumerate() {
        assert_eq!(pick(&v, k), pick(&all, h), "validation sample {k} is training sample {h}");
    }

    let s = load_files(
        &shd("shd_small_train.h5", None, Some(EventValidation::File("shd_small_test.h5".into()))),
        &fixtures(),
        1,
    )
    .unwrap();
    assert_eq!((s.train.len(), s.validation.unwrap().len()), (60, 24));
}

fn ssc(train: &str, test: Option<&str>, validation: Option<EventValidation>) -> DataSpec {
    DataSpec::EventFiles {
        set: EventSet::Ssc,
        train: train.into(),
        validation,
        test: test.map(Into::into),
        channels: 700,
        classes: 35,
    }
}

fn code(e: &dyn miette::Diagnostic) -> String {
    e.code().map(|c| c.to_string()).unwrap_or_default()
}

/// The Spiking Speech Commands layout: 35 classes and a validation file of
/// its own; speaker ids stored as strings are read (kept in `extra`) but
/// cannot be held out; an SSC file is not an SHD file (labels beyond 20).
#[test]
fn ssc_files_read_with_their_own_validation_file() {
    let spec =
        ssc("ssc_small_train.h5", Some("ssc_small_test.h5"), Some(EventValidation::File("ssc_small_valid.h5".into())));
    let s = load_files(&spec, &fixtures(), 1).unwrap();
    let (v, t) = (s.validation.as_ref().unwrap(), s.test.as_ref().unwrap());
    assert_eq!((s.train.len(), v.len(), t.len(), s.class_count), (70, 35, 35, 35));
    assert_eq!(s.train.labels.iter().max(), Some(&34));
    assert!(s.train.speakers.is_none(), "string speaker ids are not integer ids");
    let f = read_event_file(&fixtures().join("ssc_small_train.h5")).unwrap();
    assert_eq!(f.extra.keys().collect::<Vec<_>>(), ["keys", "speaker"]);
    match (&f.extra["keys"], &f.extra["speaker"]) {
        (Value::Strings { data: keys, .. }, Value::Strings { data: speakers, .. }) => {
            assert_eq!((keys.len(), keys[0].as_str(), keys[34].as_str()), (35, "backward", "zero"));
            assert_eq!(speakers.len(), 70);
            assert!(speakers.iter().all(|x| x.len() == 8), "{speakers:?}");
        }
        other => panic!("extra read as {other:?}"),
    }

    let held_out = ssc("ssc_small_train.h5", None, Some(EventValidation::Speakers(vec![1])));
    let err = load_files(&held_out, &fixtures(), 1).unwrap_err();
    assert_eq!(code(&err), "snn::data::no_speakers", "{err}");
    assert!(err.to_string().contains("ssc_small_train.h5 has no integer speaker ids"), "{err}");

    let err = load_files(&shd("ssc_small_train.h5", None, None), &fixtures(), 1).unwrap_err();
    assert_eq!(code(&err), "snn::data::label_out_of_range", "{err}");
    assert!(err.to_string().contains("ssc_small_train.h5: `labels`[20] = 20"), "{err}");
}

/// The user's own files (`events(..)`) of another shape: 64 channels, 4
/// classes, float32 times, uint32 units, int64 labels, no `extra`. The
/// channels and classes come from the network: too few inputs or readout
/// neurons are diagnosed naming the file, the dataset and the sample.
#[test]
fn own_files_of_any_shape_are_checked_against_the_network() {
    let spec = |inputs: u32, pool: u32, classes: u32, test: &str| {
        format!(
            "network own {{
    time {{ dt = 1 ms; steps = 250 }}
    population i = spike_source({inputs}) {{ encoding = events(pool = {pool}) }}
    population h = lif(16)
    population o = li({classes})
    projection i -> h = dense {{ init = normal(mean = 0.5, std = 0.5, scale = fan_in_sqrt) }}
    projection h -> o = dense {{ init = normal(mean = 0, std = 1, scale = fan_in_sqrt) }}
}}
train {{
    data = events(train = \"own_train.h5\", test = \"{test}\")
    readout = o
    loss = sum_voltage_cross_entropy()
    batch = 8
    epochs = 1
}}
"
        )
    };
    let p = prepare(&net(&spec(16, 4, 4, "own_test.h5")), &fixtures()).unwrap();
    assert_eq!((p.train.len(), p.test.as_ref().unwrap().len(), p.train.inputs), (40, 12, 16));
    assert!(p.data_notes[0].starts_with("train: 40 samples, "), "{:?}", p.data_notes);
    let mut state = TrainState::new(&p, 0, None);
    snnc_runtime::train::trainer::run_epoch(&p, &mut state, &mut |_, _| {}).unwrap();
    assert!(state.history[0].train_loss.is_finite());
    // Every input neuron sees four channels: 64 channels need 16 inputs.
    let cases = [
        (
            spec(8, 4, 4, "own_test.h5"),
            "snn::data::channel_out_of_range",
            "own_train.h5: `spikes/units`[2][0] = 41 is beyond the input's 32 channels",
        ),
        (spec(16, 4, 3, "own_test.h5"), "snn::data::label_out_of_range", "own_train.h5: `labels`[3] = 3"),
        (spec(16, 4, 4, "own_bad_label.h5"), "snn::data::label_out_of_range", "own_bad_label.h5: `labels`[5] = 4"),
    ];
    for (text, want, names) in cases {
        let Err(err) = prepare(&net(&text), &fixtures()) else { panic!("{want}: accepted") };
        assert_eq!(code(&err), want, "{err}");
        assert!(err.to_string().contains(names), "{err}");
    }
}

#[test]
fn bad_event_files_are_diagnosed_naming_file_dataset_and_sample() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("text.h5"), "not hdf5\n").unwrap();
    // (case, spec, code, what the message names besides the file); the
    // CLI test `tests/snnc/event_cli.rs` snapshots the rendered reports.
    let cases: Vec<(&str, DataSpec, &str, &str)> = vec![
        ("label_beyond", shd("bad_label_beyond.h5", None, None), "snn::data::label_out_of_range", "`labels`[2] = 25"),
        (
            "channel_beyond",
            shd("bad_channel_beyond.h5", None, None),
            "snn::data::channel_out_of_range",
            "`spikes/units`[1][3] = 701",
        ),
        ("empty_sample", shd("bad_empty_sample.h5", None, None), "snn::data::empty_sample", "`spikes/times`[3]"),
        (
            "empty_sample_in_test",
            shd("shd_small_train.h5", Some("shd_f16.h5"), None),
            "snn::data::empty_sample",
            "shd_f16.h5: sample 1",
        ),
        ("missing_file", shd("nope.h5", None, None), "snn::data::missing_file", "nope.h5"),
        (
            "length_mismatch",
            shd("bad_length_mismatch.h5", None, None),
            "snn::h5::events_length_mismatch",
            "sample 2 has",
        ),
        ("nan_time", shd("bad_nan_time.h5", None, None), "snn::h5::bad_time", "sample 2, spike 1: time NaN"),
        ("negative_time", shd("bad_negative_time.h5", None, None), "snn::h5::bad_time", "sample 2, spike 0"),
        ("missing_labels", shd("bad_missing_labels.h5", None, None), "snn::h5::missing_dataset", "`labels`"),
        ("float_units", shd("bad_float_units.h5", None, None), "snn::h5::wrong_type", "`spikes/units`"),
        (
            "unknown_speakers",
            shd("shd_small_train.h5", None, Some(EventValidation::Speakers(vec![4, 5]))),
            "snn::data::unknown_speakers",
            "speakers 4, 5",
        ),
    ];
    for (name, spec, code, names) in cases {
        let err = load_files(&spec, &fixtures(), 1).unwrap_err();
        let got = miette::Diagnostic::code(&err).map(|c| c.to_string()).unwrap_or_default();
        assert_eq!(got, code, "{name}: {err}");
        let message = err.to_string();
        assert!(message.contains("../tests/fixtures/h5/"), "{name}: names the file: {message}");
        assert!(message.contains(names), "{name}: {message}");
    }
    // Not HDF5 (in a temporary folder, so not snapshot).
    let err = load_files(&shd("text.h5", None, None), dir.path(), 1).unwrap_err();
    assert_eq!(miette::Diagnostic::code(&err).unwrap().to_string(), "snn::h5::not_hdf5");
}

fn spec_text(data: &str, input: &str, extra: &str) -> String {
    format!(
        "network n {{
    time {{ dt = 1 ms; steps = 500 }}
    population i = {input}
    population h = lif(16)
    population o = li(20)
    projection i -> h = dense {{ init = normal(mean = 0.5, std = 0.5, scale = fan_in_sqrt) }}
    projection h -> o = dense {{ init = normal(mean = 0, std = 1, scale = fan_in_sqrt) }}
}}
train {{
    data = {data}
    readout = o
    loss = sum_voltage_cross_entropy()
    batch = 8
    epochs = 3
    {extra}
}}
"
    )
}

fn net(text: &str) -> ValidNetwork {
    snnc_compiler::check_source("t.snn", text).unwrap_or_else(|e| panic!("{text}\n{:?}", e.errors()))
}

#[test]
fn binning_reports_what_it_dropped_and_merged() {
    let text = spec_text(
        "shd(train = \"shd_small_train.h5\", test = \"shd_small_test.h5\")",
        "spike_source(140) { encoding = events(pool = 5) }",
        "",
    );
    let p = prepare(&net(&text), &fixtures()).unwrap();
    assert_eq!((p.train.len(), p.test.as_ref().unwrap().len()), (60, 24));
    assert!(p.validation.is_none());
    // Every sample of the fixtures has a duplicate and events past 0.5 s.
    assert!(p.data_notes[0].starts_with("train: 60 samples, "), "{:?}", p.data_notes);
    assert!(p.data_notes[0].contains("past the 500 ms window dropped"), "{:?}", p.data_notes);
    assert!(p.data_notes[0].contains("merged (same input, same step)"), "{:?}", p.data_notes);
    for s in 0..p.train.len() {
        let ev: Vec<(u32, u32)> = p.train.events(s).iter().collect();
        assert!(ev.windows(2).all(|w| w[0] < w[1]), "sorted by step, then input, no duplicate");
        assert!(ev.iter().all(|&(n, i)| n < 500 && i < 140));
    }
}

#[test]
fn the_latency_path_gives_the_same_spikes_from_its_events() {
    let net = snnc_compiler::network::yinyang_network(8);
    let src = net.graph[net.population_by_name("input").unwrap()].spike_source().unwrap().clone();
    let enc = encode(&yinyang::generate(5000, 42), &src, 5, net.time);
    let (mut a, mut b) = (Spikes::default(), Spikes::default());
    for s in 0..enc.len() {
        enc.sample(s).spikes(27, &mut a);
        enc.events(s).spikes(27, &mut b);
        assert_eq!(a, b, "sample {s}");
        assert_eq!(enc.events(s).len(), 5, "one spike per input");
    }
}

fn augmented_text() -> String {
    spec_text(
        "shd(train = \"shd_small_train.h5\", test = \"shd_small_test.h5\", validation = speakers(3))",
        "spike_source(140) { encoding = events(pool = 5) }",
        "augment = (shift(40), blend(p = 0.5), dilate(0.9 .. 1.1), jitter(1 ms))\n    seed = 4",
    )
}

#[test]
fn augmentation_replays_per_epoch_and_resume_is_bit_identical() {
    let p: Prepared = prepare(&net(&augmented_text()), &fixtures()).unwrap();
    let a = p.augmenter.as_ref().unwrap();
    assert_eq!(p.train_len(), a.raw.len() + (a.raw.len() as f64 * 0.5).round_ties_even() as usize);
    assert_eq!(p.epoch_train(4, 2).into_owned(), p.epoch_train(4, 2).into_owned(), "an epoch replays");
    assert_ne!(p.epoch_train(4, 2).into_owned(), p.epoch_train(4, 3).into_owned(), "epochs differ");

    let run = |dir: &Path, stop: Option<u32>| {
        let mut state = TrainState::new(&p, 4, None);
        let mut rd = RunDir::create(dir, &[], false, "").unwrap();
        rd.start(&p.plan, "spec", &state).unwrap();
        if let Some(k) = stop {
            train_in_dir(&p, &mut state, &mut rd, "t", k, &mut |_| {}).unwrap();
            drop(rd);
            state = load_checkpoint(&dir.join(CHECKPOINT), &p).unwrap();
            rd = RunDir::resume(dir).unwrap();
        }
        let summary = train_in_dir(&p, &mut state, &mut rd, "t", 3, &mut |_| {}).unwrap();
        (state, summary)
    };
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (whole, ws) = run(d1.path(), None);
    let (resumed, rs) = run(d2.path(), Some(1));
    let bits = |w: &[Vec<f32>]| w.iter().flatten().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&resumed.weights), bits(&whole.weights));
    assert_eq!(
        resumed.history.iter().map(|m| m.train_loss.to_bits()).collect::<Vec<_>>(),
        whole.history.iter().map(|m| m.train_loss.to_bits()).collect::<Vec<_>>()
    );
    assert_eq!(rs.test_accuracy, ws.test_accuracy);
}

#[test]
fn too_few_samples_for_a_batch_counts_the_blended_ones() {
    // 60 samples, speaker 3's 15 held out: 45, and round(22.5) = 22 blended.
    let text = augmented_text().replace("batch = 8", "batch = 67");
    assert_eq!(prepare(&net(&text), &fixtures()).unwrap().train_len(), 67);
    let text = augmented_text().replace("batch = 8", "batch = 68");
    assert!(matches!(prepare(&net(&text), &fixtures()), Err(TrainError::TooFewSamples { samples: 67, batch: 68 })));
}

#[test]
fn shd_like_matches_the_shd_figures_it_aims_at() {
    // 400 samples of the default shape: 700 channels, 20 classes, 1 s.
    let g = ShdLike::new(20, 700, 1.0, 0);
    let r = g.split(SplitSpec { size: 400, seed: 42 });
    let n = r.len() as f64;
    let counts: Vec<f64> = (0..r.len()).map(|s| r.range(s).len() as f64).collect();
    let mean = counts.iter().sum::<f64>() / n;
    // About 8,000 spikes per sample (tracks) plus 5 % background: within 10 %.
    assert!((mean - 8400.0).abs() < 840.0, "mean spikes per sample {mean}");
    let per_channel = r.event_count() as f64 / (n * 700.0);
    assert!((per_channel - 12.0).abs() < 1.2, "mean spikes per channel and sample {per_channel}");
    let last: Vec<f64> = (0..r.len()).map(|s| r.times[r.range(s)].last().copied().unwrap_or(0.0)).collect();
    assert!(last.iter().all(|&t| t < 1.0), "every spike within the 1 s duration");
    let mean_last = last.iter().sum::<f64>() / n;
    let sd = (counts.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / n).sqrt();
    let mut per_ch = vec![0.0f64; 700];
    for &c in &r.channels {
        per_ch[c as usize] += 1.0 / n;
    }
    let silent = per_ch.iter().filter(|&&x| x < 0.5).count();
    let max_ch = per_ch.iter().copied().fold(0.0, f64::max);
    eprintln!(
        "shd_like(): spikes per sample mean {mean:.0} (sd {sd:.0}), per channel and sample {per_channel:.2} (max {max_ch:.1}, {silent} channels below 0.5), mean last spike {mean_last:.3} s"
    );
    assert!((0.6..0.85).contains(&mean_last), "mean sample length {mean_last}");
    let mut classes = [0usize; 20];
    for &l in &r.labels {
        classes[l as usize] += 1;
    }
    assert!(classes.iter().all(|&c| c >= 8), "every class drawn: {classes:?}");
    // Deterministic from the seeds.
    assert_eq!(ShdLike::new(20, 700, 1.0, 0).split(SplitSpec { size: 3, seed: 42 }), {
        let mut r3 = RawEvents::new();
        for s in 0..3 {
            let rg = r.range(s);
            r3.push(&r.times[rg.clone()], &r.channels[rg], r.labels[s]);
        }
        r3
    });
}

#[test]
fn the_order_task_has_balanced_classes_and_its_noise_rate() {
    let task = OrderTask {
        channels: 20,
        splits: [SplitSpec { size: 1000, seed: 42 }; 3],
        duration: 0.3,
        gap: 0.1,
        burst: 0.01,
        noise: 2.0,
    };
    let r = order::split(&task, task.splits[0]);
    let ones = r.labels.iter().filter(|&&l| l == 1).count();
    assert!((450..=550).contains(&ones), "{ones} of 1000 are B-first");
    // 20 burst spikes plus 20 channels x 2 Hz x 0.3 s = 12 noise spikes.
    let mean = r.event_count() as f64 / 1000.0;
    assert!((mean - 32.0).abs() < 1.0, "mean spikes per sample {mean}");
}

/// The order task with `examples/recurrent.snn` (400 training samples, 10
/// epochs, seed 0): it learns the order; the same network without its
/// recurrent projection (feed-forward, no delays) stays near chance.
/// (Full-size numbers, 2000 samples and 40 epochs over three seeds, are in
/// docs/language.md.)
#[test]
fn the_order_task_needs_memory() {
    let example =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/recurrent.snn")).unwrap();
    let full = "order(train = 2000 @ seed 42, validation = 500 @ seed 41, test = 500 @ seed 40)";
    assert!(example.contains(full), "{example}");
    let recurrent = example.replace(full, "order(train = 400 @ seed 42, validation = 0, test = 200 @ seed 40)");
    let feed_forward: String =
        recurrent.lines().filter(|l| !l.contains("projection hidden -> hidden")).map(|l| format!("{l}\n")).collect();
    assert_ne!(feed_forward, recurrent);
    let accuracy = |text: &str| {
        let p = prepare(&net(text), Path::new(".")).unwrap();
        let mut state = TrainState::new(&p, 0, None);
        for _ in 0..10 {
            snnc_runtime::train::trainer::run_epoch(&p, &mut state, &mut |_, _| {}).unwrap();
        }
        snnc_runtime::train::batch::evaluate(&p.plan, &state.weights, p.test.as_ref().unwrap()).accuracy
    };
    let ff = accuracy(&feed_forward);
    let memory = accuracy(&recurrent);
    eprintln!("order task: feed-forward {ff}, recurrent with delays {memory}");
    assert!(ff < 0.65, "the feed-forward network learnt the order: {ff}");
    assert!(memory > 0.9, "the recurrent network with delays did not learn the order: {memory}");
}
