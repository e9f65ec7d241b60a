//! Running trials: each is a child `snnc train` of the trial's spec, its
//! output appended to the trial's `train.log`, its exit status written to
//! `status.json`. The same function runs a trial of a local sweep and a
//! Slurm array task (`snnc sweep --trial K`).
//!
//! Invariants: a trial whose run directory holds a complete summary is never
//! run again; one with a checkpoint continues from it (`--resume`, which is
//! bit-identical to an uninterrupted run); a trial is run by at most one
//! process at a time (an exclusive lock on `trials/K/.lock`); results do not
//! depend on the number of threads a trial gets.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc;

use snnc_runtime::fsio::write_atomic;
use snnc_runtime::train::run::CHECKPOINT;

use super::plan::{Definition, SPEC, trial_dir};
use super::results::{self, TrialResult};

/// The files of one trial.
pub struct TrialFiles {
    pub dir: PathBuf,
    pub spec: PathBuf,
    pub run: PathBuf,
    pub log: PathBuf,
    pub status: PathBuf,
}

impl TrialFiles {
    pub fn of(sweep_dir: &Path, def: &Definition, k: u32) -> TrialFiles {
        let dir = trial_dir(sweep_dir, k, def.trials.len());
        TrialFiles {
            spec: dir.join(SPEC),
            run: dir.join("run"),
            log: dir.join("train.log"),
            status: dir.join("status.json"),
            dir,
        }
    }
}

/// `status.json`: how the last attempt at a trial ended.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Status {
    /// The exit code of `snnc train`, when it exited.
    pub exit_code: Option<i32>,
    /// The signal that ended it, when one did.
    pub signal: Option<i32>,
}

impl Status {
    pub fn describe(&self) -> String {
        match (self.exit_code, self.signal) {
            (Some(c), _) => format!("exit status {c}"),
            (None, Some(s)) => format!("killed by signal {s}"),
            (None, None) => "no exit status".into(),
        }
    }
}

/// What came of running (or skipping) a trial.
#[derive(Debug)]
pub enum Outcome {
    /// It has a complete summary (now, or already before).
    Finished { result: TrialResult, ran: bool },
    /// `snnc train` ended without one.
    Failed(Status),
    /// Another process holds the trial's lock.
    Busy,
}

/// Runs trial `k` unless it is finished or locked. `threads` sets the
/// child's `RAYON_NUM_THREADS` (unset: inherited).
pub fn run_trial(sweep_dir: &Path, def: &Definition, k: u32, threads: Option<usize>) -> Result<Outcome, String> {
    let f = TrialFiles::of(sweep_dir, def, k);
    let lock_path = f.dir.join(".lock");
    let lock = File::create(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    if lock.try_lock().is_err() {
        return Ok(Outcome::Busy);
    }
    if let Some(result) = results::finished(&f.run) {
        return Ok(Outcome::Finished { result, ran: false });
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the snnc binary: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.arg("train").arg(&f.spec).arg("--backend").arg(&def.backend).arg("--json");
    if f.run.join(CHECKPOINT).exists() {
        cmd.arg("--resume").arg(&f.run);
    } else {
        cmd.arg("--out").arg(&f.run);
    }
    if let Some(t) = threads {
        cmd.env("RAYON_NUM_THREADS", t.to_string());
    }
    let mut log =
        OpenOptions::new().create(true).append(true).open(&f.log).map_err(|e| format!("{}: {e}", f.log.display()))?;
    let args: Vec<String> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
    writeln!(log, "== snnc sweep, trial {k}: snnc {}", args.join(" "))
        .map_err(|e| format!("{}: {e}", f.log.display()))?;
    let err = log.try_clone().map_err(|e| format!("{}: {e}", f.log.display()))?;
    let status = cmd
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .status()
        .map_err(|e| format!("cannot start snnc train for trial {k}: {e}"))?;
    let st = Status { exit_code: status.code(), signal: signal_of(&status) };
    let json = serde_json::to_string(&st).expect("plain data") + "\n";
    write_atomic(&f.status, json.as_bytes()).map_err(|e| e.to_string())?;
    drop(lock);
    match (status.success(), results::finished(&f.run)) {
        (true, Some(result)) => Ok(Outcome::Finished { result, ran: true }),
        _ => Ok(Outcome::Failed(st)),
    }
}

#[cfg(unix)]
fn signal_of(s: &std::process::ExitStatus) -> Option<i32> {
    std::os::unix::process::ExitStatusExt::signal(s)
}

#[cfg(not(unix))]
fn signal_of(_: &std::process::ExitStatus) -> Option<i32> {
    None
}

/// The status of the last attempt at a trial, if one ended.
pub fn last_status(f: &TrialFiles) -> Option<Status> {
    serde_json::from_str(&std::fs::read_to_string(&f.status).ok()?).ok()
}

/// Runs `todo` on `jobs` worker threads, each trial a child process with
/// `threads` rayon threads; `on_done` sees every outcome on the calling
/// thread, in the order they end.
pub fn run_local(
    sweep_dir: &Path,
    def: &Definition,
    todo: &[u32],
    jobs: usize,
    threads: usize,
    on_done: &mut dyn FnMut(u32, Result<Outcome, String>),
) {
    let queue = Mutex::new(todo.iter().copied().collect::<std::collections::VecDeque<u32>>());
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            let tx = tx.clone();
            let queue = &queue;
            s.spawn(move || {
                loop {
                    let next = queue.lock().map_or(None, |mut q| q.pop_front());
                    let Some(k) = next else { break };
                    let outcome = run_trial(sweep_dir, def, k, Some(threads));
                    if tx.send((k, outcome)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (k, outcome) in rx {
            on_done(k, outcome);
        }
    });
}
