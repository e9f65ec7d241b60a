//! `snnc train`, `snnc grad`, `snnc gradcheck`.

use std::path::PathBuf;

use super::{CmdResult, Failure};

#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// The .snn file whose network and `train` block to use.
    pub file: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct GradArgs {
    /// The .snn file.
    pub file: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct GradcheckArgs {
    /// The .snn file.
    pub file: PathBuf,
}

pub fn train(_args: TrainArgs) -> CmdResult {
    Err(Failure::not_yet_supported("snnc train"))
}

pub fn grad(_args: GradArgs) -> CmdResult {
    Err(Failure::not_yet_supported("snnc grad"))
}

pub fn gradcheck(_args: GradcheckArgs) -> CmdResult {
    Err(Failure::not_yet_supported("snnc gradcheck"))
}
