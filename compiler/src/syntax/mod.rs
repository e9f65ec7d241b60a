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
        #[label("expected {expected} here")]
        span: Span,
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
    (Rule::kw_seed, "seed"),
];

/// Parses a whole file.
pub fn parse(text: &str) -> Result<File, Vec<SyntaxError>> {
    let mut pairs = SnnParser::parse(Rule::file, text).map_err(|e| vec![convert_error(text, &e)])?;
    let file = pairs.next().expect("the file rule always yields one pair");
    let mut b = Builder { text, errors: Vec::new() };
    let items = file.into_inner().filter(|p| p.as_rule() != Rule::EOI).filter_map(|p| b.item(p)).collect();
    if b.errors.is_empty() { Ok(File { items }) } else { Err(b.errors) }
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
        Rule::sep | Rule::open | Rule::close | Rule::equals | Rule::arrow | Rule::lparen | Rule::rparen | Rule::comma | Rule::at
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
        Rule::sep => "`;`",
        Rule::open => "`{`",
        Rule::close => "`}`",
        Rule::equals => "`=`",
        Rule::arrow => "`->`",
        Rule::lparen => "`(`",
        Rule::rparen => "`)`",
        Rule::comma => "`,`",
        Rule::at => "`@`",
        Rule::ident | Rule::unit => "a name",
        Rule::number => "a number",
        Rule::string | Rule::string_inner => "a string",
        Rule::EOI => "end of file",
        Rule::tuple | Rule::split | Rule::quantity | Rule::call | Rule::arg | Rule::value => "a value",
        Rule::args => "arguments in `( )`",
        Rule::body | Rule::network_body => "a `{ }` block",
        Rule::param => "a parameter",
        Rule::network | Rule::train | Rule::target => "a block",
        Rule::time | Rule::population | Rule::projection | Rule::network_entry => "a declaration",
        Rule::item => "a block",
        Rule::file | Rule::WHITESPACE | Rule::COMMENT | Rule::line_comment | Rule::block_comment => "input",
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
    let tok = &rest[..len];
    let found = if c == '\n' { "a line break".to_string() } else { format!("`{}`", tok.escape_debug()) };
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
    let mut words: Vec<&str> = positives.iter().map(|r| describe(*r)).collect();
    words.sort();
    words.dedup();
    let expected = one_of(&words);
    let (found, span) = token_at(text, pos);
    let word = &text[span.start..span.end];
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
    SyntaxError::Unexpected { expected, found, span, help }
}

fn help_for(positives: &[Rule]) -> String {
    if positives.contains(&Rule::kw_network) {
        "a file is made of `network NAME { .. }`, `train { .. }` and `target spinnaker2 { .. }` blocks".into()
    } else if positives.contains(&Rule::kw_population) {
        "a network holds `time { .. }`, `population NAME = ..` and `projection A -> B = ..`".into()
    } else if positives.contains(&Rule::param) || positives.contains(&Rule::ident) && positives.contains(&Rule::close)
    {
        "a block holds parameters `name = value`, separated by `;` or newlines".into()
    } else if positives.contains(&Rule::number) || positives.contains(&Rule::string) {
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
                let unit = inner.next().and_then(|u| u.into_inner().next()).map(ident);
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
