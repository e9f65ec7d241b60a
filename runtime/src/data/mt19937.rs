//! MT19937, the Mersenne Twister of numpy's legacy `RandomState`.
//!
//! Input: a seed, used as in `init_genrand(seed)` (numpy's `RandomState(seed)`
//! for seeds below 2^32). Output: the same `u32` stream as numpy, plus numpy's
//! `random_sample` double and legacy `randint` conventions.
//!
//! Invariant: bit-exact with numpy's legacy stream (tested against its first
//! outputs for seed 42 and, through the Yin-Yang generator, against whole data
//! sets).

const N: usize = 624;
const M: usize = 397;

pub struct Mt19937 {
    state: [u32; N],
    index: usize,
}

impl Mt19937 {
    /// `init_genrand(seed)`.
    pub fn new(seed: u32) -> Self {
        let mut state = [0u32; N];
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32.wrapping_mul(prev ^ (prev >> 30)).wrapping_add(i as u32);
        }
        Mt19937 { state, index: N }
    }

    fn twist(&mut self) {
        for i in 0..N {
            let y = (self.state[i] & 0x8000_0000) | (self.state[(i + 1) % N] & 0x7fff_ffff);
            let mut next = self.state[(i + M) % N] ^ (y >> 1);
            if y & 1 != 0 {
                next ^= 0x9908_b0df;
            }
            self.state[i] = next;
        }
        self.index = 0;
    }

    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// numpy's `random_sample()`: a double in `[0, 1)` from two draws.
    pub fn next_f64(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (a as f64 * 67_108_864.0 + b as f64) / 9_007_199_254_740_992.0
    }

    /// numpy's legacy `randint(3)`: masked rejection sampling.
    pub fn randint3(&mut self) -> u32 {
        loop {
            let v = self.next_u32() & 3;
            if v <= 2 {
                return v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_outputs_of_seed_42_match_numpy() {
        let mut mt = Mt19937::new(42);
        let got: Vec<u32> = (0..6).map(|_| mt.next_u32()).collect();
        assert_eq!(got, [1608637542, 3421126067, 4083286876, 787846414, 3143890026, 3348747335]);
    }

    #[test]
    fn doubles_use_numpy_random_sample() {
        // numpy: np.random.RandomState(42).random_sample() == 0.3745401188473625
        let mut mt = Mt19937::new(42);
        assert_eq!(mt.next_f64(), 0.3745401188473625);
    }
}
