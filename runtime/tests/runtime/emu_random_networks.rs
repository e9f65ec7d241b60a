//! Random networks train bit-identically in the emulator and in the
//! reference trainer. Feed-forward ones: 1 to 3 hidden layers of 1 to 14 neurons, a chain
//! plus random skip projections (from the input or any earlier layer, so
//! layers fork and take mixed fan-ins), sometimes a dead-end layer, every population split at a random
//! `neurons_per_core` (down to 1), a random batch ([`Copies`]: 2 or 3 copies
//! of a sample each, one copy for the whole batch, or two copies of 2 or 3
//! samples each), 4 to 39 steps, on two chips. Each case trains two epochs on 36
//! Yin-Yang points in both backends and compares every epoch's losses and
//! accuracies, the weights and the optimiser state. And networks of the
//! whole model class (`docs/contract.md`): recurrent self-projections and
//! cycles with delays, delay-line inputs, `lif` readouts with the
//! first-spike loss or `li` readouts with each voltage loss, the spike-count
//! regulariser, split populations, either membrane integration per
//! population (`integration = exact` or the default), on two chips.

use crate::load;

use std::fmt::Write;

use load::{Loaded, load};
use proptest::prelude::*;
use snnc_runtime::emu::Emulator;
use snnc_runtime::train::trainer::{TrainState, run_epoch};

/// How a random network maps its batch.
#[derive(Clone, Copy, Debug)]
enum Copies {
    /// A copy per sample (`mapping = batch_parallel`).
    PerSample,
    /// One copy for the batch (`mapping = single_copy`).
    One,
    /// Two copies of half the batch each (`copies = 2`, the batch doubled).
    Two,
}

impl Copies {
    fn of(choice: u8) -> Copies {
        match choice {
            0..=5 => Copies::PerSample,
            6 | 7 => Copies::One,
            _ => Copies::Two,
        }
    }

    /// The batch for a drawn batch of `b`.
    fn batch(self, b: u32) -> u32 {
        match self {
            Copies::Two => 2 * b,
            _ => b,
        }
    }

    /// The target block's mapping lines.
    fn lines(self) -> &'static str {
        match self {
            Copies::PerSample => "    mapping = batch_parallel",
            Copies::One => "    mapping = single_copy",
            Copies::Two => "    mapping = batch_parallel\n    copies = 2",
        }
    }
}

/// The spec text of one random network.
fn spec(
    hidden: &[u32],
    skips: &[(usize, usize)],
    dead: Option<usize>,
    per_core: u32,
    batch: u32,
    copies: Copies,
    steps: u32,
) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "network random {{\n    time {{ dt = 1 ms; steps = {steps} }}");
    let _ = writeln!(
        t,
        "    population input = spike_source(5) {{\n        encoding = latency(order = early_high, t_min = 2 steps, clip_low = 0.01)\n        bias     = spike(at = 0 steps)\n    }}"
    );
    // Populations 0 = input, 1..=h hidden, h+1 = out.
    let names: Vec<String> = std::iter::once("input".to_string())
        .chain((1..=hidden.len()).map(|i| format!("h{i}")))
        .chain(std::iter::once("out".to_string()))
        .collect();
    for (i, &n) in hidden.iter().enumerate() {
        let _ = writeln!(t, "    population h{} = lif({n})", i + 1);
    }
    let _ = writeln!(t, "    population out = lif(3)");
    // A dead end: a layer whose spikes go nowhere (no error reaches it).
    if let Some(from) = dead {
        let _ = writeln!(t, "    population dead = lif(4)");
        let _ = writeln!(
            t,
            "    projection {} -> dead = dense {{ init = normal(mean = 3.0, std = 2.0, scale = fan_in_sqrt) }}",
            names[from.min(names.len() - 2)]
        );
    }
    let mut edges: Vec<(usize, usize)> = (0..names.len() - 1).map(|i| (i, i + 1)).collect();
    for &(a, b) in skips {
        if a < b && b < names.len() && !edges.contains(&(a, b)) {
            edges.push((a, b));
        }
    }
    for (a, b) in edges {
        let mean = if b == names.len() - 1 { 5.0 } else { 3.5 };
        let _ = writeln!(
            t,
            "    projection {} -> {} = dense {{ init = normal(mean = {mean}, std = 2.0, scale = fan_in_sqrt) }}",
            names[a], names[b]
        );
    }
    let _ = writeln!(t, "}}\ntrain {{\n    data    = yin_yang(train = 36, validation = 12, test = 12)");
    let _ = writeln!(t, "    readout = out\n    batch   = {}\n    epochs  = 2\n}}", copies.batch(batch));
    let _ =
        writeln!(t, "target spinnaker2 {{\n    chips = 2\n{}\n    neurons_per_core = {per_core}\n}}", copies.lines());
    t
}

fn trains_identically(text: &str) {
    let Loaded { p, mapped, program, weights } = load("random.snn", text, None);
    let mut emu = Emulator::new(program, &mapped.machine, &mapped.routing.tables).unwrap();
    let mut reference = TrainState::new(&p, 0, Some(weights.clone()));
    let mut emulated = TrainState::new(&p, 0, Some(weights));
    for _ in 0..2 {
        let want = run_epoch(&p, &mut reference, &mut |_, _| {}).unwrap();
        let got = snnc_runtime::emu::train::run_epoch(&p, &mut emulated, &mut emu, &mut |_, _| {})
            .unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        let numbers = |m: &snnc_runtime::train::trainer::EpochMetrics| {
            (
                m.train_loss.to_bits(),
                m.train_accuracy.to_bits(),
                m.validation_loss.map(f64::to_bits),
                m.validation_accuracy.map(f64::to_bits),
            )
        };
        assert_eq!(numbers(&got), numbers(&want), "{text}");
        assert_eq!(emulated.weights, reference.weights, "{text}");
        assert_eq!(emulated.optimizer, reference.optimizer, "{text}");
    }
}

/// One random network of the whole model class.
#[derive(Clone, Debug)]
struct Temporal {
    hidden: Vec<u32>,
    /// Per hidden layer: a self-projection with this delay.
    recurrent: Vec<Option<u32>>,
    /// A projection from the last hidden layer back to the first, with this delay.
    back: Option<u32>,
    /// The input projection's delay line: copies and spacing (steps).
    line: (u32, u32),
    /// 0: lif + first spike; 1: max; 2: sum; 3: exp-weighted (whole); 4: exp-weighted window.
    readout: u8,
    regularise: bool,
    per_core: u32,
    copies: Copies,
    steps: u32,
    /// Per population (hidden layers, then the readout): `integration = exact`.
    exact: Vec<bool>,
}

/// A population's body: `{ integration = exact }` or none.
fn body(exact: bool) -> &'static str {
    if exact { " { integration = exact }" } else { "" }
}

fn temporal_spec(n: &Temporal) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "network temporal {{\n    time {{ dt = 1 ms; steps = {} }}", n.steps);
    let _ = writeln!(
        t,
        "    population input = spike_source(5) {{\n        encoding = latency(order = early_high, t_min = 2 steps, clip_low = 0.01)\n        bias     = spike(at = 0 steps)\n    }}"
    );
    for (i, &size) in n.hidden.iter().enumerate() {
        let _ = writeln!(t, "    population h{} = lif({size}){}", i + 1, body(n.exact[i]));
    }
    let li = n.readout > 0;
    let _ = writeln!(t, "    population out = {}(3){}", if li { "li" } else { "lif" }, body(n.exact[n.hidden.len()]));
    let (copies, spacing) = n.line;
    let delays = if copies > 1 {
        format!("; delays = 0 steps .. {} steps step {spacing} steps", (copies - 1) * spacing)
    } else {
        String::new()
    };
    let _ = writeln!(
        t,
        "    projection input -> h1 = dense {{ init = normal(mean = 3.0, std = 2.0, scale = fan_in_sqrt){delays} }}"
    );
    for i in 1..n.hidden.len() {
        let _ = writeln!(
            t,
            "    projection h{i} -> h{} = dense {{ init = normal(mean = 3.0, std = 2.0, scale = fan_in_sqrt) }}",
            i + 1
        );
    }
    for (i, d) in n.recurrent.iter().enumerate() {
        if let Some(d) = d {
            let _ = writeln!(
                t,
                "    projection h{0} -> h{0} = dense {{ init = normal(mean = 0.0, std = 1.0, scale = fan_in_sqrt); delay = {d} steps }}",
                i + 1
            );
        }
    }
    let last = n.hidden.len();
    if let Some(d) = n.back.filter(|_| last > 1) {
        let _ = writeln!(
            t,
            "    projection h{last} -> h1 = dense {{ init = normal(mean = 0.5, std = 1.0, scale = fan_in_sqrt); delay = {d} steps }}"
        );
    }
    let mean = if li { 1.0 } else { 5.0 };
    let _ = writeln!(
        t,
        "    projection h{last} -> out = dense {{ init = normal(mean = {mean}, std = 2.0, scale = fan_in_sqrt) }}"
    );
    let _ = writeln!(t, "}}\ntrain {{\n    data    = yin_yang(train = 36, validation = 12, test = 12)");
    let loss = match n.readout {
        0 => "first_spike_cross_entropy()".to_string(),
        1 => "max_voltage_cross_entropy()".to_string(),
        2 => "sum_voltage_cross_entropy()".to_string(),
        3 => "exp_weighted_voltage_cross_entropy()".to_string(),
        _ => format!("exp_weighted_voltage_cross_entropy(window = 2 steps .. {} steps)", n.steps - 1),
    };
    let _ =
        writeln!(t, "    readout = out\n    loss    = {loss}\n    batch   = {}\n    epochs  = 2", n.copies.batch(3));
    if n.regularise {
        let _ = writeln!(t, "    regularizer = spike_count(populations = h1, strength = 1e-3, target = 2)");
    }
    let _ = writeln!(t, "}}");
    let _ = writeln!(
        t,
        "target spinnaker2 {{\n    chips = 2\n{}\n    neurons_per_core = {}\n}}",
        n.copies.lines(),
        n.per_core
    );
    t
}

fn temporal() -> impl Strategy<Value = Temporal> {
    (
        prop::collection::vec(1u32..10, 1..3),
        prop::collection::vec(prop::option::weighted(0.6, 0u32..4), 2),
        prop::option::weighted(0.4, 0u32..3),
        (1u32..4, 1u32..4),
        0u8..5,
        prop::bool::weighted(0.3),
        1u32..6,
        0u8..10,
        12u32..32,
        prop::collection::vec(prop::bool::weighted(0.4), 3),
    )
        .prop_map(|(hidden, recurrent, back, line, readout, regularise, per_core, copies, steps, exact)| {
            Temporal {
                recurrent: recurrent.into_iter().take(hidden.len()).collect(),
                hidden,
                back,
                line,
                readout,
                regularise,
                per_core,
                copies: Copies::of(copies),
                steps,
                exact,
            }
        })
}

/// 64 cases per run (`PROPTEST_CASES` overrides).
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_networks_train_identically(
        hidden in prop::collection::vec(1u32..15, 1..4),
        skips in prop::collection::vec((0usize..5, 0usize..5), 0..4),
        dead in prop::option::weighted(0.3, 0usize..4),
        per_core in 1u32..6,
        batch in 2u32..4,
        copies in 0u8..10,
        steps in 4u32..40,
    ) {
        trains_identically(&spec(&hidden, &skips, dead, per_core, batch, Copies::of(copies), steps));
    }

    #[test]
    fn random_networks_of_the_model_class_train_identically(n in temporal()) {
        trains_identically(&temporal_spec(&n));
    }
}
