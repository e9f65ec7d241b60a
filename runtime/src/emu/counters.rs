//! What the emulator counts while it runs: entry-point invocations, ticks,
//! packets by kind, router lookups and chip-to-chip hops.
//!
//! A packet's kind follows from the entry point that sent it (the lowering's
//! timeline): forward ticks send spikes, backward ticks errors, `end_of_batch`
//! gradients, packet handlers (the optimiser) weights.

use snnc_compiler::kernel::Invocation;
use snnc_compiler::partition::PacketKind;

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

    pub fn add(&mut self, other: &Counters) {
        self.invocations += other.invocations;
        self.ticks += other.ticks;
        for (a, b) in self.packets_sent.iter_mut().zip(other.packets_sent) {
            *a += b;
        }
        self.packets_received += other.packets_received;
        self.router_lookups += other.router_lookups;
        self.chip_hops += other.chip_hops;
    }
}
