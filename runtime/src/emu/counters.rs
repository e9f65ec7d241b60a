//! What the emulator counts while it runs, and the cost model that turns the
//! counts into ESTIMATES of on-chip cycles, time and energy.
//!
//! Counted (exact, from the run): entry-point invocations, ticks, packets
//! sent by kind, packets received, router lookups, chip-to-chip hops, and
//! kernel-IR operations executed per [`OpClass`] (the JIT counts them),
//! DMA transfers from DRAM (event inputs) and their bytes, bytes the host
//! wrote into DRAM; the transfers of kernels' DMA statements (reads and
//! writes of private DRAM regions) are operations ([`OpClass::DmaTransfer`],
//! [`OpClass::DmaFlit`]).
//! A packet's kind follows from the entry point that sent it (the lowering's
//! timeline): forward ticks send spikes, backward ticks errors,
//! `end_of_batch` gradients, packet handlers weights (the optimiser; a
//! split population's partial error sums count there too), except a layer's
//! handler in a batch's end, which sends the gradient chain's sums.
//!
//! Estimated ([`CostModel`], every constant a field; defaults from
//! `docs/machine.md`, "Cost model for the emulator", for a Cortex-M4F):
//! cycles of an operation class; a DMA transfer's cycles
//! (`SPINNAKER2.dma_cycles`: setup plus bytes per cycle; for a DMA
//! statement, `dma_setup_cycles` per `DmaTransfer` plus the cycles of a
//! 16-byte flit per `DmaFlit`, so the same sum); a PE's cycles in a
//! tick are its operations and DMA transfers since its previous tick (its
//! packet handlers included); a tick costs the
//! busiest PE of its batch copy; a tick whose busiest PE needs more than
//! 1 ms of cycles at a clock is an overrun at that clock. A training wave
//! (one sample per batch copy, side by side) costs its busiest copy's
//! ticks; a batch (one wave with a copy per sample, `batch / N` waves with
//! `copies = N`, `batch` with `mapping = single_copy`) costs its waves, then its end-of-batch phase
//! (`end_of_batch`, gradients, the optimiser's step, the new weights) the
//! busiest PE's cycles in that phase (every PE's share side by side: a
//! lower bound where packets wait on each other); the modelled training
//! time sums the batches, with ticks as fast as the PEs go or from a 1 ms
//! timer (a tick then lasts 1 ms, or longer on an overrun).

use snnc_compiler::kernel::{DMA_FLIT_BYTES, Invocation, OpClass, OpCounts};
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
    /// Cycles before a DMA transfer's first byte (`SPINNAKER2.dma_setup_cycles`).
    pub dma_setup_cycles: u64,
    /// Bytes a DMA transfer moves per cycle (`SPINNAKER2.dma_bytes_per_cycle`).
    pub dma_bytes_per_cycle: u64,
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
        let chip = snnc_compiler::machine::SPINNAKER2;
        cycles[OpClass::DmaTransfer as usize] = chip.dma_setup_cycles;
        cycles[OpClass::DmaFlit as usize] = DMA_FLIT_BYTES.div_ceil(chip.dma_bytes_per_cycle.max(1));
        CostModel {
            cycles,
            clocks_hz: chip.clocks_hz,
            joules_per_packet: 1e-9,
            watts_per_pe: 0.034,
            dma_setup_cycles: chip.dma_setup_cycles,
            dma_bytes_per_cycle: chip.dma_bytes_per_cycle,
        }
    }
}

impl CostModel {
    /// Estimated cycles of one DMA transfer of `bytes` bytes (none for nothing).
    pub fn dma_cycles(&self, bytes: u64) -> u64 {
        if bytes == 0 {
            return 0;
        }
        self.dma_setup_cycles + bytes.div_ceil(self.dma_bytes_per_cycle.max(1))
    }
    /// Estimated cycles of the DMA statements among `ops`.
    pub fn dma_statement_cycles(&self, ops: &OpCounts) -> u64 {
        [OpClass::DmaTransfer, OpClass::DmaFlit].iter().map(|&c| ops.get(c) * self.cycles[c as usize]).sum()
    }

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
    /// Packets handled by the optimiser PEs (the gradients: `copies x
    /// weights` per batch, direct; `weights` with the chain).
    pub optimiser_received: u64,
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
    /// Sum over ticks of their length on a chip whose ticks come from a 1 ms
    /// timer, in cycles of each clock: 1 ms, or the busiest PE's cycles if
    /// longer.
    pub timer_cycles: [u64; 2],
    /// Training batches run, each ending with an end-of-batch phase.
    pub batches: u64,
    /// Their waves: one sample per batch copy, side by side (a batch is one
    /// wave with a copy per sample, `batch / N` waves with `copies = N`,
    /// `batch` with `mapping = single_copy`).
    pub waves: u64,
    /// Sum over training waves of the ticks' cycles of the copy with the
    /// most.
    pub batch_tick_cycles: u64,
    /// The same with ticks from a 1 ms timer, at each clock.
    pub batch_timer_cycles: [u64; 2],
    /// Sum over end-of-batch phases of the busiest PE's estimated cycles in
    /// the phase (`end_of_batch`, the gradients' and weights' packets, the
    /// optimiser's step), every PE's share running side by side.
    pub batch_end_cycles: u64,
    /// DMA transfers from DRAM into a PE's SRAM for event inputs (`dma`
    /// descriptors), all PEs; DMA statements count in `ops`.
    pub dma_transfers: u64,
    /// Bytes those transfers moved.
    pub dma_bytes: u64,
    /// Their estimated cycles ([`CostModel::dma_cycles`], summed).
    pub dma_cycles: u64,
    /// Bytes the host wrote into the chips' DRAM (input event lists).
    pub dram_written_bytes: u64,
}

impl Counters {
    /// The kind of the packets an invocation sends (the lowering's timeline).
    pub fn kind_sent(by: Invocation) -> PacketKind {
        match by {
            Invocation::TickBackward { .. } => PacketKind::Error,
            Invocation::EndOfBatch => PacketKind::Gradient,
            Invocation::Packet { .. } => PacketKind::Weight,
            _ => PacketKind::Spike,
        }
    }

    /// Records one tick whose busiest PE needed `cycles` (estimated).
    pub fn count_tick(&mut self, cycles: u64, model: &CostModel) {
        self.ticks += 1;
        self.tick_cycles += cycles;
        self.max_tick_cycles = self.max_tick_cycles.max(cycles);
        for ((o, t), hz) in self.overruns.iter_mut().zip(&mut self.timer_cycles).zip(model.clocks_hz) {
            let ms = (hz * 1e-3) as u64;
            if cycles > ms {
                *o += 1;
            }
            *t += cycles.max(ms);
        }
    }

    /// Records one training batch of `waves` waves: the sum of each wave's
    /// busiest copy's tick cycles (as fast as the PEs go, and with 1 ms
    /// timer ticks) and its end-of-batch phase's busiest PE.
    pub fn count_batch(&mut self, ticks: u64, timer: [u64; 2], end: u64, waves: u64) {
        self.batches += 1;
        self.waves += waves;
        self.batch_tick_cycles += ticks;
        for (a, b) in self.batch_timer_cycles.iter_mut().zip(timer) {
            *a += b;
        }
        self.batch_end_cycles += end;
    }

    /// Modelled on-chip seconds of the training waves run, at each clock:
    /// `(as fast as the PEs go, with 1 ms timer ticks)`, end-of-batch
    /// phases included in both.
    pub fn training_seconds(&self, model: &CostModel) -> [(f64, f64); 2] {
        let mut out = [(0.0, 0.0); 2];
        for ((o, hz), timer) in out.iter_mut().zip(model.clocks_hz).zip(self.batch_timer_cycles) {
            let end = self.batch_end_cycles as f64 / hz;
            *o = (self.batch_tick_cycles as f64 / hz + end, timer as f64 / hz + end);
        }
        out
    }

    pub fn add(&mut self, other: &Counters) {
        self.invocations += other.invocations;
        self.ticks += other.ticks;
        for (a, b) in self.packets_sent.iter_mut().zip(other.packets_sent) {
            *a += b;
        }
        self.packets_received += other.packets_received;
        self.optimiser_received += other.optimiser_received;
        self.router_lookups += other.router_lookups;
        self.chip_hops += other.chip_hops;
        self.ops.absorb(&other.ops);
        self.tick_cycles += other.tick_cycles;
        self.max_tick_cycles = self.max_tick_cycles.max(other.max_tick_cycles);
        for (a, b) in self.overruns.iter_mut().zip(other.overruns) {
            *a += b;
        }
        for (a, b) in self.timer_cycles.iter_mut().zip(other.timer_cycles) {
            *a += b;
        }
        self.batches += other.batches;
        self.waves += other.waves;
        self.batch_tick_cycles += other.batch_tick_cycles;
        for (a, b) in self.batch_timer_cycles.iter_mut().zip(other.batch_timer_cycles) {
            *a += b;
        }
        self.batch_end_cycles += other.batch_end_cycles;
        self.dma_transfers += other.dma_transfers;
        self.dma_bytes += other.dma_bytes;
        self.dma_cycles += other.dma_cycles;
        self.dram_written_bytes += other.dram_written_bytes;
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
        assert_eq!((model.dma_cycles(0), model.dma_cycles(4), model.dma_cycles(33)), (0, 51, 53));
        // A DMA statement of 9 words: one transfer, 3 flits, as dma_cycles(36).
        let mut dma = OpCounts::default();
        dma.add(OpClass::DmaTransfer, 1);
        dma.add(OpClass::DmaFlit, 3);
        assert_eq!(model.cycles_of(&dma), model.dma_cycles(36));
        assert_eq!(model.dma_statement_cycles(&dma), model.dma_cycles(36));
        let mut c = Counters::default();
        c.count_tick(200_000, &model);
        c.count_tick(100_000, &model);
        c.count_tick(400_000, &model);
        // 1 ms is 150,000 cycles at 150 MHz and 300,000 at 300 MHz.
        assert_eq!(c.overruns, [2, 1]);
        assert_eq!((c.ticks, c.tick_cycles, c.max_tick_cycles), (3, 700_000, 400_000));
        let t = c.seconds_per_sample(2, &model);
        assert!((t[0] - 700_000.0 / 150e6 / 2.0).abs() < 1e-12 && (t[1] - t[0] / 2.0).abs() < 1e-12);
        // With a 1 ms timer a tick lasts 1 ms, or its cycles when longer.
        assert_eq!(c.timer_cycles, [200_000 + 150_000 + 400_000, 300_000 * 2 + 400_000]);
    }

    /// The training time sums its waves: the busiest copy's ticks, then the
    /// end-of-batch phase, at each clock, with or without the timer.
    #[test]
    fn training_time_sums_each_waves_busiest_copy_and_its_end_of_batch_phase() {
        let model = CostModel::default();
        let mut c = Counters::default();
        c.count_batch(300_000, [450_000, 600_000], 30_000, 1);
        c.count_batch(150_000, [300_000, 600_000], 0, 2);
        let [at150, at300] = c.training_seconds(&model);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(at150.0, 480_000.0 / 150e6) && close(at150.1, 780_000.0 / 150e6), "{at150:?}");
        assert!(close(at300.0, 480_000.0 / 300e6) && close(at300.1, 1_230_000.0 / 300e6), "{at300:?}");
        let mut total = Counters::default();
        total.add(&c);
        total.add(&c);
        assert_eq!((total.batches, total.waves), (4, 6));
        assert_eq!((total.batch_tick_cycles, total.batch_end_cycles), (900_000, 60_000));
        assert_eq!(total.batch_timer_cycles, [1_500_000, 2_400_000]);
    }
}

/// The emulator's counters and cost-model estimates after a run, as the
/// CLI prints them (text) or emits them (`--json`).
#[derive(Clone, Debug)]
pub struct RunReport {
    pub counters: Counters,
    pub cost: CostModel,
    pub jit_seconds: f64,
    pub pes: usize,
    pub kernels: usize,
    pub samples: u64,
    pub copies: u32,
}

impl RunReport {
    pub fn of(emu: &super::Emulator) -> RunReport {
        let counters = emu.counters();
        let per_sample = 2 * u64::from(emu.program().steps) - 1;
        RunReport {
            samples: counters.ticks / per_sample.max(1),
            counters,
            cost: *emu.cost_model(),
            jit_seconds: emu.jit_seconds(),
            pes: emu.program().cores.len(),
            kernels: emu.program().kernels.len(),
            copies: emu.program().copies,
        }
    }

    pub fn json(&self) -> serde_json::Value {
        let c = &self.counters;
        let ops: serde_json::Map<String, serde_json::Value> =
            OpClass::ALL.iter().map(|&k| (k.name().to_string(), serde_json::Value::from(c.ops.get(k)))).collect();
        let t = c.seconds_per_sample(self.samples, &self.cost);
        let e = c.joules(self.samples, self.copies, self.pes, &self.cost);
        let tr = c.training_seconds(&self.cost);
        serde_json::json!({
            "pes": self.pes,
            "kernels": self.kernels,
            "jit_seconds": self.jit_seconds,
            "samples": self.samples,
            "packets_sent": {
                "spike": c.packets_sent[0], "error": c.packets_sent[1],
                "gradient": c.packets_sent[2], "weight": c.packets_sent[3],
            },
            "packets_received": c.packets_received,
            "packets_received_by_optimisers": c.optimiser_received,
            "router_lookups": c.router_lookups,
            "chip_hops": c.chip_hops,
            "invocations": c.invocations,
            "dma": {
                "transfers": c.dma_transfers, "bytes": c.dma_bytes, "cycles": c.dma_cycles,
                "dram_written_bytes": c.dram_written_bytes,
                "statement_transfers": c.ops.get(OpClass::DmaTransfer),
                "statement_flits": c.ops.get(OpClass::DmaFlit),
                "statement_cycles": self.cost.dma_statement_cycles(&c.ops),
            },
            "operations": ops,
            "estimate": {
                "cycles_per_sample": c.tick_cycles / self.samples.max(1),
                "max_tick_cycles": c.max_tick_cycles,
                "batch_end_cycles_per_batch": c.batch_end_cycles / c.batches.max(1),
                "seconds_per_sample_150mhz": t[0],
                "seconds_per_sample_300mhz": t[1],
                "tick_overruns_150mhz": c.overruns[0],
                "tick_overruns_300mhz": c.overruns[1],
                "joules_150mhz": e[0],
                "joules_300mhz": e[1],
                "training_batches": c.batches,
                "training_waves": c.waves,
                "training_seconds_150mhz": tr[0].0,
                "training_seconds_300mhz": tr[1].0,
                "training_seconds_timer_150mhz": tr[0].1,
                "training_seconds_timer_300mhz": tr[1].1,
                "end_of_batch_cycles": c.batch_end_cycles,
            },
        })
    }

    pub fn text(&self) -> String {
        let c = &self.counters;
        let t = c.seconds_per_sample(self.samples, &self.cost);
        let e = c.joules(self.samples, self.copies, self.pes, &self.cost);
        let ops: u64 = c.ops.0.iter().sum();
        // Only programs that read DRAM (event inputs) or run DMA statements
        // say so.
        let mut dma = if c.dma_transfers == 0 && c.dram_written_bytes == 0 {
            String::new()
        } else {
            format!(
                "; {} bytes written into DRAM by the host, {} DMA transfers from DRAM ({} bytes, {} cycles estimated)",
                c.dram_written_bytes, c.dma_transfers, c.dma_bytes, c.dma_cycles
            )
        };
        let statements = c.ops.get(OpClass::DmaTransfer);
        if statements > 0 {
            dma.push_str(&format!(
                "; {statements} DMA statement transfers between SRAM and private DRAM regions, reads and writes together ({} flits of {DMA_FLIT_BYTES} bytes, {} cycles estimated)",
                c.ops.get(OpClass::DmaFlit),
                self.cost.dma_statement_cycles(&c.ops)
            ));
        }
        format!(
            "emulator: {} PEs, {} JIT-compiled in {:.0} ms; {} samples; packets sent: {} spike, {} error, {} gradient, {} weight; {} packets into the optimisers; {} router lookups, {} chip-to-chip hops; {} kernel operations{}\n\
             ESTIMATES (cost model of docs/machine.md, Cortex-M4F cycles; SpiNNaker1 energy figures): on-chip compute {:.1} us per sample at 150 MHz, {:.1} us at 300 MHz (busiest PE per 1 ms tick, summed); busiest PE tick {} cycles; end of a batch (gradients, optimiser step, weights) {} cycles on its busiest PE; 1 ms tick overruns: {} at 150 MHz, {} at 300 MHz; energy {:.3} J at 150 MHz, {:.3} J at 300 MHz\n",
            self.pes,
            if self.kernels == 1 { "1 kernel".to_string() } else { format!("{} kernels", self.kernels) },
            self.jit_seconds * 1000.0,
            self.samples,
            c.packets_sent[0],
            c.packets_sent[1],
            c.packets_sent[2],
            c.packets_sent[3],
            c.optimiser_received,
            c.router_lookups,
            c.chip_hops,
            ops,
            dma,
            t[0] * 1e6,
            t[1] * 1e6,
            c.max_tick_cycles,
            c.batch_end_cycles / c.batches.max(1),
            c.overruns[0],
            c.overruns[1],
            e[0],
            e[1],
        ) + &self.training_text()
    }

    /// The modelled on-chip time of the training waves run, as a line (none
    /// without training).
    pub fn training_text(&self) -> String {
        let c = &self.counters;
        if c.batches == 0 {
            return String::new();
        }
        let tr = c.training_seconds(&self.cost);
        let per_copy = c.waves / c.batches;
        let shape = match self.copies {
            _ if c.waves == c.batches => {
                format!("{} waves of {} batch copies side by side, each with its end of a batch", c.waves, self.copies)
            }
            1 => format!(
                "{} batches of {per_copy} samples one after another on 1 batch copy, each batch with its end",
                c.batches
            ),
            n => format!(
                "{} batches of {per_copy} samples one after another on each of {n} batch copies side by side, each batch with its end",
                c.batches
            ),
        };
        format!(
            "ESTIMATES of the training on the chip: {:.3} s at 150 MHz, {:.3} s at 300 MHz as fast as the PEs go; {:.3} s, {:.3} s with 1 ms timer ticks ({shape})\n",
            tr[0].0, tr[1].0, tr[0].1, tr[1].1,
        )
    }
}
