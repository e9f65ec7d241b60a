//! Per-copy execution: the PEs of one batch copy (or the optimiser PEs) run
//! their entry points tick by tick on their own memories, and what they
//! send is routed ([`super::router`]) into their inboxes or, for another
//! group, into `away`.
//!
//! A sample (the lowering's timeline): forward ticks `0 .. T-1`, a delivery,
//! backward ticks `T-2 .. 0`, a delivery, `end_of_sample`; before every tick
//! the PEs drain the packets sent to them during the previous tick in rounds
//! until none is left, each PE its inbox sorted by `(key, payload)`.
//!
//! Invariant: a group touches only its own PEs' memories, inboxes and
//! counters, so groups run in parallel without sharing anything mutable.

use snnc_compiler::kernel::{Invocation, Kernel, OpCounts, Packet};
use snnc_compiler::lower::OVERFLOW_SPIKES;
use snnc_compiler::partition::Role;

use super::router::Routes;
use super::{Counters, EmuError, FirstSpikes, PeTrace, SampleInput, SampleResult, Shared, buffer};

/// The PEs of one batch copy (or the optimiser PEs): memories and inboxes.
pub(super) struct Group {
    /// This group's index in [`Emulator::groups`].
    pub(super) id: usize,
    pub(super) cores: Vec<usize>,
    pub(super) mem: Vec<Vec<u32>>,
    pub(super) inbox: Vec<Vec<Packet>>,
    pub(super) routes: Routes,
    /// What the running entry point sent (reused between invocations).
    pub(super) outbox: Vec<Packet>,
    /// The inbox being drained (reused, so that inboxes keep their capacity).
    pub(super) draining: Vec<Packet>,
    /// Packets for other groups, between the rounds of a batch's end.
    pub(super) away: Vec<(usize, Packet)>,
    pub(super) counters: Counters,
    /// Operations of each core since its previous tick.
    pub(super) ops: Vec<OpCounts>,
    /// Each core's events, when the run is traced.
    pub(super) trace: Option<Vec<PeTrace>>,
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
            let (route, dests) = self.routes.get(&sh.router, &sh.place, chip, p.key)?;
            self.counters.router_lookups += u64::from(route.lookups);
            self.counters.chip_hops += u64::from(route.chip_hops);
            for d in dests {
                if d.group as usize == self.id {
                    self.inbox[d.pos as usize].push(p);
                } else {
                    away.push((d.core as usize, p));
                }
            }
        }
        Ok(())
    }

    /// Drains every inbox once (sorted by key); returns whether any packet
    /// was handled.
    pub(super) fn deliver(&mut self, sh: &Shared, away: &mut Vec<(usize, Packet)>) -> Result<bool, EmuError> {
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
    pub(super) fn tick(
        &mut self,
        sh: &Shared,
        inv: Invocation,
        away: &mut Vec<(usize, Packet)>,
    ) -> Result<(), EmuError> {
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
    pub(super) fn run_forward(&mut self, sh: &Shared, input: SampleInput) -> Result<Vec<FirstSpikes>, EmuError> {
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
    pub(super) fn run_sample(
        &mut self,
        sh: &Shared,
        copy: usize,
        input: SampleInput,
    ) -> Result<SampleResult, EmuError> {
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
        let first =
            buffer(k, &mut self.mem[l], "first")?.iter().map(|&f| if (f as i32) < 0 { t as u32 } else { f }).collect();
        let loss = f32::from_bits(buffer(k, &mut self.mem[l], "loss")?[0]);
        Ok(SampleResult { first, loss })
    }
}
