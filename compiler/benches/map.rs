//! Partition + place + route of a network of over 1,000,000 synapses per
//! batch copy (785-1000-250-10: 1,037,500 synapses), 16 batch copies, on a
//! 48-chip board; and the same followed by the invariant checks; and the
//! shape of `examples/large.snn` (9,590,000 synapses per copy, 4 copies).

use criterion::{Criterion, criterion_group, criterion_main};
use snnc_compiler::driver::map_network;
use snnc_compiler::machine::Machine;
use snnc_compiler::network::{MachineSize, Mapping};
use snnc_compiler::partition::partition;
use snnc_compiler::place::place;
use snnc_compiler::route::route;

#[path = "../tests/compiler/common/mod.rs"]
mod common;

fn bench(c: &mut Criterion) {
    let net = common::feed_forward(&[785, 1000, 250, 10], Some(16), MachineSize::Board48, Mapping::BatchParallel);
    assert!(net.trainable_parameters() >= 1_000_000);
    let machine = Machine::from_target(&net.target).expect("valid target");
    let mut group = c.benchmark_group("map_1M_synapses_x16_board48");
    group.sample_size(10);
    group.bench_function("partition+place+route", |b| {
        b.iter(|| {
            let g = partition(&net, &machine).expect("partitions");
            let p = place(&g, &machine).expect("places");
            route(&g, &machine, &p).expect("routes")
        })
    });
    group.bench_function("map_network (with invariant checks)", |b| b.iter(|| map_network(&net).expect("maps")));
    group.finish();

    // The shape of examples/large.snn: 9,590,000 synapses per copy, 4 copies.
    let large =
        common::feed_forward(&[785, 2000, 2000, 2000, 10], Some(4), MachineSize::Board48, Mapping::BatchParallel);
    let mut group = c.benchmark_group("map_large_x4_board48");
    group.sample_size(10);
    group.bench_function("map_network (with invariant checks)", |b| b.iter(|| map_network(&large).expect("maps")));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
