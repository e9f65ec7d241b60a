//! The seeded random number generator of snnc's own randomness (weight
//! initialisers, shuffling, synthetic data): xoshiro256** seeded by SplitMix64.
//!
//! Input: a `u64` seed and a stream tag, so that independent uses of one seed
//! never share a stream. Output: `u64`, uniform `f64` in `[0, 1)`, unbiased
//! bounded integers, standard normals (Box-Muller, no cached spare).
//!
//! Invariant: the whole state is four `u64` words ([`Rng::state`]), so a
//! checkpoint that stores them resumes the exact stream.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    s: [u64; 4],
}

/// Stream tags: one per use of the user's seed.
pub mod stream {
    pub const INIT: u64 = 1;
    pub const SHUFFLE: u64 = 2;
    pub const SYNTHETIC: u64 = 3;
}

fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut x = seed ^ stream.wrapping_mul(0xd1b5_4a32_d192_ed03);
        let s = [splitmix64(&mut x), splitmix64(&mut x), splitmix64(&mut x), splitmix64(&mut x)];
        Rng { s }
    }

    pub fn from_state(s: [u64; 4]) -> Self {
        Rng { s }
    }

    pub fn state(&self) -> [u64; 4] {
        self.s
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform in `0 .. n` (`n >= 1`), unbiased (rejection).
    pub fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }

    /// A standard normal by Box-Muller (two uniforms per value).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_and_replay() {
        let a: Vec<u64> = {
            let mut r = Rng::new(7, stream::INIT);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let mut r = Rng::new(7, stream::SHUFFLE);
        assert_ne!(a, (0..4).map(|_| r.next_u64()).collect::<Vec<_>>());
        let mut r = Rng::new(7, stream::INIT);
        r.next_u64();
        let mut resumed = Rng::from_state(r.state());
        assert_eq!(resumed.next_u64(), a[1]);
    }

    #[test]
    fn normals_have_unit_moments() {
        let mut r = Rng::new(1, stream::INIT);
        let xs: Vec<f64> = (0..100_000).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.02 && (var - 1.0).abs() < 0.02, "mean {mean} var {var}");
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = Rng::new(3, stream::SHUFFLE);
        let mut seen = [0u32; 5];
        for _ in 0..5000 {
            seen[r.below(5) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 900), "{seen:?}");
    }
}
