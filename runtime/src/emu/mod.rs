//! The SpiNNaker2 emulator: runs a lowered [`Program`] tick by tick, every
//! PE's entry points JIT-compiled, every packet routed through the chips'
//! routing tables.
//!
//! Input: a [`Program`] (from `snnc_compiler::lower`), the [`Machine`] and the
//! [`RoutingTables`] it was mapped with. Output: per sample, the loss PE's
//! first spikes and loss; per batch, new weights in every PE's SRAM. A
//! program without training runs its forward pass ([`Emulator::infer`]) and
//! returns every layer's first spikes.
//!
//! Execution (the lowering's timeline): per sample and batch copy, forward
//! ticks `0 .. T-1`, a delivery, backward ticks `T-2 .. 0`, a delivery,
//! `end_of_sample`; before every tick the PEs drain the packets sent to them
//! during the previous tick in rounds until none is left (a handler may send:
//! a split population's error sums travel up its slices), each PE its inbox
//! sorted by `(key, payload)`, through its `packet` entry. A training batch
//! larger than the copies (`single_copy`) runs in waves of one sample per
//! copy, each ending like a batch. Every sent packet enters the router of its PE's chip: the first
//! table entry whose key/mask matches gives the chip's destination PEs and the
//! links to follow to the next chips; a packet that matches no entry stops
//! the run ([`EmuError::DroppedPacket`], naming key and chip). Routes are
//! cached after the first lookup walk (tables are static), for the whole key
//! range the walk's table entries share ([`RouteCache`]).
//! Per batch: `end_of_batch` on every PE, then delivery rounds (copies in
//! order, then the optimiser PEs) until no packet is in flight. After each
//! sample, a layer PE whose spike record overflowed (its `overflow` flag)
//! stops the run ([`EmuError::RecordOverflow`], naming PE, population and
//! capacity).
//!
//! Batch copies are independent until `end_of_batch` (a packet that would
//! cross copies stops the run): they run in parallel with rayon, each on its
//! own PE memories, so results do not depend on the thread count.
//!
//! A traced emulator ([`Emulator::new_traced`]) also records, per PE, every
//! call and host write it handled and the packets it sent ([`trace`]).
//!
//! Invariant: a kernel reads and writes only its own PE's memory; the host
//! writes only inputs (`spike_step`, `label`, `hyper`) and reads results.

pub mod counters;
pub mod trace;
pub mod train;

use std::collections::HashMap;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use snnc_compiler::kernel::{Invocation, Kernel, OpCounts, Packet, Trap};
use snnc_compiler::lower::{OVERFLOW_SPIKES, Program};
use snnc_compiler::machine::{ChipId, Machine};
use snnc_compiler::partition::Role;
use snnc_compiler::route::RoutingTables;

pub use counters::{CostModel, Counters};
pub use trace::{PeEvent, PeTrace};

use crate::jit::{JitError, JitKernel};

/// Why an emulation stopped.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum EmuError {
    #[error("packet with key {key:#010x} matches no routing entry on chip ({x}, {y}): dropped")]
    #[diagnostic(
        code(snn::emu::dropped_packet),
        help("the routing tables do not cover this key: they were corrupted or do not belong to this program")
    )]
    DroppedPacket { key: u32, x: u8, y: u8 },
    #[error("packet with key {key:#010x} is routed to PE {pe} of chip ({x}, {y}), which runs no program")]
    #[diagnostic(code(snn::emu::no_program))]
    NoProgram { key: u32, x: u8, y: u8, pe: u8 },
    #[error("packet with key {key:#010x} from batch copy {from} reached another batch copy during a sample")]
    #[diagnostic(code(snn::emu::crossed_copies))]
    CrossedCopies { key: u32, from: usize },
    #[error("packets still in flight after {rounds} delivery rounds at the end of a batch")]
    #[diagnostic(code(snn::emu::unsettled))]
    Unsettled { rounds: usize },
    #[error("the program has no buffer `{buffer}` in kernel `{kernel}`")]
    #[diagnostic(code(snn::emu::missing_buffer))]
    MissingBuffer { kernel: String, buffer: String },
    #[error(
        "the spike record of population `{population}` on PE {pe} of chip ({x}, {y}) overflowed: a sample spiked more than its {capacity} entries ({budget} spikes per neuron on average)"
    )]
    #[diagnostic(
        code(snn::emu::record_overflow),
        help(
            "the layer spikes more often than its PE has room to record; give it fewer neurons per PE (`neurons_per_core` in the target block) or train with `--backend reference`"
        )
    )]
    RecordOverflow { population: String, pe: u8, x: u8, y: u8, capacity: u32, budget: u64 },
    #[error("{what} is not yet supported by the emulator")]
    #[diagnostic(code(snn::emu::not_yet_supported))]
    NotYetSupported { what: String },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Trap(#[from] Trap),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Jit(#[from] JitError),
}

impl EmuError {
    pub fn class(&self) -> snnc_compiler::ErrorClass {
        use snnc_compiler::ErrorClass;
        match self {
            EmuError::NotYetSupported { .. } => ErrorClass::NotYetSupported,
            // A budget of the mapping that this input exceeds.
            EmuError::RecordOverflow { .. } => ErrorClass::Rejected,
            _ => ErrorClass::Internal,
        }
    }
}

impl From<EmuError> for crate::train::run::RunnerFailure {
    fn from(e: EmuError) -> Self {
        crate::train::run::RunnerFailure::of(e.class(), &e)
    }
}

impl From<EmuError> for crate::train::run::RunError {
    fn from(e: EmuError) -> Self {
        crate::train::run::RunnerFailure::from(e).into()
    }
}

/// A route as the cache keeps it: its destinations are
/// `Group::dests[start .. start + len]`.
#[derive(Clone, Copy, Debug)]
struct CachedRoute {
    start: u32,
    len: u32,
    lookups: u32,
    chip_hops: u32,
}

/// A destination core, with where it lives (its group and position there).
#[derive(Clone, Copy, Debug)]
struct Dest {
    core: u32,
    group: u32,
    pos: u32,
}

/// Routes by (chip, key). Routing is static, so the first walk of a key is
/// its route for the whole run, and the route of every key that matches the
/// same table entry on every chip of the walk: the keys `k` with `k & M ==
/// key & M`, `M` the union of those entries' masks. When `M` is a prefix mask
/// (as the router's aligned key ranges give) that is the range `lo ..= hi`,
/// kept per chip in sorted, disjoint ranges (one per flow, where a cache per
/// key held one per key: millions for a large network's gradients);
/// otherwise the key alone is cached.
#[derive(Default)]
struct RouteCache {
    /// Per chip id: `(lo, hi, route)`, sorted by `lo`, disjoint.
    ranges: Vec<Vec<(u32, u32, CachedRoute)>>,
    /// The range of the last hit and its chip: a PE sends runs of keys of
    /// one flow.
    last: Option<(ChipId, u32, u32, CachedRoute)>,
    /// [`cache_key`] -> route, for keys whose walk gave no range.
    keys: FxHashMap<u64, CachedRoute>,
}

impl RouteCache {
    fn get(&mut self, chip: ChipId, key: u32) -> Option<CachedRoute> {
        if let Some((c, lo, hi, route)) = self.last
            && c == chip
            && lo <= key
            && key <= hi
        {
            return Some(route);
        }
        if let Some(ranges) = self.ranges.get(usize::from(chip.0)) {
            let i = ranges.partition_point(|r| r.1 < key);
            if let Some(&(lo, hi, route)) = ranges.get(i)
                && lo <= key
            {
                self.last = Some((chip, lo, hi, route));
                return Some(route);
            }
        }
        if self.keys.is_empty() {
            return None;
        }
        self.keys.get(&cache_key(chip, key)).copied()
    }

    fn insert(&mut self, chip: ChipId, key: u32, mask: u32, route: CachedRoute) {
        if mask.leading_ones() + mask.trailing_zeros() != u32::BITS {
            self.keys.insert(cache_key(chip, key), route);
            return;
        }
        let c = usize::from(chip.0);
        if self.ranges.len() <= c {
            self.ranges.resize_with(c + 1, Vec::new);
        }
        let (lo, hi) = (key & mask, key | !mask);
        let ranges = &mut self.ranges[c];
        let i = ranges.partition_point(|r| r.1 < lo);
        ranges.insert(i, (lo, hi, route));
    }
}

/// The per-key cache's key of `key` sent on `chip`.
fn cache_key(chip: ChipId, key: u32) -> u64 {
    (u64::from(chip.0) << 32) | u64::from(key)
}

/// The routers of all chips, and which core each chip-local PE runs.
struct Router {
    tables: RoutingTables,
    machine: Machine,
    /// (chip, chip-local PE id) -> core index.
    pe_core: HashMap<(u16, u8), usize>,
}

/// A route: destination cores and the hops of its tree.
#[derive(Clone, Debug)]
struct Route {
    cores: Vec<usize>,
    chip_hops: u32,
    lookups: u32,
    /// The union of the matched entries' masks: every key equal to this
    /// one under it takes the same route.
    mask: u32,
}

impl Router {
    fn walk(&self, chip: ChipId, key: u32) -> Result<Route, EmuError> {
        let mut route = Route { cores: Vec::new(), chip_hops: 0, lookups: 0, mask: 0 };
        let mut seen = vec![false; self.machine.chip_count()];
        let mut todo = vec![chip];
        seen[usize::from(chip.0)] = true;
        while let Some(c) = todo.pop() {
            route.lookups += 1;
            let coord = self.machine.chips[usize::from(c.0)];
            let entry = self.tables.lookup(c, key).ok_or(EmuError::DroppedPacket { key, x: coord.x, y: coord.y })?;
            route.mask |= entry.mask;
            for &pe in &entry.route.pes {
                let core =
                    *self.pe_core.get(&(c.0, pe)).ok_or(EmuError::NoProgram { key, x: coord.x, y: coord.y, pe })?;
                route.cores.push(core);
            }
            for &link in &entry.route.links {
                if let Some(next) = self.machine.neighbour(c, link)
                    && !seen[usize::from(next.0)]
                {
                    seen[usize::from(next.0)] = true;
                    route.chip_hops += 1;
                    todo.push(next);
                }
            }
        }
        route.cores.sort_unstable();
        Ok(route)
    }
}

/// Read-only parts shared by all threads.
struct Shared {
    program: Program,
    jits: Vec<JitKernel>,
    router: Router,
    /// Core index -> (group, position in the group).
    place: Vec<(usize, usize)>,
    cost: CostModel,
}

/// The PEs of one batch copy (or the optimiser PEs): memories and inboxes.
struct Group {
    /// This group's index in [`Emulator::groups`].
    id: usize,
    cores: Vec<usize>,
    mem: Vec<Vec<u32>>,
    inbox: Vec<Vec<Packet>>,
    cache: RouteCache,
    /// The destinations of the cached routes.
    dests: Vec<Dest>,
    /// What the running entry point sent (reused between invocations).
    outbox: Vec<Packet>,
    /// The inbox being drained (reused, so that inboxes keep their capacity).
    draining: Vec<Packet>,
    /// Packets for other groups, between the rounds of a batch's end.
    away: Vec<(usize, Packet)>,
    counters: Counters,
    /// Operations of each core since its previous tick.
    ops: Vec<OpCounts>,
    /// Each core's events, when the run is traced.
    trace: Option<Vec<PeTrace>>,
}

/// What one sample produced on its copy.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleResult {
    /// First spike step per class, `T` when silent (first-spike losses;
    /// empty for voltage losses).
    pub first: Vec<u32>,
    /// The scores of a voltage readout (empty for first-spike losses).
    pub scores: Vec<f32>,
    pub loss: f32,
}

impl SampleResult {
    /// The prediction and strict correctness for `label` (argmin of first
    /// spikes, or argmax of scores; ties to the lowest class).
    pub fn predict(&self, label: u32) -> (u32, bool) {
        if self.scores.is_empty() {
            crate::train::eventprop::predict(&self.first, label)
        } else {
            crate::train::eventprop::predict_scores(&self.scores, label)
        }
    }
}

/// The first spike step of every neuron of a layer population (`T` when
/// silent), from a program without training.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirstSpikes {
    pub population: petgraph::graph::NodeIndex,
    pub first: Vec<u32>,
}

/// One sample for a batch copy: spike step of every input neuron, label.
#[derive(Clone, Copy, Debug)]
pub struct SampleInput<'a> {
    pub steps: &'a [u32],
    pub label: u32,
}

/// A loaded program, ready to run.
pub struct Emulator {
    shared: Shared,
    groups: Vec<Group>,
    jit_seconds: f64,
}

fn buffer<'m>(kernel: &Kernel, mem: &'m mut [u32], name: &str) -> Result<&'m mut [u32], EmuError> {
    let (_, b) = kernel
        .buffer_named(name)
        .ok_or_else(|| EmuError::MissingBuffer { kernel: kernel.name.clone(), buffer: name.to_string() })?;
    let start = (b.offset / 4) as usize;
    Ok(&mut mem[start..start + b.len as usize])
}

impl Shared {
    fn kernel(&self, core: usize) -> &JitKernel {
        &self.jits[self.program.cores[core].kernel]
    }

    fn chip(&self, core: usize) -> ChipId {
        self.program.cores[core].pe.chip
    }
}

impl Group {
    /// Runs one entry point on local core `l` and routes what it sent:
    /// packets to this group go to its inboxes, others to `away`.
    fn invoke(
        &mut self,
        sh: &Shared,
        l: usize,
        inv: Invocation,
        away: &mut Vec<(usize, Packet)>,
    ) -> Result<(), EmuError> {
        let core = self.cores[l];
        self.outbox.clear();
        sh.kernel(core).run(inv, &mut self.mem[l], &mut self.outbox, &mut self.ops[l])?;
        self.counters.invocations += 1;
        if let Some(trace) = &mut self.trace {
            trace[l].call(inv, &self.outbox);
        }
        if self.outbox.is_empty() {
            return Ok(());
        }
        let outbox = std::mem::take(&mut self.outbox);
        let routed = self.route(sh, core, inv, &outbox, away);
        self.outbox = outbox;
        routed
    }

    /// Routes what core `core` sent in one invocation.
    fn route(
        &mut self,
        sh: &Shared,
        core: usize,
        inv: Invocation,
        outbox: &[Packet],
        away: &mut Vec<(usize, Packet)>,
    ) -> Result<(), EmuError> {
        let chip = sh.chip(core);
        for &p in outbox {
            self.counters.count_sent(inv);
            let route = match self.cache.get(chip, p.key) {
                Some(r) => r,
                None => self.cache_route(sh, chip, p.key)?,
            };
            self.counters.router_lookups += u64::from(route.lookups);
            self.counters.chip_hops += u64::from(route.chip_hops);
            for d in &self.dests[route.start as usize..(route.start + route.len) as usize] {
                if d.group as usize == self.id {
                    self.inbox[d.pos as usize].push(p);
                } else {
                    away.push((d.core as usize, p));
                }
            }
        }
        Ok(())
    }

    /// Walks the routers for `key` sent on `chip` and caches the route.
    fn cache_route(&mut self, sh: &Shared, chip: ChipId, key: u32) -> Result<CachedRoute, EmuError> {
        let walked = sh.router.walk(chip, key)?;
        let route = CachedRoute {
            start: self.dests.len() as u32,
            len: walked.cores.len() as u32,
            lookups: walked.lookups,
            chip_hops: walked.chip_hops,
        };
        for &core in &walked.cores {
            let (group, pos) = sh.place[core];
            self.dests.push(Dest { core: core as u32, group: group as u32, pos: pos as u32 });
        }
        self.cache.insert(chip, key, walked.mask, route);
        Ok(route)
    }

    /// Drains every inbox once (sorted by key); returns whether any packet
    /// was handled.
    fn deliver(&mut self, sh: &Shared, away: &mut Vec<(usize, Packet)>) -> Result<bool, EmuError> {
        let mut any = false;
        for l in 0..self.cores.len() {
            if self.inbox[l].is_empty() {
                continue;
            }
            any = true;
            // Swap the inbox with the (empty) drain buffer: packets sent to
            // this core while it drains wait in the inbox for the next round,
            // and both vectors keep their capacity.
            let mut packets = std::mem::take(&mut self.draining);
            std::mem::swap(&mut packets, &mut self.inbox[l]);
            // Arrivals are ascending runs (one per sender and flow): the
            // stable sort merges runs, and (key, payload) is a total order.
            packets.sort();
            self.counters.packets_received += packets.len() as u64;
            for p in &packets {
                let inv = Invocation::Packet { key: p.key, payload: p.payload.unwrap_or(0) };
                self.invoke(sh, l, inv, away)?;
            }
            packets.clear();
            self.draining = packets;
        }
        Ok(any)
    }

    /// Delivers in rounds until no packet is left (a handler may send: the
    /// partial error sums travel up a population's slices between ticks).
    fn settle(&mut self, sh: &Shared, away: &mut Vec<(usize, Packet)>) -> Result<(), EmuError> {
        while self.deliver(sh, away)? {}
        Ok(())
    }

    /// Runs every core's entry point (in slice order). A forward or backward
    /// tick also closes each core's operation count since its previous tick
    /// and records the busiest core's estimated cycles.
    fn tick(&mut self, sh: &Shared, inv: Invocation, away: &mut Vec<(usize, Packet)>) -> Result<(), EmuError> {
        let timed = matches!(inv, Invocation::TickForward { .. } | Invocation::TickBackward { .. });
        let mut busiest = 0;
        for l in 0..self.cores.len() {
            self.invoke(sh, l, inv, away)?;
            if timed {
                busiest = busiest.max(sh.cost.cycles_of(&self.ops[l]));
                self.counters.ops.absorb(&self.ops[l]);
                self.ops[l] = OpCounts::default();
            }
        }
        if timed {
            self.counters.count_tick(busiest, &sh.cost);
        }
        Ok(())
    }

    /// Records, when tracing, that the host wrote buffer `name` of local
    /// core `l` (its whole contents as they are now).
    fn trace_write(&mut self, l: usize, kernel: &Kernel, name: &str) {
        if let Some(trace) = &mut self.trace
            && let Some((_, b)) = kernel.buffer_named(name)
        {
            let first = (b.offset / 4) as usize;
            trace[l].write(first as u32, &self.mem[l][first..first + b.len as usize]);
        }
    }

    /// A layer whose record overflowed during the sample stops the run.
    fn check_records(&mut self, sh: &Shared) -> Result<(), EmuError> {
        for l in 0..self.cores.len() {
            let c = &sh.program.cores[self.cores[l]];
            if c.role != Role::Layer {
                continue;
            }
            let k = sh.kernel(self.cores[l]).kernel();
            // An `li` layer keeps no spike record.
            if !k.buffers.iter().any(|b| b.name == "overflow") {
                continue;
            }
            let flag = buffer(k, &mut self.mem[l], "overflow")?[0] as i32;
            if flag == 0 {
                continue;
            }
            if flag != OVERFLOW_SPIKES {
                return Err(EmuError::NotYetSupported { what: format!("a layer overflow flag {flag}") });
            }
            let capacity = buffer(k, &mut self.mem[l], "rec_key")?.len() as u32;
            let addr = c.pe;
            let coord = sh.router.machine.chips[usize::from(addr.chip.0)];
            return Err(EmuError::RecordOverflow {
                population: c.population_name.clone(),
                pe: addr.pe_id(),
                x: coord.x,
                y: coord.y,
                capacity,
                budget: u64::from(capacity) / u64::from((c.neurons.end - c.neurons.start).max(1)),
            });
        }
        Ok(())
    }

    fn no_crossing(&self, away: &[(usize, Packet)], copy: usize) -> Result<(), EmuError> {
        match away.first() {
            Some(&(_, p)) => Err(EmuError::CrossedCopies { key: p.key, from: copy }),
            None => Ok(()),
        }
    }

    /// One sample of a program without training on this copy: write its
    /// input, run the forward phase, read every layer's first spikes.
    fn run_forward(&mut self, sh: &Shared, input: SampleInput) -> Result<Vec<FirstSpikes>, EmuError> {
        let t = sh.program.steps as i32;
        self.write_input(sh, input)?;
        let mut away = Vec::new();
        self.forward_phase(sh, &mut away)?;
        self.no_crossing(&away, 0)?;
        let mut out: Vec<FirstSpikes> = Vec::new();
        for l in 0..self.cores.len() {
            let c = &sh.program.cores[self.cores[l]];
            if c.role != Role::Layer {
                continue;
            }
            let first = buffer(sh.kernel(self.cores[l]).kernel(), &mut self.mem[l], "first")?;
            let steps = first.iter().map(|&f| if (f as i32) < 0 { t as u32 } else { f });
            match out.iter_mut().find(|p| p.population == c.population) {
                Some(p) => p.first.extend(steps),
                None => out.push(FirstSpikes { population: c.population, first: steps.collect() }),
            }
        }
        Ok(out)
    }

    /// The forward ticks `0 .. T-1`, each after the previous tick's
    /// packets are delivered, and the delivery of the last tick's.
    fn forward_phase(&mut self, sh: &Shared, away: &mut Vec<(usize, Packet)>) -> Result<(), EmuError> {
        for n in 0..sh.program.steps as i32 {
            self.settle(sh, away)?;
            self.tick(sh, Invocation::TickForward { step: n }, away)?;
        }
        self.settle(sh, away)
    }

    /// Writes a sample's spike steps into the input PEs and its label into
    /// the loss PE; returns the loss PE's position.
    fn write_input(&mut self, sh: &Shared, input: SampleInput) -> Result<Option<usize>, EmuError> {
        let mut loss_core = None;
        for l in 0..self.cores.len() {
            let core = self.cores[l];
            let k = sh.kernel(core).kernel();
            match sh.program.cores[core].role {
                Role::Input => {
                    let buf = buffer(k, &mut self.mem[l], "spike_step")?;
                    let start = sh.program.cores[core].neurons.start as usize;
                    buf.copy_from_slice(&input.steps[start..start + buf.len()]);
                    self.trace_write(l, k, "spike_step");
                }
                Role::Loss => {
                    buffer(k, &mut self.mem[l], "label")?[0] = input.label;
                    self.trace_write(l, k, "label");
                    loss_core = Some(l);
                }
                _ => {}
            }
        }
        Ok(loss_core)
    }

    /// One sample on this copy: write its input, run both phases, read the loss PE.
    fn run_sample(&mut self, sh: &Shared, copy: usize, input: SampleInput) -> Result<SampleResult, EmuError> {
        let t = sh.program.steps as i32;
        let loss_core = self.write_input(sh, input)?;
        let mut away = Vec::new();
        self.forward_phase(sh, &mut away)?;
        for n in (0..t - 1).rev() {
            self.settle(sh, &mut away)?;
            self.tick(sh, Invocation::TickBackward { step: n }, &mut away)?;
        }
        self.settle(sh, &mut away)?;
        self.tick(sh, Invocation::EndOfSample, &mut away)?;
        self.settle(sh, &mut away)?;
        self.no_crossing(&away, copy)?;
        self.check_records(sh)?;
        let l = loss_core.ok_or_else(|| EmuError::NotYetSupported { what: "a copy without a loss PE".into() })?;
        let k = sh.kernel(self.cores[l]).kernel();
        let loss = f32::from_bits(buffer(k, &mut self.mem[l], "loss")?[0]);
        // A first-spike loss PE keeps `first`, a voltage loss PE the scores `y`.
        if k.buffers.iter().any(|b| b.name == "y") {
            let scores = buffer(k, &mut self.mem[l], "y")?.iter().map(|&y| f32::from_bits(y)).collect();
            return Ok(SampleResult { first: Vec::new(), scores, loss });
        }
        let first =
            buffer(k, &mut self.mem[l], "first")?.iter().map(|&f| if (f as i32) < 0 { t as u32 } else { f }).collect();
        Ok(SampleResult { first, scores: Vec::new(), loss })
    }
}

impl Emulator {
    /// Loads a program: compiles every kernel template, fills every PE's
    /// memory with its initial data.
    pub fn new(program: Program, machine: &Machine, tables: &RoutingTables) -> Result<Emulator, EmuError> {
        Emulator::load(program, machine, tables, false)
    }

    /// Loads a program like [`Emulator::new`], recording every PE's events
    /// from `init` on ([`Emulator::trace`]).
    pub fn new_traced(program: Program, machine: &Machine, tables: &RoutingTables) -> Result<Emulator, EmuError> {
        Emulator::load(program, machine, tables, true)
    }

    fn load(program: Program, machine: &Machine, tables: &RoutingTables, traced: bool) -> Result<Emulator, EmuError> {
        let start = std::time::Instant::now();
        let jits = program.kernels.iter().map(JitKernel::compile).collect::<Result<Vec<_>, _>>()?;
        let jit_seconds = start.elapsed().as_secs_f64();
        let mut pe_core = HashMap::new();
        for (i, c) in program.cores.iter().enumerate() {
            pe_core.insert((c.pe.chip.0, c.pe.pe_id()), i);
        }
        let n_groups = program.copies as usize + 1;
        let mut groups: Vec<Group> = (0..n_groups)
            .map(|id| Group {
                id,
                cores: Vec::new(),
                mem: Vec::new(),
                inbox: Vec::new(),
                cache: RouteCache::default(),
                dests: Vec::new(),
                outbox: Vec::new(),
                draining: Vec::new(),
                away: Vec::new(),
                counters: Counters::default(),
                ops: Vec::new(),
                trace: traced.then(Vec::new),
            })
            .collect();
        let mut place = Vec::with_capacity(program.cores.len());
        for (i, c) in program.cores.iter().enumerate() {
            let g = c.batch_copy.map_or(n_groups - 1, |c| c as usize);
            let kernel = &program.kernels[c.kernel];
            let mut mem = vec![0u32; kernel.memory_words()];
            for (name, words) in &c.data {
                let buf = buffer(kernel, &mut mem, name)?;
                buf[..words.len()].copy_from_slice(words);
            }
            place.push((g, groups[g].cores.len()));
            groups[g].cores.push(i);
            groups[g].mem.push(mem);
            groups[g].inbox.push(Vec::new());
            groups[g].ops.push(OpCounts::default());
            if let Some(trace) = &mut groups[g].trace {
                trace.push(PeTrace::default());
            }
        }
        let router = Router { tables: tables.clone(), machine: machine.clone(), pe_core };
        let shared = Shared { program, jits, router, place, cost: CostModel::default() };
        let mut emu = Emulator { shared, groups, jit_seconds };
        for g in &mut emu.groups {
            let mut away = Vec::new();
            g.tick(&emu.shared, Invocation::Init, &mut away)?;
        }
        Ok(emu)
    }

    /// Wall-clock seconds spent compiling the kernel templates.
    pub fn jit_seconds(&self) -> f64 {
        self.jit_seconds
    }

    pub fn program(&self) -> &Program {
        &self.shared.program
    }

    /// The events of core `core` (an index into the program's cores) so far,
    /// if the emulator is traced.
    pub fn trace(&self, core: usize) -> Option<&PeTrace> {
        let (g, pos) = *self.shared.place.get(core)?;
        self.groups[g].trace.as_ref().map(|t| &t[pos])
    }

    /// The data memory of core `core` (an index into the program's cores).
    pub fn memory(&self, core: usize) -> &[u32] {
        let (g, pos) = self.shared.place[core];
        &self.groups[g].mem[pos]
    }

    /// Runs up to one sample per batch copy (copy `i` gets `samples[i]`), in
    /// parallel. With `train`, `samples` is one training batch: it runs in
    /// waves of one sample per copy (one wave when there is a copy per
    /// sample; one sample per wave with `mapping = single_copy`), each wave
    /// ending with its gradients sent to the optimiser, which adds them in
    /// sample order and, after the batch's last, takes its step with `hyper`
    /// (its Adam scalars) and sends the new weights to every copy.
    pub fn run_batch(
        &mut self,
        samples: &[SampleInput],
        train: Option<(f32, f32)>,
    ) -> Result<Vec<SampleResult>, EmuError> {
        let copies = self.shared.program.copies as usize;
        let batch = self.shared.program.batch as usize;
        match train {
            None if samples.len() > copies => {
                return Err(EmuError::NotYetSupported { what: "more samples than batch copies in one batch".into() });
            }
            Some(_) if samples.len() != batch => {
                return Err(EmuError::NotYetSupported {
                    what: format!("a training batch of {} samples for a program of batch {batch}", samples.len()),
                });
            }
            _ => {}
        }
        let mut results = Vec::with_capacity(samples.len());
        for wave in samples.chunks(copies.max(1)) {
            let sh = &self.shared;
            let done: Vec<SampleResult> = self.groups[..wave.len()]
                .par_iter_mut()
                .zip(wave.par_iter())
                .enumerate()
                .map(|(c, (g, &s))| g.run_sample(sh, c, s))
                .collect::<Result<_, _>>()?;
            results.extend(done);
            if let Some((step_size, bc2_sqrt)) = train {
                self.end_batch(step_size, bc2_sqrt)?;
            }
        }
        Ok(results)
    }

    /// Runs the forward pass of a program without training (one copy) on
    /// each sample in turn; returns, per sample, every layer population's
    /// first spikes (in slice order, so neuron order).
    pub fn infer(&mut self, samples: &[SampleInput]) -> Result<Vec<Vec<FirstSpikes>>, EmuError> {
        if self.shared.program.cores.iter().any(|c| c.role == Role::Loss) {
            return Err(EmuError::NotYetSupported { what: "inference on a program that trains".into() });
        }
        let sh = &self.shared;
        samples.iter().map(|&s| self.groups[0].run_forward(sh, s)).collect()
    }

    fn end_batch(&mut self, step_size: f32, bc2_sqrt: f32) -> Result<(), EmuError> {
        let sh = &self.shared;
        let opt = self.groups.len() - 1;
        for l in 0..self.groups[opt].cores.len() {
            let core = self.groups[opt].cores[l];
            let buf = buffer(sh.kernel(core).kernel(), &mut self.groups[opt].mem[l], "hyper")?;
            buf[0] = step_size.to_bits();
            buf[1] = bc2_sqrt.to_bits();
            self.groups[opt].trace_write(l, sh.kernel(core).kernel(), "hyper");
        }
        // Copies run their `end_of_batch` and deliveries in parallel, each
        // collecting what leaves it; the optimiser PEs run after them. Inboxes
        // are drained sorted, so the order packets arrive in does not matter.
        let (copies, opt_group) = self.groups.split_at_mut(opt);
        let opt_group = &mut opt_group[0];
        // Runs `inv` (or a delivery) on one group; what leaves it waits in
        // its `away` buffer.
        let run = |g: &mut Group, inv: Option<Invocation>| -> Result<bool, EmuError> {
            let mut away = std::mem::take(&mut g.away);
            let any = match inv {
                Some(inv) => g.tick(sh, inv, &mut away).map(|()| true),
                None => g.deliver(sh, &mut away),
            };
            g.away = away;
            any
        };
        let step = |copies: &mut [Group], opt_group: &mut Group, inv: Option<Invocation>| {
            let any: Vec<bool> = copies.par_iter_mut().map(|g| run(g, inv)).collect::<Result<_, EmuError>>()?;
            Ok::<_, EmuError>(run(opt_group, inv)? | any.contains(&true))
        };
        // Moves every group's `away` packets into their destinations'
        // inboxes.
        let post = |copies: &mut [Group], opt_group: &mut Group| {
            for from in 0..=copies.len() {
                let mut away =
                    std::mem::take(if from < copies.len() { &mut copies[from].away } else { &mut opt_group.away });
                for (dest, p) in away.drain(..) {
                    let (g, pos) = sh.place[dest];
                    let to = if g == opt { &mut *opt_group } else { &mut copies[g] };
                    to.inbox[pos].push(p);
                }
                if from < copies.len() {
                    copies[from].away = away;
                } else {
                    opt_group.away = away;
                }
            }
        };
        step(copies, opt_group, Some(Invocation::EndOfBatch))?;
        const ROUNDS: usize = 8;
        // A round that handles no packet sends none: nothing is in flight.
        for _ in 0..ROUNDS {
            post(copies, opt_group);
            if !step(copies, opt_group, None)? {
                return Ok(());
            }
        }
        Err(EmuError::Unsettled { rounds: ROUNDS })
    }

    /// The trained weights, one `[post][pre]` tensor per projection, read
    /// from the optimiser PEs' SRAM.
    pub fn weights(&mut self) -> Result<Vec<Vec<f32>>, EmuError> {
        self.optimiser_tensors("w")
    }

    /// An optimiser buffer (`w`, `m`, `v`) as one `[post][pre]` tensor per
    /// projection.
    pub fn optimiser_tensors(&mut self, name: &str) -> Result<Vec<Vec<f32>>, EmuError> {
        let sh = &self.shared;
        let mut out: Vec<Vec<f32>> =
            sh.program.projections.iter().map(|p| vec![0.0; (p.n_pre * p.n_post) as usize]).collect();
        let opt = self.groups.len() - 1;
        for l in 0..self.groups[opt].cores.len() {
            let core = self.groups[opt].cores[l];
            let w = buffer(sh.kernel(core).kernel(), &mut self.groups[opt].mem[l], name)?.to_vec();
            let mut at = 0usize;
            for part in &sh.program.cores[core].weights {
                for number in part.range.clone() {
                    let post = (number
                        / u64::from(
                            sh.program.projections.iter().find(|p| p.post == part.population).map_or(1, |p| p.fan_in),
                        )) as u32;
                    for (p, proj) in sh.program.projections.iter().enumerate() {
                        if proj.post != part.population {
                            continue;
                        }
                        let pos = (number % u64::from(proj.fan_in)) as u32;
                        if pos >= proj.offset && pos < proj.offset + proj.n_pre {
                            out[p][(post * proj.n_pre + pos - proj.offset) as usize] = f32::from_bits(w[at]);
                        }
                    }
                    at += 1;
                }
            }
        }
        Ok(out)
    }

    /// Writes an optimiser buffer (`m`, `v`) from one `[post][pre]` tensor per
    /// projection (the inverse of [`Emulator::optimiser_tensors`]), to resume
    /// training from a checkpoint.
    pub fn set_optimiser_tensors(&mut self, name: &str, tensors: &[Vec<f32>]) -> Result<(), EmuError> {
        let sh = &self.shared;
        let opt = self.groups.len() - 1;
        for l in 0..self.groups[opt].cores.len() {
            let core = self.groups[opt].cores[l];
            let buf = buffer(sh.kernel(core).kernel(), &mut self.groups[opt].mem[l], name)?;
            let mut at = 0usize;
            for part in &sh.program.cores[core].weights {
                for number in part.range.clone() {
                    for (p, proj) in sh.program.projections.iter().enumerate() {
                        if proj.post != part.population {
                            continue;
                        }
                        let post = (number / u64::from(proj.fan_in)) as u32;
                        let pos = (number % u64::from(proj.fan_in)) as u32;
                        if pos >= proj.offset && pos < proj.offset + proj.n_pre {
                            buf[at] = tensors[p][(post * proj.n_pre + pos - proj.offset) as usize].to_bits();
                        }
                    }
                    at += 1;
                }
            }
        }
        Ok(())
    }

    /// The spikes a layer PE of `copy` recorded in its last sample, as
    /// `(step, neuron)` in step then neuron order.
    pub fn layer_spikes(
        &mut self,
        copy: u32,
        population: petgraph::graph::NodeIndex,
    ) -> Result<Vec<(u32, u32)>, EmuError> {
        let sh = &self.shared;
        let g = &mut self.groups[copy as usize];
        let mut out = Vec::new();
        for l in 0..g.cores.len() {
            let c = &sh.program.cores[g.cores[l]];
            if c.role != Role::Layer || c.population != population {
                continue;
            }
            let n = c.neurons.end - c.neurons.start;
            let k = sh.kernel(g.cores[l]).kernel();
            let len = buffer(k, &mut g.mem[l], "rec_len")?[0] as usize;
            let keys = buffer(k, &mut g.mem[l], "rec_key")?;
            out.extend(keys[..len].iter().map(|&key| (key / n, c.neurons.start + key % n)));
        }
        out.sort_unstable();
        Ok(out)
    }

    /// A `[position][neuron]` buffer of the layer `population` in `copy`
    /// (`grad`, `weights`), as raw words, gathered from the population's
    /// slices (each holds `[position][its neurons]`).
    pub fn layer_buffer(
        &mut self,
        copy: u32,
        population: petgraph::graph::NodeIndex,
        name: &str,
    ) -> Result<Vec<u32>, EmuError> {
        let sh = &self.shared;
        let g = &mut self.groups[copy as usize];
        let mut parts = Vec::new();
        for l in 0..g.cores.len() {
            let c = &sh.program.cores[g.cores[l]];
            if c.role == Role::Layer && c.population == population {
                let words = buffer(sh.kernel(g.cores[l]).kernel(), &mut g.mem[l], name)?.to_vec();
                parts.push((c.neurons.clone(), words));
            }
        }
        let missing = || EmuError::MissingBuffer { kernel: format!("layer of copy {copy}"), buffer: name.to_string() };
        let size = parts.iter().map(|(r, _)| r.end).max().ok_or_else(missing)? as usize;
        let (r0, w0) = &parts[0];
        let k = w0.len() / (r0.end - r0.start) as usize;
        let mut out = vec![0u32; k * size];
        for (r, words) in &parts {
            let n = (r.end - r.start) as usize;
            for pos in 0..k {
                out[pos * size + r.start as usize..][..n].copy_from_slice(&words[pos * n..][..n]);
            }
        }
        Ok(out)
    }

    /// Counters summed over every PE (operations of ticks not yet closed
    /// included).
    pub fn counters(&self) -> Counters {
        let mut total = Counters::default();
        for g in &self.groups {
            total.add(&g.counters);
            for ops in &g.ops {
                total.ops.absorb(ops);
            }
        }
        total
    }

    /// The cost model of the estimates.
    pub fn cost_model(&self) -> &CostModel {
        &self.shared.cost
    }
}
