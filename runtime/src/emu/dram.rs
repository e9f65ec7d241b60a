//! The chips' DRAM and the PEs' DMA transfers out of it: where event inputs
//! live (`snnc_compiler::lower::input_events`). The private DRAM regions of
//! kernels with DMA statements (`Kernel::dram_words`) are held per core by
//! the emulator's groups; here they only count against their chip's DRAM.
//!
//! Input: the loaded program (which cores are event-input PEs, on which
//! chip, for which inputs) and, per data split, its [`Encoded`] samples.
//! Output: per chip a DRAM image (32-bit words) holding, for every event
//! input slice placed on the chip, the split's event lists restricted to the
//! slice (one region per slice and chip: the copies of a slice on one chip
//! share it); per core the region it reads, with the per-sample offsets the
//! host keeps (CSR: sample `s`'s events are words `base + offsets[s] ..
//! base + offsets[s + 1]`); the DMA engine that completes a PE's pending
//! transfer before its forward tick.
//!
//! Invariants: a split whose event lists do not fit a chip's DRAM
//! (`SPINNAKER2.dram_bytes`) next to the private regions of the chip's PEs
//! is refused before anything is written, and so is a program whose private
//! regions alone do not fit ([`EmuError::DramFull`], with the sizes); a transfer outside the DRAM
//! written or outside the PE's data memory stops the run
//! ([`EmuError::Dma`]); DRAM is only written by the host, between runs.

use std::collections::HashMap;
use std::ops::Range;

use snnc_compiler::ir::program::buffers;
use snnc_compiler::kernel::Kernel;
use snnc_compiler::lower::Program;
use snnc_compiler::lower::input_events::{event_word, first_transfer, window_word};
use snnc_compiler::machine::Machine;
use snnc_compiler::partition::Role;

use super::EmuError;
use crate::data::encode::Encoded;

/// One event input slice's event lists in one chip's DRAM.
#[derive(Clone, Debug)]
struct Region {
    chip: usize,
    neurons: Range<u32>,
    /// First word of the region in the chip's DRAM.
    base: u32,
    /// Sample `s`'s events are `base + offsets[s] .. base + offsets[s + 1]`.
    offsets: Vec<u32>,
}

/// What a DMA transfer moved: from DRAM word address `src`, `words` words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transfer {
    pub src: u32,
    pub words: u32,
}

/// The host's writes that start a sample on an event-input PE: `(buffer,
/// words)`.
pub type SampleStart = [(&'static str, Vec<u32>); 4];

/// The DRAM of every chip and the event regions of the loaded split.
#[derive(Clone, Debug, Default)]
pub struct Dram {
    capacity_bytes: u64,
    /// Per chip, the bytes of its PEs' private DRAM regions.
    private_bytes: Vec<u64>,
    /// Per chip, its words (as many as the host wrote).
    chips: Vec<Vec<u32>>,
    /// Per program core: its region, for event-input PEs.
    core_region: Vec<Option<usize>>,
    regions: Vec<Region>,
    /// Samples of the split loaded last (`None`: none loaded yet).
    samples: Option<usize>,
}

/// Whether `kernel` is an event-input kernel (it has a DMA descriptor).
pub fn reads_dram(kernel: &Kernel) -> bool {
    kernel.buffer_named(buffers::DMA).is_some()
}

impl Dram {
    /// The regions of `program`: one per event input slice and chip; the
    /// private regions' bytes per chip, refused if they do not fit.
    pub fn new(program: &Program, machine: &Machine) -> Result<Dram, EmuError> {
        let mut private_bytes = vec![0u64; machine.chips.len()];
        for c in &program.cores {
            private_bytes[usize::from(c.pe.chip.0)] += 4 * u64::from(program.kernels[c.kernel].dram_words);
        }
        for (chip, &needed) in private_bytes.iter().enumerate() {
            if needed > machine.spec.dram_bytes {
                let c = machine.chips[chip];
                return Err(EmuError::DramFull {
                    x: c.x,
                    y: c.y,
                    needed,
                    capacity: machine.spec.dram_bytes,
                    samples: 0,
                    private: needed,
                });
            }
        }
        let mut regions: Vec<Region> = Vec::new();
        let mut index: HashMap<(usize, u32, u32), usize> = HashMap::new();
        let mut core_region = vec![None; program.cores.len()];
        for (i, c) in program.cores.iter().enumerate() {
            if c.role != Role::Input || !reads_dram(&program.kernels[c.kernel]) {
                continue;
            }
            let chip = usize::from(c.pe.chip.0);
            let key = (chip, c.neurons.start, c.neurons.end);
            let r = *index.entry(key).or_insert_with(|| {
                regions.push(Region { chip, neurons: c.neurons.clone(), base: 0, offsets: Vec::new() });
                regions.len() - 1
            });
            core_region[i] = Some(r);
        }
        Ok(Dram {
            capacity_bytes: machine.spec.dram_bytes,
            private_bytes,
            chips: vec![Vec::new(); machine.chips.len()],
            core_region,
            regions,
            samples: None,
        })
    }

    /// Whether any PE reads DRAM.
    pub fn used(&self) -> bool {
        !self.regions.is_empty()
    }

    /// Writes `data`'s event lists into every chip's DRAM (replacing what
    /// was there); returns the bytes written. Refuses a split that does not
    /// fit a chip, naming the chip, the bytes needed and the capacity.
    pub fn load(&mut self, data: &Encoded, machine: &Machine) -> Result<u64, EmuError> {
        if !self.used() {
            return Ok(0);
        }
        // Sizes first: nothing is written for a split that does not fit.
        let counts: Vec<Vec<u32>> = self
            .regions
            .iter()
            .map(|region| {
                (0..data.len())
                    .map(|s| data.events(s).iter().filter(|(_, i)| region.neurons.contains(i)).count() as u32)
                    .collect()
            })
            .collect();
        let mut words = vec![0u64; self.chips.len()];
        for (r, region) in self.regions.iter().enumerate() {
            words[region.chip] += counts[r].iter().map(|&c| u64::from(c)).sum::<u64>();
        }
        for (chip, &w) in words.iter().enumerate() {
            let needed = 4 * w + self.private_bytes[chip];
            if needed > self.capacity_bytes {
                let c = machine.chips[chip];
                return Err(EmuError::DramFull {
                    x: c.x,
                    y: c.y,
                    needed,
                    capacity: self.capacity_bytes,
                    samples: data.len(),
                    private: self.private_bytes[chip],
                });
            }
        }
        for chip in &mut self.chips {
            chip.clear();
        }
        for (r, region) in self.regions.iter_mut().enumerate() {
            let dram = &mut self.chips[region.chip];
            region.base = dram.len() as u32;
            region.offsets.clear();
            region.offsets.push(0);
            let mut at = 0u32;
            for (s, &count) in counts[r].iter().enumerate() {
                dram.extend(
                    data.events(s)
                        .iter()
                        .filter(|(_, i)| region.neurons.contains(i))
                        .map(|(step, i)| event_word(step, i - region.neurons.start)),
                );
                at += count;
                region.offsets.push(at);
            }
        }
        self.samples = Some(data.len());
        Ok(4 * words.iter().sum::<u64>())
    }

    /// The words the host writes into event-input core `core` to start
    /// sample `sample`: `(buffer, words)` for `ev_next`, `ev_left`, `ev_have`
    /// and `dma` (the first transfer pending). `None` for other cores.
    pub fn sample_start(&self, core: usize, kernel: &Kernel, sample: usize) -> Result<Option<SampleStart>, EmuError> {
        let Some(r) = self.core_region[core] else {
            return Ok(None);
        };
        let loaded = self.samples.unwrap_or(0);
        if sample >= loaded {
            return Err(EmuError::NoInputData { sample, loaded });
        }
        let region = &self.regions[r];
        let (from, to) = (region.offsets[sample], region.offsets[sample + 1]);
        let (_, win) = kernel
            .buffer_named(buffers::EV_WIN)
            .ok_or_else(|| EmuError::MissingBuffer { kernel: kernel.name.clone(), buffer: buffers::EV_WIN.into() })?;
        let first = window_word(kernel).unwrap_or(0);
        let (next, left, have, dma) = first_transfer(region.base + from, to - from, win.len, first);
        Ok(Some([
            (buffers::EV_NEXT, vec![next]),
            (buffers::EV_LEFT, vec![left]),
            (buffers::EV_HAVE, vec![have]),
            (buffers::DMA, dma.to_vec()),
        ]))
    }

    /// Completes core `core`'s pending transfer (its `dma` descriptor at
    /// data-memory word `descriptor` of `mem`), if any: copies the words,
    /// marks it done, returns what it moved.
    pub fn service(
        &self,
        core: usize,
        chip: usize,
        descriptor: usize,
        mem: &mut [u32],
    ) -> Result<Option<Transfer>, EmuError> {
        if self.core_region[core].is_none() {
            return Ok(None);
        }
        let [src, dst, words] = [mem[descriptor], mem[descriptor + 1], mem[descriptor + 2]];
        if words == 0 {
            return Ok(None);
        }
        let dram = &self.chips[chip];
        let from = src as usize..src as usize + words as usize;
        let to = dst as usize..dst as usize + words as usize;
        if from.end > dram.len() || to.end > mem.len() {
            return Err(EmuError::Dma { src, dst, words, dram_words: dram.len(), memory_words: mem.len() });
        }
        mem[to].copy_from_slice(&dram[from]);
        mem[descriptor + 2] = 0;
        Ok(Some(Transfer { src, words }))
    }

    /// The words of transfer `t` on chip `chip` (for the trace).
    pub fn words(&self, chip: usize, t: Transfer) -> &[u32] {
        &self.chips[chip][t.src as usize..(t.src + t.words) as usize]
    }
}
