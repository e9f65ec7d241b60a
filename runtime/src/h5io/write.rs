//! The write side: a builder of groups and datasets, written in one go.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use super::H5Error;
use super::encode::{Data, Member, Tree, encode};

#[derive(Clone, Debug)]
enum Entry {
    Group,
    Dataset { shape: Vec<usize>, data: Data },
}

/// Groups and datasets to write to one file, by path (`a/b/c`, relative to the
/// root). Parent groups are created as needed. Numeric arrays of one element or
/// more that are not scalars are gzip-compressed in chunks; strings are
/// variable-length UTF-8 of any shape, as h5py writes them (see
/// [`super::encode`]). Nothing is checked until
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
        let bytes = encode(&self.tree().map_err(&failed)?).map_err(failed)?;
        let mut handle = tmp.as_file();
        handle.write_all(&bytes).and_then(|()| handle.sync_all()).map_err(|e| failed(e.to_string()))?;
        tmp.persist(file).map_err(|e| failed(e.error.to_string()))?;
        Ok(())
    }

    /// Every path well formed, every dataset's data filling its shape, no path
    /// both a dataset and a group, no string holding NUL (libhdf5 reads a
    /// string up to it).
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

    /// The entries as a tree of groups (checked: no path is both a dataset
    /// and a group).
    fn tree(&self) -> Result<Tree, String> {
        let mut root = Tree::default();
        for (path, entry) in &self.entries {
            let mut node = &mut root;
            let parts: Vec<&str> = path.split('/').collect();
            let Some((last, parents)) = parts.split_last() else { continue };
            for p in parents {
                let m = node.members.entry(p.to_string()).or_insert_with(|| Member::Group(Tree::default()));
                let Member::Group(g) = m else { return Err(format!("`{path}`: a parent is a dataset")) };
                node = g;
            }
            match entry {
                Entry::Group => {
                    node.members.entry(last.to_string()).or_insert_with(|| Member::Group(Tree::default()));
                }
                Entry::Dataset { shape, data } => {
                    node.members.insert(
                        last.to_string(),
                        Member::Dataset { shape: shape.clone(), data: data.clone(), compress: true },
                    );
                }
            }
        }
        Ok(root)
    }
}
