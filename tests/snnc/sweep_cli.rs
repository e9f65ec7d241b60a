//! `snnc sweep` through the binary: the diagnostics of a search space
//! (insta snapshots of the rendered report), a local sweep whose every trial
//! equals the same spec trained alone, resume (finished trials skipped,
//! interrupted ones continued bit-identically), failed trials, and the
//! directory guard.
//!
//! The trials are Yin-Yang with small splits (200 training points, batch 10)
//! and one or two epochs, on the reference backend: seconds per test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn snnc_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("FORCE_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("snnc runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `examples/yinyang.snn` with small splits and batch 10, plus `extra`
/// (e.g. a sweep block), written to `dir/spec.snn`.
pub fn tiny_spec(dir: &Path, extra: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let t = std::fs::read_to_string(root.join("examples/yinyang.snn")).unwrap();
    let t = t
        .replace(
            "train = 5000 @ seed 42, validation = 1000 @ seed 41, test = 1000 @ seed 40",
            "train = 200 @ seed 42, validation = 100 @ seed 41, test = 100 @ seed 40",
        )
        .replace("batch     = 22", "batch     = 10");
    assert!(t.contains("200 @ seed 42") && t.contains("batch     = 10"), "the example changed shape");
    let path = dir.join("spec.snn");
    std::fs::write(&path, format!("{t}{extra}")).unwrap();
    path
}

/// Runs a sweep that must be rejected; returns its report (stderr).
fn rejected(extra: &str, args: &[&str]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    tiny_spec(tmp.path(), extra);
    let mut all = vec!["sweep", "spec.snn"];
    all.extend(args);
    let out = snnc_in(tmp.path(), &all);
    assert_eq!(out.status.code(), Some(1), "stdout: {}\nstderr: {}", text(&out.stdout), text(&out.stderr));
    assert!(!tmp.path().join("sweeps").exists(), "a rejected sweep makes no directory");
    text(&out.stderr)
}

macro_rules! snapshot {
    ($name:expr, $description:expr, $report:expr) => {
        insta::with_settings!({ description => $description, omit_expression => true }, {
            insta::assert_snapshot!($name, $report);
        })
    };
}

#[test]
fn unknown_paths_suggest_the_paths_of_the_spec() {
    let args = ["--set", "optimizer.lrr=1e-3", "--set", "population.hiden.tau_mem=10ms", "--set", "tau_syn=1ms"];
    snapshot!("unknown_path", args.join(" "), rejected("", &args));
}

#[test]
fn a_value_out_of_range_is_the_checkers_error_in_the_trial_spec() {
    let args = ["--set", "optimizer.lr=-1,1e-3", "--set", "train.seed=0..2"];
    snapshot!("value_out_of_range", args.join(" "), rejected("", &args));
    // Inserted where the spec leaves the parameter at its default.
    let args = ["--set", "population.output.tau_syn=20ms"];
    snapshot!("value_conflicts_where_inserted", args.join(" "), rejected("", &args));
}

#[test]
fn bad_ranges() {
    let args = ["--set", "train.seed=5..2", "--set", "train.batch=0.5..2", "--set", "loss.xi=0.."];
    snapshot!("bad_ranges", args.join(" "), rejected("", &args));
}

#[test]
fn sweep_block_errors() {
    let block = "\nsweep rand(trials = 4) {\n    optimizer.lr = 1e-3, 2e-3\n}\n";
    snapshot!("block_unknown_mode", block, rejected(block, &[]));
    let block = "\nsweep {\n    optimizer.lr = log_uniform(1e-4, 1e-2)\n    train.sed = 0..2\n    train.seed = 1\n    train.seed = 2\n}\n";
    snapshot!("block_grid_errors", block, rejected(block, &[]));
    let block = "\nsweep random(seed = 1) {\n    optimizer.lr = log_uniform(-1, 1e-2)\n    loss.xi = uniform(1 steps, 2 ms)\n}\n";
    snapshot!("block_random_errors", block, rejected(block, &[]));
    snapshot!("nothing_to_sweep", "no --set, no sweep block", rejected("", &[]));
}

#[test]
fn the_checker_and_train_accept_a_spec_with_a_sweep_block() {
    let tmp = tempfile::tempdir().unwrap();
    tiny_spec(tmp.path(), "\nsweep random(trials = 3, seed = 0) { optimizer.lr = log_uniform(1e-4, 1e-2) }\n");
    let out = snnc_in(tmp.path(), &["check", "spec.snn"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = snnc_in(tmp.path(), &["train", "spec.snn", "--backend", "reference", "--epochs", "1", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = snnc_in(tmp.path(), &["sweep", "--help"]);
    assert!(text(&out.stdout).contains("the end is exclusive"), "{}", text(&out.stdout));
}

fn results(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap()
}

/// The rows of results.json without the seconds (which differ between runs).
fn rows_without_seconds(dir: &Path) -> Vec<serde_json::Value> {
    let mut rows = results(dir)["trials"].as_array().unwrap().clone();
    for r in &mut rows {
        r.as_object_mut().unwrap().remove("seconds");
    }
    rows
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("JSON")).collect()
}

#[test]
fn a_local_sweep_equals_each_trial_trained_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    tiny_spec(d, "\nsweep {\n    optimizer.lr = 1e-3, 4e-3\n    train.seed   = 0..2\n}\n");
    let out = snnc_in(d, &["sweep", "spec.snn", "--backend", "reference", "--epochs", "2", "--jobs", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("4 trials, grid over optimizer.lr (2 values) x train.seed (2 values)"), "{stdout}");
    assert!(stdout.contains("* best validation accuracy: trial"), "{stdout}");
    let sweep = d.join("sweeps/spec");
    let res = results(&sweep);
    let rows = res["trials"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    let params: Vec<String> =
        rows.iter().map(|r| format!("{} {}", r["params"]["optimizer.lr"], r["params"]["train.seed"])).collect();
    assert_eq!(params, ["\"1e-3\" \"0\"", "\"1e-3\" \"1\"", "\"4e-3\" \"0\"", "\"4e-3\" \"1\""]);
    let csv = std::fs::read_to_string(sweep.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(csv.starts_with("trial,optimizer.lr,train.seed,status,epochs,train_loss,"), "{csv}");
    assert!(std::fs::read_to_string(sweep.join("accuracy.svg")).unwrap().starts_with("<svg"));
    // The best trial is the one with the highest final validation accuracy.
    let best = res["best_trial"].as_u64().unwrap() as usize;
    let val = |r: &serde_json::Value| r["validation_accuracy"].as_f64().unwrap();
    assert!(rows.iter().all(|r| val(r) <= val(&rows[best])));

    for (k, row) in rows.iter().enumerate() {
        let trial = sweep.join(format!("trials/{k:04}"));
        let spec = std::fs::read_to_string(trial.join("spec.snn")).unwrap();
        let lr = row["params"]["optimizer.lr"].as_str().unwrap();
        let seed = row["params"]["train.seed"].as_str().unwrap();
        assert!(spec.contains(&format!("adam(lr = {lr}, ")), "{spec}");
        assert!(spec.contains(&format!("seed      = {seed}\n")), "{spec}");
        assert!(spec.contains("epochs    = 2\n") && !spec.contains("sweep"), "{spec}");
        // The trial alone, with `snnc train`, from its own spec.
        let alone = d.join(format!("alone{k}"));
        let out = snnc_in(
            d,
            &[
                "train",
                trial.join("spec.snn").to_str().unwrap(),
                "--backend",
                "reference",
                "--json",
                "--out",
                alone.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let lines = json_lines(&out);
        let (last_epoch, summary) = (&lines[lines.len() - 2], &lines[lines.len() - 1]);
        assert_eq!(row["epochs"], summary["epochs"]);
        assert_eq!(row["test_accuracy"], summary["test_accuracy"]);
        assert_eq!(row["validation_accuracy"], summary["validation_accuracy"]);
        assert_eq!(row["train_loss"], last_epoch["train_loss"]);
        assert_eq!(row["validation_loss"], last_epoch["validation_loss"]);
        assert_eq!(
            std::fs::read(alone.join("weights.safetensors")).unwrap(),
            std::fs::read(trial.join("run/weights.safetensors")).unwrap(),
            "trial {k}: the weights differ from the trial trained alone"
        );
    }

    // One trial at a time, in another directory: the same table.
    let out =
        snnc_in(d, &["sweep", "spec.snn", "--backend", "reference", "--epochs", "2", "--jobs", "1", "--dir", "one"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(rows_without_seconds(&d.join("one")), rows_without_seconds(&sweep));
}

#[test]
fn a_rerun_skips_finished_trials_and_completes_interrupted_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    tiny_spec(d, "");
    let args = [
        "sweep",
        "spec.snn",
        "--set",
        "optimizer.lr=1e-3,4e-3",
        "--set",
        "train.seed=0..2",
        "--backend",
        "reference",
        "--epochs",
        "2",
    ];
    let out = snnc_in(d, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let sweep = d.join("sweeps/spec");
    let trial = |k: usize| sweep.join(format!("trials/{k:04}"));
    let weights = |k: usize| std::fs::read(trial(k).join("run/weights.safetensors")).unwrap();
    let before: Vec<Vec<u8>> = (0..4).map(weights).collect();
    let table = rows_without_seconds(&sweep);
    let logs: Vec<String> = (0..4).map(|k| std::fs::read_to_string(trial(k).join("train.log")).unwrap()).collect();

    // Trial 1 interrupted after its first epoch: its run directory as
    // `snnc train` leaves it then (checkpoint of epoch 1, no summary).
    let run1 = trial(1).join("run");
    std::fs::remove_dir_all(&run1).unwrap();
    let spec1 = trial(1).join("spec.snn");
    let out = snnc_in(
        d,
        &[
            "train",
            spec1.to_str().unwrap(),
            "--backend",
            "reference",
            "--epochs",
            "1",
            "--json",
            "--out",
            run1.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run1.join("metrics.json")).unwrap()).unwrap();
    metrics["summary"] = serde_json::Value::Null;
    std::fs::write(run1.join("metrics.json"), metrics.to_string()).unwrap();
    // Trial 2 killed before its first checkpoint.
    std::fs::remove_dir_all(trial(2).join("run")).unwrap();
    std::fs::remove_file(trial(2).join("status.json")).unwrap();

    // `--collect` lists them as not finished.
    let out = snnc_in(d, &["sweep", "--collect", "sweeps/spec"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("2 of 4 trials did not finish"), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    let line = "  trial 1 (optimizer.lr = 1e-3, train.seed = 1): not finished; log sweeps/spec/trials/0001/train.log";
    assert!(listed.contains(line), "{listed}");
    assert!(listed.contains("  trial 2 (optimizer.lr = 4e-3, train.seed = 0): not finished; log"), "{listed}");

    let out = snnc_in(d, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("2 of 4 trials already finished") && stdout.contains("running 2 trials"), "{stdout}");
    for k in [0, 3] {
        let log = std::fs::read_to_string(trial(k).join("train.log")).unwrap();
        assert_eq!(log, logs[k], "trial {k} was finished: it must not run again");
    }
    let log1 = std::fs::read_to_string(trial(1).join("train.log")).unwrap();
    assert!(log1.lines().rfind(|l| l.starts_with("== snnc sweep")).is_some_and(|l| l.contains("--resume")), "{log1}");
    for (k, w) in before.iter().enumerate() {
        assert_eq!(&weights(k), w, "trial {k}: not bit-identical to the uninterrupted sweep");
    }
    assert_eq!(rows_without_seconds(&sweep), table);

    // A third run has nothing to do.
    let out = snnc_in(d, &args);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("4 of 4 trials already finished"), "{}", text(&out.stdout));
}

#[test]
fn a_failed_trial_is_listed_the_others_finish_and_a_rerun_completes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    tiny_spec(d, "");
    let args =
        ["sweep", "spec.snn", "--set", "train.seed=0..3", "--backend", "reference", "--epochs", "1", "--dir", "s"];
    // Make the directory without running anything (a Slurm dry run).
    let mut dry = args.to_vec();
    dry.extend(["--slurm", "--dry-run", "--slurm-time", "00:05:00"]);
    let out = snnc_in(d, &dry);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let script = std::fs::read_to_string(d.join("s/slurm/sweep.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-2\n") && script.contains("#SBATCH --time=00:05:00\n"), "{script}");
    // Trial 1 cannot write its run directory: a file is in the way.
    std::fs::write(d.join("s/trials/0001/run"), "not a directory").unwrap();
    let out = snnc_in(d, &args);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stdout.contains("trial 1 (") && stdout.contains("FAILED (exit status 3)"), "{stdout}");
    let line = "  trial 1 (train.seed = 1): failed, exit status 3; log s/trials/0001/train.log";
    assert!(stdout.contains(line), "{stdout}");
    assert!(stderr.contains("1 of 3 trials did not finish"), "{stderr}");
    let csv = std::fs::read_to_string(d.join("s/results.csv")).unwrap();
    assert!(csv.lines().nth(2).unwrap().starts_with("1,1,failed (exit status 3),,"), "{csv}");
    assert_eq!(csv.lines().filter(|l| l.contains(",finished,")).count(), 2, "{csv}");
    std::fs::remove_file(d.join("s/trials/0001/run")).unwrap();
    let out = snnc_in(d, &args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("2 of 3 trials already finished"));
}

#[test]
fn a_directory_holding_another_sweep_is_refused_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    tiny_spec(d, "");
    let run = |lr: &str, force: bool| {
        let set = format!("optimizer.lr={lr}");
        let mut a = vec!["sweep", "spec.snn", "--set", &set, "--backend", "reference", "--epochs", "1", "--dir", "s"];
        if force {
            a.push("--force");
        }
        snnc_in(d, &a)
    };
    assert_eq!(run("1e-3,2e-3", false).status.code(), Some(0));
    let out = run("1e-3,3e-3", false);
    assert_eq!(out.status.code(), Some(1));
    snapshot!("directory_differs", "--set optimizer.lr=1e-3,3e-3 after 1e-3,2e-3", text(&out.stderr));
    let out = run("1e-3,3e-3", true);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(results(&d.join("s"))["trials"][1]["params"]["optimizer.lr"], "3e-3");
}

#[test]
fn a_random_sweep_draws_from_numpy_random_state_and_reruns_identically() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let block = "\nsweep random(trials = 2, seed = 5) {\n    optimizer.lr = log_uniform(1e-3, 1e-2)\n    train.seed = 0, 1\n    loss.xi = uniform(1 steps, 2 steps)\n}\n";
    tiny_spec(d, block);
    let out = snnc_in(d, &["sweep", "spec.snn", "--backend", "reference", "--epochs", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("4 trials, 2 random draws (seed 5) of optimizer.lr = log_uniform(1e-3, 1e-2), train.seed (2 values), loss.xi = uniform(1 steps, 2 steps) from the spec's sweep block"), "{}", text(&out.stdout));
    // Draw d: lr then xi from one RandomState(5); each draw runs with seeds 0 and 1.
    let mut rng = snnc_runtime::rng::RandomState::new(5);
    let mut want = Vec::new();
    for _ in 0..2 {
        let lr = rng.uniform(1e-3f64.ln(), 1e-2f64.ln()).exp();
        let xi = rng.uniform(1.0, 2.0);
        for seed in ["0", "1"] {
            want.push(serde_json::json!({"optimizer.lr": format!("{lr}"), "train.seed": seed, "loss.xi": format!("{xi} steps")}));
        }
    }
    let rows = rows_without_seconds(&d.join("sweeps/spec"));
    let got: Vec<serde_json::Value> = rows.iter().map(|r| r["params"].clone()).collect();
    assert_eq!(got, want);
    let spec3 = std::fs::read_to_string(d.join("sweeps/spec/trials/0003/spec.snn")).unwrap();
    assert!(spec3.contains(&format!("xi = {}", want[3]["loss.xi"].as_str().unwrap())), "{spec3}");
    // The same sweep in another directory draws the same trials and numbers.
    let out =
        snnc_in(d, &["sweep", "spec.snn", "--backend", "reference", "--epochs", "1", "--dir", "again", "--jobs", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(rows_without_seconds(&d.join("again")), rows);
}

/// Ctrl-C: SIGINT to the sweep's process group (as a terminal sends it)
/// while trial 1 is training. Finished trials stay finished; a rerun
/// completes the rest, and the table and weights equal an uninterrupted
/// sweep's.
#[cfg(unix)]
#[test]
fn an_interrupted_sweep_completes_on_rerun_bit_identically() {
    use std::os::unix::process::CommandExt;
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let spec = tiny_spec(d, "");
    let t = std::fs::read_to_string(&spec).unwrap().replace("train = 200 @ seed 42", "train = 1000 @ seed 42");
    std::fs::write(&spec, t).unwrap();
    let args =
        ["sweep", "spec.snn", "--set", "train.seed=0..3", "--backend", "reference", "--epochs", "4", "--jobs", "1"];
    let mut child = Command::new(env!("CARGO_BIN_EXE_snnc"))
        .args(args)
        .current_dir(d)
        .process_group(0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let trial1 = d.join("sweeps/spec/trials/0001/run/checkpoint.safetensors");
    let start = std::time::Instant::now();
    while !trial1.exists() && start.elapsed() < std::time::Duration::from_secs(120) {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let pgid = child.id().to_string();
    let kill = Command::new("kill").args(["-INT", "--", &format!("-{pgid}")]).status().unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    let summary = |k: usize| {
        let m =
            std::fs::read_to_string(d.join(format!("sweeps/spec/trials/{k:04}/run/metrics.json"))).unwrap_or_default();
        m.contains("\"summary\": {")
    };
    eprintln!("interrupted: {status}; trials finished: {:?}", (0..3).map(summary).collect::<Vec<_>>());
    assert!(summary(0), "trial 0 finished before the interrupt");

    let out = snnc_in(d, &args);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let mut whole = args.to_vec();
    whole.extend(["--dir", "whole"]);
    let out = snnc_in(d, &whole);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(rows_without_seconds(&d.join("sweeps/spec")), rows_without_seconds(&d.join("whole")));
    for k in 0..3 {
        let w = |dir: &str| std::fs::read(d.join(format!("{dir}/trials/{k:04}/run/weights.safetensors"))).unwrap();
        assert_eq!(w("sweeps/spec"), w("whole"), "trial {k}");
    }
}
