//! The write side: a builder of groups and datasets, written in one go.

use std::collections::BTreeMap;
use std::path::Path;

use rust_hdf5::types::H5Type;
use rust_hdf5::{DatatypeMessage, H5File, H5Group};

use super::H5Error;

/// gzip level of compressed datasets (h5py's default).
const GZIP_LEVEL: u32 = 4;
/// Chunks of compressed datasets hold at most this many bytes (whole rows).
const CHUNK_BYTES: usize = 1 << 20;

#[derive(Clone, Debug)]
enum Data {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
    Strings(Vec<String>),
}

impl Data {
    fn len(&self) -> usize {
        match self {
            Data::F32(d) => d.len(),
            Data::F64(d) => d.len(),
            Data::I64(d) => d.len(),
            Data::Strings(d) => d.len(),
        }
    }
}

#[derive(Clone, Debug)]
enum Entry {
    Group,
    Dataset { shape: Vec<usize>, data: Data },
}

/// Groups and datasets to write to one file, by path (`a/b/c`, relative to the
/// root). Parent groups are created as needed. Numeric arrays of one element or
/// more that are not scalars are gzip-compressed in chunks; strings are
/// fixed-length UTF-8 (see the module doc). Nothing is checked until
/// [`H5Builder::write`], which reports the first problem.
#[derive(Clone, Debug, Default)]
pub struct H5Builder {
    entries: BTreeMap<String, Entry>,
    duplicate: Option<String>,
}

impl H5Builder {
    pub fn new() -> H5Builder {
        H5Builder::default()
    }

    /// A group (also created implicitly by the datasets inside it).
    pub fn group(&mut self, path: &str) -> &mut Self {
        let path = path.trim_matches('/').to_string();
        if let Some(Entry::Dataset { .. }) = self.entries.get(&path) {
            self.duplicate.get_or_insert(path);
        } else {
            self.entries.insert(path, Entry::Group);
        }
        self
    }

    /// An `f32` array of `shape` (`[]` for a scalar), `data` row-major.
    pub fn f32_array(&mut self, path: &str, shape: &[usize], data: &[f32]) -> &mut Self {
        self.dataset(path, shape, Data::F32(data.to_vec()))
    }

    /// An `f64` array of `shape` (`[]` for a scalar), `data` row-major.
    pub fn f64_array(&mut self, path: &str, shape: &[usize], data: &[f64]) -> &mut Self {
        self.dataset(path, shape, Data::F64(data.to_vec()))
    }

    /// An `i64` array of `shape` (`[]` for a scalar), `data` row-major.
    pub fn i64_array(&mut self, path: &str, shape: &[usize], data: &[i64]) -> &mut Self {
        self.dataset(path, shape, Data::I64(data.to_vec()))
    }

    /// A scalar string.
    pub fn string(&mut self, path: &str, value: &str) -> &mut Self {
        self.dataset(path, &[], Data::Strings(vec![value.to_string()]))
    }

    /// A string array of `shape` (e.g. `[N, 2]` for NIR's edges), row-major.
    pub fn strings(&mut self, path: &str, shape: &[usize], values: &[&str]) -> &mut Self {
        self.dataset(path, shape, Data::Strings(values.iter().map(|s| s.to_string()).collect()))
    }

    fn dataset(&mut self, path: &str, shape: &[usize], data: Data) -> &mut Self {
        let path = path.trim_matches('/').to_string();
        if self.entries.contains_key(&path) {
            self.duplicate.get_or_insert(path.clone());
        }
        self.entries.insert(path, Entry::Dataset { shape: shape.to_vec(), data });
        self
    }

    /// Writes the file at `file` atomically: into a temporary file in the same
    /// folder, renamed over `file` once complete.
    pub fn write(&self, file: &Path) -> Result<(), H5Error> {
        self.check(file)?;
        let failed = |reason: String| H5Error::WriteFailed { file: file.to_path_buf(), reason };
        let dir = match file.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".snnc-")
            .suffix(".h5.tmp")
            .tempfile_in(dir)
            .map_err(|e| failed(e.to_string()))?;
        let h5 = H5File::create(tmp.path()).map_err(|e| failed(e.to_string()))?;
        let mut groups: BTreeMap<String, H5Group> = BTreeMap::new();
        groups.insert(String::new(), h5.root_group());
        for (path, entry) in &self.entries {
            match entry {
                Entry::Group => ensure_group(&mut groups, path).map_err(|e| failed(format!("group `{path}`: {e}")))?,
                Entry::Dataset { shape, data } => {
                    let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
                    ensure_group(&mut groups, parent).map_err(|e| failed(format!("group `{parent}`: {e}")))?;
                    write_dataset(&groups[parent], name, shape, data)
                        .map_err(|e| failed(format!("dataset `{path}`: {e}")))?
                }
            }
        }
        h5.close().map_err(|e| failed(e.to_string()))?;
        tmp.persist(file).map_err(|e| failed(e.error.to_string()))?;
        Ok(())
    }

    /// Every path well formed, every dataset's data filling its shape, no path
    /// both a dataset and a group, no string holding NUL (fixed-length strings
    /// end at it).
    fn check(&self, file: &Path) -> Result<(), H5Error> {
        let bad =
            |path: &str, reason: String| H5Error::BadWrite { file: file.to_path_buf(), path: path.into(), reason };
        if let Some(path) = &self.duplicate {
            return Err(bad(path, "the path is given twice".into()));
        }
        for (path, entry) in &self.entries {
            if path.is_empty() || path.split('/').any(str::is_empty) {
                return Err(bad(path, "paths are `/`-separated names, none of them empty".into()));
            }
            let mut ancestor = path.as_str();
            while let Some((parent, _)) = ancestor.rsplit_once('/') {
                if let Some(Entry::Dataset { .. }) = self.entries.get(parent) {
                    return Err(bad(path, format!("its parent `{parent}` is a dataset")));
                }
                ancestor = parent;
            }
            if let Entry::Dataset { shape, data } = entry {
                let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
                if count != Some(data.len()) {
                    return Err(bad(
                        path,
                        format!("shape {shape:?} holds {count:?} elements, data has {}", data.len()),
                    ));
                }
                if let Data::Strings(values) = data
                    && values.iter().any(|s| s.contains('\0'))
                {
                    return Err(bad(path, "a string holds a NUL character".into()));
                }
            }
        }
        Ok(())
    }
}

/// Creates the group at `path` and its missing ancestors.
fn ensure_group(groups: &mut BTreeMap<String, H5Group>, path: &str) -> Result<(), rust_hdf5::Hdf5Error> {
    if groups.contains_key(path) {
        return Ok(());
    }
    let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
    ensure_group(groups, parent)?;
    let g = groups[parent].create_group(name)?;
    groups.insert(path.to_string(), g);
    Ok(())
}

fn write_dataset(group: &H5Group, name: &str, shape: &[usize], data: &Data) -> Result<(), rust_hdf5::Hdf5Error> {
    match data {
        Data::F32(d) => write_numbers(group, name, shape, d),
        Data::F64(d) => write_numbers(group, name, shape, d),
        Data::I64(d) => write_numbers(group, name, shape, d),
        Data::Strings(values) => {
            let width = values.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
            let mut bytes = Vec::with_capacity(width * values.len());
            for s in values {
                bytes.extend_from_slice(s.as_bytes());
                bytes.resize(bytes.len() + width - s.len(), 0);
            }
            let ds = group
                .new_dataset::<u8>()
                .datatype(DatatypeMessage::fixed_string_utf8(width as u32))
                .shape(shape)
                .create(name)?;
            if !bytes.is_empty() { ds.write_raw_bytes(&bytes) } else { Ok(()) }
        }
    }
}

fn write_numbers<T: H5Type>(
    group: &H5Group,
    name: &str,
    shape: &[usize],
    data: &[T],
) -> Result<(), rust_hdf5::Hdf5Error> {
    let builder = group.new_dataset::<T>().shape(shape);
    if shape.is_empty() || data.is_empty() {
        let ds = builder.create(name)?;
        return if data.is_empty() { Ok(()) } else { ds.write_raw(data) };
    }
    // Chunks of whole rows (along the first axis), at most CHUNK_BYTES each.
    let row = shape[1..].iter().product::<usize>() * std::mem::size_of::<T>();
    let rows = (CHUNK_BYTES / row.max(1)).clamp(1, shape[0]);
    let mut chunk = shape.to_vec();
    chunk[0] = rows;
    builder.chunk(&chunk).deflate(GZIP_LEVEL).create(name)?.write_raw(data)
}
