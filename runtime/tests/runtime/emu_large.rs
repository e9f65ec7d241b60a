//! examples/large.snn (784-2000-2000-2000-10, 6,339 PEs on 43 chips of the
//! 48-chip board; its hidden layers split into slices of 4 to 13 neurons, so
//! every error for a layer below is summed along a chain of up to 500 slices)
//! trains one batch in the emulator bit-identically to the reference: the
//! batch's losses and first spikes, and all 9,590,000 weights after the Adam
//! step (every projection with a gradient), in the optimiser PEs and in the
//! last copy's layer PEs, each optimiser PE receiving only the gradients of
//! the weights it holds. About 7 GB and half a minute.

use crate::load;

use snnc_runtime::emu::{Emulator, SampleInput};
use snnc_runtime::train::batch::batch_gradient;
use snnc_runtime::train::eventprop::{Scratch, sample_gradient, transpose};
use snnc_runtime::train::optim::Optimizer;

#[test]
fn large_trains_one_batch_identically() {
    if crate::slow::skip("large_trains_one_batch_identically") {
        return;
    }
    let load::Loaded { p, mapped, program, weights } = load::load_example("large.snn");
    assert_eq!((program.cores.len(), mapped.placement.chips_used()), (6339, 43));
    let mut emu = Emulator::new(program, &mapped.machine, &mapped.routing.tables).unwrap();

    let batch = p.train_spec.batch as usize;
    let idx: Vec<usize> = (0..batch).collect();
    let samples: Vec<SampleInput> = idx.iter().map(|&s| SampleInput::of(&p.train, s)).collect();
    let shapes: Vec<usize> = weights.iter().map(Vec::len).collect();
    let mut opt = Optimizer::new(p.train_spec.optimizer, p.train_spec.schedule, p.train.len() / batch, &shapes);
    let results = emu.run_batch(&samples, Some(opt.step_scalars())).unwrap();

    let wt = transpose(&p.plan, &weights);
    let mut scratch = Scratch::default();
    for (c, &s) in idx.iter().enumerate() {
        let out = sample_gradient(&p.plan, &wt, p.train.sample(s), p.train.labels[s], batch, &mut scratch);
        assert_eq!(results[c].first, out.first, "sample {s}");
        assert_eq!(results[c].loss.to_bits(), out.loss.to_bits(), "sample {s} loss");
    }
    let mut want = weights.clone();
    let grad = batch_gradient(&p.plan, &want, &p.train, &idx);
    for (q, g) in grad.grad.iter().enumerate() {
        assert!(g.iter().any(|&g| g != 0.0), "projection {} has no gradient", p.plan.projections[q].name);
    }
    opt.apply(&mut want, &grad.grad);
    let got = emu.weights().unwrap();
    for (q, (g, w)) in got.iter().zip(&want).enumerate() {
        let same = g.iter().zip(w).filter(|(a, b)| a.to_bits() == b.to_bits()).count();
        assert_eq!(same, w.len(), "projection {}: {same} of {} weights equal", p.plan.projections[q].name, w.len());
    }
    let wt = transpose(&p.plan, &want);
    for layer in &p.plan.layers {
        let held = emu.layer_buffer(p.train_spec.batch - 1, layer.node, "weights").unwrap();
        let w: Vec<u32> = layer.incoming.iter().flat_map(|&q| wt[q].iter().map(|x| x.to_bits())).collect();
        assert!(held == w, "last copy's {}", layer.name);
    }
    assert!(emu.counters().chip_hops > 0);
    // Each optimiser PE gets only the gradients of the weights it holds: the
    // optimisers together handle each weight's gradient once per copy that
    // sends it to them (every copy, or the chain's last).
    let senders = if mapped.cores.gradients.chain { 1 } else { u64::from(p.train_spec.batch) };
    let weights: u64 = weights.iter().map(|w| w.len() as u64).sum();
    assert!(mapped.cores.optimiser_slices.len() > 1000, "many optimisers per layer slice");
    assert_eq!(emu.counters().optimiser_received, weights * senders);
}
