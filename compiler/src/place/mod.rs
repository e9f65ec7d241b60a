//! Placer: [`CoreGraph`] + [`Machine`] -> [`Placement`] (slice -> PE).
//!
//! Deterministic: the machine's application PEs are taken in placement order
//! (chips row-major, QPEs in a serpentine, PEs 0..3; see [`crate::machine`]),
//! and slices in id order (copy 0 in topological order with its loss last,
//! copy 1, ..., then the optimiser slices), so connected slices land in the
//! same QPE, then on neighbouring QPEs, then on the same or a nearby chip.
//!
//! Layouts, the first that fits is used:
//! 1. `qpe`: a copy of at most 4 slices gets a QPE of its own (the seed
//!    paper's layout: one sample per QPE, copies side by side);
//! 2. `chip`: a copy of at most one chip's PEs never straddles two chips;
//! 3. `packed`: copies one after the other in PE order.
//!
//! The optimiser slices follow the last copy. With `mapping = single_copy`
//! the core graph holds one copy and the same rules apply.
//!
//! Output invariants: every slice has exactly one PE; no two slices share a
//! PE; every PE is an application PE of the machine (never reserved).
//! A network that does not fit fails with [`PlaceError::DoesNotFit`], which
//! names the population whose slice found no PE, what was placed before,
//! and what would make it fit; one whose PEs' DRAM regions (synapses in
//! DRAM) exceed a chip's DRAM fails with [`PlaceError::DramFull`].

use crate::ir::cores::{CoreGraph, Role, SliceId};
pub use crate::ir::placement::{Layout, PlacedCore, Placement};
use crate::machine::Machine;
use crate::network::Mapping;

/// The network needs more PEs than the machine has.
#[derive(Debug, Clone, PartialEq, thiserror::Error, miette::Diagnostic)]
pub enum PlaceError {
    #[error("population `{population}` does not fit: no free PE for its {what}")]
    #[diagnostic(code(snn::place::does_not_fit))]
    DoesNotFit {
        population: String,
        what: String,
        #[label("this population")]
        span: miette::SourceSpan,
        #[help]
        help: String,
    },
    #[error(
        "chip ({x}, {y}) does not hold its PEs' synapses: {pes} PEs with synapses in DRAM need {needed} bytes, a chip has {budget}"
    )]
    #[diagnostic(
        code(snn::place::dram_full),
        help(
            "the largest region is `{population}`'s, {largest} bytes: use fewer neurons per PE (`neurons_per_core`), more chips, or a smaller fan-in"
        )
    )]
    DramFull {
        x: u8,
        y: u8,
        pes: usize,
        needed: u64,
        budget: u64,
        population: String,
        largest: u64,
        #[label("this population")]
        span: miette::SourceSpan,
    },
}

/// PE positions (indices into the machine's PE order) of every slice for one layout.
fn positions(g: &CoreGraph, m: &Machine, layout: Layout) -> Vec<u64> {
    let per_qpe = u64::from(m.spec.pes_per_qpe);
    let per_chip = u64::from(m.spec.app_pes_per_chip());
    let mut out = vec![0; g.slices.len()];
    let mut at = 0u64;
    for copy in &g.copy_slices {
        let p = copy.len() as u64;
        match layout {
            Layout::Qpe => at = at.div_ceil(per_qpe) * per_qpe,
            Layout::Chip if p <= per_chip && at % per_chip + p > per_chip => at = at.div_ceil(per_chip) * per_chip,
            _ => {}
        }
        for id in copy.clone() {
            out[id] = at;
            at += 1;
        }
    }
    if layout == Layout::Qpe {
        at = at.div_ceil(per_qpe) * per_qpe;
    }
    for id in g.optimiser_slices.clone() {
        out[id] = at;
        at += 1;
    }
    out
}

/// Places every slice on a PE.
pub fn place(g: &CoreGraph, m: &Machine) -> Result<Placement, PlaceError> {
    let total = u64::from(m.app_pe_count());
    let per_copy = g.copy_slices.first().map_or(0, |r| r.len());
    let mut layouts = Vec::new();
    if per_copy <= usize::from(m.spec.pes_per_qpe) {
        layouts.push(Layout::Qpe);
    }
    if per_copy <= m.spec.app_pes_per_chip() as usize {
        layouts.push(Layout::Chip);
    }
    layouts.push(Layout::Packed);
    for &layout in &layouts {
        let pos = positions(g, m, layout);
        if pos.iter().all(|&p| p < total) {
            let cores = g
                .slices
                .iter()
                .enumerate()
                .map(|(id, s)| PlacedCore {
                    slice: id,
                    pe: m.app_pe(pos[id] as u32).expect("position checked against the PE count"),
                    role: s.role,
                    population: s.population,
                    neurons: s.neurons.clone(),
                    batch_copy: s.batch_copy,
                    sram: s.sram,
                    dram: s.dram,
                })
                .collect();
            let placement = Placement { layout, cores };
            check_dram(g, m, &placement)?;
            return Ok(placement);
        }
    }
    Err(does_not_fit(g, m, &positions(g, m, Layout::Packed), total))
}

/// Every chip's DRAM holds the regions of its PEs.
fn check_dram(g: &CoreGraph, m: &Machine, p: &Placement) -> Result<(), PlaceError> {
    let mut per_chip: std::collections::BTreeMap<u16, Vec<&PlacedCore>> = std::collections::BTreeMap::new();
    for c in p.cores.iter().filter(|c| c.dram.total() > 0) {
        per_chip.entry(c.pe.chip.0).or_default().push(c);
    }
    for (chip, cores) in per_chip {
        let needed: u64 = cores.iter().map(|c| c.dram.total()).sum();
        if needed > m.spec.dram_bytes {
            let big = cores.iter().max_by_key(|c| c.dram.total()).expect("a chip with DRAM regions");
            let pop = &g.populations[big.population.index()];
            let at = m.chips[usize::from(chip)];
            return Err(PlaceError::DramFull {
                x: at.x,
                y: at.y,
                pes: cores.len(),
                needed,
                budget: m.spec.dram_bytes,
                population: pop.name.clone(),
                largest: big.dram.total(),
                span: pop.span,
            });
        }
    }
    Ok(())
}

fn does_not_fit(g: &CoreGraph, m: &Machine, pos: &[u64], total: u64) -> PlaceError {
    let failed = pos.iter().position(|&p| p >= total).unwrap_or(0);
    let s = &g.slices[failed];
    let pop = &g.populations[s.population.index()];
    let per_copy = g.copy_slices.first().map_or(0, |r| r.len()) as u64;
    let opt = g.optimiser_slices.len() as u64;
    let copies = u64::from(g.copies);
    let need = per_copy * copies + opt;
    let of_population: Vec<SliceId> = match s.batch_copy {
        Some(c) => g.copy_slices[c as usize]
            .clone()
            .filter(|&i| g.slices[i].population == s.population && g.slices[i].role == s.role)
            .collect(),
        None => g.optimiser_slices.clone().collect(),
    };
    let index = of_population.iter().position(|&i| i == failed).unwrap_or(0) + 1;
    let what = match (s.role, s.batch_copy) {
        (Role::Optimiser, _) => format!("optimiser slice {index} of {}", of_population.len()),
        (Role::Loss, Some(c)) => format!("loss program in batch copy {} of {copies}", c + 1),
        (_, Some(c)) => format!("slice {index} of {} in batch copy {} of {copies}", of_population.len(), c + 1),
        (_, None) => format!("slice {index} of {}", of_population.len()),
    };
    let complete = s.batch_copy.map_or(copies, u64::from);
    let mut help = format!(
        "placed before it failed: {complete} complete batch cop{} of {per_copy} PEs{}; ",
        if complete == 1 { "y" } else { "ies" },
        if s.batch_copy.is_some() {
            format!(", then {} slices of the next", failed - g.copy_slices[complete as usize].start)
        } else {
            String::new()
        },
    );
    help += &format!(
        "this network needs {copies} x {per_copy} PEs + {opt} optimiser PE{} = {need} PEs, the machine has {total} ({} chip{} x {} PEs). ",
        if opt == 1 { "" } else { "s" },
        m.chip_count(),
        if m.chip_count() == 1 { "" } else { "s" },
        m.spec.app_pes_per_chip(),
    );
    let mut fixes = Vec::new();
    let max_batch = total.saturating_sub(opt) / per_copy.max(1);
    if g.mapping == Mapping::BatchParallel && copies > 1 && max_batch >= 1 {
        fixes.push(format!("a batch of at most {max_batch}"));
    }
    if g.mapping == Mapping::BatchParallel && copies > 1 && per_copy + opt <= total {
        fixes.push(format!("`mapping = single_copy` ({} PEs)", per_copy + opt));
    }
    let per_chip = u64::from(m.spec.app_pes_per_chip());
    let chips_needed = need.div_ceil(per_chip);
    if chips_needed <= u64::from(m.spec.board_chips) {
        fixes.push(format!("`chips = {chips_needed}` or more"));
    }
    if fixes.is_empty() {
        help += "It does not fit one 48-chip board even as a single copy: make the populations smaller";
    } else {
        help += &format!("It would fit with {}", fixes.join(", or "));
    }
    PlaceError::DoesNotFit { population: pop.name.clone(), what, span: pop.span, help }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{MachineSize, TargetSpec, yinyang_network};
    use crate::partition::partition;

    fn placed(net: &crate::network::ValidNetwork) -> Result<(CoreGraph, Placement), PlaceError> {
        let m = Machine::from_target(&net.target).unwrap();
        let g = partition(net, &m).unwrap();
        place(&g, &m).map(|p| (g, p))
    }

    #[test]
    fn yinyang_takes_one_qpe_per_copy_and_one_optimiser_pe() {
        let (g, p) = placed(&yinyang_network(120)).unwrap();
        assert_eq!(p.layout, Layout::Qpe);
        assert_eq!(p.chips_used(), 1);
        for c in 0..22 {
            let qpes: Vec<_> = g.copy_slices[c].clone().map(|i| p.cores[i].pe.qpe).collect();
            assert!(qpes.iter().all(|&q| q == qpes[0]), "copy {c} in one QPE");
        }
        let opt = &p.cores[88];
        assert_eq!(opt.role, Role::Optimiser);
        assert_eq!(p.cores.len(), 22 * 4 + 1);
    }

    #[test]
    fn a_batch_too_large_for_a_chip_names_what_would_fit() {
        let mut net = yinyang_network(120);
        net.train.as_mut().unwrap().batch = 40;
        // 40 x 4 + 1 = 161 PEs > 148.
        let err = placed(&net).unwrap_err();
        let PlaceError::DoesNotFit { population, what, help, .. } = err else { panic!("{err:?}") };
        assert_eq!(population, "input");
        assert_eq!(what, "slice 1 of 1 in batch copy 38 of 40");
        assert!(help.contains("a batch of at most 36"), "{help}");
        assert!(help.contains("`chips = 2` or more"), "{help}");
        net.target = TargetSpec { machine: MachineSize::Chips(2), ..net.target.clone() };
        let (_, p) = placed(&net).unwrap();
        assert_eq!(p.chips_used(), 2);
    }

    /// A chip whose PEs' DRAM regions exceed its 2 GiB is refused, naming
    /// the chip, the sizes and the largest region's population.
    #[test]
    fn dram_regions_must_fit_the_chip() {
        let net = yinyang_network(120);
        let m = Machine::from_target(&net.target).unwrap();
        let mut g = crate::partition::partition(&net, &m).unwrap();
        let gib = 1u64 << 30;
        g.slices[1].dram.weights = gib;
        g.slices[5].dram.weights = gib;
        assert!(place(&g, &m).is_ok(), "exactly 2 GiB fit");
        g.slices[5].dram.gradients = 4;
        let err = place(&g, &m).unwrap_err();
        let PlaceError::DramFull { x, y, pes, needed, budget, population, largest, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!((x, y, pes, needed, budget), (0, 0, 2, 2 * gib + 4, 2 * gib));
        assert_eq!((population.as_str(), largest), ("hidden", gib + 4));
    }
}
