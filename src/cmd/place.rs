//! `snnc place FILE [--format yaml|svg] [--summary] [-o OUT]`.
//!
//! Input: a `.snn` file. Output: the placement report (YAML) or a picture of
//! the placement (SVG: every PE, or with `--summary` one cell per chip), on
//! stdout or in `OUT`; a rejected file or a network
//! that does not fit its target is reported with the diagnostics pointing at
//! the source (exit 1); a broken mapping invariant is an internal error (exit 2).

use std::path::PathBuf;

use miette::Report;
use snnc_compiler::ErrorClass;
use snnc_compiler::driver::{MapError, map_network};
use snnc_compiler::{svg, yaml};
use snnc_runtime::fsio;

use super::{CmdResult, Failure, Out, Source, load_network};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Svg,
}

#[derive(clap::Args, Debug)]
pub struct PlaceArgs {
    /// The .snn file to map.
    pub file: PathBuf,
    /// Output format: `yaml`, the placement report; `svg`, a picture: one panel per used chip at its
    /// board position (chip x, y), its QPE grid (qx, qy), every PE coloured by role with its batch
    /// copy number and a tooltip naming its slice.
    #[arg(long, value_enum, default_value_t = Format::Yaml)]
    pub format: Format,
    /// The short form: the YAML report without its per-PE, per-slice and routing-table records; the
    /// SVG picture as a board overview, one small cell per chip of the target (the readable choice
    /// for a many-chip board).
    #[arg(long)]
    pub summary: bool,
    /// Write to this file (its missing folders are created) instead of stdout.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// Replace the output file even when snnc did not write it.
    #[arg(long, requires = "output")]
    pub force: bool,
}

/// A mapping failure as a command failure, with the source attached.
pub fn map_failure(src: &Source, e: MapError) -> Failure {
    let class = if e.is_user_error() { ErrorClass::Rejected } else { ErrorClass::Internal };
    Failure::new(class, Report::new(e).with_source_code(src.named()))
}

/// The text `snnc place` prints for a file, signed as snnc's output.
pub fn place_text(args: &PlaceArgs) -> Result<String, Failure> {
    let (src, net) = load_network(&args.file)?;
    let mapped = map_network(&net).map_err(|e| map_failure(&src, e))?;
    match args.format {
        Format::Yaml => yaml::to_yaml(&yaml::placement_report(&net, &mapped, args.summary))
            .map(|y| format!("# written by snnc: the placement report of network {}\n{y}", net.name))
            .map_err(|e| Failure::internal(format!("cannot write the placement report: {e}"))),
        Format::Svg => {
            let picture = if args.summary {
                svg::board_overview_svg(&net.name, &mapped)
            } else {
                svg::placement_svg(&net.name, &mapped)
            };
            Ok(format!("<!-- written by snnc: the placement of network {} -->\n{picture}", net.name))
        }
    }
}

pub fn place(args: PlaceArgs) -> CmdResult {
    if let Some(path) = &args.output {
        // Refuse before the work, then write after it.
        fsio::check_output_file(path, &[&args.file], args.force)?;
    }
    let text = place_text(&args)?;
    match &args.output {
        Some(path) => Ok(fsio::write_output_file(path, &[&args.file], args.force, text.as_bytes())?),
        None => {
            let mut out = Out::new();
            out.text(&text);
            out.finish()
        }
    }
}
