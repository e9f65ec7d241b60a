//! Parser: the text form written by [`super::print_kernel`] -> a [`Kernel`].
//!
//! Input: the exact grammar of the printer (see `print.rs`); `//` and `;`
//! start a comment that runs to the end of the line (`;` comments carry the
//! filetests' directives, see `runtime/tests/runtime/kir_filetests.rs`). `#N` names
//! local or buffer number `N` whether or not it exists: the printer writes
//! it for an id that does not (so the verifier's `unknown_local` and
//! `unknown_buffer` can be written down); a load from an unknown buffer or
//! an unknown local is annotated `i32`. Every expression's type annotation
//! is recomputed from its parts (literals, declared locals and buffers,
//! operators), so the result is checked by [`super::verify`] like any built
//! kernel.
//! Output: the kernel and, from [`parse_kernel_with_map`], a [`SourceMap`]
//! locating every [`Site`] the verifier reports; or the first syntax error
//! with its span.
//!
//! Invariant: `parse_kernel(&print_kernel(k))` gives back `k` for every kernel
//! that verifies (round-trip tests on the corpus `tests/kir/` and on random
//! kernels).

use super::{
    BinaryOp, Buffer, BufferId, CmpOp, ConvertOp, DmaDir, EntryPoint, Expr, ExprKind, Function, Kernel, Local, LocalId,
    Site, Stmt, Ty, UnaryOp, Value,
};

/// A syntax error in kernel-IR text.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("kernel IR: {message}")]
#[diagnostic(
    code(snn::kernel::parse),
    help(
        "the kernel-IR text form is described in ARCHITECTURE.md; `snnc build -o DIR` writes examples in DIR/kernels"
    )
)]
pub struct ParseError {
    pub message: String,
    #[label("here")]
    pub span: miette::SourceSpan,
}

/// Parses the text form of one kernel.
pub fn parse_kernel(text: &str) -> Result<Kernel, ParseError> {
    parse_kernel_with_map(text).map(|(kernel, _)| kernel)
}

/// Parses the text form of one kernel, and locates its parts in the text.
pub fn parse_kernel_with_map(text: &str) -> Result<(Kernel, SourceMap), ParseError> {
    let tokens = tokenize(text).map_err(|(message, at)| ParseError { message, span: (at, 1).into() })?;
    let mut p = Parser { tokens, pos: 0, buffers: Vec::new(), locals: Vec::new(), map: SourceMap::default() };
    let kernel = p.kernel().map_err(|(message, at)| ParseError { message, span: (at.min(text.len()), 1).into() })?;
    Ok((kernel, p.map))
}

/// Where the parts of a parsed kernel start in its text (byte offsets).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceMap {
    kernel: usize,
    buffers: Vec<usize>,
    functions: Vec<FunctionMap>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct FunctionMap {
    at: usize,
    /// Per local, its name in the parameter list or its `var` keyword.
    locals: Vec<usize>,
    /// Per statement, in [`Site::Stmt`] numbering, its first token.
    stmts: Vec<usize>,
}

impl SourceMap {
    /// The byte offset where `site` starts, if the text has it.
    pub fn offset(&self, site: Site) -> Option<usize> {
        match site {
            Site::Kernel => Some(self.kernel),
            Site::Buffer(id) => self.buffers.get(id.0 as usize).copied(),
            Site::Function(f) => self.functions.get(f).map(|f| f.at),
            Site::Local { function, local } => self.functions.get(function)?.locals.get(local.0 as usize).copied(),
            Site::Stmt { function, stmt } => self.functions.get(function)?.stmts.get(stmt as usize).copied(),
        }
    }
}

/// A constant in the printer's form: `1.5`, `-0.0`, `inf`, `-inf`,
/// `nan(0x7fc00000)` (f32, the NaN with these bits), `3i`, `-3i` (i32),
/// `3u`, `0x10000u` (u32), `true`, `false`. Surrounding whitespace is
/// ignored.
pub fn parse_value(text: &str) -> Option<Value> {
    let text = text.trim();
    match text {
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        "inf" => return Some(Value::F32(f32::INFINITY)),
        _ => {}
    }
    if let Some(bits) = text.strip_prefix("nan(").and_then(|t| t.strip_suffix(')')) {
        let hex = bits.trim().strip_prefix("0x")?;
        return u32::from_str_radix(hex, 16).ok().map(|w| Value::F32(f32::from_bits(w)));
    }
    if text.is_empty() || number_len(text) != text.len() {
        return None;
    }
    literal(text)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Ident,
    Num,
    Punct,
    /// `#N`: a local or buffer by number.
    Raw,
    End,
}

#[derive(Clone, Debug)]
struct Token {
    kind: Kind,
    text: String,
    at: usize,
}

type Fail = (String, usize);

const PUNCTS: [&str; 27] = [
    "..", "<<", ">>", "==", "!=", "<=", ">=", "(", ")", "[", "]", "{", "}", ",", ":", "=", "@", "+", "-", "*", "/",
    "%", "&", "|", "^", "<", ">",
];

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn tokenize(text: &str) -> Result<Vec<Token>, Fail> {
    let mut tokens = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        let rest = &text[i..];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if rest.starts_with("//") || c == ';' {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if c == '#' && rest[1..].starts_with(|c: char| c.is_ascii_digit()) {
            let len = 1 + rest[1..].find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len() - 1);
            tokens.push(Token { kind: Kind::Raw, text: rest[1..len].to_string(), at: i });
            i += len;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let len = rest.find(|c: char| !is_ident_char(c)).unwrap_or(rest.len());
            tokens.push(Token { kind: Kind::Ident, text: rest[..len].to_string(), at: i });
            i += len;
        } else if c.is_ascii_digit()
            || (c == '-' && (rest[1..].starts_with(|c: char| c.is_ascii_digit()) || rest[1..].starts_with("inf")))
        {
            let len = number_len(rest);
            tokens.push(Token { kind: Kind::Num, text: rest[..len].to_string(), at: i });
            i += len;
        } else if let Some(p) = PUNCTS.iter().find(|p| rest.starts_with(**p)) {
            tokens.push(Token { kind: Kind::Punct, text: p.to_string(), at: i });
            i += p.len();
        } else {
            return Err((format!("unexpected character `{c}`"), i));
        }
    }
    tokens.push(Token { kind: Kind::End, text: String::new(), at: text.len() });
    Ok(tokens)
}

/// Length of the number literal at the start of `s` (`-`, digits, a fraction
/// only if a digit follows the point, an exponent, hex digits after `0x`, a
/// type suffix `i` or `u`; or `-inf`).
fn number_len(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = usize::from(b[0] == b'-');
    if s[i..].starts_with("inf") {
        return i + 3;
    }
    let digits = |i: &mut usize, hex: bool| {
        while *i < b.len() && (b[*i].is_ascii_digit() || (hex && b[*i].is_ascii_hexdigit())) {
            *i += 1;
        }
    };
    if s[i..].starts_with("0x") {
        i += 2;
        digits(&mut i, true);
    } else {
        digits(&mut i, false);
        if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
            i += 1;
            digits(&mut i, false);
        }
        if i < b.len() && b[i] == b'e' {
            i += 1;
            if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
                i += 1;
            }
            digits(&mut i, false);
        }
    }
    if i < b.len() && (b[i] == b'i' || b[i] == b'u') && !b.get(i + 1).is_some_and(|&c| is_ident_char(c as char)) {
        i += 1;
    }
    i
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    buffers: Vec<Buffer>,
    locals: Vec<Local>,
    map: SourceMap,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn peek_at(&self, ahead: usize) -> &Token {
        &self.tokens[(self.pos + ahead).min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        self.pos += 1;
        t
    }

    fn fail<T>(&self, what: &str) -> Result<T, Fail> {
        let t = self.peek();
        let found = if t.kind == Kind::End { "the end".to_string() } else { format!("`{}`", t.text) };
        Err((format!("expected {what}, found {found}"), t.at))
    }

    fn is(&self, text: &str) -> bool {
        let t = self.peek();
        t.kind != Kind::Num && t.text == text
    }

    fn eat(&mut self, text: &str) -> bool {
        let hit = self.is(text);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn expect(&mut self, text: &str) -> Result<(), Fail> {
        if self.eat(text) { Ok(()) } else { self.fail(&format!("`{text}`")) }
    }

    fn ident(&mut self) -> Result<String, Fail> {
        if self.peek().kind == Kind::Ident { Ok(self.next().text) } else { self.fail("a name") }
    }

    fn unsigned(&mut self) -> Result<u32, Fail> {
        let t = self.peek().clone();
        match t.text.parse::<u32>() {
            Ok(n) if t.kind == Kind::Num => {
                self.pos += 1;
                Ok(n)
            }
            _ => self.fail("an unsigned number"),
        }
    }

    fn ty(&mut self) -> Result<Ty, Fail> {
        let ty = match self.peek().text.as_str() {
            "f32" => Ty::F32,
            "i32" => Ty::I32,
            "u32" => Ty::U32,
            "bool" => Ty::Bool,
            _ => return self.fail("a type"),
        };
        self.pos += 1;
        Ok(ty)
    }

    fn kernel(&mut self) -> Result<Kernel, Fail> {
        self.map.kernel = self.peek().at;
        self.expect("kernel")?;
        let name = self.ident()?;
        self.expect("budget")?;
        let budget = self.unsigned()?;
        let dram_words = if self.eat("dram") { self.unsigned()? } else { 0 };
        while self.is("buffer") {
            let at = self.next().at;
            self.map.buffers.push(at);
            let name = self.ident()?;
            self.expect(":")?;
            let elem = self.ty()?;
            self.expect("[")?;
            let len = self.unsigned()?;
            self.expect("]")?;
            self.expect("@")?;
            let offset = self.unsigned()?;
            self.buffers.push(Buffer { name, elem, len, offset });
        }
        let mut functions = Vec::new();
        while self.peek().kind != Kind::End {
            functions.push(self.function()?);
        }
        Ok(Kernel { name, budget, dram_words, buffers: std::mem::take(&mut self.buffers), functions })
    }

    fn function(&mut self) -> Result<Function, Fail> {
        self.map.functions.push(FunctionMap { at: self.peek().at, ..FunctionMap::default() });
        self.expect("fn")?;
        let at = self.peek().at;
        let name = self.ident()?;
        let Some(entry) = EntryPoint::ALL.into_iter().find(|e| e.name() == name) else {
            return Err((format!("`{name}` is not an entry point"), at));
        };
        self.locals.clear();
        self.expect("(")?;
        while !self.eat(")") {
            if !self.locals.is_empty() {
                self.expect(",")?;
            }
            let at = self.peek().at;
            self.function_map().locals.push(at);
            let name = self.ident()?;
            self.expect(":")?;
            let ty = self.ty()?;
            self.locals.push(Local { name, ty });
        }
        self.expect("{")?;
        while self.is("var") {
            let at = self.next().at;
            self.function_map().locals.push(at);
            let name = self.ident()?;
            self.expect(":")?;
            let ty = self.ty()?;
            self.locals.push(Local { name, ty });
        }
        let body = self.block_body()?;
        Ok(Function { entry, locals: std::mem::take(&mut self.locals), body })
    }

    /// The map of the function being parsed.
    fn function_map(&mut self) -> &mut FunctionMap {
        if self.map.functions.is_empty() {
            self.map.functions.push(FunctionMap::default());
        }
        let last = self.map.functions.len() - 1;
        &mut self.map.functions[last]
    }

    /// Statements up to and including the closing `}`.
    fn block_body(&mut self) -> Result<Vec<Stmt>, Fail> {
        let mut body = Vec::new();
        while !self.eat("}") {
            body.push(self.stmt()?);
        }
        Ok(body)
    }

    fn stmt(&mut self) -> Result<Stmt, Fail> {
        let at = self.peek().at;
        self.function_map().stmts.push(at);
        if self.eat("if") {
            let cond = self.top()?;
            self.expect("{")?;
            let then_body = self.block_body()?;
            let else_body = if self.eat("else") {
                self.expect("{")?;
                self.block_body()?
            } else {
                Vec::new()
            };
            return Ok(Stmt::If { cond, then_body, else_body });
        }
        if self.eat("for") {
            let var = self.local_id()?;
            self.expect("in")?;
            let start = self.top()?;
            self.expect("..")?;
            let end = self.top()?;
            self.expect("{")?;
            let body = self.block_body()?;
            return Ok(Stmt::For { var, start, end, body });
        }
        if self.is("send") && self.peek_at(1).text == "(" {
            self.pos += 2;
            let key = self.top()?;
            let payload = if self.eat(",") { Some(self.top()?) } else { None };
            self.expect(")")?;
            return Ok(Stmt::Send { key, payload });
        }
        if let Some(dir) = [DmaDir::Read, DmaDir::Write].into_iter().find(|d| self.is(d.name())) {
            self.pos += 1;
            let buffer = self.buffer_id()?.0;
            self.expect("[")?;
            let index = self.top()?;
            self.expect("]")?;
            self.expect(",")?;
            self.expect("dram")?;
            self.expect("[")?;
            let dram = self.top()?;
            self.expect("]")?;
            self.expect(",")?;
            let words = self.top()?;
            return Ok(Stmt::Dma { dir, buffer, index, dram, words });
        }
        if self.peek_at(1).text == "[" {
            let buffer = self.buffer_id()?.0;
            self.expect("[")?;
            let index = self.top()?;
            self.expect("]")?;
            self.expect("=")?;
            let value = self.top()?;
            return Ok(Stmt::Store { buffer, index, value });
        }
        let local = self.local_id()?;
        self.expect("=")?;
        let value = self.top()?;
        Ok(Stmt::Assign { local, value })
    }

    /// A raw `#N` id, if the next token is one.
    fn raw(&mut self) -> Result<Option<u32>, Fail> {
        let t = self.peek().clone();
        if t.kind != Kind::Raw {
            return Ok(None);
        }
        self.pos += 1;
        t.text.parse().map(Some).map_err(|_| (format!("bad id `#{}`", t.text), t.at))
    }

    fn local_id(&mut self) -> Result<LocalId, Fail> {
        if let Some(id) = self.raw()? {
            return Ok(LocalId(id));
        }
        let at = self.peek().at;
        let name = self.ident()?;
        match self.locals.iter().position(|l| l.name == name) {
            Some(i) => Ok(LocalId(i as u32)),
            None => Err((format!("`{name}` is not a local of this function"), at)),
        }
    }

    fn buffer_id(&mut self) -> Result<(BufferId, Ty), Fail> {
        if let Some(id) = self.raw()? {
            return Ok((BufferId(id), self.buffers.get(id as usize).map_or(Ty::I32, |b| b.elem)));
        }
        let at = self.peek().at;
        let name = self.ident()?;
        match self.buffers.iter().position(|b| b.name == name) {
            Some(i) => Ok((BufferId(i as u32), self.buffers[i].elem)),
            None => Err((format!("`{name}` is not a buffer"), at)),
        }
    }

    /// `primary` or `primary OP primary` (the printer drops the outermost
    /// parentheses).
    fn top(&mut self) -> Result<Expr, Fail> {
        let lhs = self.primary()?;
        let t = self.peek();
        if t.kind != Kind::Punct {
            return Ok(lhs);
        }
        let binary = match t.text.as_str() {
            "+" => Some(BinaryOp::Add),
            "-" => Some(BinaryOp::Sub),
            "*" => Some(BinaryOp::Mul),
            "/" => Some(BinaryOp::Div),
            "%" => Some(BinaryOp::Rem),
            "&" => Some(BinaryOp::And),
            "|" => Some(BinaryOp::Or),
            "^" => Some(BinaryOp::Xor),
            "<<" => Some(BinaryOp::Shl),
            ">>" => Some(BinaryOp::Shr),
            _ => None,
        };
        let compare = match t.text.as_str() {
            "==" => Some(CmpOp::Eq),
            "!=" => Some(CmpOp::Ne),
            "<" => Some(CmpOp::Lt),
            "<=" => Some(CmpOp::Le),
            ">" => Some(CmpOp::Gt),
            ">=" => Some(CmpOp::Ge),
            _ => None,
        };
        if let Some(op) = binary {
            self.pos += 1;
            let rhs = self.primary()?;
            return Ok(Expr::binary(op, lhs, rhs));
        }
        if let Some(op) = compare {
            self.pos += 1;
            let rhs = self.primary()?;
            return Ok(Expr::compare(op, lhs, rhs));
        }
        Ok(lhs)
    }

    fn primary(&mut self) -> Result<Expr, Fail> {
        let t = self.peek().clone();
        match t.kind {
            Kind::Num => {
                self.pos += 1;
                literal(&t.text).map(Expr::constant).ok_or((format!("bad number `{}`", t.text), t.at))
            }
            Kind::Raw if self.peek_at(1).text == "[" => {
                let (buffer, elem) = self.buffer_id()?;
                self.expect("[")?;
                let index = self.top()?;
                self.expect("]")?;
                Ok(Expr { ty: elem, kind: ExprKind::Load { buffer, index: Box::new(index) } })
            }
            Kind::Raw => {
                let id = self.local_id()?;
                Ok(Expr { ty: self.locals.get(id.0 as usize).map_or(Ty::I32, |l| l.ty), kind: ExprKind::Local(id) })
            }
            Kind::Punct if t.text == "(" => {
                self.pos += 1;
                let e = self.top()?;
                self.expect(")")?;
                Ok(e)
            }
            Kind::Ident => match t.text.as_str() {
                "true" | "false" => {
                    self.pos += 1;
                    Ok(Expr::bool(t.text == "true"))
                }
                "inf" => {
                    self.pos += 1;
                    Ok(Expr::f32(f32::INFINITY))
                }
                "nan" => {
                    self.pos += 1;
                    self.expect("(")?;
                    let bits = self.peek().clone();
                    let value = bits
                        .text
                        .strip_prefix("0x")
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .ok_or((format!("bad NaN bits `{}`", bits.text), bits.at))?;
                    self.pos += 1;
                    self.expect(")")?;
                    Ok(Expr::f32(f32::from_bits(value)))
                }
                _ if self.peek_at(1).text == "(" => self.call(),
                _ if self.peek_at(1).text == "[" => {
                    let (buffer, elem) = self.buffer_id()?;
                    self.expect("[")?;
                    let index = self.top()?;
                    self.expect("]")?;
                    Ok(Expr { ty: elem, kind: ExprKind::Load { buffer, index: Box::new(index) } })
                }
                _ => {
                    let id = self.local_id()?;
                    Ok(Expr { ty: self.locals[id.0 as usize].ty, kind: ExprKind::Local(id) })
                }
            },
            _ => self.fail("an expression"),
        }
    }

    fn call(&mut self) -> Result<Expr, Fail> {
        let at = self.peek().at;
        let name = self.ident()?;
        self.expect("(")?;
        let mut args = vec![self.top()?];
        while self.eat(",") {
            args.push(self.top()?);
        }
        self.expect(")")?;
        let arity = |n: usize| {
            if args.len() == n { Ok(()) } else { Err((format!("`{name}` takes {n} argument(s)"), at)) }
        };
        if let Some(op) = UnaryOp::ALL.into_iter().find(|op| op.name() == name) {
            arity(1)?;
            return Ok(Expr::unary(op, args.remove(0)));
        }
        if let Some(op) = ConvertOp::ALL.into_iter().find(|op| op.name() == name) {
            arity(1)?;
            return Ok(args.remove(0).convert(op));
        }
        match name.as_str() {
            "min" | "max" => {
                arity(2)?;
                let op = if name == "min" { BinaryOp::Min } else { BinaryOp::Max };
                let rhs = args.remove(1);
                Ok(Expr::binary(op, args.remove(0), rhs))
            }
            "select" => {
                arity(3)?;
                let otherwise = args.remove(2);
                let then = args.remove(1);
                Ok(Expr::select(args.remove(0), then, otherwise))
            }
            _ => Err((format!("`{name}` is not an operator"), at)),
        }
    }
}

/// A literal: `1.5`, `-inf`, `3i`, `3u`, `0x10000u`.
fn literal(text: &str) -> Option<Value> {
    if let Some(digits) = text.strip_suffix('i') {
        return digits.parse().ok().map(Value::I32);
    }
    if let Some(digits) = text.strip_suffix('u') {
        return match digits.strip_prefix("0x") {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => digits.parse().ok(),
        }
        .map(Value::U32);
    }
    if text == "-inf" {
        return Some(Value::F32(f32::NEG_INFINITY));
    }
    if !text.contains(['.', 'e']) {
        return None;
    }
    text.parse().ok().map(Value::F32)
}
