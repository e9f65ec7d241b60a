//! The `train` and `target` blocks.
//!
//! Invariant: when no error was pushed, the readout is a layer with no
//! outgoing projection whose kind fits the loss (`lif` for the first-spike
//! loss, `li` for the voltage losses), the data set's class count equals the
//! readout's size, its feature count equals the input's feature count, and
//! a regulariser names `lif` populations.

// Each loss's parameters and their checks live in its folder (`compiler/src/losses/`).
#[path = "../losses/exp_weighted_voltage/check.rs"]
mod exp_weighted_voltage;
#[path = "../losses/first_spike/check.rs"]
mod first_spike;
#[path = "../losses/max_voltage/check.rs"]
mod max_voltage;
#[path = "../losses/spike_count/check.rs"]
mod spike_count;
#[path = "../losses/sum_voltage/check.rs"]
mod sum_voltage;

use super::error::CheckError;
use super::network::NetworkParts;
use super::params::{Errors, Given, Params, Shape, sp};
use crate::network::{
    Augment, DataSpec, Encoding, EventSet, EventValidation, GradientScheme, LossSpec, MachineSize, Mapping,
    OptimizerSpec, OrderTask, PopulationKind, Schedule, Span, SplitSpec, Synapses, TargetSpec,
};
use crate::syntax::ast::{Body, Ident, ValueKind};

/// A checked `train` block; the readout is an index into the population list.
pub struct TrainParts {
    pub data: DataSpec,
    pub readout: usize,
    pub loss: LossSpec,
    pub regularizer: Option<RegularizerParts>,
    pub optimizer: OptimizerSpec,
    pub schedule: Schedule,
    pub batch: u32,
    pub epochs: u32,
    pub seed: u32,
    pub filter_ambiguous: bool,
    pub augment: Vec<Augment>,
    pub span: Span,
}

/// A checked `regularizer = spike_count(..)`; populations are indices.
pub struct RegularizerParts {
    pub populations: Vec<usize>,
    pub strength: f64,
    pub strength_below: f64,
    pub target: f64,
}

pub(crate) const TRAIN: &[&str] = &[
    "data",
    "readout",
    "loss",
    "regularizer",
    "optimizer",
    "schedule",
    "batch",
    "epochs",
    "seed",
    "filter_ambiguous",
    "augment",
];
pub(crate) const LOSSES: &[&str] = &[
    "first_spike_cross_entropy",
    "max_voltage_cross_entropy",
    "sum_voltage_cross_entropy",
    "exp_weighted_voltage_cross_entropy",
];
pub(crate) const YIN_YANG: Shape = Shape { name: "yin_yang", args: &["train", "validation", "test"], body: &[] };
pub(crate) const CSV: Shape = Shape { name: "csv", args: &["train", "validation", "test"], body: &[] };
pub(crate) const SYNTHETIC: Shape =
    Shape { name: "synthetic", args: &["features", "classes", "train", "validation", "test"], body: &[] };
pub(crate) const SHD: Shape = Shape { name: "shd", args: &["train", "test", "validation"], body: &[] };
pub(crate) const SSC: Shape = Shape { name: "ssc", args: &["train", "test", "validation"], body: &[] };
pub(crate) const EVENTS: Shape = Shape { name: "events", args: &["train", "test", "validation"], body: &[] };
pub(crate) const SHD_LIKE: Shape = Shape {
    name: "shd_like",
    args: &["classes", "channels", "train", "validation", "test", "duration", "seed"],
    body: &[],
};
pub(crate) const ORDER: Shape = Shape {
    name: "order",
    args: &["channels", "train", "validation", "test", "duration", "gap", "burst", "noise"],
    body: &[],
};
pub(crate) const SPEAKERS: Shape = Shape { name: "speakers", args: &[], body: &[] };
pub(crate) const SHIFT: Shape = Shape { name: "shift", args: &["max"], body: &[] };
pub(crate) const BLEND: Shape = Shape { name: "blend", args: &["p", "keep"], body: &[] };
pub(crate) const DILATE: Shape = Shape { name: "dilate", args: &["range"], body: &[] };
pub(crate) const JITTER: Shape = Shape { name: "jitter", args: &["sigma"], body: &[] };
/// The data sets, as the `data` parameter names them.
pub(crate) const DATA_SETS: &[&str] = &["yin_yang", "csv", "synthetic", "shd", "ssc", "events", "shd_like", "order"];
/// The channels of the Spiking Heidelberg Digits and Spiking Speech Commands.
pub const SHD_CHANNELS: u32 = 700;
pub(crate) use first_spike::{LOSS, default_loss};
pub(crate) const ADAM: Shape = Shape { name: "adam", args: &["lr", "betas", "eps", "weight_decay"], body: &[] };
pub(crate) const SGD: Shape = Shape { name: "sgd", args: &["lr", "momentum", "weight_decay"], body: &[] };
pub(crate) const EXPONENTIAL: Shape = Shape { name: "exponential", args: &["per_epoch"], body: &[] };
pub(crate) const CONSTANT: Shape = Shape { name: "constant", args: &[], body: &[] };
pub(crate) const TARGET: &[&str] =
    &["chips", "board", "clock", "mapping", "copies", "gradients", "neurons_per_core", "synapses"];

/// The range of `epochs` (and of `snnc train --epochs`).
pub const EPOCHS: std::ops::RangeInclusive<u64> = 1..=1_000_000;

/// Default data splits (size, seed): train, validation, test.
pub const DEFAULT_SPLITS: [(u64, u32); 3] = [(5000, 42), (1000, 41), (1000, 40)];

pub fn check_train(errs: &mut Errors, body: &Body, keyword: Span, net: &NetworkParts) -> Option<TrainParts> {
    let p = errs.block_params(body, TRAIN, "in `train`", keyword);
    let data_g = errs.require(&p, "data", "add a data set, e.g. `data = yin_yang()`");
    let readout_g = errs.require(&p, "readout", "name the output population, e.g. `readout = output`");
    let batch = errs
        .require(&p, "batch", "add the batch size, e.g. `batch = 32`")
        .and_then(|g| errs.integer(g, 1, 1_000_000, false));
    let epochs = errs
        .require(&p, "epochs", "add the number of epochs, e.g. `epochs = 40`")
        .and_then(|g| errs.integer(g, *EPOCHS.start(), *EPOCHS.end(), false));
    let seed = p.get("seed").map_or(Some(0), |g| errs.seed(g));
    let filter_ambiguous = p.get("filter_ambiguous").map_or(Some(false), |g| errs.boolean(g));
    let loss = p.get("loss").map_or(Some(default_loss()), |g| loss(errs, g, net));
    let optimizer = p.get("optimizer").map_or(Some(default_adam()), |g| optimizer(errs, g));
    let schedule = p.get("schedule").map_or(Some(Schedule::Constant), |g| schedule(errs, g));

    let readout = readout_g.and_then(|g| readout(errs, g, net));
    if let (Some(r), Some(loss), Some(g)) = (readout, &loss, readout_g) {
        loss_fits_readout(errs, loss, p.get("loss"), g, &net.pops[r]);
    }
    let regularizer = match p.get("regularizer") {
        None => Some(None),
        Some(g) => spike_count::regularizer(errs, g, net).map(Some),
    };
    let input = net.pops.iter().position(|p| p.is_source == Some(true));
    if let Some(first) = input {
        for other in net.pops.iter().skip(first + 1).filter(|p| p.is_source == Some(true)) {
            errs.push(CheckError::MultipleInputs {
                name: other.name.clone(),
                span: sp(other.name_span),
                first: sp(net.pops[first].name_span),
            });
        }
    }
    let features = input.and_then(|i| match &net.pops[i].kind {
        Some(PopulationKind::SpikeSource(s)) => net.pops[i].size.map(|n| s.feature_count(n)),
        _ => None,
    });
    let pool = input.and_then(|i| match &net.pops[i].kind {
        Some(PopulationKind::SpikeSource(s)) => match &s.encoding {
            Encoding::Events(e) => Some(e.pool),
            Encoding::Latency(_) => None,
        },
        _ => None,
    });
    let classes = readout.and_then(|r| net.pops[r].size);
    // `events(..)` takes its channels from the input: its inputs times the pool.
    let channels = features.map(|f| f * pool.unwrap_or(1));
    let data = data_g.and_then(|g| data(errs, g, channels, classes));
    let augment = match p.get("augment") {
        None => Some(Vec::new()),
        Some(g) => augment(errs, g),
    };
    if let (Some(data), Some(a), Some(ag), Some(dg)) = (&data, &augment, p.get("augment"), data_g)
        && !a.is_empty()
        && !data.is_events()
    {
        errs.push(CheckError::AugmentNeedsEvents {
            data: data.name().into(),
            span: sp(ag.value.span),
            data_span: sp(dg.value.span),
        });
    }

    let source_kind = input.and_then(|i| match &net.pops[i].kind {
        Some(PopulationKind::SpikeSource(s)) => Some(&s.encoding),
        _ => None,
    });
    let mut encoding_fits = true;
    if let (Some(data), Some(g), Some(i), Some(enc)) = (&data, data_g, input, source_kind)
        && data.is_events() != matches!(enc, Encoding::Events(_))
    {
        encoding_fits = false;
        let pop = &net.pops[i];
        let (kind, encoding, help) = if data.is_events() {
            (
                "event",
                "a latency code",
                "event data needs `encoding = events()` on the input (`events(pool = 5)` merges 5 adjacent channels into one input)",
            )
        } else {
            (
                "feature",
                "an event encoding",
                "feature rows need a latency code: `encoding = latency(order = early_high)`",
            )
        };
        errs.push(CheckError::EncodingDataMismatch {
            name: pop.name.clone(),
            data: format!("`{}`", data.name()),
            kind: kind.into(),
            encoding: encoding.into(),
            span: sp(g.value.span),
            input: sp(pop.span),
            help: help.into(),
        });
    }

    if let (Some(data), Some(g)) = (&data, data_g) {
        if let (Some(r), Some(size)) = (readout, classes)
            && data.class_count() != size
        {
            errs.push(CheckError::ClassCountMismatch {
                name: net.pops[r].name.clone(),
                data: data.class_count(),
                size,
                span: sp(g.value.span),
                readout: sp(net.pops[r].size_span),
            });
        }
        if let (Some(i), Some(features), Some(pool), true) = (input, features, pool, encoding_fits)
            && data.is_events()
            && data.feature_count().div_ceil(pool) != features
        {
            let pop = &net.pops[i];
            let channels = data.feature_count();
            let need = channels.div_ceil(pool);
            let bias = matches!(&pop.kind, Some(PopulationKind::SpikeSource(s)) if s.bias.is_some());
            let takes = if pool == 1 {
                format!("{features} channels")
            } else {
                format!("{} channels ({features} inputs of {pool} channels)", features * pool)
            };
            errs.push(CheckError::ChannelCountMismatch {
                name: pop.name.clone(),
                channels,
                takes,
                span: sp(g.value.span),
                input: sp(pop.size_span),
                help: if pool == 1 {
                    format!("make the input `spike_source({})`", need + u32::from(bias))
                } else {
                    format!(
                        "with `pool = {pool}` the {channels} channels make {need} inputs: make the input `spike_source({})`",
                        need + u32::from(bias)
                    )
                },
            });
        }
        if let (Some(i), Some(features), true) = (input, features, encoding_fits)
            && !data.is_events()
            && data.feature_count() != features
        {
            let pop = &net.pops[i];
            let bias = matches!(&pop.kind, Some(PopulationKind::SpikeSource(s)) if s.bias.is_some());
            let want = data.feature_count() + u32::from(bias);
            errs.push(CheckError::FeatureCountMismatch {
                name: pop.name.clone(),
                data: data.feature_count(),
                features,
                span: sp(g.value.span),
                input: sp(pop.size_span),
                input_label: if bias {
                    format!("{features} features + the bias input")
                } else {
                    format!("{features} features")
                },
                help: if bias {
                    format!("the input has a bias neuron: make it `spike_source({want})`, features plus one")
                } else {
                    format!("make the input `spike_source({want})`")
                },
            });
        }
        let generated_train = match data {
            DataSpec::YinYang { train, .. } | DataSpec::Synthetic { train, .. } => Some(*train),
            DataSpec::ShdLike { splits, .. } | DataSpec::Order(OrderTask { splits, .. }) => Some(splits[0]),
            _ => None,
        };
        if let (Some(b), Some(train)) = (batch, generated_train)
            && u64::from(train.size) < b
            && let Some(bg) = p.get("batch")
        {
            errs.range(
                bg,
                &format!("is larger than the {} training points", train.size),
                "incomplete batches are dropped: the batch must not exceed the training set",
            );
        }
    }

    Some(TrainParts {
        data: data?,
        readout: readout?,
        loss: loss?,
        regularizer: regularizer?,
        optimizer: optimizer?,
        schedule: schedule?,
        batch: batch? as u32,
        epochs: epochs? as u32,
        seed: seed?,
        filter_ambiguous: filter_ambiguous?,
        augment: augment?,
        span: Span::new(keyword.start, body.span.end),
    })
}

fn readout(errs: &mut Errors, g: Given, net: &NetworkParts) -> Option<usize> {
    let id: &Ident = errs.name(g)?;
    let r = net.resolve(errs, id)?;
    let pop = &net.pops[r];
    if pop.is_source == Some(true) {
        errs.push(CheckError::ReadoutNotLif { name: id.text.clone(), span: sp(id.span), decl: sp(pop.name_span) });
        return None;
    }
    if let Some(out) = net.projs.iter().find(|p| p.pre == r) {
        errs.push(CheckError::ReadoutNotSink { name: id.text.clone(), span: sp(id.span), projection: sp(out.span) });
        return None;
    }
    Some(r)
}

/// The splits of a generated feature data set, with the Yin-Yang defaults.
fn splits(errs: &mut Errors, p: &Params) -> Option<[SplitSpec; 3]> {
    splits_with(errs, p, DEFAULT_SPLITS)
}

fn data(errs: &mut Errors, g: Given, features: Option<u32>, classes: Option<u32>) -> Option<DataSpec> {
    let c = errs.call(g, "data set", DATA_SETS)?;
    match c.name.text.as_str() {
        "shd" | "ssc" | "events" => {
            let (set, shape) = match c.name.text.as_str() {
                "shd" => (EventSet::Shd, &SHD),
                "ssc" => (EventSet::Ssc, &SSC),
                _ => (EventSet::Custom, &EVENTS),
            };
            let p = errs.call_params(c, shape);
            let example = format!("`{}(train = \"data/{}_train.h5\")`", set.name(), set.name());
            let train = errs
                .require(&p, "train", &format!("add the training file, e.g. {example}"))
                .and_then(|g| errs.string(g));
            let test = match p.get("test") {
                Some(g) => Some(errs.string(g)?),
                None => None,
            };
            let validation = match p.get("validation") {
                Some(g) => Some(event_validation(errs, g)?),
                None => None,
            };
            let (channels, classes) = match set {
                EventSet::Shd => (Some(SHD_CHANNELS), Some(20)),
                EventSet::Ssc => (Some(SHD_CHANNELS), Some(35)),
                EventSet::Custom => (features, classes),
            };
            Some(DataSpec::EventFiles { set, train: train?, validation, test, channels: channels?, classes: classes? })
        }
        "shd_like" => {
            let p = errs.call_params(c, &SHD_LIKE);
            let classes = p.get("classes").map_or(Some(20), |g| errs.integer(g, 2, 1_000_000, false));
            let channels = p.get("channels").map_or(Some(700), |g| errs.integer(g, 1, 1_000_000, false));
            let splits = splits_with(errs, &p, [(8156, 42), (0, 41), (2264, 40)]);
            let duration = p.get("duration").map_or(Some(1.0), |g| positive_seconds(errs, g));
            let seed = p.get("seed").map_or(Some(0), |g| errs.seed(g));
            Some(DataSpec::ShdLike {
                classes: classes? as u32,
                channels: channels? as u32,
                splits: splits?,
                duration: duration?,
                seed: seed?,
            })
        }
        "order" => {
            let p = errs.call_params(c, &ORDER);
            let channels = p.get("channels").map_or(Some(20), |g| {
                let n = errs.integer(g, 2, 1_000_000, false)?;
                if n % 2 != 0 {
                    errs.range(g, "must be even", "the channels form two equal groups, A and B");
                    return None;
                }
                Some(n)
            });
            let splits = splits_with(errs, &p, [(2000, 42), (500, 41), (500, 40)]);
            let duration = p.get("duration").map_or(Some(0.3), |g| positive_seconds(errs, g));
            let gap = p.get("gap").map_or(Some(0.1), |g| positive_seconds(errs, g));
            let burst = p.get("burst").map_or(Some(0.01), |g| positive_seconds(errs, g));
            let noise = p.get("noise").map_or(Some(2.0), |g| {
                let hz = errs.frequency(g)?;
                if hz < 0.0 {
                    errs.range(g, "must be >= 0", "the background rate of every channel, e.g. `noise = 2 Hz`");
                    return None;
                }
                Some(hz)
            });
            let (duration, gap, burst) = (duration?, gap?, burst?);
            if burst >= gap {
                let at = p.get("burst").or(p.get("gap")).unwrap_or(g);
                errs.range(at, "must be shorter than `gap`", "a burst ends before the other group's burst starts");
                return None;
            }
            if duration < 2.0 * gap + burst {
                let at = p.get("duration").unwrap_or(g);
                errs.range(
                    at,
                    &format!(
                        "is shorter than 2 gap + burst = {}",
                        super::fmt_time(2.0 * gap + burst)
                    ),
                    "the first burst starts in [0, duration - 2 gap - burst), so that the second ends a gap before the end",
                );
                return None;
            }
            Some(DataSpec::Order(OrderTask {
                channels: channels? as u32,
                splits: splits?,
                duration,
                gap,
                burst,
                noise: noise?,
            }))
        }
        "yin_yang" => {
            let p = errs.call_params(c, &YIN_YANG);
            let [train, validation, test] = splits(errs, &p)?;
            Some(DataSpec::YinYang { train, validation, test })
        }
        "csv" => {
            let p = errs.call_params(c, &CSV);
            let train = errs
                .require(&p, "train", "add the training file, e.g. `train = \"train.csv\"`")
                .and_then(|g| errs.string(g));
            let validation = p.get("validation").map(|g| errs.string(g));
            let test = p.get("test").map(|g| errs.string(g));
            let validation = match validation {
                Some(v) => Some(v?),
                None => None,
            };
            let test = match test {
                Some(v) => Some(v?),
                None => None,
            };
            Some(DataSpec::Csv { train: train?, validation, test, features: features?, classes: classes? })
        }
        _ => {
            let p = errs.call_params(c, &SYNTHETIC);
            let f = errs
                .require(&p, "features", "add the feature count, e.g. `features = 784`")
                .and_then(|g| errs.integer(g, 1, 1_000_000, false));
            let k = errs
                .require(&p, "classes", "add the class count, e.g. `classes = 10`")
                .and_then(|g| errs.integer(g, 2, 1_000_000, false));
            let [train, validation, test] = splits(errs, &p)?;
            Some(DataSpec::Synthetic { features: f? as u32, classes: k? as u32, train, validation, test })
        }
    }
}

/// The `train`, `validation` and `test` splits of a generated data set,
/// with its defaults (size, seed); the training split cannot be empty.
fn splits_with(errs: &mut Errors, p: &Params, defaults: [(u64, u32); 3]) -> Option<[SplitSpec; 3]> {
    let names = ["train", "validation", "test"];
    let mut out = [SplitSpec { size: 0, seed: 0 }; 3];
    let mut ok = true;
    for (k, name) in names.iter().enumerate() {
        let (dsize, dseed) = defaults[k];
        let got = match p.get(name) {
            None => Some((dsize, dseed)),
            Some(g) => errs.split(g, dseed).and_then(|(size, seed)| {
                if k == 0 && size == 0 {
                    errs.range(g, "must be at least 1", "the training set cannot be empty");
                    return None;
                }
                Some((size, seed))
            }),
        };
        match got {
            Some((size, seed)) => out[k] = SplitSpec { size: size as u32, seed },
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// A time in seconds, > 0.
fn positive_seconds(errs: &mut Errors, g: Given) -> Option<f64> {
    let v = errs.time(g)?;
    if v <= 0.0 {
        errs.range(g, "must be > 0", "a length of time, e.g. `100 ms`");
        return None;
    }
    Some(v)
}

/// `validation = "file.h5"`, `validation = 0.1` (`@ seed S`) or
/// `validation = speakers(4, 5)`.
fn event_validation(errs: &mut Errors, g: Given) -> Option<EventValidation> {
    let help = "give a file (`\"data/ssc_valid.h5\"`), a fraction of the training file (`0.1` or `0.1 @ seed 3`) or held-out speakers (`speakers(4, 5)`)";
    let fraction = |errs: &mut Errors, v: f64, at: Given| {
        if v > 0.0 && v < 1.0 {
            Some(v)
        } else {
            errs.range(at, "must be a fraction in (0, 1)", "the share of the training file held out, e.g. `0.1`");
            None
        }
    };
    match &g.value.kind {
        ValueKind::String(s) => Some(EventValidation::File(s.clone())),
        ValueKind::Quantity { .. } => {
            let v = errs.number(g)?;
            Some(EventValidation::Fraction { fraction: fraction(errs, v, g)?, seed: 0 })
        }
        ValueKind::Split { size, seed } => {
            let size_v = crate::syntax::ast::Value {
                kind: ValueKind::Quantity { number: size.clone(), unit: None },
                span: size.span,
            };
            let seed_v = crate::syntax::ast::Value {
                kind: ValueKind::Quantity { number: seed.clone(), unit: None },
                span: seed.span,
            };
            let v = errs.number(g.with_value(&size_v));
            let seed = errs.seed(g.with_value(&seed_v));
            let f = fraction(errs, v?, g.with_value(&size_v))?;
            Some(EventValidation::Fraction { fraction: f, seed: seed? })
        }
        ValueKind::Call(c) if c.name.text == "speakers" => {
            if c.body.is_some() {
                errs.call_params(&crate::syntax::ast::Call { args: None, ..c.clone() }, &SPEAKERS);
            }
            let Some(args) = c.args.as_ref().map(|a| &a.args).filter(|a| !a.is_empty()) else {
                errs.push(CheckError::MissingParameter {
                    name: "speakers".into(),
                    context: "of `speakers`".into(),
                    span: sp(g.value.span),
                    help: "name the held-out speakers, e.g. `speakers(4, 5)`".into(),
                });
                return None;
            };
            let mut out = Vec::new();
            let mut ok = true;
            for a in args {
                if let Some(name) = &a.name {
                    errs.push(CheckError::UnexpectedArgument {
                        message: format!("`speakers` takes speaker numbers, not `{}`", name.text),
                        span: sp(name.span),
                        help: "write the speakers as numbers, e.g. `speakers(4, 5)`".into(),
                    });
                    ok = false;
                    continue;
                }
                match errs.integer(g.with_value(&a.value), 0, u64::from(u32::MAX), false) {
                    Some(n) if !out.contains(&(n as u32)) => out.push(n as u32),
                    Some(_) => {}
                    None => ok = false,
                }
            }
            ok.then_some(EventValidation::Speakers(out))
        }
        _ => {
            errs.push(CheckError::TypeMismatch {
                name: g.name.to_string(),
                expected: "a file, a fraction or `speakers(..)`".into(),
                found: super::params::describe(g.value),
                span: sp(g.value.span),
                help: help.into(),
            });
            None
        }
    }
}

/// `augment = shift(40)` or a tuple `(shift(40), blend(p = 0.5), dilate(0.9 .. 1.1), jitter(1 ms))`.
fn augment(errs: &mut Errors, g: Given) -> Option<Vec<Augment>> {
    let items: Vec<&crate::syntax::ast::Value> = match &g.value.kind {
        ValueKind::Tuple(items) => items.iter().collect(),
        _ => vec![g.value],
    };
    let mut out: Vec<(Augment, Span)> = Vec::new();
    let mut ok = true;
    for v in items {
        let ig = g.with_value(v);
        let Some(c) = errs.call(ig, "augmentation", &["shift", "blend", "dilate", "jitter"]) else {
            ok = false;
            continue;
        };
        let a = match c.name.text.as_str() {
            "shift" => {
                let p = errs.call_params(c, &SHIFT);
                errs.require(&p, "max", "give the largest shift in channels, e.g. `shift(40)`")
                    .and_then(|g| errs.integer(g, 1, 1_000_000, false))
                    .map(|m| Augment::Shift { max: m as u32 })
            }
            "blend" => {
                let p = errs.call_params(c, &BLEND);
                let prob = p.get("p").map_or(Some(0.5), |g| {
                    bounded(
                        errs,
                        g,
                        |v| v > 0.0 && v <= 10.0,
                        "must be in (0, 10]",
                        "blended samples per training sample and epoch, e.g. `p = 0.5`",
                    )
                });
                let keep = p.get("keep").map_or(Some(0.5), |g| {
                    bounded(
                        errs,
                        g,
                        |v| v > 0.0 && v <= 1.0,
                        "must be in (0, 1]",
                        "the probability that an event of a mixed sample is kept",
                    )
                });
                prob.zip(keep).map(|(p, keep)| Augment::Blend { p, keep })
            }
            "dilate" => {
                let p = errs.call_params(c, &DILATE);
                errs.require(&p, "range", "give the range of time factors, e.g. `dilate(0.9 .. 1.1)`").and_then(|g| {
                    let ValueKind::Range { start, end, step: None } = &g.value.kind else {
                        errs.push(CheckError::TypeMismatch {
                            name: g.name.to_string(),
                            expected: "a range of factors `low .. high`".into(),
                            found: super::params::describe(g.value),
                            span: sp(g.value.span),
                            help: "write e.g. `dilate(0.9 .. 1.1)`".into(),
                        });
                        return None;
                    };
                    let lo = errs.number(g.with_value(start));
                    let hi = errs.number(g.with_value(end));
                    let (lo, hi) = (lo?, hi?);
                    if !(lo > 0.0 && lo <= hi) {
                        errs.range(g, "must be `low .. high` with 0 < low <= high", "time factors, e.g. `0.9 .. 1.1`");
                        return None;
                    }
                    Some(Augment::Dilate { low: lo, high: hi })
                })
            }
            _ => {
                let p = errs.call_params(c, &JITTER);
                errs.require(&p, "sigma", "give the jitter's standard deviation, e.g. `jitter(1 ms)`").and_then(|g| {
                    let v = errs.time(g)?;
                    if v <= 0.0 {
                        errs.range(g, "must be > 0", "the standard deviation of each event's time shift");
                        return None;
                    }
                    Some(Augment::Jitter { sigma: v })
                })
            }
        };
        match a {
            Some(a) => {
                if let Some((_, first)) = out.iter().find(|(b, _)| b.name() == a.name()) {
                    errs.push(CheckError::DuplicateAugment {
                        name: a.name().into(),
                        span: sp(v.span),
                        first: sp(*first),
                    });
                    ok = false;
                } else {
                    out.push((a, v.span));
                }
            }
            None => ok = false,
        }
    }
    if !ok {
        return None;
    }
    let rank = |a: &Augment| match a {
        Augment::Blend { .. } => 0,
        Augment::Shift { .. } => 1,
        Augment::Dilate { .. } => 2,
        Augment::Jitter { .. } => 3,
    };
    let mut list: Vec<Augment> = out.into_iter().map(|(a, _)| a).collect();
    list.sort_by_key(rank);
    Some(list)
}

pub fn default_adam() -> OptimizerSpec {
    OptimizerSpec::Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 }
}

/// A number checked against a predicate, with the range's words for the error.
fn bounded(errs: &mut Errors, g: Given, ok: impl Fn(f64) -> bool, message: &str, help: &str) -> Option<f64> {
    let v = errs.number(g)?;
    if !ok(v) {
        errs.range(g, message, help);
        return None;
    }
    Some(v)
}

fn loss(errs: &mut Errors, g: Given, net: &NetworkParts) -> Option<LossSpec> {
    let c = errs.call(g, "loss", LOSSES)?;
    match c.name.text.as_str() {
        "first_spike_cross_entropy" => first_spike::loss(errs, c),
        "max_voltage_cross_entropy" => max_voltage::loss(errs, c),
        "sum_voltage_cross_entropy" => sum_voltage::loss(errs, c),
        _ => exp_weighted_voltage::loss(errs, c, net),
    }
}

/// A first-spike loss needs a `lif` readout, a voltage loss an `li` one.
fn loss_fits_readout(
    errs: &mut Errors,
    loss: &LossSpec,
    loss_g: Option<Given>,
    readout_g: Given,
    pop: &super::network::PopInfo,
) {
    let (kind, fits, reads, help) = if pop.li {
        (
            "li",
            loss.on_voltage(),
            "first spikes, and an `li` population does not spike",
            "an `li` readout takes a voltage loss: `max_voltage_cross_entropy()`, `sum_voltage_cross_entropy()` or `exp_weighted_voltage_cross_entropy()`",
        )
    } else {
        (
            "lif",
            !loss.on_voltage(),
            "voltages, which need a leaky-integrator readout",
            "a `lif` readout takes `first_spike_cross_entropy()`; for a voltage loss make the readout `li(..)`",
        )
    };
    if !fits {
        let span = loss_g.map_or(readout_g.value.span, |g| g.value.span);
        errs.push(CheckError::LossReadoutMismatch {
            article: if pop.li { "an".into() } else { "a".into() },
            loss: loss.name().into(),
            readout: pop.name.clone(),
            kind: kind.into(),
            span: sp(span),
            reads: reads.into(),
            decl: sp(pop.name_span),
            help: help.into(),
        });
    }
}

fn lr(errs: &mut Errors, p: &Params, default: f64) -> Option<f64> {
    p.get("lr").map_or(Some(default), |g| {
        bounded(errs, g, |v| v > 0.0, "must be > 0", "the learning rate is positive, e.g. `lr = 1e-3`")
    })
}

fn weight_decay(errs: &mut Errors, p: &Params) -> Option<f64> {
    p.get("weight_decay").map_or(Some(0.0), |g| {
        bounded(errs, g, |v| v >= 0.0, "must be >= 0", "weight decay is a non-negative L2 factor")
    })
}

fn optimizer(errs: &mut Errors, g: Given) -> Option<OptimizerSpec> {
    let c = errs.call(g, "optimizer", &["adam", "sgd"])?;
    if c.name.text == "adam" {
        let p = errs.call_params(c, &ADAM);
        let OptimizerSpec::Adam { lr: dlr, beta1: db1, beta2: db2, eps: deps, .. } = default_adam() else {
            return None;
        };
        let lr = lr(errs, &p, dlr);
        let betas = p.get("betas").map_or(Some((db1, db2)), |g| {
            let (b1, b2) = errs.pair(g)?;
            if !(0.0..1.0).contains(&b1) || !(0.0..1.0).contains(&b2) {
                errs.range(g, "both betas must be in [0, 1)", "Adam's moment decay rates, e.g. `betas = (0.9, 0.999)`");
                return None;
            }
            Some((b1, b2))
        });
        let eps =
            p.get("eps").map_or(Some(deps), |g| bounded(errs, g, |v| v > 0.0, "must be > 0", "e.g. `eps = 1e-8`"));
        let wd = weight_decay(errs, &p);
        let (beta1, beta2) = betas?;
        Some(OptimizerSpec::Adam { lr: lr?, beta1, beta2, eps: eps?, weight_decay: wd? })
    } else {
        let p = errs.call_params(c, &SGD);
        let lr = lr(errs, &p, 1e-3);
        let momentum = p.get("momentum").map_or(Some(0.0), |g| {
            bounded(errs, g, |v| (0.0..1.0).contains(&v), "must be in [0, 1)", "e.g. `momentum = 0.9`")
        });
        let wd = weight_decay(errs, &p);
        Some(OptimizerSpec::Sgd { lr: lr?, momentum: momentum?, weight_decay: wd? })
    }
}

fn schedule(errs: &mut Errors, g: Given) -> Option<Schedule> {
    let c = errs.call(g, "schedule", &["constant", "exponential"])?;
    if c.name.text == "constant" {
        errs.call_params(c, &CONSTANT);
        return Some(Schedule::Constant);
    }
    let p = errs.call_params(c, &EXPONENTIAL);
    let per_epoch = errs.require(&p, "per_epoch", "add the factor per epoch, e.g. `per_epoch = 0.95`").and_then(|g| {
        bounded(
            errs,
            g,
            |v| v > 0.0 && v <= 1.0,
            "must be in (0, 1]",
            "the learning rate is multiplied by this every epoch",
        )
    });
    Some(Schedule::Exponential { per_epoch: per_epoch? })
}

/// Checks a `target NAME { .. }` block (`training`: the file has a `train`
/// block, which `synapses = dram` and `copies` need; `batch`: its batch,
/// when it checked clean).
pub fn check_target(
    errs: &mut Errors,
    name: &Ident,
    body: &Body,
    keyword: Span,
    training: bool,
    batch: Option<u32>,
) -> Option<TargetSpec> {
    if name.text != "spinnaker2" {
        errs.push(CheckError::UnknownKeyword {
            what: "target".into(),
            name: name.text.clone(),
            span: sp(name.span),
            help: super::params::did_you_mean(&name.text, ["spinnaker2"]),
        });
    }
    let p = errs.block_params(body, TARGET, "in `target`", keyword);
    let d = TargetSpec::default();
    let machine = match (p.get("chips"), p.get("board")) {
        (Some(c), Some(b)) => {
            let (first, second) = if c.name_span.start < b.name_span.start { (c, b) } else { (b, c) };
            errs.push(CheckError::ConflictingParameters {
                first: first.name.into(),
                second: second.name.into(),
                span: sp(second.name_span),
                other: sp(first.name_span),
                help: "give either `chips = N` (1 to 48 chips) or `board = 48`".into(),
            });
            None
        }
        (Some(c), None) => errs.integer(c, 1, 48, false).map(|n| MachineSize::Chips(n as u32)),
        (None, Some(b)) => errs.integer(b, 48, 48, false).map(|_| MachineSize::Board48),
        (None, None) => Some(d.machine),
    };
    let clock = p.get("clock").map_or(Some(d.clock_hz), |g| {
        let hz = errs.frequency(g)?;
        if hz != 150e6 && hz != 300e6 {
            errs.range(g, "must be 150 MHz or 300 MHz", "SpiNNaker2 PEs run at 150 MHz (0.5 V) or 300 MHz (0.8 V)");
            return None;
        }
        Some(hz)
    });
    let mapping = p.get("mapping").map_or(Some(d.mapping), |g| {
        errs.word(g, "mapping", &["batch_parallel", "single_copy"]).map(|w| match w {
            "batch_parallel" => Mapping::BatchParallel,
            _ => Mapping::SingleCopy,
        })
    });
    let gradients = p.get("gradients").map_or(Some(d.gradients), |g| {
        errs.word(g, "gradient scheme", &["auto", "direct", "chain"]).map(|w| match w {
            "direct" => GradientScheme::Direct,
            "chain" => GradientScheme::Chain,
            _ => GradientScheme::Auto,
        })
    });
    // `copies = N`: N batch copies, each running batch / N samples.
    let copies = match p.get("copies") {
        None => Some(None),
        Some(g) if !training => {
            errs.range(g, "needs a `train` block", "batch copies run the samples of a training batch: remove `copies`");
            None
        }
        Some(g) => errs.integer(g, 1, 1_000_000, false).and_then(|n| {
            let n = n as u32;
            if mapping == Some(Mapping::SingleCopy) && n != 1 {
                errs.range(
                    g,
                    "conflicts with `mapping = single_copy`",
                    "`single_copy` is one copy; for several copies write `mapping = batch_parallel` (the default)",
                );
                return None;
            }
            match batch {
                Some(b) if n > b || b % n != 0 => {
                    errs.range(
                        g,
                        &format!("must divide the batch of {b}"),
                        "each copy runs the same number of samples: choose a divisor of the batch",
                    );
                    None
                }
                Some(b) if n > 1 && n < b && gradients == Some(GradientScheme::Direct) => {
                    errs.range(
                        g,
                        "several samples per copy need the gradient chain",
                        "the chain adds a copy's samples' gradients in sample order onto the previous copy's sums: remove `gradients = direct`",
                    );
                    None
                }
                _ => Some(Some(n)),
            }
        }),
    };
    let npc = p.get("neurons_per_core").map(|g| errs.integer(g, 1, 1_000_000, false));
    let neurons_per_core = match npc {
        Some(v) => Some(v? as u32),
        None => None,
    };
    let synapses = p.get("synapses").map(|g| match errs.word(g, "synapses", &["auto", "sram", "dram"])? {
        "sram" => Some(Some(Synapses::Sram)),
        "dram" if !training => {
            errs.range(
                g,
                "needs a `train` block",
                "only a training layer keeps its synapses in DRAM; a forward-only layer's stay in SRAM: remove `synapses = dram`",
            );
            None
        }
        "dram" => Some(Some(Synapses::Dram)),
        _ => Some(None),
    });
    let synapses = match synapses {
        Some(v) => v?,
        None => None,
    };
    Some(TargetSpec {
        machine: machine?,
        clock_hz: clock?,
        mapping: mapping?,
        copies: copies?,
        gradients: gradients?,
        neurons_per_core,
        synapses,
        span: Span::new(keyword.start, body.span.end),
    })
}
