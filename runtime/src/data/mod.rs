//! Data sets: the `data = ...` line of a `train` block -> three splits.
//!
//! Input: a [`DataSpec`] from the checked network and the folder of the spec
//! file (CSV and event-file paths are relative to it). Output: feature data
//! as [`Splits`] with `f64` features (row-major) and `u32` labels, which the
//! latency encoders ([`encode`]) turn into spikes; event data as
//! [`events::EventSplits`] (spike times and channels per sample, from files
//! or the generators [`shd_like`] and [`order`]), which [`events::bin`]
//! puts on the time grid, and [`augment`] varies per epoch.
//!
//! Invariants: every label is below the class count and every row has exactly
//! `feature_count` features, every channel is below the data's channel count
//! (checked when loading, reported as a [`DataError`] naming the file and
//! line, or the file, dataset and sample); generated sets are deterministic
//! functions of their seeds.

pub mod augment;
pub mod csv;
pub mod encode;
pub mod events;
pub mod order;
pub mod shd_like;
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
    #[diagnostic(code(snn::data::missing_file), help("data paths are relative to the folder of the .snn file"))]
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
    #[error(transparent)]
    #[diagnostic(transparent)]
    H5(#[from] crate::h5io::H5Error),
    #[error("{file}: sample {sample} has no events (`spikes/times`[{sample}] is empty)")]
    #[diagnostic(
        code(snn::data::empty_sample),
        help("every sample of an event file needs at least one spike; remove the sample or its label")
    )]
    EmptySample { file: PathBuf, sample: usize },
    #[error("{file}: `labels`[{sample}] = {label} is out of range: the readout has {classes} classes, labelled 0 to {}", classes - 1)]
    #[diagnostic(
        code(snn::data::label_out_of_range),
        help("labels count from 0; the readout needs one neuron per class")
    )]
    EventLabelOutOfRange { file: PathBuf, sample: usize, label: u32, classes: u32 },
    #[error("{file}: `spikes/units`[{sample}][{index}] = {unit} is beyond the input's {channels} channels (0 to {})", channels - 1)]
    #[diagnostic(
        code(snn::data::channel_out_of_range),
        help("the input population takes channels 0 to {} (its inputs times `pool` = {pool}); make it larger or drop those channels", channels - 1)
    )]
    ChannelOutOfRange { file: PathBuf, sample: usize, index: usize, unit: u32, channels: u32, pool: u32 },
    #[error(
        "{file} has no integer speaker ids (`extra/speaker` is missing or holds strings), so no speaker can be held out for validation"
    )]
    #[diagnostic(
        code(snn::data::no_speakers),
        help("use a validation fraction (`validation = 0.1`) or a validation file instead of `speakers(..)`")
    )]
    NoSpeakers { file: PathBuf },
    #[error("{file}: no sample is spoken by speaker{} {}", if asked.len() == 1 { "" } else { "s" }, list(asked))]
    #[diagnostic(code(snn::data::unknown_speakers), help("the training file holds speakers {}", list(present)))]
    UnknownSpeakers { file: PathBuf, asked: Vec<u32>, present: Vec<u32> },
    #[error("{file}: no training samples are left: {why}")]
    #[diagnostic(code(snn::data::no_training_samples), help("hold out fewer samples for validation"))]
    NoTrainingSamples { file: PathBuf, why: String },
}

fn list(v: &[u32]) -> String {
    let items: Vec<String> = v.iter().map(u32::to_string).collect();
    items.join(", ")
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

/// The [`DataSource`] a feature-data spec names; CSV paths are resolved
/// against `base_dir`. Event data ([`DataSpec::is_events`]) loads through
/// [`events`].
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
        DataSpec::EventFiles { .. } | DataSpec::ShdLike { .. } | DataSpec::Order(_) => {
            unreachable!("event data loads through `events` (train::trainer::prepare), not as feature rows")
        }
    }
}
