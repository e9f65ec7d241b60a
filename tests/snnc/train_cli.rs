//! `snnc train`, `grad`, `gradcheck` and `bench` through the binary: the
//! `--json` stream, the run directory, resume, and the rejections.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn snnc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snnc")).args(args).output().expect("snnc runs")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `examples/yinyang.snn` shrunk (16 hidden, 440 training samples) into `dir`.
fn small_spec(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(root().join("examples/yinyang.snn")).unwrap();
    let text = text.replace("lif(120)", "lif(16)").replace(
        "train = 5000 @ seed 42, validation = 1000 @ seed 41, test = 1000 @ seed 40",
        "train = 440 @ seed 42, validation = 100 @ seed 41, test = 100 @ seed 40",
    );
    assert!(text.contains("lif(16)") && text.contains("440 @ seed 42"), "the example changed shape");
    let path = dir.join("small.snn");
    std::fs::write(&path, text).unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn json_stream_and_run_directory() {
    let dir = tempfile::tempdir().unwrap();
    let spec = small_spec(dir.path());
    let run = dir.path().join("run");
    let out = snnc(&["train", s(&spec), "--epochs", "2", "--out", s(&run), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> =
        stdout.lines().map(|l| serde_json::from_str(l).expect("every line is JSON")).collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert_eq!(lines[0]["epoch"], 1);
    assert_eq!(lines[1]["epoch"], 2);
    let summary = &lines[2];
    assert_eq!(summary["epochs"], 2);
    for key in ["test_accuracy", "validation_accuracy"] {
        let v = summary[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{key} = {v}");
    }
    assert!(summary["seconds"].as_f64().unwrap() > 0.0);
    for f in ["spec.snn", "weights.safetensors", "checkpoint.safetensors", "metrics.csv", "metrics.json", "curves.svg"]
    {
        assert!(run.join(f).is_file(), "{f}");
    }
    assert_eq!(std::fs::read_to_string(run.join("spec.snn")).unwrap(), std::fs::read_to_string(&spec).unwrap());
    // safetensors header: names and [post, pre] shapes.
    let bytes = std::fs::read(run.join("weights.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    assert_eq!(header["input->hidden"]["shape"], serde_json::json!([16, 5]));
    assert_eq!(header["hidden->output"]["shape"], serde_json::json!([3, 16]));
    assert_eq!(header["hidden->output"]["dtype"], "F32");
    let curves = std::fs::read_to_string(run.join("curves.svg")).unwrap();
    let test = format!("test after the last epoch: {:.2}%", summary["test_accuracy"].as_f64().unwrap() * 100.0);
    assert!(curves.starts_with("<svg") && curves.contains(&test), "curves.svg shows the test accuracy: {test}");

    // A second fresh run into the same directory is refused.
    let again = snnc(&["train", s(&spec), "--epochs", "1", "--out", s(&run)]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--resume"));
}

/// M10: a layer that cannot spike is named in a warning after the first
/// epoch and after the last (on stderr; `--json` keeps stdout to its
/// objects); a layer that spikes is not.
#[test]
fn a_layer_that_never_spikes_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let spec = small_spec(dir.path());
    let text = std::fs::read_to_string(&spec).unwrap();
    let silent = text.replacen("threshold = 1.0", "threshold = 1e30", 1);
    assert_ne!(silent, text);
    std::fs::write(&spec, silent).unwrap();
    for backend in ["reference", "emulator"] {
        let run = dir.path().join(format!("run-{backend}"));
        let out = snnc(&["train", s(&spec), "--epochs", "2", "--backend", backend, "--out", s(&run), "--json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let warnings: Vec<&str> = stderr.lines().filter(|l| l.starts_with("warning: layer")).collect();
        assert_eq!(warnings.len(), 4, "hidden and output, after epochs 1 and 2:\n{stderr}");
        assert!(warnings[0].contains("`hidden`") && warnings[0].contains("440 training samples after epoch 1"));
        assert!(warnings[1].contains("`output`") && warnings[3].contains("after epoch 2"), "{stderr}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(stdout.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()), "{stdout}");
    }
    let normal = small_spec(dir.path());
    let out = snnc(&["train", s(&normal), "--epochs", "1", "--out", s(&dir.path().join("ok"))]);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning: layer"));
}

#[test]
fn resume_from_the_cli_is_bit_identical() {
    let dir = tempfile::tempdir().unwrap();
    let spec = small_spec(dir.path());
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    assert!(snnc(&["train", s(&spec), "--epochs", "3", "--out", s(&a), "--json"]).status.success());
    assert!(snnc(&["train", s(&spec), "--epochs", "1", "--out", s(&b), "--json"]).status.success());
    let resumed = snnc(&["train", s(&spec), "--epochs", "3", "--resume", s(&b), "--json"]);
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let lines = String::from_utf8(resumed.stdout).unwrap();
    assert_eq!(lines.lines().count(), 3, "epochs 2 and 3, then the summary:\n{lines}");
    assert_eq!(
        std::fs::read(a.join("weights.safetensors")).unwrap(),
        std::fs::read(b.join("weights.safetensors")).unwrap()
    );
    assert_eq!(
        std::fs::read(a.join("checkpoint.safetensors")).unwrap().len(),
        std::fs::read(b.join("checkpoint.safetensors")).unwrap().len()
    );

    // A different spec cannot resume this run.
    let other = dir.path().join("other.snn");
    std::fs::write(&other, std::fs::read_to_string(&spec).unwrap().replace("seed      = 0", "seed      = 1")).unwrap();
    let out = snnc(&["train", s(&other), "--resume", s(&b)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("differs from the spec of the run"));
}

#[test]
fn init_weights_grad_and_seed() {
    let dir = tempfile::tempdir().unwrap();
    let spec = small_spec(dir.path());
    let run = dir.path().join("run");
    assert!(snnc(&["train", s(&spec), "--epochs", "1", "--out", s(&run), "--json", "--seed", "7"]).status.success());
    let weights = run.join("weights.safetensors");
    let g = dir.path().join("g.safetensors");
    let out =
        snnc(&["grad", s(&spec), "--weights", s(&weights), "--split", "test", "--samples", "0..10", "--out", s(&g)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("mean loss over test samples 0..10") && text.contains("hidden->output"), "{text}");
    assert!(g.is_file());
    let bad =
        snnc(&["grad", s(&spec), "--weights", s(&weights), "--split", "test", "--samples", "0..1000", "--out", s(&g)]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("out of range"));
    // --init-weights starts from a file; a wrong file is rejected with its reason.
    let run2 = dir.path().join("run2");
    assert!(
        snnc(&["train", s(&spec), "--epochs", "1", "--out", s(&run2), "--init-weights", s(&weights), "--json"])
            .status
            .success()
    );
    let wrong =
        snnc(&["train", s(&spec), "--epochs", "1", "--out", s(&dir.path().join("run3")), "--init-weights", s(&spec)]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("not a safetensors file"));
}

/// The small spec with its mapping line replaced by `mapping`, trained for
/// two epochs with both backends: their per-epoch losses and accuracies and
/// the test accuracy are the same.
fn both_backends_agree(mapping: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, spec) = (tmp.path(), small_spec(tmp.path()));
    let text = std::fs::read_to_string(&spec).unwrap().replace("mapping  = batch_parallel", mapping);
    assert!(text.contains(mapping), "the example changed shape");
    std::fs::write(&spec, text).unwrap();
    let spec = spec.as_path();
    let place = snnc(&["place", s(spec)]);
    assert!(place.status.success(), "{}", String::from_utf8_lossy(&place.stderr));
    let mut last = Vec::new();
    for backend in ["emulator", "reference"] {
        let out =
            snnc(&["train", s(spec), "--backend", backend, "--epochs", "2", "--json", "--out", s(&dir.join(backend))]);
        assert!(out.status.success(), "{backend}: {}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let keep = ["train_loss", "train_accuracy", "validation_loss", "validation_accuracy", "test_accuracy"];
        let numbers: Vec<String> =
            lines.iter().map(|l| keep.iter().map(|k| l[*k].to_string()).collect::<Vec<_>>().join(" ")).collect();
        assert!(numbers.iter().any(|l| l.contains("0.")), "{backend}: no numbers in {stdout}");
        last.push(numbers);
    }
    assert_eq!(last[0], last[1]);
}

/// A hidden layer split over two PEs trains in the emulator to the same
/// numbers as the reference trainer.
#[test]
fn a_split_layer_trains_the_same_in_both_backends() {
    both_backends_agree("mapping  = batch_parallel\n    neurons_per_core = 8");
}

/// One PE group for the whole batch (`mapping = single_copy`) trains in the
/// emulator to the same numbers as the reference trainer.
#[test]
fn single_copy_trains_the_same_in_both_backends() {
    both_backends_agree("mapping  = single_copy");
}

#[test]
fn csv_data_errors_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("examples/yinyang.snn")).unwrap();
    let text = text.replace(
        "yin_yang(train = 5000 @ seed 42, validation = 1000 @ seed 41, test = 1000 @ seed 40)",
        "csv(train = \"train.csv\", test = \"test.csv\")",
    );
    std::fs::write(dir.path().join("c.snn"), text).unwrap();
    let mut rows = String::from("x,y,a,b,label\n");
    for i in 0..30 {
        rows += &format!("0.{i},0.5,0.{i},0.5,{}\n", i % 3);
    }
    std::fs::write(dir.path().join("train.csv"), &rows).unwrap();
    std::fs::write(dir.path().join("test.csv"), "x,y,a,b,label\n0.1,0.2,0.9,0.8,1\n0.1,0.2,0.9,9\n").unwrap();
    let spec = dir.path().join("c.snn");
    let out = snnc(&["train", s(&spec), "--epochs", "1", "--out", s(&dir.path().join("r"))]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("test.csv:3") && err.contains("expected 5 columns"), "{err}");
    std::fs::write(dir.path().join("test.csv"), "x,y,a,b,label\n0.1,0.2,0.9,0.8,1\n").unwrap();
    let out = snnc(&["train", s(&spec), "--epochs", "1", "--out", s(&dir.path().join("r")), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_file(dir.path().join("train.csv")).unwrap();
    let out = snnc(&["train", s(&spec), "--epochs", "1", "--out", s(&dir.path().join("r2"))]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read data file"));
}

#[test]
fn gradcheck_and_bench_run() {
    let dir = tempfile::tempdir().unwrap();
    let spec = small_spec(dir.path());
    let out = snnc(&["gradcheck", s(&spec), "--samples", "4", "--refine", "1,2,20"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    // One row per grid, and the verdict.
    assert_eq!(text.lines().filter(|l| l.contains("input->hidden")).count(), 4, "{text}");
    let verdict = text.lines().find(|l| l.starts_with("  input->hidden: ")).expect("a verdict line");
    assert!(verdict.contains("converge") && verdict.contains("of 1 seed"), "{verdict}");
    assert!(out.stderr.is_empty(), "no progress bar off a terminal: {}", String::from_utf8_lossy(&out.stderr));
    let csv = dir.path().join("samples.csv");
    let out = snnc(&[
        "gradcheck",
        s(&spec),
        "--samples",
        "3",
        "--seeds",
        "2",
        "--refine",
        "1,20",
        "--exclude-grazing",
        "0.01",
        "--markdown",
        "--samples-csv",
        s(&csv),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.contains("--seeds 2 --samples 3 --exclude-grazing 0.01 --refine 1,20 --markdown"), "{md}");
    assert!(md.contains("| input->hidden | 0.05 |") && md.contains("/2 |"), "{md}");
    let rows = std::fs::read_to_string(&csv).unwrap();
    // Header + seeds x samples x grids x projections.
    assert_eq!(rows.lines().count(), 1 + 2 * 3 * 2 * 2, "{rows}");
    // An li readout: its voltage loss' gradient is compared without a dt factor.
    let li = root().join("examples/gradcheck/li_sum.snn");
    let out = snnc(&["gradcheck", s(&li), "--samples", "2", "--refine", "1,20"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("no dt factor") && text.contains("  hidden->output: "), "{text}");
    // The whole model class is covered: a regularised spec runs too.
    let regularised = dir.path().join("regularised.snn");
    let text = std::fs::read_to_string(&spec).unwrap();
    let text = text.replacen(
        "    batch     = 22",
        "    regularizer = spike_count(populations = hidden, strength = 1e-3, target = 2)\n    batch     = 22",
        1,
    );
    assert!(text.contains("spike_count"), "the example changed shape");
    std::fs::write(&regularised, text).unwrap();
    let out = snnc(&["gradcheck", s(&regularised), "--samples", "2", "--refine", "1,20"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("  hidden->output: "));
    for bad in [&["--refine", "0"][..], &["--exclude-grazing", "-1"], &["--samples", "100000"]] {
        let mut a = vec!["gradcheck", s(&spec)];
        a.extend_from_slice(bad);
        assert_eq!(snnc(&a).status.code(), Some(1), "{bad:?}");
    }
    let out = snnc(&["bench", s(&spec), "--epochs", "1", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["samples_per_epoch"], 440);
    assert_eq!(
        v["rows"].as_array().unwrap().iter().map(|r| r["threads"].as_u64().unwrap()).collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(v["rows"][0]["train_loss"].as_f64().unwrap().is_finite());
    assert!(v["lif_spikes_per_sample"]["hidden"].as_f64().unwrap() > 0.0, "{v}");
    // The emulator's row says how much of its epoch the batch ends took.
    let out = snnc(&["bench", s(&spec), "--epochs", "1", "--threads", "1", "--backend", "emulator", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let emulator = v["rows"].as_array().unwrap().iter().find(|r| r["backend"] == "emulator").expect("an emulator row");
    let (ends, epoch) = (emulator["batch_end_seconds"].as_f64().unwrap(), emulator["epoch_seconds"].as_f64().unwrap());
    assert!(ends > 0.0 && ends < epoch, "{v}");
    let reference = v["rows"].as_array().unwrap().iter().find(|r| r["backend"] == "reference").unwrap();
    assert!(reference["batch_end_seconds"].is_null(), "{v}");
    let out = snnc(&["bench", s(&spec), "--epochs", "1", "--threads", "2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("reference 2 thread(s)") && !text.contains("1 thread(s)"), "{text}");
    assert!(text.contains("hidden: ") && text.contains("spikes per sample"), "{text}");
    for bad in ["0", "x", "1,,2"] {
        assert_eq!(snnc(&["bench", s(&spec), "--threads", bad]).status.code(), Some(1), "--threads {bad}");
    }
}

#[test]
fn ambiguous_filter_reports_what_it_removed() {
    let dir = tempfile::tempdir().unwrap();
    let spec = small_spec(dir.path());
    let text =
        std::fs::read_to_string(&spec).unwrap().replace("seed      = 0", "seed      = 0\n    filter_ambiguous = true");
    std::fs::write(&spec, text).unwrap();
    let out = snnc(&["train", s(&spec), "--epochs", "1", "--out", s(&dir.path().join("r"))]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let line = stdout.lines().find(|l| l.starts_with("ambiguous-point filter removed")).expect("the filter reports");
    let removed: usize = line.split_whitespace().nth(3).unwrap().parse().unwrap();
    assert!(removed > 0 && removed < 440, "{line}");
    assert!(stdout.contains(&format!("on {} samples", 440 - removed)), "{stdout}");
}
