//! snnc's compiler crate: the `.snn` front end and the mapping onto SpiNNaker2.
//!
//! Pipeline (one module per stage; stages talk only through IR types):
//!
//! ```text
//! .snn text --syntax--> AST --check--> ValidNetwork (network.rs)
//! ```
//!
//! Later stages (partition, place, route, lower, emit) are added by their own
//! modules; see ARCHITECTURE.md for the code map and the invariants.

pub mod check;
pub mod kernel;
pub mod network;
pub mod numerics;

pub use check::check_source;
pub use network::ValidNetwork;
