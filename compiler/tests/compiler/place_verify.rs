//! The invariant checker catches broken mappings: each case breaks one thing
//! in a correct mapping and expects the checker to name it.

use crate::common;

use snnc_compiler::driver::{Mapped, map_network};
use snnc_compiler::machine::{Link, Qpe};
use snnc_compiler::network::{MachineSize, Mapping, yinyang_network};
use snnc_compiler::partition::PacketKind;
use snnc_compiler::route::RoutingEntry;
use snnc_compiler::verify::{check_partition, check_placement, check_routing};

fn yinyang() -> Mapped {
    map_network(&yinyang_network(120)).expect("yinyang maps")
}

/// A network spread over several chips.
fn multi_chip() -> Mapped {
    let net = common::feed_forward(&[785, 1000, 250, 10], Some(2), MachineSize::Board48, Mapping::BatchParallel);
    let m = map_network(&net).expect("maps");
    assert!(m.placement.chips_used() > 1);
    m
}

fn routing_errors(m: &Mapped) -> Vec<String> {
    check_routing(&m.cores, &m.machine, &m.placement, &m.routing).err().map(|v| v.violations).unwrap_or_default()
}

fn assert_found(errors: &[String], needle: &str) {
    assert!(errors.iter().any(|e| e.contains(needle)), "expected `{needle}` in {errors:#?}");
}

#[test]
fn correct_mappings_pass() {
    for m in [yinyang(), multi_chip()] {
        assert!(routing_errors(&m).is_empty());
        assert!(check_placement(&m.cores, &m.machine, &m.placement).is_ok());
        assert!(check_partition(&m.cores, &m.machine).is_ok());
    }
}

#[test]
fn a_missing_entry_drops_packets() {
    let mut m = yinyang();
    m.routing.tables.chips[0].remove(0);
    assert_found(&routing_errors(&m), "dropped at chip");
}

#[test]
fn an_extra_pe_is_delivered_to() {
    let mut m = yinyang();
    let e = &mut m.routing.tables.chips[0][0];
    let extra = (0..=255u8).find(|p| !e.route.pes.contains(p)).unwrap();
    e.route.pes.push(extra);
    assert_found(&routing_errors(&m), "reaches");
}

#[test]
fn a_link_to_nowhere_is_caught() {
    let mut m = yinyang();
    m.routing.tables.chips[0][0].route.links.push(Link::East);
    assert_found(&routing_errors(&m), "absent link");
}

#[test]
fn a_loop_between_chips_is_caught() {
    let mut m = multi_chip();
    // Find an entry that forwards to a neighbour and send the packet back.
    let (chip, link) = m
        .routing
        .tables
        .chips
        .iter()
        .enumerate()
        .find_map(|(c, t)| t.iter().find_map(|e| e.route.links.first().map(|&l| (c, (l, e.key)))))
        .expect("some entry leaves its chip");
    let (l, key) = link;
    let next = m.machine.neighbour(snnc_compiler::machine::ChipId(chip as u16), l).unwrap();
    let back = m.routing.tables.lookup(next, key).cloned().expect("next chip has the entry");
    let table = &mut m.routing.tables.chips[usize::from(next.0)];
    let at = table.iter().position(|e| *e == back).unwrap();
    table[at].route.links.push(l.opposite());
    table[at].route.links.sort();
    table[at].route.links.dedup();
    assert_found(&routing_errors(&m), "twice");
}

#[test]
fn overlapping_entries_are_ambiguous() {
    let mut m = yinyang();
    let first = m.routing.tables.chips[0][0].clone();
    let wider = RoutingEntry { key: 0, mask: 0, route: first.route.clone() };
    m.routing.tables.chips[0].insert(0, wider);
    assert_found(&routing_errors(&m), "overlap");
}

#[test]
fn overlapping_key_ranges_are_caught() {
    let mut m = yinyang();
    let a = m.routing.keys[&(1, PacketKind::Spike)];
    *m.routing.keys.get_mut(&(2, PacketKind::Spike)).unwrap() = a;
    assert_found(&routing_errors(&m), "key ranges of flows");
}

#[test]
fn two_slices_on_one_pe_are_caught() {
    let mut m = yinyang();
    m.placement.cores[1].pe = m.placement.cores[0].pe;
    let v = check_placement(&m.cores, &m.machine, &m.placement).unwrap_err().violations;
    assert_found(&v, "share PE");
}

#[test]
fn a_reserved_pe_is_caught() {
    let mut m = yinyang();
    m.placement.cores[0].pe.qpe = Qpe { x: 1, y: 1 };
    let v = check_placement(&m.cores, &m.machine, &m.placement).unwrap_err().violations;
    assert_found(&v, "not an application PE");
}

#[test]
fn sram_over_budget_is_caught() {
    let mut m = yinyang();
    m.cores.slices[1].sram.weights = 200_000;
    let v = check_partition(&m.cores, &m.machine).unwrap_err().violations;
    assert_found(&v, "bytes of data");
}

#[test]
fn a_gap_in_the_slices_is_caught() {
    let mut m = yinyang();
    m.cores.slices[1].neurons.end -= 1;
    let v = check_partition(&m.cores, &m.machine).unwrap_err().violations;
    assert_found(&v, "covered up to");
}

/// The gradient chain's routes (Yin-Yang, one chip): copy `c`'s gradient
/// keys of a slice reach only copy `c + 1`'s PE of that slice, the last
/// copy's only the optimiser's PE.
#[test]
fn chain_gradients_route_to_the_next_copy() {
    let m = yinyang();
    assert!(m.cores.gradients.chain, "{:?}", m.cores.gradients);
    let g = &m.cores;
    let copy_len = g.copy_slices[0].len();
    let opt = m.placement.cores[g.optimiser_slices.start].pe;
    for (id, s) in g.slices.iter().enumerate().filter(|(_, s)| s.role == snnc_compiler::partition::Role::Layer) {
        let keys = m.routing.keys[&(id, PacketKind::Gradient)];
        let here = m.placement.cores[id].pe;
        let want = if s.batch_copy == Some(g.copies - 1) { opt } else { m.placement.cores[id + copy_len].pe };
        for key in [keys.key, keys.last()] {
            let e = m.routing.tables.lookup(here.chip, key).expect("an entry");
            assert_eq!(
                (e.route.pes.as_slice(), e.route.links.as_slice()),
                (&[want.pe_id()][..], &[][..]),
                "slice {id}"
            );
        }
    }
}

/// A chain flow that skips a copy is caught.
#[test]
fn a_chain_flow_to_the_wrong_copy_is_caught() {
    let mut m = yinyang();
    let copy_len = m.cores.copy_slices[0].len();
    let f = m.cores.flows.iter_mut().find(|f| f.source == 1 && f.kind == PacketKind::Gradient).unwrap();
    f.targets = std::iter::once(1 + 2 * copy_len..2 + 2 * copy_len).collect();
    let errors = check_partition(&m.cores, &m.machine).err().unwrap().violations;
    assert_found(&errors, "gradient flow of slice 1");
}
