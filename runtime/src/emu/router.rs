//! The routers: key/mask lookups in the chips' routing tables, and the
//! cache of the routes they give.
//!
//! A packet sent on a chip enters its router: the first table entry whose
//! key/mask matches gives the chip's destination PEs and the links to follow
//! to the next chips ([`Router::walk`], one lookup per chip visited); a
//! packet that matches no entry stops the run ([`EmuError::DroppedPacket`]).
//! Tables are static, so each batch copy keeps the routes it walked
//! ([`Routes`]), for the whole key range the walk's table entries share.
//!
//! Invariant: a cached route is the route the tables give: same destination
//! cores, lookups and chip-to-chip hops, for every key it is used for.

use std::collections::HashMap;

use rustc_hash::FxHashMap;
use snnc_compiler::machine::{ChipId, Machine};
use snnc_compiler::route::RoutingTables;

use super::EmuError;

/// A route as the cache keeps it: its destinations are
/// `Routes::dests[start .. start + len]`.
#[derive(Clone, Copy, Debug)]
pub(super) struct CachedRoute {
    start: u32,
    len: u32,
    pub(super) lookups: u32,
    pub(super) chip_hops: u32,
}

/// A destination core: its group and position there.
#[derive(Clone, Copy, Debug)]
pub(super) struct Dest {
    pub(super) group: u32,
    pub(super) pos: u32,
}

/// Routes by (chip, key). Routing is static, so the first walk of a key is
/// its route for the whole run, and the route of every key that matches the
/// same table entry on every chip of the walk: the keys `k` with `k & M ==
/// key & M`, `M` the union of those entries' masks. When `M` is a prefix mask
/// (as the router's aligned key ranges give) that is the range `lo ..= hi`,
/// kept per chip in sorted, disjoint ranges (one per flow, where a cache per
/// key held one per key: millions for a large network's gradients);
/// otherwise the key alone is cached.
#[derive(Default)]
struct RouteCache {
    /// Per chip id: `(lo, hi, route)`, sorted by `lo`, disjoint.
    ranges: Vec<Vec<(u32, u32, CachedRoute)>>,
    /// The range of the last hit, its chip and its place in the chip's
    /// ranges: a PE sends runs of keys of one flow, or sweeps a split flow's
    /// parts in key order (a layer's gradients, position by position).
    last: Option<(ChipId, u32, u32, CachedRoute)>,
    last_at: usize,
    /// [`cache_key`] -> route, for keys whose walk gave no range.
    keys: FxHashMap<u64, CachedRoute>,
}

impl RouteCache {
    /// The route of `key` sent on `chip`, with the key range `lo ..= hi`
    /// that shares it (`key` alone for a key cached alone).
    #[inline]
    fn get(&mut self, chip: ChipId, key: u32) -> Option<(CachedRoute, u32, u32)> {
        if let Some((c, lo, hi, route)) = self.last
            && c == chip
            && lo <= key
            && key <= hi
        {
            return Some((route, lo, hi));
        }
        self.search(chip, key)
    }

    /// [`RouteCache::get`] past the last hit's range: the next few ranges
    /// after it first, then a binary search.
    fn search(&mut self, chip: ChipId, key: u32) -> Option<(CachedRoute, u32, u32)> {
        if let Some(ranges) = self.ranges.get(usize::from(chip.0)) {
            // A split flow's parts are several aligned blocks each, some
            // smaller than the stride of the sweep: look a few ranges on.
            let ahead = match self.last {
                Some(l) if l.0 == chip && l.2 < key => ranges.get(self.last_at + 1..).unwrap_or(&[]),
                _ => &[],
            };
            let i = match ahead.iter().take(8).position(|r| key <= r.1) {
                Some(n) => self.last_at + 1 + n,
                None => ranges.partition_point(|r| r.1 < key),
            };
            if let Some(&(lo, hi, route)) = ranges.get(i)
                && lo <= key
            {
                self.last = Some((chip, lo, hi, route));
                self.last_at = i;
                return Some((route, lo, hi));
            }
        }
        if self.keys.is_empty() {
            return None;
        }
        self.keys.get(&cache_key(chip, key)).map(|&route| (route, key, key))
    }

    /// Caches `route`, walked for `key` on `chip` through entries whose
    /// masks' union is `mask`; returns the key range it was cached for.
    fn insert(&mut self, chip: ChipId, key: u32, mask: u32, route: CachedRoute) -> (u32, u32) {
        if mask.leading_ones() + mask.trailing_zeros() != u32::BITS {
            self.keys.insert(cache_key(chip, key), route);
            return (key, key);
        }
        let c = usize::from(chip.0);
        if self.ranges.len() <= c {
            self.ranges.resize_with(c + 1, Vec::new);
        }
        let (lo, hi) = (key & mask, key | !mask);
        let ranges = &mut self.ranges[c];
        let i = ranges.partition_point(|r| r.1 < lo);
        ranges.insert(i, (lo, hi, route));
        (lo, hi)
    }
}

/// The per-key cache's key of `key` sent on `chip`.
fn cache_key(chip: ChipId, key: u32) -> u64 {
    (u64::from(chip.0) << 32) | u64::from(key)
}

/// The routers of all chips, and which core each chip-local PE runs.
pub(super) struct Router {
    tables: RoutingTables,
    pub(super) machine: Machine,
    /// (chip, chip-local PE id) -> core index.
    pe_core: HashMap<(u16, u8), usize>,
}

/// A route: destination cores and the hops of its tree.
#[derive(Clone, Debug)]
struct Route {
    cores: Vec<usize>,
    chip_hops: u32,
    lookups: u32,
    /// The union of the matched entries' masks: every key equal to this
    /// one under it takes the same route.
    mask: u32,
}

impl Router {
    /// The routers of `machine` with `tables`; `pe_core` maps (chip, chip-local
    /// PE id) to the core index running there.
    pub(super) fn new(tables: RoutingTables, machine: Machine, pe_core: HashMap<(u16, u8), usize>) -> Router {
        Router { tables, machine, pe_core }
    }

    fn walk(&self, chip: ChipId, key: u32) -> Result<Route, EmuError> {
        let mut route = Route { cores: Vec::new(), chip_hops: 0, lookups: 0, mask: 0 };
        let mut seen = vec![false; self.machine.chip_count()];
        let mut todo = vec![chip];
        seen[usize::from(chip.0)] = true;
        while let Some(c) = todo.pop() {
            route.lookups += 1;
            let coord = self.machine.chips[usize::from(c.0)];
            let entry = self.tables.lookup(c, key).ok_or(EmuError::DroppedPacket { key, x: coord.x, y: coord.y })?;
            route.mask |= entry.mask;
            for &pe in &entry.route.pes {
                let core =
                    *self.pe_core.get(&(c.0, pe)).ok_or(EmuError::NoProgram { key, x: coord.x, y: coord.y, pe })?;
                route.cores.push(core);
            }
            for &link in &entry.route.links {
                if let Some(next) = self.machine.neighbour(c, link)
                    && !seen[usize::from(next.0)]
                {
                    seen[usize::from(next.0)] = true;
                    route.chip_hops += 1;
                    todo.push(next);
                }
            }
        }
        route.cores.sort_unstable();
        Ok(route)
    }
}

/// A route found for a key: the keys `lo ..= hi` take it too.
pub(super) struct Hit<'a> {
    pub(super) route: CachedRoute,
    pub(super) lo: u32,
    pub(super) hi: u32,
    pub(super) dests: &'a [Dest],
}

/// One group's routes: the cache and the destinations of its routes.
#[derive(Default)]
pub(super) struct Routes {
    cache: RouteCache,
    /// The destinations of the cached routes.
    dests: Vec<Dest>,
}

impl Routes {
    /// The route of `key` sent on `chip`, the key range `lo ..= hi` that
    /// takes the same route, and its destinations: cached, or walked through
    /// the tables (and cached) the first time. `place` maps a core index to
    /// its group and position there.
    #[inline]
    pub(super) fn get(
        &mut self,
        router: &Router,
        place: &[(usize, usize)],
        chip: ChipId,
        key: u32,
    ) -> Result<Hit<'_>, EmuError> {
        let (route, lo, hi) = match self.cache.get(chip, key) {
            Some(hit) => hit,
            None => self.walk(router, place, chip, key)?,
        };
        Ok(Hit { route, lo, hi, dests: &self.dests[route.start as usize..(route.start + route.len) as usize] })
    }

    /// Walks the routers for `key` sent on `chip` and caches the route.
    #[cold]
    fn walk(
        &mut self,
        router: &Router,
        place: &[(usize, usize)],
        chip: ChipId,
        key: u32,
    ) -> Result<(CachedRoute, u32, u32), EmuError> {
        let walked = router.walk(chip, key)?;
        let route = CachedRoute {
            start: self.dests.len() as u32,
            len: walked.cores.len() as u32,
            lookups: walked.lookups,
            chip_hops: walked.chip_hops,
        };
        for &core in &walked.cores {
            let (group, pos) = place[core];
            self.dests.push(Dest { group: group as u32, pos: pos as u32 });
        }
        let (lo, hi) = self.cache.insert(chip, key, walked.mask, route);
        Ok((route, lo, hi))
    }
}
