//! Reading `name = value` parameters and typed values, reporting every
//! problem into the shared error list.
//!
//! Invariant: a conversion that returns `Some` has checked the value's kind,
//! unit and finiteness; a conversion that returns `None` has pushed at least
//! one error.

use std::collections::BTreeMap;

use miette::SourceSpan;

use super::error::CheckError;
use crate::network::{Span, TimeValue};
use crate::syntax::ast::{Body, Call, Ident, Number, Value, ValueKind};

/// A parameter the user gave: its name's span, its value, its whole span.
#[derive(Clone, Copy)]
pub struct Given<'a> {
    pub name: &'a str,
    pub name_span: Span,
    pub value: &'a Value,
}

/// The parameters of one block or call, by name.
pub struct Params<'a> {
    /// "of `lif`", "in `time`": used in messages.
    pub context: String,
    /// Where to point when a required parameter is missing.
    pub owner: Span,
    pub map: BTreeMap<&'static str, Given<'a>>,
    /// Names suggested for unknown parameters: not reported missing again.
    pub suggested: Vec<&'static str>,
}

impl<'a> Given<'a> {
    /// The same parameter with a part of its value (an element of a tuple,
    /// an end of a range), for messages that point at that part.
    pub fn with_value(self, value: &'a Value) -> Given<'a> {
        Given { value, ..self }
    }
}

impl<'a> Params<'a> {
    pub fn get(&self, name: &str) -> Option<Given<'a>> {
        self.map.get(name).copied()
    }
}

/// What a call or block accepts: positional arguments (in order), then
/// named arguments (any of `args`), then body parameters.
pub struct Shape {
    pub name: &'static str,
    pub args: &'static [&'static str],
    pub body: &'static [&'static str],
}

/// The candidate closest to `word`, when it is close enough to be a typo.
pub fn closest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    // Ties go to the candidate of the same length (a transposition, `lfi`
    // for `lif`, before a deletion, `li`), then alphabetically.
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c.len().abs_diff(word.len()), *c))
        .filter(|(d, _, c)| *d <= c.len().max(word.len()) / 3 + 1 && *d < word.chars().count())
        .min()
        .map(|(_, _, c)| c)
}

/// Suggests the closest of `candidates` to `word`, or lists them.
pub fn did_you_mean<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> String {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    match closest(word, &candidates) {
        Some(c) => format!("did you mean `{c}`?"),
        None if candidates.is_empty() => "nothing is accepted here".to_string(),
        None => format!("expected one of: {}", candidates.join(", ")),
    }
}

pub fn sp(s: Span) -> SourceSpan {
    s.into()
}

/// Words that describe a value's kind in messages.
pub fn describe(v: &Value) -> String {
    match &v.kind {
        ValueKind::Quantity { unit: None, .. } => "a plain number".into(),
        ValueKind::Quantity { unit: Some(u), .. } => format!("a quantity in `{}`", u.text),
        ValueKind::Split { .. } => "a data split".into(),
        ValueKind::String(_) => "a string".into(),
        ValueKind::Tuple(_) => "a tuple".into(),
        ValueKind::Range { .. } => "a range".into(),
        ValueKind::Call(c) if c.args.is_none() && c.body.is_none() => format!("the word `{}`", c.name.text),
        ValueKind::Call(c) => format!("a call of `{}`", c.name.text),
    }
}

/// The dimension of a unit word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dim {
    Time,
    Steps,
    Frequency,
}

impl Dim {
    fn words(self) -> &'static str {
        match self {
            Dim::Time => "a time",
            Dim::Steps => "a number of steps",
            Dim::Frequency => "a frequency",
        }
    }
}

/// A unit as written: its dimension, its power of ten to SI, the word.
type Unit<'v> = (Dim, i32, &'v Ident);

/// Units: name, dimension, and the power of ten to SI.
pub const UNITS: &[(&str, Dim, i32)] = &[
    ("s", Dim::Time, 0),
    ("ms", Dim::Time, -3),
    ("us", Dim::Time, -6),
    ("steps", Dim::Steps, 0),
    ("Hz", Dim::Frequency, 0),
    ("kHz", Dim::Frequency, 3),
    ("MHz", Dim::Frequency, 6),
    ("GHz", Dim::Frequency, 9),
];

/// `v * 10^exp`, by an exact power of ten so that the result is correctly
/// rounded (20 ms -> 0.02 s, the same double as the literal `20e-3`).
pub fn scale10(v: f64, exp: i32) -> f64 {
    let p = 10f64.powi(exp.abs());
    if exp < 0 { v / p } else { v * p }
}

/// The collected errors of one check, with typed readers that add to it.
#[derive(Default)]
pub struct Errors {
    pub list: Vec<CheckError>,
}

impl Errors {
    pub fn push(&mut self, e: CheckError) {
        self.list.push(e);
    }

    /// Collects the parameters of a call: positional arguments in the order of
    /// `shape.args`, named arguments, and the `{ }` body's parameters.
    pub fn call_params<'a>(&mut self, call: &'a Call, shape: &Shape) -> Params<'a> {
        let context = format!("of `{}`", shape.name);
        let mut map: BTreeMap<&'static str, Given<'a>> = BTreeMap::new();
        let mut suggested = Vec::new();
        if let Some(args) = &call.args {
            if shape.args.is_empty() && !args.args.is_empty() {
                self.push(CheckError::UnexpectedArgument {
                    message: format!("`{}` takes no arguments", shape.name),
                    span: sp(args.span),
                    help: if shape.body.is_empty() {
                        format!("write `{}` alone", shape.name)
                    } else {
                        format!("give its parameters in a block: `{} {{ {} = .. }}`", shape.name, shape.body[0])
                    },
                });
            } else {
                let mut seen_named = false;
                for (i, a) in args.args.iter().enumerate() {
                    match &a.name {
                        Some(n) => {
                            seen_named = true;
                            self.insert(&mut map, &mut suggested, shape.args, &context, n, &a.value);
                        }
                        None if seen_named => self.push(CheckError::UnexpectedArgument {
                            message: "a positional argument follows a named one".into(),
                            span: sp(a.span),
                            help: "give positional arguments first, or name this one".into(),
                        }),
                        None => match shape.args.get(i) {
                            Some(&pname) => {
                                let ident = Ident { text: pname.to_string(), span: a.value.span };
                                self.insert_named(&mut map, pname, &ident, &a.value);
                            }
                            None => self.push(CheckError::UnexpectedArgument {
                                message: match shape.args.len() {
                                    1 => format!("`{}` takes one argument", shape.name),
                                    n => format!("`{}` takes at most {n} arguments", shape.name),
                                },
                                span: sp(a.span),
                                help: format!("the arguments of `{}` are: {}", shape.name, shape.args.join(", ")),
                            }),
                        },
                    }
                }
            }
        }
        if let Some(body) = &call.body {
            if shape.body.is_empty() {
                self.push(CheckError::UnexpectedArgument {
                    message: format!("`{}` takes no `{{ }}` block", shape.name),
                    span: sp(body.span),
                    help: if shape.args.is_empty() {
                        format!("write `{}` alone", shape.name)
                    } else {
                        format!("give its parameters in parentheses: `{}({} = ..)`", shape.name, shape.args[0])
                    },
                });
            } else {
                self.body_into(&mut map, &mut suggested, shape.body, &context, body);
            }
        }
        Params { context, owner: call.span, map, suggested }
    }

    /// Collects the parameters of a plain block (`time { .. }`, `train { .. }`).
    pub fn block_params<'a>(
        &mut self,
        body: &'a Body,
        allowed: &[&'static str],
        context: &str,
        owner: Span,
    ) -> Params<'a> {
        let mut map = BTreeMap::new();
        let mut suggested = Vec::new();
        self.body_into(&mut map, &mut suggested, allowed, context, body);
        Params { context: context.to_string(), owner, map, suggested }
    }

    fn body_into<'a>(
        &mut self,
        map: &mut BTreeMap<&'static str, Given<'a>>,
        suggested: &mut Vec<&'static str>,
        allowed: &[&'static str],
        context: &str,
        body: &'a Body,
    ) {
        for p in &body.params {
            self.insert(map, suggested, allowed, context, &p.name, &p.value);
        }
    }

    fn insert<'a>(
        &mut self,
        map: &mut BTreeMap<&'static str, Given<'a>>,
        suggested: &mut Vec<&'static str>,
        allowed: &[&'static str],
        context: &str,
        name: &'a Ident,
        value: &'a Value,
    ) {
        match allowed.iter().find(|a| **a == name.text) {
            Some(&key) => self.insert_named(map, key, name, value),
            None => {
                suggested.extend(closest(&name.text, allowed));
                self.push(CheckError::UnknownParameter {
                    name: name.text.clone(),
                    context: context.to_string(),
                    span: sp(name.span),
                    help: did_you_mean(&name.text, allowed.iter().copied()),
                })
            }
        }
    }

    fn insert_named<'a>(
        &mut self,
        map: &mut BTreeMap<&'static str, Given<'a>>,
        key: &'static str,
        name: &Ident,
        value: &'a Value,
    ) {
        if let Some(first) = map.get(key) {
            self.push(CheckError::DuplicateParameter {
                name: key.to_string(),
                span: sp(name.span),
                first: sp(first.name_span),
            });
        } else {
            map.insert(key, Given { name: key, name_span: name.span, value });
        }
    }

    /// A required parameter; reports it missing, unless an unknown parameter
    /// was already reported with this name as its suggestion.
    pub fn require<'a>(&mut self, p: &Params<'a>, name: &str, help: &str) -> Option<Given<'a>> {
        let g = p.get(name);
        if g.is_none() && !p.suggested.contains(&name) {
            self.push(CheckError::MissingParameter {
                name: name.to_string(),
                context: p.context.clone(),
                span: sp(p.owner),
                help: help.to_string(),
            });
        }
        g
    }

    fn mismatch(&mut self, g: Given, expected: &str, help: &str) {
        self.push(CheckError::TypeMismatch {
            name: g.name.to_string(),
            expected: expected.to_string(),
            found: describe(g.value),
            span: sp(g.value.span),
            help: help.to_string(),
        });
    }

    /// The number and the dimension of its unit (`None` for a bare number).
    fn quantity<'v>(&mut self, g: Given<'v>, expected: &str, help: &str) -> Option<(&'v Number, Option<Unit<'v>>)> {
        let ValueKind::Quantity { number, unit } = &g.value.kind else {
            self.mismatch(g, expected, help);
            return None;
        };
        let Some(unit) = unit else { return Some((number, None)) };
        match UNITS.iter().find(|(n, _, _)| *n == unit.text) {
            Some((_, dim, exp)) => Some((number, Some((*dim, *exp, unit)))),
            None => {
                self.push(CheckError::UnknownUnit {
                    unit: unit.text.clone(),
                    span: sp(unit.span),
                    help: did_you_mean(&unit.text, UNITS.iter().map(|u| u.0)),
                });
                None
            }
        }
    }

    fn wrong_unit(&mut self, g: Given, expected: &str, found: String, help: &str) {
        self.push(CheckError::WrongUnit {
            name: g.name.to_string(),
            expected: expected.to_string(),
            found,
            span: sp(g.value.span),
            help: help.to_string(),
        });
    }

    /// A dimensionless number.
    pub fn number(&mut self, g: Given) -> Option<f64> {
        let (n, unit) = self.quantity(g, "a plain number", "write a number such as `0.5` or `1e-3`")?;
        match unit {
            None => Some(n.value),
            Some((dim, _, u)) => {
                self.wrong_unit(
                    g,
                    "a plain number",
                    format!("{} (`{}`)", dim.words(), u.text),
                    &format!("`{}` has no unit: write `{}`", g.name, n.text),
                );
                None
            }
        }
    }

    /// An integer in `min..=max`; `steps_ok` also accepts the unit `steps`.
    pub fn integer(&mut self, g: Given, min: u64, max: u64, steps_ok: bool) -> Option<u64> {
        self.integer_in(g, min, max, steps_ok, None)
    }

    /// [`Errors::integer`], with the help line to show when out of range.
    pub fn integer_in(
        &mut self,
        g: Given,
        min: u64,
        max: u64,
        steps_ok: bool,
        range_help: Option<&str>,
    ) -> Option<u64> {
        let (n, unit) = self.quantity(g, "an integer", "write a whole number such as `22`")?;
        match unit {
            None => {}
            Some((Dim::Steps, _, _)) if steps_ok => {}
            Some((dim, _, u)) => {
                self.wrong_unit(
                    g,
                    "a plain integer",
                    format!("{} (`{}`)", dim.words(), u.text),
                    &format!("`{}` is a count: write `{}`", g.name, n.text),
                );
                return None;
            }
        }
        let Some(i) = n.as_integer() else {
            self.push(CheckError::TypeMismatch {
                name: g.name.to_string(),
                expected: "an integer".into(),
                found: format!("`{}`", n.text),
                span: sp(n.span),
                help: "write a whole number without a decimal point or exponent".into(),
            });
            return None;
        };
        if i < i128::from(min) || i > i128::from(max) {
            let message = if max == u64::MAX {
                format!("must be at least {min}")
            } else if min == max {
                format!("must be {min}")
            } else {
                format!("must be in {min}..={max}")
            };
            self.push(CheckError::OutOfRange {
                name: g.name.to_string(),
                message,
                span: sp(n.span),
                help: range_help.map_or_else(|| format!("`{}` is {}", g.name, n.text), str::to_string),
            });
            return None;
        }
        Some(i as u64)
    }

    /// A time in seconds (`s`, `ms`, `us`).
    pub fn time(&mut self, g: Given) -> Option<f64> {
        if let ValueKind::Quantity { unit: Some(u), .. } = &g.value.kind
            && let Some((_, dim, _)) = UNITS.iter().find(|(n, _, _)| *n == u.text)
            && *dim == Dim::Frequency
        {
            self.wrong_unit(
                g,
                "a time",
                format!("{} (`{}`)", dim.words(), u.text),
                &format!("`{}` is a time: write it in `s`, `ms` or `us`", g.name),
            );
            return None;
        }
        match self.time_value(g, false)? {
            TimeValue::Seconds(s) => Some(s),
            TimeValue::Steps(n) => {
                self.wrong_unit(
                    g,
                    "a time",
                    "a number of steps (`steps`)".into(),
                    &format!("`{}` is a time: write it in `s`, `ms` or `us`, e.g. `{} ms`", g.name, fmt_plain(n)),
                );
                None
            }
        }
    }

    /// A time or a number of steps; a bare number means steps when `bare_steps`.
    pub fn time_value(&mut self, g: Given, bare_steps: bool) -> Option<TimeValue> {
        let (n, unit) = self.quantity(g, "a time", "write a time such as `5 ms` or `2 steps`")?;
        match unit {
            None if bare_steps => Some(TimeValue::Steps(n.value)),
            None => {
                self.wrong_unit(
                    g,
                    "a time",
                    "a number without a unit".into(),
                    &format!("add a unit: `{} ms`, `{} us`, `{} s` or `{} steps`", n.text, n.text, n.text, n.text),
                );
                None
            }
            Some((Dim::Time, exp, _)) => Some(TimeValue::Seconds(scale10(n.value, exp))),
            Some((Dim::Steps, _, _)) => Some(TimeValue::Steps(n.value)),
            Some((dim, _, u)) => {
                self.wrong_unit(
                    g,
                    "a time",
                    format!("{} (`{}`)", dim.words(), u.text),
                    &format!("`{}` is a time: write it in `s`, `ms`, `us` or `steps`", g.name),
                );
                None
            }
        }
    }

    /// A frequency in hertz.
    pub fn frequency(&mut self, g: Given) -> Option<f64> {
        let (n, unit) = self.quantity(g, "a frequency", "write a frequency such as `300 MHz`")?;
        match unit {
            Some((Dim::Frequency, exp, _)) => Some(scale10(n.value, exp)),
            None => {
                self.wrong_unit(
                    g,
                    "a frequency",
                    "a number without a unit".into(),
                    &format!("add a unit: `{} MHz`", n.text),
                );
                None
            }
            Some((dim, _, u)) => {
                self.wrong_unit(
                    g,
                    "a frequency",
                    format!("{} (`{}`)", dim.words(), u.text),
                    &format!("`{}` is a frequency: write it in `Hz`, `kHz`, `MHz` or `GHz`", g.name),
                );
                None
            }
        }
    }

    /// A bare word from `choices`.
    pub fn word<'c>(&mut self, g: Given, what: &str, choices: &[&'c str]) -> Option<&'c str> {
        let ValueKind::Call(c) = &g.value.kind else {
            self.mismatch(g, &format!("one of: {}", choices.join(", ")), "write one of the words above");
            return None;
        };
        let found = choices.iter().find(|w| **w == c.name.text).copied();
        match found {
            None => {
                self.push(CheckError::UnknownKeyword {
                    what: what.to_string(),
                    name: c.name.text.clone(),
                    span: sp(c.name.span),
                    help: did_you_mean(&c.name.text, choices.iter().copied()),
                });
                None
            }
            Some(w) => {
                if c.args.is_some() || c.body.is_some() {
                    self.push(CheckError::UnexpectedArgument {
                        message: format!("`{w}` takes no arguments"),
                        span: sp(g.value.span),
                        help: format!("write `{w}` alone"),
                    });
                    return None;
                }
                Some(w)
            }
        }
    }

    /// A bare word naming something (a population): returned with its span.
    pub fn name<'v>(&mut self, g: Given<'v>) -> Option<&'v Ident> {
        match &g.value.kind {
            ValueKind::Call(c) if c.args.is_none() && c.body.is_none() => Some(&c.name),
            _ => {
                self.mismatch(g, "a population name", "write the name of a population, e.g. `readout = output`");
                None
            }
        }
    }

    pub fn boolean(&mut self, g: Given) -> Option<bool> {
        self.word(g, "boolean", &["true", "false"]).map(|w| w == "true")
    }

    pub fn string(&mut self, g: Given) -> Option<String> {
        match &g.value.kind {
            ValueKind::String(s) => Some(s.clone()),
            _ => {
                self.mismatch(g, "a string", "write a quoted path such as `\"data/train.csv\"`");
                None
            }
        }
    }

    /// A call of one of `choices` (`adam(..)`, `normal(..)`, or a bare word).
    pub fn call<'v>(&mut self, g: Given<'v>, what: &str, choices: &[&str]) -> Option<&'v Call> {
        match &g.value.kind {
            ValueKind::Call(c) if choices.contains(&c.name.text.as_str()) => Some(c),
            ValueKind::Call(c) => {
                self.push(CheckError::UnknownKeyword {
                    what: what.to_string(),
                    name: c.name.text.clone(),
                    span: sp(c.name.span),
                    help: did_you_mean(&c.name.text, choices.iter().copied()),
                });
                None
            }
            _ => {
                self.mismatch(g, &format!("{what}: one of {}", choices.join(", ")), "see docs/language.md");
                None
            }
        }
    }

    /// A pair of plain numbers `(a, b)`.
    pub fn pair(&mut self, g: Given) -> Option<(f64, f64)> {
        let ValueKind::Tuple(items) = &g.value.kind else {
            self.mismatch(g, "a pair `(a, b)`", "write two numbers in parentheses, e.g. `(0.9, 0.999)`");
            return None;
        };
        if items.len() != 2 {
            self.push(CheckError::TypeMismatch {
                name: g.name.to_string(),
                expected: "a pair `(a, b)`".into(),
                found: format!("a tuple of {}", items.len()),
                span: sp(g.value.span),
                help: "write exactly two numbers, e.g. `(0.9, 0.999)`".into(),
            });
            return None;
        }
        let a = self.number(Given { value: &items[0], ..g });
        let b = self.number(Given { value: &items[1], ..g });
        Some((a?, b?))
    }

    /// `N @ seed S`, or a bare `N` with the default seed.
    pub fn split(&mut self, g: Given, default_seed: u32) -> Option<(u64, u32)> {
        match &g.value.kind {
            ValueKind::Split { size, seed } => {
                let size = self.integer_literal(g, size, 0, 100_000_000);
                let v = Value { kind: ValueKind::Quantity { number: seed.clone(), unit: None }, span: seed.span };
                let seed = self.seed(Given { value: &v, ..g });
                Some((size?, seed?))
            }
            ValueKind::Quantity { .. } => Some((self.integer(g, 0, 100_000_000, false)?, default_seed)),
            _ => {
                self.mismatch(g, "a data split `N @ seed S`", "write e.g. `5000 @ seed 42`");
                None
            }
        }
    }

    /// A seed: numpy's `RandomState` seeds, `0 ..= 2^32 - 1`.
    pub fn seed(&mut self, g: Given) -> Option<u32> {
        let help = "seeds are 32-bit, as numpy's `RandomState(seed)`: use 0 to 4294967295";
        self.integer_in(g, 0, u64::from(u32::MAX), false, Some(help)).map(|s| s as u32)
    }

    fn integer_literal(&mut self, g: Given, n: &Number, min: u64, max: u64) -> Option<u64> {
        let v = Value { kind: ValueKind::Quantity { number: n.clone(), unit: None }, span: n.span };
        self.integer(Given { value: &v, ..g }, min, max, false)
    }

    /// Pushes an out-of-range error on `g`'s value.
    pub fn range(&mut self, g: Given, message: &str, help: &str) {
        self.push(CheckError::OutOfRange {
            name: g.name.to_string(),
            message: message.to_string(),
            span: sp(g.value.span),
            help: help.to_string(),
        });
    }
}

/// A number printed with at most 12 significant digits, without trailing zeros.
pub fn fmt_plain(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let mag = v.abs().log10().floor() as i32;
    if !(-4..15).contains(&mag) {
        let s = format!("{:.11e}", v);
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let m = if m.contains('.') { m.trim_end_matches('0').trim_end_matches('.') } else { m };
        return format!("{m}e{e}");
    }
    let decimals = (11 - mag).max(0) as usize;
    let s = format!("{:.*}", decimals, v);
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}
