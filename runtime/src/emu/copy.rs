//! Per-copy execution: the PEs of one batch copy (or the optimiser PEs) run
//! their entry points tick by tick on their own memories, and what they
//! send is routed ([`super::router`]) into their inboxes or, for another
//! group, into `away`.
//!
//! A sample (the lowering's timeline): forward ticks `0 .. T-1`, a delivery,
//! backward ticks `T-2 .. 0`, a delivery, `end_of_sample`; before every tick
//! the PEs drain the packets sent to them during the previous tick in rounds
//! until none is left, each PE its inbox sorted by `(key, payload)`.
//! Packets travel as `[key, payload]` pairs (payload 0 when it has none: a
//! handler sees no difference, and sorted pairs give the handlers the order
//! sorted packets give).
//!
//! One exception: an optimiser PE drains its inbox in arrival order. Its
//! handler adds each gradient to its weight's sum, so packets of different
//! weights commute, and the packets of one weight arrive in copy order (at
//! the end of a batch the copies' packets are posted copy after copy, and a
//! copy sends each weight's gradient once; under the gradient chain only
//! the last copy sends): the order sorting by key would give them, so the
//! sums are bit for bit the same, without sorting a batch's millions of
//! gradients (`runtime/tests/runtime/emu_parity.rs` and `emu_chain.rs` check both
//! schemes against the reference). At a batch's end it reads them where the
//! copies left them ([`Group::deliver_mail`]), copy after copy, instead of a
//! copy of them in its inbox: for `examples/shd.snn`'s network that is 59.6
//! million packets (477 MB) per batch neither copied nor held twice. With
//! more than one thread the optimiser PEs of such a round drain side by
//! side ([`Group::handle_in_place_in_parallel`]; none reads what another
//! sends), what they send routed afterwards in core order.
//!
//! Invariant: a group touches only its own PEs' memories, inboxes and
//! counters, so groups run in parallel without sharing anything mutable.

use snnc_compiler::ir::program::buffers;
use snnc_compiler::kernel::{Invocation, Kernel, OpCounts, Packet};
use snnc_compiler::lower::OVERFLOW_SPIKES;
use snnc_compiler::partition::Role;

use snnc_compiler::partition::PacketKind;

use super::router::{Dest, Hit, Routes};
use super::{Counters, EmuError, FirstSpikes, PeTrace, SampleInput, SampleResult, Shared, buffer};

/// A packet on its way: `[key, payload]` (payload 0 when it has none).
pub(super) type Pair = [u32; 2];

/// How a run of packet handlers ended: the index of the packet that
/// trapped, and the trap.
type Ran = Result<(), (usize, snnc_compiler::kernel::Trap)>;

/// Where a group puts the packets it sends to other groups.
pub(super) trait Away {
    /// `packets`, in order, for the core `to`.
    fn send(&mut self, to: Dest, packets: &[Pair]);
}

/// Packets collected to be posted after the round (by groups that run in
/// parallel): runs of packets for one core each.
#[derive(Default)]
pub(super) struct Parcels {
    /// `(core, first packet, packets)`.
    pub(super) runs: Vec<(Dest, u32, u32)>,
    pub(super) packets: Vec<Pair>,
}

impl Away for Parcels {
    #[inline]
    fn send(&mut self, to: Dest, packets: &[Pair]) {
        self.runs.push((to, self.packets.len() as u32, packets.len() as u32));
        self.packets.extend_from_slice(packets);
    }
}

/// Straight into the inboxes of `groups` (indexed by group id): for a
/// group that runs while the groups it sends to wait (the optimiser PEs
/// after the copies).
pub(super) struct Inboxes<'a>(pub(super) &'a mut [Group]);

impl Away for Inboxes<'_> {
    #[inline]
    fn send(&mut self, to: Dest, packets: &[Pair]) {
        self.0[to.group as usize].inbox[to.pos as usize].extend_from_slice(packets);
    }
}

/// The PEs of one batch copy (or the optimiser PEs): memories and inboxes.
pub(super) struct Group {
    /// This group's index in [`Emulator::groups`].
    pub(super) id: usize,
    pub(super) cores: Vec<usize>,
    pub(super) mem: Vec<Vec<u32>>,
    /// Each core's private DRAM region (empty for a kernel without one).
    pub(super) dram: Vec<Vec<u32>>,
    pub(super) inbox: Vec<Vec<Pair>>,
    pub(super) routes: Routes,
    /// What the running entry point sent, when the run is traced (reused).
    pub(super) outbox: Vec<Packet>,
    /// What the running entry point sent, as pairs (reused): the JIT
    /// writes them here unless the run is traced.
    pub(super) sent: Vec<Pair>,
    /// The inbox being drained (reused, so that inboxes keep their capacity).
    pub(super) draining: Vec<Pair>,
    /// Packets for other groups, between the rounds of a batch's end.
    pub(super) away: Parcels,
    /// Scratch room for sorting an inbox.
    pub(super) scratch: Vec<Pair>,
    pub(super) counters: Counters,
    /// Operations of each core since its previous tick.
    pub(super) ops: Vec<OpCounts>,
    /// Each core's events, when the run is traced.
    pub(super) trace: Option<Vec<PeTrace>>,
    /// In a batch's end: a layer's packet handler sends gradients (the
    /// chain), not error sums.
    pub(super) batch_end: bool,
}

impl Group {
    /// Runs one entry point on local core `l` and routes what it sent:
    /// packets to this group go to its inboxes, others to `away`. A core
    /// whose kernel does not define the entry point is not called (the call
    /// would do nothing), only counted and traced.
    fn invoke(&mut self, sh: &Shared, l: usize, inv: Invocation, away: &mut impl Away) -> Result<(), EmuError> {
        let core = self.cores[l];
        let kernel = sh.kernel(core);
        if !kernel.defines(inv.entry()) {
            self.counters.invocations += 1;
            if let Some(trace) = &mut self.trace {
                trace[l].call(inv, &[]);
            }
            return Ok(());
        }
        let kind = match inv {
            Invocation::Packet { .. } => self.handler_kind(sh, core),
            _ => Counters::kind_sent(inv),
        };
        if let Some(trace) = &mut self.trace {
            self.outbox.clear();
            kernel.run(inv, &mut self.mem[l], &mut self.dram[l], &mut self.outbox, &mut self.ops[l])?;
            self.counters.invocations += 1;
            trace[l].call(inv, &self.outbox);
            self.sent.clear();
            self.sent.extend(self.outbox.iter().map(Packet::pair));
        } else {
            self.sent.clear();
            kernel.run(inv, &mut self.mem[l], &mut self.dram[l], &mut self.sent, &mut self.ops[l])?;
            self.counters.invocations += 1;
        }
        self.route_sent(sh, core, kind, away)
    }

    /// The kind of the packets core `core`'s packet handler sends: a layer's
    /// in a batch's end are the gradient chain's sums; any other handler's
    /// count as weights (the optimisers', and a split population's partial
    /// error sums, as they always have).
    fn handler_kind(&self, sh: &Shared, core: usize) -> PacketKind {
        if self.batch_end && sh.program.cores[core].role == Role::Layer {
            PacketKind::Gradient
        } else {
            PacketKind::Weight
        }
    }

    /// Routes what core `core` sent (`sent`, packets of one kind).
    fn route_sent(&mut self, sh: &Shared, core: usize, kind: PacketKind, away: &mut impl Away) -> Result<(), EmuError> {
        if self.sent.is_empty() {
            return Ok(());
        }
        let sent = std::mem::take(&mut self.sent);
        let routed = self.route(sh, core, kind, &sent, away);
        self.sent = sent;
        routed
    }

    /// Routes packets of one kind that core `core` sent. Consecutive
    /// packets in one cached key range take one route: each destination gets
    /// them as one run, in order (as one at a time would give them).
    fn route(
        &mut self,
        sh: &Shared,
        core: usize,
        kind: PacketKind,
        packets: &[Pair],
        away: &mut impl Away,
    ) -> Result<(), EmuError> {
        let chip = sh.chip(core);
        self.counters.packets_sent[kind as usize] += packets.len() as u64;
        let mut i = 0;
        while i < packets.len() {
            let Hit { route, lo, hi, dests } = self.routes.get(&sh.router, &sh.place, chip, packets[i][0])?;
            let run = 1 + packets[i + 1..].iter().take_while(|p| lo <= p[0] && p[0] <= hi).count();
            let run_packets = &packets[i..i + run];
            self.counters.router_lookups += u64::from(route.lookups) * run as u64;
            self.counters.chip_hops += u64::from(route.chip_hops) * run as u64;
            for &d in dests {
                if d.group as usize == self.id {
                    self.inbox[d.pos as usize].extend_from_slice(run_packets);
                } else {
                    away.send(d, run_packets);
                }
            }
            i += run;
        }
        Ok(())
    }

    /// Drains every inbox once (sorted by key); returns whether any packet
    /// was handled. A core handles its whole inbox, then what its handlers
    /// sent is routed, in the order sent (as if routed after each handler:
    /// a handler's packets only reach inboxes, which nothing reads before
    /// this core is done).
    pub(super) fn deliver(&mut self, sh: &Shared, away: &mut impl Away) -> Result<bool, EmuError> {
        self.deliver_mail(sh, &[], away)
    }

    /// [`Group::deliver`], with more packets for this group's cores still in
    /// the parcels of the groups that sent them (`mail`, in sending order;
    /// the runs addressed to this group are its): the same as appending them
    /// to the inboxes first, then delivering. An optimiser PE with an empty
    /// inbox and an untraced run drains its runs where they lie (in arrival
    /// order, as it drains an inbox): at the end of a batch that saves
    /// copying every gradient once more.
    pub(super) fn deliver_mail(
        &mut self,
        sh: &Shared,
        mail: &[(usize, Parcels)],
        away: &mut impl Away,
    ) -> Result<bool, EmuError> {
        let mut runs: Vec<Vec<&[Pair]>> = Vec::new();
        for (_, parcels) in mail {
            for &(to, start, len) in &parcels.runs {
                if to.group as usize == self.id {
                    if runs.is_empty() {
                        runs.resize(self.cores.len(), Vec::new());
                    }
                    runs[to.pos as usize].push(&parcels.packets[start as usize..(start + len) as usize]);
                }
            }
        }
        if self.drains_in_place_in_parallel(sh, &runs) {
            return self.handle_in_place_in_parallel(sh, &runs, away).map(|()| true);
        }
        let mut any = false;
        for l in 0..self.cores.len() {
            let mine = runs.get(l).map_or(&[][..], |r| &r[..]);
            let optimiser = sh.program.cores[self.cores[l]].role == Role::Optimiser;
            let in_place = optimiser && !mine.is_empty() && self.inbox[l].is_empty() && self.trace.is_none();
            if in_place {
                any = true;
                let n = mine.iter().map(|r| r.len() as u64).sum::<u64>();
                self.counters.packets_received += n;
                self.counters.optimiser_received += n;
                self.handle_all(sh, l, mine, away)?;
                continue;
            }
            for run in mine {
                self.inbox[l].extend_from_slice(run);
            }
            if self.inbox[l].is_empty() {
                continue;
            }
            any = true;
            // Swap the inbox with the (empty) drain buffer: packets sent to
            // this core while it drains wait in the inbox for the next round,
            // and both vectors keep their capacity.
            let mut packets = std::mem::take(&mut self.draining);
            std::mem::swap(&mut packets, &mut self.inbox[l]);
            self.counters.packets_received += packets.len() as u64;
            if optimiser {
                // In arrival order: see the module doc.
                self.counters.optimiser_received += packets.len() as u64;
            } else {
                sort_inbox(&mut packets, &mut self.scratch);
            }
            let handled = if self.trace.is_some() {
                packets.iter().try_for_each(|&[key, payload]| {
                    let inv = Invocation::Packet { key, payload };
                    self.invoke(sh, l, inv, away)
                })
            } else {
                self.handle_all(sh, l, &[&packets], away)
            };
            packets.clear();
            self.draining = packets;
            handled?;
        }
        Ok(any)
    }

    /// Whether this delivery round is one for [`Group::handle_in_place_in_parallel`]:
    /// untraced, more than one thread, and every core with anything to
    /// handle an optimiser PE whose packets all wait in `runs` (its inbox
    /// empty), more than one of them: a batch end's gradients.
    fn drains_in_place_in_parallel(&self, sh: &Shared, runs: &[Vec<&[Pair]>]) -> bool {
        if self.trace.is_some() || runs.is_empty() || rayon::current_num_threads() < 2 {
            return false;
        }
        let mut busy = 0;
        for ((mine, inbox), &core) in runs.iter().zip(&self.inbox).zip(&self.cores) {
            let mail = !mine.is_empty();
            if !inbox.is_empty() || (mail && sh.program.cores[core].role != Role::Optimiser) {
                return false;
            }
            busy += usize::from(mail);
        }
        busy > 1
    }

    /// The in-place drain of [`Group::deliver_mail`] on every core with
    /// `runs` at once, in parallel: each core's handlers run on its own
    /// memory and write what they send into a buffer of their own; then, in
    /// core order, the counts, the routing and the first trap. The same as
    /// one core after another: an optimiser PE sends only weights to the
    /// copies (other groups), so no core of this group reads what another
    /// sent in this round, and the copies get their packets in core order.
    fn handle_in_place_in_parallel(
        &mut self,
        sh: &Shared,
        runs: &[Vec<&[Pair]>],
        away: &mut impl Away,
    ) -> Result<(), EmuError> {
        use rayon::prelude::*;
        let cores = &self.cores;
        let ran: Vec<(Vec<Pair>, Ran)> = (
            self.mem.par_iter_mut(),
            self.dram.par_iter_mut(),
            self.ops.par_iter_mut(),
            runs.par_iter(),
            cores.par_iter(),
        )
            .into_par_iter()
            .map(|(mem, dram, ops, mine, &core)| {
                let mut sent = Vec::new();
                let ran = if mine.is_empty() {
                    Ok(())
                } else {
                    sh.kernel(core).run_pair_runs(mine, mem, dram, &mut sent, ops)
                };
                (sent, ran)
            })
            .collect();
        for (l, (sent, ran)) in ran.into_iter().enumerate() {
            if runs[l].is_empty() {
                continue;
            }
            let n = runs[l].iter().map(|r| r.len() as u64).sum::<u64>();
            self.counters.packets_received += n;
            self.counters.optimiser_received += n;
            self.sent = sent;
            self.handlers_ran(sh, l, n, ran, away)?;
        }
        Ok(())
    }

    /// Runs local core `l`'s packet handler on each packet of `runs`, in
    /// order, then routes what the handlers sent; a trap is reported after
    /// the packets sent before it are routed (the order of errors of one
    /// call per packet).
    fn handle_all(&mut self, sh: &Shared, l: usize, runs: &[&[Pair]], away: &mut impl Away) -> Result<(), EmuError> {
        let kernel = sh.kernel(self.cores[l]);
        self.sent.clear();
        let ran = kernel.run_pair_runs(runs, &mut self.mem[l], &mut self.dram[l], &mut self.sent, &mut self.ops[l]);
        let n = runs.iter().map(|r| r.len() as u64).sum();
        self.handlers_ran(sh, l, n, ran, away)
    }

    /// After local core `l`'s packet handler ran on `n` packets (what it
    /// sent in `sent`): counts the calls made, routes what they sent, then
    /// reports a trap (the order of errors of one call per packet).
    fn handlers_ran(&mut self, sh: &Shared, l: usize, n: u64, ran: Ran, away: &mut impl Away) -> Result<(), EmuError> {
        self.counters.invocations += match &ran {
            Ok(()) => n,
            Err((i, _)) => *i as u64,
        };
        let core = self.cores[l];
        self.route_sent(sh, core, self.handler_kind(sh, core), away)?;
        ran.map_err(|(_, trap)| trap.into())
    }

    /// Delivers in rounds until no packet is left (a handler may send: the
    /// partial error sums travel up a population's slices between ticks).
    fn settle(&mut self, sh: &Shared, away: &mut impl Away) -> Result<(), EmuError> {
        while self.deliver(sh, away)? {}
        Ok(())
    }

    /// Runs every core's entry point (in slice order). A forward or backward
    /// tick also closes each core's operation count since its previous tick
    /// and records the busiest core's estimated cycles.
    pub(super) fn tick(&mut self, sh: &Shared, inv: Invocation, away: &mut impl Away) -> Result<(), EmuError> {
        let timed = matches!(inv, Invocation::TickForward { .. } | Invocation::TickBackward { .. });
        let mut busiest = 0;
        for l in 0..self.cores.len() {
            // A pending DMA transfer completes before the PE's forward tick.
            let dma = match inv {
                Invocation::TickForward { .. } => self.dma(sh, l)?,
                _ => 0,
            };
            self.invoke(sh, l, inv, away)?;
            if timed {
                // `cost.cycles_of` and `counters.ops.absorb` in one pass.
                let ops = std::mem::take(&mut self.ops[l]);
                let mut cycles = 0;
                for ((total, n), c) in self.counters.ops.0.iter_mut().zip(ops.0).zip(sh.cost.cycles) {
                    *total += n;
                    cycles += n * c;
                }
                busiest = busiest.max(cycles + dma);
            }
        }
        if timed {
            self.counters.count_tick(busiest, &sh.cost);
        }
        Ok(())
    }

    /// Closes every core's operation count since its last tick (the
    /// end-of-batch phase: `end_of_batch` and the packets it set off) into
    /// the totals; returns the busiest core's estimated cycles.
    pub(super) fn close_phase(&mut self, sh: &Shared) -> u64 {
        let mut busiest = 0;
        for ops in &mut self.ops {
            let ops = std::mem::take(ops);
            busiest = busiest.max(sh.cost.cycles_of(&ops));
            self.counters.ops.absorb(&ops);
        }
        busiest
    }

    /// Completes local core `l`'s pending DMA transfer, if it has one:
    /// counts it and, when tracing, records the DRAM words it read; returns
    /// its estimated cycles.
    fn dma(&mut self, sh: &Shared, l: usize) -> Result<u64, EmuError> {
        let core = self.cores[l];
        let Some(descriptor) = sh.dma[core] else {
            return Ok(0);
        };
        let chip = usize::from(sh.chip(core).0);
        let Some(t) = sh.dram.service(core, chip, descriptor, &mut self.mem[l])? else {
            return Ok(0);
        };
        let bytes = 4 * u64::from(t.words);
        let cycles = sh.cost.dma_cycles(bytes);
        self.counters.dma_transfers += 1;
        self.counters.dma_bytes += bytes;
        self.counters.dma_cycles += cycles;
        if let Some(trace) = &mut self.trace {
            trace[l].dram(t.src, sh.dram.words(chip, t));
        }
        Ok(cycles)
    }

    /// Records, when tracing, that the host wrote buffer `name` of local
    /// core `l` (its whole contents as they are now).
    pub(super) fn trace_write(&mut self, l: usize, kernel: &Kernel, name: &str) {
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
            if !k.buffers.iter().any(|b| b.name == buffers::OVERFLOW) {
                continue;
            }
            let flag = buffer(k, &mut self.mem[l], buffers::OVERFLOW)?[0] as i32;
            if flag == 0 {
                continue;
            }
            if flag != OVERFLOW_SPIKES {
                return Err(EmuError::NotYetSupported { what: format!("a layer overflow flag {flag}") });
            }
            let capacity = buffer(k, &mut self.mem[l], buffers::REC_KEY)?.len() as u32;
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

    fn no_crossing(&self, away: &Parcels, copy: usize) -> Result<(), EmuError> {
        match away.packets.first() {
            Some(p) => Err(EmuError::CrossedCopies { key: p[0], from: copy }),
            None => Ok(()),
        }
    }

    /// One sample of a program without training on this copy: write its
    /// input, run the forward phase, read every layer's first spikes.
    pub(super) fn run_forward(&mut self, sh: &Shared, input: SampleInput) -> Result<Vec<FirstSpikes>, EmuError> {
        let t = sh.program.steps as i32;
        self.write_input(sh, input)?;
        let mut away = Parcels::default();
        self.forward_phase(sh, &mut away)?;
        self.no_crossing(&away, 0)?;
        let mut out: Vec<FirstSpikes> = Vec::new();
        for l in 0..self.cores.len() {
            let c = &sh.program.cores[self.cores[l]];
            if c.role != Role::Layer {
                continue;
            }
            let first = buffer(sh.kernel(self.cores[l]).kernel(), &mut self.mem[l], buffers::FIRST)?;
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
    fn forward_phase(&mut self, sh: &Shared, away: &mut impl Away) -> Result<(), EmuError> {
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
                Role::Input if sh.dma[core].is_some() => {
                    // An event input: where its sample's events are in DRAM.
                    for (name, words) in sh.dram.sample_start(core, k, input.sample)?.into_iter().flatten() {
                        buffer(k, &mut self.mem[l], name)?.copy_from_slice(&words);
                        self.trace_write(l, k, name);
                    }
                }
                Role::Input => {
                    let buf = buffer(k, &mut self.mem[l], buffers::SPIKE_STEP)?;
                    let start = sh.program.cores[core].neurons.start as usize;
                    buf.copy_from_slice(&input.steps[start..start + buf.len()]);
                    self.trace_write(l, k, buffers::SPIKE_STEP);
                }
                Role::Loss => {
                    buffer(k, &mut self.mem[l], buffers::LABEL)?[0] = input.label;
                    self.trace_write(l, k, buffers::LABEL);
                    loss_core = Some(l);
                }
                _ => {}
            }
        }
        Ok(loss_core)
    }

    /// One sample on this copy: write its input, run both phases (and, for a
    /// sample that trains, `end_of_sample`, where the layers of a single copy
    /// add its gradients to the batch's sums), read the loss PE.
    pub(super) fn run_sample(
        &mut self,
        sh: &Shared,
        copy: usize,
        input: SampleInput,
        trains: bool,
    ) -> Result<SampleResult, EmuError> {
        let t = sh.program.steps as i32;
        let loss_core = self.write_input(sh, input)?;
        let mut away = Parcels::default();
        self.forward_phase(sh, &mut away)?;
        for n in (0..t - 1).rev() {
            self.settle(sh, &mut away)?;
            self.tick(sh, Invocation::TickBackward { step: n }, &mut away)?;
        }
        self.settle(sh, &mut away)?;
        if trains {
            self.tick(sh, Invocation::EndOfSample, &mut away)?;
            self.settle(sh, &mut away)?;
        }
        self.no_crossing(&away, copy)?;
        self.check_records(sh)?;
        let l = loss_core.ok_or_else(|| EmuError::NotYetSupported { what: "a copy without a loss PE".into() })?;
        let k = sh.kernel(self.cores[l]).kernel();
        let loss = f32::from_bits(buffer(k, &mut self.mem[l], buffers::LOSS)?[0]);
        // A first-spike loss PE keeps `first`, a voltage loss PE the scores `y`.
        if k.buffers.iter().any(|b| b.name == buffers::Y) {
            let scores = buffer(k, &mut self.mem[l], buffers::Y)?.iter().map(|&y| f32::from_bits(y)).collect();
            return Ok(SampleResult { first: Vec::new(), scores, loss });
        }
        let first = buffer(k, &mut self.mem[l], buffers::FIRST)?
            .iter()
            .map(|&f| if (f as i32) < 0 { t as u32 } else { f })
            .collect();
        Ok(SampleResult { first, scores: Vec::new(), loss })
    }
}

/// A pair's place in the sorted order: `(key, payload)` as one number.
#[inline]
fn rank(p: &Pair) -> u64 {
    (u64::from(p[0]) << 32) | u64::from(p[1])
}

/// Sorts an inbox by `(key, payload)`. Arrivals are ascending runs (one per
/// sender and round, each made of whole flows in disjoint key ranges), so
/// the runs are merged a block at a time: the run with the smallest head
/// gives every packet up to the next smallest head in one copy (`scratch`
/// holds the result while it is built). Runs that interleave packet by
/// packet, or too many runs, fall back to a full sort. Both give the one
/// sorted order, since `(key, payload)` is a total order.
fn sort_inbox(packets: &mut Vec<Pair>, scratch: &mut Vec<Pair>) {
    const MAX_RUNS: usize = 64;
    let (mut heads, mut ends) = ([0usize; MAX_RUNS], [0usize; MAX_RUNS]);
    let mut runs = 1;
    let Some(mut previous) = packets.first().map(rank) else { return };
    for i in 1..packets.len() {
        let r = rank(&packets[i]);
        if r < previous {
            if runs == MAX_RUNS {
                packets.sort_unstable_by_key(rank);
                return;
            }
            ends[runs - 1] = i;
            heads[runs] = i;
            runs += 1;
        }
        previous = r;
    }
    if runs == 1 {
        return;
    }
    ends[runs - 1] = packets.len();
    // Beyond this many blocks, merging block by block costs more than a sort.
    let max_blocks = packets.len() / 8 + MAX_RUNS;
    scratch.clear();
    for _ in 0..max_blocks {
        let (mut first, mut second): (Option<usize>, Option<u64>) = (None, None);
        for r in 0..runs {
            if heads[r] == ends[r] {
                continue;
            }
            let head = rank(&packets[heads[r]]);
            match first {
                Some(f) if head >= rank(&packets[heads[f]]) => second = Some(second.map_or(head, |s| s.min(head))),
                Some(f) => {
                    second = Some(rank(&packets[heads[f]]));
                    first = Some(r);
                }
                None => first = Some(r),
            }
        }
        let Some(f) = first else {
            std::mem::swap(packets, scratch);
            return;
        };
        let run = &packets[heads[f]..ends[f]];
        let take = second.map_or(run.len(), |s| run.partition_point(|p| rank(p) <= s));
        scratch.extend_from_slice(&run[..take]);
        heads[f] += take;
    }
    packets.sort_unstable_by_key(rank);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(key: u32, payload: Option<u32>) -> Pair {
        Packet { key, payload }.pair()
    }

    #[test]
    fn inboxes_sort_as_a_full_sort_does() {
        let cases: Vec<Vec<Pair>> = vec![
            vec![],
            vec![p(3, None)],
            (0..10).map(|k| p(k, Some(k))).collect(),
            // Runs that do not overlap, out of order.
            [20..30, 0..10, 10..20].into_iter().flat_map(|r| r.map(|k| p(k, None))).collect(),
            // Overlapping runs, equal keys with and without payloads.
            vec![p(1, Some(2)), p(5, None), p(1, None), p(1, Some(1)), p(5, Some(0)), p(0, None)],
            // More runs than the run table holds.
            (0..200).rev().map(|k| p(k, None)).collect(),
            // Runs of two flows each, the flows of all runs interleaved (a
            // batch's gradients at the optimiser).
            (0..22)
                .flat_map(|c| {
                    (0..5).map(move |i| p(c * 8 + i, None)).chain((0..3).map(move |i| p(1000 + c * 4 + i, None)))
                })
                .collect(),
            // Runs interleaved packet by packet (more blocks than merged).
            (0..2).flat_map(|r| (0..100).map(move |k| p(2 * k + r, Some(r)))).collect(),
        ];
        let mut scratch = Vec::new();
        for case in cases {
            let mut sorted = case.clone();
            sorted.sort();
            let mut got = case.clone();
            sort_inbox(&mut got, &mut scratch);
            assert_eq!(got, sorted, "{case:?}");
        }
    }
}
