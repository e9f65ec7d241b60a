//! CSV data files: a header line, then rows of features followed by an
//! integer label.
//!
//! Input: file paths, the feature and class counts. Output: [`Splits`].
//! Invariant: every error names the file and the 1-based line.

use std::path::{Path, PathBuf};

use super::{DataError, DataSource, Split, Splits};

pub struct CsvFiles {
    pub train: PathBuf,
    pub validation: Option<PathBuf>,
    pub test: Option<PathBuf>,
    pub features: usize,
    pub classes: u32,
}

impl DataSource for CsvFiles {
    fn load(&self) -> Result<Splits, DataError> {
        let read = |p: &Path| read_csv(p, self.features, self.classes);
        Ok(Splits {
            train: read(&self.train)?,
            validation: self.validation.as_deref().map(read).transpose()?,
            test: self.test.as_deref().map(read).transpose()?,
            class_count: self.classes,
        })
    }
}

/// Reads one CSV split.
pub fn read_csv(path: &Path, features: usize, classes: u32) -> Result<Split, DataError> {
    let bytes =
        std::fs::read(path).map_err(|e| DataError::MissingFile { path: path.to_path_buf(), reason: e.to_string() })?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
            return Err(DataError::NotText { path: path.to_path_buf(), line });
        }
    };
    parse_csv(&text, path, features, classes)
}

/// Why a label cell is not a class index, or the index.
fn parse_label(cell: &str) -> Result<u64, &'static str> {
    if let Ok(l) = cell.parse::<u64>() {
        return Ok(l);
    }
    match cell.parse::<f64>() {
        Ok(v) if !v.is_finite() => Err("not a finite number"),
        Ok(v) if v < 0.0 => Err("negative"),
        // `1.0` is the whole number 1, as many tools write labels.
        Ok(v) if v.fract() == 0.0 && v < 2f64.powi(53) => Ok(v as u64),
        Ok(_) => Err("not a whole number"),
        Err(_) => Err("not a number"),
    }
}

/// Parses CSV text (`path` only names the file in errors). The first line
/// is a header; one that holds only numbers is refused (it would be a
/// silently lost data row). Features must be finite and within `0..1`.
pub fn parse_csv(text: &str, path: &Path, features: usize, classes: u32) -> Result<Split, DataError> {
    let mut split = Split { features: Vec::new(), labels: Vec::new(), feature_count: features };
    if let Some(first) = text.lines().next() {
        let cells: Vec<&str> = first.split(',').map(str::trim).collect();
        if !first.trim().is_empty() && cells.iter().all(|c| c.parse::<f64>().is_ok()) {
            return Err(DataError::MissingHeader { path: path.to_path_buf(), text: first.trim().to_string() });
        }
    }
    for (index, line) in text.lines().enumerate().skip(1) {
        let line_no = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != features + 1 {
            return Err(DataError::ColumnCount {
                path: path.to_path_buf(),
                line: line_no,
                expected: features + 1,
                features,
                found: cells.len(),
            });
        }
        let bad = |column: usize| DataError::BadRow {
            path: path.to_path_buf(),
            line: line_no,
            column: column + 1,
            text: cells[column].to_string(),
        };
        for (c, cell) in cells[..features].iter().enumerate() {
            let v: f64 = cell.parse().map_err(|_| bad(c))?;
            if !v.is_finite() {
                return Err(bad(c));
            }
            if !(0.0..=1.0).contains(&v) {
                return Err(DataError::FeatureOutOfRange {
                    path: path.to_path_buf(),
                    line: line_no,
                    column: c + 1,
                    value: cell.to_string(),
                });
            }
            split.features.push(v);
        }
        let text = cells[features];
        let label = parse_label(text).map_err(|why| DataError::BadLabel {
            path: path.to_path_buf(),
            line: line_no,
            text: text.to_string(),
            why,
        })?;
        if label >= u64::from(classes) {
            return Err(DataError::LabelOutOfRange { path: path.to_path_buf(), line: line_no, label, classes });
        }
        split.labels.push(label as u32);
    }
    if split.is_empty() {
        return Err(DataError::Empty { path: path.to_path_buf() });
    }
    Ok(split)
}
