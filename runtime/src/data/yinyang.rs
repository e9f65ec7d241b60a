//! The Yin-Yang data set (Kriener, Göltz, Petrovici 2021), generated bit-exact.
//!
//! Input: a split size and seed. Output: a [`Split`] with features
//! `(x, y, 1-x, 1-y)` (f64) and labels 0 (yang), 1 (yin), 2 (dot).
//!
//! Invariant: reproduces the reference generator (numpy legacy `RandomState`)
//! bit for bit, see `docs/contract.md` section 11; the project never needs the
//! reference CSV files at run time (they are test data only).

use super::Split;
use crate::rng::RandomState;

const R_SMALL: f64 = 0.1;
const R_BIG: f64 = 0.5;

/// The class of a point inside the big disk.
pub fn class_of(x: f64, y: f64) -> u32 {
    let d_right = dist(x, y, 1.5 * R_BIG, R_BIG);
    let d_left = dist(x, y, 0.5 * R_BIG, R_BIG);
    let is_yin =
        d_right <= R_SMALL || (d_left > R_SMALL && d_left <= 0.5 * R_BIG) || (y > R_BIG && d_right > 0.5 * R_BIG);
    if d_right < R_SMALL || d_left < R_SMALL { 2 } else { u32::from(is_yin) }
}

fn dist(x: f64, y: f64, cx: f64, cy: f64) -> f64 {
    let dx = x - cx;
    let dy = y - cy;
    (dx * dx + dy * dy).sqrt()
}

/// Generates `size` samples with the reference generator's seed convention.
pub fn generate(size: u32, seed: u32) -> Split {
    let mut rng = RandomState::new(seed);
    let mut features = Vec::with_capacity(size as usize * 4);
    let mut labels = Vec::with_capacity(size as usize);
    for _ in 0..size {
        let goal = rng.randint(3);
        let (x, y) = loop {
            let x = rng.random_sample() * 2.0 * R_BIG;
            let y = rng.random_sample() * 2.0 * R_BIG;
            if dist(x, y, R_BIG, R_BIG) > R_BIG {
                continue;
            }
            if class_of(x, y) == goal {
                break (x, y);
            }
        };
        features.extend_from_slice(&[x, y, 1.0 - x, 1.0 - y]);
        labels.push(goal);
    }
    Split { features, labels, feature_count: 4 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(s: &Split) -> [usize; 3] {
        let mut c = [0; 3];
        for &l in &s.labels {
            c[l as usize] += 1;
        }
        c
    }

    #[test]
    fn class_counts_match_the_reference() {
        assert_eq!(counts(&generate(5000, 42)), [1681, 1702, 1617]);
        assert_eq!(counts(&generate(1000, 41)), [316, 336, 348]);
        assert_eq!(counts(&generate(1000, 40)), [350, 316, 334]);
    }
}
