//! NIR, the Neuromorphic Intermediate Representation (Pedersen et al. 2024):
//! snnc networks to NIR files and back.
//!
//! Input: a `.nir` file (HDF5 as the `nir` Python package 1.0.x writes it, or
//! the older 0.1/0.2 layout that package still reads), or a checked network
//! and its weights. Output: a [`graph::Graph`] (the file's nodes and edges,
//! typed), and from it the parts of a `.snn` spec and a weights set
//! ([`import::import`]); the other way, a graph built from a network
//! ([`export::export`]) and written with [`graph::write_bytes`].
//!
//! The modules: [`graph`] is the file format (read and write, no meaning);
//! [`mapping`] is the one formula that turns NIR's continuous-time parameters
//! into snnc's weights (both directions use it, so export then import gives
//! back the same bits); [`import`] maps a graph onto snnc's model class or
//! refuses; [`export`] builds a graph from a network; [`spec`] writes the
//! imported network as `.snn` text. `docs/nir.md` is the mapping table and
//! its derivation.
//!
//! Invariants:
//! - nothing panics on any file: every problem is a [`NirError`] with a
//!   stable `snn::nir::*` code (or the `snn::h5::*` code of the HDF5 layer)
//!   that names the node, the parameter and the value;
//! - nothing is approximated: a node or value snnc cannot express exactly
//!   (a convolution, a per-neuron time constant or threshold, `v_leak != 0`,
//!   `v_reset != 0`, a bias, a neuron without a synaptic current, an
//!   off-grid or non-uniform delay) is refused;
//! - export then import gives back the same network and bit-identical
//!   weights (`mapping`'s tests over random weights).

pub mod export;
pub mod graph;
pub mod import;
pub mod mapping;
pub mod spec;

use crate::h5io::H5Error;

/// The NIR version snnc writes: the layout of the `nir` package 1.0.8, the
/// version the fixtures and the live tests were made with.
pub const NIR_VERSION: &str = "1.0.8";

/// The metadata entry that marks a NIR file as snnc's (in the root graph's
/// `metadata` group), and the one that carries the exported spec's text.
pub const GENERATOR: (&str, &str) = ("generator", "snnc");
pub const SPEC_KEY: &str = "snnc_spec";

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum NirError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    H5(#[from] H5Error),
    #[error("{file} is not a NIR file: {reason}")]
    #[diagnostic(
        code(snn::nir::not_nir),
        help("a NIR file has a group `node` holding the graph (`node/type` = \"NIRGraph\"), as `nir.write` writes it")
    )]
    NotNir { file: String, reason: String },
    #[error("{file} is NIR version {version}, which snnc does not read")]
    #[diagnostic(
        code(snn::nir::version),
        help("snnc reads NIR 1.0.x and the 0.x files the nir package still reads; write the graph with nir 1.0")
    )]
    Version { file: String, version: String },
    #[error("{file} is in the format of nir {writer}, which the nir package itself no longer reads: {reason}")]
    #[diagnostic(
        code(snn::nir::too_old),
        help(
            "nir 1.0's `nir.read` refuses it too; load the graph with the nir release that wrote it and write it \
             again with nir 1.0 (`nir.write`)"
        )
    )]
    TooOld { file: String, writer: String, reason: String },
    #[error("{} ({kind}) has no parameter `{param}` (no dataset `{dataset}`)", who(.node))]
    #[diagnostic(
        code(snn::nir::missing_parameter),
        help("NIR's {kind} nodes have the parameters {expected}; write the file with `nir.write`")
    )]
    MissingParameter { node: String, kind: String, param: String, expected: String, dataset: String },
    #[error("{} has no type (no dataset `{dataset}`)", who(.node))]
    #[diagnostic(
        code(snn::nir::missing_type),
        help(
            "every node of a NIR graph is a group holding its `type` (a string: \"Linear\", \"CubaLIF\", ...) and \
             its parameters; write the file with `nir.write`"
        )
    )]
    MissingType { node: String, dataset: String },
    #[error("{}: parameter `{param}` {reason}", who(.node))]
    #[diagnostic(code(snn::nir::bad_parameter), help("{help}"))]
    BadParameter { node: String, param: String, reason: String, help: String },
    #[error("{} has the unknown type `{kind}`", who(.node))]
    #[diagnostic(
        code(snn::nir::unknown_node_type),
        help(
            "NIR's node types are Input, Output, Affine, Linear, Scale, Delay, LIF, CubaLIF, LI, CubaLI, IF, I, \
             Threshold, Flatten, Conv1d, Conv2d, SumPool2d, AvgPool2d and NIRGraph"
        )
    )]
    UnknownNodeType { node: String, kind: String },
    #[error("edge `{from}` -> `{to}` names the node `{missing}`, which the graph does not have")]
    #[diagnostic(code(snn::nir::missing_node), help("the graph's nodes are: {nodes}"))]
    MissingNode { from: String, to: String, missing: String, nodes: String },
    #[error("edge `{from}` -> `{to}`: `{from}` gives {out_size} values, `{to}` takes {in_size}")]
    #[diagnostic(code(snn::nir::shape_mismatch), help("{help}"))]
    ShapeMismatch { from: String, to: String, out_size: String, in_size: String, help: String },
    #[error("the cycle {cycle} has no {missing}")]
    #[diagnostic(code(snn::nir::cycle), help("{help}"))]
    Cycle { cycle: String, missing: String, help: String },
    #[error("{} ({kind}): {reason}", who(.node))]
    #[diagnostic(code(snn::nir::unsupported), help("{help}"))]
    Unsupported { node: String, kind: String, reason: String, help: String },
    #[error("{}: parameter `{param}` = {value} {reason}", who(.node))]
    #[diagnostic(code(snn::nir::unsupported_value), help("{help}"))]
    UnsupportedValue { node: String, param: String, value: String, reason: String, help: String },
    #[error("{reason}")]
    #[diagnostic(code(snn::nir::structure), help("{help}"))]
    Structure { reason: String, help: String },
    #[error("cannot export network {network}: {reason}")]
    #[diagnostic(code(snn::nir::export), help("{help}"))]
    Export { network: String, reason: String, help: String },
}

/// A node for messages: `node `a/b`` (a node of a nested graph by its path),
/// or "the root graph" (the empty name).
fn who(node: &str) -> String {
    if node.is_empty() { "the root graph".into() } else { format!("node `{node}`") }
}

impl NirError {
    /// The stable diagnostic code.
    pub fn code_str(&self) -> String {
        use miette::Diagnostic;
        self.code().map(|c| c.to_string()).unwrap_or_default()
    }
}
