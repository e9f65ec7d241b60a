//! A spec given as text, loaded the way every emulator test needs it:
//! checked, mapped, its training data prepared (data paths relative to the
//! examples), its initial weights drawn (seed 0) and lowered.

use std::path::Path;

use snnc_compiler::driver::{Mapped, map_network};
use snnc_compiler::lower::{Program, lower};
use snnc_compiler::network::OptimizerSpec;
use snnc_runtime::train::init::init_weights;
use snnc_runtime::train::trainer::{Prepared, prepare};

pub struct Loaded {
    pub p: Prepared,
    pub mapped: Mapped,
    pub program: Program,
    pub weights: Vec<Vec<f32>>,
}

/// Loads `text` (named `name` in diagnostics), its optimiser replaced by
/// `optimizer` when given; panics with the diagnostic and the spec.
pub fn load(name: &str, text: &str, optimizer: Option<OptimizerSpec>) -> Loaded {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let fail = |e: &dyn std::fmt::Debug| -> ! { panic!("{name}: {e:?}\n{text}") };
    let mut net = snnc_compiler::check_source(name, text).unwrap_or_else(|e| fail(&e));
    if let (Some(o), Some(t)) = (optimizer, net.train.as_mut()) {
        t.optimizer = o;
    }
    let mapped = map_network(&net).unwrap_or_else(|e| fail(&e));
    let p = prepare(&net, &dir).unwrap_or_else(|e| fail(&e));
    let weights = init_weights(&p.plan, 0);
    let program = lower(&net, &mapped, &weights).unwrap_or_else(|e| fail(&e));
    Loaded { p, mapped, program, weights }
}

/// [`load`] of `examples/<example>`.
pub fn load_example(example: &str) -> Loaded {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let text = std::fs::read_to_string(dir.join(example)).expect("the example");
    load(example, &text, None)
}
