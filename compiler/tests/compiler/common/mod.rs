//! Networks built in code, shared by the mapping tests and the benchmark.

#![allow(dead_code)]

use snnc_compiler::network::{
    DataSpec, Init, InitScale, LifParams, LossSpec, MachineSize, Mapping, NetworkBuilder, OptimizerSpec,
    PopulationKind, Schedule, SpikeSource, SplitSpec, TargetSpec, TimeValue, TrainSpec, ValidNetwork,
};

/// A feed-forward network `sizes[0] - sizes[1] - ... ` (the first a spike
/// source with a bias input included), trained with Adam on batch `batch`
/// (or inference only when `batch` is `None`), on `machine`.
pub fn feed_forward(sizes: &[u32], batch: Option<u32>, machine: MachineSize, mapping: Mapping) -> ValidNetwork {
    let mut b = NetworkBuilder::new("ff", 1e-3, 50);
    let input = b.population("input", sizes[0], PopulationKind::SpikeSource(SpikeSource::seed_latency()));
    let lif = PopulationKind::Lif(LifParams::default());
    let mut prev = input;
    let last = sizes.len() - 1;
    for (i, &n) in sizes.iter().enumerate().skip(1) {
        let name = if i == last { "output".to_string() } else { format!("h{i}") };
        let pop = b.population(&name, n, lif.clone());
        b.dense(prev, pop, Init::Normal { mean: 1.0, std: 1.0, scale: InitScale::FanInSqrt });
        prev = pop;
    }
    if let Some(batch) = batch {
        b.train(TrainSpec {
            regularizer: None,
            data: DataSpec::Synthetic {
                features: sizes[0] - 1,
                classes: sizes[last],
                train: SplitSpec { size: 100, seed: 1 },
                validation: SplitSpec { size: 10, seed: 2 },
                test: SplitSpec { size: 10, seed: 3 },
            },
            readout: prev,
            loss: LossSpec::FirstSpikeCrossEntropy {
                xi: TimeValue::Steps(1.5),
                alpha: 1e-2,
                beta: TimeValue::Steps(100.0),
            },
            optimizer: OptimizerSpec::Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 },
            schedule: Schedule::Constant,
            batch,
            epochs: 1,
            seed: 0,
            filter_ambiguous: false,
            augment: Vec::new(),
            span: Default::default(),
        });
    }
    b.target(TargetSpec { machine, mapping, ..TargetSpec::default() });
    b.build()
}
