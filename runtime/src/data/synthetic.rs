//! A seeded synthetic classification set: one Gaussian blob per class.
//!
//! Input: feature and class counts, three (size, seed) pairs. Output: [`Splits`].
//!
//! Class centres are `uniform(0.2, 0.8)` per class and feature, drawn first
//! from `RandomState(train seed)` so that every split shares them; the train
//! points continue that stream, validation and test points come from their
//! own `RandomState(seed)`. A point is `randint(classes)` for the label, then
//! its class' centre plus `normal(0, 0.1)` per feature. Invariant: a
//! deterministic function of the spec.

use snnc_compiler::network::SplitSpec;

use super::{DataError, DataSource, Split, Splits};
use crate::rng::RandomState;

pub struct Blobs {
    pub features: usize,
    pub classes: u32,
    pub splits: [SplitSpec; 3],
}

const SPREAD: f64 = 0.1;

impl DataSource for Blobs {
    fn load(&self) -> Result<Splits, DataError> {
        let mut train_rng = RandomState::new(self.splits[0].seed);
        let centres: Vec<f64> =
            (0..self.features * self.classes as usize).map(|_| train_rng.uniform(0.2, 0.8)).collect();
        let split_of = |size: u32, rng: &mut RandomState| {
            let mut split = Split { features: Vec::new(), labels: Vec::new(), feature_count: self.features };
            for _ in 0..size {
                let label = rng.randint(u64::from(self.classes)) as usize;
                for f in 0..self.features {
                    split.features.push(rng.normal(centres[label * self.features + f], SPREAD));
                }
                split.labels.push(label as u32);
            }
            split
        };
        let [train, validation, test] = self.splits;
        Ok(Splits {
            train: split_of(train.size, &mut train_rng),
            validation: Some(split_of(validation.size, &mut RandomState::new(validation.seed))),
            test: Some(split_of(test.size, &mut RandomState::new(test.seed))),
            class_count: self.classes,
        })
    }
}
