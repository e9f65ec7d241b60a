//! Event data through the binary: short training runs on SHD- and
//! SSC-layout files (the reference backend), bad files as snapshot-tested
//! reports with no run directory left behind, and the emulator's "not yet
//! supported".

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn snnc_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(args)
        .current_dir(dir)
        .env("SNNC_MEMORY_LIMIT", (8u64 << 30).to_string())
        .output()
        .expect("snnc runs")
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/h5")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A folder with `data/` holding the fixtures and `spec.snn` with `data`.
fn project(data: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    for f in std::fs::read_dir(fixtures()).unwrap() {
        let f = f.unwrap().path();
        if f.extension().is_some_and(|e| e == "h5") {
            std::fs::copy(&f, dir.path().join("data").join(f.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(dir.path().join("data/text.h5"), "not an HDF5 file\n").unwrap();
    let spec = format!(
        "network shd_small {{
    time {{ dt = 1 ms; steps = 500 }}
    population input  = spike_source(140) {{ encoding = events(pool = 5) }}
    population hidden = lif(32) {{ tau_mem = 20 ms; tau_syn = 5 ms }}
    population output = li(20) {{ tau_mem = 20 ms; tau_syn = 5 ms }}
    projection input  -> hidden = dense {{ init = normal(mean = 0.5, std = 0.5, scale = fan_in_sqrt) }}
    projection hidden -> hidden = dense {{ init = normal(mean = 0, std = 0.1, scale = fan_in_sqrt) }}
    projection hidden -> output = dense {{ init = normal(mean = 0, std = 1, scale = fan_in_sqrt) }}
}}
train {{
    data      = {data}
    readout   = output
    loss      = sum_voltage_cross_entropy()
    optimizer = adam(lr = 1e-3)
    augment   = (shift(40), blend(p = 0.5), dilate(0.9 .. 1.1), jitter(1 ms))
    batch     = 8
    epochs    = 2
}}
"
    );
    std::fs::write(dir.path().join("spec.snn"), spec).unwrap();
    dir
}

#[test]
fn trains_on_shd_layout_files_through_the_cli() {
    let p = project(
        "shd(train = \"data/shd_small_train.h5\", test = \"data/shd_small_test.h5\", validation = speakers(3))",
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let spec = p.path().join("spec.snn");
    let run = p.path().join("run");
    let args = ["train", spec.to_str().unwrap(), "--backend", "reference", "--out", run.to_str().unwrap()];
    let out = snnc_in(elsewhere.path(), &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // 60 samples: speaker 3's 15 validate, 45 train, 22 blended per epoch.
    assert!(stdout.contains("data train: 45 samples, "), "{stdout}");
    assert!(stdout.contains("data validation: 15 samples, "), "{stdout}");
    assert!(stdout.contains("data test: 24 samples, "), "{stdout}");
    assert!(stdout.contains("past the 500 ms window dropped"), "{stdout}");
    assert!(stdout.contains("(67 training samples per epoch)"), "{stdout}");
    assert!(stdout.contains("epoch   2/2") && stdout.contains("test accuracy"), "{stdout}");
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 3, "{metrics}");
    // The summary shows the event input and the data set.
    let out = snnc_in(p.path(), &["check", "spec.snn"]);
    let summary = text(&out.stdout);
    assert!(
        summary.contains("140 inputs + no bias; events, pool 5 channels per input, window 500 steps (500 ms)"),
        "{summary}"
    );
    assert!(summary.contains("shd(train = \"data/shd_small_train.h5\", test = \"data/shd_small_test.h5\", validation = speakers(3)), 700 channels, 20 classes"), "{summary}");
    assert!(
        summary.contains("augment    blend(p = 0.5, keep = 0.5), shift(40), dilate(0.9 .. 1.1), jitter(1 ms)"),
        "{summary}"
    );
}

/// SSC's layout: 35 classes, the validation split from its own file.
#[test]
fn trains_on_ssc_layout_files_with_their_validation_file() {
    let p = project(
        "ssc(train = \"data/ssc_small_train.h5\", validation = \"data/ssc_small_valid.h5\", test = \"data/ssc_small_test.h5\")",
    );
    let spec = std::fs::read_to_string(p.path().join("spec.snn")).unwrap().replace("li(20)", "li(35)");
    std::fs::write(p.path().join("spec.snn"), spec).unwrap();
    let out = snnc_in(p.path(), &["train", "spec.snn", "--backend", "reference", "--out", "run", "--epochs", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // 70 training samples and round(0.5 * 70) = 35 blended per epoch.
    assert!(stdout.contains("data train: 70 samples, "), "{stdout}");
    assert!(stdout.contains("data validation: 35 samples, "), "{stdout}");
    assert!(stdout.contains("data test: 35 samples, "), "{stdout}");
    assert!(stdout.contains("(105 training samples per epoch)"), "{stdout}");
    assert!(std::fs::read_to_string(p.path().join("run/metrics.csv")).unwrap().lines().count() == 2);
}

/// The emulator trains on event data (each epoch's augmented event lists
/// written into DRAM, the input PEs fetching them by DMA) and ends with the
/// same metrics as the reference trainer; `build` writes the program.
#[test]
fn the_emulator_trains_event_inputs_from_dram_as_the_reference_does() {
    let p = project("shd(train = \"data/shd_small_train.h5\", test = \"data/shd_small_test.h5\")");
    let mut metrics = Vec::new();
    for backend in ["reference", "emulator"] {
        let run = format!("run_{backend}");
        let out = snnc_in(p.path(), &["train", "spec.snn", "--backend", backend, "--out", &run, "--epochs", "1"]);
        assert!(out.status.success(), "{backend}: {}", text(&out.stderr));
        if backend == "emulator" {
            let report = text(&out.stdout) + &text(&out.stderr);
            assert!(report.contains("DMA transfers from DRAM"), "{report}");
        }
        metrics.push(std::fs::read_to_string(p.path().join(&run).join("metrics.csv")).unwrap());
    }
    // The same numbers but the wall time (its own column).
    let strip = |csv: &str| -> Vec<String> {
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        let skip = header.iter().position(|h| h.contains("seconds"));
        csv.lines()
            .map(|l| {
                l.split(',').enumerate().filter(|(i, _)| Some(*i) != skip).map(|(_, c)| c).collect::<Vec<_>>().join(",")
            })
            .collect()
    };
    assert_eq!(strip(&metrics[0]), strip(&metrics[1]));
    let out = snnc_in(p.path(), &["build", "spec.snn", "-o", "prog"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(p.path().join("prog").exists());
}

#[test]
fn bad_event_files_are_reported_and_leave_no_run_directory() {
    let cases = [
        ("label_beyond_the_readout", "shd(train = \"data/bad_label_beyond.h5\")"),
        ("channel_beyond_the_input", "shd(train = \"data/bad_channel_beyond.h5\")"),
        ("empty_sample", "shd(train = \"data/shd_small_train.h5\", test = \"data/bad_empty_sample.h5\")"),
        ("times_and_units_of_different_lengths", "shd(train = \"data/bad_length_mismatch.h5\")"),
        ("nan_time", "shd(train = \"data/bad_nan_time.h5\")"),
        ("negative_time", "shd(train = \"data/bad_negative_time.h5\")"),
        ("missing_labels", "shd(train = \"data/bad_missing_labels.h5\")"),
        ("float_units", "shd(train = \"data/bad_float_units.h5\")"),
        ("missing_file", "shd(train = \"data/shd_train.h5\")"),
        ("not_hdf5", "shd(train = \"data/text.h5\")"),
        ("unknown_speakers", "shd(train = \"data/shd_small_train.h5\", validation = speakers(4, 5))"),
        ("validation_fraction_leaves_nothing", "shd(train = \"data/shd_small_train.h5\", validation = 0.999)"),
    ];
    for (name, data) in cases {
        let p = project(data);
        let out = snnc_in(p.path(), &["train", "spec.snn", "--backend", "reference", "--out", "run"]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", text(&out.stderr));
        assert!(!p.path().join("run").exists(), "{name}: a run directory was left");
        insta::with_settings!({ description => data, omit_expression => true, snapshot_path => "snapshots/event_cli" }, {
            insta::assert_snapshot!(name, text(&out.stderr));
        });
    }
}

/// `examples/shd.snn` (mlGeNN's SHD recipe: 700 inputs through a 10-copy
/// delay line, 256 recurrent LIF, 20 LI, exp-weighted voltage loss,
/// spike-count regulariser, shift and blend, Adam, batch 32, dt 1 ms, 1000
/// steps) with the h5py-written SHD-layout fixtures as its data files: it
/// checks, trains an epoch with the reference trainer (the run directory
/// complete), places with its hidden layer's synapses in DRAM (a hidden
/// neuron's need more than a PE's SRAM) and lowers: its hidden kernels have
/// a DRAM region and read their weight rows by DMA.
#[test]
fn the_shd_example_trains_on_shd_layout_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(root.join("examples/shd.snn"), d.join("shd.snn")).unwrap();
    std::fs::create_dir(d.join("data")).unwrap();
    std::fs::copy(fixtures().join("shd_small_train.h5"), d.join("data/shd_train.h5")).unwrap();
    std::fs::copy(fixtures().join("shd_small_test.h5"), d.join("data/shd_test.h5")).unwrap();
    let out = snnc_in(d, &["check", "shd.snn"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert!(summary.contains("delays 0 ms .. 270 ms (10 copies)"), "{summary}");
    assert!(summary.contains("1862656 trainable parameters"), "{summary}");

    let out = snnc_in(d, &["train", "shd.snn", "--backend", "reference", "--epochs", "1", "--out", "run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for want in [
        "training shd (1862656 trainable weights) on 60 samples",
        "data train: 60 samples, 3472 events -> 3389 input spikes on 1000 steps (83 merged (same input, same step))",
        "data test: 24 samples, 1399 events -> 1365 input spikes on 1000 steps",
        "blend(p = 0.94, keep = 0.5), shift(40) every epoch (116 training samples per epoch)",
        "epoch   1/1",
        "test accuracy",
    ] {
        assert!(stdout.contains(want), "{want}:\n{stdout}");
    }
    assert_eq!(std::fs::read_to_string(d.join("run/metrics.csv")).unwrap().lines().count(), 2);
    assert!(d.join("run/weights.safetensors").exists());

    let out = snnc_in(d, &["place", "shd.snn", "--summary"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("synapses: dram"), "{}", text(&out.stdout));
    let out = snnc_in(d, &["build", "shd.snn", "--emit", "kernel-ir"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let kir = text(&out.stdout);
    assert!(kir.contains("kernel layer_hidden budget 98304 dram 590288"), "{}", &kir[..kir.len().min(2000)]);
    assert!(kir.contains("dma_read wrow[0i]"), "the hidden layer reads its weight rows");
}

/// The memory estimate covers event data (generated sets by their size,
/// files by theirs): too large is refused before anything is written.
#[test]
fn event_data_beyond_memory_is_refused_up_front() {
    let p = project("shd_like(classes = 20, channels = 700, train = 10000000 @ seed 1)");
    let spec = std::fs::read_to_string(p.path().join("spec.snn"))
        .unwrap()
        .replace("spike_source(140) { encoding = events(pool = 5) }", "spike_source(700) { encoding = events() }");
    std::fs::write(p.path().join("spec.snn"), spec).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(["train", "spec.snn", "--backend", "reference", "--out", "run"])
        .current_dir(p.path())
        .env("SNNC_MEMORY_LIMIT", (1u64 << 30).to_string())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("snn::train::too_large") && err.contains("the data set takes about"), "{err}");
    assert!(!p.path().join("run").exists());
    // A file counts by its size: 10 MiB of file is about 2.6 M events.
    let big = p.path().join("data/big.h5");
    std::fs::copy(p.path().join("data/shd_small_train.h5"), &big).unwrap();
    std::fs::OpenOptions::new().append(true).open(&big).unwrap().set_len(10 << 20).unwrap();
    let text2 = std::fs::read_to_string(p.path().join("spec.snn"))
        .unwrap()
        .replace("shd_like(classes = 20, channels = 700, train = 10000000 @ seed 1)", "shd(train = \"data/big.h5\")");
    std::fs::write(p.path().join("spec.snn"), text2).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(["train", "spec.snn", "--backend", "reference", "--out", "run"])
        .current_dir(p.path())
        .env("SNNC_MEMORY_LIMIT", (40u64 << 20).to_string())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("snn::train::too_large"), "{}", text(&out.stderr));
    assert!(!p.path().join("run").exists());
}
