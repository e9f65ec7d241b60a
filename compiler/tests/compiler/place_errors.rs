//! Does-not-fit and invalid-target diagnostics, rendered as the CLI shows
//! them (plain unicode, 100 columns), one snapshot per case. Each case is a
//! `.snn` source whose header shows in the snapshot.

use miette::{GraphicalReportHandler, GraphicalTheme, NamedSource, Report};
use snnc_compiler::check_source;
use snnc_compiler::driver::{MapError, compile, map_network, map_onto};
use snnc_compiler::machine::Machine;
use snnc_compiler::network::{MachineSize, TargetSpec};

/// A feed-forward network: a spike source of `sizes[0]` inputs (bias
/// included), LIF layers of the other sizes, trained on batch `batch`.
fn snn(sizes: &[u32], batch: u32, target: &str) -> String {
    let mut s = String::from("network net {\n    time { dt = 1 ms; steps = 50 }\n");
    s += &format!(
        "    population input = spike_source({}) {{\n        encoding = latency(order = early_high, t_min = 2 steps)\n        bias = spike(at = 0 steps)\n    }}\n",
        sizes[0]
    );
    let names: Vec<String> =
        (1..sizes.len()).map(|i| if i + 1 == sizes.len() { "output".into() } else { format!("h{i}") }).collect();
    for (name, size) in names.iter().zip(&sizes[1..]) {
        s += &format!("    population {name} = lif({size}) {{ tau_mem = 20 ms; tau_syn = 5 ms }}\n");
    }
    let mut pre = "input".to_string();
    for name in &names {
        s += &format!(
            "    projection {pre} -> {name} = dense {{ init = normal(mean = 1, std = 1, scale = fan_in_sqrt) }}\n"
        );
        pre = name.clone();
    }
    s += "}\n\ntrain {\n";
    s += &format!(
        "    data = synthetic(features = {}, classes = {}, train = 100 @ seed 1, validation = 10 @ seed 2, test = 10 @ seed 3)\n",
        sizes[0] - 1,
        sizes[sizes.len() - 1]
    );
    s += "    readout = output\n    loss = first_spike_cross_entropy(xi = 1.5 steps, alpha = 1e-2, beta = 100 steps)\n";
    s += &format!("    optimizer = adam(lr = 1e-3)\n    batch = {batch}\n    epochs = 1\n    seed = 0\n}}\n\n");
    s += &format!("target spinnaker2 {{ {target} }}\n");
    s
}

fn render(report: Report) -> String {
    let mut out = String::new();
    GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .render_report(&mut out, report.as_ref())
        .expect("rendering to a string");
    out
}

/// The rendered error of compiling `text`; panics if it compiles.
fn error(text: &str) -> String {
    match compile("net.snn", text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => render(Report::new(e).with_source_code(NamedSource::new("net.snn", text.to_string()))),
    }
}

fn check(name: &str, text: &str) {
    insta::with_settings!({ description => text.to_string(), omit_expression => true }, {
        insta::assert_snapshot!(name, error(text));
    });
}

#[test]
fn batch_too_large_for_one_chip() {
    check("batch_too_large", &snn(&[5, 120, 3], 40, "chips = 1"));
}

#[test]
fn large_batch_of_16_on_the_board() {
    check("large_batch_16", &snn(&[785, 2000, 2000, 2000, 10], 16, "board = 48"));
}

#[test]
fn single_copy_too_large_for_one_chip() {
    check("single_copy_one_chip", &snn(&[785, 2000, 2000, 10], 16, "chips = 1\n    mapping = single_copy"));
}

#[test]
fn too_large_even_for_a_board() {
    check("too_large_for_a_board", &snn(&[785, 5000, 5000, 10], 1, "board = 48"));
}

/// With its synapses kept in SRAM (`synapses = sram`; by default they would
/// go to DRAM).
#[test]
fn fan_in_too_large_for_one_neuron() {
    check("neuron_too_large", &snn(&[20001, 10, 3], 1, "chips = 1; synapses = sram"));
}

/// M6: 30,000 steps leave no room for one neuron's records; the trial's
/// length is to blame, not the fan-in.
#[test]
fn trial_too_long_for_a_neuron() {
    check("trial_too_long", &snn(&[6, 120, 3], 1, "chips = 1").replace("steps = 50", "steps = 30000"));
}

/// Without a `train` block there are no gradients to blame.
#[test]
fn fan_in_too_large_forward_only() {
    let text = snn(&[20001, 10, 3], 1, "chips = 1");
    let (head, rest) = text.split_once("train {").unwrap();
    let (_, target) = rest.split_once("}\n\n").unwrap();
    check("neuron_too_large_forward_only", &format!("{head}{target}"));
}

#[test]
fn loss_too_large() {
    check("loss_too_large", &snn(&[5, 12000], 1, "board = 48"));
}

#[test]
fn neurons_per_core_makes_it_too_large() {
    check("neurons_per_core", &snn(&[5, 120, 3], 22, "chips = 1\n    neurons_per_core = 8"));
}

#[test]
fn optimiser_does_not_fit_after_the_copies() {
    check("optimiser_does_not_fit", &snn(&[785, 1200, 10], 1, "chips = 1"));
}

#[test]
fn router_table_full() {
    // A router of 20 entries (the real one has 16,384) to reach the limit.
    let text = snn(&[5, 120, 3], 4, "chips = 1\n    neurons_per_core = 16");
    let net = check_source("net.snn", &text).expect("checks");
    let mut machine = Machine::from_target(&net.target).expect("valid target");
    machine.spec.router_entries = 20;
    let e = map_onto(&net, machine).expect_err("the table is full");
    assert!(matches!(e, MapError::Route(_)));
    let shown = render(Report::new(e).with_source_code(NamedSource::new("net.snn", text.clone())));
    insta::with_settings!({ description => text, omit_expression => true }, {
        insta::assert_snapshot!("router_table_full", shown);
    });
}

/// `gradients = auto`: a chain whose routes overflow a router table (one
/// entry per copy and slice) falls back to the direct scheme, whose routes
/// merge; a forced chain is refused.
#[test]
fn an_unroutable_chain_falls_back_to_direct() {
    let text = snn(&[5, 120, 3], 4, "chips = 1\n    neurons_per_core = 16");
    let net = check_source("net.snn", &text).expect("checks");
    let mut machine = Machine::from_target(&net.target).expect("valid target");
    machine.spec.router_entries = 40;
    let m = map_onto(&net, machine.clone()).expect("maps with direct gradients");
    let g = m.cores.gradients;
    assert!(!g.chain && !g.forced && g.chain_unroutable, "{g:?}");
    assert!(g.chain_cycles.is_some_and(|c| c < g.direct_cycles), "{g:?}");
    let mut chain = net.clone();
    chain.target.gradients = snnc_compiler::network::GradientScheme::Chain;
    assert!(matches!(map_onto(&chain, machine), Err(MapError::Route(_))));
}

#[test]
fn invalid_targets_in_source() {
    check("chips_64", &snn(&[5, 120, 3], 22, "chips = 64"));
    check("clock_200", &snn(&[5, 120, 3], 22, "chips = 1\n    clock = 200 MHz"));
    check("synapses_ssd", &snn(&[5, 120, 3], 22, "chips = 1; synapses = ssd"));
}

/// Only a training layer keeps its synapses in DRAM.
#[test]
fn synapses_in_dram_without_training() {
    let text = snn(&[5, 120, 3], 1, "chips = 1; synapses = dram");
    let (head, rest) = text.split_once("train {").unwrap();
    let (_, target) = rest.split_once("}\n\n").unwrap();
    check("synapses_dram_forward_only", &format!("{head}{target}"));
}

#[test]
fn invalid_targets_built_in_code() {
    // Networks built in code skip the checker; the machine model rejects them.
    let mut net = snnc_compiler::network::yinyang_network(120);
    let cases = [
        ("chips_0", TargetSpec { machine: MachineSize::Chips(0), ..TargetSpec::default() }),
        ("clock_250", TargetSpec { clock_hz: 250e6, ..TargetSpec::default() }),
        ("neurons_per_core_0", TargetSpec { neurons_per_core: Some(0), ..TargetSpec::default() }),
    ];
    for (name, target) in cases {
        net.target = target;
        let e = map_network(&net).expect_err("invalid target");
        assert!(matches!(e, MapError::Target(_)), "{name}");
        insta::assert_snapshot!(format!("built_{name}"), render(Report::new(e)));
    }
}
