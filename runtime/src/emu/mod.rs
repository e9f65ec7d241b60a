//! The SpiNNaker2 emulator: runs a lowered [`Program`] tick by tick, every
//! PE's entry points JIT-compiled, every packet routed through the chips'
//! routing tables.
//!
//! Input: a [`Program`] (from `snnc_compiler::lower`), the [`Machine`] and the
//! [`RoutingTables`] it was mapped with. Output: per sample, the loss PE's
//! first spikes and loss; per batch, new weights in every PE's SRAM.
//!
//! Execution (the lowering's timeline): per sample and batch copy, forward
//! ticks `0 .. T-1`, a delivery, backward ticks `T-2 .. 0`, a delivery,
//! `end_of_sample`; before every tick each PE drains the packets sent to it
//! during the previous tick, sorted by `(key, payload)`, through its `packet`
//! entry. Every sent packet enters the router of its PE's chip: the first
//! table entry whose key/mask matches gives the chip's destination PEs and the
//! links to follow to the next chips; a packet that matches no entry stops
//! the run ([`EmuError::DroppedPacket`], naming key and chip). Routes are
//! cached per (chip, key) after the first lookup walk (tables are static).
//! Per batch: `end_of_batch` on every PE, then delivery rounds (copies in
//! order, then the optimiser PEs) until no packet is in flight. After each
//! sample, a layer PE whose spike record overflowed (its `overflow` flag)
//! stops the run ([`EmuError::RecordOverflow`], naming PE, population and
//! budget).
//!
//! Batch copies are independent until `end_of_batch` (a packet that would
//! cross copies stops the run): they run in parallel with rayon, each on its
//! own PE memories, so results do not depend on the thread count.
//!
//! Invariant: a kernel reads and writes only its own PE's memory; the host
//! writes only inputs (`spike_step`, `label`, `hyper`) and reads results.

pub mod counters;
pub mod train;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rayon::prelude::*;
use snnc_compiler::kernel::{Invocation, Kernel, OpCounts, Packet, Trap};
use snnc_compiler::lower::{OVERFLOW_SPIKES, Program};
use snnc_compiler::partition::resources::SPIKE_BUDGET;
use snnc_compiler::machine::{ChipId, Machine};
use snnc_compiler::partition::Role;
use snnc_compiler::route::RoutingTables;

pub use counters::{CostModel, Counters};

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
        help("the layer spikes more than the resource model's spike budget per neuron; train with `--backend reference`")
    )]
    RecordOverflow {
        population: String,
        pe: u8,
        x: u8,
        y: u8,
        capacity: u32,
        budget: u64,
    },
    #[error("training diverged in the emulator: {what} is not finite at epoch {epoch}")]
    #[diagnostic(code(snn::emu::not_finite), help("lower the learning rate or change the initialisation"))]
    NotFinite { epoch: u32, what: String },
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

/// A small multiplicative hasher for the route cache (keys are routing
/// keys, not attacker-controlled).
#[derive(Clone, Copy, Default)]
struct KeyHasher(u64);

impl KeyHasher {
    fn mix(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.mix(u64::from(b));
        }
    }
    fn write_u16(&mut self, x: u16) {
        self.mix(u64::from(x));
    }
    fn write_u32(&mut self, x: u32) {
        self.mix(u64::from(x));
    }
}

type RouteCache = HashMap<(u16, u32), Route, BuildHasherDefault<KeyHasher>>;

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
}

impl Router {
    fn walk(&self, chip: ChipId, key: u32) -> Result<Route, EmuError> {
        let mut route = Route { cores: Vec::new(), chip_hops: 0, lookups: 0 };
        let mut seen = vec![false; self.machine.chip_count()];
        let mut todo = vec![chip];
        seen[usize::from(chip.0)] = true;
        while let Some(c) = todo.pop() {
            route.lookups += 1;
            let coord = self.machine.chips[usize::from(c.0)];
            let entry = self
                .tables
                .lookup(c, key)
                .ok_or(EmuError::DroppedPacket { key, x: coord.x, y: coord.y })?;
            for &pe in &entry.route.pes {
                let core = *self
                    .pe_core
                    .get(&(c.0, pe))
                    .ok_or(EmuError::NoProgram { key, x: coord.x, y: coord.y, pe })?;
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
    cores: Vec<usize>,
    mem: Vec<Vec<u32>>,
    inbox: Vec<Vec<Packet>>,
    cache: RouteCache,
    counters: Counters,
    /// Operations of each core since its previous tick.
    ops: Vec<OpCounts>,
}

/// What one sample produced on its copy.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleResult {
    /// First spike step per class, `T` when silent.
    pub first: Vec<u32>,
    pub loss: f32,
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
    let (_, b) = kernel.buffer_named(name).ok_or_else(|| EmuError::MissingBuffer {
        kernel: kernel.name.clone(),
        buffer: name.to_string(),
    })?;
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
        outbox: &mut Vec<Packet>,
        away: &mut Vec<(usize, Packet)>,
    ) -> Result<(), EmuError> {
        let core = self.cores[l];
        outbox.clear();
        sh.kernel(core).run(inv, &mut self.mem[l], outbox, &mut self.ops[l])?;
        self.counters.invocations += 1;
        if outbox.is_empty() {
            return Ok(());
        }
        let chip = sh.chip(core);
        for &p in outbox.iter() {
            self.counters.count_sent(inv);
            let route = match self.cache.get(&(chip.0, p.key)) {
                Some(r) => r,
                None => {
                    let r = sh.router.walk(chip, p.key)?;
                    self.cache.entry((chip.0, p.key)).or_insert(r)
                }
            };
            self.counters.router_lookups += u64::from(route.lookups);
            self.counters.chip_hops += u64::from(route.chip_hops);
            for &dest in &route.cores {
                let (_, pos) = sh.place[dest];
                if self.cores.get(pos) == Some(&dest) {
                    self.inbox[pos].push(p);
                } else {
                    away.push((dest, p));
                }
            }
        }
        Ok(())
    }

    /// Drains every inbox once (sorted by key); returns whether any packet
    /// was handled.
    fn deliver(&mut self, sh: &Shared, away: &mut Vec<(usize, Packet)>) -> Result<bool, EmuError> {
        let mut any = false;
        let mut outbox = Vec::new();
        for l in 0..self.cores.len() {
            if self.inbox[l].is_empty() {
                continue;
            }
            any = true;
            let mut packets = std::mem::take(&mut self.inbox[l]);
            packets.sort_unstable();
            self.counters.packets_received += packets.len() as u64;
            for p in &packets {
                let inv = Invocation::Packet { key: p.key, payload: p.payload.unwrap_or(0) };
                self.invoke(sh, l, inv, &mut outbox, away)?;
            }
        }
        Ok(any)
    }

    /// Runs every core's entry point (in slice order). A forward or backward
    /// tick also closes each core's operation count since its previous tick
    /// and records the busiest core's estimated cycles.
    fn tick(&mut self, sh: &Shared, inv: Invocation, away: &mut Vec<(usize, Packet)>) -> Result<(), EmuError> {
        let mut outbox = Vec::new();
        let timed = matches!(inv, Invocation::TickForward { .. } | Invocation::TickBackward { .. });
        let mut busiest = 0;
        for l in 0..self.cores.len() {
            self.invoke(sh, l, inv, &mut outbox, away)?;
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

    /// A layer whose record overflowed during the sample stops the run.
    fn check_records(&mut self, sh: &Shared) -> Result<(), EmuError> {
        for l in 0..self.cores.len() {
            let c = &sh.program.cores[self.cores[l]];
            if c.role != Role::Layer {
                continue;
            }
            let k = sh.kernel(self.cores[l]).kernel();
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
                budget: SPIKE_BUDGET,
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

    /// One sample on this copy: write its input, run both phases, read the loss PE.
    fn run_sample(&mut self, sh: &Shared, copy: usize, input: SampleInput) -> Result<SampleResult, EmuError> {
        let t = sh.program.steps as i32;
        let mut loss_core = None;
        for l in 0..self.cores.len() {
            let core = self.cores[l];
            let k = sh.kernel(core).kernel();
            match sh.program.cores[core].role {
                Role::Input => {
                    let buf = buffer(k, &mut self.mem[l], "spike_step")?;
                    let start = sh.program.cores[core].neurons.start as usize;
                    buf.copy_from_slice(&input.steps[start..start + buf.len()]);
                }
                Role::Loss => {
                    buffer(k, &mut self.mem[l], "label")?[0] = input.label;
                    loss_core = Some(l);
                }
                _ => {}
            }
        }
        let mut away = Vec::new();
        for n in 0..t {
            self.deliver(sh, &mut away)?;
            self.tick(sh, Invocation::TickForward { step: n }, &mut away)?;
        }
        self.deliver(sh, &mut away)?;
        for n in (0..t - 1).rev() {
            self.deliver(sh, &mut away)?;
            self.tick(sh, Invocation::TickBackward { step: n }, &mut away)?;
        }
        self.deliver(sh, &mut away)?;
        self.tick(sh, Invocation::EndOfSample, &mut away)?;
        self.deliver(sh, &mut away)?;
        self.no_crossing(&away, copy)?;
        self.check_records(sh)?;
        let l = loss_core.ok_or_else(|| EmuError::NotYetSupported { what: "a copy without a loss PE".into() })?;
        let k = sh.kernel(self.cores[l]).kernel();
        let first = buffer(k, &mut self.mem[l], "first")?
            .iter()
            .map(|&f| if (f as i32) < 0 { t as u32 } else { f })
            .collect();
        let loss = f32::from_bits(buffer(k, &mut self.mem[l], "loss")?[0]);
        Ok(SampleResult { first, loss })
    }
}

impl Emulator {
    /// Loads a program: compiles every kernel template, fills every PE's
    /// memory with its initial data.
    pub fn new(program: Program, machine: &Machine, tables: &RoutingTables) -> Result<Emulator, EmuError> {
        let start = std::time::Instant::now();
        let jits = program.kernels.iter().map(JitKernel::compile).collect::<Result<Vec<_>, _>>()?;
        let jit_seconds = start.elapsed().as_secs_f64();
        let mut pe_core = HashMap::new();
        for (i, c) in program.cores.iter().enumerate() {
            pe_core.insert((c.pe.chip.0, c.pe.pe_id()), i);
        }
        let n_groups = program.copies as usize + 1;
        let mut groups: Vec<Group> = (0..n_groups)
            .map(|_| Group {
                cores: Vec::new(),
                mem: Vec::new(),
                inbox: Vec::new(),
                cache: RouteCache::default(),
                counters: Counters::default(),
                ops: Vec::new(),
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

    /// Runs up to one sample per batch copy (copy `i` gets `samples[i]`), in
    /// parallel. With `train`, ends the batch: gradients travel to the
    /// optimiser, which receives `hyper` (its step's Adam scalars) and sends
    /// the new weights to every copy.
    pub fn run_batch(
        &mut self,
        samples: &[SampleInput],
        train: Option<(f32, f32)>,
    ) -> Result<Vec<SampleResult>, EmuError> {
        let copies = self.shared.program.copies as usize;
        if samples.len() > copies {
            return Err(EmuError::NotYetSupported { what: "more samples than batch copies in one batch".into() });
        }
        if train.is_some() && samples.len() != copies {
            return Err(EmuError::NotYetSupported { what: "a training batch smaller than the batch copies".into() });
        }
        let sh = &self.shared;
        let results: Vec<SampleResult> = self.groups[..samples.len()]
            .par_iter_mut()
            .zip(samples.par_iter())
            .enumerate()
            .map(|(c, (g, &s))| g.run_sample(sh, c, s))
            .collect::<Result<_, _>>()?;
        if let Some((step_size, bc2_sqrt)) = train {
            self.end_batch(step_size, bc2_sqrt)?;
        }
        Ok(results)
    }

    fn end_batch(&mut self, step_size: f32, bc2_sqrt: f32) -> Result<(), EmuError> {
        let sh = &self.shared;
        let opt = self.groups.len() - 1;
        for l in 0..self.groups[opt].cores.len() {
            let core = self.groups[opt].cores[l];
            let buf = buffer(sh.kernel(core).kernel(), &mut self.groups[opt].mem[l], "hyper")?;
            buf[0] = step_size.to_bits();
            buf[1] = bc2_sqrt.to_bits();
        }
        // Copies run their `end_of_batch` and deliveries in parallel, each
        // collecting what leaves it; the optimiser PEs run after them. Inboxes
        // are drained sorted, so the order packets arrive in does not matter.
        let (copies, opt_group) = self.groups.split_at_mut(opt);
        let opt_group = &mut opt_group[0];
        let step = |copies: &mut [Group], opt_group: &mut Group, inv: Option<Invocation>| {
            let mut away: Vec<(usize, Packet)> = Vec::new();
            let parts: Vec<(bool, Vec<(usize, Packet)>)> = copies
                .par_iter_mut()
                .map(|g| {
                    let mut away = Vec::new();
                    let any = match inv {
                        Some(inv) => g.tick(sh, inv, &mut away).map(|()| true)?,
                        None => g.deliver(sh, &mut away)?,
                    };
                    Ok((any, away))
                })
                .collect::<Result<_, EmuError>>()?;
            let mut any = false;
            for (a, part) in parts {
                any |= a;
                away.extend(part);
            }
            any |= match inv {
                Some(inv) => opt_group.tick(sh, inv, &mut away).map(|()| true)?,
                None => opt_group.deliver(sh, &mut away)?,
            };
            Ok::<_, EmuError>((any, away))
        };
        let (_, mut away) = step(copies, opt_group, Some(Invocation::EndOfBatch))?;
        const ROUNDS: usize = 8;
        for _ in 0..ROUNDS {
            for (dest, p) in away.drain(..) {
                let (g, pos) = sh.place[dest];
                if g == opt {
                    opt_group.inbox[pos].push(p);
                } else {
                    copies[g].inbox[pos].push(p);
                }
            }
            let (any, next) = step(copies, opt_group, None)?;
            away = next;
            if !any && away.is_empty() {
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
                    let post = (number / u64::from(sh.program.projections.iter().find(|p| p.post == part.population).map_or(1, |p| p.fan_in))) as u32;
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
    pub fn layer_spikes(&mut self, copy: u32, population: petgraph::graph::NodeIndex) -> Result<Vec<(u32, u32)>, EmuError> {
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
        Ok(out)
    }

    /// A buffer of the layer PE of `population` in `copy` (the whole population
    /// on one PE), as raw words; e.g. `grad`, `[position][neuron]`.
    pub fn layer_buffer(
        &mut self,
        copy: u32,
        population: petgraph::graph::NodeIndex,
        name: &str,
    ) -> Result<Vec<u32>, EmuError> {
        let sh = &self.shared;
        let g = &mut self.groups[copy as usize];
        for l in 0..g.cores.len() {
            let c = &sh.program.cores[g.cores[l]];
            if c.role == Role::Layer && c.population == population {
                return Ok(buffer(sh.kernel(g.cores[l]).kernel(), &mut g.mem[l], name)?.to_vec());
            }
        }
        Err(EmuError::MissingBuffer { kernel: format!("layer of copy {copy}"), buffer: name.to_string() })
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
