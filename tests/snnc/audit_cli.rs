//! Regressions of the hands-on audit (issue 14) through the real binary:
//! closed pipes and full disks, run directories that collide, sizes that
//! do not fit memory, outputs that would destroy inputs or files snnc did
//! not write, absent splits, and the exit-status table.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_snnc"));
    c.env("SNNC_MEMORY_LIMIT", (8u64 << 30).to_string());
    c
}

fn snnc_in(dir: &Path, args: &[&str]) -> Output {
    bin().args(args).current_dir(dir).output().expect("snnc runs")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `examples/yinyang.snn` shrunk (16 hidden, 440 training samples), with
/// `edit` applied to its text, written to `dir/name`.
fn spec(dir: &Path, name: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let text = std::fs::read_to_string(root().join("examples/yinyang.snn")).unwrap();
    let text = text.replace("lif(120)", "lif(16)").replace(
        "train = 5000 @ seed 42, validation = 1000 @ seed 41, test = 1000 @ seed 40",
        "train = 440 @ seed 42, validation = 100 @ seed 41, test = 100 @ seed 40",
    );
    assert!(text.contains("lif(16)") && text.contains("440 @ seed 42"), "the example changed shape");
    let path = dir.join(name);
    std::fs::write(&path, edit(text)).unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_closed_pipe_ends_the_printing_not_the_training() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), "small.snn", |t| t);
    for json in [false, true] {
        let run = dir.path().join(format!("run-{json}"));
        let mut args = vec!["train", s(&spec), "--epochs", "3", "--backend", "reference", "--out", s(&run)];
        if json {
            args.push("--json");
        }
        let mut child = bin().args(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        // The reader is dropped here: every later write meets a closed pipe.
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "json {json}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
        let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
        assert_eq!(csv.lines().count(), 4, "all three epochs trained:\n{csv}");
    }
    // The long outputs of place and build, cut after their first line.
    for args in [
        vec!["place", "examples/large.snn"],
        vec!["build", "examples/deep.snn", "--emit", "kernel-ir"],
        vec!["help", "train"],
    ] {
        let mut child =
            bin().args(&args).current_dir(root()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(!first.is_empty());
    }
}

#[test]
fn an_unwritable_stdout_is_a_clean_error_after_the_work() {
    if !Path::new("/dev/full").exists() {
        eprintln!("SKIPPED: no /dev/full on this system");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), "small.snn", |t| t);
    let run = dir.path().join("run");
    let full = || std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = bin()
        .args(["train", s(&spec), "--epochs", "2", "--backend", "reference", "--out", s(&run)])
        .stdout(full())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot write to stdout"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(run.join("metrics.csv")).unwrap().lines().count(), 3, "both epochs trained");
    let out = bin().args(["place", "examples/yinyang.snn"]).current_dir(root()).stdout(full()).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}

#[test]
fn default_run_directories_never_collide() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), "small.snn", |t| t);
    let start = |seed: &str| {
        bin()
            .args(["train", s(&spec), "--epochs", "1", "--backend", "reference", "--json", "--seed", seed])
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children: Vec<_> = ["1", "2", "3"].iter().map(|seed| start(seed)).collect();
    let mut dirs = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let last = String::from_utf8(out.stdout).unwrap().lines().last().unwrap().to_string();
        let v: serde_json::Value = serde_json::from_str(&last).unwrap();
        dirs.push(v["run_dir"].as_str().unwrap().to_string());
    }
    dirs.sort();
    dirs.dedup();
    assert_eq!(dirs.len(), 3, "three runs, three directories: {dirs:?}");
    for d in &dirs {
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(d).join("metrics.json")).unwrap()).unwrap();
        assert!(json["summary"].is_object(), "{d} holds a finished run");
    }
}

#[test]
fn sizes_beyond_memory_are_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let big = spec(dir.path(), "big.snn", |t| t.replace("train = 440 @ seed 42", "train = 100000000 @ seed 42"));
    let out = bin()
        .args(["train", s(&big), "--backend", "reference", "--out", s(&dir.path().join("r"))])
        .env("SNNC_MEMORY_LIMIT", (1u64 << 30).to_string())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("snn::train::too_large") && err.contains("GiB") && err.contains("1.0 GiB"), "{err}");
    assert!(!dir.path().join("r").exists(), "nothing written");
}

#[test]
fn outputs_never_replace_inputs_or_files_snnc_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = spec(d, "small.snn", |t| t);
    let original = std::fs::read(&spec).unwrap();
    let run = d.join("run");
    assert!(
        snnc_in(d, &["train", s(&spec), "--epochs", "1", "--backend", "reference", "--out", "run"]).status.success()
    );
    let weights = run.join("weights.safetensors");
    let before = std::fs::read(&weights).unwrap();

    // grad --out = --weights; place -o = the spec.
    let o = snnc_in(d, &["grad", s(&spec), "--weights", s(&weights), "--samples", "0..4", "--out", s(&weights)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("snn::io::overwrites_input"));
    assert_eq!(std::fs::read(&weights).unwrap(), before);
    let o = snnc_in(d, &["place", s(&spec), "-o", s(&spec), "--force"]);
    assert_eq!(o.status.code(), Some(1), "an input is refused even with --force");
    assert_eq!(std::fs::read(&spec).unwrap(), original);

    // emit -o DIR holding the user's Makefile; train --out DIR holding the user's metrics.csv.
    std::fs::create_dir(d.join("fw")).unwrap();
    std::fs::write(d.join("fw/Makefile"), "all:\n\t@echo mine\n").unwrap();
    let o = snnc_in(d, &["emit", s(&spec), "-o", "fw"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("snn::io::not_snnc_output"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(d.join("fw/Makefile")).unwrap(), "all:\n\t@echo mine\n");
    assert!(snnc_in(d, &["emit", s(&spec), "-o", "fw", "--force"]).status.success());
    assert!(snnc_in(d, &["emit", s(&spec), "-o", "fw"]).status.success(), "its own files need no --force");
    std::fs::create_dir(d.join("r2")).unwrap();
    std::fs::write(d.join("r2/metrics.csv"), "mine\n").unwrap();
    let o = snnc_in(d, &["train", s(&spec), "--epochs", "1", "--backend", "reference", "--out", "r2"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(d.join("r2/metrics.csv")).unwrap(), "mine\n");

    // place -o and grad --out create missing folders; a second place replaces its own file.
    assert!(snnc_in(d, &["place", s(&spec), "-o", "a/b/p.yaml"]).status.success());
    assert!(snnc_in(d, &["place", s(&spec), "-o", "a/b/p.yaml"]).status.success());
    std::fs::write(d.join("a/b/user.yaml"), "mine: 1\n").unwrap();
    assert_eq!(snnc_in(d, &["place", s(&spec), "-o", "a/b/user.yaml"]).status.code(), Some(1));
    let o =
        snnc_in(d, &["grad", s(&spec), "--weights", s(&weights), "--samples", "0..4", "--out", "g/h/g.safetensors"]);
    assert!(o.status.success(), "{}", stderr(&o));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(run.join("metrics.csv")).unwrap().permissions().mode();
        assert_ne!(mode & 0o777, 0o600, "run files are not private");
    }
}

#[test]
fn empty_splits_are_absent_not_zero() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), "nosplits.snn", |t| {
        t.replace("validation = 100 @ seed 41, test = 100 @ seed 40", "validation = 0 @ seed 41, test = 0 @ seed 40")
    });
    let run = dir.path().join("run");
    let out = snnc_in(
        dir.path(),
        &["train", s(&spec), "--epochs", "1", "--backend", "reference", "--out", s(&run), "--json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert!(summary["test_accuracy"].is_null() && summary["validation_accuracy"].is_null(), "{summary}");
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let row: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    assert_eq!((row[3], row[4]), ("", ""), "validation loss and accuracy absent: {csv}");
    let out = snnc_in(dir.path(), &["train", s(&spec), "--epochs", "1", "--backend", "reference"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("no test split, no validation split, 1 epoch"), "{text}");
}

#[test]
fn epochs_outside_the_language_range_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), "small.snn", |t| t);
    for bad in ["0", "1000001", "-1", "x"] {
        let out = snnc_in(dir.path(), &["train", s(&spec), "--epochs", bad, "--out", "e"]);
        assert_eq!(out.status.code(), Some(1), "--epochs {bad}");
        assert!(!dir.path().join("e").exists(), "--epochs {bad} wrote a run directory");
    }
    let out = snnc_in(dir.path(), &["bench", s(&spec), "--epochs", "0"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn resuming_a_finished_run_trains_and_tests_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), "small.snn", |t| t);
    let first = snnc_in(dir.path(), &["train", s(&spec), "--epochs", "2", "--backend", "reference", "--out", "r"]);
    assert!(first.status.success());
    let metrics = std::fs::read(dir.path().join("r/metrics.json")).unwrap();
    // A comment does not make the spec another one.
    let commented = std::fs::read_to_string(&spec).unwrap() + "\n// tried again\n";
    std::fs::write(&spec, commented).unwrap();
    let again = snnc_in(dir.path(), &["train", s(&spec), "--epochs", "2", "--backend", "reference", "--resume", "r"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let text = String::from_utf8(again.stdout).unwrap();
    assert!(text.starts_with("the run in r has completed 2 epochs (asked for 2); nothing to train"), "{text}");
    assert_eq!(std::fs::read(dir.path().join("r/metrics.json")).unwrap(), metrics, "nothing rewritten");
}

#[test]
fn a_csv_program_directory_trains_wherever_it_is_run_from() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("data")).unwrap();
    let mut rows = String::from("x,y,one_minus_x,one_minus_y,label\n");
    for i in 0..44 {
        let x = f64::from(i) / 44.0;
        rows += &format!("{x},{},{},{},{}\n", 1.0 - x, 1.0 - x, x, i % 3);
    }
    std::fs::write(d.join("data/train.csv"), &rows).unwrap();
    let spec = spec(d, "csv.snn", |t| {
        t.replace(
            "yin_yang(train = 440 @ seed 42, validation = 100 @ seed 41, test = 100 @ seed 40)",
            "csv(train = \"data/train.csv\")",
        )
    });
    assert!(snnc_in(d, &["build", s(&spec), "-o", "prog"]).status.success());
    let elsewhere = tempfile::tempdir().unwrap();
    let out = snnc_in(elsewhere.path(), &["run", s(&d.join("prog")), "--epochs", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A second run says how to continue, with flags `run` has.
    let out = snnc_in(elsewhere.path(), &["run", s(&d.join("prog")), "--epochs", "1"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("snnc run ") && err.contains("prog --resume`") && err.contains("prog --force`"), "{err}");
    let out = snnc_in(elsewhere.path(), &["run", s(&d.join("prog")), "--epochs", "2", "--resume"]);
    assert!(out.status.success(), "{}", stderr(&out));
}
