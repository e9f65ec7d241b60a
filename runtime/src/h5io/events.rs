//! Event files as the Zenke lab publishes the Spiking Heidelberg Digits and
//! Spiking Speech Commands: `spikes/times` (one variable-length float array per
//! sample, seconds), `spikes/units` (one variable-length integer array per
//! sample), `labels`, and optionally `extra/` (`speaker`, one per sample;
//! `keys`, `meta_info/...`). I/O only: binning onto a time grid and checking
//! units against a population's size come later.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{H5Error, H5Reader, Value};

/// The contents of an event file. `times[i][k]` and `units[i][k]` are the time
/// (seconds, exactly as stored: float16 widened to f64) and unit of spike `k` of
/// sample `i`; `labels[i]` is sample `i`'s class.
#[derive(Clone, Debug, PartialEq)]
pub struct EventFile {
    pub file: PathBuf,
    pub times: Vec<Vec<f64>>,
    pub units: Vec<Vec<u32>>,
    pub labels: Vec<u32>,
    /// `extra/speaker`, when present as integers.
    pub speaker: Option<Vec<u32>>,
    /// Every dataset below `extra/` (`speaker` included), by its path relative
    /// to `extra/` (`keys`, `meta_info/age`, ...).
    pub extra: BTreeMap<String, Value>,
}

impl EventFile {
    pub fn sample_count(&self) -> usize {
        self.labels.len()
    }
}

/// Reads and checks an event file: `times` and `units` of equal length per
/// sample, one label per sample (and one speaker, if given as integers), no
/// negative or NaN time, no negative unit or label.
pub fn read_event_file(path: &Path) -> Result<EventFile, H5Error> {
    let h5 = H5Reader::open(path)?;
    let file = path.to_path_buf();
    let wrong_type = |path: &str, expected: &str, found: &Value| H5Error::WrongType {
        file: file.clone(),
        path: path.into(),
        expected: expected.into(),
        found: h5.dtype(path).unwrap_or_else(|_| found.kind().into()),
    };
    let times = match h5.read("spikes/times")? {
        Value::VlenFloats(rows) => rows,
        other => return Err(wrong_type("spikes/times", "variable-length float arrays", &other)),
    };
    let units = match h5.read("spikes/units")? {
        Value::VlenInts(rows) => rows,
        other => return Err(wrong_type("spikes/units", "variable-length integer arrays", &other)),
    };
    let samples = times.len();
    if units.len() != samples {
        return Err(H5Error::CountMismatch { file, path: "spikes/units".into(), found: units.len(), samples });
    }
    for (sample, (t, u)) in times.iter().zip(&units).enumerate() {
        if t.len() != u.len() {
            return Err(H5Error::EventsLengthMismatch { file, sample, times: t.len(), units: u.len() });
        }
        if let Some((index, &value)) = t.iter().enumerate().find(|(_, v)| v.is_nan() || **v < 0.0) {
            return Err(H5Error::BadTime { file, sample, index, value });
        }
    }
    let units = units
        .into_iter()
        .enumerate()
        .map(|(sample, row)| {
            row.into_iter()
                .enumerate()
                .map(|(index, value)| {
                    u32::try_from(value).map_err(|_| H5Error::BadUnit { file: file.clone(), sample, index, value })
                })
                .collect::<Result<Vec<u32>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let labels = per_sample(&h5, "labels", samples)?;
    // Speaker ids are integers in SHD; a file whose `extra/speaker` holds
    // strings (Speech Commands names speakers by hashes) keeps them in
    // `extra` only.
    let speaker = match h5.is_dataset("extra/speaker").then(|| h5.read("extra/speaker")).transpose()? {
        None | Some(Value::Strings { .. }) => None,
        Some(_) => Some(per_sample(&h5, "extra/speaker", samples)?),
    };
    let mut extra = BTreeMap::new();
    if h5.is_group("extra") {
        for name in h5.datasets_under("extra")? {
            let value = h5.read(&format!("extra/{name}"))?;
            extra.insert(name, value);
        }
    }
    Ok(EventFile { file, times, units, labels, speaker, extra })
}

/// A one-dimensional integer dataset with one entry (0 or more) per sample.
fn per_sample(h5: &H5Reader, path: &str, samples: usize) -> Result<Vec<u32>, H5Error> {
    let file = h5.file().to_path_buf();
    let data = match h5.read(path)? {
        Value::Ints { shape, data } if shape.len() == 1 => data,
        _ => {
            let found = h5.dtype(path)?;
            let shape = h5.shape(path)?;
            return Err(H5Error::WrongType {
                file,
                path: path.into(),
                expected: "a one-dimensional integer array".into(),
                found: format!("{found} of shape {shape:?}"),
            });
        }
    };
    if data.len() != samples {
        return Err(H5Error::CountMismatch { file, path: path.into(), found: data.len(), samples });
    }
    data.into_iter()
        .enumerate()
        .map(|(index, value)| {
            u32::try_from(value).map_err(|_| H5Error::BadInteger {
                file: file.clone(),
                path: path.into(),
                index,
                value,
            })
        })
        .collect()
}
