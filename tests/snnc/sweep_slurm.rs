//! `snnc sweep --slurm` on a real Slurm: a 4-trial job array of the
//! Yin-Yang example (small splits, 2 epochs, the emulator), waited for with
//! `squeue`, gathered with `--collect`, gives exactly the table of the same
//! sweep run locally (every number but the seconds).
//!
//! Slurm is started by `.ci/slurm-up.sh` (CI runs it from `.ci/run`). Without
//! `sinfo` this test says why and passes, except under `CI=true`, where a
//! Slurm that cannot be reached fails it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn snnc_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snnc")).args(args).current_dir(dir).output().expect("snnc runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Why Slurm cannot take a job here, if it cannot.
fn slurm_unavailable() -> Option<String> {
    let out = match Command::new("sinfo").args(["-h", "-o", "%T"]).output() {
        Err(e) => {
            return Some(format!("`sinfo` cannot run ({e}): install slurm-wlm and munge and run .ci/slurm-up.sh"));
        }
        Ok(o) => o,
    };
    if !out.status.success() {
        return Some(format!(
            "`sinfo` failed ({}): {}; start the cluster with .ci/slurm-up.sh",
            out.status,
            text(&out.stderr).trim()
        ));
    }
    let states = text(&out.stdout);
    if !states.lines().any(|s| s.starts_with("idle") || s.starts_with("mixed") || s.starts_with("alloc")) {
        return Some(format!(
            "no Slurm node is up (sinfo: {:?}); start the cluster with .ci/slurm-up.sh",
            states.trim()
        ));
    }
    None
}

fn tiny_spec(dir: &Path) -> PathBuf {
    crate::sweep_cli::tiny_spec(dir, "")
}

fn rows_without_seconds(dir: &Path) -> Vec<serde_json::Value> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let mut rows = v["trials"].as_array().unwrap().clone();
    for r in &mut rows {
        r.as_object_mut().unwrap().remove("seconds");
    }
    rows
}

#[test]
fn a_slurm_job_array_gives_the_table_of_a_local_sweep() {
    if let Some(why) = slurm_unavailable() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true but Slurm is not reachable: {why}");
        }
        eprintln!("SKIPPED a_slurm_job_array_gives_the_table_of_a_local_sweep: {why}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    tiny_spec(d);
    let space = ["--set", "optimizer.lr=1e-3,4e-3", "--set", "train.seed=0..2", "--epochs", "2"];
    let mut args = vec!["sweep", "spec.snn", "--dir", "on-slurm"];
    args.extend(space);
    args.extend(["--slurm", "--slurm-cpus", "1", "--slurm-time", "00:05:00", "--slurm-max-parallel", "2"]);
    let out = snnc_in(d, &args);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    let job = stdout
        .split("submitted job ")
        .nth(1)
        .and_then(|s| s.split(':').next())
        .unwrap_or_else(|| panic!("no job id in: {stdout}"))
        .to_string();
    eprintln!("{stdout}");

    // Wait until the job has left the queue (there is no accounting database:
    // the trials' status.json files say how each task ended).
    let start = Instant::now();
    loop {
        let q = Command::new("squeue").args(["-h", "-j", &job]).output().expect("squeue runs");
        if text(&q.stdout).trim().is_empty() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "job {job} still queued after 300 s:\n{}", text(&q.stdout));
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("job {job} done in {:.1} s", start.elapsed().as_secs_f64());
    let slurm_dir = d.join("on-slurm");
    for k in 0..4 {
        let status =
            std::fs::read_to_string(slurm_dir.join(format!("trials/{k:04}/status.json"))).unwrap_or_else(|e| {
                panic!("trial {k} wrote no status ({e}); logs in {}", slurm_dir.join("slurm/logs").display())
            });
        assert!(status.contains("\"exit_code\":0"), "trial {k}: {status}");
        assert!(slurm_dir.join(format!("slurm/logs/{job}_{k}.log")).is_file(), "trial {k}'s Slurm log");
    }
    let out = snnc_in(d, &["sweep", "--collect", "on-slurm"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    eprintln!("{}", text(&out.stdout));

    let mut local = vec!["sweep", "spec.snn", "--dir", "here"];
    local.extend(space);
    let out = snnc_in(d, &local);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let (a, b) = (rows_without_seconds(&slurm_dir), rows_without_seconds(&d.join("here")));
    assert_eq!(a.len(), 4);
    assert_eq!(a, b, "the Slurm table differs from the local one");
}
