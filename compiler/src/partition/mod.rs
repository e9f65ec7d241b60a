//! Partitioner: [`ValidNetwork`] + [`Machine`] -> [`CoreGraph`].
//!
//! Splits every population into slices that fit one PE (by the data bytes of
//! the [resource model](resources) and by a neurons-per-PE cap: the target's
//! `neurons_per_core`, else [`DEFAULT_NEURONS_PER_PE`]), choosing per layer
//! where its synapses live (the target's `synapses`, else: a training layer
//! keeps them in SRAM whenever one neuron fits a PE that way, else in DRAM,
//! the resource model's rule; a forward-only layer in SRAM), replicates the slices
//! once per batch copy, adds one loss slice per copy and the optimiser slices,
//! and lists the packet flows between slices.
//!
//! Slices, in id order: copy 0 (populations in topological order, each split
//! into balanced slices, then the loss slice), copy 1, ..., then the optimiser
//! slices (per trained population in topological order). A population is
//! split the same way in every copy.
//!
//! Flows (one per source slice and packet kind, only when it has targets):
//! - `spike` (forward, key only): a slice to every slice of its population's
//!   post populations in the same copy, and to the copy's loss slice when the
//!   population is the readout; one key per neuron of the slice.
//! - `error` (backward, f32 payload), one key per fan-in position (the
//!   incoming projections' pre neurons concatenated in declaration order):
//!   the last slice of a layer population to every slice of its LIF pre
//!   populations in the same copy; any other slice to the next slice of its
//!   population, which continues the sum (`W^T (lV - lI)` summed over the
//!   post neurons in ascending order, slice after slice, the reference's
//!   order); the loss slice to the readout slices, one key per class.
//! - `gradient` (f32 payload, once per batch step), one key per weight of
//!   the slice: a layer slice to the optimiser slices holding its weights
//!   (direct); or, with the chain, copy `c`'s slice to copy `c + 1`'s slice
//!   of the same neurons, the last copy's to the optimiser slices. The
//!   scheme is the spec's `gradients`, or with `auto` the one of lower
//!   modelled end-of-batch cycles ([`GradientPlan`],
//!   `machine::ChipSpec::gradient_cycles`; a tie keeps direct).
//! - `weight` (f32 payload, once per batch step): an optimiser slice to every
//!   copy's layer slices holding its weights, one key per weight it holds.
//!
//! Packet counts are estimates: per sample, a spike source sends one spike
//! per neuron, a layer slice `S n` spikes (`S` = [`resources::TRAFFIC_SPIKES`],
//! the latency code's one spike per neuron; the records are sized for the
//! worst case, the spike budget) and `S` errors per LIF fan-in position, the
//! loss one error per class; per batch step (exact), a layer slice sends one
//! gradient per weight and an optimiser slice one weight per weight it holds
//! (a multicast packet counts once). The emulator counts the real traffic.
//!
//! The weights of a population are numbered `post_neuron * fan_in + position`;
//! the optimiser slices cut the weights of all trained populations (in
//! topological order) into consecutive pieces of as many weights as one PE
//! holds, so a layer slice's gradients may go to two or more optimiser slices.
//!
//! Without a `train` block there is one copy, no loss, no optimiser, and only
//! spike flows. `mapping = single_copy` uses one copy for any batch.
//!
//! Invariants: in every copy, the slices of a population cover its neurons
//! exactly once, in order; optimiser slices cover each trained population's
//! weights exactly once, in order; every slice's data fits the PE's data
//! region; flow targets are sorted, disjoint ranges of slice ids.

/// The resource model (kept at its old path).
pub use crate::resources;

use std::ops::Range;

use petgraph::graph::NodeIndex;

use crate::ir::cores::aligned_blocks;
pub use crate::ir::cores::{
    CoreGraph, Flow, GradientPlan, PacketKind, PopulationInfo, Role, Slice, SliceId, WeightRange,
};
use crate::machine::{GradientTraffic, Machine};
use crate::network::{GradientScheme, OptimizerSpec, ValidNetwork};
use crate::resources::{
    Dram, Synapses, input_sram, layer_memory, layer_sram, layer_sram_in, loss_sram, max_neurons, optimiser_sram,
};

/// Neurons per PE when the target sets no `neurons_per_core` (model).
pub const DEFAULT_NEURONS_PER_PE: u32 = 1024;

/// A population that cannot be split to fit a PE.
#[derive(Debug, Clone, PartialEq, thiserror::Error, miette::Diagnostic)]
pub enum PartitionError {
    #[error(
        "population `{population}` does not fit a PE: one neuron with fan-in {fan_in} needs {needed} bytes of data, a PE has {budget}"
    )]
    #[diagnostic(
        code(snn::partition::neuron_too_large),
        help(
            "its {grows} grow with the fan-in; a PE holds a {kind} neuron of fan-in up to {max_fan_in}: make the populations projecting into `{population}` smaller"
        )
    )]
    NeuronTooLarge {
        population: String,
        fan_in: u32,
        needed: u64,
        budget: u64,
        max_fan_in: u64,
        /// What grows with the fan-in (training keeps gradients too).
        grows: &'static str,
        /// "training" or "forward-only".
        kind: &'static str,
        #[label("this population")]
        span: miette::SourceSpan,
    },
    #[error(
        "population `{population}` does not fit a PE over {steps} steps: one neuron with fan-in {fan_in} needs {needed} bytes of data, a PE has {budget}"
    )]
    #[diagnostic(
        code(snn::partition::trial_too_long),
        help(
            "a neuron's input record keeps one bit per step and fan-in position (and training keeps its spikes): at fan-in {fan_in} a PE holds at most {max_steps} steps; use a longer `dt` or a shorter trial"
        )
    )]
    TrialTooLong {
        population: String,
        fan_in: u32,
        steps: u32,
        needed: u64,
        budget: u64,
        max_steps: u64,
        #[label("this population")]
        span: miette::SourceSpan,
    },
    #[error(
        "the loss of readout `{population}` does not fit a PE: {classes} classes need {needed} bytes, a PE has {budget}"
    )]
    #[diagnostic(code(snn::partition::loss_too_large), help("the loss program runs on one PE; use fewer classes"))]
    LossTooLarge {
        population: String,
        classes: u32,
        needed: u64,
        budget: u64,
        #[label("the readout")]
        span: miette::SourceSpan,
    },
}

/// Splits `size` into `parts` balanced ranges (the first `size % parts` one larger).
fn balanced(start: u64, size: u64, parts: u64) -> Vec<Range<u64>> {
    let (base, extra) = (size / parts, size % parts);
    let mut out = Vec::with_capacity(parts as usize);
    let mut at = start;
    for i in 0..parts {
        let len = base + u64::from(i < extra);
        out.push(at..at + len);
        at += len;
    }
    out
}

/// Where the synapses of layer `pop` live: the target's choice, else SRAM
/// when one neuron fits a PE that way or the network does not train, else DRAM.
fn synapses_of(net: &ValidNetwork, pop: NodeIndex, budget: u64, training: bool) -> Synapses {
    match net.target.synapses {
        Some(s) if training => s,
        _ if !training => Synapses::Sram,
        _ if max_neurons(budget, |n| layer_sram_in(net, pop, n, training)) > 0 => Synapses::Sram,
        _ => Synapses::Dram,
    }
}

/// Neuron ranges of one population's slices (the same in every copy) and
/// where their synapses live.
fn slice_population(
    net: &ValidNetwork,
    pop: NodeIndex,
    budget: u64,
    cap: u32,
    training: bool,
) -> Result<(Vec<Range<u32>>, Synapses), PartitionError> {
    let p = &net.graph[pop];
    let k = u64::from(net.fan_in(pop));
    let synapses = if p.is_layer() { synapses_of(net, pop, budget, training) } else { Synapses::Sram };
    let fit = if p.is_layer() {
        max_neurons(budget, |n| layer_memory(net, pop, n, training, synapses).0)
    } else {
        max_neurons(budget, input_sram)
    };
    if fit == 0 {
        let steps = u64::from(net.time.steps);
        let needed = layer_sram_in(net, pop, 1, training).data();
        // One neuron needs about `a + b k` bytes.
        let a = layer_sram(1, 0, steps, training).data();
        let b = layer_sram(1, 1, steps, training).data() - a;
        let max_fan_in = budget.saturating_sub(a) / b.max(1);
        // The records grow with the steps: when no fan-in fits but the neuron
        // would over a single step, the trial's length is what does not fit.
        let fits_over = |s: u64| layer_sram(1, k, s, training).data() <= budget;
        if p.is_layer() && max_fan_in == 0 && fits_over(1) {
            let (mut lo, mut hi) = (1, steps);
            while lo + 1 < hi {
                let mid = lo + (hi - lo) / 2;
                if fits_over(mid) { lo = mid } else { hi = mid }
            }
            return Err(PartitionError::TrialTooLong {
                population: p.name.clone(),
                fan_in: k as u32,
                steps: net.time.steps,
                needed,
                budget,
                max_steps: lo,
                span: p.span.into(),
            });
        }
        let (grows, kind) = if training {
            ("weights, gradient accumulator and input-spike record", "training")
        } else {
            ("weights and input-spike record", "forward-only")
        };
        return Err(PartitionError::NeuronTooLarge {
            population: p.name.clone(),
            fan_in: k as u32,
            needed,
            budget,
            max_fan_in,
            grows,
            kind,
            span: p.span.into(),
        });
    }
    let per_slice = fit.min(u64::from(cap));
    let size = u64::from(p.size);
    let parts = size.div_ceil(per_slice);
    Ok((balanced(0, size, parts).into_iter().map(|r| r.start as u32..r.end as u32).collect(), synapses))
}

/// Cuts the weights of the trained populations (`(population, the weight
/// numbers where its layer slices start, then its weight count)` in order)
/// into optimiser slices of at most `capacity` weights each, filling every
/// slice before starting the next as far as the router allows.
///
/// A layer slice sends each optimiser slice the gradients of the weights it
/// holds ([`Flow::parts`]), and the router covers each such part with the
/// largest aligned key blocks (counted from the layer slice's first weight),
/// one table entry per block and batch copy on the optimiser's chip. So a
/// part that does not run to the end of its layer slice is at most `blocks`
/// aligned blocks, taken greedily: the largest that fits first. (A part that
/// does run to its end may end anywhere: the keys past a slice's last weight
/// are never sent, so its last block may cover them.)
fn optimiser_parts(populations: &[(NodeIndex, Vec<u64>)], capacity: u64, blocks: u32) -> Vec<Vec<WeightRange>> {
    let mut out = Vec::new();
    let mut current: Vec<WeightRange> = Vec::new();
    let mut held = 0;
    for (pop, bounds) in populations {
        for w in bounds.windows(2) {
            let (start, end) = (w[0], w[1]);
            let mut at = start;
            while at < end {
                let room = capacity - held;
                let tail = end - at <= room;
                // The first `blocks` of the aligned blocks (as the router
                // cuts them) that cover the room from `at`.
                let to = if tail {
                    end
                } else {
                    let cover = aligned_blocks(at - start, at + room - start);
                    let last = cover[..cover.len().min(blocks as usize)].last();
                    last.map_or(at, |&(first, bits)| start + first + (1 << bits))
                };
                match current.last_mut() {
                    Some(last) if last.population == *pop && last.range.end == at => last.range.end = to,
                    _ => current.push(WeightRange { population: *pop, range: at..to }),
                }
                held += to - at;
                at = to;
                // A part cut inside its layer slice has spent its blocks.
                if !tail || held == capacity {
                    out.push(std::mem::take(&mut current));
                    held = 0;
                }
            }
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The positions of the items of `ranges` (sorted, disjoint) that overlap `want`.
fn overlapping<T>(ranges: &[(T, Range<u64>)], want: &Range<u64>) -> Range<usize> {
    let first = ranges.partition_point(|(_, r)| r.end <= want.start);
    let last = ranges.partition_point(|(_, r)| r.start < want.end);
    first..last
}

/// Splits the network into slices and lists the flows between them: the
/// pipeline's partitioning, as a list of named steps.
pub fn partition(net: &ValidNetwork, machine: &Machine) -> Result<CoreGraph, PartitionError> {
    let cx = Setup::new(net, machine);
    let (ranges, synapses) = population_slices(&cx)?;
    check_loss_fits(&cx)?;
    let mut layout = copy_slices(&cx, &ranges, &synapses);
    let opt_parts = add_optimiser_slices(&cx, &ranges, &mut layout);
    let mut flows = copy_flows(&cx, &ranges, &layout, &opt_parts);
    flows.extend(weight_flows(&cx, &ranges, &layout));
    let gradients = gradient_plan(&cx, machine, &layout, &flows);
    if gradients.chain {
        chain_gradients(&cx, &layout, &mut flows);
    }
    let Layout { slices, copy_slices, optimiser_slices, .. } = layout;
    Ok(CoreGraph {
        copies: cx.copies,
        training: cx.training,
        mapping: net.target.mapping,
        target_span: net.target.span.into(),
        populations: cx.populations,
        slices,
        copy_slices,
        optimiser_slices,
        flows,
        gradients,
    })
}

/// What every step reads: the network, the PE's data budget, the copies and
/// the populations in topological order.
struct Setup<'a> {
    net: &'a ValidNetwork,
    budget: u64,
    pes_per_chip: u32,
    router_entries: usize,
    training: bool,
    /// Neurons per slice at most.
    cap: u32,
    copies: u32,
    order: Vec<NodeIndex>,
    populations: Vec<PopulationInfo>,
    readout: Option<NodeIndex>,
}

impl<'a> Setup<'a> {
    fn new(net: &'a ValidNetwork, machine: &Machine) -> Self {
        let copies = net.batch_copies();
        Setup {
            net,
            budget: u64::from(machine.spec.data_bytes),
            pes_per_chip: machine.spec.app_pes_per_chip(),
            router_entries: machine.spec.router_entries,
            training: net.train.is_some(),
            cap: net.target.neurons_per_core.unwrap_or(DEFAULT_NEURONS_PER_PE).max(1),
            copies,
            order: net.topological_order(),
            populations: net
                .populations()
                .map(|(i, p)| PopulationInfo {
                    name: p.name.clone(),
                    size: p.size,
                    fan_in: net.fan_in(i),
                    span: p.span.into(),
                })
                .collect(),
            readout: net.train.as_ref().map(|t| t.readout),
        }
    }

    fn fan_in(&self, pop: NodeIndex) -> u64 {
        u64::from(self.populations[pop.index()].fan_in)
    }
}

/// The slices of every copy and the optimiser slices, with where each
/// population's slices are.
struct Layout {
    slices: Vec<Slice>,
    copy_slices: Vec<Range<SliceId>>,
    /// `pop_ids[copy][pop]`: the slice ids of `pop` in `copy`.
    pop_ids: Vec<Vec<Range<SliceId>>>,
    /// The loss slice of each copy (training only).
    loss_ids: Vec<SliceId>,
    optimiser_slices: Range<SliceId>,
}

/// The neuron ranges of every population's slices, indexed by population.
type PopulationRanges = Vec<Vec<Range<u32>>>;

/// Step 1: the neuron ranges of every population's slices and where their
/// synapses live (indexed by population; the same in every copy).
fn population_slices(cx: &Setup<'_>) -> Result<(PopulationRanges, Vec<Synapses>), PartitionError> {
    let mut ranges = vec![Vec::new(); cx.net.graph.node_count()];
    let mut synapses = vec![Synapses::Sram; cx.net.graph.node_count()];
    for &pop in &cx.order {
        (ranges[pop.index()], synapses[pop.index()]) = slice_population(cx.net, pop, cx.budget, cx.cap, cx.training)?;
    }
    Ok((ranges, synapses))
}

/// Step 2: the loss runs on one PE, so its classes must fit one.
fn check_loss_fits(cx: &Setup<'_>) -> Result<(), PartitionError> {
    let Some(r) = cx.readout else { return Ok(()) };
    let classes = cx.net.graph[r].size;
    let need = loss_sram(u64::from(classes)).data();
    if need > cx.budget {
        return Err(PartitionError::LossTooLarge {
            population: cx.net.graph[r].name.clone(),
            classes,
            needed: need,
            budget: cx.budget,
            span: cx.net.graph[r].span.into(),
        });
    }
    Ok(())
}

/// Step 3: the slices of every copy: populations in topological order, each
/// split by `ranges`, then the copy's loss slice.
fn copy_slices(cx: &Setup<'_>, ranges: &[Vec<Range<u32>>], synapses: &[Synapses]) -> Layout {
    let net = cx.net;
    let mut l = Layout {
        slices: Vec::new(),
        copy_slices: Vec::new(),
        pop_ids: Vec::new(),
        loss_ids: Vec::new(),
        optimiser_slices: 0..0,
    };
    for c in 0..cx.copies {
        let start = l.slices.len();
        let mut ids = vec![0..0; net.graph.node_count()];
        for &pop in &cx.order {
            let p = &net.graph[pop];
            let first = l.slices.len();
            for r in &ranges[pop.index()] {
                let n = u64::from(r.end - r.start);
                let syn = synapses[pop.index()];
                let (role, (sram, dram)) = if p.is_layer() {
                    (Role::Layer, layer_memory(net, pop, n, cx.training, syn))
                } else {
                    (Role::Input, (input_sram(n), Dram::default()))
                };
                l.slices.push(Slice {
                    role,
                    population: pop,
                    neurons: r.clone(),
                    batch_copy: Some(c),
                    weights: Vec::new(),
                    sram,
                    synapses: syn,
                    dram,
                });
            }
            ids[pop.index()] = first..l.slices.len();
        }
        if let Some(r) = cx.readout {
            l.loss_ids.push(l.slices.len());
            l.slices.push(Slice {
                role: Role::Loss,
                population: r,
                neurons: 0..net.graph[r].size,
                batch_copy: Some(c),
                weights: Vec::new(),
                sram: loss_sram(u64::from(net.graph[r].size)),
                synapses: Synapses::Sram,
                dram: Dram::default(),
            });
        }
        l.pop_ids.push(ids);
        l.copy_slices.push(start..l.slices.len());
    }
    l
}

/// Step 4: the optimiser slices, holding the weights of every trained
/// population packed; returns, per population, `(optimiser slice, weight
/// range)` in weight order.
fn add_optimiser_slices(cx: &Setup<'_>, ranges: &[Vec<Range<u32>>], l: &mut Layout) -> Vec<Vec<(SliceId, Range<u64>)>> {
    let net = cx.net;
    let start = l.slices.len();
    let mut opt_parts: Vec<Vec<(SliceId, Range<u64>)>> = vec![Vec::new(); net.graph.node_count()];
    if let Some(train) = &net.train {
        let capacity = max_neurons(cx.budget, |w| optimiser_sram(w, &train.optimizer)).max(1);
        let trained: Vec<(NodeIndex, Vec<u64>)> = cx
            .order
            .iter()
            .filter(|&&pop| net.graph[pop].is_layer() && cx.fan_in(pop) > 0)
            .map(|&pop| {
                let k = cx.fan_in(pop);
                let slices = &ranges[pop.index()];
                let bounds = slices.iter().map(|r| u64::from(r.start) * k);
                (pop, bounds.chain(slices.last().map(|r| u64::from(r.end) * k)).collect())
            })
            .collect();
        // The router's budget: each optimiser PE's parts reach it from every
        // copy; let the optimisers of one chip use at most half its table.
        let weights: u64 = trained.iter().map(|(_, b)| b.last().copied().unwrap_or(0)).sum();
        let per_chip = weights.div_ceil(capacity).min(u64::from(cx.pes_per_chip)).max(1);
        let budget = cx.router_entries as u64 / 2 / (per_chip * u64::from(cx.copies));
        let blocks = budget.clamp(1, 8) as u32;
        for parts in optimiser_parts(&trained, capacity, blocks) {
            let id = l.slices.len();
            for part in &parts {
                opt_parts[part.population.index()].push((id, part.range.clone()));
            }
            l.slices.push(optimiser_slice(parts, &cx.populations, &train.optimizer));
        }
    }
    l.optimiser_slices = start..l.slices.len();
    opt_parts
}

/// Step 5: the flows inside each copy: spikes forward, errors backward,
/// gradients to the optimiser slices, and the loss' errors to the readout.
fn copy_flows(
    cx: &Setup<'_>,
    ranges: &[Vec<Range<u32>>],
    l: &Layout,
    opt_parts: &[Vec<(SliceId, Range<u64>)>],
) -> Vec<Flow> {
    let net = cx.net;
    let mut flows = Vec::new();
    for c in 0..cx.copies as usize {
        let pop_ids = &l.pop_ids[c];
        for &pop in &cx.order {
            let k = cx.fan_in(pop);
            let mut spike_targets: Vec<Range<SliceId>> =
                net.outgoing(pop).iter().map(|&(_, post)| pop_ids[post.index()].clone()).collect();
            if cx.readout == Some(pop) {
                spike_targets.push(l.loss_ids[c]..l.loss_ids[c] + 1);
            }
            let spike_targets = normalise(spike_targets);
            let lif_pre: Vec<NodeIndex> =
                net.incoming(pop).iter().map(|&(_, pre)| pre).filter(|&pre| net.graph[pre].is_layer()).collect();
            let error_targets = normalise(lif_pre.iter().map(|pre| pop_ids[pre.index()].clone()).collect());
            let lif_fan_in: u64 = lif_pre.iter().map(|pre| u64::from(net.graph[*pre].size)).sum();
            let is_input = !net.graph[pop].is_layer();
            let layer_ranges: Vec<Range<u64>> =
                ranges[pop.index()].iter().map(|r| u64::from(r.start) * k..u64::from(r.end) * k).collect();
            let own = pop_ids[pop.index()].clone();
            for (i, id) in own.clone().enumerate() {
                let n = u64::from(l.slices[id].neurons.end - l.slices[id].neurons.start);
                if !spike_targets.is_empty() {
                    let packets = if is_input { n } else { resources::TRAFFIC_SPIKES * n };
                    flows.push(Flow {
                        source: id,
                        kind: PacketKind::Spike,
                        keys: n,
                        packets,
                        targets: spike_targets.clone(),
                        parts: Vec::new(),
                    });
                }
                if !cx.training || is_input {
                    continue;
                }
                if !error_targets.is_empty() {
                    // The partial sums go up the population's slices; the
                    // last slice sends the errors down.
                    let targets = if id + 1 < own.end {
                        std::iter::once(id + 1..id + 2).collect()
                    } else {
                        error_targets.clone()
                    };
                    flows.push(Flow {
                        source: id,
                        kind: PacketKind::Error,
                        keys: k,
                        packets: resources::TRAFFIC_SPIKES * lif_fan_in,
                        targets,
                        parts: Vec::new(),
                    });
                }
                if k > 0 {
                    let opts = &opt_parts[pop.index()];
                    let mine = &layer_ranges[i];
                    let o = overlapping(opts, mine);
                    let parts = opts[o.clone()]
                        .iter()
                        .map(|(s, r)| (r.start.max(mine.start) - mine.start..r.end.min(mine.end) - mine.start, *s))
                        .collect();
                    flows.push(Flow {
                        source: id,
                        kind: PacketKind::Gradient,
                        keys: n * k,
                        packets: n * k,
                        targets: normalise(opts[o].iter().map(|(s, _)| *s..*s + 1).collect()),
                        parts,
                    });
                }
            }
        }
        if let Some(r) = cx.readout {
            let classes = u64::from(net.graph[r].size);
            flows.push(Flow {
                source: l.loss_ids[c],
                kind: PacketKind::Error,
                keys: classes,
                packets: classes,
                targets: vec![pop_ids[r.index()].clone()],
                parts: Vec::new(),
            });
        }
    }
    flows
}

/// Step 6: the new weights, from each optimiser slice to every copy's layer
/// slices holding them.
fn weight_flows(cx: &Setup<'_>, ranges: &[Vec<Range<u32>>], l: &Layout) -> Vec<Flow> {
    let layer_weights: Vec<Vec<(SliceId, Range<u64>)>> = (0..cx.populations.len())
        .map(|p| {
            let k = u64::from(cx.populations[p].fan_in);
            ranges[p].iter().enumerate().map(|(i, r)| (i, u64::from(r.start) * k..u64::from(r.end) * k)).collect()
        })
        .collect();
    let mut flows = Vec::new();
    for id in l.optimiser_slices.clone() {
        let mut targets = Vec::new();
        for part in &l.slices[id].weights {
            let pop = part.population.index();
            let o = overlapping(&layer_weights[pop], &part.range);
            targets.extend(
                (0..cx.copies as usize).map(|c| l.pop_ids[c][pop].start + o.start..l.pop_ids[c][pop].start + o.end),
            );
        }
        let held: u64 = l.slices[id].weights.iter().map(|w| w.range.end - w.range.start).sum();
        flows.push(Flow {
            source: id,
            kind: PacketKind::Weight,
            keys: held,
            packets: held,
            targets: normalise(targets),
            parts: Vec::new(),
        });
    }
    flows
}

/// Step 7: the gradient scheme (`docs/machine.md`, "Gradient traffic"):
/// the spec's, or the one of lower modelled end-of-batch cycles (a tie
/// keeps the direct one). With one copy there is nothing to chain.
fn gradient_plan(cx: &Setup<'_>, machine: &Machine, l: &Layout, flows: &[Flow]) -> GradientPlan {
    if !cx.training {
        return GradientPlan::default();
    }
    let mut rx = vec![0u64; l.slices.len()];
    for f in flows {
        for t in f.target_ids() {
            rx[t] += 1;
        }
    }
    let senders = flows.iter().filter(|f| f.kind == PacketKind::Gradient && l.slices[f.source].batch_copy == Some(0));
    let traffic = GradientTraffic {
        copies: u64::from(cx.copies),
        slots: u64::from(cx.net.gradient_slots()),
        slices: senders.map(|f| (f.packets, rx[f.source])).collect(),
        optimisers: l
            .optimiser_slices
            .clone()
            .map(|id| (l.slices[id].weights.iter().map(|w| w.range.end - w.range.start).sum(), rx[id]))
            .collect(),
    };
    let cycles = machine.spec.gradient_cycles(&traffic);
    let scheme = cx.net.target.gradients;
    // Several samples per copy: only the chain adds their gradients in
    // sample order (the checker refuses `gradients = direct` then).
    let slots = cx.net.gradient_slots() > 1;
    let chain = cx.copies > 1
        && (slots
            || match scheme {
                GradientScheme::Auto => cycles.chain < cycles.direct,
                GradientScheme::Chain => true,
                GradientScheme::Direct => false,
            });
    GradientPlan {
        chain,
        forced: scheme != GradientScheme::Auto || slots,
        chain_unroutable: false,
        direct_cycles: cycles.direct,
        chain_cycles: (cx.copies > 1).then_some(cycles.chain),
    }
}

/// Step 8, for the chain: every gradient flow of copy `c` but the last goes
/// to copy `c + 1`'s slice of the same neurons instead of the optimisers
/// (the copies are split alike, so that slice is `copy_len` ids on).
fn chain_gradients(cx: &Setup<'_>, l: &Layout, flows: &mut [Flow]) {
    let last = cx.copies - 1;
    for f in flows.iter_mut().filter(|f| f.kind == PacketKind::Gradient) {
        let copy = l.slices[f.source].batch_copy.unwrap_or(last);
        if copy < last {
            let next = f.source + l.copy_slices[0].len();
            f.targets = std::iter::once(next..next + 1).collect();
            f.parts.clear();
        }
    }
}

fn optimiser_slice(parts: Vec<WeightRange>, populations: &[PopulationInfo], opt: &OptimizerSpec) -> Slice {
    let first = &parts[0];
    let k = u64::from(populations[first.population.index()].fan_in);
    // The post neurons of the first population it holds weights of.
    let end =
        parts.iter().take_while(|p| p.population == first.population).last().map_or(first.range.end, |p| p.range.end);
    let held: u64 = parts.iter().map(|p| p.range.end - p.range.start).sum();
    Slice {
        role: Role::Optimiser,
        population: first.population,
        neurons: (first.range.start / k) as u32..end.div_ceil(k) as u32,
        batch_copy: None,
        sram: optimiser_sram(held, opt),
        weights: parts,
        synapses: Synapses::Sram,
        dram: Dram::default(),
    }
}

/// Sorts ranges, drops empty ones and joins touching or overlapping ones.
fn normalise(mut ranges: Vec<Range<SliceId>>) -> Vec<Range<SliceId>> {
    ranges.retain(|r| r.start < r.end);
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<SliceId>> = Vec::with_capacity(ranges.len());
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{Mapping, TargetSpec, yinyang_network};

    fn machine(net: &ValidNetwork) -> Machine {
        Machine::from_target(&net.target).unwrap()
    }

    #[test]
    fn yinyang_is_four_slices_per_copy_and_one_optimiser_slice() {
        let net = yinyang_network(120);
        let g = partition(&net, &machine(&net)).unwrap();
        assert_eq!(g.copies, 22);
        assert!(g.copy_slices.iter().all(|r| r.len() == 4));
        let roles: Vec<Role> = g.slices[g.copy_slices[0].clone()].iter().map(|s| s.role).collect();
        assert_eq!(roles, [Role::Input, Role::Layer, Role::Layer, Role::Loss]);
        // All 960 weights fit one optimiser PE, as in the paper.
        assert_eq!(g.optimiser_slices.len(), 1);
        assert_eq!(g.slices.len(), 22 * 4 + 1);
        let opt = &g.slices[88];
        assert_eq!(opt.weights.iter().map(|w| w.range.clone()).collect::<Vec<_>>(), vec![0..600, 0..360]);
    }

    #[test]
    fn optimiser_parts_fill_each_slice() {
        let (a, b) = (NodeIndex::new(1), NodeIndex::new(2));
        let show = |pops: &[(NodeIndex, Vec<u64>)], cap, blocks| -> Vec<Vec<(usize, Range<u64>)>> {
            optimiser_parts(pops, cap, blocks)
                .into_iter()
                .map(|s| s.into_iter().map(|w| (w.population.index(), w.range)).collect())
                .collect()
        };
        let whole = [(a, vec![0, 100]), (b, vec![0, 30])];
        // Eight blocks per part: every slice is filled (0..45 is 32 + 8 + 4 + 1).
        assert_eq!(show(&whole, 80, 8), vec![vec![(1, 0..80)], vec![(1, 80..100), (2, 0..30)]]);
        assert_eq!(show(&whole, 45, 8), vec![vec![(1, 0..45)], vec![(1, 45..90)], vec![(1, 90..100), (2, 0..30)]]);
        assert_eq!(show(&whole, 50, 8), vec![vec![(1, 0..50)], vec![(1, 50..100)], vec![(2, 0..30)]]);
        assert_eq!(show(&whole, 1000, 1), vec![vec![(1, 0..100), (2, 0..30)]]);
        // One block per part: a part cut inside its layer slice is one
        // aligned block, and its optimiser slice takes nothing more; a part
        // that runs to the slice's end (64..100) may be any length.
        assert_eq!(
            show(&whole, 45, 1),
            vec![vec![(1, 0..32)], vec![(1, 32..64)], vec![(1, 64..100), (2, 0..8)], vec![(2, 8..30)]]
        );
        // Two layer slices of `a` (weights 0..30, 30..60): blocks are aligned
        // from the layer slice's first weight (30..38 is block 0..8 of the
        // second); the first slice's end is free.
        let split = [(a, vec![0, 30, 60]), (b, vec![0, 30])];
        assert_eq!(show(&split, 40, 1), vec![vec![(1, 0..38)], vec![(1, 38..60), (2, 0..16)], vec![(2, 16..30)]]);
    }

    #[test]
    fn neurons_per_core_caps_slices() {
        let mut net = yinyang_network(120);
        net.target = TargetSpec { neurons_per_core: Some(50), ..net.target.clone() };
        let g = partition(&net, &machine(&net)).unwrap();
        let hidden: Vec<Range<u32>> = g.slices[g.copy_slices[0].clone()]
            .iter()
            .filter(|s| g.populations[s.population.index()].name == "hidden")
            .map(|s| s.neurons.clone())
            .collect();
        assert_eq!(hidden, vec![0..40, 40..80, 80..120]);
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init, reason = "targets are lists of slice-id ranges")]
    fn flows_of_yinyang() {
        let mut net = yinyang_network(120);
        net.target.gradients = GradientScheme::Direct;
        let g = partition(&net, &machine(&net)).unwrap();
        let kinds = |src: SliceId| -> Vec<(PacketKind, Vec<Range<SliceId>>)> {
            g.flows.iter().filter(|f| f.source == src).map(|f| (f.kind, f.targets.clone())).collect()
        };
        // input -> hidden; hidden -> output, hidden errors nowhere (input is a spike source).
        assert_eq!(kinds(0), vec![(PacketKind::Spike, vec![1..2])]);
        assert_eq!(kinds(1), vec![(PacketKind::Spike, vec![2..3]), (PacketKind::Gradient, vec![88..89])]);
        assert_eq!(
            kinds(2),
            vec![
                (PacketKind::Spike, vec![3..4]),
                (PacketKind::Error, vec![1..2]),
                (PacketKind::Gradient, vec![88..89])
            ]
        );
        assert_eq!(kinds(3), vec![(PacketKind::Error, vec![2..3])]);
        let w: Vec<Range<SliceId>> = (0..22).map(|c| 4 * c + 1..4 * c + 3).collect();
        assert_eq!(kinds(88), vec![(PacketKind::Weight, w)]);
    }

    /// The gradient targets of copy `c`'s hidden and output slices.
    fn gradient_targets(g: &CoreGraph, c: usize) -> Vec<Vec<Range<SliceId>>> {
        [4 * c + 1, 4 * c + 2]
            .iter()
            .map(|&src| g.flows.iter().find(|f| f.source == src && f.kind == PacketKind::Gradient).unwrap())
            .map(|f| f.targets.clone())
            .collect()
    }

    /// Yin-Yang: the cost model picks the chain (the optimiser would handle
    /// 22 x 960 gradients; a chain stage 600); copy `c`'s gradients go to
    /// copy `c + 1`'s slice of the same neurons, the last copy's to the
    /// optimiser. `gradients = direct` keeps them all on the optimiser.
    #[test]
    #[allow(clippy::single_range_in_vec_init, reason = "targets are lists of slice-id ranges")]
    fn yinyang_chains_its_gradients_unless_told_not_to() {
        let mut net = yinyang_network(120);
        let g = partition(&net, &machine(&net)).unwrap();
        assert!(g.gradients.chain && !g.gradients.forced, "{:?}", g.gradients);
        assert!(g.gradients.chain_cycles.is_some_and(|c| c < g.gradients.direct_cycles));
        for c in 0..21 {
            assert_eq!(gradient_targets(&g, c), vec![vec![4 * c + 5..4 * c + 6], vec![4 * c + 6..4 * c + 7]]);
        }
        assert_eq!(gradient_targets(&g, 21), vec![vec![88..89], vec![88..89]]);
        net.target.gradients = GradientScheme::Direct;
        let g = partition(&net, &machine(&net)).unwrap();
        assert!(!g.gradients.chain && g.gradients.forced);
        for c in 0..22 {
            assert_eq!(gradient_targets(&g, c), vec![vec![88..89], vec![88..89]]);
        }
        // One copy: nothing to chain, even when asked.
        net.target.gradients = GradientScheme::Chain;
        net.target.mapping = Mapping::SingleCopy;
        let g = partition(&net, &machine(&net)).unwrap();
        assert!(!g.gradients.chain && g.gradients.chain_cycles.is_none());
    }
}
