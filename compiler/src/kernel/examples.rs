//! Hand-built kernels that tests build at several sizes: the probe of the
//! `exp`/`ln` expansions (the runtime's sweeps of every backend against
//! `numerics`). Example kernels of fixed size are text in the filetest
//! corpus (`tests/kir/examples/`); the lowering builds the real kernels.

use super::build::KernelBuilder;
use super::{ConvertOp, EntryPoint, Expr, FunctionBuilder, Kernel, Ty, exp_f32, ln_f32};

/// A probe for the expanded elementary functions: `init` sets
/// `exp_out[i] = exp(x[i])` and `ln_out[i] = ln(x[i])` for `i < len`;
/// `end_of_sample` sends `f32_to_i32(x[i])` as a packet key.
pub fn exp_ln_probe(len: u32) -> Kernel {
    let mut k = KernelBuilder::new("exp_ln_probe");
    let x = k.buffer("x", Ty::F32, len);
    let exp_out = k.buffer("exp_out", Ty::F32, len);
    let ln_out = k.buffer("ln_out", Ty::F32, len);
    let mut f = FunctionBuilder::new(EntryPoint::Init);
    f.for_range("i", Expr::u32(0), Expr::u32(len), |f, i| {
        let e = exp_f32(f, x.at(i.get()));
        f.store(exp_out, i.get(), e);
        let l = ln_f32(f, x.at(i.get()));
        f.store(ln_out, i.get(), l);
    });
    k.define(f.finish());
    let mut f = FunctionBuilder::new(EntryPoint::EndOfSample);
    f.for_range("i", Expr::u32(0), Expr::u32(len), |f, i| {
        f.send(x.at(i.get()).convert(ConvertOp::F32ToI32).convert(ConvertOp::I32AsU32));
    });
    k.define(f.finish());
    k.finish()
}
