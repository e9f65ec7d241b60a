//! Every `examples/*.snn` checks clean; its `snnc check` summary and DOT
//! graph are snapshots. The Yin-Yang example must equal the network built in
//! code by `yinyang_network`, an independent statement of the seed paper.

use snnc::cmd::check::{dot, summary};
use snnc_compiler::network::{Span, yinyang_network};
use snnc_compiler::{ValidNetwork, check_source};

fn load(path: &std::path::Path) -> ValidNetwork {
    let text = std::fs::read_to_string(path).expect("example is readable");
    let name = path.file_name().expect("file name").to_string_lossy().to_string();
    match check_source(&name, &text) {
        Ok(net) => net,
        Err(d) => panic!("{name} was rejected: {:#?}", d.errors()),
    }
}

#[test]
fn examples_check_clean() {
    insta::glob!("../../examples", "*.snn", |path| {
        let net = load(path);
        insta::assert_snapshot!("summary", summary(&net));
        insta::assert_snapshot!("dot", dot(&net));
    });
}

#[test]
fn yinyang_example_equals_the_network_built_in_code() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let parsed = load(&root.join("examples/yinyang.snn"));
    let built = yinyang_network(120);
    assert_eq!(parsed.name, built.name);
    assert_eq!(parsed.time, built.time);
    let pops =
        |n: &ValidNetwork| n.populations().map(|(_, p)| (p.name.clone(), p.size, p.kind.clone())).collect::<Vec<_>>();
    assert_eq!(pops(&parsed), pops(&built));
    let projs = |n: &ValidNetwork| n.projections().map(|(_, a, b, p)| (a, b, p.kind, p.init)).collect::<Vec<_>>();
    assert_eq!(projs(&parsed), projs(&built));
    let mut train = parsed.train.clone().expect("the example trains");
    train.span = Span::default();
    assert_eq!(Some(train), built.train);
    let mut target = parsed.target.clone();
    target.span = Span::default();
    assert_eq!(target, built.target);
}

#[test]
fn every_population_and_projection_has_a_span_on_its_declaration() {
    insta::glob!("../../examples", "*.snn", |path| {
        let text = std::fs::read_to_string(path).expect("readable");
        let net = load(path);
        for (_, p) in net.populations() {
            let decl = &text[p.span.start..p.span.end];
            assert!(decl.starts_with("population") && (decl.ends_with('}') || decl.ends_with(')')), "{decl}");
            assert!(decl.contains(&p.name));
        }
        for (e, _, _, p) in net.projections() {
            let decl = &text[p.span.start..p.span.end];
            assert!(decl.starts_with("projection") && decl.ends_with('}'), "{decl}");
            let name = net.projection_name(e).replace("->", " ");
            let words: Vec<&str> = name.split(' ').collect();
            assert!(words.iter().all(|w| decl.contains(w)), "{decl}");
        }
    });
}

/// The Yin-Yang example written differently: blocks, parameters and
/// declarations reordered, comments, trailing commas, positional arguments,
/// other units, defaults left out. Each must give the example's summary.
const YINYANG_RESPELLED: &[(&str, &str)] = &[
    (
        "reordered_positional_other_units",
        r#"
/* the target first */ target spinnaker2 {
    mapping = batch_parallel   // a comment
    clock = 300000 kHz
    chips = 1
}
train {
    seed = 0; epochs = 40; batch = 22
    schedule = exponential(0.95)
    optimizer = adam(0.0019, (0.9, 0.999,), 1e-8, 6.5e-7,)
    loss = first_spike_cross_entropy(1.5, 1e-2, 100)
    readout = output
    data = yin_yang(
        train = 5000 @ seed 42,
        validation = 1000 @ seed 41,
        test = 1000 @ seed 40,
    )
}
network yinyang {
    time { steps = 27 steps; dt = 1e-3 s }
    population input = spike_source(5) { bias = spike(); encoding = latency(early_high, 2 steps, clip_low = 0.01) }
    population hidden = lif(size = 120)
    population output = lif(3) { reset = zero; threshold = 1; tau_syn = 5000 us; tau_mem = 0.02 s }
    projection input -> hidden = dense { init = normal(scale = fan_in_sqrt, std = 3.2, mean = 3.2) }
    projection hidden -> output = dense {
        init = normal(
            5.2,
            2.8,
            fan_in_sqrt,
        )
    }
}
"#,
    ),
    (
        "defaults_on_few_lines",
        "network yinyang { time { dt = 1 ms; steps = 27 }; population input = spike_source(5) { encoding = latency(order = early_high); bias = spike }; population hidden = lif(120); population output = lif(3); projection input -> hidden = dense { init = normal(3.2, 3.2, fan_in_sqrt) }; projection hidden -> output = dense { init = normal(5.2, 2.8, fan_in_sqrt) } }\ntrain { data = yin_yang(); readout = output; optimizer = adam(lr = 0.0019, weight_decay = 6.5e-7); schedule = exponential(per_epoch = 0.95); batch = 22; epochs = 40 }\n",
    ),
    (
        "crlf_line_ends_and_byte_order_mark",
        "\u{feff}network yinyang {\r\n  time {\r\n    dt = 1 ms\r\n    steps = 27\r\n  }\r\n  population input = spike_source(5) {\r\n    encoding = latency(order = early_high)\r\n    bias = spike(at = 0 ms)\r\n  }\r\n  population hidden = lif(120)\r\n  population output = lif(3)\r\n  projection input -> hidden = dense { init = normal(3.2, 3.2, fan_in_sqrt) }\r\n  projection hidden -> output = dense { init = normal(5.2, 2.8, fan_in_sqrt) }\r\n}\r\ntrain {\r\n  data = yin_yang()\r\n  readout = output\r\n  optimizer = adam(lr = 0.0019, weight_decay = 6.5e-7)\r\n  schedule = exponential(per_epoch = 0.95)\r\n  batch = 22\r\n  epochs = 40\r\n}\r\n",
    ),
];

#[test]
fn respellings_of_the_yinyang_example_have_its_summary() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let want = summary(&load(&root.join("examples/yinyang.snn")));
    for (name, text) in YINYANG_RESPELLED {
        let net = match check_source(name, text) {
            Ok(net) => net,
            Err(d) => panic!("{name} was rejected: {:#?}", d.errors()),
        };
        let got = summary(&net);
        // `bias at 0 ms` and `bias at 0 steps` are the same spike time.
        let got = got.replace("bias at 0 ms", "bias at 0 steps");
        assert_eq!(got, want, "{name}");
    }
}
