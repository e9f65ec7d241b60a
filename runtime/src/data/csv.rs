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
    let text = std::fs::read_to_string(path)
        .map_err(|e| DataError::MissingFile { path: path.to_path_buf(), reason: e.to_string() })?;
    parse_csv(&text, path, features, classes)
}

/// Parses CSV text (`path` only names the file in errors).
pub fn parse_csv(text: &str, path: &Path, features: usize, classes: u32) -> Result<Split, DataError> {
    let mut split = Split { features: Vec::new(), labels: Vec::new(), feature_count: features };
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
            split.features.push(v);
        }
        let label: u64 = cells[features].parse().map_err(|_| bad(features))?;
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
