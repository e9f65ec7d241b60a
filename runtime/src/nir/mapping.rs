//! The one formula between NIR's continuous-time weights and snnc's current
//! jumps (`docs/nir.md` derives it), and the parameters the export writes
//! so that the formula gives back its weights bit for bit.
//!
//! NIR's current-based neuron is `tau_syn dI/dt = -I + w_in S(t)`,
//! `tau_mem dv/dt = (v_leak - v) + r I`, with `S(t) = W s(t)` and each
//! spike of `s` a unit impulse (a Dirac delta of area 1). Integrating the
//! first equation across an impulse, `I` jumps by `w_in W / tau_syn`; with
//! `v_leak = 0` the membrane sees `r I`, so snnc's current (`tau_mem dV/dt =
//! -V + I`, `I` jumping by `W_snnc` at a spike) is `r I` and
//!
//! ```text
//! W_snnc[j][i] = f32(((W[j][i] * row[j]) * post_scale[j]) * pre_scale[i]),
//! row[j] = (r[j] * w_in[j]) / tau_syn
//! ```
//!
//! in `f64`, rounded to `f32` once (the `Scale` nodes on the path multiply
//! the rows after the `Linear` or the columns before it; without them the
//! scales are 1).
//!
//! The export writes `r = 1` and `w_in = tau_syn` (the `float32` the file
//! stores as `tau_syn`) for every neuron, and the weights as they are: the
//! factor is then `(1 * t) / t = 1` exactly, so import gives back every
//! weight's bits, and the `Linear` holds the current jumps, the weights
//! discrete-time simulators add to their synaptic current.

/// The factor of row `j` before any `Scale`: `(r * w_in) / tau_syn`, in `f64`.
pub fn row_factor(r: f64, w_in: f64, tau_syn: f64) -> f64 {
    (r * w_in) / tau_syn
}

/// snnc's weight from a stored NIR weight and its factors.
pub fn snnc_weight(w: f64, row: f64, post_scale: f64, pre_scale: f64) -> f32 {
    (((w * row) * post_scale) * pre_scale) as f32
}

/// What the export stores for a population whose `tau_syn` (seconds) is
/// given: `(tau_syn, r, w_in)` as the file's `float32` values, weights
/// unchanged.
pub fn exported_factors(tau_syn: f64) -> (f32, f32, f32) {
    let tau = tau_syn as f32;
    (tau, 1.0, tau)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the weight and the time constant, the import's formula gives
    /// back the bits of what the export stored.
    #[test]
    fn exported_weights_round_trip_bit_for_bit() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut checked = 0;
        for k in 0..20_000 {
            let tau_syn = match k % 4 {
                0 => [5e-3, 2e-3, 1e-2, 0.1, 1.0, 3.7e-4, 20.0][k / 4 % 7],
                _ => f64::from(next() as u32) / f64::from(u32::MAX) * 0.5 + 1e-6,
            };
            let (tau, r, w_in) = exported_factors(tau_syn);
            let row = row_factor(f64::from(r), f64::from(w_in), f64::from(tau));
            assert_eq!(row, 1.0, "tau_syn {tau_syn}");
            let bits = next() as u32;
            let w = match next() % 6 {
                0 => f32::from_bits(bits) * 0.0,
                1 => f32::from_bits(bits & 0x807f_ffff), // subnormal
                2 => f32::from_bits((bits & 0x80ff_ffff) | 0x7e00_0000), // huge
                _ => (f64::from(bits) / f64::from(u32::MAX) * 8.0 - 4.0) as f32,
            };
            assert_eq!(snnc_weight(f64::from(w), row, 1.0, 1.0).to_bits(), w.to_bits(), "{w} at tau_syn {tau_syn}");
            checked += 1;
        }
        assert_eq!(checked, 20_000);
    }

    #[test]
    fn nir_units_scale_by_r_w_in_over_tau_syn() {
        // A weight of 0.01 in NIR's units at tau_syn = 5 ms, r = 2, w_in = 0.5: a jump of 2.
        let row = row_factor(2.0, 0.5, 0.005);
        assert_eq!(snnc_weight(0.01, row, 1.0, 1.0), 2.0);
        assert_eq!(snnc_weight(0.01, row, 0.5, 3.0), 3.0);
    }
}
