//! snnc's compiler crate: the `.snn` front end and the mapping onto SpiNNaker2.
//!
//! Pipeline (one module per stage; stages talk only through IR types):
//!
//! ```text
//! .snn text --syntax--> AST --check--> ValidNetwork (network.rs)
//!   --partition--> CoreGraph --place--> Placement --route--> keys + tables
//!   --lower--> per-PE kernels (kernel IR)
//! ```
//!
//! `driver` runs the passes in order with an invariant check (`verify`) after each.
//!
//! See ARCHITECTURE.md for the code map and the invariants.

pub mod check;
pub mod driver;
pub mod emit;
pub mod ir;
pub mod kernel;
pub mod lower;
pub mod machine;
pub mod numerics;
pub mod partition;
pub mod place;
pub mod resources;
pub mod route;
pub mod svg;
pub mod sweep;
pub mod syntax;
pub mod verify;
pub mod yaml;

pub use check::check_source;

/// What kind of failure ended a command; the CLI maps each to one exit
/// status (the table is in `src/cmd/mod.rs` and the README).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The user's input (spec, data, weights, flags) was rejected.
    Rejected,
    /// A valid input that a backend cannot run yet.
    NotYetSupported,
    /// An output could not be written (disk full, no permission, stdout
    /// unwritable).
    Output,
    /// Training produced a non-finite loss, gradient or weight.
    Diverged,
    /// A bug in snnc.
    Internal,
}
pub use ir::network;
pub use network::ValidNetwork;
