//! Property test of the front end on hostile input: random bytes, random
//! sequences of the grammar's tokens, and random single edits of the
//! examples. For every input: no panic; the CLI's exit status (computed by
//! the CLI's own `exit_status`) is 0 or 1 and agrees with the library; every
//! rejection has at least one labelled span inside the input, and renders.
//!
//! Cases per strategy: `PROPTEST_CASES`, default 10,000.

use miette::{GraphicalReportHandler, GraphicalTheme};
use proptest::prelude::*;
use snnc::cmd::{Source, check, exit_status};
use snnc_compiler::check_source;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

const TOKENS: &[&str] = &[
    "network",
    "train",
    "target",
    "time",
    "population",
    "projection",
    "seed",
    "spinnaker2",
    "lif",
    "spike_source",
    "dense",
    "normal",
    "uniform",
    "constant",
    "latency",
    "spike",
    "yin_yang",
    "csv",
    "synthetic",
    "adam",
    "sgd",
    "exponential",
    "first_spike_cross_entropy",
    "early_high",
    "late_high",
    "zero",
    "true",
    "false",
    "fan_in_sqrt",
    "fan_in",
    "none",
    "batch_parallel",
    "single_copy",
    "dt",
    "steps",
    "tau_mem",
    "tau_syn",
    "threshold",
    "reset",
    "encoding",
    "bias",
    "order",
    "t_min",
    "t_max",
    "clip_low",
    "at",
    "init",
    "mean",
    "std",
    "scale",
    "low",
    "high",
    "value",
    "data",
    "readout",
    "loss",
    "optimizer",
    "schedule",
    "batch",
    "epochs",
    "filter_ambiguous",
    "lr",
    "betas",
    "eps",
    "weight_decay",
    "momentum",
    "per_epoch",
    "xi",
    "alpha",
    "beta",
    "chips",
    "board",
    "clock",
    "mapping",
    "neurons_per_core",
    "features",
    "classes",
    "validation",
    "test",
    "size",
    "input",
    "hidden",
    "output",
    "n",
    "o",
    "i",
    "ms",
    "us",
    "s",
    "Hz",
    "kHz",
    "MHz",
    "GHz",
    "0",
    "1",
    "2",
    "3",
    "20",
    "27",
    "48",
    "300",
    "-1",
    "0.5",
    "1e-3",
    "1e999",
    "1.5",
    "4294967296",
    "\"a.csv\"",
    "\"",
    "{",
    "}",
    "(",
    ")",
    "=",
    "->",
    ",",
    ";",
    "@",
    "// c\n",
    "/*",
    "*/",
    "\n",
    "é",
];

const EXAMPLES: &[(&str, &str)] = &[
    ("yinyang.snn", include_str!("../../examples/yinyang.snn")),
    ("yinyang_eventprop2021.snn", include_str!("../../examples/yinyang_eventprop2021.snn")),
    ("deep.snn", include_str!("../../examples/deep.snn")),
    ("large.snn", include_str!("../../examples/large.snn")),
];

/// The property every input must satisfy.
fn outcome_is_clean(text: &str) -> Result<(), TestCaseError> {
    let src = Source { name: "fuzz.snn".into(), text: text.to_string() };
    let cli = check(&src);
    let status = exit_status(&cli);
    let lib = check_source("fuzz.snn", text);
    prop_assert!(status == 0 || status == 1, "exit status {}", status);
    prop_assert_eq!(status == 0, lib.is_ok());
    if let Err(diags) = lib {
        prop_assert!(!diags.errors().is_empty(), "a rejection without errors");
        for e in diags.errors() {
            let labels: Vec<_> = miette::Diagnostic::labels(e).map(|l| l.collect()).unwrap_or_else(Vec::new);
            prop_assert!(!labels.is_empty(), "no label on: {}", e);
            for l in &labels {
                prop_assert!(l.offset() + l.len() <= text.len(), "label {:?} outside the input", l);
                prop_assert!(text.is_char_boundary(l.offset()) && text.is_char_boundary(l.offset() + l.len()));
            }
        }
    }
    if let Err(snnc::cmd::Failure { class: snnc_compiler::ErrorClass::Rejected, report }) = &cli {
        let mut out = String::new();
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
            .render_report(&mut out, report.as_ref())
            .map_err(|e| TestCaseError::fail(format!("render failed: {e}")))?;
        prop_assert!(!out.is_empty());
    }
    Ok(())
}

#[derive(Clone, Debug)]
enum Edit {
    Delete(usize),
    Insert(&'static str),
    Replace(usize, &'static str),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (1usize..16).prop_map(Edit::Delete),
        prop::sample::select(TOKENS).prop_map(Edit::Insert),
        (1usize..8, prop::sample::select(TOKENS)).prop_map(|(n, t)| Edit::Replace(n, t)),
    ]
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn apply(text: &str, at: usize, e: &Edit) -> String {
    let at = floor_boundary(text, at % (text.len() + 1));
    let (n, insert) = match e {
        Edit::Delete(n) => (*n, ""),
        Edit::Insert(t) => (0, *t),
        Edit::Replace(n, t) => (*n, *t),
    };
    let end = floor_boundary(text, at + n).max(at);
    format!("{}{}{}", &text[..at], insert, &text[end..])
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        outcome_is_clean(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn random_token_sequences_never_panic(
        tokens in prop::collection::vec((prop::sample::select(TOKENS), prop::sample::select(&[" ", "\n", ""][..])), 0..80)
    ) {
        let text: String = tokens.iter().flat_map(|(t, sep)| [*t, *sep]).collect();
        outcome_is_clean(&text)?;
    }

    #[test]
    fn single_edits_of_the_examples_never_panic(which in 0..EXAMPLES.len(), at in any::<usize>(), e in edit()) {
        let (_, text) = EXAMPLES[which];
        outcome_is_clean(&apply(text, at, &e))?;
    }
}

#[test]
fn the_examples_themselves_are_accepted() {
    for (name, text) in EXAMPLES {
        assert!(check_source(name, text).is_ok(), "{name}");
    }
}

#[test]
fn deep_nesting_is_rejected_without_exhausting_the_stack() {
    for opener in ["(", "a(", "{", "x = (", "/* ( */ ("] {
        let text = format!("network n {{ time {{ dt = {} }}", opener.repeat(100_000));
        let diags = check_source("deep.snn", &text).expect_err("rejected");
        let codes: Vec<String> =
            diags.errors().iter().filter_map(|e| miette::Diagnostic::code(e).map(|c| c.to_string())).collect();
        assert_eq!(codes, ["snn::syntax::too_deep"], "{opener}");
    }
}

/// A random feed-forward chain, rendered as `.snn` text below.
#[derive(Clone, Debug)]
struct Chain {
    features: u32,
    bias: bool,
    layers: Vec<u32>,
    steps: u32,
    newlines: bool,
    train_first: bool,
}

fn chain() -> impl Strategy<Value = Chain> {
    (1u32..12, any::<bool>(), prop::collection::vec(1u32..60, 1..5), 2u32..200, any::<bool>(), any::<bool>()).prop_map(
        |(features, bias, layers, steps, newlines, train_first)| Chain {
            features,
            bias,
            layers,
            steps,
            newlines,
            train_first,
        },
    )
}

fn render_chain(c: &Chain) -> String {
    let sep = if c.newlines { "\n" } else { "; " };
    let mut net = format!("network chain {{{sep}time {{ dt = 0.5 ms{sep}steps = {} }}{sep}", c.steps);
    let bias = if c.bias { "; bias = spike(at = 1 steps)" } else { "" };
    net += &format!(
        "population l0 = spike_source({}) {{ encoding = latency(order = early_high, t_min = 0 steps){bias} }}{sep}",
        c.features + u32::from(c.bias)
    );
    for (k, size) in c.layers.iter().enumerate() {
        net += &format!("population l{} = lif({size}) {{ tau_mem = 10 ms{sep}tau_syn = 2 ms }}{sep}", k + 1);
    }
    for k in 0..c.layers.len() {
        net += &format!("projection l{k} -> l{} = dense {{ init = uniform(-1, 1, fan_in) }}{sep}", k + 1);
    }
    net += "}\n";
    let last = *c.layers.last().expect("at least one layer");
    if last < 2 {
        return net;
    }
    let train = format!(
        "train {{ data = synthetic({}, {last}, train = 100 @ seed 7){sep}readout = l{}{sep}batch = 10{sep}epochs = 1 }}\n",
        c.features,
        c.layers.len()
    );
    if c.train_first { train + &net } else { net + &train }
}

proptest! {
    #![proptest_config(config())]

    /// An independent statement of what a generated chain must check to.
    #[test]
    fn random_valid_chains_are_accepted_as_written(c in chain()) {
        let text = render_chain(&c);
        let net = match check_source("chain.snn", &text) {
            Ok(net) => net,
            Err(d) => return Err(TestCaseError::fail(format!("{text}\n{:#?}", d.errors()))),
        };
        let mut sizes = vec![c.features + u32::from(c.bias)];
        sizes.extend(&c.layers);
        let got: Vec<u32> = net.populations().map(|(_, p)| p.size).collect();
        prop_assert_eq!(&got, &sizes);
        prop_assert_eq!(net.time.steps, c.steps);
        let edges: Vec<(usize, usize)> = net.projections().map(|(_, a, b, _)| (a.index(), b.index())).collect();
        let want: Vec<(usize, usize)> = (0..c.layers.len()).map(|k| (k, k + 1)).collect();
        prop_assert_eq!(edges, want);
        let weights: u64 = sizes.windows(2).map(|w| u64::from(w[0]) * u64::from(w[1])).sum();
        prop_assert_eq!(net.trainable_parameters(), weights);
        match &net.train {
            Some(t) => {
                prop_assert_eq!(t.readout.index(), c.layers.len());
                prop_assert_eq!(t.data.feature_count(), c.features);
                prop_assert_eq!(t.data.class_count(), *c.layers.last().expect("a layer"));
            }
            None => prop_assert!(*c.layers.last().expect("a layer") < 2),
        }
    }
}
