//! Keys and routing tables (the router's output): every flow's aligned key
//! range and every chip's key/mask table.
//!
//! Invariants (checked by `verify::check_routing`): key ranges are disjoint
//! prefixes; tables sorted with disjoint entries, at most 16,384 per chip;
//! walking the tables from every source reaches exactly its targets.

use std::collections::BTreeMap;

use crate::ir::cores::{PacketKind, SliceId};
use crate::machine::{ChipId, Link};

/// A key range: the keys `k` with `k & mask == key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyRange {
    pub key: u32,
    pub mask: u32,
}

impl KeyRange {
    pub fn last(self) -> u32 {
        self.key | !self.mask
    }
    pub fn size(self) -> u64 {
        u64::from(!self.mask) + 1
    }
    pub fn contains(self, k: u32) -> bool {
        k & self.mask == self.key
    }
}

/// Where a router sends a packet: PEs of its own chip and outgoing links.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Route {
    /// Chip-local PE ids (`qx << 5 | qy << 2 | pe`), sorted.
    pub pes: Vec<u8>,
    /// Outgoing links, sorted.
    pub links: Vec<Link>,
}

/// One router entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutingEntry {
    pub key: u32,
    pub mask: u32,
    pub route: Route,
}

impl RoutingEntry {
    pub fn range(&self) -> KeyRange {
        KeyRange { key: self.key, mask: self.mask }
    }
}

/// Every chip's router table, indexed by [`ChipId`]; entries sorted by key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutingTables {
    pub chips: Vec<Vec<RoutingEntry>>,
}

impl RoutingTables {
    /// The entry of `chip`'s table that matches `key`, if any.
    pub fn lookup(&self, chip: ChipId, key: u32) -> Option<&RoutingEntry> {
        let table = self.chips.get(usize::from(chip.0))?;
        let i = table.partition_point(|e| e.key <= key);
        table[..i].last().filter(|e| e.range().contains(key))
    }
}

/// Packets and hops of one packet kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindTraffic {
    /// Upper bound per sample (spike, error) or per batch step (gradient, weight).
    pub packets: u64,
    /// `packets` times the hops of each packet's multicast tree.
    pub hops: u64,
}

/// Keys, tables and traffic of a placed network.
#[derive(Clone, Debug, PartialEq)]
pub struct Routing {
    /// The key range of every flow.
    pub keys: BTreeMap<(SliceId, PacketKind), KeyRange>,
    pub tables: RoutingTables,
    /// Entries before merging, summed over chips.
    pub entries_before_merge: usize,
    pub traffic: BTreeMap<PacketKind, KindTraffic>,
}
