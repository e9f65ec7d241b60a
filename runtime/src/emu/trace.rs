//! Per-PE event traces of an emulator run: what every PE was given and what
//! it sent, in order, so that its firmware can be replayed on its own.
//!
//! Input: the emulator's hooks, when a run is traced
//! ([`super::Emulator::new_traced`]): every entry-point call of a PE (with the
//! packets it sent), every host write into the PE's data memory, and the
//! DRAM words each DMA transfer of the PE read.
//! Output: one [`PeTrace`] per PE (program core order); with the PE's initial
//! data memory (`CoreProgram::data`) and its final memory
//! ([`super::Emulator::memory`]), and for a PE with a private DRAM region
//! the region as `init` found it ([`PeTrace::region`]) and as the run left
//! it ([`super::Emulator::dram_region`]), it is a complete record of the
//! PE's run (the region is the PE's alone, like its data memory).
//!
//! Why replaying every PE proves the whole machine: a PE's kernel reads and
//! writes only its own memory (the emulator's invariant), so what it sends
//! and the memory it ends with are a function of its initial memory and of
//! the sequence of events it handles (calls and host writes, in order).
//! Firmware that, given the same initial memory and the same event
//! sequence, sends the same packets in the same order and ends with the same
//! memory as the emulator's kernel, for every PE, runs the whole machine
//! identically: by induction over the machine's deterministic event order
//! (the emulator's timeline: inboxes drained sorted by key and payload
//! before each tick), the `n`-th event delivered to any PE is built only
//! from packets sent at earlier events and from host writes, which agree by
//! the induction hypothesis, so the `n`-th event agrees too, and with it what
//! that PE sends and writes. The base case is the initial memories (the same
//! data headers) and `init`.
//!
//! Invariant: a trace's first event is the `Init` call; events are in the
//! order the PE handled them; a write's word lies inside the kernel's data
//! memory.

use snnc_compiler::kernel::{Invocation, Packet};

/// One thing that happened to a PE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeEvent {
    /// An entry point ran (a received packet as `Invocation::Packet`, its
    /// payload 0 when it had none) and sent `sent`, in order.
    Call { call: Invocation, sent: Vec<Packet> },
    /// The host wrote `value` into word `word` of the PE's data memory
    /// (between calls: a sample's `spike_step` and `label`, the optimiser's
    /// `hyper`).
    Write { word: u32, value: u32 },
    /// Word `addr` of the chip's DRAM holds `value`: what the PE's next DMA
    /// transfer reads (recorded before the forward tick it completes
    /// before, one event per word, in address order).
    Dram { addr: u32, value: u32 },
}

/// The events of one PE, in the order it handled them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeTrace {
    pub events: Vec<PeEvent>,
    /// The PE's private DRAM region when `init` ran (empty without one).
    pub region: Vec<u32>,
}

impl PeTrace {
    /// Records a call and what it sent.
    pub fn call(&mut self, call: Invocation, sent: &[Packet]) {
        self.events.push(PeEvent::Call { call, sent: sent.to_vec() });
    }

    /// Records a host write of `words` starting at data-memory word `first`.
    pub fn write(&mut self, first: u32, words: &[u32]) {
        for (i, &value) in words.iter().enumerate() {
            self.events.push(PeEvent::Write { word: first + i as u32, value });
        }
    }

    /// Records the DRAM words a DMA transfer read from word `first` on.
    pub fn dram(&mut self, first: u32, words: &[u32]) {
        for (i, &value) in words.iter().enumerate() {
            self.events.push(PeEvent::Dram { addr: first + i as u32, value });
        }
    }

    /// The number of calls (`Init` included).
    pub fn calls(&self) -> usize {
        self.events.iter().filter(|e| matches!(e, PeEvent::Call { .. })).count()
    }

    /// The number of packets sent.
    pub fn sent(&self) -> usize {
        self.events
            .iter()
            .map(|e| match e {
                PeEvent::Call { sent, .. } => sent.len(),
                PeEvent::Write { .. } | PeEvent::Dram { .. } => 0,
            })
            .sum()
    }
}
