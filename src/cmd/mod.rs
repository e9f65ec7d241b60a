//! Command implementations. Each returns `Result<(), Failure>`; `run_guarded`
//! renders failures once and maps them to exit codes:
//! 0 success, 1 the user's input was rejected, 2 an internal error (a panic is
//! a bug and is reported as one).

pub mod build;
pub mod check;
pub mod emit;
pub mod place;
pub mod sweep;
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
        Failure::Internal(miette::miette!(code = "snnc::not_yet_supported", "{what} is not yet supported"))
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
    let net = check(&src)?;
    Ok((src, net))
}

/// Checks a source already read; rejection carries its diagnostics with the
/// source attached for rendering.
pub fn check(src: &Source) -> Result<ValidNetwork, Failure> {
    snnc_compiler::check_source(&src.name, &src.text)
        .map_err(|diags| Failure::Rejected(Report::new(diags).with_source_code(src.named())))
}

/// The process exit status of a command's outcome: 0 success, 1 the input was
/// rejected, 2 an internal error.
pub fn exit_status<T>(result: &Result<T, Failure>) -> u8 {
    match result {
        Ok(_) => 0,
        Err(Failure::Rejected(_)) => 1,
        Err(Failure::Internal(_)) => 2,
    }
}

/// Runs a command, renders its failure, turns a panic into exit status 2.
pub fn run_guarded(f: impl FnOnce() -> CmdResult + std::panic::UnwindSafe) -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("snnc: internal error (this is a bug, please report it): {info}");
    }));
    match std::panic::catch_unwind(f) {
        Ok(result) => {
            let status = exit_status(&result);
            if let Err(Failure::Rejected(r) | Failure::Internal(r)) = result {
                eprintln!("{r:?}");
            }
            ExitCode::from(status)
        }
        Err(_) => ExitCode::from(2),
    }
}
