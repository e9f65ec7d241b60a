//! The YAML documents snnc writes, behind one module (serde-saphyr: pure
//! Rust and maintained; `serde_yaml` is archived and `serde_yml` carries an
//! unsoundness advisory).
//!
//! Input: a [`Mapped`] network. Output: a [`PlacementReport`] (its own serde
//! types with `deny_unknown_fields`; internal IR types are never serialized)
//! and its YAML text.
//!
//! The placement report: the machine; the mapping (training: the gradient
//! scheme and the modelled end-of-batch cycles of both); one summary per
//! population; one record per used PE (chip, QPE, PE, role, population,
//! neurons `[first, last]`, batch copy, SRAM bytes per category and free,
//! and for a slice whose synapses are in DRAM its DRAM bytes per category);
//! one record per slice with its key and mask per packet kind; every used
//! chip's routing table; totals (PEs, chips, router entries per chip, packets
//! and hops by kind, DRAM bytes per chip when any synapses are in DRAM). The `summary` form leaves out the per-PE, per-slice and
//! per-entry records (for networks of thousands of PEs).
//!
//! Invariant: the report is a pure function of the mapping; lists are in
//! slice, chip and key order, so the text is deterministic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_saphyr::FlowSeq;

use crate::ir::Mapped;
use crate::ir::cores::{PacketKind, Role};
use crate::network::{MachineSize, Mapping, ValidNetwork};
use crate::resources::{Dram, SPIKE_BUDGET, Sram, Synapses};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PlacementReport {
    pub network: String,
    pub machine: MachineReport,
    pub mapping: MappingReport,
    pub populations: Vec<PopulationReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pes: Option<Vec<PeReport>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slices: Option<Vec<SliceKeysReport>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<Vec<ChipTableReport>>,
    pub totals: Totals,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MachineReport {
    /// `chips = N` or `board = 48`.
    pub target: String,
    pub chips: u32,
    pub qpes_per_chip: u32,
    pub application_pes_per_chip: u32,
    pub reserved_qpes: Vec<FlowSeq<[u8; 2]>>,
    pub code_bytes_per_pe: u32,
    pub data_bytes_per_pe: u32,
    pub router_entries_per_chip: u32,
    pub clock_mhz: f64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MappingReport {
    /// `batch_parallel` or `single_copy`.
    pub mapping: String,
    pub layout: String,
    pub training: bool,
    pub batch_copies: u32,
    pub pes_per_copy: u32,
    pub optimiser_pes: u32,
    pub spike_budget_per_neuron: u64,
    /// Training: how the copies' gradients reach the optimiser PEs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gradients: Option<GradientsReport>,
}

/// The gradient scheme (`docs/machine.md`, "Gradient traffic") and the
/// modelled end-of-batch cycles of both schemes (`machine::ChipSpec::gradient_cycles`).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GradientsReport {
    /// `direct` or `chain`.
    pub scheme: String,
    /// `cost model`, `spec`, `routing tables` (the cheaper chain's routes
    /// did not fit), or `one copy` (nothing to chain).
    pub chosen_by: String,
    pub modelled_end_of_batch_cycles: GradientCyclesReport,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GradientCyclesReport {
    pub direct: u64,
    /// Absent with one copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<u64>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PopulationReport {
    pub name: String,
    pub size: u32,
    pub fan_in: u32,
    pub slices_per_copy: u32,
    pub max_neurons_per_pe: u32,
    pub max_data_bytes: u64,
    /// `dram` when its synapses live in DRAM (absent: SRAM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synapses: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_dram_bytes: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PeReport {
    pub chip: FlowSeq<[u8; 2]>,
    pub qpe: FlowSeq<[u8; 2]>,
    pub pe: u8,
    /// `qx << 5 | qy << 2 | pe`.
    pub pe_id: u8,
    pub role: String,
    pub population: String,
    /// First and last neuron (inclusive).
    pub neurons: FlowSeq<[u32; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_copy: Option<u32>,
    /// Optimiser PEs: the weights held, per population (first and last, inclusive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weights: Vec<WeightsReport>,
    pub sram: SramReport,
    /// Its private DRAM region, when its synapses are in DRAM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dram: Option<DramReport>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DramReport {
    pub weights: u64,
    pub gradients: u64,
    pub input_record: u64,
    pub spike_record: u64,
    pub total: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ChipDram {
    pub chip: FlowSeq<[u8; 2]>,
    /// PEs with synapses in DRAM.
    pub pes: usize,
    pub bytes: u64,
    pub free: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WeightsReport {
    pub population: String,
    pub range: FlowSeq<[u64; 2]>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SramReport {
    pub code: u64,
    pub weights: u64,
    pub gradients: u64,
    pub optimiser_state: u64,
    pub state: u64,
    pub spike_record: u64,
    pub input_record: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delay_ring: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub readout: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub regulariser: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub row_buffers: u64,
    pub receive_buffers: u64,
    pub stack: u64,
    pub data_used: u64,
    pub data_free: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SliceKeysReport {
    pub slice: usize,
    pub role: String,
    pub population: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_copy: Option<u32>,
    pub keys: Vec<KeyReport>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeyReport {
    pub kind: String,
    pub key: String,
    pub mask: String,
    /// Keys in use (`key | 0 .. key | keys-1`).
    pub keys: u64,
    pub target_pes: usize,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ChipTableReport {
    pub chip: FlowSeq<[u8; 2]>,
    pub entries: Vec<EntryReport>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EntryReport {
    pub key: String,
    pub mask: String,
    pub pes: FlowSeq<Vec<u8>>,
    pub links: FlowSeq<Vec<String>>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Totals {
    pub pes: usize,
    pub chips: usize,
    pub application_pes: u32,
    pub router_entries_before_merge: usize,
    pub router_entries: usize,
    pub max_router_entries_per_chip: usize,
    /// Entries of every chip that has any.
    pub router_entries_per_chip: Vec<ChipEntries>,
    /// Estimates at one spike per neuron and sample.
    pub packets_per_sample: BTreeMap<String, u64>,
    pub packets_per_batch_step: BTreeMap<String, u64>,
    pub hops_per_sample: BTreeMap<String, u64>,
    pub hops_per_batch_step: BTreeMap<String, u64>,
    /// DRAM used by synapses, per chip that holds any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dram_per_chip: Vec<ChipDram>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ChipEntries {
    pub chip: FlowSeq<[u8; 2]>,
    pub entries: usize,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn hex(v: u32) -> String {
    format!("{v:#010x}")
}

fn dram_report(d: &Dram) -> Option<DramReport> {
    (d.total() > 0).then_some(DramReport {
        weights: d.weights,
        gradients: d.gradients,
        input_record: d.input_record,
        spike_record: d.spike_record,
        total: d.total(),
    })
}

fn sram_report(s: &Sram, budget: u64) -> SramReport {
    SramReport {
        code: s.code,
        weights: s.weights,
        gradients: s.gradients,
        optimiser_state: s.optimiser_state,
        state: s.state,
        spike_record: s.spike_record,
        input_record: s.input_record,
        delay_ring: s.delay_ring,
        readout: s.readout,
        regulariser: s.regulariser,
        row_buffers: s.row_buffers,
        receive_buffers: s.receive_buffers,
        stack: s.stack,
        data_used: s.data(),
        data_free: budget.saturating_sub(s.data()),
    }
}

/// Builds the placement report; `summary` leaves out the per-PE, per-slice
/// and per-entry records.
pub fn placement_report(net: &ValidNetwork, m: &Mapped, summary: bool) -> PlacementReport {
    let (machine, g, p, r) = (&m.machine, &m.cores, &m.placement, &m.routing);
    let budget = u64::from(machine.spec.data_bytes);
    let coord = |c: crate::machine::ChipId| {
        let at = machine.chips[usize::from(c.0)];
        FlowSeq([at.x, at.y])
    };
    let pop_name = |i: usize| g.populations[i].name.clone();

    let populations = g
        .populations
        .iter()
        .enumerate()
        .map(|(i, info)| {
            let of: Vec<_> = g
                .copy_slices
                .first()
                .map(|c| {
                    g.slices[c.clone()].iter().filter(|s| s.population.index() == i && s.role != Role::Loss).collect()
                })
                .unwrap_or_default();
            PopulationReport {
                name: info.name.clone(),
                size: info.size,
                fan_in: info.fan_in,
                slices_per_copy: of.len() as u32,
                max_neurons_per_pe: of.iter().map(|s| s.neurons.end - s.neurons.start).max().unwrap_or(0),
                max_data_bytes: of.iter().map(|s| s.sram.data()).max().unwrap_or(0),
                synapses: of.iter().any(|s| s.synapses == Synapses::Dram).then(|| Synapses::Dram.name().to_string()),
                max_dram_bytes: of.iter().map(|s| s.dram.total()).max().unwrap_or(0),
            }
        })
        .collect();

    let pes = p
        .cores
        .iter()
        .map(|c| PeReport {
            chip: coord(c.pe.chip),
            qpe: FlowSeq([c.pe.qpe.x, c.pe.qpe.y]),
            pe: c.pe.pe,
            pe_id: c.pe.pe_id(),
            role: c.role.name().to_string(),
            population: pop_name(c.population.index()),
            neurons: FlowSeq([c.neurons.start, c.neurons.end.saturating_sub(1)]),
            batch_copy: c.batch_copy,
            weights: g.slices[c.slice]
                .weights
                .iter()
                .map(|w| WeightsReport {
                    population: pop_name(w.population.index()),
                    range: FlowSeq([w.range.start, w.range.end - 1]),
                })
                .collect(),
            sram: sram_report(&c.sram, budget),
            dram: dram_report(&c.dram),
        })
        .collect();

    let mut per_slice: BTreeMap<usize, Vec<KeyReport>> = BTreeMap::new();
    for f in &g.flows {
        let k = r.keys[&(f.source, f.kind)];
        per_slice.entry(f.source).or_default().push(KeyReport {
            kind: f.kind.name().to_string(),
            key: hex(k.key),
            mask: hex(k.mask),
            keys: f.keys,
            target_pes: f.targets.iter().map(|t| t.len()).sum(),
        });
    }
    let slices = per_slice
        .into_iter()
        .map(|(id, keys)| {
            let s = &g.slices[id];
            SliceKeysReport {
                slice: id,
                role: s.role.name().to_string(),
                population: pop_name(s.population.index()),
                batch_copy: s.batch_copy,
                keys,
            }
        })
        .collect();

    let routing = r
        .tables
        .chips
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.is_empty())
        .map(|(c, t)| ChipTableReport {
            chip: coord(crate::machine::ChipId(c as u16)),
            entries: t
                .iter()
                .map(|e| EntryReport {
                    key: hex(e.key),
                    mask: hex(e.mask),
                    pes: FlowSeq(e.route.pes.clone()),
                    links: FlowSeq(e.route.links.iter().map(|l| l.name().to_string()).collect()),
                })
                .collect(),
        })
        .collect();

    let by_kind = |per_sample: bool, hops: bool| -> BTreeMap<String, u64> {
        PacketKind::ALL
            .iter()
            .filter(|k| k.per_sample() == per_sample)
            .map(|k| {
                let t = r.traffic.get(k).copied().unwrap_or_default();
                (k.name().to_string(), if hops { t.hops } else { t.packets })
            })
            .collect()
    };
    let per_chip: Vec<ChipEntries> = r
        .tables
        .chips
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.is_empty())
        .map(|(c, t)| ChipEntries { chip: coord(crate::machine::ChipId(c as u16)), entries: t.len() })
        .collect();
    let totals = Totals {
        pes: p.cores.len(),
        chips: p.chips_used(),
        application_pes: machine.app_pe_count(),
        router_entries_before_merge: r.entries_before_merge,
        router_entries: r.tables.chips.iter().map(Vec::len).sum(),
        max_router_entries_per_chip: r.tables.chips.iter().map(Vec::len).max().unwrap_or(0),
        router_entries_per_chip: per_chip,
        packets_per_sample: by_kind(true, false),
        packets_per_batch_step: by_kind(false, false),
        hops_per_sample: by_kind(true, true),
        hops_per_batch_step: by_kind(false, true),
        dram_per_chip: dram_per_chip(m, &coord),
    };

    PlacementReport {
        network: net.name.clone(),
        machine: MachineReport {
            target: match machine.size {
                MachineSize::Chips(n) => format!("chips = {n}"),
                MachineSize::Board48 => "board = 48".to_string(),
            },
            chips: machine.chip_count() as u32,
            qpes_per_chip: machine.spec.qpes().len() as u32,
            application_pes_per_chip: machine.spec.app_pes_per_chip(),
            reserved_qpes: machine.spec.reserved_qpes.iter().map(|&(x, y)| FlowSeq([x, y])).collect(),
            code_bytes_per_pe: machine.spec.code_bytes,
            data_bytes_per_pe: machine.spec.data_bytes,
            router_entries_per_chip: machine.spec.router_entries as u32,
            clock_mhz: machine.clock_hz / 1e6,
        },
        mapping: MappingReport {
            mapping: match g.mapping {
                Mapping::BatchParallel => "batch_parallel",
                Mapping::SingleCopy => "single_copy",
            }
            .to_string(),
            layout: p.layout.name().to_string(),
            training: g.training,
            batch_copies: g.copies,
            pes_per_copy: g.copy_slices.first().map_or(0, |c| c.len() as u32),
            optimiser_pes: g.optimiser_slices.len() as u32,
            spike_budget_per_neuron: SPIKE_BUDGET,
            gradients: g.training.then(|| GradientsReport {
                scheme: if g.gradients.chain { "chain" } else { "direct" }.to_string(),
                chosen_by: match (g.gradients.chain_cycles, g.gradients.forced, g.gradients.chain_unroutable) {
                    (None, ..) => "one copy: nothing to chain",
                    (_, true, _) => "spec",
                    (_, false, false) => "cost model",
                    (_, false, true) => "routing tables (the chain's routes do not fit)",
                }
                .to_string(),
                modelled_end_of_batch_cycles: GradientCyclesReport {
                    direct: g.gradients.direct_cycles,
                    chain: g.gradients.chain_cycles,
                },
            }),
        },
        populations,
        pes: (!summary).then_some(pes),
        slices: (!summary).then_some(slices),
        routing: (!summary).then_some(routing),
        totals,
    }
}

/// The DRAM the PEs of each chip use for synapses, for the chips that hold any.
fn dram_per_chip(m: &Mapped, coord: &dyn Fn(crate::machine::ChipId) -> FlowSeq<[u8; 2]>) -> Vec<ChipDram> {
    let mut per: BTreeMap<u16, (usize, u64)> = BTreeMap::new();
    for c in m.placement.cores.iter().filter(|c| c.dram.total() > 0) {
        let e = per.entry(c.pe.chip.0).or_default();
        e.0 += 1;
        e.1 += c.dram.total();
    }
    per.into_iter()
        .map(|(chip, (pes, bytes))| ChipDram {
            chip: coord(crate::machine::ChipId(chip)),
            pes,
            bytes,
            free: m.machine.spec.dram_bytes.saturating_sub(bytes),
        })
        .collect()
}

/// The report as YAML text.
pub fn to_yaml(report: &PlacementReport) -> Result<String, serde_saphyr::SerializeError> {
    serde_saphyr::to_string(report)
}

/// Parses a report back (used by tests to hold the format to its types).
pub fn from_yaml(text: &str) -> Result<PlacementReport, serde_saphyr::Error> {
    serde_saphyr::from_str(text)
}
