//! HDF5 files: the one place snnc reads and writes them (event data sets such as
//! the Spiking Heidelberg Digits, NIR graphs).
//!
//! Input: a path to an HDF5 file as h5py writes it (superblock 0 to 3, groups,
//! contiguous, compact or chunked datasets, gzip-compressed or not). Output: a
//! [`H5Reader`] that gives each dataset as a typed [`Value`] by its path, or, for
//! event files, an [`EventFile`] ([`read_event_file`]). The other way, a
//! [`H5Builder`] collects groups and datasets and writes them atomically.
//!
//! The HDF5 format itself is the `rust-hdf5` crate's (pure Rust, no system
//! library); this module hides it behind these types, so no other module names
//! it. Reading goes through the crate's file API; writing assembles the file
//! from the crate's encoders of each on-disk structure ([`encode`]), because
//! the crate's file API writes variable-length strings only as 1-D datasets.
//!
//! Invariants:
//! - Nothing here panics on any input: a missing, truncated, corrupted or
//!   non-HDF5 file, or a dataset of an unexpected type, is an [`H5Error`] with a
//!   stable code that names the file and the dataset path.
//! - Values are exact: every integer fits `i64` or is refused; every float
//!   (16-, 32- or 64-bit IEEE, either byte order) is widened to `f64` exactly.
//! - No read allocates more than the file could hold: before reading, a
//!   dataset's declared size is checked against the file's length (times 1100
//!   for a chunked dataset, above the 1032:1 limit of deflate), since the crate
//!   allocates what the header declares.
//! - Strings are UTF-8 (ASCII included), or refused. The builder writes them as
//!   h5py does (`h5py.string_dtype()`): variable-length UTF-8, of any shape
//!   (NIR needs scalars and `[N, 2]` arrays), in global heap collections.
//! - Written files have h5py's default layout: superblock 0, symbol-table
//!   groups, numbers gzip-compressed in chunks, strings contiguous.
//! - A file shorter than its superblock declares is refused as truncated, as
//!   libhdf5 does.
//! - A written file appears whole or not at all (temp file + rename).

mod encode;
mod events;
mod read;
mod write;

use std::path::PathBuf;

pub use events::{EventFile, read_event_file};
pub use read::{H5Reader, Value};
pub use write::H5Builder;

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum H5Error {
    #[error("cannot read {file}: {reason}")]
    #[diagnostic(code(snn::h5::missing_file), help("check the path (relative paths start at the working directory)"))]
    MissingFile { file: PathBuf, reason: String },
    #[error("{file} is not an HDF5 file (no HDF5 signature)")]
    #[diagnostic(
        code(snn::h5::not_hdf5),
        help("the file must be HDF5, as h5py writes it (`.h5`); a `.h5.gz` download must be unzipped first")
    )]
    NotHdf5 { file: PathBuf },
    #[error("{file} is damaged or truncated (at `{path}`): {reason}")]
    #[diagnostic(code(snn::h5::corrupt), help("download or write the file again; h5py can tell whether it opens"))]
    Corrupt { file: PathBuf, path: String, reason: String },
    #[error("{file} has no dataset `{path}`")]
    #[diagnostic(
        code(snn::h5::missing_dataset),
        help("list the file's contents with `h5ls -r FILE` or h5py's `visit`")
    )]
    MissingDataset { file: PathBuf, path: String },
    #[error("{file} has no group `{path}`")]
    #[diagnostic(code(snn::h5::missing_group), help("list the file's contents with `h5ls -r FILE` or h5py's `visit`"))]
    MissingGroup { file: PathBuf, path: String },
    #[error("{file}: `{path}` is a group, not a dataset")]
    #[diagnostic(code(snn::h5::not_a_dataset), help("name a dataset inside the group"))]
    NotADataset { file: PathBuf, path: String },
    #[error("{file}: dataset `{path}` is {found}, expected {expected}")]
    #[diagnostic(code(snn::h5::wrong_type), help("write the dataset with the expected dtype (h5py: `dtype=...`)"))]
    WrongType { file: PathBuf, path: String, expected: String, found: String },
    #[error("{file}: dataset `{path}` declares {bytes} bytes, more than a file of {file_len} bytes can hold")]
    #[diagnostic(code(snn::h5::too_large), help("the file's header is damaged; download or write the file again"))]
    TooLarge { file: PathBuf, path: String, bytes: u128, file_len: u64 },
    #[error("{file}: sample {sample} has {times} spike times but {units} units")]
    #[diagnostic(
        code(snn::h5::events_length_mismatch),
        help("`spikes/times[i]` and `spikes/units[i]` must have one entry per spike")
    )]
    EventsLengthMismatch { file: PathBuf, sample: usize, times: usize, units: usize },
    #[error("{file}: `{path}` has {found} entries but the file has {samples} samples (`spikes/times`)")]
    #[diagnostic(code(snn::h5::count_mismatch), help("one entry per sample"))]
    CountMismatch { file: PathBuf, path: String, found: usize, samples: usize },
    #[error("{file}: sample {sample}, spike {index}: time {value} is negative or NaN")]
    #[diagnostic(code(snn::h5::bad_time), help("spike times are in seconds from the start of the sample, 0 or more"))]
    BadTime { file: PathBuf, sample: usize, index: usize, value: f64 },
    #[error("{file}: sample {sample}, spike {index}: unit {value} is negative (or above {max})", max = u32::MAX)]
    #[diagnostic(code(snn::h5::bad_unit), help("units are input channel indices, 0 or more"))]
    BadUnit { file: PathBuf, sample: usize, index: usize, value: i64 },
    #[error("{file}: `{path}`[{index}] = {value} is negative (or above {max})", max = u32::MAX)]
    #[diagnostic(code(snn::h5::bad_integer), help("labels and speakers are indices, 0 or more"))]
    BadInteger { file: PathBuf, path: String, index: usize, value: i64 },
    #[error("{file}: cannot write `{path}`: {reason}")]
    #[diagnostic(
        code(snn::h5::bad_write),
        help("every dataset's data must fill its shape, and no path may be both a group and a dataset")
    )]
    BadWrite { file: PathBuf, path: String, reason: String },
    #[error("cannot write {file}: {reason}")]
    #[diagnostic(code(snn::h5::write_failed), help("check that the folder exists and is writable"))]
    WriteFailed { file: PathBuf, reason: String },
}

impl H5Error {
    /// The stable diagnostic code (`snn::h5::...`).
    pub fn code_str(&self) -> String {
        use miette::Diagnostic;
        self.code().map(|c| c.to_string()).unwrap_or_default()
    }
}
