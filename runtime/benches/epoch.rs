//! One training epoch of the seed paper's Yin-Yang network (5-120-3, 5000
//! samples, batch 22: forward, backward and Adam), on one thread and on two.
//! Run with `cargo bench -p snnc-runtime --bench epoch`.

use criterion::{Criterion, criterion_group, criterion_main};
use snnc_compiler::network::yinyang_network;
use snnc_runtime::train::trainer::{TrainState, prepare, train_batches};

fn epoch(c: &mut Criterion) {
    let net = yinyang_network(120);
    let p = prepare(&net, std::path::Path::new(".")).expect("yinyang prepares");
    let mut group = c.benchmark_group("yinyang_epoch");
    group.sample_size(10);
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
        let mut state = TrainState::new(&p, 0, None);
        group.bench_function(format!("{threads}_thread"), |b| {
            b.iter(|| pool.install(|| train_batches(&p, &mut state, &mut |_, _| {})).expect("finite"))
        });
    }
    group.finish();
}

criterion_group!(benches, epoch);
criterion_main!(benches);
