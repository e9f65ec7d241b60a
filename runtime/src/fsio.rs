//! The files snnc writes: atomically, never over one of the command's
//! inputs, never over a file snnc did not write (unless the user forces it).
//!
//! Input: output paths, the command's input paths, the bytes to write.
//! Output: the files, or an [`FsError`] naming the path.
//!
//! Invariants:
//! - every file is written to a temporary file in its own directory, synced,
//!   then renamed over the target: a reader sees the old file or the new one,
//!   never a part; the temporary file's name never appears in an error;
//! - a file is created with mode `0666` less the process umask (as any
//!   other program's output), never `0600`;
//! - missing parent directories are created;
//! - an output that is the same file as an input is refused, whatever the
//!   flags; an existing output that snnc did not write is refused unless
//!   `force`. A single file counts as written by snnc when it carries snnc's
//!   signature ([`SIGNATURES`]); a directory counts as written by snnc for
//!   the files listed in its [`MARKER`] file, which every directory output
//!   keeps up to date;
//! - [`OutputDir::lock`] holds an advisory lock on the directory's marker for
//!   the lifetime of the returned guard, so two snnc processes never write
//!   one directory at once (the lock dies with the process, even on SIGKILL).

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The file in every output directory that lists what snnc wrote there.
pub const MARKER: &str = ".snnc-files";

/// The first bytes of the single files snnc writes, by format; a file
/// that starts with one of them (after an optional XML declaration) was
/// written by snnc. Safetensors files carry `"generator": "snnc"` (or the
/// checkpoint's `snnc` entry) in their metadata instead.
pub const SIGNATURES: &[&str] =
    &["# written by snnc", "<!-- written by snnc", "/* written by snnc", "; written by snnc"];

/// The metadata entry that marks a safetensors file as snnc's.
pub const SAFETENSORS_GENERATOR: (&str, &str) = ("generator", "snnc");

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum FsError {
    #[error("cannot write {path}: {reason}")]
    #[diagnostic(code(snn::io::write), help("check that the disk has room and the directory is writable"))]
    Write { path: PathBuf, reason: String },
    #[error("{path} is an input of this command: writing the output there would destroy it")]
    #[diagnostic(code(snn::io::overwrites_input), help("choose another output path"))]
    OverwritesInput { path: PathBuf },
    #[error("{path} exists and was not written by snnc")]
    #[diagnostic(code(snn::io::not_snnc_output), help("choose another output path, or pass --force to replace it"))]
    NotOurs { path: PathBuf },
    #[error("another snnc process is writing {path}")]
    #[diagnostic(code(snn::io::locked), help("wait for it to finish, or choose another output directory"))]
    Locked { path: PathBuf },
}

impl FsError {
    /// Whether the user's request was refused (as opposed to the system
    /// failing to write).
    pub fn is_refusal(&self) -> bool {
        !matches!(self, FsError::Write { .. })
    }
}

fn write_error(path: &Path, e: &std::io::Error) -> FsError {
    FsError::Write { path: path.to_path_buf(), reason: e.to_string() }
}

/// The directory `path` lives in (`.` for a bare file name).
fn parent_of(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Creates `dir` and its missing parents.
pub fn create_dirs(dir: &Path) -> Result<(), FsError> {
    std::fs::create_dir_all(dir).map_err(|e| write_error(dir, &e))
}

/// Writes `bytes` to `path` atomically (temporary file in the same
/// directory, synced, renamed), creating missing parent directories.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    let dir = parent_of(path);
    create_dirs(dir)?;
    let io = |e: std::io::Error| write_error(path, &e);
    let mut builder = tempfile::Builder::new();
    builder.prefix(".snnc-tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Created with 0666 & !umask, like any other program's output.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Whether `a` and `b` name the same existing file.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Whether the file at `path` carries snnc's signature.
pub fn written_by_snnc(path: &Path) -> bool {
    let Ok(mut f) = File::open(path) else { return false };
    let mut head = Vec::new();
    if Read::by_ref(&mut f).take(4096).read_to_end(&mut head).is_err() {
        return false;
    }
    let text = String::from_utf8_lossy(&head);
    let body = text.strip_prefix("<?xml").map_or(&*text, |rest| rest.split_once("?>").map_or("", |(_, r)| r));
    if SIGNATURES.iter().any(|s| body.trim_start().starts_with(s)) {
        return true;
    }
    safetensors_metadata(path).is_some_and(|m| {
        m.get(SAFETENSORS_GENERATOR.0).is_some_and(|v| v == SAFETENSORS_GENERATOR.1) || m.contains_key("snnc")
    })
}

/// The metadata of a safetensors file, when `path` is one.
fn safetensors_metadata(path: &Path) -> Option<std::collections::HashMap<String, String>> {
    let mut f = File::open(path).ok()?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len).ok()?;
    let n = u64::from_le_bytes(len);
    if n > 100 << 20 {
        return None;
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&header).ok()?;
    let meta = v.get("__metadata__")?.as_object()?;
    Some(meta.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
}

/// Checks that `output` may be written: it is none of `inputs`, and it
/// either does not exist or was written by snnc (or `force`).
pub fn check_output_file(output: &Path, inputs: &[&Path], force: bool) -> Result<(), FsError> {
    if inputs.iter().any(|i| same_file(i, output)) {
        return Err(FsError::OverwritesInput { path: output.to_path_buf() });
    }
    if output.exists() && !force && !written_by_snnc(output) {
        return Err(FsError::NotOurs { path: output.to_path_buf() });
    }
    Ok(())
}

/// Writes one output file after [`check_output_file`].
pub fn write_output_file(output: &Path, inputs: &[&Path], force: bool, bytes: &[u8]) -> Result<(), FsError> {
    check_output_file(output, inputs, force)?;
    write_atomic(output, bytes)
}

/// An output directory: the files snnc wrote there are listed in its
/// [`MARKER`]; holding it locks the directory against other snnc processes.
#[derive(Debug)]
pub struct OutputDir {
    pub path: PathBuf,
    /// The marker, open and locked for as long as this value lives.
    lock: File,
    listed: BTreeSet<String>,
}

impl OutputDir {
    /// Opens (creating it and its parents when missing) `dir` for writing
    /// `files` (paths relative to `dir`): each of them must be absent, or
    /// listed in the marker, or `force`; none may be one of `inputs`.
    pub fn open(dir: &Path, files: &[&str], inputs: &[&Path], force: bool) -> Result<OutputDir, FsError> {
        create_dirs(dir)?;
        let out = OutputDir::lock(dir)?;
        for f in files {
            let path = dir.join(f);
            if inputs.iter().any(|i| same_file(i, &path)) {
                return Err(FsError::OverwritesInput { path });
            }
            if path.exists() && !force && !out.listed.contains(*f) {
                return Err(FsError::NotOurs { path });
            }
        }
        Ok(out)
    }

    /// Creates a new directory `dir` (its parents when missing), failing
    /// with `AlreadyExists` when it exists: the atomic way to claim a name.
    pub fn create_new(dir: &Path) -> Result<Result<OutputDir, FsError>, std::io::Error> {
        if let Err(e) = create_dirs(parent_of(dir)) {
            return Ok(Err(e));
        }
        std::fs::create_dir(dir)?;
        Ok(OutputDir::lock(dir))
    }

    fn lock(dir: &Path) -> Result<OutputDir, FsError> {
        let marker = dir.join(MARKER);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&marker)
            .map_err(|e| write_error(&marker, &e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(FsError::Locked { path: dir.to_path_buf() }),
            Err(std::fs::TryLockError::Error(e)) => return Err(write_error(&marker, &e)),
        }
        let mut text = String::new();
        (&lock).read_to_string(&mut text).map_err(|e| write_error(&marker, &e))?;
        let listed = text.lines().skip(1).map(str::to_string).collect();
        Ok(OutputDir { path: dir.to_path_buf(), lock, listed })
    }

    /// Whether the marker lists `file` (snnc wrote it here before).
    pub fn wrote(&self, file: &str) -> bool {
        self.listed.contains(file)
    }

    /// Writes `file` (relative to the directory) atomically and lists it in
    /// the marker.
    pub fn write(&mut self, file: &str, bytes: &[u8]) -> Result<(), FsError> {
        if self.listed.insert(file.to_string()) {
            self.save_marker()?;
        }
        write_atomic(&self.path.join(file), bytes)
    }

    fn save_marker(&mut self) -> Result<(), FsError> {
        let marker = self.path.join(MARKER);
        let io = |e: std::io::Error| write_error(&marker, &e);
        let mut text = String::from("# written by snnc: the files of this directory that snnc wrote\n");
        for f in &self.listed {
            text += f;
            text.push('\n');
        }
        // The marker is the lock: rewrite it in place, then sync.
        self.lock.set_len(0).map_err(io)?;
        use std::io::Seek;
        self.lock.seek(std::io::SeekFrom::Start(0)).map_err(io)?;
        self.lock.write_all(text.as_bytes()).map_err(io)?;
        self.lock.sync_all().map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_inputs_and_foreign_files_and_accepts_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("spec.snn");
        std::fs::write(&input, "network n {}").unwrap();
        let err = write_output_file(&input, &[&input], true, b"x").unwrap_err();
        assert!(matches!(err, FsError::OverwritesInput { .. }), "{err}");
        assert_eq!(std::fs::read_to_string(&input).unwrap(), "network n {}");

        let foreign = dir.path().join("report.yaml");
        std::fs::write(&foreign, "mine: true\n").unwrap();
        let err = write_output_file(&foreign, &[&input], false, b"# written by snnc\n").unwrap_err();
        assert!(matches!(err, FsError::NotOurs { .. }), "{err}");
        write_output_file(&foreign, &[&input], true, b"# written by snnc\na: 1\n").unwrap();
        // Now it is snnc's: replacing it needs no force.
        write_output_file(&foreign, &[&input], false, b"# written by snnc\na: 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&foreign).unwrap(), "# written by snnc\na: 2\n");
    }

    #[test]
    fn writes_create_parents_and_leave_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c.txt");
        write_atomic(&path, b"hello").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
        let names: Vec<_> =
            std::fs::read_dir(dir.path().join("a/b")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("c.txt")]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_ne!(mode, 0o600, "created like any other program's output, not private");
            assert_eq!(mode & 0o044, 0o044 & !current_umask(), "readable as the umask allows");
        }
    }

    #[cfg(unix)]
    fn current_umask() -> u32 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("Umask:"))
            .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            .unwrap_or(0o022)
    }

    #[test]
    fn a_directory_lists_what_it_wrote_and_refuses_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let out_path = dir.path().join("fw");
        std::fs::create_dir(&out_path).unwrap();
        std::fs::write(out_path.join("Makefile"), "all:\n\techo mine\n").unwrap();
        let err = OutputDir::open(&out_path, &["Makefile", "a.c"], &[], false).unwrap_err();
        assert!(matches!(err, FsError::NotOurs { .. }), "{err}");
        let mut out = OutputDir::open(&out_path, &["Makefile", "a.c"], &[], true).unwrap();
        out.write("Makefile", b"# written by snnc\n").unwrap();
        out.write("a.c", b"/* written by snnc */\n").unwrap();
        drop(out);
        // Its own files are replaced without --force.
        let out = OutputDir::open(&out_path, &["Makefile", "a.c"], &[], false).unwrap();
        assert!(out.wrote("Makefile") && out.wrote("a.c"));
    }

    #[test]
    fn a_locked_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = OutputDir::open(dir.path(), &[], &[], false).unwrap();
        let err = OutputDir::open(dir.path(), &[], &[], false).unwrap_err();
        assert!(matches!(err, FsError::Locked { .. }), "{err}");
        drop(first);
        OutputDir::open(dir.path(), &[], &[], false).unwrap();
    }

    #[test]
    fn create_new_claims_a_name_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs/x");
        let first = OutputDir::create_new(&path).unwrap().unwrap();
        let again = OutputDir::create_new(&path).unwrap_err();
        assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
        drop(first);
    }
}
