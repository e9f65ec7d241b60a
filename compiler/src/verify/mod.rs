//! Invariant checker, run after every mapping pass (and in tests).
//!
//! Input: the outputs of the partitioner, the placer and the router.
//! Output: the list of broken invariants (empty when all hold). A violation
//! is a bug in snnc, never the user's fault.
//!
//! Checked, independently of how the passes computed their results:
//! - partition: in every copy the slices of a population cover its neurons
//!   exactly once; optimiser slices cover every trained population's weights
//!   exactly once; every slice fits the PE's data and code regions;
//! - placement: one PE per slice, no PE used twice, only application PEs;
//! - routing: flows' key ranges are disjoint and hold their keys; every table
//!   has at most 16,384 entries with prefix masks and disjoint ranges (so no
//!   key matches two entries); walking the tables from every flow's source
//!   chip with its key range reaches exactly the PEs of its target slices,
//!   never visits a chip twice (no loop, no duplicate), never arrives at a
//!   chip without a matching entry (no drop), never uses an absent link, and
//!   one entry covers the whole range on every chip; a split flow's parts
//!   (`Flow::parts`) are walked key block by key block, every key of a part
//!   reaching exactly its one target;
//! - a split gradient flow's parts are the slice's weights each optimiser
//!   holds, in order, covering all of them.

use std::collections::BTreeMap;

use crate::ir::cores::{CoreGraph, PacketKind, Role, SliceId};
use crate::ir::placement::Placement;
use crate::ir::program::buffers;
use crate::ir::routing::{KeyRange, Routing};
use crate::machine::{ChipId, Machine, PeAddr};

/// Broken invariants after one pass.
#[derive(Debug, Clone, PartialEq, thiserror::Error, miette::Diagnostic)]
#[error("internal error: {} invariant violation(s) after {pass}; first: {}", violations.len(), violations.first().map_or("", String::as_str))]
#[diagnostic(code(snn::verify::invariant), help("this is a bug in snnc, please report it with the .snn file"))]
pub struct Violations {
    pub pass: &'static str,
    pub violations: Vec<String>,
}

impl Violations {
    fn check(pass: &'static str, violations: Vec<String>) -> Result<(), Violations> {
        if violations.is_empty() { Ok(()) } else { Err(Violations { pass, violations }) }
    }
}

/// Slices cover populations and weights exactly; every slice fits a PE.
pub fn check_partition(g: &CoreGraph, m: &Machine) -> Result<(), Violations> {
    let mut v = Vec::new();
    for (c, copy) in g.copy_slices.iter().enumerate() {
        let mut next: BTreeMap<usize, u32> = BTreeMap::new();
        for s in &g.slices[copy.clone()] {
            if s.batch_copy != Some(c as u32) {
                v.push(format!("slice of copy {c} labelled {:?}", s.batch_copy));
            }
            if s.role == Role::Loss {
                continue;
            }
            let at = next.entry(s.population.index()).or_insert(0);
            if s.neurons.start != *at || s.neurons.end <= s.neurons.start {
                v.push(format!(
                    "copy {c}: population {} slice {:?} does not follow {at}",
                    s.population.index(),
                    s.neurons
                ));
            }
            *at = s.neurons.end;
        }
        for (i, p) in g.populations.iter().enumerate() {
            if next.get(&i).copied().unwrap_or(0) != p.size {
                v.push(format!("copy {c}: population `{}` covered up to {:?} of {}", p.name, next.get(&i), p.size));
            }
        }
    }
    if g.training {
        let mut next: BTreeMap<usize, u64> = BTreeMap::new();
        for s in &g.slices[g.optimiser_slices.clone()] {
            for w in &s.weights {
                let at = next.entry(w.population.index()).or_insert(0);
                if w.range.start != *at || w.range.end <= w.range.start {
                    v.push(format!(
                        "optimiser weights {:?} of population {} do not follow {at}",
                        w.range,
                        w.population.index()
                    ));
                }
                *at = w.range.end;
            }
        }
        for (i, p) in g.populations.iter().enumerate() {
            let want = u64::from(p.size) * u64::from(p.fan_in);
            if next.get(&i).copied().unwrap_or(0) != want {
                v.push(format!("optimiser covers {:?} of the {want} weights of `{}`", next.get(&i), p.name));
            }
        }
    }
    // The gradient chain: copy `c`'s gradients go to its twin slice in copy
    // `c + 1` (same population, same neurons), the last copy's to optimisers.
    let last = g.copies.saturating_sub(1);
    for f in g.flows.iter().filter(|f| f.kind == PacketKind::Gradient) {
        let src = &g.slices[f.source];
        let ok = match src.batch_copy {
            Some(c) if g.gradients.chain && c < last => {
                let twin = |t: SliceId| {
                    let s = &g.slices[t];
                    s.batch_copy == Some(c + 1) && s.population == src.population && s.neurons == src.neurons
                };
                f.target_ids().count() == 1 && f.target_ids().all(twin)
            }
            _ => f.target_ids().all(|t| g.slices[t].role == Role::Optimiser),
        };
        if !ok {
            v.push(format!("gradient flow of slice {} goes to {:?}", f.source, f.targets));
        }
        if !f.parts.is_empty() {
            // Part j: the weights its optimiser holds of the slice's.
            let k = u64::from(g.populations[src.population.index()].fan_in);
            let mine = u64::from(src.neurons.start) * k..u64::from(src.neurons.end) * k;
            let mut at = 0;
            for (indices, t) in &f.parts {
                let held = g.slices[*t].weights.iter().filter(|w| w.population == src.population).find_map(|w| {
                    let (lo, hi) = (w.range.start.max(mine.start), w.range.end.min(mine.end));
                    (lo < hi).then(|| lo - mine.start..hi - mine.start)
                });
                if indices.start != at || held.as_ref() != Some(indices) {
                    v.push(format!("gradient part {indices:?} of slice {} to slice {t} holding {held:?}", f.source));
                }
                at = indices.end;
            }
            if at != f.keys {
                v.push(format!("gradient parts of slice {} end at {at} of {}", f.source, f.keys));
            }
        }
    }
    for (id, s) in g.slices.iter().enumerate() {
        if s.sram.data() > u64::from(m.spec.data_bytes) {
            v.push(format!("slice {id} needs {} bytes of data, a PE has {}", s.sram.data(), m.spec.data_bytes));
        }
        if s.sram.code > u64::from(m.spec.code_bytes) {
            v.push(format!("slice {id} needs {} bytes of code, a PE has {}", s.sram.code, m.spec.code_bytes));
        }
    }
    Violations::check("partition", v)
}

/// One application PE per slice, no PE shared, SRAM within budget.
pub fn check_placement(g: &CoreGraph, m: &Machine, p: &Placement) -> Result<(), Violations> {
    let mut v = Vec::new();
    if p.cores.len() != g.slices.len() {
        v.push(format!("{} cores for {} slices", p.cores.len(), g.slices.len()));
    }
    let mut used: BTreeMap<PeAddr, usize> = BTreeMap::new();
    for (id, c) in p.cores.iter().enumerate() {
        if c.slice != id {
            v.push(format!("core {id} holds slice {}", c.slice));
        }
        if !m.is_app_pe(c.pe) {
            v.push(format!("slice {id} on {:?}, not an application PE", c.pe));
        }
        if let Some(other) = used.insert(c.pe, id) {
            v.push(format!("slices {other} and {id} share PE {:?}", c.pe));
        }
        if c.sram.data() > u64::from(m.spec.data_bytes) || c.sram.code > u64::from(m.spec.code_bytes) {
            v.push(format!("slice {id} is over the SRAM budget of its PE"));
        }
    }
    Violations::check("placement", v)
}

/// PEs as (chip, chip-local PE id).
type Pes = Vec<(ChipId, u8)>;

/// Walks the tables from `chip` with `key`: the PEs it reaches, sorted, and
/// the last key that every entry it matched also matches (the walk of every
/// key from `key` to there is the same). `visited` is all false, and left so.
fn walk_tables(m: &Machine, r: &Routing, chip: ChipId, key: u32, visited: &mut [bool]) -> Result<(Pes, u32), String> {
    let mut got = Vec::new();
    let mut last = u32::MAX;
    let mut stack = vec![chip];
    let mut seen = Vec::new();
    let mut result = Ok(());
    while let Some(chip) = stack.pop() {
        let Some(slot) = visited.get_mut(usize::from(chip.0)) else {
            result = Err(format!("reaches chip {chip:?} that does not exist"));
            break;
        };
        if *slot {
            result = Err(format!("reaches chip {chip:?} twice (loop or duplicate)"));
            break;
        }
        *slot = true;
        seen.push(chip);
        let Some(entry) = r.tables.lookup(chip, key) else {
            result = Err(format!("dropped at chip {chip:?}"));
            break;
        };
        last = last.min(entry.range().last());
        got.extend(entry.route.pes.iter().map(|&pe| (chip, pe)));
        for &l in &entry.route.links {
            match m.neighbour(chip, l) {
                Some(next) => stack.push(next),
                None => {
                    result = Err(format!("chip {chip:?} sends on absent link {l:?}"));
                    break;
                }
            }
        }
    }
    for c in seen {
        visited[usize::from(c.0)] = false;
    }
    got.sort_unstable();
    result.map(|()| (got, last))
}

/// Walks the tables from every flow's source; see the module doc.
pub fn check_routing(g: &CoreGraph, m: &Machine, p: &Placement, r: &Routing) -> Result<(), Violations> {
    let mut v = Vec::new();
    // Tables: size, prefix masks, disjoint sorted ranges.
    if r.tables.chips.len() != m.chip_count() {
        v.push(format!("{} tables for {} chips", r.tables.chips.len(), m.chip_count()));
    }
    for (c, table) in r.tables.chips.iter().enumerate() {
        if table.len() > m.spec.router_entries {
            v.push(format!("chip {c}: {} entries", table.len()));
        }
        for e in table {
            if e.mask.leading_ones() + e.mask.trailing_zeros() != 32 && e.mask != 0 || e.key & !e.mask != 0 {
                v.push(format!("chip {c}: entry {:#x}/{:#x} is not an aligned prefix", e.key, e.mask));
            }
        }
        for w in table.windows(2) {
            if w[0].range().last() >= w[1].key {
                v.push(format!("chip {c}: entries {:#x} and {:#x} overlap or are out of order", w[0].key, w[1].key));
            }
        }
    }
    // Flow key ranges: present, large enough, disjoint.
    let mut ranges: Vec<(KeyRange, usize)> = Vec::with_capacity(g.flows.len());
    for (f, flow) in g.flows.iter().enumerate() {
        match r.keys.get(&(flow.source, flow.kind)) {
            Some(&k) if k.size() >= flow.keys && k.key & !k.mask == 0 => ranges.push((k, f)),
            other => v.push(format!("flow {f} has key range {other:?} for {} keys", flow.keys)),
        }
    }
    ranges.sort_unstable();
    for w in ranges.windows(2) {
        if w[0].0.last() >= w[1].0.key {
            v.push(format!("key ranges of flows {} and {} overlap", w[0].1, w[1].1));
        }
    }
    // Walk every flow: a split one part by part, each part as long as the
    // entries a walk matched on every chip cover its keys.
    let mut visited = vec![false; m.chip_count()];
    'flows: for &(range, f) in &ranges {
        let flow = &g.flows[f];
        let pes = |ids: &mut dyn Iterator<Item = SliceId>| {
            let mut want: Pes = ids.map(|t| p.cores[t].pe).map(|pe| (pe.chip, pe.pe_id())).collect();
            want.sort_unstable();
            want
        };
        let segments: Vec<(std::ops::Range<u64>, Pes)> = if flow.parts.is_empty() {
            vec![(0..flow.keys.max(1), pes(&mut flow.target_ids()))]
        } else {
            flow.parts.iter().map(|(r, t)| (r.clone(), pes(&mut std::iter::once(*t)))).collect()
        };
        for (indices, want) in segments {
            let mut at = indices.start;
            while at < indices.end {
                let key = range.key | at as u32;
                let walk = walk_tables(m, r, p.cores[flow.source].pe.chip, key, &mut visited);
                let (got, last) = match walk {
                    Ok(w) => w,
                    Err(e) => {
                        v.push(format!("flow {f} ({:?}, key {key:#x}): {e}", flow.kind));
                        continue 'flows;
                    }
                };
                if flow.parts.is_empty() && last < range.last() {
                    v.push(format!("flow {f}: a chip splits key range {:#x}/{:#x}", range.key, range.mask));
                }
                if got != want {
                    let kind = flow.kind.name();
                    v.push(format!(
                        "flow {f} ({kind} from slice {}, key {key:#x}) reaches {got:?}, wants {want:?}",
                        flow.source
                    ));
                    continue 'flows;
                }
                at = u64::from(last - range.key) + 1;
            }
        }
        if v.len() > 100 {
            break;
        }
    }
    Violations::check("routing", v)
}

/// The lowered program as a whole, against its mapping:
/// - one core per slice, on the PE the placement gave it, running a
///   template of its role;
/// - every PE's initial data names buffers of its kernel and fits them, and
///   the kernel's buffers fit the PE's data region;
/// - every key a PE sends is the base key of one of its slice's flows (the
///   send slots of `tx`), so every packet it sends has a route (the routing
///   check walked every flow's key range);
/// - every receive-table entry (but padding) is the key range of a flow that
///   targets the slice, and every flow into the slice has its entry.
pub fn check_program(
    g: &CoreGraph,
    m: &Machine,
    p: &Placement,
    r: &Routing,
    program: &crate::ir::program::Program,
) -> Result<(), Violations> {
    use crate::ir::program::{SLOT_ERROR, SLOT_GRADIENT, SLOT_SPIKE, SLOT_WEIGHT};
    let mut v = Vec::new();
    if program.cores.len() != g.slices.len() {
        v.push(format!("{} cores for {} slices", program.cores.len(), g.slices.len()));
        return Violations::check("lowering", v);
    }
    let slot = |kind: PacketKind| match kind {
        PacketKind::Spike => SLOT_SPIKE,
        PacketKind::Error => SLOT_ERROR,
        PacketKind::Gradient => SLOT_GRADIENT,
        PacketKind::Weight => SLOT_WEIGHT,
    } as usize;
    let mut into: Vec<Vec<(u32, u32)>> = vec![Vec::new(); g.slices.len()];
    for flow in &g.flows {
        if let Some(k) = r.keys.get(&(flow.source, flow.kind)) {
            for t in flow.target_ids() {
                into[t].push((k.key, k.mask));
            }
        }
    }
    for (id, (core, slice)) in program.cores.iter().zip(&g.slices).enumerate() {
        if core.slice != id || core.pe != p.cores[id].pe || core.role != slice.role {
            v.push(format!("core {id}: slice {} on {:?} as {:?}", core.slice, core.pe, core.role));
        }
        let Some(kernel) = program.kernels.get(core.kernel) else {
            v.push(format!("core {id}: no template {}", core.kernel));
            continue;
        };
        let end = kernel.buffers_end();
        if end > u64::from(m.spec.data_bytes) {
            v.push(format!("core {id}: its buffers end at byte {end}, past the data region"));
        }
        for (name, words) in &core.data {
            match kernel.buffers.iter().find(|b| &b.name == name) {
                None => v.push(format!("core {id}: data for `{name}`, which template `{}` lacks", kernel.name)),
                Some(b) if words.len() as u64 > u64::from(b.len) => {
                    v.push(format!("core {id}: {} words for buffer `{name}` of {}", words.len(), b.len))
                }
                Some(_) => {}
            }
        }
        if core.dram.len() as u64 > u64::from(kernel.dram_words) {
            let (n, region) = (core.dram.len(), kernel.dram_words);
            v.push(format!("core {id}: {n} initial DRAM words for a private region of {region}"));
        }
        // Send keys: exactly the slice's flows' base keys.
        let tx = core.data.get(buffers::TX).cloned().unwrap_or_default();
        for kind in PacketKind::ALL {
            let want = r.keys.get(&(id, kind)).map_or(0, |k| k.key);
            if tx.get(slot(kind)).copied().unwrap_or(0) != want {
                v.push(format!(
                    "core {id}: send slot of {} packets holds {:?}, not {want:#x}",
                    kind.name(),
                    tx.get(slot(kind))
                ));
            }
        }
        // Receive table: the flows into the slice, sorted, then padding.
        let keys = core.data.get("rx_key").cloned().unwrap_or_default();
        let masks = core.data.get("rx_mask").cloned().unwrap_or_default();
        let mut have: Vec<(u32, u32)> = keys
            .iter()
            .zip(&masks)
            .filter(|(k, m)| !(**k == u32::MAX && **m == u32::MAX))
            .map(|(&k, &m)| (k, m))
            .collect();
        let mut want = into[id].clone();
        if !keys.windows(2).all(|w| w[0] <= w[1]) {
            v.push(format!("core {id}: receive table not sorted by key"));
        }
        have.sort_unstable();
        want.sort_unstable();
        if have != want {
            v.push(format!("core {id}: receive table {have:x?} does not match the flows into it {want:x?}"));
        }
    }
    Violations::check("lowering", v)
}
