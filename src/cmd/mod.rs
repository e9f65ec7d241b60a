//! Command implementations. Each returns `Result<(), Failure>`; `run_guarded`
//! renders failures once and maps their [`ErrorClass`] to the exit status of
//! [`EXIT_CODES`] (a panic is a bug: exit status 70).
//!
//! Output rules every command follows: stdout goes through [`Out`], so a
//! closed pipe (`snnc ... | head -1`) silently ends the printing and never
//! the work, and an unwritable stdout (`> /dev/full`) ends the command with
//! exit status 3 after the work is done; files go through
//! `snnc_runtime::fsio` (atomic, never over an input, never over a file snnc
//! did not write unless `--force`).

pub mod build;
pub mod check;
pub mod emit;
pub mod nir;
pub mod place;
pub mod session;
pub mod sweep;
pub mod train;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use miette::{NamedSource, Report};
use snnc_compiler::{ErrorClass, ValidNetwork};

/// Every exit status snnc uses, and what it means: the README's table and
/// `snnc --help` are generated from here, and a test runs every command to
/// check that nothing else occurs.
pub const EXIT_CODES: &[(u8, &str)] = &[
    (0, "success"),
    (1, "the input was rejected: the spec, data, weights, flags or an output path (the diagnostics say why)"),
    (2, "not yet supported: a valid input that this backend cannot run yet (the help line names an alternative)"),
    (3, "an output could not be written: a full disk, a missing permission, an unwritable stdout"),
    (4, "training diverged: a non-finite loss, gradient or weight (the last good checkpoint is kept)"),
    (70, "internal error: a bug in snnc (please report it)"),
];

/// The exit status of a failure class.
pub fn exit_code(class: ErrorClass) -> u8 {
    match class {
        ErrorClass::Rejected => 1,
        ErrorClass::NotYetSupported => 2,
        ErrorClass::Output => 3,
        ErrorClass::Diverged => 4,
        ErrorClass::Internal => 70,
    }
}

/// Why a command did not succeed: what kind of failure, and its report.
#[derive(Debug)]
pub struct Failure {
    pub class: ErrorClass,
    pub report: Report,
}

impl Failure {
    pub fn new(class: ErrorClass, report: Report) -> Self {
        Failure { class, report }
    }
    /// A report of the given class.
    pub fn of_report(class: ErrorClass, report: Report) -> Self {
        Failure { class, report }
    }
    /// A diagnostic of the given class.
    pub fn of(class: ErrorClass, e: impl miette::Diagnostic + Send + Sync + 'static) -> Self {
        Failure { class, report: Report::new(e) }
    }
    /// The user's input was rejected.
    pub fn rejected(msg: impl std::fmt::Display) -> Self {
        Failure::new(ErrorClass::Rejected, miette::miette!("{msg}"))
    }
    /// A bug.
    pub fn internal(msg: impl std::fmt::Display) -> Self {
        Failure::new(ErrorClass::Internal, miette::miette!("{msg}"))
    }
}

/// Run-directory, weights and data errors keep their own class.
impl From<snnc_runtime::train::run::RunError> for Failure {
    fn from(e: snnc_runtime::train::run::RunError) -> Self {
        Failure::of(e.class(), e)
    }
}

impl From<snnc_runtime::train::trainer::TrainError> for Failure {
    fn from(e: snnc_runtime::train::trainer::TrainError) -> Self {
        Failure::of(e.class(), e)
    }
}

impl From<snnc_runtime::fsio::FsError> for Failure {
    fn from(e: snnc_runtime::fsio::FsError) -> Self {
        let class = if e.is_refusal() { ErrorClass::Rejected } else { ErrorClass::Output };
        Failure::of(class, e)
    }
}

pub type CmdResult = Result<(), Failure>;

/// stdout for a command's results. A closed pipe (`EPIPE`) stops the
/// printing quietly; any other write error is remembered, stops the
/// printing, and is returned by [`Out::finish`] once the work is done.
#[derive(Debug, Default)]
pub struct Out {
    closed: bool,
    failed: Option<std::io::Error>,
}

impl Out {
    pub fn new() -> Out {
        Out::default()
    }

    /// Prints `text` as is.
    pub fn text(&mut self, text: &str) {
        if self.closed {
            return;
        }
        let mut stdout = std::io::stdout().lock();
        if let Err(e) = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
            self.closed = true;
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                self.failed = Some(e);
            }
        }
    }

    /// Prints `line` and a newline.
    pub fn line(&mut self, line: impl std::fmt::Display) {
        self.text(&format!("{line}\n"));
    }

    /// The end of the command's output: an error when stdout could not be
    /// written (other than a closed pipe).
    pub fn finish(self) -> CmdResult {
        match self.failed {
            Some(e) => Err(Failure::new(
                ErrorClass::Output,
                miette::miette!(code = "snn::io::stdout", "cannot write to stdout: {e}"),
            )),
            None => Ok(()),
        }
    }
}

/// The process's stdout for commands that print from many places (`sweep`):
/// the same rules as [`Out`]; `run_guarded` reports its write error.
static STDOUT: std::sync::Mutex<Out> = std::sync::Mutex::new(Out { closed: false, failed: None });

/// Prints `text` on the shared stdout ([`say!`](crate::say)).
pub fn print_text(text: &str) {
    STDOUT.lock().unwrap_or_else(std::sync::PoisonError::into_inner).text(text);
}

/// `println!` through the shared, pipe-safe stdout.
#[macro_export]
macro_rules! say {
    () => { $crate::cmd::print_text("\n") };
    ($($t:tt)*) => { $crate::cmd::print_text(&format!("{}\n", format_args!($($t)*))) };
}

/// The shared stdout's write error, if any (taken: reported once).
fn shared_stdout_result() -> CmdResult {
    let mut out = STDOUT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    std::mem::take(&mut *out).finish()
}

/// The exit status of a child `snnc` as a failure class (the table is the
/// same for every snnc).
pub fn class_of_exit(code: Option<i32>) -> ErrorClass {
    match code {
        Some(1) => ErrorClass::Rejected,
        Some(2) => ErrorClass::NotYetSupported,
        Some(3) => ErrorClass::Output,
        Some(4) => ErrorClass::Diverged,
        _ => ErrorClass::Internal,
    }
}

/// A source file, read once, kept for rendering diagnostics.
pub struct Source {
    pub name: String,
    pub text: String,
}

impl Source {
    pub fn read(path: &Path) -> Result<Source, Failure> {
        let bytes =
            std::fs::read(path).map_err(|e| Failure::rejected(format!("cannot read {}: {e}", path.display())))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| Failure::rejected(format!("{} is not a text file (it is not UTF-8)", path.display())))?;
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
        .map_err(|diags| Failure::new(ErrorClass::Rejected, Report::new(diags).with_source_code(src.named())))
}

/// The process exit status of a command's outcome.
pub fn exit_status<T>(result: &Result<T, Failure>) -> u8 {
    match result {
        Ok(_) => 0,
        Err(f) => exit_code(f.class),
    }
}

/// Runs a command, renders its failure on stderr, turns a panic into exit
/// status 70. Nothing here panics on a closed stderr.
pub fn run_guarded(f: impl FnOnce() -> CmdResult + std::panic::UnwindSafe) -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        let _ = writeln!(std::io::stderr(), "snnc: internal error (this is a bug, please report it): {info}");
    }));
    match std::panic::catch_unwind(f) {
        Ok(result) => {
            let result = result.and_then(|()| shared_stdout_result());
            let status = exit_status(&result);
            if let Err(f) = result {
                let _ = writeln!(std::io::stderr(), "{:?}", f.report);
            }
            ExitCode::from(status)
        }
        Err(_) => ExitCode::from(exit_code(ErrorClass::Internal)),
    }
}

/// `n thing` or `n things`.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}
