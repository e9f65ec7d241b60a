//! The emulator against the reference trainer, bit for bit, on the examples:
//! spikes of every layer, first spikes and loss, per-sample gradients, and
//! the weights after optimiser steps.

use std::path::Path;

use crate::load;

use load::load;
use snnc_compiler::driver::map_network;
use snnc_compiler::lower::lower;
use snnc_compiler::network::OptimizerSpec;
use snnc_runtime::emu::{Emulator, SampleInput};
use snnc_runtime::train::batch::batch_gradient;
use snnc_runtime::train::eventprop::{Scratch, first_spikes, forward, sample_gradient, transpose};
use snnc_runtime::train::init::init_weights;
use snnc_runtime::train::optim::Optimizer;
use snnc_runtime::train::plan::LayerKind;
use snnc_runtime::train::trainer::{Prepared, TrainState, prepare, run_epoch};

fn setup(example: &str) -> (Prepared, Emulator, Vec<Vec<f32>>) {
    setup_with(example, None)
}

/// [`setup`] with the example's optimiser replaced.
fn setup_with(example: &str, optimizer: Option<OptimizerSpec>) -> (Prepared, Emulator, Vec<Vec<f32>>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let text = std::fs::read_to_string(dir.join(example)).unwrap();
    setup_source(example, &text, optimizer)
}

/// [`setup_with`] for a spec given as text (data paths relative to the examples).
fn setup_source(name: &str, text: &str, optimizer: Option<OptimizerSpec>) -> (Prepared, Emulator, Vec<Vec<f32>>) {
    let l = load(name, text, optimizer);
    let emu = Emulator::new(l.program, &l.mapped.machine, &l.mapped.routing.tables).unwrap();
    (l.p, emu, l.weights)
}

fn inputs(p: &Prepared, idx: &[usize]) -> Vec<(Vec<u32>, u32)> {
    idx.iter().map(|&s| (p.train.sample(s).to_vec(), p.train.labels[s])).collect()
}

/// Spikes, first spikes, loss and the per-sample gradient of every sample of
/// three batches (66 samples), compared bit for bit.
fn forward_and_backward_match(example: &str) {
    forward_and_backward_match_loaded(example, setup(example));
}

/// [`forward_and_backward_match`] on a loaded problem.
fn forward_and_backward_match_loaded(example: &str, (p, mut emu, weights): (Prepared, Emulator, Vec<Vec<f32>>)) {
    let wt = transpose(&p.plan, &weights);
    let batch = p.train_spec.batch as usize;
    let mut scratch = Scratch::default();
    let mut nonzero_grads = 0;
    for b in 0..3 {
        let idx: Vec<usize> = (b * batch..(b + 1) * batch).collect();
        let data = inputs(&p, &idx);
        let samples: Vec<SampleInput> =
            data.iter().map(|(s, l)| SampleInput { steps: s, sample: 0, label: *l }).collect();
        let results = emu.run_batch(&samples, None).unwrap();
        let spikes: usize = p
            .plan
            .layers
            .iter()
            .filter(|l| l.kind == LayerKind::Lif)
            .map(|l| emu.layer_spikes(0, l.node).unwrap().len())
            .sum();
        assert!(spikes > 0, "{example}: copy 0 is silent");
        for (c, &s) in idx.iter().enumerate() {
            let out = sample_gradient(&p.plan, &wt, p.train.sample(s), p.train.labels[s], batch, &mut scratch);
            for (l, layer) in p.plan.layers.iter().enumerate() {
                if layer.kind == LayerKind::Lif {
                    let want: Vec<(u32, u32)> = (0..p.plan.steps)
                        .flat_map(|n| scratch.layers[l].at(n).map(move |k| (n as u32, k)))
                        .map(|(n, k)| (n, scratch.layers[l].neuron[k]))
                        .collect();
                    let got = emu.layer_spikes(c as u32, layer.node).unwrap();
                    assert_eq!(got, want, "{example}: sample {s}, layer {}", layer.name);
                }
                let grad = emu.layer_buffer(c as u32, layer.node, "grad").unwrap();
                let mut at = 0;
                for &q in &layer.incoming {
                    let want: Vec<u32> = scratch.grad[q].iter().map(|x| x.to_bits()).collect();
                    assert_eq!(
                        &grad[at..at + want.len()],
                        &want[..],
                        "{example}: sample {s}, gradient of {}",
                        p.plan.projections[q].name
                    );
                    at += want.len();
                }
                assert_eq!(at, grad.len(), "{example}: {}'s gradient has every incoming projection", layer.name);
            }
            nonzero_grads += scratch.grad.iter().flatten().filter(|&&g| g != 0.0).count();
            assert_eq!(results[c].first, out.first, "{example}: sample {s}");
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&results[c].scores), bits(&out.scores), "{example}: sample {s} scores");
            assert_eq!(results[c].loss.to_bits(), out.loss.to_bits(), "{example}: sample {s} loss");
        }
    }
    assert!(nonzero_grads > 0, "{example}: no sample has a gradient");
}

/// The model class (`support/temporal.snn`: a delay-line input, recurrence,
/// a cycle with delays, an `li` readout with the exp-weighted voltage loss,
/// the regulariser; every population split, on two chips): spikes, scores,
/// losses and per-sample gradients, then two optimiser steps, then two
/// training epochs, bit for bit; and with each other voltage loss and with
/// one copy for the whole batch.
#[test]
fn the_model_class_is_bit_identical() {
    let text = include_str!("support/temporal.snn");
    forward_and_backward_match_loaded("temporal.snn", setup_source("temporal.snn", text, None));
    optimiser_steps_match_loaded("temporal.snn", setup_source("temporal.snn", text, None));
    for loss in ["max_voltage_cross_entropy()", "sum_voltage_cross_entropy()"] {
        let text = text.replace("exp_weighted_voltage_cross_entropy(window = 3 ms .. 30 ms)", loss);
        assert!(text.contains(loss));
        forward_and_backward_match_loaded(loss, setup_source("temporal.snn", &text, None));
        two_epochs_match(setup_source("temporal.snn", &text, None), 40);
    }
    let single = text.replace("neurons_per_core = 3", "neurons_per_core = 3\n    mapping = single_copy");
    two_epochs_match(setup_source("temporal.snn", &single, None), 40);
}

#[test]
fn yinyang_forward_and_backward_are_bit_identical() {
    forward_and_backward_match("yinyang.snn");
}

#[test]
fn deep_forward_and_backward_are_bit_identical() {
    forward_and_backward_match("deep.snn");
}

/// 5-200-3 over 60 steps: lowered only since the records are sparse.
#[test]
fn eventprop2021_forward_and_backward_are_bit_identical() {
    forward_and_backward_match("yinyang_eventprop2021.snn");
}

/// One batch with an optimiser step: the weights in the optimiser PE and in
/// every copy's layer PEs equal the reference's `batch_gradient` + Adam, bit
/// for bit; then a second step.
fn optimiser_steps_match(example: &str, optimizer: Option<OptimizerSpec>) {
    optimiser_steps_match_loaded(example, setup_with(example, optimizer));
}

/// [`optimiser_steps_match`] on a loaded problem.
fn optimiser_steps_match_loaded(example: &str, (p, mut emu, weights): (Prepared, Emulator, Vec<Vec<f32>>)) {
    let batch = p.train_spec.batch as usize;
    let shapes: Vec<usize> = weights.iter().map(Vec::len).collect();
    let mut opt = Optimizer::new(p.train_spec.optimizer, p.train_spec.schedule, p.train.len() / batch, &shapes);
    let mut want = weights.clone();
    for b in 0..2 {
        let idx: Vec<usize> = (b * batch..(b + 1) * batch).collect();
        let data = inputs(&p, &idx);
        let samples: Vec<SampleInput> =
            data.iter().map(|(s, l)| SampleInput { steps: s, sample: 0, label: *l }).collect();
        emu.run_batch(&samples, Some(opt.step_scalars())).unwrap();
        let out = batch_gradient(&p.plan, &want, &p.train, &idx);
        opt.apply(&mut want, &out.grad);
        let got = emu.weights().unwrap();
        assert_ne!(got, weights, "{example}: the weights did not move");
        for (q, (g, w)) in got.iter().zip(&want).enumerate() {
            let g: Vec<u32> = g.iter().map(|x| x.to_bits()).collect();
            let w: Vec<u32> = w.iter().map(|x| x.to_bits()).collect();
            assert_eq!(g, w, "{example}: step {b}, projection {}", p.plan.projections[q].name);
        }
        // Every copy's layer PEs received the new weights ([pre][post]).
        let wt = transpose(&p.plan, &want);
        for layer in &p.plan.layers {
            let held = emu.layer_buffer(p.train_spec.batch - 1, layer.node, "weights").unwrap();
            let w: Vec<u32> = layer.incoming.iter().flat_map(|&q| wt[q].iter().map(|x| x.to_bits())).collect();
            assert_eq!(held, w, "{example}: step {b}, last copy's {}", layer.name);
        }
    }
}

#[test]
fn yinyang_optimiser_steps_are_bit_identical() {
    optimiser_steps_match("yinyang.snn", None);
}

#[test]
fn deep_optimiser_steps_are_bit_identical() {
    optimiser_steps_match("deep.snn", None);
}

#[test]
fn eventprop2021_optimiser_steps_are_bit_identical() {
    optimiser_steps_match("yinyang_eventprop2021.snn", None);
}

/// SGD with momentum and weight decay in the optimiser PE.
const SGD: OptimizerSpec = OptimizerSpec::Sgd { lr: 0.05, momentum: 0.9, weight_decay: 1e-4 };

#[test]
fn sgd_momentum_optimiser_steps_are_bit_identical() {
    optimiser_steps_match("yinyang.snn", Some(SGD));
    optimiser_steps_match("deep.snn", Some(OptimizerSpec::Sgd { lr: 0.05, momentum: 0.0, weight_decay: 0.0 }));
}

/// Two epochs on `samples` training samples: the same metrics (but wall
/// time) and the same weights as the reference trainer.
fn two_epochs_train_identically(example: &str, samples: usize, optimizer: Option<OptimizerSpec>) {
    two_epochs_match(setup_with(example, optimizer), samples);
}

/// [`two_epochs_train_identically`] on a loaded problem; returns the emulator.
fn two_epochs_match((mut p, mut emu, weights): (Prepared, Emulator, Vec<Vec<f32>>), samples: usize) -> Emulator {
    let keep: Vec<usize> = (0..samples).collect();
    p.train = p.train.select(&keep);
    let mut reference = TrainState::new(&p, 0, Some(weights.clone()));
    let mut emulated = TrainState::new(&p, 0, Some(weights));
    for _ in 0..2 {
        let want = run_epoch(&p, &mut reference, &mut |_, _| {}).unwrap();
        let got = snnc_runtime::emu::train::run_epoch(&p, &mut emulated, &mut emu, &mut |_, _| {}).unwrap();
        assert_eq!((got.epoch, got.train_loss, got.train_accuracy), (want.epoch, want.train_loss, want.train_accuracy));
        assert_eq!((got.validation_loss, got.validation_accuracy), (want.validation_loss, want.validation_accuracy));
        assert_eq!(got.lr, want.lr);
        assert_eq!(emulated.weights, reference.weights);
        assert_eq!(emulated.optimizer, reference.optimizer);
    }
    emu
}

/// Yin-Yang with a batch of 40 on two chips (161 PEs, more than one chip's
/// 148): the copies on the second chip get their weights and send their
/// gradients across the chip-to-chip link, and training is still
/// bit-identical to the reference.
#[test]
fn two_chips_train_identically() {
    let two_chips = yinyang_with(&[("batch     = 22", "batch     = 40"), ("chips    = 1", "chips    = 2")]);
    let loaded = setup_source("yinyang_two_chips.snn", &two_chips, None);
    assert_eq!(loaded.1.program().cores.len(), 161);
    let emu = two_epochs_match(loaded, 400);
    assert!(emu.counters().chip_hops > 0, "no packet crossed a chip link");
}

#[test]
fn yinyang_two_epochs_train_identically() {
    two_epochs_train_identically("yinyang.snn", 880, None);
}

#[test]
fn eventprop2021_two_epochs_train_identically() {
    two_epochs_train_identically("yinyang_eventprop2021.snn", 640, None);
}

/// Weights, metrics and the momentum buffers equal the reference's.
#[test]
fn sgd_momentum_two_epochs_train_identically() {
    two_epochs_train_identically("yinyang.snn", 440, Some(SGD));
}

/// Weights so large that the readout spikes at every step: its spike log (24
/// entries per neuron, 3 neurons, 26 spiking steps) overflows, and the run
/// stops with the error naming PE, population and budget instead of
/// training on a truncated record. (The hidden layer spikes about 14 times
/// per neuron: its input current decays below threshold.)
#[test]
fn a_spike_record_overflow_stops_the_run() {
    // The readout's log holds every possible spike (T - 1 per neuron): only
    // a layer whose PE is full can overflow, the 200 hidden neurons over 60
    // steps of yinyang_eventprop2021, all spiking at every step.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let text = std::fs::read_to_string(dir.join("yinyang_eventprop2021.snn")).unwrap();
    let net = snnc_compiler::check_source("yinyang_eventprop2021.snn", &text).unwrap();
    let mapped = map_network(&net).unwrap();
    let p = prepare(&net, &dir).unwrap();
    let weights: Vec<Vec<f32>> = init_weights(&p.plan, 0).iter().map(|w| vec![1e6; w.len()]).collect();
    let program = lower(&net, &mapped, &weights).unwrap();
    let output = program.cores.iter().find(|c| c.population_name == "output").unwrap();
    let (_, log) = program.kernels[output.kernel].buffer_named("rec_key").unwrap();
    assert_eq!(log.len, (p.plan.steps as u32 - 1) * 3, "the readout records every possible spike");
    let hidden = program.cores.iter().find(|c| c.population_name == "hidden").unwrap();
    let pe = hidden.pe.pe_id();
    let (_, log) = program.kernels[hidden.kernel].buffer_named("rec_key").unwrap();
    let capacity = log.len;
    assert!(capacity > 24 * 200 && capacity < (p.plan.steps as u32 - 1) * 200, "{capacity}");
    let mut emu = Emulator::new(program, &mapped.machine, &mapped.routing.tables).unwrap();
    let data = inputs(&p, &[0]);
    let samples = [SampleInput { steps: &data[0].0, sample: 0, label: data[0].1 }];
    let err = emu.run_batch(&samples, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the spike record of population `hidden` on PE {pe} of chip (0, 0) overflowed: a sample spiked more than its {capacity} entries ({} spikes per neuron on average)",
            capacity / 200
        )
    );
}

/// `examples/yinyang.snn` with each `(from, to)` edit made; each `from`
/// must be in the example (else the test would silently check the example
/// itself).
fn yinyang_with(edits: &[(&str, &str)]) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut text = std::fs::read_to_string(dir.join("yinyang.snn")).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "the example has no `{from}`");
        text = text.replace(from, to);
    }
    text
}

/// A routing table with one entry removed: the first packet that needs it
/// stops the run with the dropped-packet error naming key and chip.
#[test]
fn a_corrupted_routing_table_drops_a_packet() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let text = std::fs::read_to_string(dir.join("yinyang.snn")).unwrap();
    let net = snnc_compiler::check_source("yinyang.snn", &text).unwrap();
    let mut mapped = map_network(&net).unwrap();
    let p = prepare(&net, &dir).unwrap();
    let weights = init_weights(&p.plan, 0);
    let program = lower(&net, &mapped, &weights).unwrap();
    // The key of copy 0's input spikes.
    let input = program.cores.iter().find(|c| c.role == snnc_compiler::partition::Role::Input).unwrap();
    let key = input.data["tx"][0];
    let table = &mut mapped.routing.tables.chips[0];
    let before = table.len();
    table.retain(|e| !e.range().contains(key));
    assert_eq!(table.len(), before - 1);
    let mut emu = Emulator::new(program, &mapped.machine, &mapped.routing.tables).unwrap();
    let data = inputs(&p, &[0]);
    let samples = [SampleInput { steps: &data[0].0, sample: 0, label: data[0].1 }];
    let err = emu.run_batch(&samples, None).unwrap_err();
    // The first spike is the bias input's (neuron 4, at step 0).
    let key = key | 4;
    assert_eq!(
        err.to_string(),
        format!("packet with key {key:#010x} matches no routing entry on chip (0, 0): dropped")
    );
}

/// Batch copies run in parallel: one thread and two threads give the same
/// results and weights, bit for bit.
#[test]
fn results_do_not_depend_on_the_thread_count() {
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let (p, mut emu, _) = setup("yinyang.snn");
            let batch = p.train_spec.batch as usize;
            let mut out = Vec::new();
            for b in 0..3 {
                let idx: Vec<usize> = (b * batch..(b + 1) * batch).collect();
                let data = inputs(&p, &idx);
                let samples: Vec<SampleInput> =
                    data.iter().map(|(s, l)| SampleInput { steps: s, sample: 0, label: *l }).collect();
                let r = emu.run_batch(&samples, Some((1e-3, 0.5))).unwrap();
                out.push(format!("{r:?}"));
            }
            (out, emu.weights().unwrap(), emu.counters())
        })
    };
    assert_eq!(run(1), run(2));
}

/// A hidden layer with two outgoing projections (`h1 -> h2` and `h1 -> out`,
/// declared out of population order): its PE keeps one error per neuron and
/// projection and adds them in declaration order, as the reference does.
#[test]
fn a_layer_with_two_outgoing_projections_trains_identically() {
    let text = r#"
network fork {
    time { dt = 1 ms; steps = 30 }
    population input = spike_source(5) {
        encoding = latency(order = early_high, t_min = 2 steps, clip_low = 0.01)
        bias     = spike(at = 0 steps)
    }
    population h1  = lif(30)
    population h2  = lif(20)
    population out = lif(3)
    projection input -> h1  = dense { init = normal(mean = 3.0, std = 2.0, scale = fan_in_sqrt) }
    projection h1    -> out = dense { init = normal(mean = 2.0, std = 1.0, scale = fan_in_sqrt) }
    projection h1    -> h2  = dense { init = normal(mean = 4.0, std = 2.0, scale = fan_in_sqrt) }
    projection h2    -> out = dense { init = normal(mean = 5.0, std = 2.0, scale = fan_in_sqrt) }
}
train {
    data    = yin_yang(train = 400, validation = 100, test = 100)
    readout = out
    batch   = 8
    epochs  = 2
}
"#;
    let loaded = setup_source("fork.snn", text, None);
    let emu = two_epochs_match(loaded, 400);
    assert!(emu.counters().packets_sent[1] > 0, "no error packet was sent");
}

/// The forked network with every population split over several PEs (at
/// most 2 neurons each): 3 input slices, 15 + 10 hidden slices and a readout
/// in two slices of 2 and 1. The errors for the layers below are summed
/// slice after slice up each population, the reference's order.
const SPLIT: &str = include_str!("support/split.snn");

fn split_slices(emu: &Emulator) -> Vec<(String, usize)> {
    let mut count: Vec<(String, usize)> = Vec::new();
    for c in emu.program().copy_cores(0).filter(|c| c.role != snnc_compiler::partition::Role::Loss) {
        match count.iter_mut().find(|(n, _)| *n == c.population_name) {
            Some((_, k)) => *k += 1,
            None => count.push((c.population_name.clone(), 1)),
        }
    }
    count
}

#[test]
fn split_populations_forward_and_backward_are_bit_identical() {
    let loaded = setup_source("split.snn", SPLIT, None);
    assert_eq!(
        split_slices(&loaded.1),
        [("input".to_string(), 3), ("h1".into(), 15), ("h2".into(), 10), ("out".into(), 2)],
        "slices per population"
    );
    forward_and_backward_match_loaded("split.snn", loaded);
}

#[test]
fn split_populations_train_identically() {
    let emu = two_epochs_match(setup_source("split.snn", SPLIT, None), 200);
    assert!(emu.counters().packets_sent[1] > 0, "no error packet was sent");
}

#[test]
fn split_populations_optimiser_steps_are_bit_identical() {
    optimiser_steps_match_loaded("split.snn", setup_source("split.snn", SPLIT, None));
}

/// `mapping = single_copy`: one PE group runs the 22 samples of a batch one
/// after another, its layers adding each sample's gradients to their batch
/// sums in sample order, and sends the sums to the optimiser once per
/// batch: training is bit-identical to the reference.
#[test]
fn single_copy_trains_identically() {
    let single = yinyang_with(&[("mapping  = batch_parallel", "mapping  = single_copy")]);
    let loaded = setup_source("yinyang_single.snn", &single, None);
    assert_eq!(loaded.1.program().cores.len(), 5);
    let emu = two_epochs_match(loaded, 220);
    // One gradient per weight (5 x 120 + 120 x 3) and batch reaches the
    // optimiser, not one per sample.
    let c = emu.counters();
    assert!(c.batches > 0);
    assert_eq!((c.waves, c.optimiser_received), (22 * c.batches, 960 * c.batches), "{c:?}");
}

/// `copies = 2` for Yin-Yang's batch of 22: each copy runs 11 samples one
/// after another, keeping their gradients apart (11 slots in SRAM); the
/// chain adds copy 0's from zero and copy 1's onto its sums, slot after
/// slot, the samples' order: training is bit-identical to the reference,
/// and one gradient per weight and batch reaches the optimiser.
#[test]
fn two_copies_of_eleven_samples_each_train_identically() {
    let two = yinyang_with(&[("mapping  = batch_parallel", "mapping  = batch_parallel\n    copies   = 2")]);
    let loaded = setup_source("yinyang_two_copies.snn", &two, None);
    assert_eq!(loaded.1.program().copies, 2);
    let emu = two_epochs_match(loaded, 220);
    let c = emu.counters();
    assert!(c.batches > 0);
    assert_eq!((c.waves, c.optimiser_received), (11 * c.batches, 960 * c.batches), "{c:?}");
    let text = snnc_runtime::emu::counters::RunReport::of(&emu).training_text();
    let shape =
        format!("({} batches of 11 samples one after another on each of 2 batch copies side by side,", c.batches);
    assert!(text.contains(&shape), "{text}");
}

/// yinyang.snn without its `train` block lowers to forward-only kernels on
/// one copy (input, hidden and output PEs, no loss, no optimiser); the first
/// spikes of every layer equal the reference's forward pass, bit for bit.
#[test]
fn a_network_without_training_infers_identically() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let text = std::fs::read_to_string(dir.join("yinyang.snn")).unwrap();
    let start = text.find("\ntrain {").unwrap();
    let end = start + text[start..].find("\n}\n").unwrap() + 3;
    let untrained = format!("{}{}", &text[..start], &text[end..]);
    let (p, _, weights) = setup("yinyang.snn");
    let net = snnc_compiler::check_source("untrained.snn", &untrained).unwrap();
    assert!(net.train.is_none());
    let mapped = map_network(&net).unwrap();
    let program = lower(&net, &mapped, &weights).unwrap();
    let roles: Vec<&str> = program.cores.iter().map(|c| c.role.name()).collect();
    assert_eq!(roles, ["input", "layer", "layer"]);
    let mut emu = Emulator::new(program, &mapped.machine, &mapped.routing.tables).unwrap();
    let wt = transpose(&p.plan, &weights);
    let mut scratch = Scratch::default();
    let mut spikes = 0;
    for s in 0..60 {
        let got = emu.infer(&[SampleInput { steps: p.train.sample(s), sample: s, label: 0 }]).unwrap().remove(0);
        forward(&p.plan, &wt, p.train.sample(s), &mut scratch);
        assert_eq!(got.len(), p.plan.layers.len());
        for (l, layer) in p.plan.layers.iter().enumerate() {
            let (want, _) = first_spikes(&scratch.layers[l], layer.size, p.plan.steps);
            assert_eq!(got[l].population, layer.node);
            assert_eq!(got[l].first, want, "sample {s}, layer {}", layer.name);
            spikes += want.iter().filter(|&&t| (t as usize) < p.plan.steps).count();
        }
    }
    assert!(spikes > 0);
}

/// The modelled training time counts one wave per batch with a copy per
/// sample and one wave per sample with `mapping = single_copy`, and one
/// end-of-batch phase per batch either way; a wave's ticks are its busiest
/// copy's (at least the copies' mean, at most their sum), at least 1 ms
/// each with the timer; an end-of-batch phase costs cycles (the
/// optimiser's step at the least).
#[test]
fn the_modelled_training_time_counts_waves_and_their_end_of_batch_phases() {
    let text = yinyang_with(&[]);
    let single = yinyang_with(&[("mapping  = batch_parallel", "mapping  = single_copy")]);
    for (name, text, waves_per_batch) in [("yinyang.snn", &text, 1), ("yinyang_single.snn", &single, 22)] {
        let (p, mut emu, _) = setup_source(name, text, None);
        let batch = p.train_spec.batch as usize;
        for b in 0..2 {
            let idx: Vec<usize> = (b * batch..(b + 1) * batch).collect();
            let data = inputs(&p, &idx);
            let samples: Vec<SampleInput> =
                data.iter().map(|(s, l)| SampleInput { steps: s, sample: 0, label: *l }).collect();
            emu.run_batch(&samples, Some((1e-3, 0.5))).unwrap();
        }
        let c = emu.counters();
        let copies = u64::from(emu.program().copies);
        assert_eq!((c.batches, c.waves), (2, 2 * waves_per_batch), "{name}");
        assert!(c.batch_tick_cycles <= c.tick_cycles && c.batch_tick_cycles * copies >= c.tick_cycles, "{name}: {c:?}");
        let ticks_per_sample = 2 * u64::from(emu.program().steps) - 1;
        assert!(c.batch_timer_cycles[0] >= c.waves * ticks_per_sample * 150_000, "{name}: {c:?}");
        assert!(c.batch_end_cycles > 0, "{name}");
    }
}

/// `text` with every layer's synapses in DRAM (`synapses = dram` in its
/// target block, which must hold `anchor`).
fn in_dram(text: &str, anchor: &str) -> String {
    let out = text.replacen(anchor, &format!("{anchor}\n    synapses = dram"), 1);
    assert_ne!(out, text, "the target block's `{anchor}` moved");
    out
}

/// Every layer PE of `emu` keeps its synapses in DRAM and moved them by DMA.
fn assert_all_in_dram(emu: &Emulator, what: &str) {
    let program = emu.program();
    let layers: Vec<_> = program.cores.iter().filter(|c| c.role == snnc_compiler::partition::Role::Layer).collect();
    assert!(!layers.is_empty(), "{what}: no layer PE");
    for c in layers {
        let kernel = program.kernels[c.kernel].kernel();
        assert!(kernel.dram_words > 0 && kernel.buffer_named("weights").is_none(), "{what}: {} in SRAM", kernel.name);
    }
    let transfers = emu.counters().ops.get(snnc_compiler::kernel::OpClass::DmaTransfer);
    assert!(transfers > 0, "{what}: no DMA transfer");
}

/// The model class (`support/temporal.snn`: a delay-line input, recurrence
/// with delays (error rings), an `li` readout with the exp-weighted voltage
/// loss, the regulariser; every population split over PEs of at most 3
/// neurons, on two chips) with every layer's synapses and input-spike
/// record in DRAM: spikes, scores, losses and per-sample gradients, two
/// optimiser steps, two epochs with a copy per sample and with one copy
/// for the batch, bit for bit with the reference.
#[test]
fn the_model_class_with_synapses_in_dram_is_bit_identical() {
    let text = in_dram(include_str!("support/temporal.snn"), "neurons_per_core = 3");
    let loaded = setup_source("temporal.snn", &text, None);
    forward_and_backward_match_loaded("temporal.snn in DRAM", loaded);
    optimiser_steps_match_loaded("temporal.snn in DRAM", setup_source("temporal.snn", &text, None));
    let emu = two_epochs_match(setup_source("temporal.snn", &text, None), 40);
    assert_all_in_dram(&emu, "temporal.snn in DRAM");
    let single = text.replace("neurons_per_core = 3", "neurons_per_core = 3\n    mapping = single_copy");
    let emu = two_epochs_match(setup_source("temporal.snn", &single, None), 40);
    assert_all_in_dram(&emu, "temporal.snn in DRAM, single copy");
    // Two copies of two samples: the gradient slots in the DRAM regions.
    let two = text.replace("neurons_per_core = 3", "neurons_per_core = 3\n    copies = 2");
    let emu = two_epochs_match(setup_source("temporal.snn", &two, None), 40);
    assert_eq!(emu.program().copies, 2);
    assert_all_in_dram(&emu, "temporal.snn in DRAM, two copies");
}

/// Yin-Yang (a feed-forward network, plain layers) and the split network of
/// `support/split.snn` with their synapses in DRAM train as the reference does.
#[test]
fn feed_forward_networks_with_synapses_in_dram_train_identically() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let yinyang = in_dram(&std::fs::read_to_string(dir.join("yinyang.snn")).unwrap(), "chips    = 1");
    forward_and_backward_match_loaded("yinyang.snn in DRAM", setup_source("yinyang.snn", &yinyang, None));
    let emu = two_epochs_match(setup_source("yinyang.snn", &yinyang, None), 220);
    assert_all_in_dram(&emu, "yinyang.snn in DRAM");
    let split = in_dram(SPLIT, "neurons_per_core = 2");
    let emu = two_epochs_match(setup_source("split.snn", &split, None), 200);
    assert_all_in_dram(&emu, "split.snn in DRAM");
}
