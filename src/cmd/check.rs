//! `snnc check` and `snnc graph`.
//!
//! Input: a `.snn` file. Output: a deterministic text summary of the checked
//! network, or its Graphviz DOT graph (nodes in declaration order); the
//! file's diagnostics when it is rejected.

use std::fmt::Write as _;
use std::path::PathBuf;

use snnc_compiler::ValidNetwork;
use snnc_compiler::check::{fmt_plain, fmt_time};
use snnc_compiler::network::{
    DataSpec, Encoding, Init, InitScale, Integration, LatencyOrder, LossSpec, MachineSize, Mapping, OptimizerSpec,
    PopulationKind, Reset, Schedule, SplitSpec, TimeValue,
};

use super::{CmdResult, Out, load_network};

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// The .snn file to check.
    pub file: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct GraphArgs {
    /// The .snn file to draw.
    pub file: PathBuf,
}

pub fn check(args: CheckArgs) -> CmdResult {
    let (_src, net) = load_network(&args.file)?;
    let mut out = Out::new();
    out.text(&summary(&net));
    out.finish()
}

pub fn graph(args: GraphArgs) -> CmdResult {
    let (_src, net) = load_network(&args.file)?;
    let mut out = Out::new();
    out.text(&dot(&net));
    out.finish()
}

/// `, integration exact` for a population not stepped by the default scheme.
fn integration(i: Integration) -> String {
    if i == Integration::default() { String::new() } else { format!(", integration {}", i.word()) }
}

fn time_value(v: TimeValue) -> String {
    match v {
        TimeValue::Seconds(s) => fmt_time(s),
        TimeValue::Steps(n) => format!("{} steps", fmt_plain(n)),
    }
}

fn scale(s: InitScale) -> &'static str {
    match s {
        InitScale::None => "none",
        InitScale::FanInSqrt => "fan_in_sqrt",
        InitScale::FanIn => "fan_in",
    }
}

fn init(i: &Init) -> String {
    match *i {
        Init::Normal { mean, std, scale: s } => {
            format!("normal(mean = {}, std = {}, scale = {})", fmt_plain(mean), fmt_plain(std), scale(s))
        }
        Init::Uniform { low, high, scale: s } => {
            format!("uniform(low = {}, high = {}, scale = {})", fmt_plain(low), fmt_plain(high), scale(s))
        }
        Init::Constant { value, scale: s } => format!("constant(value = {}, scale = {})", fmt_plain(value), scale(s)),
    }
}

fn split(s: SplitSpec) -> String {
    format!("{} @ seed {}", s.size, s.seed)
}

fn data(d: &DataSpec) -> String {
    match d {
        DataSpec::YinYang { train, validation, test } => {
            format!("yin_yang(train = {}, validation = {}, test = {})", split(*train), split(*validation), split(*test))
        }
        DataSpec::Csv { train, validation, test, features, classes } => {
            let mut s = format!("csv(train = {train:?}");
            if let Some(v) = validation {
                let _ = write!(s, ", validation = {v:?}");
            }
            if let Some(t) = test {
                let _ = write!(s, ", test = {t:?}");
            }
            let _ = write!(s, "), {features} features, {classes} classes");
            s
        }
        DataSpec::Synthetic { features, classes, train, validation, test } => format!(
            "synthetic(features = {features}, classes = {classes}, train = {}, validation = {}, test = {})",
            split(*train),
            split(*validation),
            split(*test)
        ),
        other => other.event_summary().unwrap_or_default(),
    }
}

/// A projection's delays as the summary shows them: nothing for the
/// default (one copy, no delay), `, delay 3 steps`, or a delay line's range.
fn delays(p: &snnc_compiler::network::Projection) -> String {
    match p.delays.as_slice() {
        [d] if d.in_steps(1.0) == 0.0 => String::new(),
        [d] => format!(", delay {}", time_value(*d)),
        [first, .., last] => {
            format!(", delays {} .. {} ({} copies)", time_value(*first), time_value(*last), p.delays.len())
        }
        [] => String::new(),
    }
}

/// The `snnc check` summary of a checked network.
pub fn summary(net: &ValidNetwork) -> String {
    let mut o = String::new();
    let dt = net.time.dt;
    let _ = writeln!(
        o,
        "network {}: dt = {}, {} steps ({})",
        net.name,
        fmt_time(dt),
        net.time.steps,
        fmt_time(dt * f64::from(net.time.steps))
    );
    let width = net.populations().map(|(_, p)| p.name.len()).max().unwrap_or(0);
    let _ = writeln!(o, "populations:");
    for (_, p) in net.populations() {
        let (kind, detail) = match &p.kind {
            PopulationKind::SpikeSource(s) => {
                let l = match &s.encoding {
                    Encoding::Latency(l) => l,
                    Encoding::Events(e) => {
                        let bias = s.bias.map_or("no bias".to_string(), |b| format!("bias at {}", time_value(b)));
                        let detail =
                            format!("{} inputs + {}; {}", s.feature_count(p.size), bias, e.summary(dt, net.time.steps));
                        let _ = writeln!(o, "  {:width$}  {:<12} {:>7}  {detail}", p.name, "spike_source", p.size);
                        continue;
                    }
                };
                let order = match l.order {
                    LatencyOrder::EarlyHigh => "early_high",
                    LatencyOrder::LateHigh => "late_high",
                };
                let t_max = l.t_max.map_or(format!("{} steps (last)", net.time.steps - 1), time_value);
                let bias = s.bias.map_or("no bias".to_string(), |b| format!("bias at {}", time_value(b)));
                (
                    "spike_source",
                    format!(
                        "{} features + {}; latency {order}, t_min {}, t_max {}, clip_low {}",
                        s.feature_count(p.size),
                        bias,
                        time_value(l.t_min),
                        t_max,
                        fmt_plain(l.clip_low)
                    ),
                )
            }
            PopulationKind::Lif(l) => {
                let reset = match l.reset {
                    Reset::Zero => "zero",
                };
                (
                    "lif",
                    format!(
                        "tau_mem {}, tau_syn {}, threshold {}, reset {reset}{}",
                        fmt_time(l.tau_mem),
                        fmt_time(l.tau_syn),
                        fmt_plain(l.threshold),
                        integration(l.integration)
                    ),
                )
            }
            PopulationKind::Li(l) => (
                "li",
                format!(
                    "tau_mem {}, tau_syn {}, no threshold (leaky integrator){}",
                    fmt_time(l.tau_mem),
                    fmt_time(l.tau_syn),
                    integration(l.integration)
                ),
            ),
        };
        let _ = writeln!(o, "  {:width$}  {kind:<12} {:>7}  {detail}", p.name, p.size);
    }
    let _ = writeln!(o, "projections:");
    let names: Vec<String> = net.projections().map(|(e, ..)| net.projection_name(e)).collect();
    let pwidth = names.iter().map(String::len).max().unwrap_or(0);
    for ((_, a, b, pr), name) in net.projections().zip(&names) {
        let synapses = u64::from(net.graph[a].size) * u64::from(net.graph[b].size) * pr.copies() as u64;
        let _ = writeln!(o, "  {name:pwidth$}  dense {synapses:>9} synapses  init {}{}", init(&pr.init), delays(pr));
    }
    let size_of = |f: &dyn Fn(&snnc_compiler::network::Population) -> bool| -> u64 {
        net.populations().filter(|(_, p)| f(p)).map(|(_, p)| u64::from(p.size)).sum()
    };
    let neurons = size_of(&|_| true);
    let lif = size_of(&|p| p.lif().is_some());
    let li = size_of(&|p| p.li().is_some());
    let li_text = if li > 0 { format!(", {li} li") } else { String::new() };
    let synapses: u64 = net.trainable_parameters();
    let _ = writeln!(
        o,
        "totals: {neurons} neurons ({lif} lif{li_text}, {} inputs), {synapses} synapses, {} trainable parameters",
        neurons - lif - li,
        net.trainable_parameters()
    );
    match &net.train {
        None => {
            let _ = writeln!(o, "train: none");
        }
        Some(t) => {
            let optimizer = match t.optimizer {
                OptimizerSpec::Adam { lr, beta1, beta2, eps, weight_decay } => format!(
                    "adam(lr = {}, betas = ({}, {}), eps = {}, weight_decay = {})",
                    fmt_plain(lr),
                    fmt_plain(beta1),
                    fmt_plain(beta2),
                    fmt_plain(eps),
                    fmt_plain(weight_decay)
                ),
                OptimizerSpec::Sgd { lr, momentum, weight_decay } => format!(
                    "sgd(lr = {}, momentum = {}, weight_decay = {})",
                    fmt_plain(lr),
                    fmt_plain(momentum),
                    fmt_plain(weight_decay)
                ),
            };
            let schedule = match t.schedule {
                Schedule::Constant => "constant".to_string(),
                Schedule::Exponential { per_epoch } => format!("exponential(per_epoch = {})", fmt_plain(per_epoch)),
            };
            let _ = writeln!(o, "train:");
            let _ = writeln!(o, "  data       {}", data(&t.data));
            let _ = writeln!(o, "  readout    {} ({} classes)", net.graph[t.readout].name, net.graph[t.readout].size);
            let loss = match t.loss {
                LossSpec::FirstSpikeCrossEntropy { xi, alpha, beta } => format!(
                    "first_spike_cross_entropy(xi = {}, alpha = {}, beta = {})",
                    time_value(xi),
                    fmt_plain(alpha),
                    time_value(beta)
                ),
                LossSpec::MaxVoltageCrossEntropy | LossSpec::SumVoltageCrossEntropy => format!("{}()", t.loss.name()),
                LossSpec::ExpWeightedVoltageCrossEntropy { window } => {
                    let w = window.map_or("the whole trial".to_string(), |(a, b)| {
                        format!("{} .. {}", time_value(a), time_value(b))
                    });
                    format!("exp_weighted_voltage_cross_entropy(window = {w})")
                }
            };
            let _ = writeln!(o, "  loss       {loss}");
            if let Some(r) = &t.regularizer {
                let pops: Vec<&str> = r.populations.iter().map(|&p| net.graph[p].name.as_str()).collect();
                let _ = writeln!(
                    o,
                    "  regularizer spike_count(populations = ({}), strength = {}, strength_below = {}, target = {})",
                    pops.join(", "),
                    fmt_plain(r.strength),
                    fmt_plain(r.strength_below),
                    fmt_plain(r.target)
                );
            }
            let _ = writeln!(o, "  optimizer  {optimizer}");
            let _ = writeln!(o, "  schedule   {schedule}");
            let _ = writeln!(
                o,
                "  batch {}, epochs {}, seed {}, filter_ambiguous {}",
                t.batch, t.epochs, t.seed, t.filter_ambiguous
            );
            if !t.augment.is_empty() {
                let _ = writeln!(o, "  augment    {}", snnc_compiler::network::augment_summary(&t.augment));
            }
        }
    }
    let machine = match net.target.machine {
        MachineSize::Chips(n) => format!("chips = {n}"),
        MachineSize::Board48 => "board = 48".to_string(),
    };
    let mapping = match (net.target.mapping, net.target.copies) {
        (Mapping::BatchParallel, Some(n)) => format!("batch_parallel, copies = {n}"),
        (Mapping::BatchParallel, None) => "batch_parallel".to_string(),
        (Mapping::SingleCopy, _) => "single_copy".to_string(),
    };
    let npc = net.target.neurons_per_core.map_or("placer's choice".to_string(), |n| n.to_string());
    let _ = writeln!(
        o,
        "target spinnaker2: {machine}, clock = {} MHz, mapping = {mapping}, gradients = {}, neurons_per_core = {npc}",
        fmt_plain(net.target.clock_hz / 1e6),
        net.target.gradients.name()
    );
    o
}

/// The network as a Graphviz DOT digraph: one node per population in
/// declaration order, one edge per projection labelled with its synapses.
pub fn dot(net: &ValidNetwork) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "digraph \"{}\" {{", net.name);
    let _ = writeln!(o, "    rankdir=LR;");
    let _ = writeln!(o, "    node [shape=box, fontname=\"Helvetica\"];");
    let readout = net.train.as_ref().map(|t| t.readout);
    for (i, p) in net.populations() {
        let (kind, shape) = match p.kind {
            PopulationKind::SpikeSource(_) => ("spike_source", ", shape=invhouse"),
            PopulationKind::Lif(_) => ("lif", ""),
            PopulationKind::Li(_) => ("li", ", style=rounded"),
        };
        let role = if Some(i) == readout { ", peripheries=2" } else { "" };
        let _ = writeln!(o, "    \"{}\" [label=\"{}\\n{}({})\"{shape}{role}];", p.name, p.name, kind, p.size);
    }
    for (_, a, b, pr) in net.projections() {
        let synapses = u64::from(net.graph[a].size) * u64::from(net.graph[b].size) * pr.copies() as u64;
        let _ = writeln!(
            o,
            "    \"{}\" -> \"{}\" [label=\"dense {synapses}{}\"];",
            net.graph[a].name,
            net.graph[b].name,
            delays(pr)
        );
    }
    let _ = writeln!(o, "}}");
    o
}
