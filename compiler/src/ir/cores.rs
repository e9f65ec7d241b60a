//! The core graph: the partitioner's output, the placer's and router's
//! input. Slices (one per PE, each a range of one population's neurons, or
//! an optimiser's range of weights, in a batch copy) and the packet flows
//! between them.
//!
//! Invariants (checked by `verify::check_partition`): in every copy the
//! slices of a population cover its neurons exactly once; the optimiser
//! slices cover every trained weight exactly once; every slice fits a PE.

use std::ops::Range;

use petgraph::graph::NodeIndex;

use crate::network::Mapping;
use crate::resources::{Dram, Sram, Synapses};

/// Index of a slice in [`CoreGraph::slices`].
pub type SliceId = usize;

/// The program a PE runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Input,
    Layer,
    Loss,
    Optimiser,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Input => "input",
            Role::Layer => "layer",
            Role::Loss => "loss",
            Role::Optimiser => "optimiser",
        }
    }
}

/// What a multicast packet carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PacketKind {
    Spike,
    Error,
    Gradient,
    Weight,
}

impl PacketKind {
    pub const ALL: [PacketKind; 4] = [PacketKind::Spike, PacketKind::Error, PacketKind::Gradient, PacketKind::Weight];
    pub fn name(self) -> &'static str {
        match self {
            PacketKind::Spike => "spike",
            PacketKind::Error => "error",
            PacketKind::Gradient => "gradient",
            PacketKind::Weight => "weight",
        }
    }
    /// Spikes and errors flow every sample; gradients and weights once per batch step.
    pub fn per_sample(self) -> bool {
        matches!(self, PacketKind::Spike | PacketKind::Error)
    }
}

/// A population as later stages need it (names and spans for diagnostics).
#[derive(Clone, Debug, PartialEq)]
pub struct PopulationInfo {
    pub name: String,
    pub size: u32,
    pub fan_in: u32,
    pub span: miette::SourceSpan,
}

/// A part of a population (or a loss or optimiser program) that runs on one PE.
#[derive(Clone, Debug, PartialEq)]
pub struct Slice {
    pub role: Role,
    /// The population simulated; for the loss, the readout; for an optimiser
    /// slice, the population whose incoming weights it holds.
    pub population: NodeIndex,
    /// Neurons `[start, end)` of the population (for an optimiser slice, the
    /// post neurons of `population` whose weights it holds).
    pub neurons: Range<u32>,
    /// `None` for optimiser slices (shared by every copy).
    pub batch_copy: Option<u32>,
    /// Optimiser slices: the weights it holds, in key order.
    pub weights: Vec<WeightRange>,
    pub sram: Sram,
    /// Where a layer slice's synapses live (every other slice: SRAM).
    pub synapses: Synapses,
    /// Its private DRAM region (zero unless its synapses are in DRAM).
    pub dram: Dram,
}

/// Weights `range` of `population` (numbered `post_neuron * fan_in + position`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightRange {
    pub population: NodeIndex,
    pub range: Range<u64>,
}

/// A packet flow from one slice to a set of slices.
#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    pub source: SliceId,
    pub kind: PacketKind,
    /// Distinct keys the source sends (the key range covers `0..keys`).
    pub keys: u64,
    /// Upper bound on packets sent per sample (spike, error) or per batch step
    /// (gradient, weight); a multicast packet counts once.
    pub packets: u64,
    /// Target slices, as sorted disjoint ranges of slice ids.
    pub targets: Vec<Range<SliceId>>,
    /// Empty, or which packets each target gets: `(indices, target)`, sorted,
    /// disjoint, covering `0..keys`, every target once. A gradient flow to
    /// the optimisers is split so: each optimiser PE receives only the
    /// gradients of the weights it holds (one multicast to all of them would
    /// deliver each gradient to every optimiser of the slice). The router
    /// covers each part with its [`aligned_blocks`] (counted from the
    /// slice's first weight), a table entry each, and the partitioner cuts a
    /// part that ends inside its slice to the first few of them.
    pub parts: Vec<(Range<u64>, SliceId)>,
}

impl Flow {
    pub fn target_ids(&self) -> impl Iterator<Item = SliceId> + '_ {
        self.targets.iter().flat_map(|r| r.clone())
    }
}

/// The largest aligned blocks that cover `lo .. hi` exactly, in order, as
/// `(first, log2 of the size)`: the key blocks the router gives a part of a
/// split flow ([`Flow::parts`]), which the partitioner budgets.
pub fn aligned_blocks(mut lo: u64, hi: u64) -> Vec<(u64, u32)> {
    let mut out = Vec::new();
    while lo < hi {
        let align = if lo == 0 { 63 } else { lo.trailing_zeros() };
        let bits = align.min((hi - lo).ilog2());
        out.push((lo, bits));
        lo += 1 << bits;
    }
    out
}

/// How the batch copies' gradients reach the optimiser PEs: the
/// partitioner's choice and the modelled end-of-batch cycles of both schemes
/// (`machine::ChipSpec::gradient_cycles`; 0 without training).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GradientPlan {
    /// The chain: copy `c`'s gradient flows go to copy `c + 1`'s slice of the
    /// same neurons, which adds its own; the last copy's go to the optimisers.
    pub chain: bool,
    /// The spec chose the scheme (`gradients = direct | chain`), not the
    /// cost model.
    pub forced: bool,
    /// The cost model chose the chain, but its routes did not fit the
    /// routers' tables: direct (`driver::map_onto`).
    pub chain_unroutable: bool,
    pub direct_cycles: u64,
    /// `None` with one copy: nothing to chain.
    pub chain_cycles: Option<u64>,
}

/// Slices and flows: the core-level graph the placer and the router consume.
#[derive(Clone, Debug, PartialEq)]
pub struct CoreGraph {
    /// Batch copies of the network on the machine.
    pub copies: u32,
    pub training: bool,
    pub mapping: Mapping,
    /// The target block, for diagnostics about the machine as a whole.
    pub target_span: miette::SourceSpan,
    /// Indexed by `NodeIndex::index()`.
    pub populations: Vec<PopulationInfo>,
    pub slices: Vec<Slice>,
    /// Slices of each copy, in id order.
    pub copy_slices: Vec<Range<SliceId>>,
    pub optimiser_slices: Range<SliceId>,
    pub flows: Vec<Flow>,
    pub gradients: GradientPlan,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_blocks_cover_a_range_exactly() {
        assert_eq!(aligned_blocks(0, 16), vec![(0, 4)]);
        assert_eq!(aligned_blocks(0, 0), vec![]);
        assert_eq!(aligned_blocks(4, 12), vec![(4, 2), (8, 2)]);
        assert_eq!(aligned_blocks(3, 17), vec![(3, 0), (4, 2), (8, 3), (16, 0)]);
        // Every covering is exact and each block aligned to its size.
        for lo in 0..40u64 {
            for hi in lo..70 {
                let blocks = aligned_blocks(lo, hi);
                let mut at = lo;
                for (first, bits) in blocks {
                    assert_eq!((first, first % (1 << bits)), (at, 0));
                    at += 1 << bits;
                }
                assert_eq!(at, hi);
            }
        }
    }
}
