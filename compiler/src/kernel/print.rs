//! Printer: a [`Kernel`] -> its readable text form (`--emit kernel-ir`).
//!
//! ```text
//! kernel NAME budget BYTES [dram WORDS]
//! buffer NAME: TY[LEN] @ OFFSET
//! fn ENTRY(PARAM: TY, ...) {
//!   var NAME: TY
//!   STMT...
//! }
//! ```
//! Statements: `x = e`, `buf[i] = e`, `send(key)`, `send(key, payload)`,
//! `if c { .. } else { .. }`, `for v in a..b { .. }`, `dma_read buf[i],
//! dram[a], w`, `dma_write buf[i], dram[a], w`. The header's `dram WORDS` is
//! left out for a kernel without a DRAM region. Expressions are fully
//! parenthesised infix (`(a + b)`, `(a < b)`), calls for the other operators
//! (`min`, `max`, `select`, `neg`, `abs`, `sqrt`, `not`, conversions by
//! [`super::ConvertOp::name`]). Constants carry their type: `1.5` (f32,
//! shortest round-trip form; `inf`, `-inf`, `nan(0x7fc00000)` otherwise),
//! `3i` (i32), `3u` or `0x10000u` (u32, hex from 65536 on), `true`.
//!
//! Invariant: the output is a pure function of the kernel (deterministic), and
//! printing never fails, even for a kernel that does not verify (unknown ids
//! print as `#N`).

use std::fmt::Write;

use super::{BinaryOp, Expr, ExprKind, Function, Kernel, LocalId, Stmt, Value};

/// The text form of a kernel.
pub fn print_kernel(kernel: &Kernel) -> String {
    let mut out = String::new();
    let used: u64 = kernel.buffers.iter().map(|b| 4 * u64::from(b.len)).sum();
    let _ = write!(out, "kernel {} budget {}", kernel.name, kernel.budget);
    if kernel.dram_words > 0 {
        let _ = write!(out, " dram {}", kernel.dram_words);
    }
    let _ = writeln!(out, "  // {used} bytes in buffers");
    for b in &kernel.buffers {
        let _ = writeln!(out, "buffer {}: {}[{}] @ {}", b.name, b.elem.name(), b.len, b.offset);
    }
    for f in &kernel.functions {
        out.push('\n');
        print_function(&mut out, kernel, f);
    }
    out
}

/// One expression, as the printer writes it inside `function`.
pub(super) fn expr_to_string(kernel: &Kernel, function: &Function, e: &Expr) -> String {
    let mut out = String::new();
    Printer { kernel, function, out: &mut out }.expr(e);
    out
}

fn print_function(out: &mut String, kernel: &Kernel, f: &Function) {
    let nparams = f.entry.params().len().min(f.locals.len());
    let params: Vec<String> = f.locals[..nparams].iter().map(|l| format!("{}: {}", l.name, l.ty.name())).collect();
    let _ = writeln!(out, "fn {}({}) {{", f.entry.name(), params.join(", "));
    for l in &f.locals[nparams..] {
        let _ = writeln!(out, "  var {}: {}", l.name, l.ty.name());
    }
    let mut p = Printer { kernel, function: f, out };
    p.block(&f.body, 1);
    p.out.push_str("}\n");
}

struct Printer<'a> {
    kernel: &'a Kernel,
    function: &'a Function,
    out: &'a mut String,
}

impl Printer<'_> {
    fn block(&mut self, body: &[Stmt], depth: usize) {
        for stmt in body {
            self.stmt(stmt, depth);
        }
    }

    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push_str("  ");
        }
    }

    fn stmt(&mut self, stmt: &Stmt, depth: usize) {
        self.indent(depth);
        match stmt {
            Stmt::Assign { local, value } => {
                self.local(*local);
                self.out.push_str(" = ");
                self.top(value);
            }
            Stmt::Store { buffer, index, value } => {
                self.buffer(buffer.0);
                self.out.push('[');
                self.top(index);
                self.out.push_str("] = ");
                self.top(value);
            }
            Stmt::If { cond, then_body, else_body } => {
                self.out.push_str("if ");
                self.top(cond);
                self.out.push_str(" {\n");
                self.block(then_body, depth + 1);
                self.indent(depth);
                self.out.push('}');
                if !else_body.is_empty() {
                    self.out.push_str(" else {\n");
                    self.block(else_body, depth + 1);
                    self.indent(depth);
                    self.out.push('}');
                }
            }
            Stmt::For { var, start, end, body } => {
                self.out.push_str("for ");
                self.local(*var);
                self.out.push_str(" in ");
                self.top(start);
                self.out.push_str("..");
                self.top(end);
                self.out.push_str(" {\n");
                self.block(body, depth + 1);
                self.indent(depth);
                self.out.push('}');
            }
            Stmt::Dma { dir, buffer, index, dram, words } => {
                self.out.push_str(dir.name());
                self.out.push(' ');
                self.buffer(buffer.0);
                self.out.push('[');
                self.top(index);
                self.out.push_str("], dram[");
                self.top(dram);
                self.out.push_str("], ");
                self.top(words);
            }
            Stmt::Send { key, payload } => {
                self.out.push_str("send(");
                self.top(key);
                if let Some(payload) = payload {
                    self.out.push_str(", ");
                    self.top(payload);
                }
                self.out.push(')');
            }
        }
        self.out.push('\n');
    }

    /// An expression without its outermost parentheses.
    fn top(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Binary { op, lhs, rhs } if !matches!(op, BinaryOp::Min | BinaryOp::Max) => {
                self.infix(lhs, op.name(), rhs);
            }
            ExprKind::Compare { op, lhs, rhs } => self.infix(lhs, op.name(), rhs),
            _ => self.expr(e),
        }
    }

    fn expr(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Const(v) => self.constant(*v),
            ExprKind::Local(id) => self.local(*id),
            ExprKind::Load { buffer, index } => {
                self.buffer(buffer.0);
                self.out.push('[');
                self.top(index);
                self.out.push(']');
            }
            ExprKind::Unary { op, arg } => self.call(op.name(), &[arg]),
            ExprKind::Binary { op: op @ (BinaryOp::Min | BinaryOp::Max), lhs, rhs } => {
                let name = if *op == BinaryOp::Min { "min" } else { "max" };
                self.call(name, &[lhs, rhs]);
            }
            ExprKind::Binary { .. } | ExprKind::Compare { .. } => {
                self.out.push('(');
                self.top(e);
                self.out.push(')');
            }
            ExprKind::Select { cond, then, otherwise } => self.call("select", &[cond, then, otherwise]),
            ExprKind::Convert { op, arg } => self.call(op.name(), &[arg]),
        }
    }

    fn infix(&mut self, lhs: &Expr, op: &str, rhs: &Expr) {
        self.expr(lhs);
        let _ = write!(self.out, " {op} ");
        self.expr(rhs);
    }

    fn call(&mut self, name: &str, args: &[&Expr]) {
        self.out.push_str(name);
        self.out.push('(');
        for (i, a) in args.iter().enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.top(a);
        }
        self.out.push(')');
    }

    fn constant(&mut self, v: Value) {
        let _ = match v {
            Value::F32(x) if x.is_finite() => write!(self.out, "{x:?}"),
            Value::F32(x) if x.is_nan() => write!(self.out, "nan({:#010x})", x.to_bits()),
            Value::F32(x) if x > 0.0 => write!(self.out, "inf"),
            Value::F32(_) => write!(self.out, "-inf"),
            Value::I32(x) => write!(self.out, "{x}i"),
            Value::U32(x) if x >= 0x1_0000 => write!(self.out, "{x:#x}u"),
            Value::U32(x) => write!(self.out, "{x}u"),
            Value::Bool(b) => write!(self.out, "{b}"),
        };
    }

    fn local(&mut self, id: LocalId) {
        match self.function.locals.get(id.0 as usize) {
            Some(l) => self.out.push_str(&l.name),
            None => {
                let _ = write!(self.out, "#{}", id.0);
            }
        }
    }

    fn buffer(&mut self, id: u32) {
        match self.kernel.buffers.get(id as usize) {
            Some(b) => self.out.push_str(&b.name),
            None => {
                let _ = write!(self.out, "#{id}");
            }
        }
    }
}
