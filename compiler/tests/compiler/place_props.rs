//! Property: mapping any feed-forward network onto any machine size either
//! succeeds and passes every invariant check (the driver runs them after
//! each pass), or fails with a does-not-fit diagnostic; it never panics and
//! never breaks an invariant.

use crate::common;

use proptest::prelude::*;
use snnc_compiler::driver::{MapError, map_network};
use snnc_compiler::network::{MachineSize, Mapping};

fn machine() -> impl Strategy<Value = MachineSize> {
    prop_oneof![
        3 => (1u32..=4).prop_map(MachineSize::Chips),
        1 => (5u32..=48).prop_map(MachineSize::Chips),
        1 => Just(MachineSize::Board48),
    ]
}

fn sizes() -> impl Strategy<Value = Vec<u32>> {
    let input = prop_oneof![4 => 2u32..64, 1 => 1000u32..8000];
    (input, prop::collection::vec(1u32..500, 1..=4)).prop_map(|(i, mut layers)| {
        layers.insert(0, i);
        layers
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_mapping_fits_and_checks_or_does_not_fit(
        sizes in sizes(),
        batch in prop_oneof![1 => Just(None), 4 => (1u32..=40).prop_map(Some)],
        machine in machine(),
        single in any::<bool>(),
        npc in prop_oneof![Just(None), (4u32..=128).prop_map(Some)],
    ) {
        let mapping = if single { Mapping::SingleCopy } else { Mapping::BatchParallel };
        let mut net = common::feed_forward(&sizes, batch, machine, mapping);
        net.target.neurons_per_core = npc;
        match map_network(&net) {
            Ok(m) => {
                let copies = match (mapping, batch) {
                    (Mapping::BatchParallel, Some(b)) => b,
                    _ => 1,
                };
                prop_assert_eq!(m.cores.copies, copies);
                prop_assert!(m.placement.cores.len() as u32 <= m.machine.app_pe_count());
                prop_assert_eq!(m.cores.optimiser_slices.is_empty(), batch.is_none());
            }
            Err(e @ (MapError::Partition(_) | MapError::Place(_) | MapError::Route(_))) => {
                prop_assert!(e.is_user_error());
            }
            Err(e) => prop_assert!(false, "{:?}", miette::Report::new(e)),
        }
    }
}
