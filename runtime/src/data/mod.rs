//! Data sets: the `data = ...` line of a `train` block -> three [`Split`]s.
//!
//! Input: a [`DataSpec`] from the checked network and the folder of the spec
//! file (CSV paths are relative to it). Output: [`Splits`] with `f64` features
//! (row-major) and `u32` labels; the encoders ([`encode`]) turn them into spike
//! steps.
//!
//! Invariants: every label is below the class count and every row has exactly
//! `feature_count` features (checked when loading, reported as a
//! [`DataError`] naming the file and line); generated sets are deterministic
//! functions of their seeds.

pub mod csv;
pub mod encode;
pub mod synthetic;
pub mod yinyang;

use std::path::{Path, PathBuf};

use snnc_compiler::network::DataSpec;

/// One split of a data set: `labels.len()` rows of `feature_count` features.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    pub features: Vec<f64>,
    pub labels: Vec<u32>,
    pub feature_count: usize,
}

impl Split {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    pub fn row(&self, i: usize) -> &[f64] {
        &self.features[i * self.feature_count..(i + 1) * self.feature_count]
    }
    /// The rows `keep` (in that order).
    pub fn select(&self, keep: &[usize]) -> Split {
        let mut features = Vec::with_capacity(keep.len() * self.feature_count);
        for &i in keep {
            features.extend_from_slice(self.row(i));
        }
        Split { features, labels: keep.iter().map(|&i| self.labels[i]).collect(), feature_count: self.feature_count }
    }
}

/// The three splits of a data set. Validation and test may be absent (CSV).
#[derive(Clone, Debug)]
pub struct Splits {
    pub train: Split,
    pub validation: Option<Split>,
    pub test: Option<Split>,
    pub class_count: u32,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DataError {
    #[error("cannot read data file {path}: {reason}")]
    #[diagnostic(code(snn::data::missing_file), help("CSV paths are relative to the folder of the .snn file"))]
    MissingFile { path: PathBuf, reason: String },
    #[error("{path}:{line}: the file is not UTF-8 text")]
    #[diagnostic(code(snn::data::not_text), help("save the CSV file as UTF-8 (plain ASCII is UTF-8)"))]
    NotText { path: PathBuf, line: usize },
    #[error("{path}:1: the first line `{text}` holds only numbers: it looks like data, not a header")]
    #[diagnostic(
        code(snn::data::missing_header),
        help("the first line of a CSV file names the columns (e.g. `x,y,label`); add one so no row is lost")
    )]
    MissingHeader { path: PathBuf, text: String },
    #[error("{path}:{line}: feature {column} is {value}, outside 0..1")]
    #[diagnostic(
        code(snn::data::feature_out_of_range),
        help(
            "the latency code maps features in 0..1 to spike times; scale the data to 0..1 (e.g. pixel values / 255)"
        )
    )]
    FeatureOutOfRange { path: PathBuf, line: usize, column: usize, value: String },
    #[error("{path}:{line}: the label `{text}` is {why}")]
    #[diagnostic(code(snn::data::bad_label), help("labels are whole numbers counted from 0"))]
    BadLabel { path: PathBuf, line: usize, text: String, why: &'static str },
    #[error("{path}:{line}: expected {expected} columns ({features} features and a label), found {found}")]
    #[diagnostic(code(snn::data::column_count), help("every row holds the features, then an integer label"))]
    ColumnCount { path: PathBuf, line: usize, expected: usize, features: usize, found: usize },
    #[error("{path}:{line}: column {column} is not a number: `{text}`")]
    #[diagnostic(code(snn::data::bad_row), help("features are finite decimal numbers in 0..1"))]
    BadRow { path: PathBuf, line: usize, column: usize, text: String },
    #[error("{path}:{line}: label {label} is out of range: the readout has {classes} classes, labelled 0 to {}", classes - 1)]
    #[diagnostic(code(snn::data::label_out_of_range), help("labels count from 0; check `classes` in the data line"))]
    LabelOutOfRange { path: PathBuf, line: usize, label: u64, classes: u32 },
    #[error("{path} holds no data rows")]
    #[diagnostic(code(snn::data::empty), help("the first line is a header; data rows follow it"))]
    Empty { path: PathBuf },
}

/// A source of the three splits (Yin-Yang, CSV files, synthetic blobs).
pub trait DataSource {
    fn load(&self) -> Result<Splits, DataError>;
}

/// The generated Yin-Yang set.
pub struct YinYang {
    pub sizes: [u32; 3],
    pub seeds: [u32; 3],
}

impl DataSource for YinYang {
    fn load(&self) -> Result<Splits, DataError> {
        let split_of = |i: usize| yinyang::generate(self.sizes[i], self.seeds[i]);
        Ok(Splits { train: split_of(0), validation: Some(split_of(1)), test: Some(split_of(2)), class_count: 3 })
    }
}

/// The [`DataSource`] a spec names; CSV paths are resolved against `base_dir`.
pub fn source(spec: &DataSpec, base_dir: &Path) -> Box<dyn DataSource> {
    match spec {
        DataSpec::YinYang { train, validation, test } => Box::new(YinYang {
            sizes: [train.size, validation.size, test.size],
            seeds: [train.seed, validation.seed, test.seed],
        }),
        DataSpec::Csv { train, validation, test, features, classes } => Box::new(csv::CsvFiles {
            train: base_dir.join(train),
            validation: validation.as_ref().map(|p| base_dir.join(p)),
            test: test.as_ref().map(|p| base_dir.join(p)),
            features: *features as usize,
            classes: *classes,
        }),
        DataSpec::Synthetic { features, classes, train, validation, test } => Box::new(synthetic::Blobs {
            features: *features as usize,
            classes: *classes,
            splits: [*train, *validation, *test],
        }),
    }
}
