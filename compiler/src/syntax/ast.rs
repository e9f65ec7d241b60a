//! The `.snn` syntax tree. Every node keeps its byte span into the source so
//! that the checker can point at it.
//!
//! Invariant: every span lies inside the parsed text (`start <= end <= len`).

use crate::network::Span;

/// A whole `.snn` file: its top-level blocks in source order.
#[derive(Clone, Debug, PartialEq)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    Network(Network),
    /// `train { .. }`; `keyword` is the span of the word `train`.
    Train {
        keyword: Span,
        body: Body,
    },
    /// `target NAME { .. }`.
    Target {
        keyword: Span,
        name: Ident,
        body: Body,
    },
    /// `sweep [MODE] { path = values .. }`: read by `snnc sweep` only.
    Sweep(Sweep),
}

impl Item {
    /// The span of the block's opening keyword.
    pub fn keyword(&self) -> Span {
        match self {
            Item::Network(n) => n.keyword,
            Item::Train { keyword, .. } | Item::Target { keyword, .. } => *keyword,
            Item::Sweep(s) => s.keyword,
        }
    }
}

/// `network NAME { time {..} population .. projection .. }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    pub keyword: Span,
    pub name: Ident,
    pub entries: Vec<NetworkEntry>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum NetworkEntry {
    Time { keyword: Span, body: Body },
    Population(PopulationDecl),
    Projection(ProjectionDecl),
}

/// `population NAME = KIND(args) { params }`.
#[derive(Clone, Debug, PartialEq)]
pub struct PopulationDecl {
    pub name: Ident,
    pub kind: Call,
    pub span: Span,
}

/// `projection PRE -> POST = KIND { params }`.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectionDecl {
    pub pre: Ident,
    pub post: Ident,
    pub kind: Call,
    pub span: Span,
}

/// A `{ .. }` list of parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Body {
    pub params: Vec<Param>,
    /// From `{` to `}` inclusive.
    pub span: Span,
}

/// `name = value` inside a body.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub value: Value,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub text: String,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub kind: ValueKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ValueKind {
    /// A number with an optional unit word: `20 ms`, `1e-3`, `27 steps`.
    Quantity { number: Number, unit: Option<Ident> },
    /// `5000 @ seed 42`.
    Split { size: Number, seed: Number },
    /// `0 ms .. 270 ms step 30 ms`: `start` and `end` are quantities (the
    /// end included), `step` an optional quantity.
    Range { start: Box<Value>, end: Box<Value>, step: Option<Box<Value>> },
    /// `"path.csv"`, escapes resolved.
    String(String),
    /// `(0.9, 0.999)`.
    Tuple(Vec<Value>),
    /// A word, optionally with arguments and a body: `zero`, `adam(lr = 1e-3)`,
    /// `lif(3) { tau_mem = 20 ms }`, `dense { .. }`.
    Call(Call),
}

/// A number literal: its value and whether it was written as an integer
/// (no `.` and no exponent).
#[derive(Clone, Debug, PartialEq)]
pub struct Number {
    pub value: f64,
    pub text: String,
    pub span: Span,
}

impl Number {
    /// The literal as an integer, when it was written as one and fits.
    pub fn as_integer(&self) -> Option<i128> {
        self.text.parse::<i128>().ok()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub name: Ident,
    /// `None` when the word has no parentheses.
    pub args: Option<Args>,
    pub body: Option<Body>,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Args {
    pub args: Vec<Arg>,
    /// From `(` to `)` inclusive.
    pub span: Span,
}

/// A positional (`120`) or named (`mean = 3.2`) argument.
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Value,
    pub span: Span,
}

/// `sweep { .. }` or `sweep random(trials = 8, seed = 1) { .. }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    pub keyword: Span,
    /// The word and arguments after `sweep`, when given (`random(..)`, `grid`).
    pub mode: Option<Call>,
    pub entries: Vec<SweepEntry>,
    /// From the keyword to the closing `}`.
    pub span: Span,
}

/// `path = v1, v2, ..` in a `sweep` block or a `--set` flag.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepEntry {
    pub path: SweepPath,
    pub values: Vec<SweepValue>,
    pub span: Span,
}

/// `optimizer.lr`, `projection.input->hidden.init.mean`: dot-separated
/// segments; a segment may be `pre->post` (spaces around `->` are dropped).
#[derive(Clone, Debug, PartialEq)]
pub struct SweepPath {
    pub segments: Vec<String>,
    pub span: Span,
}

impl SweepPath {
    /// The path as the user would write it without spaces: `a.b->c.d`.
    pub fn text(&self) -> String {
        self.segments.join(".")
    }
}

/// One item of a sweep entry's list.
#[derive(Clone, Debug, PartialEq)]
pub enum SweepValue {
    /// Any value of the language: `1e-3`, `20 ms`, `single_copy`,
    /// `(0.9, 0.99)`, or a distribution call `log_uniform(1e-4, 1e-2)`.
    Value(Value),
    /// `0..5`: the integers from 0 up to 4.
    Range { start: Number, end: Number, span: Span },
}

impl SweepValue {
    pub fn span(&self) -> Span {
        match self {
            SweepValue::Value(v) => v.span,
            SweepValue::Range { span, .. } => *span,
        }
    }
}
