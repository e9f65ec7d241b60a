//! A seeded synthetic classification set: one Gaussian blob per class.
//!
//! Input: feature and class counts, three (size, seed) pairs. Output: [`Splits`].
//!
//! Class centres are uniform in `[0.2, 0.8]^features`, drawn from the train
//! split's seed so that every split shares them; each point is its class'
//! centre plus `Normal(0, 0.1)` per feature; labels are uniform. Invariant:
//! a deterministic function of the spec.

use snnc_compiler::network::SplitSpec;

use super::{DataError, DataSource, Split, Splits};
use crate::rng::{Rng, stream};

pub struct Blobs {
    pub features: usize,
    pub classes: u32,
    pub splits: [SplitSpec; 3],
}

const SPREAD: f64 = 0.1;

impl DataSource for Blobs {
    fn load(&self) -> Result<Splits, DataError> {
        let mut rng = Rng::new(self.splits[0].seed, stream::SYNTHETIC);
        let centres: Vec<f64> =
            (0..self.features * self.classes as usize).map(|_| 0.2 + 0.6 * rng.next_f64()).collect();
        let split_of = |s: SplitSpec| {
            let mut rng = Rng::new(s.seed, stream::SYNTHETIC ^ 0xff);
            let mut split = Split { features: Vec::new(), labels: Vec::new(), feature_count: self.features };
            for _ in 0..s.size {
                let label = rng.below(u64::from(self.classes)) as usize;
                for f in 0..self.features {
                    split.features.push(centres[label * self.features + f] + SPREAD * rng.normal());
                }
                split.labels.push(label as u32);
            }
            split
        };
        Ok(Splits {
            train: split_of(self.splits[0]),
            validation: Some(split_of(self.splits[1])),
            test: Some(split_of(self.splits[2])),
            class_count: self.classes,
        })
    }
}
