//! The lowered program (the lowering's output): kernel templates and every
//! PE's template and initial memory; the host interface of its buffers (the
//! receive-table tags, the send slots).
//!
//! Invariants (checked by `verify::check_program`): one core per slice on its
//! placed PE; initial data fits the template's buffers; send slots hold the
//! slice's flows' base keys; receive tables hold exactly the flows into the
//! slice.

use std::collections::BTreeMap;

use petgraph::graph::NodeIndex;

use crate::ir::cores::{PacketKind, Role, SliceId, WeightRange};
use crate::ir::routing::KeyRange;
use crate::kernel::VerifiedKernel;
use crate::machine::PeAddr;

/// Tags of the receive table: what an accepted packet is.
pub mod tag {
    /// A spike; index: fan-in position (layer) or class (loss).
    pub const SPIKE: i32 = 0;
    /// An error from a post layer; index: local neuron (added to `e_out`).
    pub const ERROR: i32 = 1;
    /// An error from the loss; index: local neuron (stored in `e_out`).
    pub const LOSS_ERROR: i32 = 2;
    /// A gradient; index: the optimiser's held weight.
    pub const GRADIENT: i32 = 3;
    /// A new weight; index: the layer's local weight `j * fan_in + pos`.
    pub const WEIGHT: i32 = 4;
    /// A partial error sum from the previous slice of the same population;
    /// index: fan-in position (the slice adds its neurons and passes it on).
    pub const PARTIAL: i32 = 5;
    /// The previous batch copy's partial gradient sum (the chain of
    /// `docs/machine.md`, "Gradient traffic"); index: the layer's local
    /// weight `j * fan_in + pos` (the slice adds its own gradient and passes
    /// the sum on).
    pub const GRADIENT_CHAIN: i32 = 6;
}

/// Index of each packet kind in the `tx` buffer.
pub fn tx_slot(kind: PacketKind) -> usize {
    match kind {
        PacketKind::Spike => 0,
        PacketKind::Error => 1,
        PacketKind::Gradient => 2,
        PacketKind::Weight => 3,
    }
}

/// One entry of a receive table (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxEntry {
    pub range: KeyRange,
    pub lo: u32,
    pub hi: u32,
    pub off: i32,
    pub tag: i32,
}

/// One PE of the program.
#[derive(Clone, Debug, PartialEq)]
pub struct CoreProgram {
    pub slice: SliceId,
    pub pe: PeAddr,
    pub role: Role,
    pub population: NodeIndex,
    pub batch_copy: Option<u32>,
    /// The population's name (for messages).
    pub population_name: String,
    /// Neurons of the population this PE simulates (or encodes).
    pub neurons: std::ops::Range<u32>,
    /// Index into [`Program::kernels`].
    pub kernel: usize,
    /// Initial contents of buffers, by name (missing buffers start at zero).
    pub data: BTreeMap<String, Vec<u32>>,
    /// Initial contents of the PE's private DRAM region (its kernel's
    /// `dram_words`), from word 0; the words after them start at zero (a
    /// layer whose synapses are in DRAM: its weights `[position][neuron]`).
    pub dram: Vec<u32>,
    /// Optimiser PEs: the weights held, in order (the `w` buffer).
    pub weights: Vec<WeightRange>,
}

/// The compiled program: what `snnc build` writes and the emulator runs.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    pub name: String,
    pub steps: u32,
    pub batch: u32,
    pub copies: u32,
    /// Verified once, here: the backends take them as they are.
    pub kernels: Vec<VerifiedKernel>,
    /// Indexed by slice id.
    pub cores: Vec<CoreProgram>,
    /// Every projection (declaration order): where its weights sit in the
    /// numbering `post * fan_in + position` of its post population.
    pub projections: Vec<ProjLayout>,
}

/// A projection's place in its post population's weight numbering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProjLayout {
    pub post: NodeIndex,
    pub n_pre: u32,
    pub n_post: u32,
    /// First fan-in position of this projection.
    pub offset: u32,
    pub fan_in: u32,
}

impl Program {
    /// The cores of one batch copy, in slice order.
    pub fn copy_cores(&self, copy: u32) -> impl Iterator<Item = &CoreProgram> {
        self.cores.iter().filter(move |c| c.batch_copy == Some(copy))
    }
}

/// The send slots of the `tx` buffer: the base key of each flow a PE sends.
pub const SLOT_SPIKE: u32 = 0;

pub const SLOT_ERROR: u32 = 1;

pub const SLOT_GRADIENT: u32 = 2;

pub const SLOT_WEIGHT: u32 = 3;

/// The names of the kernel buffers that more than the lowering reads or
/// writes: the emulator's host side, the verifier, the session and the
/// firmware's host share these with the kernels the lowering builds, so a
/// renamed buffer is a compile error, not a lookup that fails at run time.
pub mod buffers {
    /// Send keys, one per slot ([`super::SLOT_SPIKE`] ..).
    pub const TX: &str = "tx";
    /// Receive table: the offset and tag of each routed key.
    pub const RX_OFF: &str = "rx_off";
    pub const RX_TAG: &str = "rx_tag";
    /// An input slice's spike step per neuron, written by the host per sample.
    pub const SPIKE_STEP: &str = "spike_step";
    /// An event-input slice (`encoding = events(..)`, `lower::input_events`):
    /// the DRAM word address of its sample's next unfetched event, the events
    /// not yet fetched, the events in its SRAM window, the window, and its
    /// DMA descriptor `[DRAM word address, data-memory word, words]` (a
    /// transfer is pending while `words` is not 0). The host writes the first
    /// four and the descriptor of the first transfer per sample.
    pub const EV_NEXT: &str = "ev_next";
    pub const EV_LEFT: &str = "ev_left";
    pub const EV_HAVE: &str = "ev_have";
    pub const EV_WIN: &str = "ev_win";
    pub const DMA: &str = "dma";
    /// A layer slice's weights and gradient accumulators, `[post][fan-in]`.
    pub const WEIGHTS: &str = "weights";
    pub const GRAD: &str = "grad";
    /// A layer slice's spike record: keys, length, and the overflow flag.
    pub const REC_KEY: &str = "rec_key";
    pub const REC_LEN: &str = "rec_len";
    pub const OVERFLOW: &str = "overflow";
    /// First spike step per neuron (-1: silent), read by the host.
    pub const FIRST: &str = "first";
    /// A voltage readout's class scores.
    pub const Y: &str = "y";
    /// The loss slice's label (written by the host) and loss.
    pub const LABEL: &str = "label";
    pub const LOSS: &str = "loss";
    /// An optimiser slice's hyper-parameters (step size, first step).
    pub const HYPER: &str = "hyper";
    /// A layer slice under the gradient chain: 1 on batch copy 0, which
    /// starts the partial sums at the end of a batch, else 0.
    pub const CHAIN_HEAD: &str = "chain_head";
}
