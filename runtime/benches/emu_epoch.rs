//! One training epoch of the seed paper's Yin-Yang network in the emulator:
//! 89 PEs (22 batch copies of 4 PEs and the optimiser), every spike, error,
//! gradient and weight routed as a packet, 227 batches with their Adam steps,
//! then the validation pass (1000 samples); on one thread and on two.
//! Run with `cargo bench -p snnc-runtime --bench emu_epoch`.

use criterion::{Criterion, criterion_group, criterion_main};
use snnc_compiler::driver::map_network;
use snnc_compiler::lower::lower;
use snnc_compiler::network::yinyang_network;
use snnc_runtime::emu::Emulator;
use snnc_runtime::emu::train::run_epoch;
use snnc_runtime::train::trainer::{TrainState, prepare};

fn emu_epoch(c: &mut Criterion) {
    let net = yinyang_network(120);
    let p = prepare(&net, std::path::Path::new(".")).expect("yinyang prepares");
    let mapped = map_network(&net).expect("yinyang maps");
    let mut group = c.benchmark_group("yinyang_emulator_epoch");
    group.sample_size(10);
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
        let mut state = TrainState::new(&p, 0, None);
        let program = lower(&net, &mapped, &state.weights).expect("yinyang lowers");
        let mut emu = Emulator::new(program, &mapped.machine, &mapped.routing.tables).expect("loads");
        group.bench_function(format!("{threads}_thread"), |b| {
            b.iter(|| pool.install(|| run_epoch(&p, &mut state, &mut emu, &mut |_, _| {})).expect("trains"))
        });
    }
    group.finish();
}

criterion_group!(benches, emu_epoch);
criterion_main!(benches);
