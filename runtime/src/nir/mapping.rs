//! The one formula between NIR's continuous-time weights and snnc's current
//! jumps (`docs/nir.md` derives it).
//!
//! NIR's current-based neuron is `tau_syn dI/dt = -I + w_in S(t)`,
//! `tau_mem dv/dt = (v_leak - v) + r I`, with `S(t) = W x(t)` and each
//! spike of `x` a Dirac impulse of area 1. Integrating the first equation
//! over an impulse, `I` jumps by `w_in W / tau_syn`; with `v_leak = 0` the
//! membrane sees `r I`, so snnc's current (`tau_mem dV/dt = -V + I`, `I`
//! jumping by `W_snnc` at a spike) is `r I` and
//!
//! ```text
//! W_snnc[j][i] = W[j][i] * (r[j] * w_in[j] / tau_syn) * post_scale[j] * pre_scale[i]
//! ```
//!
//! (the `Scale` nodes on the path multiply the rows or columns). This
//! module computes it in one fixed order in `f64` and rounds to `f32` once;
//! the import uses it, and the export checks its choice of stored values
//! against it, so export then import returns the same bits.

/// The factor of row `j` before any `Scale`: `(r * w_in) / tau_syn`, in `f64`.
pub fn row_factor(r: f64, w_in: f64, tau_syn: f64) -> f64 {
    (r * w_in) / tau_syn
}

/// snnc's weight from a stored NIR weight and its factors.
pub fn snnc_weight(w: f64, row: f64, post_scale: f64, pre_scale: f64) -> f32 {
    (w * row * post_scale * pre_scale) as f32
}

/// How the export stores one neuron's incoming weights.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredRow {
    /// The `w_in` of the neuron.
    pub w_in: f32,
    /// The stored weights, one per incoming weight in the order given.
    pub weights: Vec<f32>,
}

/// The values to store for one neuron `j` whose incoming snnc weights are
/// `row`, in a population with `tau_syn` (stored as `f32`) and `r = 1`.
///
/// Preferred: NIR's own units, `W = f32(w * tau_syn)` and `w_in = 1`, when
/// [`snnc_weight`] gives back every `w` bit for bit. Otherwise the weights
/// are stored as they are and `w_in = tau_syn` (stored `f32`), whose factor
/// `(1 * tau_syn) / tau_syn` is exactly 1.
pub fn store_row(row: &[f32], tau_syn: f32) -> StoredRow {
    let tau = f64::from(tau_syn);
    let scaled: Vec<f32> = row.iter().map(|&w| (f64::from(w) * tau) as f32).collect();
    let factor = row_factor(1.0, 1.0, tau);
    let exact =
        scaled.iter().zip(row).all(|(&s, &w)| snnc_weight(f64::from(s), factor, 1.0, 1.0).to_bits() == w.to_bits());
    if exact { StoredRow { w_in: 1.0, weights: scaled } } else { StoredRow { w_in: tau_syn, weights: row.to_vec() } }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever is stored, the import's formula gives back the bits.
    fn round_trips(row: &[f32], tau: f32) {
        let s = store_row(row, tau);
        let factor = row_factor(1.0, f64::from(s.w_in), f64::from(tau));
        for (&stored, &w) in s.weights.iter().zip(row) {
            assert_eq!(snnc_weight(f64::from(stored), factor, 1.0, 1.0).to_bits(), w.to_bits(), "{w} via {s:?}");
        }
    }

    #[test]
    fn rows_round_trip_bit_for_bit() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let taus = [5e-3f32, 2e-3, 1e-2, 0.1, 1.0, 3.7e-4, 20.0];
        let mut scaled_rows = 0;
        for k in 0..4000 {
            let tau = taus[k % taus.len()];
            let len = 1 + (next() % 6) as usize;
            let row: Vec<f32> = (0..len)
                .map(|_| {
                    let bits = next() as u32;
                    match next() % 8 {
                        0 => f32::from_bits(bits) * 0.0,
                        1 => f32::from_bits(bits & 0x807f_ffff), // subnormal
                        2 => f32::from_bits((bits & 0x80ff_ffff) | 0x7e00_0000), // huge
                        _ => (f64::from(bits) / f64::from(u32::MAX) * 8.0 - 4.0) as f32,
                    }
                })
                .collect();
            if store_row(&row, tau).w_in == 1.0 {
                scaled_rows += 1;
            }
            round_trips(&row, tau);
        }
        // Both forms occur.
        assert!(scaled_rows > 100 && scaled_rows < 3900, "{scaled_rows}");
    }

    #[test]
    fn exact_rows_keep_nir_units() {
        let s = store_row(&[2.0, -0.5, 0.0], 0.25);
        assert_eq!(s, StoredRow { w_in: 1.0, weights: vec![0.5, -0.125, 0.0] });
    }
}
