//! Operation counting in generated code: the counts of a block (a function
//! body, a branch of an `if`) are summed at compile time over its
//! straight-line segments and added once at its end, each time it runs; a
//! loop body's are added once after the loop, as trips x per-iteration
//! counts; a small loop with constant bounds is unrolled, its counts summed
//! into the enclosing block's.

use cranelift_codegen::ir::{InstBuilder, MemFlagsData, Value, types};
use snnc_compiler::kernel::{Expr, ExprKind, OpClass, OpCounts};

use super::codegen::{Gen, LoopTally, Scope};

impl Gen<'_, '_> {
    /// Ends the pending segment: its counts go to the innermost scope's
    /// tally.
    pub(super) fn flush_counts(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        match self.scopes.last_mut() {
            Some(Scope::Loop(LoopTally { per_iteration: tally, .. }) | Scope::Once(tally)) => tally.absorb(&pending),
            None => unreachable!("every statement is inside the function body's scope"),
        }
    }

    /// Adds constant counts to the counts array.
    pub(super) fn add_counts(&mut self, counts: &OpCounts) {
        for class in OpClass::ALL {
            let n = counts.get(class);
            if n != 0 {
                let n = self.b.ins().iconst(types::I64, n as i64);
                self.add_count(class, n);
            }
        }
    }

    /// `counts[class] += n` (`n` an `i64` value).
    pub(super) fn add_count(&mut self, class: OpClass, n: Value) {
        let offset = (8 * class as usize) as i32;
        let flags = MemFlagsData::trusted();
        let counts = self.b.use_var(self.counts);
        let old = self.b.ins().load(types::I64, flags, counts, offset);
        let new = self.b.ins().iadd(old, n);
        self.b.ins().store(flags, new, counts, offset);
    }

    /// The counts of a finished loop: `per_iteration * trips + header *
    /// (trips + 1)` per class, `trips` an `i64` value, plus each counted
    /// branch's tally times its counter.
    pub(super) fn add_loop_counts(&mut self, tally: &LoopTally, header: &OpCounts, trips: Value) {
        for class in OpClass::ALL {
            let (n, h) = (tally.per_iteration.get(class), header.get(class));
            let mut total = (n != 0 || h != 0).then(|| {
                let body = self.b.ins().imul_imm_u(trips, (n + h) as i64);
                self.b.ins().iadd_imm_u(body, h as i64)
            });
            for &(counter, ref branch) in &tally.branches {
                let t = branch.get(class);
                if t == 0 {
                    continue;
                }
                let k = self.b.use_var(counter);
                let runs = if t == 1 { k } else { self.b.ins().imul_imm_u(k, t as i64) };
                total = Some(match total {
                    Some(sum) => self.b.ins().iadd(sum, runs),
                    None => runs,
                });
            }
            let Some(total) = total else { continue };
            // Inside an outer loop body this runs once per outer iteration.
            self.add_count(class, total);
        }
    }

    /// Adds the static counts of an expression tree to the pending segment.
    pub(super) fn count(&mut self, e: &Expr) {
        if let Some(class) = OpClass::of_expr(e) {
            self.pending.add(class, 1);
        }
        match &e.kind {
            ExprKind::Const(_) | ExprKind::Local(_) => {}
            ExprKind::Load { index: arg, .. } | ExprKind::Unary { arg, .. } | ExprKind::Convert { arg, .. } => {
                self.count(arg)
            }
            ExprKind::Binary { lhs, rhs, .. } | ExprKind::Compare { lhs, rhs, .. } => {
                self.count(lhs);
                self.count(rhs);
            }
            ExprKind::Select { cond, then, otherwise } => {
                self.count(cond);
                self.count(then);
                self.count(otherwise);
            }
        }
    }
}
