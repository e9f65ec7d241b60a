//! Lowering: a mapped network -> one kernel per PE (kernel IR) plus its
//! initial SRAM data.
//!
//! Input: a checked [`ValidNetwork`], its [`Mapped`] form (core graph,
//! placement, keys, routing tables) and the initial weights (one
//! `[post][pre]` tensor per projection, declaration order).
//! Output: a [`Program`]: kernel templates (slices of one shape share one;
//! the other copies run copy 0's) and, per PE, its template and initial data
//! (buffer name -> 32-bit words). A network without a `train` block lowers
//! to its forward pass on one copy: input PEs and layer PEs that record each
//! neuron's first spike step (`first`, -1 when silent), no loss, no
//! optimiser; a layer or input whose spikes go nowhere sends none.
//!
//! Every packet key a kernel sends or accepts lives in its SRAM, not in its
//! code: `tx[kind]` holds the base key of each of its flows (spike, error,
//! gradient, weight; `key = base | index`) and the receive table `rx_*` holds,
//! per incoming flow, `(key, mask, lo, hi, off, tag)`: a packet with
//! `key & mask == rx_key` and raw index `raw = key & !mask` in `lo..hi` is
//! handled as index `raw + off` of kind `tag` ([`tag`]). So the copies of a
//! slice share one kernel. The host (the emulator) writes the sample's spike
//! steps (`spike_step`, input PEs of latency-coded inputs; an event input's
//! PE fetches its sample's events from DRAM by DMA, [`input_events`]), its label (`label`, loss PE) and the
//! optimiser step's f64-derived scalars (`hyper`; Adam: `lr / (1 - b1^t)`
//! and `sqrt(1 - b2^t)`, rounded to `f32`; SGD: `lr` rounded to `f32` and
//! `1.0` on the first step, else `0.0`) and reads results (`rec_key`,
//! `rec_len`, `overflow`, `first`, `loss`, `w`) from SRAM.
//!
//! Memory layout: what the partitioner's resource model
//! (`crate::resources`) budgets, sized by the same functions. A
//! layer keeps for the backward pass a log of its own spikes (`(step,
//! neuron)`, `I`, `Vt`: the jump's denominator) of `SPIKE_BUDGET` entries
//! per neuron (grown into the room the PE has left, up to `T - 1` per
//! neuron, where no sample can overflow it) with a per-step index, and one bit per step and fan-in
//! position for its input spikes (where gradients accumulate and errors go
//! down). A sample that overflows the log sets the layer's `overflow` flag
//! ([`OVERFLOW_SPIKES`]); the emulator stops with an error naming the PE, the
//! population and the budget. With synapses in DRAM the log is in the DRAM
//! region, room for every neuron at every step (it cannot overflow): SRAM
//! holds one step's entries, written out after the forward tick's update
//! and read back before the backward tick that replays them; a regularised
//! layer then counts its spikes as they happen.
//!
//! Synapses in DRAM (a slice the partitioner put there, `crate::resources`):
//! the kernel has no `weights`, `grad` or whole `in_bits`; its private DRAM
//! region holds the weights (the core's initial `dram` words) and the
//! gradients `[position][neuron]` and one input-spike row per step; its SRAM
//! a weight row (`wrow`), a gradient row (`grow`), a word for weight packets
//! (`wword`) and `in_bits` as a window of `max delay + 2` rows (step `s` in
//! row `s % slots`). Every row is moved by a synchronous DMA statement right
//! before or after its use, in the SRAM kernel's order, so the arithmetic
//! and its order are the SRAM kernel's (`DramShape`).
//!
//! Timeline (the emulator's contract): per sample, forward ticks `n = 0 ..
//! T-1` (packets sent at tick `n`, and any packets their handlers send, are
//! handled before tick `n + 1`), one more delivery, backward ticks `n = T-2
//! .. 0` (same delivery rule: an error sum travels up the slices of a split
//! population, one handler per slice, before it reaches the layer below),
//! one more delivery, and for a sample that trains (not an evaluation
//! sample) `end_of_sample`; per batch, `end_of_batch` on every
//! PE, then deliveries until no packet is left: the layers' gradients reach
//! the optimiser, which runs Adam on the last one and sends the new weights
//! back. With the gradient chain (`CoreGraph::gradients`), copy 0's layers
//! send `0 + g` at `end_of_batch`, copy `c`'s add their own gradients to
//! copy `c - 1`'s sums in the packet handler ([`tag::GRADIENT_CHAIN`]) and
//! pass them on, one delivery round per copy, and the optimiser steps on
//! the last copy's sums (one per weight). With one copy for a batch of `B`
//! (`mapping = single_copy`) the samples run one after another; each layer
//! slice adds a sample's gradients to its batch sums at `end_of_sample`, in
//! sample order (`gsum + g`, from `gsum = 0`: the contract's order), and
//! sends the sums (then zeroes them) at the batch's one `end_of_batch`;
//! the optimiser's `0 + sum` is the sum itself (a sum from `+0` is never
//! `-0`). With `copies = N` copies of `k = B / N` samples each
//! ([`LayerShape::slots`]) copy `c` runs the samples `c k .. c k + k - 1`;
//! each layer slice keeps `k` gradient arrays (`grad` of `k` times the
//! weights in SRAM, or `k` arrays from the region's word `k n` in DRAM, the
//! input-spike rows after them), a counter `slot` choosing the current
//! sample's (the backward pass adds into it, `end_of_sample` moves on,
//! `end_of_batch` starts again at 0), and the chain carries the sums: copy 0
//! sends `((0 + g_0) + g_1) + ... + g_(k-1)`, copy `c` adds its `k` slots in
//! order to copy `c - 1`'s sum in its handler.
//!
//! A population split over several PEs: each slice holds its neurons'
//! weights (every fan-in position), receives every input spike, and sends its
//! own spikes and gradients. The error for the layer below, `sum_j W[j][i]
//! (lV[j] - lI[j])` over the post neurons `j` in ascending order, is summed
//! slice after slice: the first slice starts it at its backward tick, each
//! next slice adds its neurons in its packet handler ([`tag::PARTIAL`]), the
//! last sends it down; so every backend adds in the reference's order.
//!
//! Every floating-point operation follows the reference trainer's documented
//! order (`runtime/src/train/eventprop.rs`, `optim.rs`): a layer accumulates
//! its input spikes of the previous step in fan-in order at the tick;
//! the loss uses the IR expansions of `exp_f32`/`ln_f32`; the optimiser sums
//! the batch copies' gradients in packet-key order, which is copy order
//! (checked here).
//!
//! Invariants: every kernel passes [`crate::kernel::verify`] within the PE's
//! data budget; what the lowering cannot reproduce exactly (batch copies
//! that are neither one per sample nor one, a readout with outgoing
//! projections: neither reachable from a checked spec) is refused with
//! [`LowerError::NotYetSupported`].

pub mod input_events;
mod kernels;

pub use kernels::OVERFLOW_SPIKES;

use std::collections::BTreeMap;

use petgraph::graph::NodeIndex;

use crate::ir::Mapped;
use crate::ir::cores::{PacketKind, Role, SliceId};
use crate::ir::program::buffers;
pub use crate::ir::program::{
    CoreProgram, Program, ProjLayout, RxEntry, SLOT_ERROR, SLOT_GRADIENT, SLOT_SPIKE, SLOT_WEIGHT, tag, tx_slot,
};
use crate::ir::routing::KeyRange;
use crate::kernel::{Kernel, KernelError, KernelErrors, VerifiedKernel, verify};
use crate::network::{LayerConsts, LossSpec, OptimizerSpec, Reset, SynapseLayout, ValidNetwork};
use crate::resources::{self, Synapses};

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum LowerError {
    #[error("lowering to kernels: {what} is not yet supported")]
    #[diagnostic(code(snn::lower::not_yet_supported), help("train this network with `--backend reference`"))]
    NotYetSupported { what: String },
    #[error("a lowered kernel is invalid (a bug in the lowering)")]
    #[diagnostic(code(snn::lower::invalid_kernel))]
    Invalid(
        #[from]
        #[diagnostic_source]
        KernelErrors,
    ),
}

/// A kernel whose buffers exceed the PE's data budget is a limit of this
/// lowering (its receive table, which the resource model budgets as a fixed
/// receive ring, grows with the number of incoming flows), not a bug: report
/// it as not yet supported. Any other verifier error is a bug.
fn over_budget_as_unsupported(e: KernelErrors, population: &str) -> LowerError {
    let over: Vec<String> = e
        .errors
        .iter()
        .filter_map(|err| match err {
            KernelError::OverBudget { name, end, budget } => {
                Some(format!("buffer `{name}` ends at byte {end} of {budget}"))
            }
            _ => None,
        })
        .collect();
    if !over.is_empty() && over.len() == e.errors.len() {
        unsupported(format!("a slice of `{population}` whose buffers do not fit the PE ({})", over.join(", ")))
    } else {
        LowerError::Invalid(e)
    }
}

fn unsupported(what: impl Into<String>) -> LowerError {
    LowerError::NotYetSupported { what: what.into() }
}

/// The neuron model of a layer slice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LayerKind {
    Lif,
    Li,
}

/// One weight matrix into a layer slice (a projection, or one copy of a
/// delay line), as the kernel reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CopyShape {
    pub copy: u32,
    pub delay: u32,
    pub n_pre: u32,
    pub weight_offset: u32,
    pub raw_offset: u32,
    /// Its pre population is a spiking layer: errors go down.
    pub from_layer: bool,
    /// Its projection sums errors in the ring.
    pub ring: Option<crate::network::RingProjection>,
}

/// How an `li` readout turns its voltages into scores (`docs/contract.md` section 6).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ScoreShape {
    Max,
    Sum {
        c: f32,
    },
    /// The weights of the steps `first .. end` (the table holds every step).
    Weighted {
        first: u32,
        end: u32,
        w: Vec<f32>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ReadoutShape {
    pub score: ScoreShape,
}

/// The regulariser's constants of a layer, as the reference rounds them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct RegShape {
    /// `f32(strength / batch)`, `f32(strength_below / batch)`, `f32(target)`.
    pub up: f32,
    pub below: f32,
    pub target: f32,
}

/// Everything the kernel generators need about one slice's population.
#[derive(Clone, Debug)]
pub(crate) struct LayerShape {
    pub name: String,
    pub kind: LayerKind,
    /// Neurons of the slice.
    pub size: u32,
    /// Weight (fan-in) positions.
    pub fan_in: u32,
    /// Raw input positions (the input record's width).
    pub raw_fan_in: u32,
    /// Every projection is one copy without delay and nothing below needs
    /// the general path: the kernel is the one plain `lif` layers always had.
    pub plain: bool,
    /// The weight matrices, in fan-in order.
    pub copies: Vec<CopyShape>,
    /// Fan-in positions whose pre population is a LIF layer (errors go down;
    /// plain layers).
    pub lif_positions: Vec<std::ops::Range<u32>>,
    pub consts: LayerConsts,
    /// Entries of the spike record ([`resources::spike_record_capacity`],
    /// grown by [`resources::spike_record_grown`]).
    pub spike_capacity: u32,
    /// Words of the input-spike bits ([`resources::input_record_words`]).
    pub input_words: u32,
    /// Errors kept per neuron: one per outgoing projection, in declaration
    /// order ([`resources::error_parts`]).
    pub error_parts: u32,
    /// The error ring: slots and positions per slot (0 without a ring).
    pub ring_slots: u32,
    pub ring_width: u32,
    /// The first slice of its population: it starts the sums of the errors
    /// for the layers below; the others continue the previous slice's sums
    /// ([`tag::PARTIAL`]).
    pub head: bool,
    /// The last slice of its population: it sends the complete errors down.
    pub last: bool,
    /// Its spikes go somewhere: it has a spike flow (to a post population or
    /// the loss). A dead-end layer, or a readout without a loss, sends none.
    pub sends_spikes: bool,
    /// An `li` readout's score.
    pub score: Option<ReadoutShape>,
    pub regularizer: Option<RegShape>,
    /// The gradients go by the chain across the batch copies
    /// ([`tag::GRADIENT_CHAIN`]).
    pub chain: bool,
    /// Synapses in DRAM (`None`: in SRAM).
    pub dram: Option<DramShape>,
    /// The slice sums the batch's gradients itself (one copy for a batch of
    /// several samples, `ValidNetwork::layers_sum_the_batch`): each sample's
    /// are added to the sums at `end_of_sample`, the sums sent at
    /// `end_of_batch`.
    pub batch_sums: bool,
    /// Gradient arrays kept apart, one per sample the copy runs in a batch
    /// (`copies = N` copies of a batch of `B`: `B / N`; else 1;
    /// `ValidNetwork::gradient_slots`): the backward pass adds into the
    /// current sample's, and the chain adds them in sample order.
    pub slots: u32,
}

/// A layer slice whose synapses live in DRAM (`crate::resources`): its
/// region holds the weights and the gradients `[position][neuron]`, one
/// input-spike row of `row_words` words per step, and for `lif` the spike
/// record of `record` entries (keys, then `I`, then `Vt`); its SRAM a window
/// of `slots` rows (the largest delay `max_delay` plus 2) and one step's
/// record entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DramShape {
    pub row_words: u32,
    pub slots: u32,
    pub max_delay: u32,
    pub record: u32,
    /// Gradient rows the end of a batch reads at a time
    /// ([`resources::gradient_tile_rows`]; 1 as budgeted).
    pub tile: u32,
    /// The region also holds the batch's gradient sums `[position][neuron]`
    /// after the input-spike rows ([`LayerShape::batch_sums`]).
    pub sums: bool,
    /// Gradient arrays (one per sample of the copy, [`LayerShape::slots`]),
    /// one after another from word `k n`.
    pub grad_slots: u32,
}

/// Where a DRAM-mode `lif` slice of `n` neurons keeps its spike record in a
/// region of `region_words` words, for a program of `steps` steps: `(first
/// word of the keys, entries)`. The record is the region's last words (its
/// keys, then `I`, then `Vt`; [`DramShape`]).
pub fn dram_spike_record(region_words: u32, n: u32, steps: u32) -> (u32, u32) {
    let cap = resources::dram_spike_record_entries(u64::from(n), u64::from(steps)) as u32;
    (region_words - 3 * cap, cap)
}

impl DramShape {
    /// Words of the DRAM region of a slice of `n` neurons with fan-in `k`
    /// (`layer_shape` refuses a region past `i32::MAX` words).
    pub fn words(&self, k: u32, n: u32, steps: u32) -> u64 {
        self.record_base(k, n, steps) + 3 * u64::from(self.record)
    }

    /// The region's word where the spike record's keys start.
    pub fn record_base(&self, k: u32, n: u32, steps: u32) -> u64 {
        self.sums_base(k, n, steps) + if self.sums { u64::from(k) * u64::from(n) } else { 0 }
    }

    /// The region's word where the batch's gradient sums start (the
    /// record's, without them).
    pub fn sums_base(&self, k: u32, n: u32, steps: u32) -> u64 {
        self.in_base(k, n) + u64::from(steps) * u64::from(self.row_words)
    }

    /// The region's word where the input-spike rows start: after the
    /// weights and the gradient arrays.
    pub fn in_base(&self, k: u32, n: u32) -> u64 {
        u64::from(1 + self.grad_slots.max(1)) * u64::from(k) * u64::from(n)
    }
}

/// A voltage loss's constants.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct VoltageLossShape {
    pub classes: u32,
    pub batch: f32,
}

/// Loss constants in steps, as `f32`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LossShape {
    pub classes: u32,
    pub xi: f32,
    pub a: f32,
    pub b: f32,
    pub batch: f32,
}

/// Adam constants, as the reference rounds them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct AdamShape {
    pub held: u32,
    pub expected: u32,
    pub beta2: f32,
    pub one_minus_b1: f32,
    pub one_minus_b2: f32,
    pub eps: f32,
    pub wd: f32,
}

/// SGD constants, as the reference rounds them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct SgdShape {
    pub held: u32,
    pub expected: u32,
    pub momentum: f32,
    pub wd: f32,
}

/// The loss PE's kind.
#[derive(Clone, Copy, Debug)]
enum LossKind {
    FirstSpike(LossShape),
    Voltage(VoltageLossShape),
}

/// What every step of the lowering reads: the network, its mapping, the
/// weights numbered per population, and the layers' input layouts.
struct Ctx<'a> {
    net: &'a ValidNetwork,
    mapped: &'a Mapped,
    train: Option<&'a crate::network::TrainSpec>,
    steps: u32,
    batch: u32,
    loss: Option<LossKind>,
    layouts: BTreeMap<NodeIndex, SynapseLayout>,
    /// Each layer's weights numbered `post * fan_in + position`, and its fan-in.
    numbered: BTreeMap<NodeIndex, (Vec<f32>, u32)>,
    /// The flows into each slice, in flow order.
    incoming: Vec<Vec<usize>>,
    /// The receive-table length of each group of slices that share templates.
    rx_len: BTreeMap<Option<(NodeIndex, bool)>, usize>,
}

/// Lowers a mapped network with its initial weights (one `[post][pre]`
/// tensor per projection copy: declaration order, a delay line's copies
/// ascending).
pub fn lower(net: &ValidNetwork, mapped: &Mapped, weights: &[Vec<f32>]) -> Result<Program, LowerError> {
    let cx = context(net, mapped, weights)?;
    let g = &mapped.cores;
    let copy_len = g.copy_slices[0].len();
    let mut kernels: Vec<VerifiedKernel> = Vec::new();
    let mut template_of_slice = BTreeMap::new();
    let mut cores = Vec::with_capacity(g.slices.len());
    for (id, slice) in g.slices.iter().enumerate() {
        let (rx, grad_sources) = receive_table(&cx, id)?;
        let (data, dram) = initial_data(&cx, id, &rx, &grad_sources)?;
        let template = match slice.batch_copy {
            // The copies of a slice run copy 0's template.
            Some(c) if c > 0 => template_of_slice[&(id - c as usize * copy_len)],
            _ => {
                let kernel = slice_kernel(&cx, id, rx.len() as u32)?;
                let kernel =
                    verify(&kernel).map_err(|e| over_budget_as_unsupported(e, &net.graph[slice.population].name))?;
                template_for(&mut kernels, kernel)
            }
        };
        template_of_slice.insert(id, template);
        cores.push(CoreProgram {
            slice: id,
            pe: mapped.placement.cores[id].pe,
            role: slice.role,
            population: slice.population,
            population_name: net.graph[slice.population].name.clone(),
            batch_copy: slice.batch_copy,
            neurons: slice.neurons.clone(),
            kernel: template,
            data,
            weights: slice.weights.clone(),
            dram,
        });
    }
    Ok(Program {
        name: net.name.clone(),
        steps: cx.steps,
        batch: cx.batch,
        copies: g.copies,
        kernels,
        cores,
        projections: projection_layouts(&cx),
    })
}

/// Checks what the lowering supports and gathers what its steps read.
fn context<'a>(net: &'a ValidNetwork, mapped: &'a Mapped, weights: &[Vec<f32>]) -> Result<Ctx<'a>, LowerError> {
    // Without a `train` block: one copy, forward only (no loss, no optimiser).
    let train = net.train.as_ref();
    let g = &mapped.cores;
    let steps = net.time.steps;
    if steps < 2 {
        return Err(unsupported("fewer than 2 time steps"));
    }
    let batch = train.map_or(1, |t| t.batch);
    // One copy per sample, one copy for the whole batch (its samples run one
    // after another, its layers summing their gradients), or `copies = N`
    // copies of `batch / N` samples each (their gradients kept apart, the
    // chain adding them in sample order).
    // The layers' sums and slots (`layers_sum_the_batch`, `gradient_slots`)
    // follow from the spec's copies, so the mapping must have made those.
    let several = g.copies > 1 && g.copies < batch;
    if g.copies == 0
        || !batch.is_multiple_of(g.copies)
        || g.copies != net.batch_copies()
        || (several && !g.gradients.chain)
        || g.copy_slices.is_empty()
    {
        return Err(unsupported(format!(
            "{} batch copies for a batch of {batch} (use `mapping = batch_parallel` or `single_copy`)",
            g.copies
        )));
    }
    let expanded: usize = net.projections().map(|(_, _, _, p)| p.copies()).sum();
    if weights.len() != expanded {
        return Err(unsupported("weights that do not match the projections"));
    }
    for (pop, p) in net.populations() {
        if let Some(lif) = p.lif()
            && lif.reset != Reset::Zero
        {
            return Err(unsupported(format!("the reset of population `{}`", p.name)));
        }
        if train.is_some_and(|t| t.readout == pop) && !net.outgoing(pop).is_empty() {
            return Err(unsupported("a readout with outgoing projections"));
        }
    }
    let loss = train.map(|t| match t.loss {
        LossSpec::FirstSpikeCrossEntropy { xi, alpha, beta } => LossKind::FirstSpike(LossShape {
            classes: net.graph[t.readout].size,
            xi: xi.in_steps(net.time.dt) as f32,
            a: alpha as f32,
            b: beta.in_steps(net.time.dt) as f32,
            batch: t.batch as f32,
        }),
        _ => LossKind::Voltage(VoltageLossShape { classes: net.graph[t.readout].size, batch: t.batch as f32 }),
    });
    let layouts: BTreeMap<NodeIndex, SynapseLayout> =
        net.populations().filter(|(_, p)| p.is_layer()).map(|(i, _)| (i, net.synapse_layout(i))).collect();
    let numbered = layouts.iter().map(|(&pop, layout)| (pop, layer_weights(net, pop, layout, weights))).collect();
    let mut incoming: Vec<Vec<usize>> = vec![Vec::new(); g.slices.len()];
    for (f, flow) in g.flows.iter().enumerate() {
        for t in flow.target_ids() {
            incoming[t].push(f);
        }
    }
    // Slices of one shape share templates; shorter receive tables are
    // padded to the longest of their group (a population's slices, or all
    // optimiser slices).
    let mut rx_len: BTreeMap<Option<(NodeIndex, bool)>, usize> = BTreeMap::new();
    for (id, slice) in g.slices.iter().enumerate() {
        let len = rx_len.entry(template_group(slice)).or_default();
        *len = (*len).max(incoming[id].len());
    }
    Ok(Ctx { net, mapped, train, steps, batch, loss, layouts, numbered, incoming, rx_len })
}

/// The group of slices whose receive tables are padded to one length.
fn template_group(s: &crate::ir::cores::Slice) -> Option<(NodeIndex, bool)> {
    match s.role {
        Role::Optimiser => None,
        _ => Some((s.population, s.role == Role::Loss)),
    }
}

/// Whether `slice` is the last of its population (it sends the complete
/// errors down; the others pass partial sums up the population).
fn is_last(net: &ValidNetwork, slice: &crate::ir::cores::Slice) -> bool {
    slice.neurons.end == net.graph[slice.population].size
}

/// A gradient flow into an optimiser: its key, its batch copy, its entry.
type GradSource = (u32, u32, RxEntry);

/// A slice's receive table (sorted by key, padded) and, for an optimiser,
/// the gradient sources.
fn receive_table(cx: &Ctx<'_>, id: SliceId) -> Result<(Vec<RxEntry>, Vec<GradSource>), LowerError> {
    let (net, g) = (cx.net, &cx.mapped.cores);
    let slice = &g.slices[id];
    let pop = slice.population;
    let mut rx: Vec<RxEntry> = Vec::new();
    let mut grad_sources: Vec<GradSource> = Vec::new();
    for &f in &cx.incoming[id] {
        let flow = &g.flows[f];
        let src = &g.slices[flow.source];
        let range = cx.key(flow.source, flow.kind).ok_or_else(|| unsupported("a flow without keys"))?;
        let n_src = src.neurons.end - src.neurons.start;
        let entry = match (flow.kind, slice.role) {
            (PacketKind::Spike, Role::Layer) => {
                // Recorded at the projection's raw positions.
                let e = net
                    .incoming(pop)
                    .into_iter()
                    .find(|(_, pre)| *pre == src.population)
                    .ok_or_else(|| unsupported("a spike flow without a projection"))?
                    .0;
                let raw = cx.layouts[&pop].copies.iter().find(|c| c.edge == e).map_or(0, |c| c.raw_offset);
                RxEntry { range, lo: 0, hi: n_src, off: (raw + src.neurons.start) as i32, tag: tag::SPIKE }
            }
            (PacketKind::Spike, Role::Loss) => {
                RxEntry { range, lo: 0, hi: n_src, off: src.neurons.start as i32, tag: tag::SPIKE }
            }
            (PacketKind::Error, Role::Layer)
                if src.role == Role::Layer && src.population == pop && !is_last(net, src) =>
            {
                // The previous slice's partial sums, by fan-in position.
                RxEntry { range, lo: 0, hi: net.fan_in(pop), off: 0, tag: tag::PARTIAL }
            }
            (PacketKind::Error, Role::Layer) if src.role == Role::Loss => RxEntry {
                range,
                lo: slice.neurons.start,
                hi: slice.neurons.end,
                off: -(slice.neurons.start as i32),
                tag: tag::LOSS_ERROR,
            },
            (PacketKind::Error, Role::Layer) => {
                // Errors of the post population's last slice, by raw position.
                let e = net
                    .incoming(src.population)
                    .into_iter()
                    .find(|(_, pre)| *pre == pop)
                    .ok_or_else(|| unsupported("an error flow without a projection"))?
                    .0;
                let raw = cx.layouts[&src.population].copies.iter().find(|c| c.edge == e).map_or(0, |c| c.raw_offset);
                let start = raw + slice.neurons.start;
                // Part `q`: the projection's place among the outgoing
                // ones, in declaration order (the order they are added).
                let q = net.outgoing(pop).iter().position(|&(out, _)| out == e).unwrap_or(0) as i32;
                let n = (slice.neurons.end - slice.neurons.start) as i32;
                RxEntry { range, lo: start, hi: start + n as u32, off: q * n - start as i32, tag: tag::ERROR }
            }
            (PacketKind::Gradient, Role::Optimiser) => {
                // Source weights: population weight numbers from
                // src.neurons.start * k; held index = number - part.start + part offset.
                let k = u64::from(net.fan_in(src.population));
                let base = u64::from(src.neurons.start) * k;
                let mut at = 0u64;
                let mut found = None;
                for part in &slice.weights {
                    let len = part.range.end - part.range.start;
                    if part.population == src.population {
                        let lo = part.range.start.max(base);
                        let hi = part.range.end.min(base + u64::from(n_src) * k);
                        if lo < hi {
                            found = Some(RxEntry {
                                range,
                                lo: (lo - base) as u32,
                                hi: (hi - base) as u32,
                                off: (base as i64 - part.range.start as i64 + at as i64) as i32,
                                tag: tag::GRADIENT,
                            });
                        }
                    }
                    at += len;
                }
                found.ok_or_else(|| unsupported("a gradient flow to an optimiser without its weights"))?
            }
            (PacketKind::Gradient, Role::Layer) => {
                // The chain: the previous copy's partial sums of the same
                // slice, by local weight.
                let weights = u64::from(n_src) * u64::from(net.fan_in(src.population));
                let hi = u32::try_from(weights).map_err(|_| unsupported("more than 2^32 weights in one slice"))?;
                RxEntry { range, lo: 0, hi, off: 0, tag: tag::GRADIENT_CHAIN }
            }
            (PacketKind::Weight, Role::Layer) => {
                let k = u64::from(net.fan_in(pop));
                let base = u64::from(slice.neurons.start) * k;
                let n = u64::from(slice.neurons.end - slice.neurons.start);
                let mut at = 0u64;
                let mut found = None;
                for part in &src.weights {
                    let len = part.range.end - part.range.start;
                    if part.population == pop {
                        let lo = part.range.start.max(base);
                        let hi = part.range.end.min(base + n * k);
                        if lo < hi {
                            let raw_lo = lo - part.range.start + at;
                            found = Some(RxEntry {
                                range,
                                lo: raw_lo as u32,
                                hi: (raw_lo + (hi - lo)) as u32,
                                off: (part.range.start as i64 - at as i64 - base as i64) as i32,
                                tag: tag::WEIGHT,
                            });
                        }
                    }
                    at += len;
                }
                found.ok_or_else(|| unsupported("a weight flow to a layer without its weights"))?
            }
            (kind, role) => {
                return Err(unsupported(format!("{} packets to a {} PE", kind.name(), role.name())));
            }
        };
        if entry.tag == tag::GRADIENT {
            grad_sources.push((range.key, src.batch_copy.unwrap_or(0), entry));
        }
        rx.push(entry);
    }
    rx.sort_by_key(|e| e.range.key);
    // Padding: the highest key, matching only itself, with no index.
    let pad = RxEntry { range: KeyRange { key: u32::MAX, mask: u32::MAX }, lo: 0, hi: 0, off: 0, tag: tag::SPIKE };
    rx.resize(cx.rx_len[&template_group(slice)], pad);
    Ok((rx, grad_sources))
}

impl Ctx<'_> {
    /// The key range of `slice`'s flow of `kind`, if it sends one.
    fn key(&self, slice: SliceId, kind: PacketKind) -> Option<KeyRange> {
        self.mapped.routing.keys.get(&(slice, kind)).copied()
    }
}

/// A PE's initial buffers, by name.
type Data = BTreeMap<String, Vec<u32>>;

/// A slice's initial memory: its send keys, its receive table, its weights
/// (layers `[position][neuron]`, in SRAM or as the first words of its DRAM
/// region; optimisers the held weights), an exp-weighted readout's step
/// weights.
fn initial_data(
    cx: &Ctx<'_>,
    id: SliceId,
    rx: &[RxEntry],
    grad_sources: &[GradSource],
) -> Result<(Data, Vec<u32>), LowerError> {
    let slice = &cx.mapped.cores.slices[id];
    let pop = slice.population;
    let mut data: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let mut dram = Vec::new();
    let mut tx = [0u32; 4];
    for kind in PacketKind::ALL {
        if let Some(r) = cx.key(id, kind) {
            tx[tx_slot(kind)] = r.key;
        }
    }
    data.insert(buffers::TX.into(), tx.to_vec());
    data.insert("rx_key".into(), rx.iter().map(|e| e.range.key).collect());
    data.insert("rx_mask".into(), rx.iter().map(|e| e.range.mask).collect());
    data.insert("rx_lo".into(), rx.iter().map(|e| e.lo).collect());
    data.insert("rx_hi".into(), rx.iter().map(|e| e.hi).collect());
    data.insert(buffers::RX_OFF.into(), rx.iter().map(|e| e.off as u32).collect());
    data.insert(buffers::RX_TAG.into(), rx.iter().map(|e| e.tag as u32).collect());
    if slice.role == Role::Optimiser {
        check_copy_order(grad_sources)?;
        let mut w = Vec::new();
        for part in &slice.weights {
            let (e, _) = &cx.numbered[&part.population];
            w.extend(e[part.range.start as usize..part.range.end as usize].iter().map(|x| x.to_bits()));
        }
        data.insert("w".into(), w);
    }
    if slice.role == Role::Layer {
        let (numbered, k) = &cx.numbered[&pop];
        let n = (slice.neurons.end - slice.neurons.start) as usize;
        let k = *k as usize;
        let mut wt = vec![0u32; n * k];
        for j in 0..n {
            for pos in 0..k {
                wt[pos * n + j] = numbered[(slice.neurons.start as usize + j) * k + pos].to_bits();
            }
        }
        match slice.synapses {
            Synapses::Sram => {
                data.insert(buffers::WEIGHTS.into(), wt);
            }
            Synapses::Dram => dram = wt,
        }
        if cx.train.is_some() && cx.mapped.cores.gradients.chain {
            data.insert(buffers::CHAIN_HEAD.into(), vec![u32::from(slice.batch_copy == Some(0))]);
        }
        if let Some(ReadoutShape { score: ScoreShape::Weighted { w, .. } }) = readout_shape(cx, pop) {
            data.insert("wtab".into(), w.iter().map(|x| x.to_bits()).collect());
        }
    }
    Ok((data, dram))
}

/// The kernel of slice `id` (the template its copies share).
fn slice_kernel(cx: &Ctx<'_>, id: SliceId, rx_len: u32) -> Result<Kernel, LowerError> {
    let (net, g) = (cx.net, &cx.mapped.cores);
    let slice = &g.slices[id];
    let pop = slice.population;
    let n = slice.neurons.end - slice.neurons.start;
    // A slice whose spikes go nowhere (no flow, so no key) sends none.
    let sends_spikes = cx.key(id, PacketKind::Spike).is_some();
    Ok(match slice.role {
        Role::Input => {
            let source = net.graph[pop].spike_source();
            if source.is_some_and(|s| matches!(s.encoding, crate::network::Encoding::Events(_))) {
                if !input_events::fits_event_word(n, cx.steps) {
                    return Err(unsupported(format!(
                        "an event input slice of {n} inputs over {} steps (at most 65,536 of each)",
                        cx.steps
                    )));
                }
                input_events::input_events(&net.graph[pop].name, n, rx_len, sends_spikes)
            } else {
                kernels::input(&net.graph[pop].name, n, rx_len, sends_spikes)
            }
        }
        Role::Layer if cx.train.is_none() => {
            let shape = layer_shape(cx, slice, sends_spikes)?;
            kernels::layer_inference(&shape, n, rx_len)
        }
        Role::Layer => {
            let mut shape = layer_shape(cx, slice, sends_spikes)?;
            // One record grows into the room the PE's data memory has left
            // with the budgeted kernel: with synapses in DRAM the gradient
            // tile (rows sent at the end of a batch; the spike record there
            // holds every possible spike already), else a `lif` layer's
            // spike record.
            if shape.dram.is_some() || shape.kind == LayerKind::Lif {
                let room = room_left(cx, &kernels::layer(&shape, n, rx_len, cx.steps));
                let fan_in = u64::from(shape.fan_in);
                match &mut shape.dram {
                    // With gradient slots the chain's start reads a row of
                    // each slot at a time, not tiles.
                    Some(_) if shape.slots > 1 => {}
                    Some(d) => d.tile = resources::gradient_tile_rows(u64::from(n), fan_in, room) as u32,
                    None => {
                        let grown = resources::spike_record_grown(u64::from(n), u64::from(cx.steps), room);
                        shape.spike_capacity = grown.min(i32::MAX as u64) as u32;
                    }
                }
            }
            kernels::layer(&shape, n, rx_len, cx.steps)
        }
        Role::Loss => match cx.loss.ok_or_else(|| unsupported("a loss PE without a `train` block"))? {
            LossKind::FirstSpike(loss) => kernels::loss(loss, rx_len, cx.steps),
            LossKind::Voltage(loss) => kernels::voltage_loss(loss, rx_len),
        },
        Role::Optimiser => {
            let train = cx.train.ok_or_else(|| unsupported("an optimiser PE without a `train` block"))?;
            let held: u64 = slice.weights.iter().map(|w| w.range.end - w.range.start).sum();
            // One gradient per held weight and sample of the batch; with
            // the chain, one per held weight (the last copy's sums), and so
            // with one copy that sums the batch itself.
            let per_weight = if g.gradients.chain || net.layers_sum_the_batch() { 1 } else { u64::from(train.batch) };
            let expected = u32::try_from(held * per_weight)
                .map_err(|_| unsupported("more than 2^32 gradients per optimiser PE and batch"))?;
            let held = held as u32;
            let index = id - g.optimiser_slices.start;
            match train.optimizer {
                OptimizerSpec::Adam { beta1, beta2, eps, weight_decay, .. } => {
                    let shape = AdamShape {
                        held,
                        expected,
                        beta2: beta2 as f32,
                        one_minus_b1: (1.0 - beta1) as f32,
                        one_minus_b2: (1.0 - beta2) as f32,
                        eps: eps as f32,
                        wd: weight_decay as f32,
                    };
                    kernels::optimiser(shape, rx_len, index)
                }
                OptimizerSpec::Sgd { momentum, weight_decay, .. } => {
                    let shape = SgdShape { held, expected, momentum: momentum as f32, wd: weight_decay as f32 };
                    kernels::sgd_optimiser(shape, rx_len, index)
                }
            }
        }
    })
}

/// Bytes of a PE's data memory that `kernel`'s buffers, the receive buffers
/// and the stack leave free.
fn room_left(cx: &Ctx<'_>, kernel: &Kernel) -> u64 {
    let reserved = resources::RECEIVE_BUFFER_BYTES + resources::STACK_BYTES + kernel.buffers_end();
    u64::from(cx.mapped.machine.spec.data_bytes).saturating_sub(reserved)
}

/// Every projection copy's place in its post population's weight numbering
/// (declaration order, copies ascending).
fn projection_layouts(cx: &Ctx<'_>) -> Vec<ProjLayout> {
    let mut out: Vec<(usize, ProjLayout)> = cx
        .layouts
        .iter()
        .flat_map(|(&post, layout)| {
            layout.copies.iter().map(move |c| {
                (
                    c.expanded,
                    ProjLayout {
                        post,
                        n_pre: c.n_pre,
                        n_post: cx.net.graph[post].size,
                        offset: c.weight_offset,
                        fan_in: layout.fan_in,
                    },
                )
            })
        })
        .collect();
    out.sort_by_key(|(e, _)| *e);
    out.into_iter().map(|(_, p)| p).collect()
}

/// The weights into `pop`, numbered `post * fan_in + position` (positions:
/// its copies in fan-in order), and the fan-in.
fn layer_weights(net: &ValidNetwork, pop: NodeIndex, layout: &SynapseLayout, weights: &[Vec<f32>]) -> (Vec<f32>, u32) {
    let k = layout.fan_in;
    let n = net.graph[pop].size;
    let mut out = vec![0.0; (n * k) as usize];
    for c in &layout.copies {
        for j in 0..n {
            for i in 0..c.n_pre {
                out[(j * k + c.weight_offset + i) as usize] =
                    weights[c.expanded].get((j * c.n_pre + i) as usize).copied().unwrap_or(0.0);
            }
        }
    }
    (out, k)
}

/// The score shape of `pop`, when it is an `li` readout with a voltage loss.
fn readout_shape(cx: &Ctx<'_>, pop: NodeIndex) -> Option<ReadoutShape> {
    let t = cx.train.filter(|t| t.readout == pop && cx.net.graph[pop].li().is_some())?;
    let score = match t.loss {
        LossSpec::MaxVoltageCrossEntropy => ScoreShape::Max,
        LossSpec::SumVoltageCrossEntropy => ScoreShape::Sum { c: (1.0 / f64::from(cx.steps)) as f32 },
        LossSpec::ExpWeightedVoltageCrossEntropy { window } => {
            let (first, end, w) = crate::network::exp_window(cx.net.time, window);
            ScoreShape::Weighted { first, end, w: w.into_iter().map(|x| x.unwrap_or(0.0)).collect() }
        }
        LossSpec::FirstSpikeCrossEntropy { .. } => return None,
    };
    Some(ReadoutShape { score })
}

/// The layer's shape; its records are sized by the partitioner's resource
/// model, so the lowering allocates what the placement budgeted.
fn layer_shape(cx: &Ctx<'_>, slice: &crate::ir::cores::Slice, sends_spikes: bool) -> Result<LayerShape, LowerError> {
    let net = cx.net;
    let pop = slice.population;
    let n = slice.neurons.end - slice.neurons.start;
    let p = &net.graph[pop];
    let consts = p.layer_consts(net.time.dt).ok_or_else(|| unsupported("a layer slice of a spike source"))?;
    let layout = &cx.layouts[&pop];
    let training = cx.train.is_some();
    let copies: Vec<CopyShape> = layout
        .copies
        .iter()
        .map(|c| CopyShape {
            copy: c.copy,
            delay: c.delay,
            n_pre: c.n_pre,
            weight_offset: c.weight_offset,
            raw_offset: c.raw_offset,
            from_layer: net.graph[c.pre].lif().is_some(),
            ring: if training { layout.ring_of(c.edge).copied() } else { None },
        })
        .collect();
    let lif_positions =
        copies.iter().filter(|c| c.from_layer).map(|c| c.weight_offset..c.weight_offset + c.n_pre).collect();
    let regularizer = cx.train.and_then(|t| t.regularizer.as_ref()).filter(|r| r.populations.contains(&pop)).map(|r| {
        let batch = f64::from(cx.batch);
        RegShape { up: (r.strength / batch) as f32, below: (r.strength_below / batch) as f32, target: r.target as f32 }
    });
    let score = readout_shape(cx, pop);
    let kind = if p.li().is_some() { LayerKind::Li } else { LayerKind::Lif };
    let plain = kind == LayerKind::Lif && layout.plain() && regularizer.is_none();
    let k = layout.fan_in;
    let raw = layout.raw_fan_in;
    let steps = net.time.steps;
    let in_dram = slice.synapses == Synapses::Dram;
    // With synapses in DRAM, SRAM holds one step's record entries.
    let spike_capacity =
        if in_dram { u64::from(n) } else { resources::spike_record_capacity(u64::from(n), u64::from(steps)) };
    let record = match kind {
        LayerKind::Lif => resources::dram_spike_record_entries(u64::from(n), u64::from(steps)),
        LayerKind::Li => 0,
    };
    let dram = in_dram.then(|| {
        let max_delay = layout.copies.iter().map(|c| c.delay).max().unwrap_or(0);
        let row_words = resources::input_row_words(u64::from(raw)) as u32;
        let slots = resources::input_window_steps(u64::from(max_delay)) as u32;
        DramShape {
            row_words,
            slots,
            max_delay,
            record: record.min(u64::from(u32::MAX)) as u32,
            tile: 1,
            sums: training && net.layers_sum_the_batch(),
            grad_slots: if training { net.gradient_slots() } else { 1 },
        }
    });
    let input_words = match dram {
        None => resources::input_record_words(u64::from(raw), u64::from(steps)),
        Some(d) => u64::from(d.slots) * u64::from(d.row_words),
    };
    if let Some(region) = dram.map(|d| d.words(k, n, steps))
        && region > i32::MAX as u64
    {
        return Err(unsupported(format!(
            "population `{}`: a DRAM region of {region} words (at most 2^31 - 1)",
            p.name
        )));
    }
    // Record keys are `step * n + neuron` and bits `step * raw + position` in `i32`.
    let fits = |width: u32| u64::from(steps + 1) * u64::from(width) <= i32::MAX as u64;
    if !fits(n) || !fits(raw) || !fits(k) || spike_capacity > i32::MAX as u64 {
        return Err(unsupported(format!("population `{}`: records too long for 32-bit keys", p.name)));
    }
    Ok(LayerShape {
        name: p.name.clone(),
        kind,
        size: n,
        fan_in: k,
        raw_fan_in: raw,
        plain,
        copies,
        lif_positions,
        consts,
        spike_capacity: spike_capacity as u32,
        input_words: input_words as u32,
        error_parts: resources::error_parts(net, pop) as u32,
        ring_slots: if training { layout.ring_slots } else { 0 },
        ring_width: if training { layout.ring_width } else { 0 },
        head: slice.neurons.start == 0,
        last: slice.neurons.end == p.size,
        sends_spikes,
        score,
        regularizer,
        chain: training && cx.mapped.cores.gradients.chain,
        dram,
        batch_sums: training && net.layers_sum_the_batch(),
        slots: if training { net.gradient_slots() } else { 1 },
    })
}

/// The index of `kernel` among the templates: an existing template with the
/// same buffers and code (whatever its name), else `kernel` added under a
/// name no other template has (`<name>_2`, `<name>_3`, ...).
fn template_for(kernels: &mut Vec<VerifiedKernel>, kernel: VerifiedKernel) -> usize {
    let same = |k: &VerifiedKernel| {
        k.budget == kernel.budget && k.buffers == kernel.buffers && k.functions == kernel.functions
    };
    if let Some(i) = kernels.iter().position(same) {
        return i;
    }
    let mut n = 1;
    let mut name = kernel.name.clone();
    while kernels.iter().any(|k| k.name == name) {
        n += 1;
        name = format!("{}_{n}", kernel.name);
    }
    kernels.push(if n == 1 { kernel } else { kernel.with_suffix(n) });
    kernels.len() - 1
}

/// The optimiser sums the copies' gradients in the order it receives them,
/// key order: for every weight that must be copy order.
fn check_copy_order(sources: &[GradSource]) -> Result<(), LowerError> {
    let mut sorted = sources.to_vec();
    sorted.sort_by_key(|s| s.0);
    for (i, (_, copy, e)) in sorted.iter().enumerate() {
        let later_lower_copy = sorted[i + 1..].iter().any(|(_, c, f)| {
            let (a0, a1) = (i64::from(e.lo) + i64::from(e.off), i64::from(e.hi) + i64::from(e.off));
            let (b0, b1) = (i64::from(f.lo) + i64::from(f.off), i64::from(f.hi) + i64::from(f.off));
            c <= copy && a0 < b1 && b0 < a1
        });
        if later_lower_copy {
            return Err(unsupported("gradient flows whose keys are not in batch-copy order"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
