//! The lowered kernels of every example, run by the JIT and by the
//! interpreter on the same memory and invocations: identical memory, packets
//! and operation counts after every call. Every kernel template of a program
//! is checked, on the data of the first PE that runs it (its other PEs differ
//! only in data: keys, receive tables, weights).

use snnc_compiler::driver::map_network;
use snnc_compiler::kernel::{Invocation, OpCounts, Packet};
use snnc_compiler::lower::{LowerError, lower};
use snnc_compiler::network::OptimizerSpec;
use snnc_runtime::interp::Interpreter;
use snnc_runtime::jit::JitKernel;
use snnc_runtime::train::init::init_weights;
use snnc_runtime::train::plan::Plan;

/// Checks one example (with its optimiser replaced by `optimizer`); `Err`
/// carries the lowering's refusal.
fn check(example: &str, optimizer: Option<OptimizerSpec>) -> Result<(), String> {
    let path = format!("{}/../examples/{example}", env!("CARGO_MANIFEST_DIR"));
    let mut net = snnc_compiler::check_source(example, &std::fs::read_to_string(path).unwrap()).unwrap();
    if let (Some(o), Some(t)) = (optimizer, net.train.as_mut()) {
        t.optimizer = o;
    }
    let mapped = map_network(&net).map_err(|e| format!("{}", miette::Diagnostic::code(&e).unwrap()))?;
    let weights = init_weights(&Plan::new(&net).unwrap(), 0);
    let program = match lower(&net, &mapped, &weights) {
        Ok(p) => p,
        Err(e @ LowerError::NotYetSupported { .. }) => return Err(e.to_string()),
        Err(e) => panic!("{example}: {e:?}"),
    };
    let t = program.steps as i32;
    // Every template, on the data of the first PE that runs it.
    let mut seen = vec![false; program.kernels.len()];
    for core in &program.cores {
        if std::mem::replace(&mut seen[core.kernel], true) {
            continue;
        }
        let kernel = &program.kernels[core.kernel];
        let (jit, interp) = (JitKernel::compile(kernel).unwrap(), Interpreter::new(kernel));
        let mut mem = vec![0u32; kernel.memory_words()];
        for (name, words) in &core.data {
            let (_, b) = kernel.buffer_named(name).unwrap();
            let start = (b.offset / 4) as usize;
            mem[start..start + words.len()].copy_from_slice(words);
        }
        // Inputs spike at steps 0..4; every receive-table entry gets packets.
        if let Some((_, b)) = kernel.buffer_named("spike_step") {
            for i in 0..b.len {
                mem[(b.offset / 4 + i) as usize] = i % 5;
            }
        }
        let rx: Vec<u32> = core.data["rx_key"].iter().zip(&core.data["rx_lo"]).map(|(k, lo)| k | lo).collect();
        let mut calls = vec![Invocation::Init];
        for n in 0..t {
            calls.extend(rx.iter().map(|&key| Invocation::Packet { key, payload: 0.25f32.to_bits() }));
            calls.push(Invocation::TickForward { step: n });
        }
        for n in (0..t - 1).rev() {
            calls.extend(rx.iter().map(|&key| Invocation::Packet { key, payload: (-0.5f32).to_bits() }));
            calls.push(Invocation::TickBackward { step: n });
        }
        calls.extend([Invocation::EndOfSample, Invocation::EndOfBatch]);
        let (mut a, mut b) = (mem.clone(), mem);
        // The private DRAM region (a layer with its synapses in DRAM): its initial words.
        let mut region = vec![0u32; kernel.dram_words as usize];
        region[..core.dram.len()].copy_from_slice(&core.dram);
        let (mut da, mut db) = (region.clone(), region);
        let (mut out_a, mut out_b): (Vec<Packet>, Vec<Packet>) = (Vec::new(), Vec::new());
        let (mut ops_a, mut ops_b) = (OpCounts::default(), OpCounts::default());
        for inv in calls {
            let ra = jit.run(inv, &mut a, &mut da, &mut out_a, &mut ops_a);
            let rb = interp.run(inv, &mut b, &mut db, &mut out_b, &mut ops_b);
            assert_eq!(ra, rb, "{example}: {} at {inv:?}", kernel.name);
            assert!(a == b && out_a == out_b && ops_a == ops_b, "{example}: {} differs after {inv:?}", kernel.name);
        }
        // The regions (megabytes for shd.snn) compared once, after the sample.
        assert!(da == db, "{example}: {}'s DRAM regions differ", kernel.name);
        assert!(ops_a.0.iter().sum::<u64>() > 0, "{example}: {} ran nothing", kernel.name);
        // An optimiser steps only once every sample's gradients arrived: two
        // steps (the second not a first step), each after rounds of every
        // key it accepts until it sends (one round with a copy per sample,
        // `batch` rounds with `single_copy`).
        if let Some((_, hyper)) = kernel.buffer_named("hyper") {
            let stream: Vec<Invocation> = (0..core.data["rx_key"].len())
                .flat_map(|e| {
                    let (key, lo, hi) = (core.data["rx_key"][e], core.data["rx_lo"][e], core.data["rx_hi"][e]);
                    (lo..hi).map(move |raw| Invocation::Packet {
                        key: key | raw,
                        payload: (0.25 * (raw % 7) as f32 - 0.5).to_bits(),
                    })
                })
                .collect();
            for first in [1.0f32, 0.0] {
                for m in [&mut a, &mut b] {
                    m[(hyper.offset / 4) as usize] = 0.01f32.to_bits();
                    m[(hyper.offset / 4 + 1) as usize] = first.to_bits();
                }
                let sent = out_a.len();
                for _round in 0..net.train.as_ref().map_or(1, |t| t.batch) {
                    for &inv in &stream {
                        let ra = jit.run(inv, &mut a, &mut da, &mut out_a, &mut ops_a);
                        let rb = interp.run(inv, &mut b, &mut db, &mut out_b, &mut ops_b);
                        assert_eq!(ra, rb, "{example}: {} at {inv:?}", kernel.name);
                    }
                    if out_a.len() > sent {
                        break;
                    }
                }
                assert!(a == b && out_a == out_b && ops_a == ops_b, "{example}: {} differs after a step", kernel.name);
                assert!(out_a.len() > sent, "{example}: {} took no step", kernel.name);
            }
        }
    }
    Ok(())
}

#[test]
fn every_example_kernels_jit_equals_interpreter() {
    let dir = format!("{}/../examples", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".snn"))
        .collect();
    names.sort();
    let mut checked = Vec::new();
    let mut refused = Vec::new();
    for name in &names {
        match check(name, None) {
            Ok(()) => checked.push(name.as_str()),
            Err(why) => refused.push(format!("{name}: {why}")),
        }
    }
    // shd.snn's hidden layer keeps its synapses in DRAM.
    assert!(refused.is_empty(), "{refused:?}");
    assert_eq!(
        checked,
        ["deep.snn", "large.snn", "recurrent.snn", "shd.snn", "yinyang.snn", "yinyang_eventprop2021.snn"]
    );
}

/// The SGD optimiser templates (with and without momentum) on both backends.
#[test]
fn sgd_kernels_jit_equals_interpreter() {
    for momentum in [0.9, 0.0] {
        let sgd = OptimizerSpec::Sgd { lr: 0.05, momentum, weight_decay: 1e-4 };
        check("yinyang.snn", Some(sgd)).unwrap();
    }
}
