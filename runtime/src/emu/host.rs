//! The host's reads and writes of PE memories between runs: trained
//! weights and optimiser state on the optimiser PEs, spike records and
//! per-layer buffers on the layer PEs.

use snnc_compiler::ir::program::buffers;
use snnc_compiler::partition::Role;

use super::{EmuError, Emulator, buffer};

impl Emulator {
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
                    let post = (number
                        / u64::from(
                            sh.program.projections.iter().find(|p| p.post == part.population).map_or(1, |p| p.fan_in),
                        )) as u32;
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
    pub fn layer_spikes(
        &mut self,
        copy: u32,
        population: petgraph::graph::NodeIndex,
    ) -> Result<Vec<(u32, u32)>, EmuError> {
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
            let len = buffer(k, &mut g.mem[l], buffers::REC_LEN)?[0] as usize;
            // With synapses in DRAM the sample's log is in the region.
            let keys = if k.dram_words > 0 {
                let (base, _) = snnc_compiler::lower::dram_spike_record(k.dram_words, n, sh.program.steps);
                &g.dram[l][base as usize..]
            } else {
                buffer(k, &mut g.mem[l], buffers::REC_KEY)?
            };
            out.extend(keys[..len].iter().map(|&key| (key / n, c.neurons.start + key % n)));
        }
        out.sort_unstable();
        Ok(out)
    }

    /// A `[position][neuron]` buffer of the layer `population` in `copy`
    /// (`grad`, `weights`), as raw words, gathered from the population's
    /// slices (each holds `[position][its neurons]`, in SRAM or, with its
    /// synapses in DRAM, as the first (`weights`) or second (`grad`) `k n`
    /// words of its private DRAM region).
    pub fn layer_buffer(
        &mut self,
        copy: u32,
        population: petgraph::graph::NodeIndex,
        name: &str,
    ) -> Result<Vec<u32>, EmuError> {
        let sh = &self.shared;
        let g = &mut self.groups[copy as usize];
        let fan_in = sh.program.projections.iter().find(|p| p.post == population).map_or(0, |p| p.fan_in as usize);
        let mut parts = Vec::new();
        for l in 0..g.cores.len() {
            let c = &sh.program.cores[g.cores[l]];
            if c.role == Role::Layer && c.population == population {
                let kernel = sh.kernel(g.cores[l]).kernel();
                let kn = fan_in * (c.neurons.end - c.neurons.start) as usize;
                let in_dram = |at: usize| (kernel.buffer_named(name).is_none() && kernel.dram_words > 0).then_some(at);
                let dram = match name {
                    buffers::WEIGHTS => in_dram(0),
                    buffers::GRAD => in_dram(kn),
                    _ => None,
                };
                let words = match dram {
                    Some(at) => g.dram[l][at..at + kn].to_vec(),
                    None => buffer(kernel, &mut g.mem[l], name)?.to_vec(),
                };
                parts.push((c.neurons.clone(), words));
            }
        }
        let missing = || EmuError::MissingBuffer { kernel: format!("layer of copy {copy}"), buffer: name.to_string() };
        let size = parts.iter().map(|(r, _)| r.end).max().ok_or_else(missing)? as usize;
        let (r0, w0) = &parts[0];
        let k = w0.len() / (r0.end - r0.start) as usize;
        let mut out = vec![0u32; k * size];
        for (r, words) in &parts {
            let n = (r.end - r.start) as usize;
            for pos in 0..k {
                out[pos * size + r.start as usize..][..n].copy_from_slice(&words[pos * n..][..n]);
            }
        }
        Ok(out)
    }
}
