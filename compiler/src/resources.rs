//! The resource model: the SRAM bytes one slice of a program needs on a PE,
//! and the DRAM bytes of a layer slice whose synapses live in DRAM.
//!
//! Input: the program (role), the slice's neuron count `n`, its fan-in `k`
//! (the sum of its incoming projections' pre sizes), the time steps `T`,
//! whether the network trains, where its synapses live ([`Synapses`]).
//! Output: a [`Sram`] record, bytes per category, and a [`Dram`] record.
//! The lowering (`crate::lower`) sizes the layer kernel's buffers with the
//! same functions ([`spike_record_capacity`], [`input_record_words`]), so
//! what is placed is what runs (the spike record grown into the PE's room
//! left, [`spike_record_grown`]).
//!
//! The formula (f32 values, 4 bytes each; "(model)" marks this project's choices):
//!
//! | category | input | layer (training) | layer (inference) | loss | optimiser (w weights) |
//! |---|---|---|---|---|---|
//! | weights | - | `4nk` | `4nk` | - | `4w` |
//! | gradients (accumulator / sum over copies) | - | `4nk` (`8nk`: with the batch's sum) | - | - | `4w` |
//! | optimiser state (Adam m, v; SGD momentum) | - | - | - | - | `8w` / `4w` / `0` |
//! | state | `4n` (spike step per input) | `24n` (I, V, lI, lV, input sum, error; `4n` more per outgoing projection beyond the first) | `16n` (I, V, input sum, first spike) | `8n + 4` (first spike, error per class; label) | - |
//! | spike record | - | `12 B n + 4(T + 1)` | - | - | - |
//! | input-spike record | - | `4 ceil(T k / 32)` | `4 ceil(T k / 32)` | - | - |
//! | receive buffers | 2048 | 2048 | 2048 | 2048 | 2048 |
//! | stack | 4096 | 4096 | 4096 | 4096 | 4096 |
//! | code (code region) | 4 KiB | 16 KiB | 16 KiB | 4 KiB | 8 KiB |
//!
//! - `B` = [`SPIKE_BUDGET`] spikes per neuron per sample on average (model;
//!   `T - 1` when fewer: no neuron spikes more often): the backward pass
//!   replays recorded spikes, so the record is a log of `B n` entries shared
//!   by the slice's neurons; an entry is 12 bytes (step and neuron packed in
//!   4 bytes as `step * n + neuron`, `I` and `Vt` at the spike), plus the
//!   index of each step's first entry (`T + 1` words). This is what the
//!   partitioner budgets; the lowering then grows the log into the room the
//!   PE has left, up to `T - 1` entries per neuron, where no sample can
//!   overflow it ([`spike_record_grown`]). A sample that spikes more than the
//!   log holds is a run-time error of the emulator (the kernel drops the
//!   entry and raises its `overflow` flag), never a silent truncation.
//! - The input-spike record is one bit per (step, fan-in position): a log of
//!   `B` entries of 4 bytes per LIF input would take `4 B` bytes per input,
//!   more than the `T / 8` of the bits for any `T < 32 B`, and cannot
//!   overflow.
//!   `B = 24` covers the examples' busiest layers at initialisation with
//!   room (`deep.snn`'s readout: at most 21 spikes per neuron per sample).
//! - The input-spike record holds one bit per step and *raw* position: the
//!   spikes of each incoming projection's pre population are recorded once,
//!   and every copy of a delay line reads them at its own delay (`raw`
//!   positions `sum |pre|`, weight positions `k = sum |pre| x copies`).
//! - A delayed projection from a spiking layer adds an error ring to
//!   training: `(max delay + 1) x |pre|` errors (4 bytes), where the
//!   backward pass sums each presynaptic spike's errors over the copies
//!   until it reaches the spike's step (`delay_ring`).
//! - An `li` layer has no spike record and no per-projection errors; as a
//!   readout it keeps a score, the step of its maximum and `kappa e` per
//!   neuron (`12n`) and, for the exp-weighted loss, the weight of every step
//!   (`4T`) (`readout`). A regularised `lif` layer keeps each neuron's spike
//!   count and `rho` (`8n`, `regulariser`).
//! - With one copy for a training batch of several samples (`mapping =
//!   single_copy`) a layer also keeps the sum of the batch's gradients
//!   (`ValidNetwork::layers_sum_the_batch`): a second gradient array, in
//!   SRAM or in the DRAM region. With `copies = N` copies of a batch of `B`
//!   samples it keeps `B / N` gradient arrays, one per sample it runs
//!   (`ValidNetwork::gradient_slots`).
//! - Receive buffers: a ring of 256 packets of 8 bytes (key and 32-bit payload).
//! - Data (everything but code) must fit 96 KiB; code must fit 32 KiB.
//!
//! Synapses in DRAM ([`layer_memory`] with [`Synapses::Dram`]; SpiNNaker's
//! synaptic matrix in SDRAM). The partitioner's rule: a training layer keeps
//! its synapses in SRAM whenever one neuron fits a PE that way (every slice
//! of the population then does, as today), else in DRAM; the target's
//! `synapses = sram | dram` overrides it for every layer, and a forward-only
//! network keeps them in SRAM. A DRAM-mode slice's private DRAM region holds
//!
//! | category (DRAM) | bytes |
//! |---|---|
//! | weights `[position][neuron]` | `4nk` |
//! | gradients `[position][neuron]` | `4nk` |
//! | input-spike record, one row of `r = ceil(raw / 32)` words per step | `4 T r` |
//! | the batch's gradient sums `[position][neuron]` (`mapping = single_copy`, batch > 1) | `4nk` |
//! | `lif`: spike record of `(T - 1) n` entries (keys, then `I`, then `Vt`) | `12 (T - 1) n` |
//!
//! and its SRAM, instead of weights, gradients and the whole input record:
//! row buffers (a weight row, a gradient row, one word for a weight packet:
//! `8n + 4`; the lowering grows the gradient row into a tile of up to
//! [`GRADIENT_TILE_ROWS`] rows with the room the PE has left, which the end
//! of a batch reads at a time to send the gradients in key order) and an input-record window of the last `max delay + 2` steps'
//! rows (`4 (d + 2) r`; the forward tick at step `s` reads step `s - 1 - d`
//! for every copy's delay `d` while the packet handler records step `s`);
//! and instead of the spike log, one step's entries (`12n`: a neuron spikes
//! at most once per step) with the step index (`4 (T + 1)`). The DRAM
//! record holds a spike of every neuron at every step but the first, so it
//! cannot overflow, whatever the activity.
//! Every other category is the SRAM mode's. A chip's DRAM holds its PEs'
//! regions (2 GiB, `SPINNAKER2`), which the placer checks.
//!
//! Invariant: every category grows linearly in `n` (and in `w`), so the
//! largest slice that fits is found by one division ([`max_neurons`]).

use petgraph::graph::NodeIndex;

pub use crate::network::Synapses;
use crate::network::{OptimizerSpec, PopulationKind, ValidNetwork};

// Each neuron model's training records live in its folder (`compiler/src/models/`).
#[path = "models/li/resources.rs"]
mod li;
#[path = "models/lif/resources.rs"]
mod lif;

/// Spikes per neuron per sample that the backward-pass records hold, on
/// average over a slice (model).
pub const SPIKE_BUDGET: u64 = 24;
/// Spikes per neuron per sample the packet-traffic estimates assume: the
/// latency code's design point (one spike per neuron and sample). The
/// records are sized for the worst case ([`SPIKE_BUDGET`]), the traffic for
/// the typical one; the emulator counts the real traffic.
pub const TRAFFIC_SPIKES: u64 = 1;
/// Bytes of one spike-record entry: packed (step, neuron), `I`, `V`.
pub const SPIKE_RECORD_BYTES: u64 = 12;
/// The receive ring: 256 packets of (32-bit key, 32-bit payload).
pub const RECEIVE_BUFFER_BYTES: u64 = 256 * 8;
/// Stack at the top of the data region (model).
pub const STACK_BYTES: u64 = 4096;
/// Code size of each program (model: estimates for the emitted C).
pub const CODE_INPUT: u64 = 4 * 1024;
pub const CODE_LAYER: u64 = 16 * 1024;
pub const CODE_LOSS: u64 = 4 * 1024;
pub const CODE_OPTIMISER: u64 = 8 * 1024;

/// SRAM bytes of one slice, by category.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sram {
    pub code: u64,
    pub weights: u64,
    pub gradients: u64,
    pub optimiser_state: u64,
    pub state: u64,
    pub spike_record: u64,
    pub input_record: u64,
    /// The errors of delayed projections from spiking layers, per slot.
    pub delay_ring: u64,
    /// An `li` readout's scores, maxima, `kappa e` and step weights.
    pub readout: u64,
    /// The spike counts and `rho` of a regularised layer.
    pub regulariser: u64,
    /// Synapses in DRAM: the weight row, the gradient row, a weight word.
    pub row_buffers: u64,
    pub receive_buffers: u64,
    pub stack: u64,
}

/// DRAM bytes of one slice's private region, by category (all zero for a
/// slice whose synapses are in SRAM).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dram {
    pub weights: u64,
    pub gradients: u64,
    pub input_record: u64,
    pub spike_record: u64,
}

impl Dram {
    pub fn total(&self) -> u64 {
        self.weights + self.gradients + self.input_record + self.spike_record
    }
}

/// Gradient rows of `n` values a DRAM-mode slice with fan-in `k` reads at a
/// time at the end of a batch, to send its gradients neuron by neuron (key
/// order): the one row budgeted ([`layer_memory`]'s row buffers) and as many
/// more as `room` bytes hold, at most [`GRADIENT_TILE_ROWS`] and `k`.
pub fn gradient_tile_rows(n: u64, k: u64, room: u64) -> u64 {
    (1 + room / (4 * n.max(1))).min(GRADIENT_TILE_ROWS).min(k.max(1))
}

/// The largest gradient tile, in rows ([`gradient_tile_rows`]).
pub const GRADIENT_TILE_ROWS: u64 = 16;

/// Entries of the spike record in the DRAM region of a `lif` slice of `n`
/// neurons whose synapses are in DRAM: one per neuron and step but the
/// first (no sample can overflow it).
pub fn dram_spike_record_entries(n: u64, steps: u64) -> u64 {
    steps.saturating_sub(1) * n
}

impl Sram {
    /// Bytes in the data region (everything but code).
    pub fn data(&self) -> u64 {
        self.weights
            + self.gradients
            + self.optimiser_state
            + self.state
            + self.spike_record
            + self.input_record
            + self.delay_ring
            + self.readout
            + self.regulariser
            + self.row_buffers
            + self.receive_buffers
            + self.stack
    }
}

fn fixed(code: u64) -> Sram {
    Sram { code, receive_buffers: RECEIVE_BUFFER_BYTES, stack: STACK_BYTES, ..Sram::default() }
}

/// An input (spike source) slice of `n` neurons.
pub fn input_sram(n: u64) -> Sram {
    Sram { state: 4 * n, ..fixed(CODE_INPUT) }
}

/// Entries of the spike record the partitioner budgets for a slice of `n`
/// neurons over `steps` steps: [`SPIKE_BUDGET`] per neuron, or `steps - 1`
/// (a neuron spikes at most once per step, never at step 0) when fewer.
pub fn spike_record_capacity(n: u64, steps: u64) -> u64 {
    SPIKE_BUDGET.min(steps.saturating_sub(1)) * n
}

/// Entries of the spike record the lowering gives a slice of `n` neurons
/// whose PE has `room` bytes of its data budget left with the budgeted
/// record: the budgeted entries plus as many as the room holds, at most
/// `steps - 1` per neuron, where no sample can overflow the record.
pub fn spike_record_grown(n: u64, steps: u64, room: u64) -> u64 {
    let most = steps.saturating_sub(1) * n;
    (spike_record_capacity(n, steps) + room / SPIKE_RECORD_BYTES).min(most)
}

/// 32-bit words of the input-spike record (one bit per step and position)
/// of a slice with fan-in `k` over `steps` steps.
pub fn input_record_words(k: u64, steps: u64) -> u64 {
    (steps * k).div_ceil(32)
}

/// 32-bit words of one step's row of input-spike bits of a slice whose
/// synapses are in DRAM (`raw` positions, the row padded to whole words).
pub fn input_row_words(raw: u64) -> u64 {
    raw.div_ceil(32)
}

/// Steps of the input-record window a DRAM-mode slice keeps in SRAM: the
/// largest delay of its inputs plus 2.
pub fn input_window_steps(max_delay: u64) -> u64 {
    max_delay + 2
}

/// Bytes of a record's step index (the first entry of each step, and the end).
fn step_index_bytes(steps: u64) -> u64 {
    4 * (steps + 1)
}

/// A LIF layer slice of `n` neurons with fan-in `k`, over `steps` time steps.
pub fn layer_sram(n: u64, k: u64, steps: u64, training: bool) -> Sram {
    if training {
        Sram {
            weights: 4 * n * k,
            gradients: 4 * n * k,
            state: 24 * n,
            spike_record: SPIKE_RECORD_BYTES * spike_record_capacity(n, steps) + step_index_bytes(steps),
            input_record: 4 * input_record_words(k, steps),
            ..fixed(CODE_LAYER)
        }
    } else {
        Sram { weights: 4 * n * k, state: 16 * n, input_record: 4 * input_record_words(k, steps), ..fixed(CODE_LAYER) }
    }
}

/// The SRAM of a slice of `n` neurons of layer `pop` in `net` ([`layer_sram`]
/// for a plain `lif` layer): its input record has one bit per step and raw
/// position; with several outgoing projections, training keeps one error
/// per neuron and projection (`4n` more per projection beyond the first),
/// added in declaration order; and the delay ring, the readout's and the
/// regulariser's buffers of the module doc.
pub fn layer_sram_in(net: &ValidNetwork, pop: NodeIndex, n: u64, training: bool) -> Sram {
    let layout = net.synapse_layout(pop);
    let (k, raw) = (u64::from(layout.fan_in), u64::from(layout.raw_fan_in));
    let steps = u64::from(net.time.steps);
    let mut s = layer_sram(n, k, steps, training);
    s.input_record = 4 * input_record_words(raw, steps);
    if !training {
        return s;
    }
    match net.graph[pop].kind {
        PopulationKind::Li(_) => li::training_records(&mut s, net, pop, n, steps),
        _ => lif::training_records(&mut s, net, pop, n),
    }
    s.delay_ring = 4 * u64::from(layout.ring_slots) * u64::from(layout.ring_width);
    if net.layers_sum_the_batch() {
        s.gradients *= 2;
    }
    s.gradients *= u64::from(net.gradient_slots());
    s
}

/// The SRAM and the DRAM of a slice of `n` neurons of layer `pop` whose
/// synapses live in `synapses`: [`layer_sram_in`] for [`Synapses::Sram`] (no
/// DRAM); for [`Synapses::Dram`] the module doc's DRAM categories, and in
/// SRAM row buffers and the input-record window in place of the weights,
/// the gradients and the input record.
pub fn layer_memory(net: &ValidNetwork, pop: NodeIndex, n: u64, training: bool, synapses: Synapses) -> (Sram, Dram) {
    let mut s = layer_sram_in(net, pop, n, training);
    if synapses == Synapses::Sram {
        return (s, Dram::default());
    }
    let layout = net.synapse_layout(pop);
    let k = u64::from(layout.fan_in);
    let row = input_row_words(u64::from(layout.raw_fan_in));
    let max_delay = layout.copies.iter().map(|c| u64::from(c.delay)).max().unwrap_or(0);
    let steps = u64::from(net.time.steps);
    s.weights = 0;
    s.gradients = 0;
    s.row_buffers = 8 * n + 4;
    s.input_record = 4 * input_window_steps(max_delay) * row;
    let sums = if !training {
        1
    } else if net.layers_sum_the_batch() {
        2
    } else {
        u64::from(net.gradient_slots())
    };
    let mut dram =
        Dram { weights: 4 * n * k, gradients: sums * 4 * n * k, input_record: 4 * steps * row, spike_record: 0 };
    if s.spike_record > 0 {
        // `lif`: one step's entries in SRAM, the sample's in DRAM.
        s.spike_record = SPIKE_RECORD_BYTES * n + step_index_bytes(steps);
        dram.spike_record = SPIKE_RECORD_BYTES * dram_spike_record_entries(n, steps);
    }
    (s, dram)
}

/// Error parts a layer keeps per neuron: one per outgoing projection (the
/// readout, which has none, one for the loss's error).
pub fn error_parts(net: &ValidNetwork, pop: NodeIndex) -> u64 {
    (net.outgoing(pop).len() as u64).max(1)
}

/// The loss program for a readout of `classes` neurons.
pub fn loss_sram(classes: u64) -> Sram {
    Sram { state: 8 * classes + 4, ..fixed(CODE_LOSS) }
}

/// Bytes of optimiser state per weight.
pub fn optimiser_state_per_weight(opt: &OptimizerSpec) -> u64 {
    match *opt {
        OptimizerSpec::Adam { .. } => 8,
        OptimizerSpec::Sgd { momentum, .. } if momentum != 0.0 => 4,
        OptimizerSpec::Sgd { .. } => 0,
    }
}

/// An optimiser slice holding `w` weights.
pub fn optimiser_sram(w: u64, opt: &OptimizerSpec) -> Sram {
    Sram {
        weights: 4 * w,
        gradients: 4 * w,
        optimiser_state: optimiser_state_per_weight(opt) * w,
        ..fixed(CODE_OPTIMISER)
    }
}

/// The largest `n` with `sram(n).data() <= budget` (0 when even one does not fit),
/// for an `sram` that is linear in `n`.
pub fn max_neurons(budget: u64, sram: impl Fn(u64) -> Sram) -> u64 {
    let base = sram(0).data();
    let per = sram(1).data() - base;
    match budget.checked_sub(base) {
        None => 0,
        Some(room) => room.checked_div(per).unwrap_or(u64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADAM: OptimizerSpec =
        OptimizerSpec::Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };

    #[test]
    fn layer_formula_by_category() {
        // The Yin-Yang hidden layer: n = 120, k = 5, T = 27.
        let s = layer_sram(120, 5, 27, true);
        assert_eq!(s.weights, 4 * 120 * 5);
        assert_eq!(s.gradients, 4 * 120 * 5);
        assert_eq!(s.state, 24 * 120);
        assert_eq!(s.spike_record, 12 * 24 * 120 + 4 * 28);
        assert_eq!(s.input_record, 4 * 5);
        assert_eq!(s.data(), 2400 + 2400 + 2880 + 34_672 + 20 + 2048 + 4096);
        assert_eq!(s.code, 16 * 1024);
        // Its readout: 27 x 120 bits.
        assert_eq!(layer_sram(3, 120, 27, true).input_record, 4 * 102);
        let inference = layer_sram(120, 5, 27, false);
        assert_eq!(inference.data(), 2400 + 1920 + 20 + 2048 + 4096);
    }

    #[test]
    fn small_programs() {
        assert_eq!(input_sram(5).data(), 20 + 2048 + 4096);
        assert_eq!(loss_sram(3).data(), 28 + 2048 + 4096);
        let o = optimiser_sram(615, &ADAM);
        assert_eq!(o.data(), 16 * 615 + 2048 + 4096);
        let sgd = OptimizerSpec::Sgd { lr: 0.1, momentum: 0.0, weight_decay: 0.0 };
        assert_eq!(optimiser_sram(10, &sgd).data(), 80 + 6144);
        let sgdm = OptimizerSpec::Sgd { lr: 0.1, momentum: 0.9, weight_decay: 0.0 };
        assert_eq!(optimiser_sram(10, &sgdm).data(), 120 + 6144);
    }

    #[test]
    fn max_neurons_is_the_largest_that_fits() {
        let budget = 96 * 1024;
        for k in [1, 5, 120, 785, 2000, 11_000] {
            let n = max_neurons(budget, |n| layer_sram(n, k, 50, true));
            assert!(layer_sram(n, k, 50, true).data() <= budget, "k = {k}");
            assert!(layer_sram(n + 1, k, 50, true).data() > budget, "k = {k}");
        }
        // 784-2000 layers: 4 neurons of fan-in 2000 per PE.
        assert_eq!(max_neurons(budget, |n| layer_sram(n, 2000, 50, true)), 4);
        assert_eq!(max_neurons(budget, |n| layer_sram(n, 20_000, 50, true)), 0);
        assert_eq!(max_neurons(budget, |w| optimiser_sram(w, &ADAM)), (98_304 - 6144) / 16);
    }

    /// SHD's hidden layer: no neuron fits in SRAM mode; in DRAM mode its
    /// SRAM keeps row buffers and a window of 272 steps (delays up to 270).
    #[test]
    fn synapses_in_dram_move_weights_gradients_and_the_input_record() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/shd.snn")).unwrap();
        let net = crate::check_source("shd.snn", &text).unwrap();
        let hidden = net.populations().find(|(_, p)| p.name == "hidden").unwrap().0;
        let budget = 96 * 1024;
        let sram = |n| layer_memory(&net, hidden, n, true, Synapses::Sram).0;
        assert_eq!(max_neurons(budget, sram), 0);
        let one = sram(1);
        assert_eq!((one.weights, one.gradients, one.input_record), (29_024, 29_024, 4 * 29_875));
        let (s, d) = layer_memory(&net, hidden, 128, true, Synapses::Dram);
        assert_eq!((s.weights, s.gradients, s.row_buffers), (0, 0, 8 * 128 + 4));
        // 956 raw positions: rows of 30 words; 272 of them in SRAM, 1000 in DRAM.
        assert_eq!(input_row_words(956), 30);
        assert_eq!(s.input_record, 4 * 272 * 30);
        // The spike record: a spike of every neuron at each of steps 1 .. 999
        // in DRAM; one step's entries and the step index in SRAM.
        let spike_record = 12 * 999 * 128;
        let input_record = 4 * 1000 * 30;
        assert_eq!(d, Dram { weights: 4 * 128 * 7256, gradients: 4 * 128 * 7256, input_record, spike_record });
        assert_eq!(d.total(), 9_084_608);
        assert_eq!(s.spike_record, 12 * 128 + 4 * 1001);
        // Everything else is the SRAM mode's.
        let base = layer_sram_in(&net, hidden, 128, true);
        assert_eq!((s.state, s.regulariser), (base.state, base.regulariser));
        // Per neuron 56 bytes (row buffers 8, state 24 + 4 for the second
        // outgoing projection, regulariser 8, one step's entry 12) after
        // 42,792 (a row buffer's word, the window, the step index, the
        // receive buffers and the stack).
        assert_eq!(max_neurons(budget, |n| layer_memory(&net, hidden, n, true, Synapses::Dram).0), 991);
        // SRAM mode has no DRAM.
        assert_eq!(layer_memory(&net, hidden, 1, true, Synapses::Sram).1, Dram::default());
    }
}
