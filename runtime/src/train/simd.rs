//! The reference trainer's element-wise loops over a row of weights,
//! compiled for the widest vector unit the CPU has (AVX-512 or AVX2 on
//! x86-64, chosen at run time; otherwise the baseline build).
//!
//! Every lane computes what the scalar loop computes: one binary32 add, or
//! one product then one add, per element, never fused (no FMA is enabled
//! and Rust never contracts), and elements are independent. So every path
//! gives the same bits; only the speed differs.

/// `acc[j] += x[j]`.
pub fn add_assign(acc: &mut [f32], x: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F.
            return unsafe { x86::add_assign_avx512(acc, x) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { x86::add_assign_avx2(acc, x) };
        }
    }
    add_assign_body(acc, x)
}

/// `acc[j] += c * x[j]` (the product rounded, then the sum).
pub fn add_scaled(acc: &mut [f32], c: f32, x: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F.
            return unsafe { x86::add_scaled_avx512(acc, c, x) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { x86::add_scaled_avx2(acc, c, x) };
        }
    }
    add_scaled_body(acc, c, x)
}

#[inline(always)]
fn add_assign_body(acc: &mut [f32], x: &[f32]) {
    for (a, &b) in acc.iter_mut().zip(x) {
        *a += b;
    }
}

#[inline(always)]
fn add_scaled_body(acc: &mut [f32], c: f32, x: &[f32]) {
    for (a, &b) in acc.iter_mut().zip(x) {
        *a += c * b;
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    #[target_feature(enable = "avx512f")]
    pub fn add_assign_avx512(acc: &mut [f32], x: &[f32]) {
        super::add_assign_body(acc, x)
    }
    #[target_feature(enable = "avx2")]
    pub fn add_assign_avx2(acc: &mut [f32], x: &[f32]) {
        super::add_assign_body(acc, x)
    }
    #[target_feature(enable = "avx512f")]
    pub fn add_scaled_avx512(acc: &mut [f32], c: f32, x: &[f32]) {
        super::add_scaled_body(acc, c, x)
    }
    #[target_feature(enable = "avx2")]
    pub fn add_scaled_avx2(acc: &mut [f32], c: f32, x: &[f32]) {
        super::add_scaled_body(acc, c, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every path gives the scalar loop's bits, NaNs, infinities, signed
    /// zeros and subnormals included, at lengths around the vector widths.
    #[test]
    fn every_path_gives_the_scalar_bits() {
        let special = [0.0, -0.0, 1.0, -1.5, f32::MIN_POSITIVE / 3.0, f32::MAX, f32::INFINITY, f32::NAN, 1e-30, 3.0e7];
        for len in [0, 1, 7, 8, 15, 16, 17, 33, 256, 261] {
            let x: Vec<f32> = (0..len).map(|i| special[i % special.len()] * (1.0 + i as f32 * 0.37)).collect();
            let a0: Vec<f32> = (0..len).map(|i| special[(i * 7 + 3) % special.len()] - i as f32).collect();
            for c in [0.0f32, -0.005, 1.0e-20, f32::INFINITY] {
                let (mut want, mut got) = (a0.clone(), a0.clone());
                add_scaled_body(&mut want, c, &x);
                add_scaled(&mut got, c, &x);
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "add_scaled len {len} c {c}");
            }
            let (mut want, mut got) = (a0.clone(), a0.clone());
            add_assign_body(&mut want, &x);
            add_assign(&mut got, &x);
            assert_eq!(
                got.iter().map(|f| f.to_bits()).collect::<Vec<_>>(),
                want.iter().map(|f| f.to_bits()).collect::<Vec<_>>(),
                "add_assign len {len}"
            );
        }
    }
}
