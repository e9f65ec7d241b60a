//! Command implementations. Each returns `Result<(), Failure>`; `run_guarded`
//! renders failures once and maps them to exit codes:
//! 0 success, 1 the user's input was rejected, 2 an internal error (a panic is
//! a bug and is reported as one).

pub mod check;
pub mod place;
pub mod train;

use std::path::Path;
use std::process::ExitCode;

use miette::{NamedSource, Report};
use snnc_compiler::ValidNetwork;

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// The user's input (file, flags, data) was rejected: exit status 1.
    Rejected(Report),
    /// Something went wrong that is not the user's fault: exit status 2.
    Internal(Report),
}

impl Failure {
    pub fn rejected(msg: impl std::fmt::Display) -> Self {
        Failure::Rejected(miette::miette!("{msg}"))
    }
    pub fn internal(msg: impl std::fmt::Display) -> Self {
        Failure::Internal(miette::miette!("{msg}"))
    }
    /// A part of snnc that is not built yet.
    pub fn not_yet_supported(what: &str) -> Self {
        Failure::Internal(miette::miette!(
            code = "snnc::not_yet_supported",
            "{what} is not yet supported"
        ))
    }
}

pub type CmdResult = Result<(), Failure>;

/// A source file, read once, kept for rendering diagnostics.
pub struct Source {
    pub name: String,
    pub text: String,
}

impl Source {
    pub fn read(path: &Path) -> Result<Source, Failure> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::rejected(format!("cannot read {}: {e}", path.display())))?;
        Ok(Source { name: path.display().to_string(), text })
    }

    pub fn named(&self) -> NamedSource<String> {
        NamedSource::new(&self.name, self.text.clone())
    }
}

/// Reads and checks a `.snn` file; rejection carries the rendered diagnostics.
pub fn load_network(path: &Path) -> Result<(Source, ValidNetwork), Failure> {
    let src = Source::read(path)?;
    match snnc_compiler::check_source(&src.name, &src.text) {
        Ok(net) => Ok((src, net)),
        Err(diags) => Err(Failure::Rejected(Report::new(diags).with_source_code(src.named()))),
    }
}

/// Runs a command, renders its failure, turns a panic into exit status 2.
pub fn run_guarded(f: impl FnOnce() -> CmdResult + std::panic::UnwindSafe) -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("snnc: internal error (this is a bug, please report it): {info}");
    }));
    match std::panic::catch_unwind(f) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(Failure::Rejected(r))) => {
            eprintln!("{r:?}");
            ExitCode::from(1)
        }
        Ok(Err(Failure::Internal(r))) => {
            eprintln!("{r:?}");
            ExitCode::from(2)
        }
        Err(_) => ExitCode::from(2),
    }
}
