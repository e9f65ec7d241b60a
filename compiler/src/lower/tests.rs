//! Unit tests of the lowering: the kernels and data images it produces for
//! small networks, checked against hand-computed layouts and snapshots.

use super::*;
use crate::driver::map_network;
use crate::kernel::print_kernel;
use crate::network::{OptimizerSpec, yinyang_network};

fn zero_weights(net: &ValidNetwork) -> Vec<Vec<f32>> {
    net.projections().map(|(_, a, b, _)| vec![0.5; (net.graph[a].size * net.graph[b].size) as usize]).collect()
}

#[test]
fn yinyang_lowers_to_five_templates_on_89_pes() {
    let net = yinyang_network(120);
    let mapped = map_network(&net).unwrap();
    let program = lower(&net, &mapped, &zero_weights(&net)).unwrap();
    let names: Vec<&str> = program.kernels.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["input_input", "layer_hidden", "layer_output", "loss", "optimiser_0"]);
    assert_eq!(program.cores.len(), 22 * 4 + 1);
    // Every copy runs the same templates, with its own keys.
    let tx: Vec<&Vec<u32>> = program.copy_cores(1).map(|c| &c.data["tx"]).collect();
    let tx0: Vec<&Vec<u32>> = program.copy_cores(0).map(|c| &c.data["tx"]).collect();
    assert_ne!(tx, tx0);
    let kernels: Vec<usize> = program.copy_cores(5).map(|c| c.kernel).collect();
    assert_eq!(kernels, [0, 1, 2, 3]);
    // With the chain (the cost model's choice), the optimiser hears the
    // last copy's gradient flow per layer, and each copy's layers but the
    // first the previous copy's; only copy 0 starts the sums.
    assert!(mapped.cores.gradients.chain);
    let opt = program.cores.last().unwrap();
    assert_eq!(opt.data["rx_tag"].iter().filter(|&&t| t == tag::GRADIENT as u32).count(), 2);
    assert_eq!(opt.data["w"].len(), 960);
    let chained = |c: &CoreProgram| c.data["rx_tag"].iter().filter(|&&t| t == tag::GRADIENT_CHAIN as u32).count();
    let layers = |copy| program.copy_cores(copy).filter(|c| c.role == Role::Layer);
    assert!(layers(0).all(|c| chained(c) == 0 && c.data[buffers::CHAIN_HEAD] == [1]));
    assert!(layers(21).all(|c| chained(c) == 1 && c.data[buffers::CHAIN_HEAD] == [0]));
    // Direct: 22 gradient flows per layer into the optimiser, no chain.
    let mut direct = net.clone();
    direct.target.gradients = crate::network::GradientScheme::Direct;
    let mapped = map_network(&direct).unwrap();
    let program = lower(&direct, &mapped, &zero_weights(&direct)).unwrap();
    let opt = program.cores.last().unwrap();
    assert_eq!(opt.data["rx_tag"].iter().filter(|&&t| t == tag::GRADIENT as u32).count(), 44);
    assert!(program.cores.iter().all(|c| !c.data.contains_key(buffers::CHAIN_HEAD)));
    // The layer weights are stored [pre][post].
    let hidden = &program.cores[1];
    assert_eq!(hidden.data["weights"].len(), 600);
    for k in &program.kernels {
        assert!(print_kernel(k).contains("fn packet"), "{}", k.name);
    }
}

/// SGD lowers to its own optimiser template: a momentum buffer only with
/// momentum (the resource model's `4w` / `0`).
#[test]
fn sgd_lowers_with_a_momentum_buffer_only_with_momentum() {
    for (momentum, has_buffer) in [(0.9, true), (0.0, false)] {
        let mut net = yinyang_network(12);
        if let Some(t) = net.train.as_mut() {
            t.optimizer = OptimizerSpec::Sgd { lr: 0.1, momentum, weight_decay: 0.0 };
        }
        let mapped = map_network(&net).unwrap();
        let program = lower(&net, &mapped, &zero_weights(&net)).unwrap();
        let opt = program.kernels.last().unwrap();
        assert_eq!(opt.name, "optimiser_0");
        assert_eq!(opt.buffer_named("momentum").is_some(), has_buffer, "momentum {momentum}");
        assert!(opt.buffer_named("m").is_none());
    }
}

/// A population split over several PEs lowers: the slices of one shape
/// share a template, and only the first slice of a population starts the
/// error sums for the layer below (the others continue them: a `PARTIAL`
/// receive entry from the previous slice).
#[test]
fn a_split_population_lowers_into_shared_templates() {
    let mut net = yinyang_network(120);
    net.target.neurons_per_core = Some(50);
    let mapped = map_network(&net).unwrap();
    let program = lower(&net, &mapped, &zero_weights(&net)).unwrap();
    let hidden: Vec<_> = program.copy_cores(0).filter(|c| c.population_name == "hidden").collect();
    let ranges: Vec<_> = hidden.iter().map(|c| c.neurons.clone()).collect();
    assert_eq!(ranges, [0..40, 40..80, 80..120]);
    // Hidden slices of 40 neurons share one template; its fan-in is the input.
    assert!(hidden.iter().all(|c| c.kernel == hidden[0].kernel));
    assert_eq!(program.kernels[hidden[0].kernel].name, "layer_hidden");
    // The readout (one slice) sends errors to every hidden slice; no hidden
    // slice gets partial sums (the input is below them).
    let partial = |c: &CoreProgram| c.data["rx_tag"].iter().filter(|&&t| t == tag::PARTIAL as u32).count();
    assert!(hidden.iter().all(|c| partial(c) == 0));
    // Every copy runs the copy-0 templates; no template is repeated.
    for (i, a) in program.kernels.iter().enumerate() {
        for b in &program.kernels[i + 1..] {
            assert!(a.functions != b.functions || a.buffers != b.buffers, "{} and {} are one template", a.name, b.name);
        }
    }
}

/// The readout split in two: its first slice starts the sums, the second
/// continues them and sends them to the hidden slices.
#[test]
fn a_split_readout_chains_its_error_sums() {
    let mut net = yinyang_network(12);
    net.target.neurons_per_core = Some(2);
    net.train.as_mut().unwrap().batch = 4;
    let mapped = map_network(&net).unwrap();
    let program = lower(&net, &mapped, &zero_weights(&net)).unwrap();
    let out: Vec<&CoreProgram> =
        program.copy_cores(0).filter(|c| c.population_name == "output" && c.role == Role::Layer).collect();
    assert_eq!(out.len(), 2);
    let partial = |c: &CoreProgram| c.data["rx_tag"].iter().filter(|&&t| t == tag::PARTIAL as u32).count();
    assert_eq!((partial(out[0]), partial(out[1])), (0, 1));
    assert_ne!(out[0].kernel, out[1].kernel, "the first slice's backward tick starts the sums");
    // The second slice's partial entry accepts every fan-in position.
    let e = out[1].data["rx_tag"].iter().position(|&t| t == tag::PARTIAL as u32).unwrap();
    assert_eq!((out[1].data["rx_lo"][e], out[1].data["rx_hi"][e]), (0, 12));
}

/// `mapping = single_copy`: one PE group for the whole batch, whose samples
/// run one after another; each layer adds a sample's gradients to its batch
/// sums at `end_of_sample` and sends the sums, so the optimiser steps after
/// one gradient per held weight. With a copy per sample no layer keeps sums.
#[test]
fn single_copy_lowers_to_one_copy() {
    let mut net = yinyang_network(12);
    net.target.mapping = crate::network::Mapping::SingleCopy;
    let mapped = map_network(&net).unwrap();
    let program = lower(&net, &mapped, &zero_weights(&net)).unwrap();
    assert_eq!((program.copies, program.batch, program.cores.len()), (1, 22, 5));
    let text = print_kernel(program.kernels.last().unwrap());
    let held = 5 * 12 + 12 * 3;
    assert!(text.contains(&format!("== {held}u")), "the optimiser waits for {held} gradients:\n{text}");
    let sums = |p: &Program| {
        p.kernels.iter().filter(|k| k.kernel().buffer_named("gsum").is_some() && k.name.starts_with("layer")).count()
    };
    assert_eq!(sums(&program), 2, "both layers keep the batch's sums");
    for k in program.kernels.iter().filter(|k| k.name.starts_with("layer")) {
        let text = print_kernel(k);
        assert!(text.contains("end_of_sample") && text.contains("gsum"), "{text}");
    }
    net.target.mapping = crate::network::Mapping::BatchParallel;
    let mapped = map_network(&net).unwrap();
    let program = lower(&net, &mapped, &zero_weights(&net)).unwrap();
    assert_eq!((program.copies, sums(&program)), (22, 0));
}

/// `copies = 2` for a batch of 22: two copies of 11 samples each; every
/// layer keeps 11 gradient arrays and a slot counter, the gradients go by
/// the chain, and the optimiser steps after one gradient per held weight.
#[test]
fn two_copies_keep_a_gradient_slot_per_sample() {
    let mut net = yinyang_network(12);
    net.target.copies = Some(2);
    assert_eq!((net.batch_copies(), net.gradient_slots()), (2, 11));
    let mapped = map_network(&net).unwrap();
    assert!(mapped.cores.gradients.chain && mapped.cores.gradients.forced);
    let program = lower(&net, &mapped, &zero_weights(&net)).unwrap();
    assert_eq!((program.copies, program.batch, program.cores.len()), (2, 22, 9));
    let held = 5 * 12 + 12 * 3;
    let text = print_kernel(program.kernels.last().unwrap());
    assert!(text.contains(&format!("== {held}u")), "the optimiser waits for {held} gradients:\n{text}");
    for k in program.kernels.iter().filter(|k| k.name.starts_with("layer")) {
        let kernel = k.kernel();
        let (_, grad) = kernel.buffer_named("grad").expect("gradients");
        let (_, weights) = kernel.buffer_named("weights").expect("weights");
        assert_eq!(grad.len, 11 * weights.len, "{}", k.name);
        assert!(kernel.buffer_named("slot").is_some(), "{}", k.name);
    }
}

/// A network without a `train` block lowers to the forward pass on one
/// copy: input and layer kernels (each layer records its first spikes), no
/// loss, no optimiser; the readout's spikes go nowhere, so it sends none.
#[test]
fn a_network_without_training_lowers_forward_only() {
    let mut net = yinyang_network(12);
    net.train = None;
    let mapped = map_network(&net).unwrap();
    let program = lower(&net, &mapped, &zero_weights(&net)).unwrap();
    let roles: Vec<Role> = program.cores.iter().map(|c| c.role).collect();
    assert_eq!(roles, [Role::Input, Role::Layer, Role::Layer]);
    assert_eq!((program.copies, program.batch), (1, 1));
    let text: String = program.kernels.iter().map(|k| print_kernel(k)).collect();
    assert!(!text.contains("fn tick_backward(step: i32) {\n  var"), "no backward pass:\n{text}");
    let output = &program.kernels[program.cores[2].kernel];
    assert!(output.buffer_named("first").is_some() && output.buffer_named("grad").is_none());
    assert!(!print_kernel(output).contains("send("), "the sink sends nothing");
}

/// 200 neurons over 60 steps (`examples/yinyang_eventprop2021.snn`'s
/// shape) lower: the spike log is the resource model's budget grown into
/// the PE's room, not dense per step (59 x 200 entries would not fit).
#[test]
fn a_wide_layer_over_many_steps_lowers() {
    let mut net = yinyang_network(200);
    net.time.steps = 60;
    let mapped = map_network(&net).unwrap();
    let program = lower(&net, &mapped, &zero_weights(&net)).unwrap();
    let hidden = program.kernels.iter().find(|k| k.name == "layer_hidden").unwrap();
    let (_, log) = hidden.buffer_named("rec_key").unwrap();
    let len = u64::from(log.len);
    assert!(len > resources::SPIKE_BUDGET * 200 && len < 59 * 200, "{len} entries");
}

/// A layer kernel's control buffers (send keys, receive table, step, spike
/// log length and overflow flag, chain head): outside the resource model's
/// data categories.
const CONTROL_BUFFERS: [&str; 11] =
    ["tx", "rx_key", "rx_mask", "rx_lo", "rx_hi", "rx_off", "rx_tag", "step", "rec_len", "overflow", "chain_head"];

/// A `lif` layer kernel's spike log (the resource model's spike record).
const SPIKE_LOG_BUFFERS: [&str; 4] = ["rec_key", "rec_i", "rec_vt", "rec_off"];

/// The layer kernels' data buffers are the resource model's categories
/// (weights, gradients, state, input record), byte for byte, plus a spike
/// log of at least the budgeted entries, grown into the room the PE has
/// left: up to `T - 1` entries per neuron, else until fewer than one entry's
/// 12 bytes are left. Only the control words (keys, receive table, step,
/// record lengths, overflow flag) are outside the categories.
#[test]
fn layer_buffers_are_the_resource_model() {
    for (hidden, steps) in [(120, 27), (200, 60), (7, 3), (700, 30)] {
        let mut net = yinyang_network(hidden);
        net.time.steps = steps;
        let mapped = map_network(&net).unwrap();
        let data_bytes = u64::from(mapped.machine.spec.data_bytes);
        let program = lower(&net, &mapped, &zero_weights(&net)).unwrap();
        for core in program.cores.iter().filter(|c| c.role == Role::Layer && c.batch_copy == Some(0)) {
            let kernel = &program.kernels[core.kernel];
            let what = format!("{} of hidden = {hidden}, T = {steps}", kernel.name);
            let (control, log) = (CONTROL_BUFFERS, SPIKE_LOG_BUFFERS);
            let bytes = |names: &dyn Fn(&str) -> bool| -> u64 {
                kernel.buffers.iter().filter(|b| names(&b.name)).map(|b| 4 * u64::from(b.len)).sum()
            };
            let n = u64::from(core.neurons.end - core.neurons.start);
            let t = u64::from(steps);
            let model = resources::layer_sram_in(&net, core.population, n, true);
            let want = model.weights + model.gradients + model.state + model.input_record;
            assert_eq!(bytes(&|b| !control.contains(&b) && !log.contains(&b)), want, "{what}");
            let entries = u64::from(kernel.buffer_named("rec_key").unwrap().1.len);
            assert_eq!(bytes(&|b| log.contains(&b)), 12 * entries + 4 * (t + 1), "{what}");
            assert!(entries >= resources::spike_record_capacity(n, t) && entries <= (t - 1) * n, "{what}: {entries}");
            let end = kernel.buffers_end();
            let fixed = resources::RECEIVE_BUFFER_BYTES + resources::STACK_BYTES;
            assert!(end + fixed <= data_bytes, "{what}: {end} bytes of buffers");
            assert!(entries == (t - 1) * n || end + fixed + 12 > data_bytes, "{what}: room left for more entries");
        }
    }
}

/// With synapses in DRAM, a layer kernel's data buffers are the resource
/// model's SRAM categories (row buffers and the input window instead of
/// weights, gradients and the input record) and its DRAM region is the
/// model's DRAM, word for word.
#[test]
fn dram_layer_buffers_are_the_resource_model() {
    let mut net = yinyang_network(120);
    net.target.synapses = Some(crate::resources::Synapses::Dram);
    let mapped = map_network(&net).unwrap();
    let program = lower(&net, &mapped, &zero_weights(&net)).unwrap();
    for core in program.cores.iter().filter(|c| c.role == Role::Layer && c.batch_copy == Some(0)) {
        let kernel = &program.kernels[core.kernel];
        let (control, log) = (CONTROL_BUFFERS, SPIKE_LOG_BUFFERS);
        let bytes = |names: &dyn Fn(&str) -> bool| -> u64 {
            kernel.buffers.iter().filter(|b| names(&b.name)).map(|b| 4 * u64::from(b.len)).sum()
        };
        let n = u64::from(core.neurons.end - core.neurons.start);
        let (sram, dram) = resources::layer_memory(&net, core.population, n, true, crate::resources::Synapses::Dram);
        let data = bytes(&|b| !control.contains(&b) && !log.contains(&b) && b != "grow");
        // The gradient tile: the budgeted row, grown into the room left.
        let tile = u64::from(kernel.buffer_named("grow").unwrap().1.len) / n;
        assert_eq!(u64::from(kernel.buffer_named("grow").unwrap().1.len), tile * n);
        let k = u64::from(net.fan_in(core.population));
        assert!(tile >= 1 && tile <= resources::GRADIENT_TILE_ROWS.min(k), "{}: {tile} rows", kernel.name);
        assert_eq!(data + 4 * n, sram.row_buffers + sram.state + sram.input_record, "{}", kernel.name);
        let end = kernel.buffers_end();
        let fixed = resources::RECEIVE_BUFFER_BYTES + resources::STACK_BYTES;
        assert!(end + fixed <= u64::from(mapped.machine.spec.data_bytes), "{}", kernel.name);
        // The spike log: one step's entries and the step index in SRAM, the
        // sample's (every neuron at every step but the first) in DRAM.
        assert_eq!(bytes(&|b| log.contains(&b)), sram.spike_record, "{}", kernel.name);
        assert_eq!(kernel.buffer_named("rec_key").unwrap().1.len as u64, n, "{}", kernel.name);
        assert_eq!(dram.spike_record, 12 * (u64::from(net.time.steps) - 1) * n, "{}", kernel.name);
        assert_eq!(u64::from(kernel.dram_words) * 4, dram.total(), "{}", kernel.name);
        assert!(kernel.buffer_named("weights").is_none() && kernel.buffer_named("grad").is_none());
        // The initial weights are the region's first words.
        assert_eq!(core.dram.len() as u64 * 4, dram.weights, "{}", kernel.name);
        assert!(!core.data.contains_key("weights"));
    }
}

/// The text form of every kernel template of `examples/yinyang.snn`'s
/// network (built in code): the lowering's output, reviewed as a snapshot.
#[test]
fn yinyang_kernels_snapshot() {
    let net = yinyang_network(120);
    let mapped = map_network(&net).unwrap();
    let program = lower(&net, &mapped, &zero_weights(&net)).unwrap();
    let text: String = program.kernels.iter().map(|k| print_kernel(k)).collect();
    insta::assert_snapshot!(text);
}

/// The lowered program's verifier holds for the program the lowering makes,
/// and catches a send key, a receive table or initial data that do not
/// match the mapping.
#[test]
fn the_program_verifier_catches_keys_tables_and_data_that_do_not_match() {
    let net = yinyang_network(16);
    let m = map_network(&net).unwrap();
    let program = lower(&net, &m, &zero_weights(&net)).unwrap();
    let check = |p: &Program| crate::verify::check_program(&m.cores, &m.machine, &m.placement, &m.routing, p);
    check(&program).unwrap();
    let mut bad = program.clone();
    bad.cores[1].data.get_mut("tx").unwrap()[SLOT_SPIKE as usize] ^= 1 << 20;
    assert!(check(&bad).unwrap_err().violations[0].contains("send slot of spike packets"));
    let mut bad = program.clone();
    bad.cores[2].data.get_mut("rx_key").unwrap()[0] ^= 1 << 20;
    assert!(check(&bad).unwrap_err().violations.iter().any(|v| v.contains("receive table")));
    let mut bad = program.clone();
    bad.cores[0].data.insert("nonsense".into(), vec![1]);
    assert!(check(&bad).unwrap_err().violations[0].contains("lacks"));
    let mut bad = program;
    let len = bad.cores[1].data["weights"].len();
    bad.cores[1].data.get_mut("weights").unwrap().resize(len + 1, 0);
    assert!(check(&bad).unwrap_err().violations[0].contains("words for buffer `weights`"));
}
