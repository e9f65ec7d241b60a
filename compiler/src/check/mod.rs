//! Checker: `.snn` source text -> [`ValidNetwork`].
//!
//! Input: the text of a `.snn` file. It is parsed by [`crate::syntax`], then
//! every block is checked; all errors are collected, not just the first.
//! Output: a [`ValidNetwork`] with every quantity in SI units or steps and
//! every default filled in, or [`Diagnostics`] listing every error.
//!
//! Invariants: never panics, whatever the input; every error carries at least
//! one labelled span inside the input; the network returned satisfies every
//! invariant listed in `network.rs`.

pub mod error;
pub(crate) mod network;
pub(crate) mod params;
pub(crate) mod train;

use std::fmt;

use petgraph::graph::{DiGraph, NodeIndex};

use crate::network::{Connectivity, Population, Projection, Span, TargetSpec, TrainSpec, ValidNetwork};
use crate::syntax::{self, ast::Item};
pub use error::CheckError;
pub use params::fmt_plain;
pub use train::EPOCHS;

/// Every problem found in one source file, rendered by the CLI with miette.
/// Each error is reported as a related diagnostic with its own code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics {
    /// The file name given to [`check_source`].
    pub name: String,
    errors: Vec<CheckError>,
}

impl Diagnostics {
    /// The errors, in the order they were found (source order within a stage).
    pub fn errors(&self) -> &[CheckError] {
        &self.errors
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(f, "{} was rejected: {} error{}", self.name, n, if n == 1 { "" } else { "s" })
    }
}

impl std::error::Error for Diagnostics {}

impl miette::Diagnostic for Diagnostics {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("snn::check::rejected"))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        Some(Box::new(self.errors.iter().map(|e| e as &dyn miette::Diagnostic)))
    }
}

/// Parses and checks a `.snn` source. `name` is the file name shown in
/// diagnostics.
pub fn check_source(name: &str, text: &str) -> Result<ValidNetwork, Diagnostics> {
    let fail = |errors: Vec<CheckError>| Diagnostics { name: name.to_string(), errors };
    let file = syntax::parse(text).map_err(|es| fail(es.into_iter().map(CheckError::from).collect()))?;
    let mut errs = params::Errors::default();

    let keywords =
        |pick: fn(&Item) -> bool| -> Vec<Span> { file.items.iter().filter(|i| pick(i)).map(Item::keyword).collect() };
    let blocks = [
        ("the `network` block", keywords(|i| matches!(i, Item::Network(_)))),
        ("the `train` block", keywords(|i| matches!(i, Item::Train { .. }))),
        ("the `target` block", keywords(|i| matches!(i, Item::Target { .. }))),
        ("the `sweep` block", keywords(|i| matches!(i, Item::Sweep(_)))),
    ];
    for (what, spans) in &blocks {
        for extra in spans.iter().skip(1) {
            errs.push(CheckError::DuplicateBlock {
                what: (*what).into(),
                span: (*extra).into(),
                first: spans[0].into(),
            });
        }
    }
    let networks: Vec<_> =
        file.items.iter().filter_map(|i| if let Item::Network(n) = i { Some(n) } else { None }).collect();
    let trains: Vec<_> = file.items.iter().filter(|i| matches!(i, Item::Train { .. })).collect();
    let targets: Vec<_> = file.items.iter().filter(|i| matches!(i, Item::Target { .. })).collect();

    let Some(net_ast) = networks.first() else {
        errs.push(CheckError::MissingNetwork { span: Span::new(0, 0).into() });
        return Err(fail(errs.list));
    };
    let net = network::check_network(&mut errs, net_ast);
    let train = trains.first().and_then(|item| match item {
        Item::Train { keyword, body } => train::check_train(&mut errs, body, *keyword, &net),
        _ => None,
    });
    let target = match targets.first() {
        Some(Item::Target { keyword, name, body }) => {
            train::check_target(&mut errs, name, body, *keyword, !trains.is_empty(), train.as_ref().map(|t| t.batch))
        }
        _ => Some(TargetSpec::default()),
    };

    if !errs.list.is_empty() {
        return Err(fail(errs.list));
    }
    assemble(net, train, target).ok_or_else(|| fail(Vec::new()))
}

/// Builds the graph once every part checked clean. `None` only if a part is
/// missing without an error having been reported, which the checks rule out.
fn assemble(
    net: network::NetworkParts,
    train: Option<train::TrainParts>,
    target: Option<TargetSpec>,
) -> Option<ValidNetwork> {
    let mut graph = DiGraph::new();
    for p in net.pops {
        graph.add_node(Population { name: p.name, size: p.size?, kind: p.kind?, span: p.span });
    }
    for p in net.projs {
        graph.add_edge(
            NodeIndex::new(p.pre),
            NodeIndex::new(p.post),
            Projection { kind: Connectivity::Dense, init: p.init?, delays: p.delays?, span: p.span },
        );
    }
    let train = match train {
        None => None,
        Some(t) => Some(TrainSpec {
            data: t.data,
            readout: NodeIndex::new(t.readout),
            loss: t.loss,
            regularizer: t.regularizer.map(|r| crate::network::SpikeCountRegularizer {
                populations: r.populations.into_iter().map(NodeIndex::new).collect(),
                strength: r.strength,
                strength_below: r.strength_below,
                target: r.target,
            }),
            optimizer: t.optimizer,
            schedule: t.schedule,
            batch: t.batch,
            epochs: t.epochs,
            seed: t.seed,
            filter_ambiguous: t.filter_ambiguous,
            augment: t.augment,
            span: t.span,
        }),
    };
    Some(ValidNetwork { name: net.name.text, time: net.grid?, graph, train, target: target? })
}

/// A time in seconds, printed in the largest unit that keeps it >= 1
/// (`1 ms`, `20 ms`, `500 us`, `1.5 s`); zero is `0 ms`.
pub fn fmt_time(seconds: f64) -> String {
    let a = seconds.abs();
    if a >= 1.0 {
        format!("{} s", fmt_plain(seconds))
    } else if a >= 1e-3 || a == 0.0 {
        format!("{} ms", fmt_plain(seconds * 1e3))
    } else {
        format!("{} us", fmt_plain(seconds * 1e6))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{LossSpec, TimeValue};

    const NET: &str = "network n {
        time { dt = 1 ms; steps = 40 }
        population i = spike_source(4) { encoding = latency(order = early_high) }
        population h = lif(8)
        population g = lif(6)
        population o = li(3) { tau_mem = 10 ms; tau_syn = 2 ms }
        projection i -> h = dense { init = normal(); delays = 0 ms .. 9 ms step 3 ms }
        projection h -> h = dense { init = normal(); delay = 2 steps }
        projection h -> g = dense { init = normal() }
        projection g -> h = dense { init = normal(); delay = 1 ms }
        projection g -> o = dense { init = normal() }
    }";

    fn check(train: &str) -> ValidNetwork {
        let text = format!("{NET}\ntrain {{ data = yin_yang(); readout = o; batch = 4; epochs = 1; {train} }}");
        check_source("t.snn", &text).unwrap_or_else(|e| panic!("{:?}", miette::Report::new(e)))
    }

    #[test]
    fn cycles_self_projections_delays_and_leaky_readouts_check() {
        let net = check("loss = exp_weighted_voltage_cross_entropy(window = 5 ms .. 30 ms)");
        let delays: Vec<Vec<u32>> = net.projections().map(|(_, _, _, p)| p.delay_steps(net.time.dt)).collect();
        assert_eq!(delays, [vec![0, 3, 6, 9], vec![2], vec![0], vec![1], vec![0]]);
        assert_eq!(net.fan_in(NodeIndex::new(1)), 4 * 4 + 8 + 6, "copies count as fan-in positions");
        assert_eq!(net.trainable_parameters(), 4 * 8 * 4 + 8 * 8 + 8 * 6 + 6 * 8 + 6 * 3);
        assert!(net.graph[NodeIndex::new(3)].li().is_some() && !net.graph[NodeIndex::new(3)].spikes());
        let Some(t) = &net.train else { panic!("a train block") };
        assert_eq!(
            t.loss,
            LossSpec::ExpWeightedVoltageCrossEntropy {
                window: Some((TimeValue::Seconds(5e-3), TimeValue::Seconds(30e-3)))
            }
        );
        // A cycle has a deterministic order: the topological one where it can.
        let order: Vec<usize> = net.topological_order().iter().map(|n| n.index()).collect();
        assert_eq!(order, [0, 1, 2, 3]);
    }

    #[test]
    fn every_voltage_loss_and_the_regulariser_check() {
        for loss in
            ["max_voltage_cross_entropy()", "sum_voltage_cross_entropy()", "exp_weighted_voltage_cross_entropy()"]
        {
            let net = check(&format!(
                "loss = {loss}; regularizer = spike_count(populations = (h, g), strength = 1e-3, target = 4)"
            ));
            let t = net.train.as_ref().expect("a train block");
            assert_eq!(format!("{}()", t.loss.name()), loss);
            let r = t.regularizer.as_ref().expect("a regulariser");
            assert_eq!(r.populations, [NodeIndex::new(1), NodeIndex::new(2)]);
            assert_eq!(
                (r.strength, r.strength_below, r.target),
                (1e-3, 1e-3, 4.0),
                "strength_below defaults to strength"
            );
        }
    }

    #[test]
    fn a_comment_or_a_layout_change_leaves_the_network_the_same() {
        let a = check("loss = max_voltage_cross_entropy()");
        let text = format!(
            "// a comment\n{NET}\n\n\ntrain {{ epochs = 1; batch = 4; data = yin_yang(); readout = o; loss = max_voltage_cross_entropy() }}"
        );
        let b = check_source("t.snn", &text).unwrap();
        assert!(a.same_as(&b));
        let c = check("loss = sum_voltage_cross_entropy()");
        assert!(!a.same_as(&c));
    }
}
