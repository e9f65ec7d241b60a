//! `snnc sweep`'s machinery, beside the CLI wiring in `cmd/sweep.rs`.
//!
//! Input: a checked search space (`snnc_compiler::sweep`) and the trial
//! specs it stands for. Output: a sweep directory of trials, each trained by
//! a child `snnc train` (locally in parallel, or as one task of a Slurm job
//! array), and the results gathered from the trials' run directories.
//!
//! - `plan`: the trials (random draws from numpy's `RandomState`), `sweep.json`, the directory;
//! - `exec`: running one trial, and a local pool of them;
//! - `results`: the table (`results.csv`, `results.json`, the printed table);
//! - `svg`: `accuracy.svg`;
//! - `slurm`: the sbatch array script and its submission.

pub mod exec;
pub mod plan;
pub mod results;
pub mod slurm;
pub mod svg;
