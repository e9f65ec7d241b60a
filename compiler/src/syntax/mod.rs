//! Parser: `.snn` source text -> [`ast::File`] (grammar in `grammar/snn.pest`).
//!
//! Input: any string. Output: the syntax tree, or the syntax errors found
//! (a parse error stops at its position; separator errors are collected).
//! The parser knows the shape of the language (blocks, declarations,
//! `name = value`); which names and values are allowed is the checker's job.
//!
//! Invariants: never panics on any input; every node and every error carries
//! a span inside the input.

pub mod ast;

use pest::Parser;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;

use crate::network::Span;
use ast::*;

#[derive(pest_derive::Parser)]
#[grammar = "../../grammar/snn.pest"]
struct SnnParser;

/// A syntax error, with the span it points at.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum SyntaxError {
    #[error("expected {expected}, found {found}")]
    #[diagnostic(code(snn::syntax::unexpected))]
    Unexpected {
        expected: String,
        found: String,
        #[label("{label}")]
        span: Span,
        label: String,
        #[help]
        help: String,
    },
    #[error("expected `;` or a newline between two entries")]
    #[diagnostic(
        code(snn::syntax::missing_separator),
        help("write each parameter on its own line, or separate them with `;`")
    )]
    MissingSeparator {
        #[label("this entry starts on the same line as the previous one")]
        span: Span,
    },
    #[error("brackets are nested more than {MAX_DEPTH} deep")]
    #[diagnostic(
        code(snn::syntax::too_deep),
        help("a .snn file never needs this much nesting; check for unclosed brackets")
    )]
    TooDeep {
        #[label("this bracket is {MAX_DEPTH} levels deep")]
        span: Span,
    },
    #[error("number `{text}` is not representable")]
    #[diagnostic(code(snn::syntax::bad_number), help("numbers must be finite 64-bit floats"))]
    BadNumber {
        text: String,
        #[label("too large")]
        span: Span,
    },
}

/// Words the grammar can expect at the start of a top-level item or a
/// network entry; used for "did you mean" on syntax errors.
const KEYWORDS: &[(Rule, &str)] = &[
    (Rule::kw_network, "network"),
    (Rule::kw_train, "train"),
    (Rule::kw_target, "target"),
    (Rule::kw_time, "time"),
    (Rule::kw_population, "population"),
    (Rule::kw_projection, "projection"),
    (Rule::kw_sweep, "sweep"),
    (Rule::kw_seed, "seed"),
];

/// The deepest nesting of `( )` and `{ }` accepted; it bounds the parser's
/// recursion, so that no input can exhaust the stack.
pub const MAX_DEPTH: usize = 64;

/// The first bracket that opens more than [`MAX_DEPTH`] levels, skipping
/// comments and strings.
fn too_deep(text: &str) -> Option<Span> {
    let b = text.as_bytes();
    let (mut i, mut depth) = (0, 0usize);
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i += text[i..].find('\n').unwrap_or(text.len() - i);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += text[i + 2..].find("*/").map_or(text.len() - i, |k| k + 4);
                continue;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' && b[i] != b'\n' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(Span::new(i, i + 1));
                }
            }
            b')' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Parses a whole file.
pub fn parse(text: &str) -> Result<File, Vec<SyntaxError>> {
    if let Some(span) = too_deep(text) {
        return Err(vec![SyntaxError::TooDeep { span }]);
    }
    let mut pairs = SnnParser::parse(Rule::file, text).map_err(|e| vec![convert_error(text, &e)])?;
    let file = pairs.next().expect("the file rule always yields one pair");
    let mut b = Builder { text, errors: Vec::new() };
    let items = file.into_inner().filter(|p| p.as_rule() != Rule::EOI).filter_map(|p| b.item(p)).collect();
    if b.errors.is_empty() { Ok(File { items }) } else { Err(b.errors) }
}

/// Parses one `PATH = VALUES` entry written outside a file (a `--set` flag of
/// `snnc sweep`), with the grammar of a `sweep` block's entries.
pub fn parse_sweep_entry(text: &str) -> Result<SweepEntry, Vec<SyntaxError>> {
    if let Some(span) = too_deep(text) {
        return Err(vec![SyntaxError::TooDeep { span }]);
    }
    let mut pairs = SnnParser::parse(Rule::set_entry, text).map_err(|e| vec![convert_error(text, &e)])?;
    let top = pairs.next().expect("the set_entry rule always yields one pair");
    let mut b = Builder { text, errors: Vec::new() };
    let entry = top.into_inner().find(|p| p.as_rule() == Rule::sweep_entry).map(|p| b.sweep_entry(p));
    match entry {
        Some(e) if b.errors.is_empty() => Ok(e),
        _ => Err(b.errors),
    }
}

/// The span of a pair without the whitespace and comments that pest keeps
/// at the end of a rule whose last part is optional: it ends where its last
/// token ends (strings are tokens; their insides are not).
fn span_of(p: &Pair<Rule>) -> Span {
    let mut last = p.clone();
    while last.as_rule() != Rule::string {
        match last.clone().into_inner().last() {
            Some(child) => last = child,
            None => break,
        }
    }
    Span::new(p.as_span().start(), last.as_span().end())
}

fn is_punctuation(r: Rule) -> bool {
    matches!(
        r,
        Rule::sep
            | Rule::open
            | Rule::close
            | Rule::equals
            | Rule::arrow
            | Rule::lparen
            | Rule::rparen
            | Rule::comma
            | Rule::at
            | Rule::dotdot
    )
}

/// The grammar's words for what it expected, in plain English.
fn describe(r: Rule) -> &'static str {
    match r {
        Rule::kw_network => "`network`",
        Rule::kw_train => "`train`",
        Rule::kw_target => "`target`",
        Rule::kw_time => "`time`",
        Rule::kw_population => "`population`",
        Rule::kw_projection => "`projection`",
        Rule::kw_seed => "`seed`",
        Rule::kw_sweep => "`sweep`",
        Rule::path => "a parameter path such as `optimizer.lr`",
        Rule::sep => "`;`",
        Rule::open => "`{`",
        Rule::close => "`}`",
        Rule::equals => "`=`",
        Rule::arrow => "`->`",
        Rule::lparen => "`(`",
        Rule::rparen => "`)`",
        Rule::comma => "`,`",
        Rule::at => "`@`",
        Rule::dotdot => "`..`",
        Rule::kw_step => "`step`",
        Rule::ident => "a name",
        Rule::unit => "a unit",
        Rule::number => "a number",
        Rule::string => "a string",
        Rule::EOI => "end of file",
        Rule::value => "a value",
        _ => "input",
    }
}

/// Joins `["a", "b", "c"]` as "a, b or c".
fn one_of(words: &[&str]) -> String {
    match words {
        [] => "something else".to_string(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

/// The token at `pos`, for "found ...": a word, a number, one character, or end of file.
fn token_at(text: &str, pos: usize) -> (String, Span) {
    let rest = &text[pos..];
    let Some(c) = rest.chars().next() else {
        return ("end of file".to_string(), Span::new(pos, pos));
    };
    let len = if c.is_ascii_alphanumeric() || c == '_' {
        rest.find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == '.')).unwrap_or(rest.len())
    } else {
        c.len_utf8()
    };
    if rest.starts_with("/*") {
        return ("a `/*` comment that is never closed".to_string(), Span::new(pos, pos + 2));
    }
    if c == '"' && !rest[1..].split('\n').next().unwrap_or("").contains('"') {
        return ("a string that is never closed".to_string(), Span::new(pos, pos + 1));
    }
    let tok = &rest[..len];
    let found = if c == '\n' {
        "a line break".to_string()
    } else if c.is_control() {
        format!("the character {:?}", c)
    } else {
        format!("`{tok}`")
    };
    (found, Span::new(pos, pos + len))
}

fn convert_error(text: &str, e: &pest::error::Error<Rule>) -> SyntaxError {
    let pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    }
    .min(text.len());
    let positives: Vec<Rule> = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let mut positives: Vec<Rule> = positives.iter().flat_map(|r| expand(*r)).copied().collect();
    if positives.len() > 1 {
        positives.retain(|r| *r != Rule::sep);
    }
    // The starts of every kind of value: say "a value".
    if [Rule::ident, Rule::number, Rule::string].iter().all(|r| positives.contains(r)) {
        positives.retain(|r| ![Rule::ident, Rule::number, Rule::string, Rule::lparen].contains(r));
        positives.push(Rule::value);
    }
    let mut words: Vec<&str> = positives.iter().map(|r| describe(*r)).collect();
    words.sort();
    words.dedup();
    let expected = one_of(&words);
    let (found, span) = token_at(text, pos);
    let word = &text[span.start..span.end];
    // At the end of the input there is nothing to underline: point at the
    // last token instead.
    let (span, label) = if span.start == span.end {
        let end = text.trim_end().len();
        let start = text[..end].char_indices().last().map_or(0, |(i, _)| i);
        (Span::new(start, end), format!("expected {expected} after this"))
    } else {
        (span, format!("expected {expected} here"))
    };
    let suggestion = KEYWORDS
        .iter()
        .filter(|(r, _)| positives.contains(r))
        .map(|(_, k)| (strsim::levenshtein(word, k), *k))
        .filter(|(d, k)| *d > 0 && *d <= k.len() / 3 + 1)
        .min();
    let help = match suggestion {
        Some((_, k)) => format!("did you mean `{k}`?"),
        None => help_for(&positives),
    };
    SyntaxError::Unexpected { expected, found, span, label, help }
}

/// A rule that pest reports as expected, as the tokens it starts with.
fn expand(r: Rule) -> &'static [Rule] {
    match r {
        Rule::file | Rule::item => &[Rule::kw_network, Rule::kw_train, Rule::kw_target, Rule::kw_sweep, Rule::EOI],
        Rule::network => &[Rule::kw_network],
        Rule::train => &[Rule::kw_train],
        Rule::target => &[Rule::kw_target],
        Rule::sweep => &[Rule::kw_sweep],
        Rule::sweep_body => &[Rule::open],
        Rule::sweep_mode => &[Rule::ident],
        Rule::sweep_entry | Rule::set_entry | Rule::path | Rule::path_segment => &[Rule::path],
        Rule::sweep_value => &[Rule::value],
        Rule::kw_sweep => &[Rule::kw_sweep],
        Rule::network_entry => &[Rule::kw_time, Rule::kw_population, Rule::kw_projection],
        Rule::time => &[Rule::kw_time],
        Rule::population => &[Rule::kw_population],
        Rule::projection => &[Rule::kw_projection],
        Rule::body | Rule::network_body => &[Rule::open],
        Rule::args => &[Rule::lparen],
        Rule::param => &[Rule::ident],
        Rule::unit => &[Rule::unit],
        Rule::range | Rule::tuple | Rule::split | Rule::quantity | Rule::call | Rule::arg | Rule::value => {
            &[Rule::value]
        }
        Rule::kw_network => &[Rule::kw_network],
        Rule::kw_train => &[Rule::kw_train],
        Rule::kw_target => &[Rule::kw_target],
        Rule::kw_time => &[Rule::kw_time],
        Rule::kw_population => &[Rule::kw_population],
        Rule::kw_projection => &[Rule::kw_projection],
        Rule::kw_seed => &[Rule::kw_seed],
        Rule::kw_step => &[Rule::kw_step],
        Rule::dotdot => &[Rule::dotdot],
        Rule::sep => &[Rule::sep],
        Rule::open => &[Rule::open],
        Rule::close => &[Rule::close],
        Rule::equals => &[Rule::equals],
        Rule::arrow => &[Rule::arrow],
        Rule::lparen => &[Rule::lparen],
        Rule::rparen => &[Rule::rparen],
        Rule::comma => &[Rule::comma],
        Rule::at => &[Rule::at],
        Rule::ident => &[Rule::ident],
        Rule::number => &[Rule::number],
        Rule::string | Rule::string_inner => &[Rule::string],
        Rule::EOI => &[Rule::EOI],
        Rule::WHITESPACE | Rule::COMMENT | Rule::line_comment | Rule::block_comment => &[],
    }
}

fn help_for(positives: &[Rule]) -> String {
    if positives.contains(&Rule::kw_network) {
        "a file is made of `network NAME { .. }`, `train { .. }`, `target spinnaker2 { .. }` and `sweep { .. }` blocks"
            .into()
    } else if positives.contains(&Rule::kw_population) {
        "a network holds `time { .. }`, `population NAME = ..` and `projection A -> B = ..`".into()
    } else if positives.contains(&Rule::path) {
        "a sweep entry is `path = values`, e.g. `optimizer.lr = 1e-3, 2e-3` or `train.seed = 0..5`".into()
    } else if positives.contains(&Rule::ident) && positives.contains(&Rule::close) {
        "a block holds parameters `name = value`, separated by `;` or newlines".into()
    } else if positives.contains(&Rule::rparen) && positives.contains(&Rule::comma) {
        "separate arguments with `,` and close the list with `)`".into()
    } else if positives.contains(&Rule::value) {
        "a value is a number with an optional unit (`20 ms`), a word (`zero`), a call (`adam(lr = 1e-3)`), a string or a tuple".into()
    } else {
        "see docs/language.md for the syntax".into()
    }
}

struct Builder<'t> {
    text: &'t str,
    errors: Vec<SyntaxError>,
}

impl Builder<'_> {
    /// Entries of a body must be separated by `;` or a line break.
    fn check_separation(&mut self, prev_end: Option<usize>, next: Span) {
        if let Some(end) = prev_end {
            let gap = &self.text[end..next.start];
            if !gap.contains(';') && !gap.contains('\n') {
                self.errors.push(SyntaxError::MissingSeparator { span: next });
            }
        }
    }

    fn item(&mut self, p: Pair<Rule>) -> Option<Item> {
        let rule = p.as_rule();
        let span = span_of(&p);
        let mut inner = p.into_inner();
        let keyword = span_of(&inner.next()?);
        match rule {
            Rule::network => {
                let name = ident(inner.next()?);
                let entries = self.network_body(inner.next()?);
                Some(Item::Network(Network { keyword, name, entries, span }))
            }
            Rule::train => Some(Item::Train { keyword, body: self.body(inner.next()?) }),
            Rule::target => {
                let name = ident(inner.next()?);
                Some(Item::Target { keyword, name, body: self.body(inner.next()?) })
            }
            Rule::sweep => {
                let mut mode = None;
                let mut entries = Vec::new();
                for x in inner {
                    match x.as_rule() {
                        Rule::sweep_mode => mode = Some(self.call(x)),
                        Rule::sweep_body => entries = self.sweep_body(x),
                        _ => {}
                    }
                }
                Some(Item::Sweep(Sweep { keyword, mode, entries, span }))
            }
            _ => None,
        }
    }

    fn network_body(&mut self, p: Pair<Rule>) -> Vec<NetworkEntry> {
        let mut out = Vec::new();
        let mut prev_end = None;
        for e in p.into_inner().filter(|e| !is_punctuation(e.as_rule())) {
            let span = span_of(&e);
            self.check_separation(prev_end, span);
            prev_end = Some(span.end);
            let rule = e.as_rule();
            let mut inner = e.into_inner().filter(|x| !is_punctuation(x.as_rule()));
            let Some(first) = inner.next() else { continue };
            let entry = match rule {
                Rule::time => match inner.next() {
                    Some(b) => NetworkEntry::Time { keyword: span_of(&first), body: self.body(b) },
                    None => continue,
                },
                Rule::population => {
                    let (Some(name), Some(kind)) = (inner.next(), inner.next()) else { continue };
                    NetworkEntry::Population(PopulationDecl { name: ident(name), kind: self.call(kind), span })
                }
                Rule::projection => {
                    let (Some(pre), Some(post), Some(kind)) = (inner.next(), inner.next(), inner.next()) else {
                        continue;
                    };
                    NetworkEntry::Projection(ProjectionDecl {
                        pre: ident(pre),
                        post: ident(post),
                        kind: self.call(kind),
                        span,
                    })
                }
                _ => continue,
            };
            out.push(entry);
        }
        out
    }

    fn body(&mut self, p: Pair<Rule>) -> Body {
        let span = span_of(&p);
        let mut params = Vec::new();
        let mut prev_end = None;
        for e in p.into_inner().filter(|e| e.as_rule() == Rule::param) {
            let pspan = span_of(&e);
            self.check_separation(prev_end, pspan);
            prev_end = Some(pspan.end);
            let mut inner = e.into_inner().filter(|x| !is_punctuation(x.as_rule()));
            let (Some(name), Some(value)) = (inner.next(), inner.next()) else { continue };
            params.push(Param { name: ident(name), value: self.value(value), span: pspan });
        }
        Body { params, span }
    }

    fn sweep_body(&mut self, p: Pair<Rule>) -> Vec<SweepEntry> {
        let mut out = Vec::new();
        let mut prev_end = None;
        for e in p.into_inner().filter(|e| e.as_rule() == Rule::sweep_entry) {
            let span = span_of(&e);
            self.check_separation(prev_end, span);
            prev_end = Some(span.end);
            out.push(self.sweep_entry(e));
        }
        out
    }

    fn sweep_entry(&mut self, p: Pair<Rule>) -> SweepEntry {
        let span = span_of(&p);
        let mut path = SweepPath { segments: Vec::new(), span };
        let mut values = Vec::new();
        for x in p.into_inner().filter(|x| !is_punctuation(x.as_rule())) {
            match x.as_rule() {
                Rule::path => {
                    let segments = x
                        .clone()
                        .into_inner()
                        .map(|seg| seg.as_str().split("->").map(str::trim).collect::<Vec<_>>().join("->"))
                        .collect();
                    path = SweepPath { segments, span: span_of(&x) };
                }
                _ => {
                    let v = self.value(x);
                    // A range of plain numbers without a step is the sweep's
                    // integer range `0..5`; any other value stays a value.
                    let plain = |v: &Value| match &v.kind {
                        ValueKind::Quantity { number, unit: None } => Some(number.clone()),
                        _ => None,
                    };
                    match &v.kind {
                        ValueKind::Range { start, end, step: None } => match (plain(start), plain(end)) {
                            (Some(start), Some(end)) => values.push(SweepValue::Range { start, end, span: v.span }),
                            _ => values.push(SweepValue::Value(v)),
                        },
                        _ => values.push(SweepValue::Value(v)),
                    }
                }
            }
        }
        SweepEntry { path, values, span }
    }

    fn call(&mut self, p: Pair<Rule>) -> Call {
        let span = span_of(&p);
        let mut name = Ident { text: String::new(), span };
        let mut args = None;
        let mut body = None;
        for x in p.into_inner() {
            match x.as_rule() {
                Rule::ident => name = ident(x),
                Rule::args => args = Some(self.args(x)),
                Rule::body => body = Some(self.body(x)),
                _ => {}
            }
        }
        Call { name, args, body, span }
    }

    fn args(&mut self, p: Pair<Rule>) -> Args {
        let span = span_of(&p);
        let args = p
            .into_inner()
            .filter(|a| a.as_rule() == Rule::arg)
            .filter_map(|a| {
                let aspan = span_of(&a);
                let parts: Vec<Pair<Rule>> = a.into_inner().filter(|x| !is_punctuation(x.as_rule())).collect();
                match parts.as_slice() {
                    [v] => Some(Arg { name: None, value: self.value(v.clone()), span: aspan }),
                    [n, v] => Some(Arg { name: Some(ident(n.clone())), value: self.value(v.clone()), span: aspan }),
                    _ => None,
                }
            })
            .collect();
        Args { args, span }
    }

    fn value(&mut self, p: Pair<Rule>) -> Value {
        let span = span_of(&p);
        let kind = match p.as_rule() {
            Rule::quantity => {
                let mut inner = p.into_inner();
                let number = match inner.next() {
                    Some(n) => self.number(n),
                    None => Number { value: 0.0, text: String::new(), span },
                };
                let unit = inner.next().map(ident);
                ValueKind::Quantity { number, unit }
            }
            Rule::split => {
                let nums: Vec<Pair<Rule>> = p.into_inner().filter(|x| x.as_rule() == Rule::number).collect();
                let mut nums = nums.into_iter().map(|n| self.number(n));
                let size = nums.next().unwrap_or(Number { value: 0.0, text: String::new(), span });
                let seed = nums.next().unwrap_or(Number { value: 0.0, text: String::new(), span });
                ValueKind::Split { size, seed }
            }
            Rule::string => ValueKind::String(unescape(p.into_inner().next().map(|s| s.as_str()).unwrap_or(""))),
            Rule::range => {
                let mut parts =
                    p.into_inner().filter(|x| x.as_rule() == Rule::quantity).map(|q| Box::new(self.value(q)));
                let start = parts.next();
                let end = parts.next();
                match (start, end) {
                    (Some(start), Some(end)) => ValueKind::Range { start, end, step: parts.next() },
                    // The grammar guarantees both ends; an empty range value never reaches here.
                    _ => ValueKind::Tuple(Vec::new()),
                }
            }
            Rule::tuple => ValueKind::Tuple(
                p.into_inner().filter(|x| !is_punctuation(x.as_rule())).map(|v| self.value(v)).collect(),
            ),
            _ => ValueKind::Call(self.call(p)),
        };
        Value { kind, span }
    }

    fn number(&mut self, p: Pair<Rule>) -> Number {
        let span = span_of(&p);
        let text = p.as_str().to_string();
        let value = text.parse::<f64>().unwrap_or(f64::INFINITY);
        if !value.is_finite() {
            self.errors.push(SyntaxError::BadNumber { text: text.clone(), span });
        }
        Number { value, text, span }
    }
}

fn ident(p: Pair<Rule>) -> Ident {
    Ident { text: p.as_str().to_string(), span: span_of(&p) }
}

/// The value of a string literal as written (`"a\\"b"`), or `None` when
/// `literal` is not one quoted string.
pub fn parse_string_literal(literal: &str) -> Option<String> {
    let inner = literal.strip_prefix('"')?.strip_suffix('"')?;
    Some(unescape(inner))
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::ast::{Item, NetworkEntry, Value, ValueKind};
    use super::parse;

    /// Spans end at the last token, never on the whitespace or comments that
    /// follow a rule with an optional tail.
    #[test]
    fn spans_cover_exactly_their_tokens() {
        let text = "network n { // c\n  population o = lif(3) /* c */\n  population p = lif(3) { tau_mem = 20 ms }  // c\n  projection o -> p = dense { init = normal() }\n}\ntrain { readout = p  // c\n batch = 2\n}";
        let file = parse(text).expect("parses");
        let Item::Network(net) = &file.items[0] else { panic!("a network first") };
        let spans: Vec<&str> = net
            .entries
            .iter()
            .map(|e| match e {
                NetworkEntry::Population(p) => &text[p.span.start..p.span.end],
                NetworkEntry::Projection(p) => &text[p.span.start..p.span.end],
                NetworkEntry::Time { body, .. } => &text[body.span.start..body.span.end],
            })
            .collect();
        assert_eq!(
            spans,
            [
                "population o = lif(3)",
                "population p = lif(3) { tau_mem = 20 ms }",
                "projection o -> p = dense { init = normal() }"
            ]
        );
        let Item::Train { body, .. } = &file.items[1] else { panic!("then train") };
        let params: Vec<&str> = body.params.iter().map(|p| &text[p.span.start..p.span.end]).collect();
        assert_eq!(params, ["readout = p", "batch = 2"]);
    }

    #[test]
    fn numbers_units_and_splits() {
        let text = "train { a = 1e-3; b = 20 ms; c = 27\n d = 5000 @ seed 42; e = (0.9, 0.999,); f = \"x\\\"y\"; g = 0 ms .. 9 ms step 3 ms; h = 1..4 }";
        let file = parse(text).expect("parses");
        let Item::Train { body, .. } = &file.items[0] else { panic!("train") };
        let kinds: Vec<String> = body
            .params
            .iter()
            .map(|p| match &p.value.kind {
                ValueKind::Quantity { number, unit } => {
                    format!("{}{}", number.value, unit.as_ref().map_or(String::new(), |u| format!(" {}", u.text)))
                }
                ValueKind::Split { size, seed } => format!("{} @ {}", size.value, seed.value),
                ValueKind::Tuple(items) => format!("tuple of {}", items.len()),
                ValueKind::String(s) => s.clone(),
                ValueKind::Call(c) => c.name.text.clone(),
                ValueKind::Range { start, end, step } => {
                    let q = |v: &Value| match &v.kind {
                        ValueKind::Quantity { number, unit } => {
                            format!("{}{}", number.value, unit.as_ref().map_or(String::new(), |u| u.text.clone()))
                        }
                        _ => "?".into(),
                    };
                    format!("{}..{} step {}", q(start), q(end), step.as_deref().map_or("-".into(), q))
                }
            })
            .collect();
        assert_eq!(
            kinds,
            ["0.001", "20 ms", "27", "5000 @ 42", "tuple of 2", "x\"y", "0ms..9ms step 3ms", "1..4 step -"]
        );
    }
}
