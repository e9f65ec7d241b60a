//! The IR types: the values the stages pass each other, in one place that
//! every stage may import (a stage never imports a sibling stage).
//!
//! ```text
//! syntax::ast --check--> network::ValidNetwork --partition--> cores::CoreGraph
//!   --place--> placement::Placement --route--> routing::Routing
//!   --lower--> program::Program (kernel IR: crate::kernel)
//! ```
//!
//! Each type's invariants are written in its module and checked by the
//! verifier that follows the stage producing it (`crate::verify`).

pub mod cores;
pub mod network;
pub mod placement;
pub mod program;
pub mod routing;

use crate::machine::Machine;
use cores::CoreGraph;
use placement::Placement;
use routing::Routing;

/// A network mapped onto a machine.
#[derive(Clone, Debug)]
pub struct Mapped {
    pub machine: Machine,
    pub cores: CoreGraph,
    pub placement: Placement,
    pub routing: Routing,
}
