//! The placement: every slice on a chip, QPE and PE (the placer's output).
//!
//! Invariants (checked by `verify::check_placement`): one PE per slice, no PE
//! used twice, only application PEs.

use std::ops::Range;

use petgraph::graph::NodeIndex;

use crate::ir::cores::{Role, SliceId};
use crate::machine::PeAddr;
use crate::resources::{Dram, Sram};

/// One slice on its PE: everything the emulator needs to know about a core.
#[derive(Clone, Debug, PartialEq)]
pub struct PlacedCore {
    pub slice: SliceId,
    pub pe: PeAddr,
    pub role: Role,
    pub population: NodeIndex,
    pub neurons: Range<u32>,
    pub batch_copy: Option<u32>,
    pub sram: Sram,
    pub dram: Dram,
}

/// How copies were laid out on the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Qpe,
    Chip,
    Packed,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::Qpe => "one QPE per batch copy",
            Layout::Chip => "batch copies within chips",
            Layout::Packed => "batch copies packed in PE order",
        }
    }
}

/// Every slice on its PE, indexed by [`SliceId`].
#[derive(Clone, Debug, PartialEq)]
pub struct Placement {
    pub layout: Layout,
    pub cores: Vec<PlacedCore>,
}

impl Placement {
    /// Chips that hold at least one core.
    pub fn chips_used(&self) -> usize {
        let mut chips: Vec<u16> = self.cores.iter().map(|c| c.pe.chip.0).collect();
        chips.sort_unstable();
        chips.dedup();
        chips.len()
    }
}
