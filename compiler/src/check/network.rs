//! The `network` block: time grid, populations, projections and the graph
//! checks (duplicates, unknown names, sources with inputs, cycles, isolated
//! populations).
//!
//! Invariant: when no error was pushed, every `PopInfo::kind` and
//! `ProjInfo::init` is `Some`, every projection joins two declared
//! populations, starts at a spike source or `lif` and ends at a layer (`lif`
//! or `li`), and carries its delays on the grid. Cycles are allowed: every
//! projection delays by at least one step (`docs/contract.md` section 1).

use std::collections::BTreeMap;

// Each neuron model's parameter checks live in its folder (`compiler/src/models/`).
#[path = "../models/li/check.rs"]
mod li;
#[path = "../models/lif/check.rs"]
mod lif;

use super::error::CheckError;
use super::params::{Errors, Given, Shape, did_you_mean, fmt_plain, sp};
use crate::network::{
    Encoding, EventEncoding, Init, InitScale, Integration, LatencyEncoding, LatencyOrder, LifParams, PopulationKind,
    Span, SpikeSource, TimeGrid, TimeValue,
};
use crate::syntax::ast::{Body, Call, Ident, Network, NetworkEntry, ProjectionDecl, ValueKind};

/// Largest population accepted (neurons).
pub const MAX_POPULATION: u64 = 1_000_000;
/// Largest number of time steps accepted.
pub const MAX_STEPS: u64 = 1_000_000;

/// A declared population, with what could be resolved of it.
pub struct PopInfo {
    pub name: String,
    pub name_span: Span,
    pub span: Span,
    /// Where the size is written (`3` in `lif(3)`), or the kind's name.
    pub size_span: Span,
    pub is_source: Option<bool>,
    /// Whether it is an `li` population (a layer without spikes).
    pub li: bool,
    pub size: Option<u32>,
    pub kind: Option<PopulationKind>,
}

/// A projection between two declared populations (indices into the population list).
pub struct ProjInfo {
    pub pre: usize,
    pub post: usize,
    pub span: Span,
    pub init: Option<Init>,
    /// The delays, ascending (`None` when they did not check).
    pub delays: Option<Vec<TimeValue>>,
}

/// The checked parts of a network block.
pub struct NetworkParts {
    pub name: Ident,
    pub grid: Option<TimeGrid>,
    pub pops: Vec<PopInfo>,
    pub projs: Vec<ProjInfo>,
    /// Set when a population's kind or a projection could not be resolved:
    /// the graph is then incomplete and the checks on its shape would only
    /// repeat the first error.
    pub incomplete: bool,
}

impl NetworkParts {
    pub fn find(&self, name: &str) -> Option<usize> {
        self.pops.iter().position(|p| p.name == name)
    }

    /// Resolves a population name, reporting an unknown one with a suggestion.
    pub fn resolve(&self, errs: &mut Errors, id: &Ident) -> Option<usize> {
        let found = self.find(&id.text);
        if found.is_none() {
            errs.push(CheckError::UnknownPopulation {
                name: id.text.clone(),
                span: sp(id.span),
                help: did_you_mean(&id.text, self.pops.iter().map(|p| p.name.as_str())),
            });
        }
        found
    }
}

/// The parameters of the `time` block.
pub(crate) const TIME: &[&str] = &["dt", "steps"];
pub(crate) use lif::LIF;
pub(crate) const SPIKE_SOURCE: Shape = Shape { name: "spike_source", args: &["size"], body: &["encoding", "bias"] };
pub(crate) const LATENCY: Shape = Shape { name: "latency", args: &["order", "t_min", "t_max", "clip_low"], body: &[] };
pub(crate) const EVENTS: Shape = Shape { name: "events", args: &["pool", "duration"], body: &[] };
pub(crate) const SPIKE: Shape = Shape { name: "spike", args: &["at"], body: &[] };
pub(crate) const DENSE: Shape = Shape { name: "dense", args: &[], body: &["init", "delay", "delays"] };
pub(crate) const NORMAL: Shape = Shape { name: "normal", args: &["mean", "std", "scale"], body: &[] };
pub(crate) const UNIFORM: Shape = Shape { name: "uniform", args: &["low", "high", "scale"], body: &[] };
pub(crate) const CONSTANT: Shape = Shape { name: "constant", args: &["value", "scale"], body: &[] };

pub fn check_network(errs: &mut Errors, net: &Network) -> NetworkParts {
    let mut grid = None;
    let mut time_seen: Option<Span> = None;
    for e in &net.entries {
        if let NetworkEntry::Time { keyword, body } = e {
            match time_seen {
                Some(first) => errs.push(CheckError::DuplicateBlock {
                    what: "the `time` block".into(),
                    span: sp(*keyword),
                    first: sp(first),
                }),
                None => {
                    time_seen = Some(*keyword);
                    grid = time_block(errs, body, *keyword);
                }
            }
        }
    }
    if time_seen.is_none() {
        errs.push(CheckError::MissingBlock {
            what: "the `time` block".into(),
            span: sp(net.name.span),
            help: "add `time { dt = 1 ms; steps = 27 }` to the network".into(),
        });
    }

    let mut parts =
        NetworkParts { name: net.name.clone(), grid, pops: Vec::new(), projs: Vec::new(), incomplete: false };
    for e in &net.entries {
        if let NetworkEntry::Population(p) = e {
            if let Some(first) = parts.find(&p.name.text) {
                errs.push(CheckError::DuplicatePopulation {
                    name: p.name.text.clone(),
                    span: sp(p.name.span),
                    first: sp(parts.pops[first].name_span),
                });
                continue;
            }
            let (is_source, size, kind) = population(errs, &p.kind, &p.name.text, grid);
            parts.incomplete |= is_source.is_none();
            parts.pops.push(PopInfo {
                name: p.name.text.clone(),
                name_span: p.name.span,
                span: p.span,
                size_span: size_span(&p.kind),
                is_source,
                li: p.kind.name.text == "li",
                size,
                kind,
            });
        }
    }

    let mut seen: BTreeMap<(usize, usize), Span> = BTreeMap::new();
    for e in &net.entries {
        if let NetworkEntry::Projection(p) = e {
            projection(errs, &mut parts, &mut seen, p, grid);
        }
    }

    graph_checks(errs, &parts);
    parts
}

/// The span of a population's size argument, or of the kind's name.
fn size_span(call: &Call) -> Span {
    let args = call.args.iter().flat_map(|a| &a.args);
    let mut candidates = args.filter(|a| a.name.as_ref().is_none_or(|n| n.text == "size"));
    candidates.next().map_or(call.name.span, |a| a.value.span)
}

fn time_block(errs: &mut Errors, body: &Body, keyword: Span) -> Option<TimeGrid> {
    let p = errs.block_params(body, TIME, "in `time`", keyword);
    let dt = errs.require(&p, "dt", "add the step length, e.g. `dt = 1 ms`");
    let steps = errs.require(&p, "steps", "add the number of time steps, e.g. `steps = 27`");
    let dt = dt.and_then(|g| {
        let v = errs.time(g)?;
        if v <= 0.0 {
            errs.range(g, "must be > 0", "the step length is a positive time, e.g. `1 ms`");
            return None;
        }
        Some(v)
    });
    let steps = steps.and_then(|g| errs.integer(g, 2, MAX_STEPS, true));
    Some(TimeGrid { dt: dt?, steps: steps? as u32 })
}

/// Returns (is a spike source, size, kind).
fn population(
    errs: &mut Errors,
    call: &Call,
    name: &str,
    grid: Option<TimeGrid>,
) -> (Option<bool>, Option<u32>, Option<PopulationKind>) {
    match call.name.text.as_str() {
        "lif" => {
            let (size, kind) = lif::population(errs, call);
            (Some(false), size, kind)
        }
        "li" => {
            let (size, kind) = li::population(errs, call, name);
            (Some(false), size, kind)
        }
        "spike_source" => {
            let p = errs.call_params(call, &SPIKE_SOURCE);
            let bias = p.get("bias").and_then(|g| {
                let c = errs.call(g, "bias input", &["spike"])?;
                let bp = errs.call_params(c, &SPIKE);
                match bp.get("at") {
                    None => Some(TimeValue::Steps(0.0)),
                    Some(at) => {
                        let v = errs.time_value(at, false)?;
                        check_on_grid(errs, at, v, grid, false)?;
                        Some(v)
                    }
                }
            });
            let min = if p.get("bias").is_some() { 2 } else { 1 };
            let size = size(errs, p.get("size"), &p, min);
            let encoding = errs
                .require(
                    &p,
                    "encoding",
                    "add `encoding = latency(order = early_high)` (feature data) or `encoding = events()` (event data)",
                )
                .and_then(|g| encoding(errs, g, grid));
            let kind = match (encoding, p.get("bias")) {
                (Some(encoding), None) => Some(SpikeSource { encoding, bias: None }),
                (Some(encoding), Some(_)) => bias.map(|b| SpikeSource { encoding, bias: Some(b) }),
                (None, _) => None,
            };
            (Some(true), size, kind.map(PopulationKind::SpikeSource))
        }
        other => {
            errs.push(CheckError::UnknownKeyword {
                what: "population kind".into(),
                name: other.to_string(),
                span: sp(call.name.span),
                help: did_you_mean(other, ["lif", "li", "spike_source"]),
            });
            (None, None, None)
        }
    }
}

fn size(errs: &mut Errors, g: Option<Given>, p: &super::params::Params, min: u64) -> Option<u32> {
    let Some(g) = g else {
        errs.push(CheckError::MissingParameter {
            name: "size".into(),
            context: p.context.clone(),
            span: sp(p.owner),
            help: "give the number of neurons in parentheses, e.g. `lif(100)`".into(),
        });
        return None;
    };
    let help = if min == 1 {
        "a population has 1 to 1000000 neurons"
    } else {
        "with a bias input, a spike_source has 2 to 1000000 neurons: at least one feature input plus the bias"
    };
    let n = errs.integer_in(g, min, MAX_POPULATION, false, Some(help))?;
    Some(n as u32)
}

fn positive_time(errs: &mut Errors, g: Given) -> Option<f64> {
    let v = errs.time(g)?;
    if v <= 0.0 {
        errs.range(g, "must be > 0", "time constants are positive, e.g. `20 ms`");
        return None;
    }
    Some(v)
}

/// `integration = exponential_euler | exact` (default `exponential_euler`).
fn integration(errs: &mut Errors, p: &super::params::Params) -> Option<Integration> {
    let Some(g) = p.get("integration") else { return Some(Integration::default()) };
    let words = Integration::ALL.map(Integration::word);
    let w = errs.word(g, "integration scheme", &words)?;
    Integration::ALL.into_iter().find(|i| i.word() == w)
}

/// `tau_mem` and `tau_syn` (defaults [`LifParams::default`]'s, 20 ms and 5
/// ms, which `li` shares), positive and distinct.
fn time_constants(errs: &mut Errors, p: &super::params::Params) -> Option<(f64, f64)> {
    let d = LifParams::default();
    let tau_mem = p.get("tau_mem").map_or(Some(d.tau_mem), |g| positive_time(errs, g));
    let tau_syn = p.get("tau_syn").map_or(Some(d.tau_syn), |g| positive_time(errs, g));
    let (tau_mem, tau_syn) = (tau_mem?, tau_syn?);
    if tau_mem == tau_syn {
        let syn = p.get("tau_syn").map_or(p.owner, |g| g.value.span);
        let mem = p.get("tau_mem").map_or(p.owner, |g| g.value.span);
        errs.push(CheckError::EqualTimeConstants { span: sp(syn), other: sp(mem) });
        return None;
    }
    Some((tau_mem, tau_syn))
}

/// Checks that a time lies on the grid: a whole number of steps within
/// `0 ..= T-1` (or `< T-1` when `strict`).
fn check_on_grid(errs: &mut Errors, g: Given, v: TimeValue, grid: Option<TimeGrid>, strict: bool) -> Option<()> {
    let Some(grid) = grid else { return Some(()) };
    whole_steps(errs, g, v, grid)?;
    let s = v.in_steps(grid.dt);
    let last = f64::from(grid.steps - 1);
    let bad = s < 0.0 || s > last || (strict && s >= last);
    if bad {
        errs.range(
            g,
            &format!("is step {}, outside 0..{}", fmt_plain(s), fmt_plain(last)),
            &format!(
                "the grid has {} steps of {}: times run from 0 to {} steps",
                grid.steps,
                super::fmt_time(grid.dt),
                grid.steps - 1
            ),
        );
        return None;
    }
    Some(())
}

/// The number of steps of `v` on `grid`, when it is a whole number (up to
/// the rounding of the division); else an `off_grid` error that gives the
/// two nearest grid values in the unit the user wrote.
pub fn whole_steps(errs: &mut Errors, g: Given, v: TimeValue, grid: TimeGrid) -> Option<i64> {
    let s = v.in_steps(grid.dt);
    let r = s.round();
    if (s - r).abs() <= 1e-9 * r.abs().max(1.0) {
        return Some(r as i64);
    }
    let show = |steps: f64| match v {
        TimeValue::Seconds(_) => super::fmt_time(steps * grid.dt),
        TimeValue::Steps(_) => format!("{} steps", fmt_plain(steps)),
    };
    let (lo, hi) = (s.floor().max(0.0), s.ceil().max(0.0));
    let shown = match v {
        TimeValue::Seconds(x) => super::fmt_time(x),
        TimeValue::Steps(x) => format!("{} steps", fmt_plain(x)),
    };
    errs.push(CheckError::OffGrid {
        name: g.name.to_string(),
        value: shown,
        steps: fmt_plain(s),
        dt: super::fmt_time(grid.dt),
        span: sp(g.value.span),
        help: if lo == hi {
            format!("the nearest grid value is {}", show(lo))
        } else {
            format!("the nearest grid values are {} and {}; snnc never rounds a time", show(lo), show(hi))
        },
    });
    None
}

fn encoding(errs: &mut Errors, g: Given, grid: Option<TimeGrid>) -> Option<Encoding> {
    let c = errs.call(g, "encoding", &["latency", "events"])?;
    if c.name.text == "events" {
        return events_encoding(errs, c, grid);
    }
    let p = errs.call_params(c, &LATENCY);
    let order = errs
        .require(&p, "order", "add `order = early_high` (high values spike early) or `order = late_high`")
        .and_then(|g| errs.word(g, "latency order", &["early_high", "late_high"]));
    let order = match order? {
        "early_high" => LatencyOrder::EarlyHigh,
        _ => LatencyOrder::LateHigh,
    };
    let (default_t_min, default_clip) = match order {
        LatencyOrder::EarlyHigh => (TimeValue::Steps(2.0), 0.01),
        LatencyOrder::LateHigh => (TimeValue::Steps(0.0), 0.0),
    };
    let t_min = match p.get("t_min") {
        None => Some(default_t_min),
        Some(g) => errs.time_value(g, false).and_then(|v| check_on_grid(errs, g, v, grid, true).map(|_| v)),
    };
    let t_max = match p.get("t_max") {
        None => Some(None),
        Some(g) => errs.time_value(g, false).and_then(|v| check_on_grid(errs, g, v, grid, false).map(|_| Some(v))),
    };
    let clip_low = match p.get("clip_low") {
        None => Some(default_clip),
        Some(g) => errs.number(g).and_then(|v| {
            if (0.0..1.0).contains(&v) {
                Some(v)
            } else {
                errs.range(
                    g,
                    "must be in [0, 1)",
                    "features are scaled to [0, 1]; the clip is a lower bound in that range",
                );
                None
            }
        }),
    };
    let (t_min, t_max, clip_low) = (t_min?, t_max?, clip_low?);
    if let (Some(grid), Some(hi), Some(hig)) = (grid, t_max, p.get("t_max"))
        && t_min.in_steps(grid.dt) >= hi.in_steps(grid.dt)
    {
        errs.range(hig, "must be later than `t_min`", "the latency code spreads spikes between t_min and t_max");
        return None;
    }
    Some(Encoding::Latency(LatencyEncoding { order, t_min, t_max, clip_low }))
}

/// `events(pool, duration)`: event streams binned onto the grid.
fn events_encoding(errs: &mut Errors, c: &Call, grid: Option<TimeGrid>) -> Option<Encoding> {
    let p = errs.call_params(c, &EVENTS);
    let pool = match p.get("pool") {
        None => Some(1),
        Some(g) => errs
            .integer_in(g, 1, MAX_POPULATION, false, Some("`pool` adjacent channels are merged into one input"))
            .map(|n| n as u32),
    };
    let duration = match p.get("duration") {
        None => Some(None),
        Some(g) => errs.time_value(g, false).and_then(|v| {
            let Some(grid) = grid else { return Some(Some(v)) };
            let n = whole_steps(errs, g, v, grid)?;
            if n < 1 || n > i64::from(grid.steps) {
                errs.range(
                    g,
                    &format!("is {n} steps, not within the trial of {} steps", grid.steps),
                    "the input window starts at 0 and ends after it, at most at the end of the trial",
                );
                return None;
            }
            Some(Some(v))
        }),
    };
    Some(Encoding::Events(EventEncoding { pool: pool?, duration: duration? }))
}

fn projection(
    errs: &mut Errors,
    parts: &mut NetworkParts,
    seen: &mut BTreeMap<(usize, usize), Span>,
    p: &ProjectionDecl,
    grid: Option<TimeGrid>,
) {
    let pre = parts.resolve(errs, &p.pre);
    let post = parts.resolve(errs, &p.post);
    let mut delays = None;
    let init = if p.kind.name.text == "dense" {
        let params = errs.call_params(&p.kind, &DENSE);
        delays = projection_delays(errs, &params, grid);
        errs.require(&params, "init", "add `init = normal(mean = 0, std = 1, scale = fan_in_sqrt)`")
            .and_then(|g| init(errs, g))
    } else {
        errs.push(CheckError::UnknownKeyword {
            what: "connectivity".into(),
            name: p.kind.name.text.clone(),
            span: sp(p.kind.name.span),
            help: did_you_mean(&p.kind.name.text, ["dense"]),
        });
        None
    };
    let (Some(pre), Some(post)) = (pre, post) else {
        parts.incomplete = true;
        return;
    };
    if parts.pops[pre].li {
        errs.push(CheckError::LiProjects {
            name: p.pre.text.clone(),
            post: p.post.text.clone(),
            span: sp(p.pre.span),
            decl: sp(parts.pops[pre].name_span),
        });
        // Kept, so that `post` is not also reported as receiving nothing.
        parts.projs.push(ProjInfo { pre, post, span: p.span, init, delays });
        return;
    }
    if parts.pops[post].is_source == Some(true) {
        parts.incomplete = true;
        errs.push(CheckError::ProjectionIntoSource {
            name: p.post.text.clone(),
            span: sp(p.post.span),
            decl: sp(parts.pops[post].name_span),
        });
        return;
    }
    if let Some(first) = seen.get(&(pre, post)) {
        errs.push(CheckError::DuplicateProjection {
            pre: p.pre.text.clone(),
            post: p.post.text.clone(),
            span: sp(p.span),
            first: sp(*first),
        });
        return;
    }
    seen.insert((pre, post), p.span);
    parts.projs.push(ProjInfo { pre, post, span: p.span, init, delays });
}

/// The delays of a projection: `delay = D` (one copy), `delays = A .. B step
/// S` (a delay line, `B` included), or `0 steps`; every one on the grid,
/// shorter than the trial.
fn projection_delays(errs: &mut Errors, p: &super::params::Params, grid: Option<TimeGrid>) -> Option<Vec<TimeValue>> {
    let steps_of = |errs: &mut Errors, g: Given, v: TimeValue| -> Option<i64> {
        let grid = grid?;
        let n = whole_steps(errs, g, v, grid)?;
        if n < 0 {
            errs.range(g, "must be >= 0", "a delay is a non-negative time, e.g. `delay = 3 steps` or `30 ms`");
            return None;
        }
        Some(n)
    };
    let too_long = |errs: &mut Errors, g: Given, n: i64| -> Option<()> {
        let grid = grid?;
        if n >= i64::from(grid.steps) - 1 {
            errs.push(CheckError::DelayTooLong {
                delay: n as u64,
                steps: grid.steps,
                span: sp(g.value.span),
                help: format!(
                    "a spike at step 0 delayed by d steps lands at step d + 1: delays run up to {} steps here",
                    grid.steps.saturating_sub(2)
                ),
            });
            return None;
        }
        Some(())
    };
    match (p.get("delay"), p.get("delays")) {
        (Some(a), Some(b)) => {
            let (first, second) = if a.name_span.start < b.name_span.start { (a, b) } else { (b, a) };
            errs.push(CheckError::ConflictingParameters {
                first: first.name.into(),
                second: second.name.into(),
                span: sp(second.name_span),
                other: sp(first.name_span),
                help: "give one delay (`delay = 3 steps`) or a delay line (`delays = 0 ms .. 90 ms step 30 ms`)".into(),
            });
            None
        }
        (Some(g), None) => {
            let v = errs.time_value(g, false)?;
            let n = steps_of(errs, g, v)?;
            too_long(errs, g, n)?;
            Some(vec![v])
        }
        (None, Some(g)) => {
            let ValueKind::Range { start, end, step } = &g.value.kind else {
                errs.push(CheckError::TypeMismatch {
                    name: g.name.to_string(),
                    expected: "a range `A .. B step S`".into(),
                    found: super::params::describe(g.value),
                    span: sp(g.value.span),
                    help: "write the delay line as e.g. `delays = 0 ms .. 270 ms step 30 ms` (B included)".into(),
                });
                return None;
            };
            let part = |v| g.with_value(v);
            let a = errs.time_value(part(start), false);
            let b = errs.time_value(part(end), false);
            let Some(step) = step else {
                errs.push(CheckError::MissingParameter {
                    name: "step".into(),
                    context: "of the delay line".into(),
                    span: sp(g.value.span),
                    help: "add the spacing of the copies, e.g. `delays = 0 ms .. 270 ms step 30 ms`".into(),
                });
                return None;
            };
            let st = errs.time_value(part(step), false);
            let (a, b, st) = (a?, b?, st?);
            let na = steps_of(errs, part(start), a);
            let nb = steps_of(errs, part(end), b);
            let ns = steps_of(errs, part(step), st);
            let (na, nb, ns) = (na?, nb?, ns?);
            if ns == 0 {
                errs.range(part(step), "must be > 0", "the copies of a delay line are at least one step apart");
                return None;
            }
            if nb < na {
                errs.range(
                    part(end),
                    "must not be earlier than the start",
                    "write the range from the shortest delay up",
                );
                return None;
            }
            if (nb - na) % ns != 0 {
                errs.range(
                    part(end),
                    "is not reached from the start in whole steps of the spacing",
                    "the last delay is the first plus a whole number of spacings, e.g. `0 ms .. 270 ms step 30 ms`",
                );
                return None;
            }
            let count = (nb - na) / ns + 1;
            if count > 1000 {
                errs.range(g, &format!("gives {count} copies, more than 1000"), "use fewer, wider-spaced delays");
                return None;
            }
            too_long(errs, part(end), nb)?;
            let unit = |n: i64| match (a, grid) {
                (TimeValue::Seconds(_), Some(grid)) => TimeValue::Seconds(n as f64 * grid.dt),
                _ => TimeValue::Steps(n as f64),
            };
            Some((0..count).map(|k| unit(na + k * ns)).collect())
        }
        (None, None) => Some(vec![TimeValue::Steps(0.0)]),
    }
}

fn init(errs: &mut Errors, g: Given) -> Option<Init> {
    let c = errs.call(g, "initialiser", &["normal", "uniform", "constant"])?;
    let scale = |errs: &mut Errors, p: &super::params::Params| -> Option<InitScale> {
        match p.get("scale") {
            None => Some(InitScale::None),
            Some(g) => match errs.word(g, "scale", &["none", "fan_in_sqrt", "fan_in"])? {
                "none" => Some(InitScale::None),
                "fan_in_sqrt" => Some(InitScale::FanInSqrt),
                _ => Some(InitScale::FanIn),
            },
        }
    };
    match c.name.text.as_str() {
        "normal" => {
            let p = errs.call_params(c, &NORMAL);
            let mean = p.get("mean").map_or(Some(0.0), |g| errs.number(g));
            let std = p.get("std").map_or(Some(1.0), |g| {
                let v = errs.number(g)?;
                if v < 0.0 {
                    errs.range(g, "must be >= 0", "a standard deviation is not negative");
                    return None;
                }
                Some(v)
            });
            let scale = scale(errs, &p);
            Some(Init::Normal { mean: mean?, std: std?, scale: scale? })
        }
        "uniform" => {
            let p = errs.call_params(c, &UNIFORM);
            let low = errs.require(&p, "low", "add `low = -1.0`").and_then(|g| errs.number(g));
            let high = errs.require(&p, "high", "add `high = 1.0`").and_then(|g| errs.number(g));
            let scale = scale(errs, &p);
            let (low, high) = (low?, high?);
            if low >= high {
                if let Some(hg) = p.get("high") {
                    errs.range(hg, "must be greater than `low`", "uniform(low, high) draws from [low, high)");
                }
                return None;
            }
            Some(Init::Uniform { low, high, scale: scale? })
        }
        _ => {
            let p = errs.call_params(c, &CONSTANT);
            let value = errs.require(&p, "value", "add `value = 1.0`").and_then(|g| errs.number(g));
            let scale = scale(errs, &p);
            Some(Init::Constant { value: value?, scale: scale? })
        }
    }
}

fn graph_checks(errs: &mut Errors, parts: &NetworkParts) {
    if parts.incomplete {
        return;
    }
    let n = parts.pops.len();
    if !parts.pops.iter().any(|p| p.is_source == Some(true)) {
        errs.push(CheckError::MissingPopulation {
            name: parts.name.text.clone(),
            what: "spike_source".into(),
            span: sp(parts.name.span),
            help: "add an input, e.g. `population input = spike_source(4) { encoding = latency(order = early_high) }`"
                .into(),
        });
    }
    if !parts.pops.iter().any(|p| p.is_source == Some(false)) {
        errs.push(CheckError::MissingPopulation {
            name: parts.name.text.clone(),
            what: "layer (lif or li)".into(),
            span: sp(parts.name.span),
            help: "add a neuron population, e.g. `population output = lif(3)`".into(),
        });
    }
    let source = parts.pops.iter().find(|p| p.is_source == Some(true)).map_or("input", |p| p.name.as_str());
    let mut has_in = vec![false; n];
    let mut has_out = vec![false; n];
    for p in &parts.projs {
        has_in[p.post] = true;
        has_out[p.pre] = true;
    }
    for (i, p) in parts.pops.iter().enumerate() {
        match p.is_source {
            Some(false) if !has_in[i] => errs.push(CheckError::Unreachable {
                name: p.name.clone(),
                span: sp(p.name_span),
                help: format!(
                    "add a projection into `{}`, e.g. `projection {source} -> {} = dense {{ .. }}`",
                    p.name, p.name
                ),
            }),
            Some(true) if !has_out[i] => {
                errs.push(CheckError::UnusedSource { name: p.name.clone(), span: sp(p.name_span) })
            }
            _ => {}
        }
    }
}
