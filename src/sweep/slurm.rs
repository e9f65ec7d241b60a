//! Slurm: the sbatch job-array script of a sweep, and its submission.
//!
//! Each array task runs one trial: `snnc sweep --trial $SLURM_ARRAY_TASK_ID
//! --dir DIR` (the same code as a local sweep's trials), with
//! `RAYON_NUM_THREADS` set to the task's CPUs; its own output goes to
//! `DIR/slurm/logs/<job>_<task>.log`, training's to the trial's `train.log`.
//! Paths in the script are absolute: the binary and the sweep directory
//! must be on a file system every node sees.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Resources of one array task, and the array's throttle.
#[derive(Clone, Debug, Default)]
pub struct Resources {
    pub cpus: u32,
    /// `--time`, e.g. `00:30:00`.
    pub time: Option<String>,
    pub partition: Option<String>,
    /// `%K`: at most K tasks at once.
    pub max_parallel: Option<u32>,
    /// Extra `#SBATCH` options, each as given (`--mem=4G`).
    pub extra: Vec<String>,
}

/// `0-3`, or `1,3,5-7` for the trials still to run.
pub fn array_spec(todo: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < todo.len() {
        let mut j = i;
        while j + 1 < todo.len() && todo[j + 1] == todo[j] + 1 {
            j += 1;
        }
        parts.push(if j > i { format!("{}-{}", todo[i], todo[j]) } else { todo[i].to_string() });
        i = j + 1;
    }
    parts.join(",")
}

/// The logs folder of the array tasks.
pub fn logs_dir(sweep_dir: &Path) -> PathBuf {
    sweep_dir.join("slurm").join("logs")
}

/// The sbatch script running `todo` of the sweep in `sweep_dir` (absolute)
/// with the `snnc` binary `exe` (absolute).
pub fn script(exe: &Path, sweep_dir: &Path, name: &str, todo: &[u32], r: &Resources) -> String {
    let q = |p: &Path| shell_quote(&p.display().to_string());
    let mut s = String::from("#!/bin/bash\n# Written by `snnc sweep --slurm`: one array task per trial.\n");
    s += &format!("#SBATCH --job-name=snnc-sweep-{name}\n");
    let throttle = r.max_parallel.map_or(String::new(), |k| format!("%{k}"));
    s += &format!("#SBATCH --array={}{throttle}\n", array_spec(todo));
    s += &format!("#SBATCH --ntasks=1\n#SBATCH --cpus-per-task={}\n", r.cpus.max(1));
    if let Some(t) = &r.time {
        s += &format!("#SBATCH --time={t}\n");
    }
    if let Some(p) = &r.partition {
        s += &format!("#SBATCH --partition={p}\n");
    }
    s += &format!("#SBATCH --output={}/%A_%a.log\n", logs_dir(sweep_dir).display());
    for e in &r.extra {
        s += &format!("#SBATCH {e}\n");
    }
    s += "\nexport RAYON_NUM_THREADS=\"${SLURM_CPUS_PER_TASK:-1}\"\n";
    s += &format!("exec {} sweep --trial \"$SLURM_ARRAY_TASK_ID\" --dir {}\n", q(exe), q(sweep_dir));
    s
}

fn shell_quote(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:@%".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Submits `script` with `sbatch --parsable`; returns the job id.
pub fn submit(script: &Path) -> Result<String, String> {
    let out =
        Command::new("sbatch").arg("--parsable").arg(script).output().map_err(|e| {
            format!("cannot run sbatch: {e} (is Slurm installed here? `--dry-run` only writes the script)")
        })?;
    if !out.status.success() {
        return Err(format!(
            "sbatch {} failed ({}): {}",
            script.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let id = text.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() {
        return Err(format!("sbatch printed no job id: {text}"));
    }
    Ok(id)
}

/// The Slurm logs of trial `k`: `slurm/logs/<job>_<k>.log`, oldest first.
pub fn task_logs(sweep_dir: &Path, k: u32) -> Vec<PathBuf> {
    let suffix = format!("_{k}.log");
    let mut logs: Vec<PathBuf> = std::fs::read_dir(logs_dir(sweep_dir))
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().ends_with(&suffix)))
                .collect()
        })
        .unwrap_or_default();
    logs.sort_by_key(|p| {
        let n = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        (n.split('_').next().and_then(|j| j.parse::<u64>().ok()).unwrap_or(0), n)
    });
    logs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_compress_runs() {
        assert_eq!(array_spec(&[0, 1, 2, 3]), "0-3");
        assert_eq!(array_spec(&[1, 3, 5, 6, 7, 9]), "1,3,5-7,9");
        assert_eq!(array_spec(&[4]), "4");
    }

    #[test]
    fn script_has_the_resources_and_one_trial_per_task() {
        let r = Resources {
            cpus: 2,
            time: Some("00:30:00".into()),
            partition: Some("gpu".into()),
            max_parallel: Some(4),
            extra: vec!["--mem=4G".into()],
        };
        let s = script(Path::new("/opt/snnc"), Path::new("/scratch/my sweep"), "yy", &[0, 1, 2], &r);
        for line in [
            "#SBATCH --array=0-2%4",
            "#SBATCH --cpus-per-task=2",
            "#SBATCH --time=00:30:00",
            "#SBATCH --partition=gpu",
            "#SBATCH --mem=4G",
            "#SBATCH --output=/scratch/my sweep/slurm/logs/%A_%a.log",
            "exec /opt/snnc sweep --trial \"$SLURM_ARRAY_TASK_ID\" --dir '/scratch/my sweep'",
        ] {
            assert!(s.lines().any(|l| l == line), "{line} in\n{s}");
        }
    }
}
