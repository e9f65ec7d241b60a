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
//! steps (`spike_step`, input PEs), its label (`label`, loss PE) and the
//! optimiser step's f64-derived scalars (`hyper`; Adam: `lr / (1 - b1^t)`
//! and `sqrt(1 - b2^t)`, rounded to `f32`; SGD: `lr` rounded to `f32` and
//! `1.0` on the first step, else `0.0`) and reads results (`rec_key`,
//! `rec_len`, `overflow`, `first`, `loss`, `w`) from SRAM.
//!
//! Memory layout: what the partitioner's resource model
//! (`crate::partition::resources`) budgets, sized by the same functions. A
//! layer keeps for the backward pass a log of its own spikes (`(step,
//! neuron)`, `I`, `Vt`: the jump's denominator) of `SPIKE_BUDGET` entries
//! per neuron (grown into the room the PE has left, up to `T - 1` per
//! neuron, where no sample can overflow it) with a per-step index, and one bit per step and fan-in
//! position for its input spikes (where gradients accumulate and errors go
//! down). A sample that overflows the log sets the layer's `overflow` flag
//! ([`OVERFLOW_SPIKES`]); the emulator stops with an error naming the PE, the
//! population and the budget.
//!
//! Timeline (the emulator's contract): per sample, forward ticks `n = 0 ..
//! T-1` (packets sent at tick `n`, and any packets their handlers send, are
//! handled before tick `n + 1`), one more delivery, backward ticks `n = T-2
//! .. 0` (same delivery rule: an error sum travels up the slices of a split
//! population, one handler per slice, before it reaches the layer below),
//! one more delivery, `end_of_sample`; per batch, `end_of_batch` on every
//! PE, then deliveries until no packet is left: the layers' gradients reach
//! the optimiser, which runs Adam on the last one and sends the new weights
//! back. With one copy for a batch of `B` (`mapping = single_copy`) the
//! samples run one after another, each followed by `end_of_batch` and its
//! deliveries: the optimiser adds the gradients in sample order (as it adds
//! the copies' in copy order) and steps after the `B`-th.
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

mod kernels;

pub use kernels::OVERFLOW_SPIKES;

use std::collections::BTreeMap;

use petgraph::graph::NodeIndex;

use crate::driver::Mapped;
use crate::kernel::{KernelError, KernelErrors, VerifiedKernel, verify};
use crate::machine::PeAddr;
use crate::network::{LayerConsts, LossSpec, OptimizerSpec, Reset, ValidNetwork};
use crate::partition::{PacketKind, Role, SliceId, WeightRange, resources};
use crate::route::KeyRange;

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

/// Everything the kernel generators need about one slice's population.
#[derive(Clone, Debug)]
pub(crate) struct LayerShape {
    pub name: String,
    pub fan_in: u32,
    /// Fan-in positions whose pre population is a LIF layer (errors go down).
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
    /// The first slice of its population: it starts the sums of the errors
    /// for the layers below; the others continue the previous slice's sums
    /// ([`tag::PARTIAL`]).
    pub head: bool,
    /// Its spikes go somewhere: it has a spike flow (to a post population or
    /// the loss). A dead-end layer, or a readout without a loss, sends none.
    pub sends_spikes: bool,
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

/// Lowers a mapped network with its initial weights.
pub fn lower(net: &ValidNetwork, mapped: &Mapped, weights: &[Vec<f32>]) -> Result<Program, LowerError> {
    // Without a `train` block: one copy, forward only (no loss, no optimiser).
    let train = net.train.as_ref();
    let g = &mapped.cores;
    let steps = net.time.steps;
    if steps < 2 {
        return Err(unsupported("fewer than 2 time steps"));
    }
    let batch = train.map_or(1, |t| t.batch);
    // One copy per sample, or one copy for the whole batch (its samples run
    // one after another, each sending its gradients to the optimiser).
    if (g.copies != batch && g.copies != 1) || g.copy_slices.is_empty() {
        return Err(unsupported(format!(
            "{} batch copies for a batch of {batch} (use `mapping = batch_parallel` or `single_copy`)",
            g.copies
        )));
    }
    let projections: Vec<_> = net.projections().collect();
    if weights.len() != projections.len() {
        return Err(unsupported("weights that do not match the projections"));
    }
    for (pop, p) in net.populations() {
        if let Some(lif) = p.lif() {
            if lif.reset != Reset::Zero {
                return Err(unsupported(format!("the reset of population `{}`", p.name)));
            }
            if train.is_some_and(|t| t.readout == pop) && !net.outgoing(pop).is_empty() {
                return Err(unsupported("a readout with outgoing projections"));
            }
        }
    }
    let dt = net.time.dt;
    let loss = train.map(|t| {
        let LossSpec::FirstSpikeCrossEntropy { xi, alpha, beta } = t.loss;
        LossShape {
            classes: net.graph[t.readout].size,
            xi: xi.in_steps(dt) as f32,
            a: alpha as f32,
            b: beta.in_steps(dt) as f32,
            batch: t.batch as f32,
        }
    });

    let key = |s: SliceId, kind: PacketKind| mapped.routing.keys.get(&(s, kind)).copied();
    // Fan-in offset of each projection in its post population's fan-in.
    let mut proj_offset = BTreeMap::new();
    for (e, _, post, _) in &projections {
        let offset: u32 =
            net.incoming(*post).iter().take_while(|(f, _)| f != e).map(|(_, pre)| net.graph[*pre].size).sum();
        proj_offset.insert(*e, offset);
    }

    let copy_len = g.copy_slices[0].len();
    // The flows into each slice (one receive-table entry each), and the
    // table length of each group of slices that share templates: a
    // population's slices, or all optimiser slices. Shorter tables are
    // padded, so slices of one shape run one kernel.
    let mut incoming: Vec<Vec<usize>> = vec![Vec::new(); g.slices.len()];
    for (f, flow) in g.flows.iter().enumerate() {
        for t in flow.target_ids() {
            incoming[t].push(f);
        }
    }
    let group = |s: &crate::partition::Slice| match s.role {
        Role::Optimiser => None,
        _ => Some((s.population, s.role == Role::Loss)),
    };
    let mut rx_len: BTreeMap<Option<(NodeIndex, bool)>, usize> = BTreeMap::new();
    for (id, slice) in g.slices.iter().enumerate() {
        let len = rx_len.entry(group(slice)).or_default();
        *len = (*len).max(incoming[id].len());
    }
    // Each population's weights in its numbering, built once.
    let mut numbered: BTreeMap<NodeIndex, (Vec<f32>, u32)> = BTreeMap::new();
    for slice in &g.slices {
        let pops: Vec<NodeIndex> = match slice.role {
            Role::Layer => vec![slice.population],
            Role::Optimiser => slice.weights.iter().map(|w| w.population).collect(),
            _ => Vec::new(),
        };
        for pop in pops {
            numbered.entry(pop).or_insert_with(|| layer_weights(net, pop, weights, &projections, &proj_offset));
        }
    }
    let mut kernels: Vec<VerifiedKernel> = Vec::new();
    let mut template_of_slice = BTreeMap::new();
    let mut cores = Vec::with_capacity(g.slices.len());
    for (id, slice) in g.slices.iter().enumerate() {
        let placed = &mapped.placement.cores[id];
        let pop = slice.population;
        let mut data: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        let mut rx: Vec<RxEntry> = Vec::new();
        let mut grad_sources: Vec<(u32, u32, RxEntry)> = Vec::new();
        let mut tx = [0u32; 4];
        for kind in PacketKind::ALL {
            if let Some(r) = key(id, kind) {
                tx[tx_slot(kind)] = r.key;
            }
        }
        // Receive table: every flow that targets this slice.
        for &f in &incoming[id] {
            let flow = &g.flows[f];
            let src = &g.slices[flow.source];
            let range = key(flow.source, flow.kind).ok_or_else(|| unsupported("a flow without keys"))?;
            let n_src = src.neurons.end - src.neurons.start;
            let entry = match (flow.kind, slice.role) {
                (PacketKind::Spike, Role::Layer) => {
                    let e = net
                        .incoming(pop)
                        .into_iter()
                        .find(|(_, pre)| *pre == src.population)
                        .ok_or_else(|| unsupported("a spike flow without a projection"))?
                        .0;
                    RxEntry {
                        range,
                        lo: 0,
                        hi: n_src,
                        off: (proj_offset[&e] + src.neurons.start) as i32,
                        tag: tag::SPIKE,
                    }
                }
                (PacketKind::Spike, Role::Loss) => {
                    RxEntry { range, lo: 0, hi: n_src, off: src.neurons.start as i32, tag: tag::SPIKE }
                }
                (PacketKind::Error, Role::Layer) if src.role == Role::Layer && src.population == pop => {
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
                    let e = net
                        .incoming(src.population)
                        .into_iter()
                        .find(|(_, pre)| *pre == pop)
                        .ok_or_else(|| unsupported("an error flow without a projection"))?
                        .0;
                    let start = proj_offset[&e] + slice.neurons.start;
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
        rx.resize(rx_len[&group(slice)], pad);
        data.insert("tx".into(), tx.to_vec());
        data.insert("rx_key".into(), rx.iter().map(|e| e.range.key).collect());
        data.insert("rx_mask".into(), rx.iter().map(|e| e.range.mask).collect());
        data.insert("rx_lo".into(), rx.iter().map(|e| e.lo).collect());
        data.insert("rx_hi".into(), rx.iter().map(|e| e.hi).collect());
        data.insert("rx_off".into(), rx.iter().map(|e| e.off as u32).collect());
        data.insert("rx_tag".into(), rx.iter().map(|e| e.tag as u32).collect());

        if slice.role == Role::Optimiser {
            check_copy_order(&grad_sources)?;
            let mut w = Vec::new();
            for part in &slice.weights {
                let (e, _) = &numbered[&part.population];
                w.extend(e[part.range.start as usize..part.range.end as usize].iter().map(|x| x.to_bits()));
            }
            data.insert("w".into(), w);
        }
        if slice.role == Role::Layer {
            let (numbered, k) = &numbered[&pop];
            let n = (slice.neurons.end - slice.neurons.start) as usize;
            let k = *k as usize;
            let mut wt = vec![0u32; n * k];
            for j in 0..n {
                for pos in 0..k {
                    wt[pos * n + j] = numbered[(slice.neurons.start as usize + j) * k + pos].to_bits();
                }
            }
            data.insert("weights".into(), wt);
        }

        // A slice whose spikes go nowhere (no flow, so no key) sends none.
        let sends_spikes = key(id, PacketKind::Spike).is_some();
        let template = match slice.batch_copy {
            Some(c) if c > 0 => template_of_slice[&(id - c as usize * copy_len)],
            _ => {
                let kernel = match slice.role {
                    Role::Input => kernels::input(
                        &net.graph[pop].name,
                        slice.neurons.end - slice.neurons.start,
                        rx.len() as u32,
                        sends_spikes,
                    ),
                    Role::Layer if train.is_none() => {
                        let shape = layer_shape(net, pop, slice, sends_spikes, &proj_offset)?;
                        kernels::layer_inference(&shape, slice.neurons.end - slice.neurons.start, rx.len() as u32)
                    }
                    Role::Layer => {
                        let mut shape = layer_shape(net, pop, slice, sends_spikes, &proj_offset)?;
                        let n = slice.neurons.end - slice.neurons.start;
                        // The spike record grows into the room the PE has left.
                        let budgeted = kernels::layer(&shape, n, rx.len() as u32, steps);
                        let used = budgeted.buffers.iter().map(|b| u64::from(b.offset) + 4 * u64::from(b.len)).max();
                        let reserved = resources::RECEIVE_BUFFER_BYTES + resources::STACK_BYTES + used.unwrap_or(0);
                        let room = u64::from(mapped.machine.spec.data_bytes).saturating_sub(reserved);
                        let grown = resources::spike_record_grown(u64::from(n), u64::from(steps), room);
                        shape.spike_capacity = grown.min(i32::MAX as u64) as u32;
                        kernels::layer(&shape, n, rx.len() as u32, steps)
                    }
                    Role::Loss => {
                        let loss = loss.ok_or_else(|| unsupported("a loss PE without a `train` block"))?;
                        kernels::loss(loss, rx.len() as u32, steps)
                    }
                    Role::Optimiser => {
                        let train = train.ok_or_else(|| unsupported("an optimiser PE without a `train` block"))?;
                        let held: u64 = slice.weights.iter().map(|w| w.range.end - w.range.start).sum();
                        // One gradient per held weight and sample of the batch.
                        let expected = u32::try_from(held * u64::from(train.batch))
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
                                kernels::optimiser(shape, rx.len() as u32, index)
                            }
                            OptimizerSpec::Sgd { momentum, weight_decay, .. } => {
                                let shape =
                                    SgdShape { held, expected, momentum: momentum as f32, wd: weight_decay as f32 };
                                kernels::sgd_optimiser(shape, rx.len() as u32, index)
                            }
                        }
                    }
                };
                let kernel = verify(&kernel).map_err(|e| over_budget_as_unsupported(e, &net.graph[pop].name))?;
                template_for(&mut kernels, kernel)
            }
        };
        template_of_slice.insert(id, template);
        cores.push(CoreProgram {
            slice: id,
            pe: placed.pe,
            role: slice.role,
            population: pop,
            population_name: net.graph[pop].name.clone(),
            batch_copy: slice.batch_copy,
            neurons: slice.neurons.clone(),
            kernel: template,
            data,
            weights: slice.weights.clone(),
        });
    }
    let projections = projections
        .iter()
        .map(|(e, pre, post, _)| ProjLayout {
            post: *post,
            n_pre: net.graph[*pre].size,
            n_post: net.graph[*post].size,
            offset: proj_offset[e],
            fan_in: net.fan_in(*post),
        })
        .collect();
    Ok(Program { name: net.name.clone(), steps, batch, copies: g.copies, kernels, cores, projections })
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
fn check_copy_order(sources: &[(u32, u32, RxEntry)]) -> Result<(), LowerError> {
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

/// The weights into `pop`, numbered `post * fan_in + position`, and the fan-in.
fn layer_weights(
    net: &ValidNetwork,
    pop: NodeIndex,
    weights: &[Vec<f32>],
    projections: &[(petgraph::graph::EdgeIndex, NodeIndex, NodeIndex, &crate::network::Projection)],
    proj_offset: &BTreeMap<petgraph::graph::EdgeIndex, u32>,
) -> (Vec<f32>, u32) {
    let k = net.fan_in(pop);
    let n = net.graph[pop].size;
    let mut out = vec![0.0; (n * k) as usize];
    for (p, (e, pre, post, _)) in projections.iter().enumerate() {
        if *post != pop {
            continue;
        }
        let n_pre = net.graph[*pre].size;
        let off = proj_offset[e];
        for j in 0..n {
            for i in 0..n_pre {
                out[(j * k + off + i) as usize] = weights[p].get((j * n_pre + i) as usize).copied().unwrap_or(0.0);
            }
        }
    }
    (out, k)
}

/// The layer's shape; its records are sized by the partitioner's resource
/// model, so the lowering allocates what the placement budgeted.
fn layer_shape(
    net: &ValidNetwork,
    pop: NodeIndex,
    slice: &crate::partition::Slice,
    sends_spikes: bool,
    proj_offset: &BTreeMap<petgraph::graph::EdgeIndex, u32>,
) -> Result<LayerShape, LowerError> {
    let n = slice.neurons.end - slice.neurons.start;
    let p = &net.graph[pop];
    let lif = p.lif().expect("layer slices are LIF populations");
    let lif_positions = net
        .incoming(pop)
        .into_iter()
        .filter(|(_, pre)| net.graph[*pre].lif().is_some())
        .map(|(e, pre)| proj_offset[&e]..proj_offset[&e] + net.graph[pre].size)
        .collect();
    let k = net.fan_in(pop);
    let spike_capacity = resources::spike_record_capacity(u64::from(n), u64::from(net.time.steps));
    let input_words = resources::input_record_words(u64::from(k), u64::from(net.time.steps));
    // Record keys are `step * n + neuron` and bits `step * k + position` in `i32`.
    let fits = |width: u32| u64::from(net.time.steps + 1) * u64::from(width) <= i32::MAX as u64;
    if !fits(n) || !fits(k) || spike_capacity > i32::MAX as u64 {
        return Err(unsupported(format!("population `{}`: records too long for 32-bit keys", p.name)));
    }
    Ok(LayerShape {
        name: p.name.clone(),
        fan_in: k,
        lif_positions,
        consts: lif.f32_consts(net.time.dt),
        spike_capacity: spike_capacity as u32,
        input_words: input_words as u32,
        error_parts: resources::error_parts(net, pop) as u32,
        head: slice.neurons.start == 0,
        sends_spikes,
    })
}

#[cfg(test)]
mod tests;
