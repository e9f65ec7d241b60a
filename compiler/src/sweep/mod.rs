//! Sweeps: a spec's search space, and the trial specs it stands for.
//!
//! Input: the text of a `.snn` file that checks clean, and the search space
//! written either in its `sweep { .. }` block or as `--set PATH=VALUES` flags.
//! Output: a [`SearchSpace`] (every path resolved against the spec, every
//! list, range and distribution checked), or [`SweepDiagnostics`] listing
//! every error; [`trial_text`] turns one assignment of values into the text
//! of a trial's spec, which the caller checks with [`crate::check_source`] as
//! any spec (so a value out of range gives exactly `snnc check`'s error).
//!
//! Paths name what a user sees in the spec: `train.seed`, `optimizer.lr`,
//! `loss.xi`, `data.train`, `population.hidden.tau_mem`,
//! `projection.input->hidden.init.mean`, `time.dt`, `target.mapping`
//! ([`paths`] has the rules). A trial spec is the spec's text with the swept
//! values written in (inserted where a parameter was left at its default),
//! the `sweep` block removed and relative data paths made absolute: a plain
//! spec that `snnc train` reproduces.
//!
//! Random draws are not made here (the compiler crate has no generator):
//! [`Values::Uniform`], [`Values::LogUniform`] and [`Values::Choice`] say
//! what to draw; the CLI draws them from numpy's `RandomState(seed)`.

pub mod error;
pub mod paths;

use std::path::Path;

use miette::NamedSource;

use crate::network::Span;
use crate::syntax::ast::{Call, Item, SweepEntry, SweepValue, ValueKind};
use crate::syntax::{self, parse_sweep_entry};
pub use error::{SweepDiagnostics, SweepError};
use paths::Param;

/// The largest number of trials a sweep may have.
pub const MAX_TRIALS: u32 = 100_000;

/// How the trials are made from the axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Every combination of the lists' values.
    Grid,
    /// `trials` draws of the distributions from `RandomState(seed)`, each
    /// combined with every combination of the lists' values.
    Random { trials: u32, seed: u32 },
}

/// The values of one swept parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// Each of these value texts, in order (a list or a range).
    List(Vec<String>),
    /// `uniform(low, high)`: `RandomState.uniform(low, high)`, written with `unit`.
    Uniform { low: f64, high: f64, unit: Option<String> },
    /// `log_uniform(low, high)`: `exp(uniform(ln low, ln high))`, written with `unit`.
    LogUniform { low: f64, high: f64, unit: Option<String> },
    /// `choice(a, b, ..)`: one of these value texts, `RandomState.randint(n)`.
    Choice(Vec<String>),
}

impl Values {
    pub fn is_drawn(&self) -> bool {
        !matches!(self, Values::List(_))
    }
}

/// One swept parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// The canonical path (`optimizer.lr`, also when written `train.optimizer.lr`).
    pub path: String,
    pub values: Values,
    /// The values as written, for messages: `1e-3, 2e-3`, `0..5`, `log_uniform(1e-4, 1e-2)`.
    pub written: String,
}

/// Where a search space was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Block,
    CommandLine,
}

/// A checked search space.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchSpace {
    pub mode: Mode,
    /// In the order written.
    pub axes: Vec<Axis>,
    pub origin: Origin,
}

impl SearchSpace {
    /// The number of trials: the product of the lists' lengths, times the
    /// number of draws of a random sweep.
    pub fn trial_count(&self) -> u128 {
        let grid: u128 = self
            .axes
            .iter()
            .map(|a| match &a.values {
                Values::List(v) => v.len() as u128,
                _ => 1,
            })
            .product();
        match self.mode {
            Mode::Grid => grid,
            Mode::Random { trials, .. } => grid * u128::from(trials),
        }
    }

    /// `grid over optimizer.lr (3 values) x train.seed (5 values)`.
    pub fn describe(&self) -> String {
        let axes: Vec<String> = self
            .axes
            .iter()
            .map(|a| match &a.values {
                Values::List(v) => format!("{} ({} value{})", a.path, v.len(), if v.len() == 1 { "" } else { "s" }),
                _ => format!("{} = {}", a.path, a.written),
            })
            .collect();
        match self.mode {
            Mode::Grid => format!("grid over {}", axes.join(" x ")),
            Mode::Random { trials, seed } => {
                format!("{trials} random draws (seed {seed}) of {}", axes.join(", "))
            }
        }
    }
}

/// The search space given on the command line.
#[derive(Clone, Debug, Default)]
pub struct Flags {
    /// `PATH=VALUES`, one per `--set`.
    pub sets: Vec<String>,
    /// `--trials N`: a random sweep of N draws.
    pub trials: Option<u32>,
    /// `--draw-seed S` (default 0).
    pub seed: Option<u32>,
}

/// Every parameter of a spec a sweep can set, with its value as written
/// (`None`: the default). The spec must parse.
pub fn parameters(spec_text: &str) -> Vec<Param> {
    syntax::parse(spec_text).map(|f| paths::params(&f, spec_text)).unwrap_or_default()
}

/// Reads the search space: from `flags` when they give any `--set`, else
/// from the spec's `sweep` block. The spec must check clean.
pub fn read(spec_name: &str, spec_text: &str, flags: &Flags) -> Result<SearchSpace, SweepDiagnostics> {
    let params = parameters(spec_text);
    let mut r = Reader { params: &params, spec_name, errors: Vec::new() };
    let block = syntax::parse(spec_text).ok().and_then(|f| {
        f.items.into_iter().find_map(|i| match i {
            Item::Sweep(s) => Some(s),
            _ => None,
        })
    });
    let space = if !flags.sets.is_empty() {
        let mode = match flags.trials {
            Some(trials) => Mode::Random { trials, seed: flags.seed.unwrap_or(0) },
            None => Mode::Grid,
        };
        let mut entries = Vec::new();
        for text in &flags.sets {
            let src = NamedSource::new("--set", text.clone());
            match parse_sweep_entry(text) {
                Ok(e) => entries.push((e, text.as_str(), src)),
                Err(errors) => r.errors.push(SweepError::BadSet { text: text.clone(), src, errors }),
            }
        }
        let whole = (NamedSource::new("--set", flags.sets.join(" ")), Span::new(0, flags.sets.join(" ").len()));
        r.space(mode, &entries, Origin::CommandLine, whole)
    } else if let Some(block) = block {
        let src = || NamedSource::new(spec_name, spec_text.to_string());
        let mode = r.mode(block.mode.as_ref(), spec_text, &src);
        let entries: Vec<_> = block.entries.into_iter().map(|e| (e, spec_text, src())).collect();
        if entries.is_empty() {
            r.errors.push(SweepError::BadMode {
                message: "the `sweep` block sweeps nothing".into(),
                src: src(),
                span: block.span.into(),
                label: "no `path = values` entry".into(),
                help: "add an entry such as `optimizer.lr = 1e-3, 2e-3` or `train.seed = 0..5`".into(),
            });
        }
        // With a bad mode, the entries are still checked (as the mode meant).
        let meant = match (&mode, block.mode.as_ref().map(|c| c.name.text.as_str())) {
            (Some(m), _) => *m,
            (None, Some("random")) => Mode::Random { trials: 1, seed: 0 },
            (None, _) => Mode::Grid,
        };
        let space = r.space(meant, &entries, Origin::Block, (src(), block.keyword));
        mode.and(space)
    } else {
        r.errors.push(SweepError::Empty { file: spec_name.to_string() });
        None
    };
    match space {
        Some(s) if r.errors.is_empty() => Ok(s),
        _ => Err(SweepDiagnostics { errors: r.errors }),
    }
}

struct Reader<'p> {
    params: &'p [Param],
    spec_name: &'p str,
    errors: Vec<SweepError>,
}

fn slice(text: &str, s: Span) -> String {
    text[s.start..s.end].to_string()
}

const DISTRIBUTIONS: &[&str] = &["uniform", "log_uniform", "choice"];

impl Reader<'_> {
    /// `sweep { .. }`, `sweep grid { .. }` or `sweep random(trials = N, seed = S) { .. }`.
    fn mode(&mut self, mode: Option<&Call>, text: &str, src: &dyn Fn() -> NamedSource<String>) -> Option<Mode> {
        let Some(c) = mode else { return Some(Mode::Grid) };
        let bad = |message: String, span: Span, label: &str, help: &str| SweepError::BadMode {
            message,
            src: src(),
            span: span.into(),
            label: label.into(),
            help: help.into(),
        };
        match c.name.text.as_str() {
            "grid" if c.args.is_none() => Some(Mode::Grid),
            "grid" => {
                let span = c.args.as_ref().map_or(c.span, |a| a.span);
                self.errors.push(bad(
                    "`grid` takes no arguments".into(),
                    span,
                    "not allowed",
                    "write `sweep { .. }` or `sweep grid { .. }`",
                ));
                None
            }
            "random" => {
                let args = c.args.as_ref().map_or(&[][..], |a| &a.args[..]);
                let (mut trials, mut seed) = (None, Some(0u32));
                let mut ok = true;
                for (i, a) in args.iter().enumerate() {
                    let name = a.name.as_ref().map(|n| n.text.as_str()).or(["trials", "seed"].get(i).copied());
                    let int = match &a.value.kind {
                        ValueKind::Quantity { number, unit: None } => number.as_integer(),
                        _ => None,
                    };
                    match (name, int) {
                        (Some("trials"), Some(n)) if (1..=i128::from(MAX_TRIALS)).contains(&n) => {
                            trials = Some(n as u32)
                        }
                        (Some("seed"), Some(n)) if (0..=i128::from(u32::MAX)).contains(&n) => seed = Some(n as u32),
                        (Some(w @ ("trials" | "seed")), _) => {
                            ok = false;
                            let range =
                                if w == "trials" { format!("1..={MAX_TRIALS}") } else { "0..=4294967295".into() };
                            self.errors.push(bad(
                                format!("`{w}` must be an integer in {range}"),
                                a.value.span,
                                &format!("this is `{}`", slice(text, a.value.span)),
                                "e.g. `sweep random(trials = 16, seed = 0) { .. }`",
                            ));
                        }
                        _ => {
                            ok = false;
                            self.errors.push(bad(
                                "`random` takes `trials` and `seed`".into(),
                                a.span,
                                "not an argument of `random`",
                                "e.g. `sweep random(trials = 16, seed = 0) { .. }`",
                            ));
                        }
                    }
                }
                match (trials, seed, ok) {
                    (Some(trials), Some(seed), true) => Some(Mode::Random { trials, seed }),
                    (None, _, true) => {
                        self.errors.push(bad(
                            "a random sweep needs its number of trials".into(),
                            c.span,
                            "`trials` is missing",
                            "e.g. `sweep random(trials = 16, seed = 0) { .. }`",
                        ));
                        None
                    }
                    _ => None,
                }
            }
            other => {
                self.errors.push(bad(
                    format!("unknown sweep mode `{other}`"),
                    c.name.span,
                    "not a sweep mode",
                    &crate::check::params::did_you_mean(other, ["grid", "random"]),
                ));
                None
            }
        }
    }

    fn space(
        &mut self,
        mode: Mode,
        entries: &[(SweepEntry, &str, NamedSource<String>)],
        origin: Origin,
        whole: (NamedSource<String>, Span),
    ) -> Option<SearchSpace> {
        let mut axes: Vec<Axis> = Vec::new();
        let before = self.errors.len();
        for (e, text, src) in entries {
            let Some(path) = self.path(e, src) else { continue };
            if axes.iter().any(|a| a.path == path) {
                self.errors.push(SweepError::DuplicatePath { path, src: src.clone(), span: e.path.span.into() });
                continue;
            }
            let written = e.values.iter().map(|v| slice(text, v.span())).collect::<Vec<_>>().join(", ");
            if let Some(values) = self.values(e, &path, text, src, mode) {
                axes.push(Axis { path, values, written });
            }
        }
        if let (Mode::Random { .. }, true) = (mode, self.errors.len() == before)
            && !axes.iter().any(|a| a.values.is_drawn())
        {
            self.errors.push(SweepError::BadMode {
                message: "a random sweep draws nothing".into(),
                src: whole.0.clone(),
                span: whole.1.into(),
                label: "no entry is a distribution".into(),
                help: "give a parameter `uniform(a, b)`, `log_uniform(a, b)` or `choice(x, y, ..)`, or sweep a grid"
                    .into(),
            });
        }
        let space = SearchSpace { mode, axes, origin };
        let n = space.trial_count();
        if n > u128::from(MAX_TRIALS) {
            self.errors.push(SweepError::TooManyTrials {
                trials: n,
                max: MAX_TRIALS,
                src: whole.0,
                span: whole.1.into(),
            });
        }
        (self.errors.len() == before).then_some(space)
    }

    /// The canonical path an entry names, or an error with suggestions.
    fn path(&mut self, e: &SweepEntry, src: &NamedSource<String>) -> Option<String> {
        let path = paths::canonical(&e.path.segments);
        if self.params.iter().any(|p| p.path == path) {
            return Some(path);
        }
        let help = path_help(&path, self.params);
        self.errors.push(SweepError::UnknownPath {
            path: e.path.text(),
            src: src.clone(),
            span: e.path.span.into(),
            label: format!("not a parameter of {}", self.spec_name),
            help,
        });
        None
    }

    fn values(
        &mut self,
        e: &SweepEntry,
        path: &str,
        text: &str,
        src: &NamedSource<String>,
        mode: Mode,
    ) -> Option<Values> {
        let random = matches!(mode, Mode::Random { .. });
        fn dist<'v>(v: &'v SweepValue, random: bool, path: &str) -> Option<&'v Call> {
            match v {
                SweepValue::Value(v) => match &v.kind {
                    ValueKind::Call(c)
                        if c.args.is_some()
                            && DISTRIBUTIONS.contains(&c.name.text.as_str())
                            && (c.name.text != "uniform" || random || !path.ends_with(".init")) =>
                    {
                        Some(c)
                    }
                    _ => None,
                },
                SweepValue::Range { .. } => None,
            }
        }
        let dist_name = |v| dist(v, random, path);
        if let [only] = &e.values[..]
            && random
            && let Some(c) = dist_name(only)
        {
            return self.distribution(c, text, src);
        }
        let mut out = Vec::new();
        let mut ok = true;
        for v in &e.values {
            if let Some(c) = dist_name(v) {
                ok = false;
                let (message, help) = if random {
                    (
                        format!("`{}` must be the only value of its entry", c.name.text),
                        "an entry is either a list of values or one distribution".to_string(),
                    )
                } else {
                    (
                        format!("`{}` draws values at random, but this sweep is a grid", c.name.text),
                        "draw with `sweep random(trials = N, seed = S) { .. }` (or `--trials N` on the command line); in a grid, list the values".to_string(),
                    )
                };
                self.errors.push(SweepError::BadDistribution {
                    message,
                    src: src.clone(),
                    span: c.span.into(),
                    label: "a distribution".into(),
                    help,
                });
                continue;
            }
            match v {
                SweepValue::Value(v) => out.push(slice(text, v.span)),
                SweepValue::Range { start, end, span } => {
                    let bad = |message: String, label: &str, help: &str| SweepError::BadRange {
                        message,
                        src: src.clone(),
                        span: (*span).into(),
                        label: label.into(),
                        help: help.into(),
                    };
                    match (start.as_integer(), end.as_integer()) {
                        (Some(a), Some(b)) if b > a && b - a <= i128::from(MAX_TRIALS) => {
                            out.extend((a..b).map(|i| i.to_string()))
                        }
                        (Some(a), Some(b)) if b <= a => {
                            ok = false;
                            self.errors.push(bad(
                                format!("the range `{}` is empty", slice(text, *span)),
                                "no integer lies in it",
                                &format!("`A..B` runs from A up to B-1: e.g. `{a}..{}`", a + 3),
                            ));
                        }
                        (Some(_), Some(_)) => {
                            ok = false;
                            self.errors.push(bad(
                                format!("the range `{}` is too long", slice(text, *span)),
                                "too many values",
                                &format!("a sweep has at most {MAX_TRIALS} trials"),
                            ));
                        }
                        _ => {
                            ok = false;
                            self.errors.push(bad(
                                format!("the range `{}` does not have integer bounds", slice(text, *span)),
                                "not an integer range",
                                "a range `A..B` is the integers A, A+1, .., B-1; list other values: `0.5, 1, 1.5`",
                            ));
                        }
                    }
                }
            }
        }
        ok.then_some(Values::List(out))
    }

    /// `uniform(low, high)`, `log_uniform(low, high)`, `choice(a, b, ..)`.
    fn distribution(&mut self, c: &Call, text: &str, src: &NamedSource<String>) -> Option<Values> {
        let args = c.args.as_ref().map_or(&[][..], |a| &a.args[..]);
        let bad = |message: String, span: Span, label: &str, help: &str| SweepError::BadDistribution {
            message,
            src: src.clone(),
            span: span.into(),
            label: label.into(),
            help: help.into(),
        };
        if c.name.text == "choice" {
            if let Some(a) = args.iter().find(|a| a.name.is_some()) {
                self.errors.push(bad(
                    "the values of `choice` are not named".into(),
                    a.span,
                    "named here",
                    "write `choice(1e-3, 2e-3, 5e-3)`",
                ));
                return None;
            }
            if args.is_empty() {
                self.errors.push(bad(
                    "`choice` needs at least one value".into(),
                    c.span,
                    "empty",
                    "write `choice(1e-3, 2e-3, 5e-3)`",
                ));
                return None;
            }
            return Some(Values::Choice(args.iter().map(|a| slice(text, a.value.span)).collect()));
        }
        let log = c.name.text == "log_uniform";
        let example = format!("e.g. `{}(1e-4, 1e-2)` or `{}(10 ms, 30 ms)`", c.name.text, c.name.text);
        let mut bounds: [Option<(f64, Option<String>, Span)>; 2] = [None, None];
        for (i, a) in args.iter().enumerate() {
            let k = match a.name.as_ref().map(|n| n.text.as_str()) {
                None if i < 2 => i,
                Some("low") => 0,
                Some("high") => 1,
                _ => {
                    self.errors.push(bad(
                        format!("`{}` takes two bounds, `low` and `high`", c.name.text),
                        a.span,
                        "not a bound",
                        &example,
                    ));
                    return None;
                }
            };
            let ValueKind::Quantity { number, unit } = &a.value.kind else {
                self.errors.push(bad(
                    format!("the bounds of `{}` are numbers", c.name.text),
                    a.value.span,
                    "not a number",
                    &example,
                ));
                return None;
            };
            bounds[k] = Some((number.value, unit.as_ref().map(|u| u.text.clone()), a.value.span));
        }
        let [Some((low, lu, ls)), Some((high, hu, hs))] = bounds else {
            self.errors.push(bad(
                format!("`{}` needs two bounds", c.name.text),
                c.span,
                "a bound is missing",
                &example,
            ));
            return None;
        };
        if lu != hu {
            self.errors.push(bad(
                "the two bounds have different units".into(),
                hs,
                &format!(
                    "`{}` here, `{}` for `low`",
                    hu.as_deref().unwrap_or("no unit"),
                    lu.as_deref().unwrap_or("no unit")
                ),
                "write both bounds in one unit, e.g. `uniform(10 ms, 30 ms)`",
            ));
            return None;
        }
        if low >= high {
            self.errors.push(bad(
                format!("`{}` needs low < high", c.name.text),
                Span::new(ls.start, hs.end),
                "an empty interval",
                &example,
            ));
            return None;
        }
        if log && low <= 0.0 {
            self.errors.push(bad(
                "`log_uniform` needs positive bounds".into(),
                ls,
                "not > 0",
                "it draws the logarithm uniformly: e.g. `log_uniform(1e-4, 1e-2)`",
            ));
            return None;
        }
        Some(if log { Values::LogUniform { low, high, unit: lu } } else { Values::Uniform { low, high, unit: lu } })
    }
}

/// The help line of an unknown path: the closest path, the paths that end
/// the same way, or what the parent takes.
fn path_help(path: &str, params: &[Param]) -> String {
    let close = params
        .iter()
        .map(|p| (strsim::damerau_levenshtein(path, &p.path), &p.path))
        .filter(|(d, p)| *d <= p.len().max(path.len()) / 4 + 1)
        .min();
    if let Some((_, p)) = close {
        return format!("did you mean `{p}`?");
    }
    let last = path.rsplit('.').next().unwrap_or(path);
    let ends: Vec<&str> =
        params.iter().map(|p| p.path.as_str()).filter(|p| p.rsplit('.').next() == Some(last)).collect();
    if !ends.is_empty() && ends.len() <= 6 {
        return format!("did you mean {}?", ends.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(" or "));
    }
    if let Some((parent, _)) = path.rsplit_once('.') {
        let depth = parent.matches('.').count() + 1;
        let children: Vec<&str> = params
            .iter()
            .filter(|p| p.path.starts_with(&format!("{parent}.")) && p.path.matches('.').count() == depth)
            .filter_map(|p| p.path.rsplit('.').next())
            .collect();
        if !children.is_empty() {
            return format!("`{parent}` has: {}", children.join(", "));
        }
    }
    "`snnc sweep FILE --list-paths` lists every parameter of the spec".into()
}

/// The text of a trial's spec: `assignments` (canonical path, value text)
/// written into `spec_text` in order, the `sweep` block removed, and the
/// relative paths of a `csv` data set made absolute against `spec_dir`.
/// Returns the path that could not be set when an earlier value removed it
/// (e.g. `optimizer.momentum` after `optimizer = adam()`).
pub fn trial_text(spec_text: &str, assignments: &[(String, String)], spec_dir: &Path) -> Result<String, String> {
    let mut text = spec_text.to_string();
    for (path, value) in assignments {
        let params = parameters(&text);
        let p = params.iter().find(|p| &p.path == path).ok_or_else(|| path.clone())?;
        text = paths::set(&text, &p.place, value);
    }
    text = without_sweep_block(&text);
    Ok(absolute_data_paths(&text, spec_dir))
}

/// The text without its `sweep` block (and the blank line it leaves).
fn without_sweep_block(text: &str) -> String {
    let Ok(file) = syntax::parse(text) else { return text.to_string() };
    let Some(span) = file.items.iter().find_map(|i| match i {
        Item::Sweep(s) => Some(s.span),
        _ => None,
    }) else {
        return text.to_string();
    };
    let start = text[..span.start].trim_end_matches([' ', '\t']).len();
    let start = if text[..start].ends_with("\n\n") { start - 1 } else { start };
    let end = if text[span.end..].starts_with('\n') { span.end + 1 } else { span.end };
    format!("{}{}", &text[..start], &text[end..])
}

/// `csv("train.csv")` read relative to the spec's folder, rewritten as an
/// absolute path so that the trial spec reads the same file from its own folder.
fn absolute_data_paths(text: &str, spec_dir: &Path) -> String {
    let mut text = text.to_string();
    let params = parameters(&text);
    let mut edits: Vec<(Span, String)> = params
        .iter()
        .filter(|p| ["data.train", "data.validation", "data.test"].contains(&p.path.as_str()))
        .filter_map(|p| match (&p.place, &p.current) {
            (paths::Place::Given(span), Some(cur)) if cur.starts_with('"') => {
                let inner = syntax::parse_string_literal(cur)?;
                let path = Path::new(&inner);
                if path.is_absolute() {
                    return None;
                }
                let abs = std::path::absolute(spec_dir.join(path)).ok()?;
                let quoted = format!("\"{}\"", abs.display().to_string().replace('\\', "\\\\").replace('"', "\\\""));
                Some((*span, quoted))
            }
            _ => None,
        })
        .collect();
    edits.sort_by_key(|(s, _)| std::cmp::Reverse(s.start));
    for (s, v) in edits {
        text.replace_range(s.start..s.end, &v);
    }
    text
}

#[cfg(test)]
mod tests;
