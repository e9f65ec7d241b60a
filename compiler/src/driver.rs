//! The driver: one readable list of passes, each followed by its invariant check.
//!
//! Input: `.snn` source text (or an already checked [`ValidNetwork`]), and
//! for the lowering the initial weights.
//! Output: a [`Mapped`] network (the machine, the core graph, the placement,
//! the keys and routing tables) and the lowered [`Program`], every
//! invariant of [`crate::verify`] holding.
//!
//! ```text
//! check_source -> ValidNetwork
//!   partition    -> CoreGraph   verify::check_partition
//!   place        -> Placement   verify::check_placement
//!   route        -> Routing     verify::check_routing
//!   lower        -> Program     kernel::verify (each template), verify::check_program
//! ```
//!
//! With `gradients = auto`, a chain whose routes overflow a router's table
//! is mapped again with the direct scheme.
//!
//! Invariant: a mapping either succeeds and passes every check, or fails with
//! a user-facing diagnostic (invalid target, does not fit); a failed check is
//! reported as an internal error, never a panic.

use crate::ErrorClass;
use crate::check::{Diagnostics, check_source};
pub use crate::ir::Mapped;
use crate::lower::{LowerError, Program, lower};
use crate::machine::{Machine, TargetError};
use crate::network::{GradientScheme, ValidNetwork};
use crate::partition::{PartitionError, partition};
use crate::place::{PlaceError, place};
use crate::route::{RouteError, route};
use crate::verify::{self, Violations};

/// Why mapping failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum MapError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Target(#[from] TargetError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Partition(#[from] PartitionError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Place(#[from] PlaceError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Route(#[from] RouteError),
    /// A bug: a pass broke an invariant.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Invariant(#[from] Violations),
}

impl MapError {
    /// Whether the error is the user's (the network or target), not a bug.
    pub fn is_user_error(&self) -> bool {
        !matches!(self, MapError::Invariant(_))
    }
}

/// Why compiling a source failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CompileError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Check(#[from] Diagnostics),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Map(#[from] MapError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Lower(#[from] LowerError),
}

impl CompileError {
    pub fn class(&self) -> ErrorClass {
        match self {
            CompileError::Check(_) => ErrorClass::Rejected,
            CompileError::Map(e) if e.is_user_error() => ErrorClass::Rejected,
            CompileError::Lower(LowerError::NotYetSupported { .. }) => ErrorClass::NotYetSupported,
            CompileError::Map(_) | CompileError::Lower(_) => ErrorClass::Internal,
        }
    }
}

/// Maps a checked network: machine, partition, place, route, each verified.
pub fn map_network(net: &ValidNetwork) -> Result<Mapped, MapError> {
    let machine = Machine::from_target(&net.target)?;
    map_onto(net, machine)
}

/// Maps a checked network onto a given machine (tests use machines with
/// smaller routers or SRAM to reach every limit).
pub fn map_onto(net: &ValidNetwork, machine: Machine) -> Result<Mapped, MapError> {
    let cores = partition(net, &machine)?;
    verify::check_partition(&cores, &machine)?;
    let placement = place(&cores, &machine)?;
    verify::check_placement(&cores, &machine, &placement)?;
    let routing = match route(&cores, &machine, &placement) {
        // The cost model's chain needs a routing entry per copy and slice
        // (the direct scheme's merge); when they do not fit the tables, the
        // direct scheme may.
        Err(RouteError::TableFull { .. }) if cores.gradients.chain && !cores.gradients.forced => {
            let mut direct = net.clone();
            direct.target.gradients = GradientScheme::Direct;
            let mut mapped = map_onto(&direct, machine)?;
            mapped.cores.gradients.forced = false;
            mapped.cores.gradients.chain_unroutable = true;
            return Ok(mapped);
        }
        routing => routing?,
    };
    verify::check_routing(&cores, &machine, &placement, &routing)?;
    Ok(Mapped { machine, cores, placement, routing })
}

/// Maps and lowers a checked network with its initial weights (one
/// `[post][pre]` tensor per projection).
pub fn compile_network(net: &ValidNetwork, weights: &[Vec<f32>]) -> Result<(Mapped, Program), CompileError> {
    let mapped = map_network(net)?;
    let program = lower(net, &mapped, weights)?;
    verify::check_program(&mapped.cores, &mapped.machine, &mapped.placement, &mapped.routing, &program)
        .map_err(MapError::from)?;
    Ok((mapped, program))
}

/// Checks, maps and lowers a `.snn` source with its initial weights: every
/// stage followed by its verifier, the lowered program included. `weights`
/// gives the initial weights of the checked network (the runtime's seeded
/// initialisers), one `[post][pre]` tensor per projection copy.
pub fn compile_source(
    name: &str,
    text: &str,
    weights: impl FnOnce(&ValidNetwork) -> Vec<Vec<f32>>,
) -> Result<(ValidNetwork, Mapped, Program), CompileError> {
    let net = check_source(name, text)?;
    let w = weights(&net);
    let (mapped, program) = compile_network(&net, &w)?;
    Ok((net, mapped, program))
}

/// Checks and maps a `.snn` source; `name` is the file name for diagnostics.
pub fn compile(name: &str, text: &str) -> Result<(ValidNetwork, Mapped), CompileError> {
    let net = check_source(name, text)?;
    let mapped = map_network(&net)?;
    Ok((net, mapped))
}
