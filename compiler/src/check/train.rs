//! The `train` and `target` blocks.
//!
//! Invariant: when no error was pushed, the readout is a layer with no
//! outgoing projection whose kind fits the loss (`lif` for the first-spike
//! loss, `li` for the voltage losses), the data set's class count equals the
//! readout's size, its feature count equals the input's feature count, and
//! a regulariser names `lif` populations.

use super::error::CheckError;
use super::network::{NetworkParts, whole_steps};
use super::params::{Errors, Given, Params, Shape, sp};
use crate::network::{
    DataSpec, LossSpec, MachineSize, Mapping, OptimizerSpec, PopulationKind, Schedule, Span, SplitSpec, TargetSpec,
    TimeValue,
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
    pub span: Span,
}

/// A checked `regularizer = spike_count(..)`; populations are indices.
pub struct RegularizerParts {
    pub populations: Vec<usize>,
    pub strength: f64,
    pub strength_below: f64,
    pub target: f64,
}

pub(crate) const TRAIN: &[&str] =
    &["data", "readout", "loss", "regularizer", "optimizer", "schedule", "batch", "epochs", "seed", "filter_ambiguous"];
pub(crate) const LOSSES: &[&str] = &[
    "first_spike_cross_entropy",
    "max_voltage_cross_entropy",
    "sum_voltage_cross_entropy",
    "exp_weighted_voltage_cross_entropy",
];
pub(crate) const MAX_VOLTAGE: Shape = Shape { name: "max_voltage_cross_entropy", args: &[], body: &[] };
pub(crate) const SUM_VOLTAGE: Shape = Shape { name: "sum_voltage_cross_entropy", args: &[], body: &[] };
pub(crate) const EXP_VOLTAGE: Shape =
    Shape { name: "exp_weighted_voltage_cross_entropy", args: &["window"], body: &[] };
pub(crate) const SPIKE_COUNT: Shape =
    Shape { name: "spike_count", args: &["populations", "strength", "strength_below", "target"], body: &[] };
pub(crate) const YIN_YANG: Shape = Shape { name: "yin_yang", args: &["train", "validation", "test"], body: &[] };
pub(crate) const CSV: Shape = Shape { name: "csv", args: &["train", "validation", "test"], body: &[] };
pub(crate) const SYNTHETIC: Shape =
    Shape { name: "synthetic", args: &["features", "classes", "train", "validation", "test"], body: &[] };
pub(crate) const LOSS: Shape = Shape { name: "first_spike_cross_entropy", args: &["xi", "alpha", "beta"], body: &[] };
pub(crate) const ADAM: Shape = Shape { name: "adam", args: &["lr", "betas", "eps", "weight_decay"], body: &[] };
pub(crate) const SGD: Shape = Shape { name: "sgd", args: &["lr", "momentum", "weight_decay"], body: &[] };
pub(crate) const EXPONENTIAL: Shape = Shape { name: "exponential", args: &["per_epoch"], body: &[] };
pub(crate) const CONSTANT: Shape = Shape { name: "constant", args: &[], body: &[] };
pub(crate) const TARGET: &[&str] = &["chips", "board", "clock", "mapping", "neurons_per_core"];

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
        Some(g) => regularizer(errs, g, net).map(Some),
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
    let classes = readout.and_then(|r| net.pops[r].size);
    let data = data_g.and_then(|g| data(errs, g, features, classes));

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
        if let (Some(i), Some(features)) = (input, features)
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
        if let (Some(b), DataSpec::YinYang { train, .. } | DataSpec::Synthetic { train, .. }) = (batch, data)
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

fn splits(errs: &mut Errors, p: &Params) -> Option<[SplitSpec; 3]> {
    let names = ["train", "validation", "test"];
    let mut out = [SplitSpec { size: 0, seed: 0 }; 3];
    let mut ok = true;
    for (k, name) in names.iter().enumerate() {
        let (dsize, dseed) = DEFAULT_SPLITS[k];
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

fn data(errs: &mut Errors, g: Given, features: Option<u32>, classes: Option<u32>) -> Option<DataSpec> {
    let c = errs.call(g, "data set", &["yin_yang", "csv", "synthetic"])?;
    match c.name.text.as_str() {
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

pub fn default_loss() -> LossSpec {
    LossSpec::FirstSpikeCrossEntropy { xi: TimeValue::Steps(1.5), alpha: 1e-2, beta: TimeValue::Steps(100.0) }
}

pub fn default_adam() -> OptimizerSpec {
    OptimizerSpec::Adam { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 }
}

fn positive_time_value(errs: &mut Errors, g: Given) -> Option<TimeValue> {
    let v = errs.time_value(g, true)?;
    let raw = match v {
        TimeValue::Seconds(s) | TimeValue::Steps(s) => s,
    };
    if raw <= 0.0 {
        errs.range(g, "must be > 0", "the loss divides by this time");
        return None;
    }
    Some(v)
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
        "first_spike_cross_entropy" => {
            let p = errs.call_params(c, &LOSS);
            let LossSpec::FirstSpikeCrossEntropy { xi: dxi, alpha: dalpha, beta: dbeta } = default_loss() else {
                return None;
            };
            let xi = p.get("xi").map_or(Some(dxi), |g| positive_time_value(errs, g));
            let alpha = p.get("alpha").map_or(Some(dalpha), |g| {
                bounded(errs, g, |v| v >= 0.0, "must be >= 0", "alpha weighs the late-spike penalty; 0 turns it off")
            });
            let beta = p.get("beta").map_or(Some(dbeta), |g| positive_time_value(errs, g));
            Some(LossSpec::FirstSpikeCrossEntropy { xi: xi?, alpha: alpha?, beta: beta? })
        }
        "max_voltage_cross_entropy" => {
            errs.call_params(c, &MAX_VOLTAGE);
            Some(LossSpec::MaxVoltageCrossEntropy)
        }
        "sum_voltage_cross_entropy" => {
            errs.call_params(c, &SUM_VOLTAGE);
            Some(LossSpec::SumVoltageCrossEntropy)
        }
        _ => {
            let p = errs.call_params(c, &EXP_VOLTAGE);
            let window = match p.get("window") {
                None => None,
                Some(w) => Some(window(errs, w, net)?),
            };
            Some(LossSpec::ExpWeightedVoltageCrossEntropy { window })
        }
    }
}

/// `window = A .. B`: two times on the grid, `0 <= A < B <= T dt`.
fn window(errs: &mut Errors, g: Given, net: &NetworkParts) -> Option<(TimeValue, TimeValue)> {
    let ValueKind::Range { start, end, step } = &g.value.kind else {
        errs.push(CheckError::TypeMismatch {
            name: g.name.to_string(),
            expected: "a time range `A .. B`".into(),
            found: super::params::describe(g.value),
            span: sp(g.value.span),
            help: "write the readout window as e.g. `window = 0 ms .. 1000 ms`".into(),
        });
        return None;
    };
    if let Some(step) = step {
        errs.push(CheckError::UnexpectedArgument {
            message: "a readout window has no `step`".into(),
            span: sp(step.span),
            help: "write the window as `A .. B`".into(),
        });
        return None;
    }
    let a = errs.time_value(Given { value: start, ..g }, false);
    let b = errs.time_value(Given { value: end, ..g }, false);
    let (a, b) = (a?, b?);
    let Some(grid) = net.grid else { return Some((a, b)) };
    let na = whole_steps(errs, Given { value: start, ..g }, a, grid);
    let nb = whole_steps(errs, Given { value: end, ..g }, b, grid);
    let (na, nb) = (na?, nb?);
    if na < 0 || nb > i64::from(grid.steps) || na >= nb {
        errs.range(
            g,
            &format!("is steps {na} .. {nb}, not a window within the trial of {} steps", grid.steps),
            "the window starts at 0 or later, ends after it starts and at most at the end of the trial",
        );
        return None;
    }
    Some((a, b))
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

/// `spike_count(populations, strength, strength_below, target)`.
fn regularizer(errs: &mut Errors, g: Given, net: &NetworkParts) -> Option<RegularizerParts> {
    let c = errs.call(g, "regularizer", &["spike_count"])?;
    let p = errs.call_params(c, &SPIKE_COUNT);
    let populations = errs
        .require(&p, "populations", "name the regularised layers, e.g. `populations = hidden` or `(h1, h2)`")
        .and_then(|pg| {
            let names: Vec<&crate::syntax::ast::Value> = match &pg.value.kind {
                ValueKind::Tuple(items) => items.iter().collect(),
                _ => vec![pg.value],
            };
            let mut out = Vec::new();
            let mut ok = true;
            for v in names {
                let Some(id) = errs.name(Given { value: v, ..pg }) else {
                    ok = false;
                    continue;
                };
                let Some(i) = net.resolve(errs, id) else {
                    ok = false;
                    continue;
                };
                let pop = &net.pops[i];
                if pop.is_source != Some(false) || pop.li {
                    let kind = if pop.li { "li" } else { "spike_source" };
                    errs.push(CheckError::RegularizerNotLif {
                        name: id.text.clone(),
                        kind: kind.into(),
                        span: sp(id.span),
                    });
                    ok = false;
                    continue;
                }
                if !out.contains(&i) {
                    out.push(i);
                }
            }
            ok.then_some(out)
        });
    let strength =
        errs.require(&p, "strength", "add the strength above the target, e.g. `strength = 5e-11`").and_then(|g| {
            bounded(errs, g, |v| v >= 0.0, "must be >= 0", "the regulariser's strength is a non-negative factor")
        });
    let strength_below = match p.get("strength_below") {
        None => strength,
        Some(g) => {
            bounded(errs, g, |v| v >= 0.0, "must be >= 0", "the regulariser's strength is a non-negative factor")
        }
    };
    let target = errs.require(&p, "target", "add the spike count aimed at, e.g. `target = 14`").and_then(|g| {
        bounded(errs, g, |v| v >= 0.0, "must be >= 0", "the target is a number of spikes per neuron and sample")
    });
    Some(RegularizerParts {
        populations: populations?,
        strength: strength?,
        strength_below: strength_below?,
        target: target?,
    })
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

/// Checks a `target NAME { .. }` block.
pub fn check_target(errs: &mut Errors, name: &Ident, body: &Body, keyword: Span) -> Option<TargetSpec> {
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
    let npc = p.get("neurons_per_core").map(|g| errs.integer(g, 1, 1_000_000, false));
    let neurons_per_core = match npc {
        Some(v) => Some(v? as u32),
        None => None,
    };
    Some(TargetSpec {
        machine: machine?,
        clock_hz: clock?,
        mapping: mapping?,
        neurons_per_core,
        span: Span::new(keyword.start, body.span.end),
    })
}
