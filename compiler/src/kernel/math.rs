//! `exp` and `ln` expanded into kernel-IR arithmetic, op for op as
//! [`crate::numerics::exp_f32`] and [`crate::numerics::ln_f32`] compute them
//! (same constants, same evaluation order, same truncations), so that the
//! interpreter, the JIT and the emitted C produce the reference's bits.
//!
//! Invariant: for every non-NaN `f32` input the expansion's value has the same
//! bits as the `numerics` function (tested in both runtime backends); a NaN
//! input gives a NaN.

use super::build::FunctionBuilder;
use super::{ConvertOp, Expr, Ty};
use crate::numerics::{EXP_MAX_ARG, EXP_MIN_ARG, EXP_POLY, LN_POLY, LN2_HI, LN2_LO, LOG2_E};

/// Emits `e^x` into `fb`; returns the local holding the result.
pub fn exp_f32(fb: &mut FunctionBuilder, x: Expr) -> Expr {
    let x = fb.let_("exp_x", x);
    let result = fb.local("exp_y", Ty::F32);
    fb.if_else(
        x.get().lt(Expr::f32(EXP_MIN_ARG)),
        |fb| fb.assign(result, Expr::f32(0.0)),
        |fb| {
            let xc =
                fb.let_("exp_xc", Expr::select(x.get().gt(Expr::f32(EXP_MAX_ARG)), Expr::f32(EXP_MAX_ARG), x.get()));
            let y = xc.get() * Expr::f32(LOG2_E) + Expr::f32(0.5);
            let k = fb.let_("exp_k", (y + Expr::f32(128.0)).convert(ConvertOp::F32ToI32) - Expr::i32(128));
            let kf = fb.let_("exp_kf", k.get().convert(ConvertOp::I32ToF32));
            let r = fb.let_("exp_r", (xc.get() - kf.get() * Expr::f32(LN2_HI)) - kf.get() * Expr::f32(LN2_LO));
            let mut p = Expr::f32(EXP_POLY[0]);
            for c in &EXP_POLY[1..] {
                p = p * r.get() + Expr::f32(*c);
            }
            let p = fb.let_("exp_p", (p * r.get()) * r.get() + r.get() + Expr::f32(1.0));
            let scale = ((k.get() + Expr::i32(127)).convert(ConvertOp::I32AsU32) << Expr::u32(23))
                .convert(ConvertOp::F32FromBits);
            fb.assign(result, p.get() * scale);
        },
    );
    result.get()
}

/// Emits `ln x` into `fb` (`f32::MIN` for `x <= 0` or NaN, as
/// [`crate::numerics::ln_f32`]); returns the local holding the result.
pub fn ln_f32(fb: &mut FunctionBuilder, x: Expr) -> Expr {
    let x = fb.let_("ln_x", x);
    let result = fb.local("ln_y", Ty::F32);
    fb.if_else(
        !x.get().gt(Expr::f32(0.0)),
        |fb| fb.assign(result, Expr::f32(f32::MIN)),
        |fb| {
            let bits = fb.let_("ln_bits", x.get().convert(ConvertOp::F32Bits));
            let e = fb.let_(
                "ln_e",
                ((bits.get() >> Expr::u32(23)) & Expr::u32(0xff)).convert(ConvertOp::U32AsI32) - Expr::i32(127),
            );
            let m = fb.let_(
                "ln_m",
                ((bits.get() & Expr::u32(0x007f_ffff)) | Expr::u32(0x3f80_0000)).convert(ConvertOp::F32FromBits),
            );
            fb.if_(m.get().gt(Expr::f32(std::f32::consts::SQRT_2)), |fb| {
                fb.assign(m, m.get() * Expr::f32(0.5));
                fb.assign(e, e.get() + Expr::i32(1));
            });
            let s = fb.let_("ln_s", (m.get() - Expr::f32(1.0)) / (m.get() + Expr::f32(1.0)));
            let s2 = fb.let_("ln_s2", s.get() * s.get());
            let mut q = Expr::f32(LN_POLY[0]);
            for c in &LN_POLY[1..] {
                q = q * s2.get() + Expr::f32(*c);
            }
            let ef = fb.let_("ln_ef", e.get().convert(ConvertOp::I32ToF32));
            fb.assign(
                result,
                (ef.get() * Expr::f32(LN2_HI) + ef.get() * Expr::f32(LN2_LO)) + (Expr::f32(2.0) * s.get()) * q,
            );
        },
    );
    result.get()
}
