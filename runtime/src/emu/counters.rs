//! What the emulator counts while it runs, and the cost model that turns the
//! counts into ESTIMATES of on-chip cycles, time and energy.
//!
//! Counted (exact, from the run): entry-point invocations, ticks, packets
//! sent by kind, packets received, router lookups, chip-to-chip hops, and
//! kernel-IR operations executed per [`OpClass`] (the JIT counts them).
//! A packet's kind follows from the entry point that sent it (the lowering's
//! timeline): forward ticks send spikes, backward ticks errors,
//! `end_of_batch` gradients, packet handlers (the optimiser) weights.
//!
//! Estimated ([`CostModel`], every constant a field; defaults from
//! `docs/spinnaker2.md`, "Cost model for the emulator", for a Cortex-M4F):
//! cycles of an operation class; a PE's cycles in a tick are its operations
//! since its previous tick (its packet handlers included); a tick costs the
//! busiest PE of its batch copy; a tick whose busiest PE needs more than
//! 1 ms of cycles at a clock is an overrun at that clock.

use snnc_compiler::kernel::{Invocation, OpClass, OpCounts};
use snnc_compiler::partition::PacketKind;

/// Cycles per operation class and energy constants (all estimates).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CostModel {
    /// Cycles per [`OpClass`], indexed by `class as usize`.
    pub cycles: [u64; OpClass::COUNT],
    /// Clocks of the estimate (Hz).
    pub clocks_hz: [f64; 2],
    /// Energy per packet and chip-to-chip or router hop (SpiNNaker1's 1 nJ per
    /// 40-bit packet; no public SpiNNaker2 figure).
    pub joules_per_packet: f64,
    /// Power of one active PE (SpiNNaker1's 0.034 W per core).
    pub watts_per_pe: f64,
}

impl Default for CostModel {
    fn default() -> Self {
        let mut cycles = [1; OpClass::COUNT];
        cycles[OpClass::FloatDiv as usize] = 14;
        cycles[OpClass::FloatSqrt as usize] = 14;
        cycles[OpClass::IntDiv as usize] = 12;
        cycles[OpClass::Load as usize] = 2;
        cycles[OpClass::Branch as usize] = 2;
        cycles[OpClass::Send as usize] = 10;
        CostModel { cycles, clocks_hz: [150e6, 300e6], joules_per_packet: 1e-9, watts_per_pe: 0.034 }
    }
}

impl CostModel {
    pub fn cycles_of(&self, ops: &OpCounts) -> u64 {
        OpClass::ALL.iter().map(|&c| ops.get(c) * self.cycles[c as usize]).sum()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub invocations: u64,
    /// Ticks run, summed over batch copies.
    pub ticks: u64,
    /// Packets sent, indexed like [`PacketKind::ALL`].
    pub packets_sent: [u64; 4],
    pub packets_received: u64,
    /// Routing-table lookups (one per chip a packet visits).
    pub router_lookups: u64,
    pub chip_hops: u64,
    /// Operations executed, all PEs.
    pub ops: OpCounts,
    /// Sum over ticks of the busiest PE's estimated cycles in that tick.
    pub tick_cycles: u64,
    /// Largest estimated cycles of one PE in one tick.
    pub max_tick_cycles: u64,
    /// Ticks whose busiest PE needs more than 1 ms, at each clock of the model.
    pub overruns: [u64; 2],
}

impl Counters {
    pub fn count_sent(&mut self, by: Invocation) {
        let kind = match by {
            Invocation::TickBackward { .. } => PacketKind::Error,
            Invocation::EndOfBatch => PacketKind::Gradient,
            Invocation::Packet { .. } => PacketKind::Weight,
            _ => PacketKind::Spike,
        };
        self.packets_sent[kind as usize] += 1;
    }

    /// Records one tick whose busiest PE needed `cycles` (estimated).
    pub fn count_tick(&mut self, cycles: u64, model: &CostModel) {
        self.ticks += 1;
        self.tick_cycles += cycles;
        self.max_tick_cycles = self.max_tick_cycles.max(cycles);
        for (o, hz) in self.overruns.iter_mut().zip(model.clocks_hz) {
            if cycles as f64 > hz * 1e-3 {
                *o += 1;
            }
        }
    }

    pub fn add(&mut self, other: &Counters) {
        self.invocations += other.invocations;
        self.ticks += other.ticks;
        for (a, b) in self.packets_sent.iter_mut().zip(other.packets_sent) {
            *a += b;
        }
        self.packets_received += other.packets_received;
        self.router_lookups += other.router_lookups;
        self.chip_hops += other.chip_hops;
        self.ops.absorb(&other.ops);
        self.tick_cycles += other.tick_cycles;
        self.max_tick_cycles = self.max_tick_cycles.max(other.max_tick_cycles);
        for (a, b) in self.overruns.iter_mut().zip(other.overruns) {
            *a += b;
        }
    }

    /// Estimated compute time of the ticks run, per sample, at each clock
    /// (seconds): the busiest PE's cycles per tick, summed, over the clock.
    pub fn seconds_per_sample(&self, samples: u64, model: &CostModel) -> [f64; 2] {
        model.clocks_hz.map(|hz| self.tick_cycles as f64 / hz / samples.max(1) as f64)
    }

    /// Estimated energy (joules) of the run at each clock: packets sent,
    /// router lookups and chip-to-chip hops at `joules_per_packet`, plus `pes`
    /// PEs active for the estimated compute time, `copies` samples side by side.
    pub fn joules(&self, samples: u64, copies: u32, pes: usize, model: &CostModel) -> [f64; 2] {
        let packets: u64 = self.packets_sent.iter().sum::<u64>() + self.router_lookups + self.chip_hops;
        let rounds = samples as f64 / f64::from(copies.max(1));
        self.seconds_per_sample(samples, model)
            .map(|t| packets as f64 * model.joules_per_packet + pes as f64 * model.watts_per_pe * t * rounds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_follow_the_model_and_overruns_are_per_clock() {
        let model = CostModel::default();
        let mut ops = OpCounts::default();
        ops.add(OpClass::FloatArith, 3);
        ops.add(OpClass::FloatDiv, 1);
        ops.add(OpClass::Load, 2);
        ops.add(OpClass::Send, 1);
        assert_eq!(model.cycles_of(&ops), 3 + 14 + 4 + 10);
        let mut c = Counters::default();
        c.count_tick(200_000, &model);
        c.count_tick(100_000, &model);
        c.count_tick(400_000, &model);
        // 1 ms is 150,000 cycles at 150 MHz and 300,000 at 300 MHz.
        assert_eq!(c.overruns, [2, 1]);
        assert_eq!((c.ticks, c.tick_cycles, c.max_tick_cycles), (3, 700_000, 400_000));
        let t = c.seconds_per_sample(2, &model);
        assert!((t[0] - 700_000.0 / 150e6 / 2.0).abs() < 1e-12 && (t[1] - t[0] / 2.0).abs() < 1e-12);
    }
}
