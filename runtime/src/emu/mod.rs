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
//! and for a sample that trains `end_of_sample` and a delivery; before every tick the PEs drain the packets sent to them
//! during the previous tick in rounds until none is left (a handler may send:
//! a split population's error sums travel up its slices), each PE its inbox
//! sorted by `(key, payload)`, through its `packet` entry (the whole inbox in
//! one call of the kernel's drain function, what the handlers sent routed
//! after it in the order sent: nothing reads an inbox before the core is
//! done, so this is one call per packet's outcome). A training batch
//! larger than the copies runs in waves of one sample per copy, then ends
//! once: with `single_copy` the layers sum the batch's gradients at
//! `end_of_sample`; with `copies = N` copy `c` runs the samples from `c k`
//! to `c k + k - 1` (`k = B / N`), one per wave, into its gradient slots,
//! and the chain adds them in order. Every sent packet enters the router of its PE's chip: the first
//! table entry whose key/mask matches gives the chip's destination PEs and the
//! links to follow to the next chips; a packet that matches no entry stops
//! the run ([`EmuError::DroppedPacket`], naming key and chip). Routes are
//! cached after the first lookup walk (tables are static), for the whole key
//! range the walk's table entries share (`router::RouteCache`); consecutive
//! packets in one such range are routed once and reach each destination as
//! one run (lookups and hops still counted per packet).
//! Per batch: `end_of_batch` on every PE, then delivery rounds (copies in
//! parallel, then the optimiser PEs, whose packets go straight into the
//! copies' inboxes) until no packet is in flight. The gradient chain's sums
//! cross from copy `c` to copy `c + 1` between rounds (posted after every
//! copy has run), so copy `c` adds its gradients in round `c`, whatever the
//! threads, and the optimiser steps on the last copy's sums before any
//! weight is sent. After each
//! sample, a layer PE whose spike record overflowed (its `overflow` flag)
//! stops the run ([`EmuError::RecordOverflow`], naming PE, population and
//! capacity).
//!
//! Batch copies are independent until `end_of_batch` (a packet that would
//! cross copies stops the run): they run in parallel with rayon, each on its
//! own PE memories, so results do not depend on the thread count.
//!
//! A core whose kernel has a private DRAM region (`Kernel::dram_words`, for
//! its DMA statements) gets its own `Vec<u32>`, `CoreProgram::dram` then
//! zeros at load, which the host reads and writes between runs
//! ([`Emulator::dram_region`], [`Emulator::dram_region_mut`]); the regions of
//! a chip's PEs count against its DRAM ([`dram`]).
//!
//! A traced emulator ([`Emulator::new_traced`]) also records, per PE, every
//! call and host write it handled and the packets it sent ([`trace`]), and
//! its private DRAM region as `init` found it.
//!
//! Layout: this file loads a program and drives batches (waves of samples
//! over the copies, the end of a batch with the optimiser); [`copy`] runs
//! one group of PEs (a batch copy, or the optimiser PEs): ticks, packet
//! delivery rounds, a sample's timeline; [`router`] walks the routing tables
//! and caches routes; [`host`] reads and writes PE memories between runs
//! (weights, optimiser state, spike records); [`counters`] the counters and
//! cost model, [`trace`] per-PE traces, [`train`] the epoch loop.
//!
//! Invariant: a kernel reads and writes only its own PE's memory (and its
//! own private DRAM region); the host writes only inputs (`spike_step`,
//! `label`, `hyper`, a region's words) and reads results.

mod copy;
pub mod counters;
pub mod dram;
mod host;
mod router;
pub mod trace;
pub mod train;

use std::collections::HashMap;

use rayon::prelude::*;
use snnc_compiler::ir::program::buffers;
use snnc_compiler::kernel::{Invocation, Kernel, OpCounts, Trap};
use snnc_compiler::lower::Program;
use snnc_compiler::machine::{ChipId, Machine};
use snnc_compiler::partition::Role;
use snnc_compiler::route::RoutingTables;

pub use counters::{CostModel, Counters};
pub use trace::{PeEvent, PeTrace};

use copy::{Group, Inboxes, Parcels};
use router::{Router, Routes};

use crate::data::encode::Encoded;
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
    #[error(
        "the input event lists of {samples} samples{} need {needed} bytes of DRAM on chip ({x}, {y}), which has {capacity}",
        private_regions(*.private)
    )]
    #[diagnostic(
        code(snn::emu::dram_full),
        help(
            "a data split's events are written into the DRAM of every chip that holds an input PE, next to the private regions of its PEs; use fewer samples, a coarser time step, or spread the input or the layers over more chips"
        )
    )]
    DramFull { x: u8, y: u8, needed: u64, capacity: u64, samples: usize, private: u64 },
    #[error(
        "a DMA transfer of {words} words from DRAM word {src} (of {dram_words} written) to data word {dst} (of {memory_words}) is out of bounds"
    )]
    #[diagnostic(code(snn::emu::dma), help("this is a bug in the lowering of event inputs"))]
    Dma { src: u32, dst: u32, words: u32, dram_words: usize, memory_words: usize },
    #[error("sample {sample} of the input events was asked for, but the split in DRAM has {loaded} samples")]
    #[diagnostic(
        code(snn::emu::no_input_data),
        help("write the split's events into DRAM first (`Emulator::load_inputs`)")
    )]
    NoInputData { sample: usize, loaded: usize },
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

/// The part of [`EmuError::DramFull`]'s message about the private DRAM
/// regions of a chip's PEs (none: nothing).
fn private_regions(bytes: u64) -> String {
    if bytes == 0 { String::new() } else { format!(" and the PEs' private DRAM regions ({bytes} bytes)") }
}

impl EmuError {
    pub fn class(&self) -> snnc_compiler::ErrorClass {
        use snnc_compiler::ErrorClass;
        match self {
            EmuError::NotYetSupported { .. } => ErrorClass::NotYetSupported,
            // A budget of the mapping that this input exceeds.
            EmuError::RecordOverflow { .. } | EmuError::DramFull { .. } => ErrorClass::Rejected,
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

/// Read-only parts shared by all threads.
struct Shared {
    program: Program,
    jits: Vec<JitKernel>,
    router: Router,
    /// The chips' DRAM: event inputs.
    dram: dram::Dram,
    /// Per core: the data-memory word of its DMA descriptor (event inputs).
    dma: Vec<Option<usize>>,
    /// Core index -> (group, position in the group).
    place: Vec<(usize, usize)>,
    cost: CostModel,
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

/// One sample for a batch copy: spike step of every input neuron (latency
/// codes), the sample's number in the split the DRAM holds (event inputs,
/// [`Emulator::load_inputs`]), label.
#[derive(Clone, Copy, Debug)]
pub struct SampleInput<'a> {
    pub steps: &'a [u32],
    pub sample: usize,
    pub label: u32,
}

impl<'a> SampleInput<'a> {
    /// Sample `s` of `data`: its per-input steps when it has at most one
    /// spike per input (none for event data, which the PEs read from DRAM).
    pub fn of(data: &'a Encoded, s: usize) -> SampleInput<'a> {
        let steps = if data.one_per_input() { data.sample(s) } else { &[] };
        SampleInput { steps, sample: s, label: data.labels[s] }
    }
}

/// A loaded program, ready to run.
pub struct Emulator {
    shared: Shared,
    groups: Vec<Group>,
    jit_seconds: f64,
    /// Host wall-clock seconds spent in batch ends so far (what `snnc
    /// bench` reports beside the epoch).
    batch_end_seconds: f64,
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

impl Emulator {
    /// Loads a program: compiles every kernel template, fills every PE's
    /// memory with its initial data.
    pub fn new(program: Program, machine: &Machine, tables: &RoutingTables) -> Result<Emulator, EmuError> {
        Emulator::load(program, machine, tables, false)
    }

    /// Loads a program like [`Emulator::new`], recording every PE's events
    /// from `init` on, and its private DRAM region as `init` found it
    /// ([`Emulator::trace`]).
    pub fn new_traced(program: Program, machine: &Machine, tables: &RoutingTables) -> Result<Emulator, EmuError> {
        Emulator::load(program, machine, tables, true)
    }

    fn load(program: Program, machine: &Machine, tables: &RoutingTables, traced: bool) -> Result<Emulator, EmuError> {
        // Private DRAM regions that do not fit are refused before any is made.
        let dram = dram::Dram::new(&program, machine)?;
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
                dram: Vec::new(),
                inbox: Vec::new(),
                routes: Routes::default(),
                outbox: Vec::new(),
                sent: Vec::new(),
                draining: Vec::new(),
                away: copy::Parcels::default(),
                scratch: Vec::new(),
                counters: Counters::default(),
                ops: Vec::new(),
                trace: traced.then(Vec::new),
                batch_end: false,
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
            let mut region = vec![0u32; kernel.dram_words as usize];
            // `verify::check_program`: the initial words fit the region.
            for (word, &init) in region.iter_mut().zip(&c.dram) {
                *word = init;
            }
            if let Some(trace) = &mut groups[g].trace {
                trace.push(PeTrace { events: Vec::new(), region: region.clone() });
            }
            groups[g].dram.push(region);
            groups[g].inbox.push(Vec::new());
            groups[g].ops.push(OpCounts::default());
        }
        let router = Router::new(tables.clone(), machine.clone(), pe_core);
        let dma = program
            .cores
            .iter()
            .map(|c| program.kernels[c.kernel].buffer_named(buffers::DMA).map(|(_, b)| (b.offset / 4) as usize))
            .collect();
        let shared = Shared { program, jits, router, dram, dma, place, cost: CostModel::default() };
        let mut emu = Emulator { shared, groups, jit_seconds, batch_end_seconds: 0.0 };
        for g in &mut emu.groups {
            let mut away = copy::Parcels::default();
            g.tick(&emu.shared, Invocation::Init, &mut away)?;
        }
        Ok(emu)
    }

    /// Wall-clock seconds spent compiling the kernel templates.
    pub fn jit_seconds(&self) -> f64 {
        self.jit_seconds
    }

    /// Host wall-clock seconds spent in the ends of training batches
    /// (gradients to the optimisers, their steps, weights back) since
    /// loading.
    pub fn batch_end_seconds(&self) -> f64 {
        self.batch_end_seconds
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

    /// The private DRAM region of core `core` (an index into the program's
    /// cores): its kernel's `dram_words` words, empty without one.
    pub fn dram_region(&self, core: usize) -> &[u32] {
        let (g, pos) = self.shared.place[core];
        &self.groups[g].dram[pos]
    }

    /// The private DRAM region of core `core`, for the host to write
    /// (initial weights) between runs; see [`Emulator::dram_region`]. Not
    /// recorded in a trace, whose region is the one `init` found.
    pub fn dram_region_mut(&mut self, core: usize) -> &mut [u32] {
        let (g, pos) = self.shared.place[core];
        &mut self.groups[g].dram[pos]
    }

    /// Writes the event lists of `data` into the DRAM of every chip that
    /// holds an event-input PE (the host's upload of a split, once per epoch
    /// for augmented training data), replacing the split there before;
    /// samples then name their number in `data` ([`SampleInput::sample`]).
    /// Does nothing for a program without event inputs. A split that does
    /// not fit a chip's DRAM is refused ([`EmuError::DramFull`]).
    pub fn load_inputs(&mut self, data: &Encoded) -> Result<(), EmuError> {
        let bytes = self.shared.dram.load(data, &self.shared.router.machine)?;
        self.groups[0].counters.dram_written_bytes += bytes;
        Ok(())
    }

    /// Whether the program's input PEs read their events from DRAM.
    pub fn reads_dram(&self) -> bool {
        self.shared.dram.used()
    }

    /// Runs up to one sample per batch copy (copy `i` gets `samples[i]`), in
    /// parallel. With `train`, `samples` is one training batch: it runs in
    /// waves of one sample per copy (one wave when there is a copy per
    /// sample; one sample per wave with `mapping = single_copy`, whose layers
    /// add each sample's gradients to their batch sums), then the batch's
    /// end: the gradients (the copies', or the one copy's sums) reach the
    /// optimiser, which adds them in copy order, takes its step with `hyper`
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
        // The waves' busiest copies' tick cycles, summed (as fast as the PEs
        // go, and with 1 ms timer ticks).
        let (mut ticks, mut timer, mut waves) = (0, [0; 2], 0);
        // Which samples each wave runs, copy by copy: with `k` samples per
        // copy (training, `copies = N`), copy `c` runs the samples `c k ..
        // c k + k - 1`, wave `j` the `j`-th of each (the chain adds a
        // copy's gradients, slot after slot, onto the previous copy's: the
        // samples' order); else wave `w` the samples `w copies ..`.
        let copies = copies.max(1);
        let per_copy = if train.is_some() && copies > 1 { samples.len() / copies } else { 1 };
        let order: Vec<usize> = if per_copy > 1 {
            (0..per_copy).flat_map(|j| (0..copies).map(move |c| c * per_copy + j)).collect()
        } else {
            (0..samples.len()).collect()
        };
        let mut in_order: Vec<Option<SampleResult>> = vec![None; samples.len()];
        for wave_order in order.chunks(copies) {
            let wave: Vec<SampleInput> = wave_order.iter().map(|&i| samples[i]).collect();
            let before: Vec<(u64, [u64; 2])> =
                self.groups[..wave.len()].iter().map(|g| (g.counters.tick_cycles, g.counters.timer_cycles)).collect();
            let sh = &self.shared;
            let done: Vec<SampleResult> = self.groups[..wave.len()]
                .par_iter_mut()
                .zip(wave.par_iter())
                .enumerate()
                .map(|(c, (g, &s))| g.run_sample(sh, c, s, train.is_some()))
                .collect::<Result<_, _>>()?;
            for (&i, r) in wave_order.iter().zip(done) {
                in_order[i] = Some(r);
            }
            // The wave's busiest copy, for the modelled time.
            let (mut busiest, mut busiest_timer) = (0, [0; 2]);
            for (g, (t0, m0)) in self.groups.iter().zip(&before) {
                busiest = busiest.max(g.counters.tick_cycles - t0);
                for ((a, now), then) in busiest_timer.iter_mut().zip(g.counters.timer_cycles).zip(m0) {
                    *a = (*a).max(now - then);
                }
            }
            ticks += busiest;
            for (a, b) in timer.iter_mut().zip(busiest_timer) {
                *a += b;
            }
            waves += 1;
        }
        if let Some((step_size, bc2_sqrt)) = train {
            let started = std::time::Instant::now();
            let end = self.end_batch(step_size, bc2_sqrt)?;
            self.batch_end_seconds += started.elapsed().as_secs_f64();
            self.groups.last_mut().expect("an optimiser group").counters.count_batch(ticks, timer, end, waves);
        }
        Ok(in_order.into_iter().flatten().collect())
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

    /// Ends a training batch; returns the estimated cycles of the phase's
    /// busiest PE.
    fn end_batch(&mut self, step_size: f32, bc2_sqrt: f32) -> Result<u64, EmuError> {
        let sh = &self.shared;
        let opt = self.groups.len() - 1;
        for l in 0..self.groups[opt].cores.len() {
            let core = self.groups[opt].cores[l];
            let buf = buffer(sh.kernel(core).kernel(), &mut self.groups[opt].mem[l], buffers::HYPER)?;
            buf[0] = step_size.to_bits();
            buf[1] = bc2_sqrt.to_bits();
            self.groups[opt].trace_write(l, sh.kernel(core).kernel(), buffers::HYPER);
        }
        // Copies run their `end_of_batch` and deliveries in parallel, each
        // collecting what leaves it; the optimiser PEs run after them, what
        // they send going straight into the copies' inboxes. Inboxes are
        // drained sorted, so the order packets arrive in does not matter.
        let (copies, opt_group) = self.groups.split_at_mut(opt);
        let opt_group = &mut opt_group[0];
        // Runs `inv` (or a delivery) on one copy; what leaves it waits in
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
        // `mail`: the copies' parcels still holding packets for the
        // optimiser PEs (see `post`).
        let step = |copies: &mut [Group], opt_group: &mut Group, mail: &[(usize, Parcels)], inv: Option<Invocation>| {
            // A delivery round of the gradient chain has mail for one copy:
            // run it here rather than fork threads (the same work).
            let mailed = copies.iter().filter(|g| g.inbox.iter().any(|b| !b.is_empty())).count();
            let any: Vec<bool> = if inv.is_none() && mailed <= 1 {
                copies.iter_mut().map(|g| run(g, inv)).collect::<Result<_, EmuError>>()?
            } else {
                copies.par_iter_mut().map(|g| run(g, inv)).collect::<Result<_, EmuError>>()?
            };
            let mut inboxes = Inboxes(copies);
            let opt_any = match inv {
                Some(inv) => opt_group.tick(sh, inv, &mut inboxes).map(|()| true),
                None => opt_group.deliver_mail(sh, mail, &mut inboxes),
            };
            Ok::<_, EmuError>(opt_any? | any.contains(&true))
        };
        // Moves every copy's `away` packets into their destinations'
        // inboxes; a copy's packets for the optimiser PEs stay in its parcels,
        // which move to `mail` (the optimisers read them there: millions of
        // gradients are not copied once more), and `spare` gives the copy
        // empty ones.
        let post = |copies: &mut [Group], mail: &mut Vec<(usize, Parcels)>, spare: &mut Vec<Parcels>| {
            for from in 0..copies.len() {
                let mut away = std::mem::take(&mut copies[from].away);
                let mut for_optimisers = false;
                for &(dest, start, len) in &away.runs {
                    let g = dest.group as usize;
                    let packets = &away.packets[start as usize..(start + len) as usize];
                    if g == opt {
                        for_optimisers = true;
                    } else {
                        copies[g].inbox[dest.pos as usize].extend_from_slice(packets);
                    }
                }
                if for_optimisers {
                    mail.push((from, away));
                    away = spare.pop().unwrap_or_default();
                } else {
                    away.runs.clear();
                    away.packets.clear();
                }
                copies[from].away = away;
            }
        };
        for g in copies.iter_mut() {
            g.batch_end = true;
        }
        let mut mail = Vec::new();
        let mut spare = Vec::new();
        let settled = (|| {
            step(copies, opt_group, &[], Some(Invocation::EndOfBatch))?;
            // The gradient chain takes a round per copy; the weights, two more.
            let rounds = copies.len() + 8;
            // A round that handles no packet sends none: nothing is in flight.
            for _ in 0..rounds {
                post(copies, &mut mail, &mut spare);
                let any = step(copies, opt_group, &mail, None)?;
                // Each copy gets its parcels back (and their room) unless it
                // has sent more meanwhile.
                for (from, mut parcels) in mail.drain(..) {
                    parcels.runs.clear();
                    parcels.packets.clear();
                    if copies[from].away.runs.is_empty() {
                        std::mem::swap(&mut copies[from].away, &mut parcels);
                    }
                    spare.push(parcels);
                }
                if !any {
                    return Ok(());
                }
            }
            Err(EmuError::Unsettled { rounds })
        })();
        for g in copies.iter_mut() {
            g.batch_end = false;
        }
        settled?;
        // The phase's estimate: its busiest PE (every PE's share runs side
        // by side).
        Ok(copies.iter_mut().chain([opt_group]).map(|g| g.close_phase(sh)).max().unwrap_or(0))
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
