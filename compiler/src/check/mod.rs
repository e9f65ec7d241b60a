//! Checker: `.snn` source text -> [`ValidNetwork`].
//!
//! Not built yet: every call returns a "not yet supported" diagnostic.

use crate::network::ValidNetwork;

/// Every problem found in one source file, rendered by the CLI with miette.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("the .snn front end is not yet supported")]
#[diagnostic(code(snn::not_yet_supported))]
pub struct Diagnostics;

/// Parses and checks a `.snn` source. `name` is the file name shown in
/// diagnostics.
pub fn check_source(_name: &str, _text: &str) -> Result<ValidNetwork, Diagnostics> {
    Err(Diagnostics)
}
