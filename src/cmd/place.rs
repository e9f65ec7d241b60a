//! `snnc place`.

use std::path::PathBuf;

use super::{CmdResult, Failure};

#[derive(clap::Args, Debug)]
pub struct PlaceArgs {
    /// The .snn file to map.
    pub file: PathBuf,
}

pub fn place(_args: PlaceArgs) -> CmdResult {
    Err(Failure::not_yet_supported("snnc place"))
}
