//! Router: [`CoreGraph`] + [`Placement`] + [`Machine`] -> keys and routing tables.
//!
//! Key layout. Every flow (source slice, packet kind) gets a key range
//! `[key, key | !mask]` with a prefix mask, aligned to its size, so one
//! key/mask entry covers it; the packet for index `i` (see
//! [`crate::partition`]: neuron, fan-in position or weight) has key `key | i`.
//! Ranges are allocated per *group*: the flows of one kind from the slices of
//! one population in one batch copy (or from the copy's loss slice, or from
//! all optimiser slices). A group of `s` slices whose largest slice needs `n`
//! keys is a block of `next_pow2(s) << ceil_log2(n)` keys; slice `j` of the
//! group has `key = block_base + (j << ceil_log2(n))`. Blocks are sorted by
//! size (largest first, then by kind, role, population, copy, so that
//! the blocks of one population's copies sit side by side) and laid out from
//! key 0, so each is aligned to its size. Every batch copy has its own keys:
//! copies are independent. The whole layout must fit 32 bits.
//!
//! Routes. A packet enters the router of its source's chip; each chip router
//! holds at most 16,384 entries, first match wins. A flow's multicast tree is
//! the union of the breadth-first shortest paths (over the chip links, links
//! tried in E, NE, N, W, SW, S order) from the source chip to every chip with
//! a destination; each chip of the tree gets one entry: its destination PEs
//! (chip-local PE ids) and the links to its children. A split flow
//! ([`crate::ir::cores::Flow::parts`]: a layer slice's gradients, each optimiser PE receiving
//! only those of the weights it holds) is routed part by part: each part's
//! indices, as the largest aligned key blocks covering them, get their own
//! tree to their one target (the last part's blocks may cover the range's
//! keys past the flow's last key: no packet carries them).
//!
//! Merging. On each chip, two entries with the same route whose ranges are
//! the two halves of an aligned block of twice their size become one entry
//! (repeatedly), so a merged entry matches exactly the keys of the entries it
//! replaces: no key is ever matched by two entries, and table order does not
//! matter (tables are sorted by key).
//!
//! Traffic. Hops per packet: chip-to-chip links of the tree plus on-chip mesh
//! hops (x-then-y routes from the source QPE, or from the router at QPE
//! position (4,3) on other chips, to each destination QPE and to the router
//! when the packet leaves the chip; shared edges count once).
//!
//! Invariants: ranges of distinct flows are disjoint; every table is sorted
//! by key with disjoint prefix-mask entries and at most 16,384 of them.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::rc::Rc;

use crate::ir::cores::{CoreGraph, PacketKind, Role, SliceId, aligned_blocks};
use crate::ir::placement::Placement;
pub use crate::ir::routing::{KeyRange, KindTraffic, Route, Routing, RoutingEntry, RoutingTables};
use crate::machine::{ChipId, Link, Machine, PeAddr, mesh_route_edges};

/// Routing that cannot be done on this machine.
#[derive(Debug, Clone, PartialEq, thiserror::Error, miette::Diagnostic)]
pub enum RouteError {
    #[error("the router of chip ({x}, {y}) needs {entries} entries, it has {limit}")]
    #[diagnostic(
        code(snn::route::table_full),
        help(
            "most of its entries ({most}) route packets of population `{population}`; spread the network over more chips (`chips = N`), or use fewer batch copies"
        )
    )]
    TableFull {
        x: u8,
        y: u8,
        entries: usize,
        limit: usize,
        population: String,
        most: usize,
        #[label("population `{population}`")]
        span: miette::SourceSpan,
    },
    #[error("the routing keys of this network do not fit 32 bits: it needs {needed} keys")]
    #[diagnostic(
        code(snn::route::key_space),
        help("every batch copy and every slice has its own key range; use fewer batch copies or smaller populations")
    )]
    KeySpace {
        needed: u64,
        #[label("on this target")]
        span: miette::SourceSpan,
    },
}

/// A group of flows sharing one key block.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct GroupKey {
    kind: PacketKind,
    role: Role,
    population: usize,
    copy: u32,
}

/// A key block: its base, its size, the flows in it, the bits of their index.
struct Block {
    base: u64,
    index_bits: u32,
    population: usize,
    flows: Vec<usize>,
}

fn ceil_log2(n: u64) -> u32 {
    if n <= 1 { 0 } else { 64 - (n - 1).leading_zeros() }
}

/// Allocates the key range of every flow (see the module doc).
fn allocate_keys(g: &CoreGraph) -> Result<(Vec<KeyRange>, Vec<Block>), RouteError> {
    let mut groups: BTreeMap<GroupKey, Vec<usize>> = BTreeMap::new();
    for (i, f) in g.flows.iter().enumerate() {
        let s = &g.slices[f.source];
        let key = GroupKey {
            kind: f.kind,
            copy: s.batch_copy.unwrap_or(u32::MAX),
            role: s.role,
            population: if s.role == Role::Optimiser { 0 } else { s.population.index() },
        };
        groups.entry(key).or_default().push(i);
    }
    let mut blocks: Vec<(u64, GroupKey, u32, Vec<usize>)> = groups
        .into_iter()
        .map(|(k, flows)| {
            let bits = ceil_log2(flows.iter().map(|&f| g.flows[f].keys).max().unwrap_or(1));
            let size = (flows.len() as u64).next_power_of_two() << bits;
            (size, k, bits, flows)
        })
        .collect();
    blocks.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let mut ranges = vec![KeyRange { key: 0, mask: 0 }; g.flows.len()];
    let mut out = Vec::with_capacity(blocks.len());
    let mut base = 0u64;
    for (size, k, bits, flows) in blocks {
        if base + size > 1 << 32 {
            let needed = base + size;
            return Err(RouteError::KeySpace { needed, span: g.target_span });
        }
        for (j, &f) in flows.iter().enumerate() {
            let key = base + ((j as u64) << bits);
            let mask = if bits >= 32 { 0 } else { u32::MAX << bits };
            ranges[f] = KeyRange { key: key as u32, mask };
        }
        out.push(Block { base, index_bits: bits, population: k.population, flows });
        base += size;
    }
    Ok((ranges, out))
}

/// A breadth-first tree over the chips: each chip's parent and the link to it.
type ChipTree = Rc<Vec<Option<(ChipId, Link)>>>;
/// Multicast trees by (source chip, targets).
type TreeCache = HashMap<(ChipId, Vec<Range<SliceId>>), Rc<Tree>>;

/// The chip-level part of a multicast tree, shared by flows with the same
/// source chip and targets.
struct Tree {
    /// (chip, route) for every chip of the tree, sorted by chip.
    routes: Vec<(ChipId, Route)>,
    /// Chip-to-chip links of the tree.
    links: u64,
    /// Mesh hops on every chip but the source chip.
    mesh_off_source: u64,
}

fn link_list(bits: u8) -> Vec<Link> {
    Link::ALL.into_iter().filter(|&l| bits & (1 << l as u8) != 0).collect()
}

/// Mesh edges on one chip from `entry` to each destination PE's QPE, and to
/// the router when the packet leaves the chip.
fn mesh_hops(m: &Machine, entry: (u8, u8), route: &Route) -> u64 {
    let mut bits = 0u128;
    for &pe in &route.pes {
        bits |= mesh_route_edges(&m.spec, entry, (pe >> 5, (pe >> 2) & 7));
    }
    if !route.links.is_empty() {
        bits |= mesh_route_edges(&m.spec, entry, m.spec.router_qpe);
    }
    u64::from(bits.count_ones())
}

fn build_tree(m: &Machine, parents: &[Option<(ChipId, Link)>], root: ChipId, mut dests: Vec<PeAddr>) -> Tree {
    dests.sort_unstable_by_key(|p| (p.chip, p.pe_id()));
    dests.dedup();
    let n = m.chip_count();
    let mut in_tree = vec![false; n];
    let mut out_links = vec![0u8; n];
    let mut chips = vec![root];
    in_tree[usize::from(root.0)] = true;
    let mut links = 0;
    for d in &dests {
        let mut c = d.chip;
        while !in_tree[usize::from(c.0)] {
            in_tree[usize::from(c.0)] = true;
            chips.push(c);
            links += 1;
            // Every chip of a machine is reachable (checked by the machine tests).
            let Some((parent, link)) = parents[usize::from(c.0)] else { break };
            out_links[usize::from(parent.0)] |= 1 << link as u8;
            c = parent;
        }
    }
    chips.sort_unstable();
    let mut routes = Vec::with_capacity(chips.len());
    let mut at = 0;
    for c in chips {
        let mut pes = Vec::new();
        while at < dests.len() && dests[at].chip == c {
            pes.push(dests[at].pe_id());
            at += 1;
        }
        routes.push((c, Route { pes, links: link_list(out_links[usize::from(c.0)]) }));
    }
    let mesh_off_source =
        routes.iter().filter(|(c, _)| *c != root).map(|(_, r)| mesh_hops(m, m.spec.router_qpe, r)).sum();
    Tree { routes, links, mesh_off_source }
}

/// Merges buddy entries of one route: `ranges` sorted by key, disjoint.
fn merge_buddies(ranges: &[KeyRange]) -> Vec<KeyRange> {
    let mut stack: Vec<KeyRange> = Vec::with_capacity(ranges.len());
    for &r in ranges {
        stack.push(r);
        while stack.len() >= 2 {
            let (a, b) = (stack[stack.len() - 2], stack[stack.len() - 1]);
            let size = a.size();
            let buddies = a.mask == b.mask
                && a.mask != 0
                && u64::from(a.key) % (2 * size) == 0
                && u64::from(b.key) == u64::from(a.key) + size;
            if !buddies {
                break;
            }
            stack.pop();
            let top = stack.last_mut().expect("two entries on the stack");
            top.mask <<= 1;
        }
    }
    stack
}

/// Allocates keys, builds every flow's multicast tree and the merged tables.
pub fn route(g: &CoreGraph, m: &Machine, p: &Placement) -> Result<Routing, RouteError> {
    let (ranges, blocks) = allocate_keys(g)?;
    let mut parents: Vec<Option<ChipTree>> = vec![None; m.chip_count()];
    let mut trees: TreeCache = HashMap::new();
    let mut route_ids: HashMap<Route, u32> = HashMap::new();
    let mut route_list: Vec<Route> = Vec::new();
    // Per chip: (route id, key range) before merging.
    let mut raw: Vec<Vec<(u32, KeyRange)>> = vec![Vec::new(); m.chip_count()];
    let mut traffic: BTreeMap<PacketKind, KindTraffic> = BTreeMap::new();

    for (f, flow) in g.flows.iter().enumerate() {
        let src = p.cores[flow.source].pe;
        // Each part of a split flow is routed to its target alone, as the
        // aligned key blocks covering its indices (the indices past the
        // flow's last key are never sent: the last part may cover them).
        let whole = [(0..flow.keys, None)];
        let split: Vec<(Range<u64>, Option<SliceId>)> = flow.parts.iter().map(|(r, t)| (r.clone(), Some(*t))).collect();
        let range = ranges[f];
        for (indices, target) in if flow.parts.is_empty() { &whole[..] } else { &split[..] } {
            let targets = match target {
                Some(t) => std::iter::once(*t..*t + 1).collect(),
                None => flow.targets.clone(),
            };
            let tree = tree_for(g, m, p, targets, src.chip, &mut parents, &mut trees);
            let end = if indices.end >= flow.keys { range.size() } else { indices.end };
            let blocks = if target.is_some() {
                aligned_blocks(indices.start, end)
            } else {
                vec![(0, range.size().trailing_zeros())]
            };
            for (chip, route) in &tree.routes {
                let next = route_list.len() as u32;
                let id = *route_ids.entry(route.clone()).or_insert_with(|| {
                    route_list.push(route.clone());
                    next
                });
                for &(at, bits) in &blocks {
                    let mask = if bits >= 32 { 0 } else { u32::MAX << bits };
                    raw[usize::from(chip.0)].push((id, KeyRange { key: range.key | at as u32, mask }));
                }
            }
            let source_route = &tree.routes.iter().find(|(c, _)| *c == src.chip).expect("the root is in its tree").1;
            let hops = tree.links + tree.mesh_off_source + mesh_hops(m, (src.qpe.x, src.qpe.y), source_route);
            // This part's share of the flow's packets.
            let packets = (u128::from(flow.packets) * u128::from(indices.end - indices.start)
                / u128::from(flow.keys.max(1))) as u64;
            let t = traffic.entry(flow.kind).or_default();
            t.packets += packets;
            t.hops += packets * hops;
        }
    }

    let entries_before_merge = raw.iter().map(Vec::len).sum();
    let mut chips = Vec::with_capacity(raw.len());
    for (c, mut entries) in raw.into_iter().enumerate() {
        entries.sort_unstable_by_key(|&(id, r)| (id, r.key));
        let mut table = Vec::new();
        for run in entries.chunk_by(|a, b| a.0 == b.0) {
            let keys: Vec<KeyRange> = run.iter().map(|&(_, r)| r).collect();
            for r in merge_buddies(&keys) {
                table.push(RoutingEntry { key: r.key, mask: r.mask, route: route_list[run[0].0 as usize].clone() });
            }
        }
        table.sort_unstable_by_key(|e| e.key);
        if table.len() > m.spec.router_entries {
            return Err(table_full(g, m, ChipId(c as u16), &table, &blocks));
        }
        chips.push(table);
    }
    let keys = g.flows.iter().zip(&ranges).map(|(f, &r)| ((f.source, f.kind), r)).collect();
    Ok(Routing { keys, tables: RoutingTables { chips }, entries_before_merge, traffic })
}

fn tree_for(
    g: &CoreGraph,
    m: &Machine,
    p: &Placement,
    targets: Vec<Range<SliceId>>,
    root: ChipId,
    parents: &mut [Option<ChipTree>],
    trees: &mut TreeCache,
) -> Rc<Tree> {
    let cache_key = (root, targets);
    if let Some(t) = trees.get(&cache_key) {
        return t.clone();
    }
    let par = parents[usize::from(root.0)].get_or_insert_with(|| Rc::new(m.chip_tree(root))).clone();
    let ids = || cache_key.1.iter().flat_map(|r| r.clone());
    let dests: Vec<PeAddr> = ids().map(|t| p.cores[t].pe).collect();
    debug_assert!(ids().all(|t| t < g.slices.len()));
    let tree = Rc::new(build_tree(m, &par, root, dests));
    trees.insert(cache_key, tree.clone());
    tree
}

fn table_full(g: &CoreGraph, m: &Machine, chip: ChipId, table: &[RoutingEntry], blocks: &[Block]) -> RouteError {
    let mut by_pop: BTreeMap<usize, usize> = BTreeMap::new();
    for e in table {
        let b = blocks.partition_point(|b| b.base <= u64::from(e.key)).saturating_sub(1);
        let pop = blocks.get(b).map_or(0, |b| {
            let j = (u64::from(e.key) - b.base) >> b.index_bits;
            b.flows.get(j as usize).map_or(b.population, |&f| g.slices[g.flows[f].source].population.index())
        });
        *by_pop.entry(pop).or_default() += 1;
    }
    let (pop, most) = by_pop.into_iter().max_by_key(|&(p, n)| (n, std::cmp::Reverse(p))).unwrap_or((0, 0));
    let info = &g.populations[pop];
    let at = m.chips[usize::from(chip.0)];
    RouteError::TableFull {
        x: at.x,
        y: at.y,
        entries: table.len(),
        limit: m.spec.router_entries,
        population: info.name.clone(),
        most,
        span: info.span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(key: u32, bits: u32) -> KeyRange {
        KeyRange { key, mask: u32::MAX << bits }
    }

    #[test]
    fn buddies_merge_into_aligned_blocks() {
        assert_eq!(merge_buddies(&[r(0, 4), r(16, 4)]), vec![r(0, 5)]);
        assert_eq!(merge_buddies(&[r(0, 4), r(16, 4), r(32, 4), r(48, 4)]), vec![r(0, 6)]);
        // 16..48 is not an aligned block: nothing merges.
        assert_eq!(merge_buddies(&[r(16, 4), r(32, 4)]), vec![r(16, 4), r(32, 4)]);
        // Three of four: the first two merge, the third stays.
        assert_eq!(merge_buddies(&[r(0, 4), r(16, 4), r(32, 4)]), vec![r(0, 5), r(32, 4)]);
        // A gap prevents merging across it.
        assert_eq!(merge_buddies(&[r(0, 4), r(32, 4)]), vec![r(0, 4), r(32, 4)]);
    }

    #[test]
    fn a_tree_across_two_chips() {
        use crate::machine::Qpe;
        use crate::network::{Mapping, Span, TargetSpec};
        let target = TargetSpec {
            machine: crate::network::MachineSize::Chips(2),
            clock_hz: 300e6,
            mapping: Mapping::BatchParallel,
            copies: None,
            gradients: crate::network::GradientScheme::Auto,
            neurons_per_core: None,
            synapses: None,
            span: Span::default(),
        };
        let m = Machine::from_target(&target).unwrap();
        let root = ChipId(0);
        let parents = m.chip_tree(root);
        let here = PeAddr { chip: ChipId(0), qpe: Qpe { x: 2, y: 1 }, pe: 1 };
        let there = PeAddr { chip: ChipId(1), qpe: Qpe { x: 2, y: 1 }, pe: 3 };
        let t = build_tree(&m, &parents, root, vec![there, here, there]);
        assert_eq!(
            t.routes,
            vec![
                (ChipId(0), Route { pes: vec![here.pe_id()], links: vec![Link::East] }),
                (ChipId(1), Route { pes: vec![there.pe_id()], links: vec![] }),
            ]
        );
        assert_eq!(t.links, 1);
        // On chip 1: from the router at (4,3) to QPE (2,1): 2 + 2 mesh hops.
        assert_eq!(t.mesh_off_source, 4);
        // On chip 0, from QPE (2,1): to itself 0 hops, to the router 4 hops.
        assert_eq!(mesh_hops(&m, (2, 1), &t.routes[0].1), 4);
    }

    #[test]
    fn ceil_log2_of_key_counts() {
        assert_eq!([1, 2, 3, 4, 5, 120, 128, 129].map(ceil_log2), [0, 1, 2, 2, 3, 7, 7, 8]);
    }
}
