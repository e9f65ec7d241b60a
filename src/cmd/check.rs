//! `snnc check` and `snnc graph`.

use std::path::PathBuf;

use super::{CmdResult, load_network};

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The .snn file to check.
    pub file: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct GraphArgs {
    /// The .snn file to draw.
    pub file: PathBuf,
}

pub fn check(args: CheckArgs) -> CmdResult {
    let (_src, _net) = load_network(&args.file)?;
    Err(super::Failure::not_yet_supported("the check summary"))
}

pub fn graph(args: GraphArgs) -> CmdResult {
    let (_src, _net) = load_network(&args.file)?;
    Err(super::Failure::not_yet_supported("snnc graph"))
}
