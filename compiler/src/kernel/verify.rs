//! Verifier: a [`Kernel`] -> a [`VerifiedKernel`], or every violation of
//! the IR's invariants, each with its [`Site`].
//!
//! Checks (all collected, none stops the others): buffer layout (element
//! type, alignment, overlap, unique names, inside the budget); each entry
//! point defined once with its parameters; unique local names; the type of
//! every expression and statement (and that each node's annotation is its
//! real type); locals assigned before use on every path; loop variables never
//! assigned; constant indices inside their buffer; DMA statements only in a
//! kernel with a DRAM region, their constant ranges inside the buffer and the
//! region.
//!
//! Invariant: a kernel that passes runs on every backend without a type
//! confusion; the only run-time failures left are the [`super::Trap`]s. The
//! backends (interpreter, JIT, C) accept only a [`VerifiedKernel`], so they
//! never verify again.

use std::collections::BTreeSet;

use super::print::expr_to_string;
use super::verified::VerifiedKernel;
use super::{Buffer, BufferId, EntryPoint, Expr, ExprKind, Function, Kernel, LocalId, Stmt, Ty, Value, is_valid_name};

/// Every problem of one kernel.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("kernel `{kernel}` is invalid: {} problem(s)", errors.len())]
#[diagnostic(code(snn::kernel::invalid), help("each problem below names the rule of the kernel IR it breaks"))]
pub struct KernelErrors {
    pub kernel: String,
    #[related]
    pub errors: Vec<KernelError>,
    /// Where each error is: `sites[i]` is the site of `errors[i]` (the
    /// text form's [`super::SourceMap`] turns it into a line).
    pub sites: Vec<Site>,
}

/// The part of a kernel an error is about; in the text form, the line that
/// starts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Site {
    /// The kernel itself (its `kernel NAME budget N` line).
    Kernel,
    /// A buffer declaration.
    Buffer(BufferId),
    /// A function (its `fn` line), by index in [`Kernel::functions`].
    Function(usize),
    /// A local's declaration (a parameter: the `fn` line; else its `var`
    /// line).
    Local { function: usize, local: LocalId },
    /// A statement of a function, numbered from 0 in the order the printer
    /// writes them (depth first: an `if` or `for`, then the statements in
    /// its bodies).
    Stmt { function: usize, stmt: u32 },
}

/// One violation of the kernel IR's invariants.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum KernelError {
    #[error("{what} name `{name}` is not an identifier or is a reserved word")]
    #[diagnostic(code(snn::kernel::bad_name), help("names are [A-Za-z_][A-Za-z0-9_]*, so that the text form parses"))]
    BadName { what: &'static str, name: String },
    #[error("buffer `{name}` has element type bool; buffers hold f32, i32 or u32")]
    #[diagnostic(code(snn::kernel::bool_buffer))]
    BoolBuffer { name: String },
    #[error("buffer `{name}` starts at byte {offset}, which is not a multiple of 4")]
    #[diagnostic(code(snn::kernel::misaligned_buffer))]
    MisalignedBuffer { name: String, offset: u32 },
    #[error("buffer `{name}` ends at byte {end}, beyond the data budget of {budget} bytes")]
    #[diagnostic(
        code(snn::kernel::over_budget),
        help("the partitioner must give this PE fewer neurons or a smaller spike budget")
    )]
    OverBudget { name: String, end: u64, budget: u32 },
    #[error("buffers `{first}` and `{second}` overlap")]
    #[diagnostic(code(snn::kernel::overlapping_buffers))]
    OverlappingBuffers { first: String, second: String },
    #[error("two buffers are named `{name}`")]
    #[diagnostic(code(snn::kernel::duplicate_buffer))]
    DuplicateBuffer { name: String },
    #[error("entry point `{entry}` is not defined")]
    #[diagnostic(code(snn::kernel::missing_entry))]
    MissingEntry { entry: &'static str },
    #[error("entry point `{entry}` is defined {count} times")]
    #[diagnostic(code(snn::kernel::duplicate_entry))]
    DuplicateEntry { entry: &'static str, count: usize },
    #[error("fn {entry}: the parameters must be ({expected})")]
    #[diagnostic(code(snn::kernel::bad_params))]
    BadParams { entry: &'static str, expected: String },
    #[error("fn {entry}: two locals are named `{name}`")]
    #[diagnostic(code(snn::kernel::duplicate_local))]
    DuplicateLocal { entry: &'static str, name: String },
    #[error("fn {entry}: local #{id} does not exist")]
    #[diagnostic(code(snn::kernel::unknown_local))]
    UnknownLocal { entry: &'static str, id: u32 },
    #[error("fn {entry}: buffer #{id} does not exist")]
    #[diagnostic(code(snn::kernel::unknown_buffer))]
    UnknownBuffer { entry: &'static str, id: u32 },
    #[error("fn {entry}: `{name}` may be read before it is assigned, in `{at}`")]
    #[diagnostic(code(snn::kernel::use_before_definition))]
    UseBeforeDefinition { entry: &'static str, name: String, at: String },
    #[error("fn {entry}: loop variable `{name}` is assigned")]
    #[diagnostic(code(snn::kernel::loop_variable_assigned))]
    LoopVariableAssigned { entry: &'static str, name: String },
    #[error("fn {entry}: {what} has type {found}, expected {expected}, in `{at}`")]
    #[diagnostic(code(snn::kernel::type_mismatch))]
    TypeMismatch { entry: &'static str, what: &'static str, found: &'static str, expected: &'static str, at: String },
    #[error("fn {entry}: `{op}` is not defined on {ty}, in `{at}`")]
    #[diagnostic(code(snn::kernel::bad_operand))]
    BadOperand { entry: &'static str, op: &'static str, ty: &'static str, at: String },
    #[error("fn {entry}: constant index {index} is outside buffer `{buffer}` of length {len}")]
    #[diagnostic(code(snn::kernel::constant_index_out_of_bounds))]
    ConstantIndexOutOfBounds { entry: &'static str, buffer: String, index: i64, len: u32 },
    #[error("fn {entry}: `{op}` in a kernel without a DRAM region")]
    #[diagnostic(
        code(snn::kernel::dma_without_dram),
        help("give the kernel a private DRAM region: `dram WORDS` in its header, `KernelBuilder::dram`")
    )]
    DmaWithoutDram { entry: &'static str, op: &'static str },
    #[error("fn {entry}: `{op}` of {words} words at index {index} is outside buffer `{buffer}` of length {len}")]
    #[diagnostic(code(snn::kernel::constant_dma_out_of_bounds))]
    ConstantDmaOutOfBounds {
        entry: &'static str,
        op: &'static str,
        buffer: String,
        index: String,
        words: String,
        len: u32,
    },
    #[error(
        "fn {entry}: `{op}` of {words} words at DRAM word {address} is outside the private DRAM region of {dram_words} words"
    )]
    #[diagnostic(code(snn::kernel::constant_dram_out_of_bounds))]
    ConstantDramOutOfBounds { entry: &'static str, op: &'static str, address: String, words: String, dram_words: u32 },
}

/// Checks every invariant of the kernel IR: the kernel as a
/// [`VerifiedKernel`] (with its layout), or all violations and their sites.
pub fn verify(kernel: &Kernel) -> Result<VerifiedKernel, KernelErrors> {
    let mut errors = Errors::default();
    if !is_valid_name(&kernel.name) {
        errors.push(Site::Kernel, KernelError::BadName { what: "kernel", name: kernel.name.clone() });
    }
    check_layout(kernel, &mut errors);
    for entry in EntryPoint::ALL {
        let count = kernel.functions.iter().filter(|f| f.entry == entry).count();
        match count {
            0 => errors.push(Site::Kernel, KernelError::MissingEntry { entry: entry.name() }),
            1 => {}
            _ => {
                let second = kernel.functions.iter().enumerate().filter(|(_, f)| f.entry == entry).nth(1);
                let site = second.map_or(Site::Kernel, |(i, _)| Site::Function(i));
                errors.push(site, KernelError::DuplicateEntry { entry: entry.name(), count });
            }
        }
    }
    for (index, function) in kernel.functions.iter().enumerate() {
        FunctionChecker::new(kernel, index, function, &mut errors).check();
    }
    if errors.errors.is_empty() {
        Ok(VerifiedKernel::new(kernel.clone()))
    } else {
        Err(KernelErrors { kernel: kernel.name.clone(), errors: errors.errors, sites: errors.sites })
    }
}

/// The violations found so far, each with its site.
#[derive(Default)]
struct Errors {
    errors: Vec<KernelError>,
    sites: Vec<Site>,
}

impl Errors {
    fn push(&mut self, site: Site, error: KernelError) {
        self.errors.push(error);
        self.sites.push(site);
    }
}

fn check_layout(kernel: &Kernel, errors: &mut Errors) {
    let mut names = BTreeSet::new();
    for (i, b) in kernel.buffers.iter().enumerate() {
        let site = Site::Buffer(BufferId(i as u32));
        if !is_valid_name(&b.name) {
            errors.push(site, KernelError::BadName { what: "buffer", name: b.name.clone() });
        }
        if b.elem == Ty::Bool {
            errors.push(site, KernelError::BoolBuffer { name: b.name.clone() });
        }
        if b.offset % 4 != 0 {
            errors.push(site, KernelError::MisalignedBuffer { name: b.name.clone(), offset: b.offset });
        }
        if b.end() > u64::from(kernel.budget) {
            errors.push(site, KernelError::OverBudget { name: b.name.clone(), end: b.end(), budget: kernel.budget });
        }
        if !names.insert(b.name.as_str()) {
            errors.push(site, KernelError::DuplicateBuffer { name: b.name.clone() });
        }
    }
    let mut by_offset: Vec<(usize, &Buffer)> = kernel.buffers.iter().enumerate().filter(|(_, b)| b.len > 0).collect();
    by_offset.sort_by_key(|(_, b)| (b.offset, b.end()));
    for pair in by_offset.windows(2) {
        let ((_, first), (second_id, second)) = (pair[0], pair[1]);
        if second.offset as u64 >= first.end() {
            continue;
        }
        errors.push(
            Site::Buffer(BufferId(second_id as u32)),
            KernelError::OverlappingBuffers { first: first.name.clone(), second: second.name.clone() },
        );
    }
}

struct FunctionChecker<'a> {
    kernel: &'a Kernel,
    index: usize,
    function: &'a Function,
    entry: &'static str,
    loop_vars: BTreeSet<LocalId>,
    active_loops: Vec<LocalId>,
    /// The number of the next statement (see [`Site::Stmt`]).
    next_stmt: u32,
    /// Where errors found now are.
    site: Site,
    errors: &'a mut Errors,
}

impl<'a> FunctionChecker<'a> {
    fn new(kernel: &'a Kernel, index: usize, function: &'a Function, errors: &'a mut Errors) -> Self {
        let mut loop_vars = BTreeSet::new();
        collect_loop_vars(&function.body, &mut loop_vars);
        FunctionChecker {
            kernel,
            index,
            function,
            entry: function.entry.name(),
            loop_vars,
            active_loops: Vec::new(),
            next_stmt: 0,
            site: Site::Function(index),
            errors,
        }
    }

    fn report(&mut self, error: KernelError) {
        self.errors.push(self.site, error);
    }

    fn check(&mut self) {
        let params = self.function.entry.params();
        let params_ok = params.len() <= self.function.locals.len()
            && params
                .iter()
                .zip(&self.function.locals)
                .all(|(&(name, ty), local)| local.name == name && local.ty == ty);
        if !params_ok {
            let expected: Vec<String> = params.iter().map(|(n, t)| format!("{n}: {}", t.name())).collect();
            self.report(KernelError::BadParams { entry: self.entry, expected: expected.join(", ") });
        }
        let mut names = BTreeSet::new();
        for (i, local) in self.function.locals.iter().enumerate() {
            self.site = Site::Local { function: self.index, local: LocalId(i as u32) };
            if !is_valid_name(&local.name) {
                self.report(KernelError::BadName { what: "local", name: local.name.clone() });
            }
            if !names.insert(local.name.as_str()) {
                self.report(KernelError::DuplicateLocal { entry: self.entry, name: local.name.clone() });
            }
        }
        let mut defined: BTreeSet<LocalId> =
            (0..params.len().min(self.function.locals.len())).map(|i| LocalId(i as u32)).collect();
        self.block(&self.function.body, &mut defined);
    }

    fn block(&mut self, body: &[Stmt], defined: &mut BTreeSet<LocalId>) {
        for stmt in body {
            self.stmt(stmt, defined);
        }
    }

    fn stmt(&mut self, stmt: &Stmt, defined: &mut BTreeSet<LocalId>) {
        self.site = Site::Stmt { function: self.index, stmt: self.next_stmt };
        self.next_stmt += 1;
        match stmt {
            Stmt::Assign { local, value } => {
                let found = self.expr(value, defined);
                if let Some(ty) = self.local_ty(*local) {
                    self.expect("assigned value", found, ty, value);
                    if self.loop_vars.contains(local) {
                        let name = self.local_name(*local);
                        self.report(KernelError::LoopVariableAssigned { entry: self.entry, name });
                    }
                }
                defined.insert(*local);
            }
            Stmt::Store { buffer, index, value } => {
                let found = self.expr(value, defined);
                let b = self.buffer(*buffer);
                if let Some(b) = b {
                    self.expect("stored value", found, b.elem, value);
                }
                self.index(b, index, defined);
            }
            Stmt::If { cond, then_body, else_body } => {
                let found = self.expr(cond, defined);
                self.expect("condition", found, Ty::Bool, cond);
                let mut then_defined = defined.clone();
                self.block(then_body, &mut then_defined);
                let mut else_defined = defined.clone();
                self.block(else_body, &mut else_defined);
                *defined = then_defined.intersection(&else_defined).copied().collect();
            }
            Stmt::For { var, start, end, body } => {
                let start_ty = self.expr(start, defined);
                let end_ty = self.expr(end, defined);
                if !start_ty.is_int() {
                    self.report(KernelError::BadOperand {
                        entry: self.entry,
                        op: "for",
                        ty: start_ty.name(),
                        at: self.show(start),
                    });
                }
                self.expect("loop end", end_ty, start_ty, end);
                if let Some(ty) = self.local_ty(*var) {
                    self.expect("loop variable", ty, start_ty, start);
                }
                if self.active_loops.contains(var) {
                    let name = self.local_name(*var);
                    self.report(KernelError::LoopVariableAssigned { entry: self.entry, name });
                }
                let mut inner = defined.clone();
                inner.insert(*var);
                self.active_loops.push(*var);
                self.block(body, &mut inner);
                self.active_loops.pop();
            }
            Stmt::Dma { dir, buffer, index, dram, words } => {
                let op = dir.name();
                for e in [index, dram, words] {
                    let ty = self.expr(e, defined);
                    if !ty.is_int() {
                        self.bad_operand(op, ty, e);
                    }
                }
                let b = self.buffer(*buffer);
                self.dma_ranges(op, b, index, dram, words);
            }
            Stmt::Send { key, payload } => {
                let found = self.expr(key, defined);
                self.expect("packet key", found, Ty::U32, key);
                if let Some(payload) = payload {
                    let found = self.expr(payload, defined);
                    if found == Ty::Bool {
                        self.report(KernelError::BadOperand {
                            entry: self.entry,
                            op: "send",
                            ty: found.name(),
                            at: self.show(payload),
                        });
                    }
                }
            }
        }
    }

    /// The real type of `e` (reporting every problem inside it).
    fn expr(&mut self, e: &Expr, defined: &BTreeSet<LocalId>) -> Ty {
        let real = match &e.kind {
            ExprKind::Const(v) => v.ty(),
            ExprKind::Local(id) => {
                let ty = self.local_ty(*id);
                if ty.is_some() && !defined.contains(id) {
                    let name = self.local_name(*id);
                    self.report(KernelError::UseBeforeDefinition { entry: self.entry, name, at: self.show(e) });
                }
                ty.unwrap_or(e.ty)
            }
            ExprKind::Load { buffer, index } => {
                let b = self.buffer(*buffer);
                self.index(b, index, defined);
                b.map_or(e.ty, |b| b.elem)
            }
            ExprKind::Unary { op, arg } => {
                let ty = self.expr(arg, defined);
                if !op.accepts(ty) {
                    self.bad_operand(op.name(), ty, e);
                }
                ty
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let ty = self.expr(lhs, defined);
                let rhs_ty = self.expr(rhs, defined);
                self.expect("right operand", rhs_ty, ty, e);
                if !op.accepts(ty) {
                    self.bad_operand(op.name(), ty, e);
                }
                ty
            }
            ExprKind::Compare { op, lhs, rhs } => {
                let ty = self.expr(lhs, defined);
                let rhs_ty = self.expr(rhs, defined);
                self.expect("right operand", rhs_ty, ty, e);
                if !op.accepts(ty) {
                    self.bad_operand(op.name(), ty, e);
                }
                Ty::Bool
            }
            ExprKind::Select { cond, then, otherwise } => {
                let cond_ty = self.expr(cond, defined);
                self.expect("select condition", cond_ty, Ty::Bool, e);
                let ty = self.expr(then, defined);
                let other = self.expr(otherwise, defined);
                self.expect("select alternative", other, ty, e);
                ty
            }
            ExprKind::Convert { op, arg } => {
                let (from, to) = op.signature();
                let ty = self.expr(arg, defined);
                self.expect("conversion argument", ty, from, e);
                to
            }
        };
        self.expect("annotated expression", e.ty, real, e);
        real
    }

    /// Checks an index into `buffer` (`None`: an unknown buffer, reported).
    fn index(&mut self, buffer: Option<&Buffer>, index: &Expr, defined: &BTreeSet<LocalId>) {
        let ty = self.expr(index, defined);
        if !ty.is_int() {
            self.bad_operand("[]", ty, index);
        }
        let Some(b) = buffer else { return };
        let constant = constant_int(index);
        if let Some(i) = constant.filter(|&i| i < 0 || i >= i64::from(b.len)) {
            self.report(KernelError::ConstantIndexOutOfBounds {
                entry: self.entry,
                buffer: b.name.clone(),
                index: i,
                len: b.len,
            });
        }
    }

    /// Checks a DMA statement's constant operands: the kernel has a DRAM
    /// region, and what is known of each range is inside its buffer and the
    /// region (a constant start or length alone is checked with the other
    /// at 0).
    fn dma_ranges(&mut self, op: &'static str, buffer: Option<&Buffer>, index: &Expr, dram: &Expr, words: &Expr) {
        let (i, a, w) = (constant_int(index), constant_int(dram), constant_int(words));
        let show = |c: Option<i64>| c.map_or_else(|| "some".to_string(), |c| c.to_string());
        let outside = |start: Option<i64>, len: u32| {
            start.is_some_and(|s| s < 0)
                || w.is_some_and(|w| w < 0)
                || start.unwrap_or(0) + w.unwrap_or(0) > i64::from(len)
        };
        if let Some(b) = buffer
            && outside(i, b.len)
        {
            self.report(KernelError::ConstantDmaOutOfBounds {
                entry: self.entry,
                op,
                buffer: b.name.clone(),
                index: show(i),
                words: show(w),
                len: b.len,
            });
        }
        let dram_words = self.kernel.dram_words;
        if dram_words == 0 {
            self.report(KernelError::DmaWithoutDram { entry: self.entry, op });
        } else if outside(a, dram_words) {
            self.report(KernelError::ConstantDramOutOfBounds {
                entry: self.entry,
                op,
                address: show(a),
                words: show(w),
                dram_words,
            });
        }
    }

    fn expect(&mut self, what: &'static str, found: Ty, expected: Ty, at: &Expr) {
        if found != expected {
            self.report(KernelError::TypeMismatch {
                entry: self.entry,
                what,
                found: found.name(),
                expected: expected.name(),
                at: self.show(at),
            });
        }
    }

    fn bad_operand(&mut self, op: &'static str, ty: Ty, at: &Expr) {
        self.report(KernelError::BadOperand { entry: self.entry, op, ty: ty.name(), at: self.show(at) });
    }

    fn local_ty(&mut self, id: LocalId) -> Option<Ty> {
        let ty = self.function.locals.get(id.0 as usize).map(|l| l.ty);
        if ty.is_none() {
            self.report(KernelError::UnknownLocal { entry: self.entry, id: id.0 });
        }
        ty
    }

    fn local_name(&self, id: LocalId) -> String {
        self.function.locals.get(id.0 as usize).map_or_else(|| format!("#{}", id.0), |l| l.name.clone())
    }

    fn buffer(&mut self, id: BufferId) -> Option<&'a Buffer> {
        let b = self.kernel.buffers.get(id.0 as usize);
        if b.is_none() {
            self.report(KernelError::UnknownBuffer { entry: self.entry, id: id.0 });
        }
        b
    }

    fn show(&self, e: &Expr) -> String {
        expr_to_string(self.kernel, self.function, e)
    }
}

/// The value of an integer constant, widened.
fn constant_int(e: &Expr) -> Option<i64> {
    match e.kind {
        ExprKind::Const(Value::I32(i)) => Some(i64::from(i)),
        ExprKind::Const(Value::U32(i)) => Some(i64::from(i)),
        _ => None,
    }
}

fn collect_loop_vars(body: &[Stmt], vars: &mut BTreeSet<LocalId>) {
    for stmt in body {
        match stmt {
            Stmt::For { var, body, .. } => {
                vars.insert(*var);
                collect_loop_vars(body, vars);
            }
            Stmt::If { then_body, else_body, .. } => {
                collect_loop_vars(then_body, vars);
                collect_loop_vars(else_body, vars);
            }
            Stmt::Assign { .. } | Stmt::Store { .. } | Stmt::Send { .. } | Stmt::Dma { .. } => {}
        }
    }
}
