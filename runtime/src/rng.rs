//! snnc's one random number generator: numpy's legacy `RandomState`.
//!
//! Input: a 32-bit seed, used as `init_genrand(seed)`, i.e. numpy's
//! `np.random.RandomState(seed)`. Output: the same streams numpy gives for
//! `random_sample`, `uniform`, `normal` (legacy polar method with one cached
//! spare), `randint` (masked rejection) and `shuffle`/`permutation`.
//!
//! Every draw snnc makes (Yin-Yang data, weight initialisers, the per-epoch
//! shuffle, synthetic data) goes through this type, so a run can be replayed
//! in a few lines of numpy: the initial weights of a projection are
//! `RandomState(seed).normal(m / k, s / k, (pre, post)).T` and the order of
//! epoch `e` is the `e`-th `permutation(n)` of a second `RandomState(seed)`.
//!
//! Invariant: bit-exact with numpy's legacy stream (tested against values
//! numpy printed, and through the Yin-Yang generator against whole data
//! sets); the whole state is [`RngState`], so a checkpoint that stores it
//! resumes the exact stream.

const N: usize = 624;
const M: usize = 397;

/// The Mersenne Twister MT19937 (numpy's `init_genrand` seeding).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Mt19937 {
    state: Box<[u32; N]>,
    index: usize,
}

impl Mt19937 {
    /// `init_genrand(seed)`.
    pub fn new(seed: u32) -> Self {
        let mut state = Box::new([0u32; N]);
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32.wrapping_mul(prev ^ (prev >> 30)).wrapping_add(i as u32);
        }
        Mt19937 { state, index: N }
    }

    /// `init_by_array(key)`: numpy's seeding from a sequence of integers
    /// (`RandomState([a, b, ...])`).
    pub fn from_key(key: &[u32]) -> Self {
        let mut mt = Mt19937::new(19_650_218);
        let s = &mut mt.state;
        let (mut i, mut j) = (1usize, 0usize);
        let len = key.len().max(1);
        for _ in 0..N.max(len) {
            let prev = s[i - 1];
            let k = key.get(j).copied().unwrap_or(0);
            s[i] = (s[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525)).wrapping_add(k).wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                s[0] = s[N - 1];
                i = 1;
            }
            if j >= len {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = s[i - 1];
            s[i] = (s[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                s[0] = s[N - 1];
                i = 1;
            }
        }
        s[0] = 0x8000_0000;
        mt.index = N;
        mt
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

    /// numpy's `random_interval(max)`: uniform in `0..=max` by masked
    /// rejection (`max < 2^32`).
    pub fn interval(&mut self, max: u32) -> u32 {
        if max == 0 {
            return 0;
        }
        let mask = u32::MAX >> max.leading_zeros();
        loop {
            let v = self.next_u32() & mask;
            if v <= max {
                return v;
            }
        }
    }
}

/// numpy's legacy `RandomState`: MT19937 plus the cached spare normal.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomState {
    mt: Mt19937,
    gauss: Option<f64>,
}

/// The whole state of a [`RandomState`], as plain data for checkpoints.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RngState {
    /// The 624 words of MT19937.
    pub key: Vec<u32>,
    /// The next word to temper (624: twist first).
    pub pos: usize,
    /// The cached spare normal's `f64` bits, if any.
    pub gauss: Option<u64>,
}

impl RandomState {
    /// `np.random.RandomState(seed)`.
    pub fn new(seed: u32) -> Self {
        RandomState { mt: Mt19937::new(seed), gauss: None }
    }

    /// `np.random.RandomState([k0, k1, ...])` (numpy's `init_by_array`).
    pub fn from_key(key: &[u32]) -> Self {
        RandomState { mt: Mt19937::from_key(key), gauss: None }
    }

    /// `standard_exponential()` as `-ln(1 - random_sample())`.
    pub fn exponential(&mut self, scale: f64) -> f64 {
        -(1.0 - self.random_sample()).ln() * scale
    }

    pub fn state(&self) -> RngState {
        RngState { key: self.mt.state.to_vec(), pos: self.mt.index, gauss: self.gauss.map(f64::to_bits) }
    }

    /// The generator a [`RandomState::state`] describes, or `None` if it
    /// does not describe one.
    pub fn from_state(s: &RngState) -> Option<Self> {
        let key: [u32; N] = s.key.as_slice().try_into().ok()?;
        (s.pos <= N).then(|| RandomState {
            mt: Mt19937 { state: Box::new(key), index: s.pos },
            gauss: s.gauss.map(f64::from_bits),
        })
    }

    pub fn next_u32(&mut self) -> u32 {
        self.mt.next_u32()
    }

    /// `random_sample()`: uniform in `[0, 1)`, 53 bits.
    pub fn random_sample(&mut self) -> f64 {
        self.mt.next_f64()
    }

    /// `uniform(low, high)`.
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.random_sample()
    }

    /// `standard_normal()` of the legacy generator: the polar method, which
    /// makes two normals per accepted pair and caches the second.
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(g) = self.gauss.take() {
            return g;
        }
        loop {
            let x1 = 2.0 * self.random_sample() - 1.0;
            let x2 = 2.0 * self.random_sample() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// `normal(loc, scale)`.
    pub fn normal(&mut self, loc: f64, scale: f64) -> f64 {
        loc + scale * self.standard_normal()
    }

    /// `randint(n)` (`1 <= n <= 2^32`): uniform in `0..n`.
    pub fn randint(&mut self, n: u64) -> u32 {
        debug_assert!((1..=1 << 32).contains(&n));
        self.mt.interval((n - 1) as u32)
    }

    /// `shuffle(v)`: Fisher-Yates from the end, `j = random_interval(i)`.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.mt.interval(i as u32) as usize;
            v.swap(i, j);
        }
    }

    /// `permutation(n)`.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        self.shuffle(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values printed by numpy 2.4.6 (`np.random.RandomState`).

    #[test]
    fn first_outputs_of_seed_42_match_numpy() {
        let mut mt = Mt19937::new(42);
        let got: Vec<u32> = (0..6).map(|_| mt.next_u32()).collect();
        assert_eq!(got, [1608637542, 3421126067, 4083286876, 787846414, 3143890026, 3348747335]);
    }

    #[test]
    fn sequence_seeds_match_numpy() {
        // RandomState([7, 1, 3]).randint(0, 2**32, 4, dtype=np.uint32), and
        // RandomState([7, 1, 3]).random_sample(3), RandomState([0, 1]).random_sample(2)
        let mut mt = Mt19937::from_key(&[7, 1, 3]);
        let got: Vec<u32> = (0..4).map(|_| mt.next_u32()).collect();
        assert_eq!(got, [341544878, 2418044667, 4131536797, 323697148]);
        let mut r = RandomState::from_key(&[7, 1, 3]);
        let got: Vec<f64> = (0..3).map(|_| r.random_sample()).collect();
        assert_eq!(got, [0.07952211471643211, 0.9619483655345932, 0.18216339380953628]);
        let mut r = RandomState::from_key(&[0, 1]);
        assert_eq!([r.random_sample(), r.random_sample()], [0.11299430095636409, 0.41782886486292836]);
    }

    #[test]
    fn doubles_use_numpy_random_sample() {
        // RandomState(42).random_sample() == 0.3745401188473625
        assert_eq!(RandomState::new(42).random_sample(), 0.3745401188473625);
    }

    #[test]
    fn normals_match_numpy() {
        // RandomState(0).normal(0, 1, 5)
        let mut r = RandomState::new(0);
        let got: Vec<f64> = (0..5).map(|_| r.normal(0.0, 1.0)).collect();
        assert_eq!(
            got,
            [1.764052345967664, 0.4001572083672233, 0.9787379841057392, 2.240893199201458, 1.8675579901499675]
        );
    }

    #[test]
    fn uniforms_match_numpy() {
        // RandomState(3).uniform(-1.5, 2.5, 3)
        let mut r = RandomState::new(3);
        let got: Vec<f64> = (0..3).map(|_| r.uniform(-1.5, 2.5)).collect();
        assert_eq!(got, [0.703191610298302, 1.3325912904724193, -0.3363810443482227]);
    }

    #[test]
    fn permutations_match_numpy() {
        // RandomState(7).permutation(10), and the start of permutation(5000)
        assert_eq!(RandomState::new(7).permutation(10), [8, 5, 0, 2, 1, 9, 7, 3, 6, 4]);
        assert_eq!(RandomState::new(7).permutation(5000)[..8], [3406, 757, 3624, 4544, 3235, 1868, 2916, 3335]);
    }

    #[test]
    fn state_round_trips_mid_stream_with_a_cached_normal() {
        let mut r = RandomState::new(9);
        r.standard_normal(); // leaves a spare cached
        let mut resumed = RandomState::from_state(&r.state()).unwrap();
        assert_eq!(resumed, r);
        for _ in 0..700 {
            assert_eq!(resumed.standard_normal().to_bits(), r.standard_normal().to_bits());
        }
        assert!(RandomState::from_state(&RngState { key: vec![0; 3], pos: 0, gauss: None }).is_none());
    }

    #[test]
    fn randint_stays_in_range_and_is_roughly_uniform() {
        let mut r = RandomState::new(3);
        let mut seen = [0u32; 5];
        for _ in 0..5000 {
            seen[r.randint(5) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 900), "{seen:?}");
    }
}
