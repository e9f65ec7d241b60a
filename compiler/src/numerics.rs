//! Deterministic `f32` elementary functions shared by every backend.
//!
//! The numerical contract (`docs/contract.md`) is computed in `f32` on every
//! backend: the reference trainer, the kernel-IR interpreter, the Cranelift JIT
//! and the emitted C. Platform `expf`/`logf` differ between libms, so snnc
//! defines its own, as a fixed sequence of single `f32` additions,
//! multiplications and bit operations (never fused), which the kernel IR
//! expands op for op and the C backend emits literally.
//!
//! Invariant: these functions use only `+ - *`, comparisons, `f32 <-> i32`
//! conversions and bit casts, each rounded to `f32`; no `mul_add`, no libm.
//!
//! Constants folded into kernels (`alpha = exp(-dt/tau_syn)`, ...) are computed
//! on the host in `f64` and rounded to `f32` once; they do not use these.

/// Lowest argument for which [`exp_f32`] returns a non-zero value.
pub const EXP_MIN_ARG: f32 = -87.0;
/// Highest argument accepted by [`exp_f32`]; larger arguments are clamped.
pub const EXP_MAX_ARG: f32 = 88.0;

pub const LOG2_E: f32 = std::f32::consts::LOG2_E;
/// ln 2 split in a high part with few significant bits (exact products with
/// small integers) and a low correction (Cody-Waite range reduction).
pub const LN2_HI: f32 = 0.693_145_75;
pub const LN2_LO: f32 = 1.428_606_8e-6;

/// Taylor coefficients 1/k! for k = 2..7, evaluated by Horner's rule.
pub const EXP_POLY: [f32; 6] = [1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5];

/// Coefficients of `ln m = 2 s (1 + s^2/3 + s^4/5 + ...)`, highest first, by Horner.
pub const LN_POLY: [f32; 5] = [1.0 / 9.0, 1.0 / 7.0, 1.0 / 5.0, 1.0 / 3.0, 1.0];

/// `e^x` in `f32`, deterministic across backends.
///
/// Algorithm: clamp `x` to `[EXP_MIN_ARG, EXP_MAX_ARG]` (below the range the
/// result is 0); `k = floor(x * log2(e) + 0.5)` (by truncation towards zero of
/// a shifted value, see below); `r = (x - k*LN2_HI) - k*LN2_LO`, so
/// `|r| <= ln2/2`; `p = 1 + r + r^2 (1/2 + r (1/6 + ...))` by Horner to degree 7;
/// result `p * 2^k`, with `2^k` built from its exponent bits.
/// Relative error below 2e-7 over the whole range (tested against `f64::exp`).
pub fn exp_f32(x: f32) -> f32 {
    if x < EXP_MIN_ARG {
        return 0.0;
    }
    let x = if x > EXP_MAX_ARG { EXP_MAX_ARG } else { x };
    // floor(y + 0.5) for y in [-126, 127]: shift to positive, truncate, shift back.
    let y = x * LOG2_E + 0.5;
    let k = ((y + 128.0) as i32) - 128;
    let kf = k as f32;
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    let mut p = EXP_POLY[0];
    for c in &EXP_POLY[1..] {
        p = p * r + c;
    }
    let p = (p * r) * r + r + 1.0;
    let scale = f32::from_bits(((k + 127) as u32) << 23);
    p * scale
}

/// Natural logarithm in `f32`, deterministic across backends, for `x > 0`
/// and finite. Returns `-inf`-like `f32::MIN` for `x <= 0` (callers only pass
/// positive sums of exponentials).
///
/// Algorithm: split `x = m * 2^e` with `m` in `[sqrt(1/2), sqrt(2))` from the
/// bits; `s = (m - 1) / (m + 1)`; `ln m = 2 (s + s^3/3 + s^5/5 + s^7/7 + s^9/9)`;
/// result `e * ln2 + ln m`.
pub fn ln_f32(x: f32) -> f32 {
    if x <= 0.0 || x.is_nan() {
        return f32::MIN;
    }
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 127;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    if m > std::f32::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut q = LN_POLY[0];
    for c in &LN_POLY[1..] {
        q = q * s2 + c;
    }
    let ef = e as f32;
    (ef * LN2_HI + ef * LN2_LO) + 2.0 * s * q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_accurate_over_its_range() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x <= 88.0 {
            let want = (x as f64).exp();
            let got = exp_f32(x) as f64;
            worst = worst.max(((got - want) / want).abs());
            x += 0.001_37;
        }
        assert!(worst < 2e-7, "worst relative error {worst}");
    }

    #[test]
    fn exp_edges() {
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(-1000.0), 0.0);
        assert!(exp_f32(1000.0).is_finite());
        assert!((exp_f32(1.0) - std::f32::consts::E).abs() < 1e-6);
    }

    #[test]
    fn ln_is_accurate() {
        let mut worst = 0.0f64;
        let mut x = 1e-30f32;
        while x < 1e30 {
            let want = (x as f64).ln();
            let got = ln_f32(x) as f64;
            let err = if want.abs() > 1.0 { ((got - want) / want).abs() } else { (got - want).abs() };
            worst = worst.max(err);
            x *= 1.013;
        }
        assert!(worst < 3e-7, "worst error {worst}");
        assert_eq!(ln_f32(1.0), 0.0);
        assert_eq!(ln_f32(0.0), f32::MIN);
    }
}
