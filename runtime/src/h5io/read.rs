//! The read side: a file's groups and datasets by path, each dataset as a
//! [`Value`].

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use rust_hdf5::format::superblock::{SuperblockV0V1, SuperblockV2V3};
use rust_hdf5::{ByteOrder, DatatypeMessage, H5Dataset, H5File, H5Group};

use super::H5Error;

/// A dataset's contents. Numbers are exact: integers as `i64`, floats of any
/// width as `f64`; `shape` is the dataset's shape (`[]` for a scalar) and `data`
/// is row-major. Variable-length arrays are one-dimensional datasets of rows.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Floats { shape: Vec<usize>, data: Vec<f64> },
    Ints { shape: Vec<usize>, data: Vec<i64> },
    Strings { shape: Vec<usize>, data: Vec<String> },
    VlenFloats(Vec<Vec<f64>>),
    VlenInts(Vec<Vec<i64>>),
}

impl Value {
    /// The shape; for variable-length arrays `[rows]`.
    pub fn shape(&self) -> Vec<usize> {
        match self {
            Value::Floats { shape, .. } | Value::Ints { shape, .. } | Value::Strings { shape, .. } => shape.clone(),
            Value::VlenFloats(rows) => vec![rows.len()],
            Value::VlenInts(rows) => vec![rows.len()],
        }
    }

    /// What kind of value this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Floats { .. } => "a float array",
            Value::Ints { .. } => "an integer array",
            Value::Strings { .. } => "a string array",
            Value::VlenFloats(_) => "variable-length float arrays",
            Value::VlenInts(_) => "variable-length integer arrays",
        }
    }
}

/// An HDF5 file opened for reading, with the paths of all its groups and
/// datasets. Paths are relative to the root, `/`-separated, without a leading
/// `/` (one is accepted); the root is `""`.
pub struct H5Reader {
    file: PathBuf,
    len: u64,
    inner: H5File,
    groups: BTreeSet<String>,
    datasets: BTreeSet<String>,
}

/// Chunked datasets may be compressed: deflate expands at most 1032-fold.
const CHUNKED_EXPANSION: u64 = 1100;
/// Nesting depth and object count bounds of the group walk (a corrupted file
/// can link a group into itself).
const MAX_DEPTH: usize = 64;
const MAX_OBJECTS: usize = 1 << 20;

const SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

impl H5Reader {
    pub fn open(path: &Path) -> Result<H5Reader, H5Error> {
        let file = path.to_path_buf();
        let len = std::fs::metadata(path)
            .map_err(|e| H5Error::MissingFile { file: file.clone(), reason: e.to_string() })?
            .len();
        if path.is_dir() {
            return Err(H5Error::MissingFile { file, reason: "it is a folder".into() });
        }
        let Some(declared) = superblock_end(path) else {
            return Err(H5Error::NotHdf5 { file });
        };
        let corrupt = |reason: String| H5Error::Corrupt { file: file.clone(), path: "/".into(), reason };
        // libhdf5 refuses a file shorter than its superblock says ("truncated
        // file"); the crate would read the missing tail as nothing.
        if let Some(end) = declared
            && end > len
        {
            return Err(corrupt(format!("truncated: the superblock says {end} bytes, the file has {len}")));
        }
        let inner = H5File::open(path).map_err(|e| corrupt(e.to_string()))?;
        let datasets: BTreeSet<String> = inner.dataset_names().iter().map(|p| normalize(p).to_string()).collect();
        let mut groups = BTreeSet::from([String::new()]);
        walk_groups(&inner.root_group(), "", 0, &mut groups).map_err(corrupt)?;
        Ok(H5Reader { file, len, inner, groups, datasets })
    }

    /// The file's path, as given to [`H5Reader::open`].
    pub fn file(&self) -> &Path {
        &self.file
    }

    pub fn is_group(&self, path: &str) -> bool {
        self.groups.contains(normalize(path))
    }

    pub fn is_dataset(&self, path: &str) -> bool {
        self.datasets.contains(normalize(path))
    }

    /// The names of a group's members (groups and datasets), sorted.
    pub fn children(&self, path: &str) -> Result<Vec<String>, H5Error> {
        let path = normalize(path);
        if !self.groups.contains(path) {
            return Err(H5Error::MissingGroup { file: self.file.clone(), path: path.into() });
        }
        let prefix = if path.is_empty() { String::new() } else { format!("{path}/") };
        let mut names: BTreeSet<String> = BTreeSet::new();
        for p in self.groups.iter().chain(&self.datasets) {
            if let Some(rest) = p.strip_prefix(&prefix)
                && !rest.is_empty()
                && !rest.contains('/')
            {
                names.insert(rest.to_string());
            }
        }
        Ok(names.into_iter().collect())
    }

    /// The paths (relative to `path`) of every dataset below a group, sorted.
    pub fn datasets_under(&self, path: &str) -> Result<Vec<String>, H5Error> {
        let path = normalize(path);
        if !self.groups.contains(path) {
            return Err(H5Error::MissingGroup { file: self.file.clone(), path: path.into() });
        }
        let prefix = if path.is_empty() { String::new() } else { format!("{path}/") };
        Ok(self.datasets.iter().filter_map(|p| p.strip_prefix(&prefix)).map(str::to_string).collect())
    }

    /// A dataset's shape (`[]` for a scalar).
    pub fn shape(&self, path: &str) -> Result<Vec<usize>, H5Error> {
        Ok(self.dataset(path)?.shape())
    }

    /// A dataset's element type in words (`uint16`, `variable-length float16
    /// arrays`, `string (UTF-8, variable length)`), for messages.
    pub fn dtype(&self, path: &str) -> Result<String, H5Error> {
        let ds = self.dataset(path)?;
        let dt = ds.datatype().map_err(|e| self.corrupt(path, e))?;
        Ok(describe(&dt))
    }

    /// A dataset's contents.
    pub fn read(&self, path: &str) -> Result<Value, H5Error> {
        let path = normalize(path);
        let ds = self.dataset(path)?;
        let dt = ds.datatype().map_err(|e| self.corrupt(path, e))?;
        let shape = ds.shape();
        let count = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        let Some(count) = count else {
            return Err(self.too_large(path, u128::MAX));
        };
        match &dt {
            DatatypeMessage::FloatingPoint { .. } | DatatypeMessage::FixedPoint { .. } => {
                let num = number_format(&dt).ok_or_else(|| self.wrong_type(path, "a number", &dt))?;
                self.check_size(path, &ds, count, num.size)?;
                let raw = ds.read_raw_bytes().map_err(|e| self.corrupt(path, e))?;
                if raw.len() != count * num.size {
                    return Err(self.short_read(path, raw.len(), count * num.size));
                }
                match num.kind {
                    NumberKind::Float => Ok(Value::Floats { shape, data: decode_floats(&raw, num) }),
                    NumberKind::Int { .. } => {
                        Ok(Value::Ints { shape, data: decode_ints(&raw, num).map_err(|v| self.out_of_range(path, v))? })
                    }
                }
            }
            DatatypeMessage::FixedString { size, padding, .. } => {
                let size = *size as usize;
                self.check_size(path, &ds, count, size)?;
                let raw = ds.read_raw_bytes().map_err(|e| self.corrupt(path, e))?;
                if raw.len() != count * size {
                    return Err(self.short_read(path, raw.len(), count * size));
                }
                let data = if size == 0 {
                    vec![String::new(); count]
                } else {
                    raw.chunks_exact(size)
                        .map(|s| utf8(unpad(s, *padding)).ok_or_else(|| self.not_utf8(path, &dt)))
                        .collect::<Result<_, _>>()?
                };
                Ok(Value::Strings { shape, data })
            }
            DatatypeMessage::VarLenString { padding, .. } => {
                let rows = self.vlen_rows(path, &ds, count)?;
                let data = rows
                    .iter()
                    .map(|s| utf8(if *padding == 0 { unpad(s, 0) } else { s }).ok_or_else(|| self.not_utf8(path, &dt)))
                    .collect::<Result<_, _>>()?;
                Ok(Value::Strings { shape, data })
            }
            DatatypeMessage::VarLenSequence { base } => {
                if shape.len() != 1 {
                    return Err(self.wrong_type(path, "a one-dimensional dataset of variable-length arrays", &dt));
                }
                let num =
                    number_format(base).ok_or_else(|| self.wrong_type(path, "variable-length number arrays", &dt))?;
                let rows = self.vlen_rows(path, &ds, count)?;
                if let Some(row) = rows.iter().find(|r| r.len() % num.size != 0) {
                    let reason =
                        format!("a row of {} bytes is not a whole number of {}-byte elements", row.len(), num.size);
                    return Err(H5Error::Corrupt { file: self.file.clone(), path: path.into(), reason });
                }
                match num.kind {
                    NumberKind::Float => Ok(Value::VlenFloats(rows.iter().map(|r| decode_floats(r, num)).collect())),
                    NumberKind::Int { .. } => Ok(Value::VlenInts(
                        rows.iter()
                            .map(|r| decode_ints(r, num))
                            .collect::<Result<_, _>>()
                            .map_err(|v| self.out_of_range(path, v))?,
                    )),
                }
            }
            _ => Err(self.wrong_type(path, "numbers, strings or variable-length number arrays", &dt)),
        }
    }

    fn dataset(&self, path: &str) -> Result<H5Dataset, H5Error> {
        let path = normalize(path);
        if !self.datasets.contains(path) {
            return Err(if self.groups.contains(path) {
                H5Error::NotADataset { file: self.file.clone(), path: path.into() }
            } else {
                H5Error::MissingDataset { file: self.file.clone(), path: path.into() }
            });
        }
        self.inner.dataset(path).map_err(|e| self.corrupt(path, e))
    }

    /// The rows of a variable-length dataset (strings or sequences).
    fn vlen_rows(&self, path: &str, ds: &H5Dataset, count: usize) -> Result<Vec<Vec<u8>>, H5Error> {
        // A variable-length element is stored as a 16-byte heap reference.
        self.check_size(path, ds, count, 16)?;
        let rows = ds.read_vlen_bytes().map_err(|e| self.corrupt(path, e))?;
        if rows.len() != count {
            let reason = format!("{} variable-length elements where the shape declares {count}", rows.len());
            return Err(H5Error::Corrupt { file: self.file.clone(), path: path.into(), reason });
        }
        Ok(rows)
    }

    /// Refuses a dataset whose declared size (or chunk size) the file cannot
    /// hold, before the crate allocates it.
    fn check_size(&self, path: &str, ds: &H5Dataset, count: usize, elem: usize) -> Result<(), H5Error> {
        let limit = u128::from(self.len) * u128::from(CHUNKED_EXPANSION) + (1 << 20);
        let bytes = count as u128 * elem as u128;
        if bytes > limit {
            return Err(self.too_large(path, bytes));
        }
        if let Some(chunk) = ds.chunk_dims() {
            let chunk_bytes = chunk.iter().fold(elem as u128, |a, &d| a.saturating_mul(d as u128));
            if chunk_bytes > limit {
                return Err(self.too_large(path, chunk_bytes));
            }
        }
        Ok(())
    }

    fn corrupt(&self, path: &str, e: rust_hdf5::Hdf5Error) -> H5Error {
        H5Error::Corrupt { file: self.file.clone(), path: normalize(path).into(), reason: e.to_string() }
    }

    fn short_read(&self, path: &str, got: usize, want: usize) -> H5Error {
        let reason = format!("read {got} bytes where the shape and type declare {want}");
        H5Error::Corrupt { file: self.file.clone(), path: path.into(), reason }
    }

    fn too_large(&self, path: &str, bytes: u128) -> H5Error {
        H5Error::TooLarge { file: self.file.clone(), path: path.into(), bytes, file_len: self.len }
    }

    fn wrong_type(&self, path: &str, expected: &str, dt: &DatatypeMessage) -> H5Error {
        H5Error::WrongType {
            file: self.file.clone(),
            path: path.into(),
            expected: expected.into(),
            found: describe(dt),
        }
    }

    fn not_utf8(&self, path: &str, dt: &DatatypeMessage) -> H5Error {
        H5Error::WrongType {
            file: self.file.clone(),
            path: path.into(),
            expected: "UTF-8 text".into(),
            found: format!("{} holding bytes that are not UTF-8", describe(dt)),
        }
    }

    fn out_of_range(&self, path: &str, value: u64) -> H5Error {
        H5Error::WrongType {
            file: self.file.clone(),
            path: path.into(),
            expected: "integers within the range of i64".into(),
            found: format!("uint64 holding {value}"),
        }
    }
}

fn normalize(path: &str) -> &str {
    path.trim_matches('/')
}

/// Whether the HDF5 signature is at offset 0, 512, 1024, 2048, ... (a user
/// block shifts it), looked for in the first MiB.
/// None without an HDF5 signature (at 0, 512, 1024, ...); else the file
/// length the superblock there declares (its end-of-file address), when it
/// decodes.
fn superblock_end(path: &Path) -> Option<Option<u64>> {
    let mut head = Vec::new();
    let f = std::fs::File::open(path).ok()?;
    f.take(1 << 20).read_to_end(&mut head).ok()?;
    let mut at = 0usize;
    while at + SIGNATURE.len() <= head.len() {
        if &head[at..at + SIGNATURE.len()] == SIGNATURE {
            let sb = &head[at..];
            let end = match sb.get(SIGNATURE.len()) {
                Some(0 | 1) => SuperblockV0V1::decode(sb).ok().map(|s| s.end_of_file_address),
                Some(2 | 3) => SuperblockV2V3::decode(sb).ok().map(|s| s.end_of_file_address),
                _ => None,
            };
            return Some(end.filter(|&e| e != u64::MAX));
        }
        at = if at == 0 { 512 } else { at * 2 };
    }
    None
}

fn walk_groups(group: &H5Group, path: &str, depth: usize, out: &mut BTreeSet<String>) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("groups nested deeper than {MAX_DEPTH} at `{path}`"));
    }
    for name in group.group_names().map_err(|e| e.to_string())? {
        let child = if path.is_empty() { name.clone() } else { format!("{path}/{name}") };
        if out.len() >= MAX_OBJECTS {
            return Err(format!("more than {MAX_OBJECTS} groups"));
        }
        if out.insert(child.clone()) {
            let sub = group.group(&name).map_err(|e| e.to_string())?;
            walk_groups(&sub, &child, depth + 1, out)?;
        }
    }
    Ok(())
}

#[derive(Clone, Copy, Debug)]
enum NumberKind {
    Float,
    Int { signed: bool },
}

#[derive(Clone, Copy, Debug)]
struct NumberFormat {
    kind: NumberKind,
    size: usize,
    big_endian: bool,
}

/// The numbers this module decodes: two's-complement integers of 1, 2, 4 or 8
/// bytes, and IEEE binary16/32/64 floats, either byte order.
fn number_format(dt: &DatatypeMessage) -> Option<NumberFormat> {
    match *dt {
        DatatypeMessage::FixedPoint { size, byte_order, signed, bit_offset, bit_precision } => {
            let ok = matches!(size, 1 | 2 | 4 | 8) && bit_offset == 0 && u32::from(bit_precision) == size * 8;
            ok.then_some(NumberFormat {
                kind: NumberKind::Int { signed },
                size: size as usize,
                big_endian: byte_order == ByteOrder::BigEndian,
            })
        }
        DatatypeMessage::FloatingPoint {
            size,
            byte_order,
            sign_location,
            bit_offset,
            bit_precision,
            exponent_location,
            exponent_size,
            mantissa_location,
            mantissa_size,
            exponent_bias,
        } => {
            let (e, m, bias) = match size {
                2 => (5, 10, 15),
                4 => (8, 23, 127),
                8 => (11, 52, 1023),
                _ => return None,
            };
            let ieee = bit_offset == 0
                && u32::from(bit_precision) == size * 8
                && u32::from(sign_location) == size * 8 - 1
                && exponent_size == e
                && mantissa_size == m
                && mantissa_location == 0
                && exponent_location == m
                && exponent_bias == bias;
            ieee.then_some(NumberFormat {
                kind: NumberKind::Float,
                size: size as usize,
                big_endian: byte_order == ByteOrder::BigEndian,
            })
        }
        _ => None,
    }
}

/// The element's bytes as a little-endian u64 (zero-extended).
fn element_bits(bytes: &[u8], big_endian: bool) -> u64 {
    let mut buf = [0u8; 8];
    for (i, &b) in bytes.iter().enumerate() {
        let at = if big_endian { bytes.len() - 1 - i } else { i };
        buf[at] = b;
    }
    u64::from_le_bytes(buf)
}

fn decode_floats(raw: &[u8], num: NumberFormat) -> Vec<f64> {
    raw.chunks_exact(num.size)
        .map(|c| {
            let bits = element_bits(c, num.big_endian);
            match num.size {
                2 => f16_to_f64(bits as u16),
                4 => f64::from(f32::from_bits(bits as u32)),
                _ => f64::from_bits(bits),
            }
        })
        .collect()
}

/// Integers as i64; `Err(value)` for an unsigned 64-bit value above i64::MAX.
fn decode_ints(raw: &[u8], num: NumberFormat) -> Result<Vec<i64>, u64> {
    let NumberKind::Int { signed } = num.kind else { unreachable!("decode_ints is called for integer formats only") };
    raw.chunks_exact(num.size)
        .map(|c| {
            let bits = element_bits(c, num.big_endian);
            let width = num.size as u32 * 8;
            if signed {
                // Sign-extend from `width` bits.
                let shift = 64 - width;
                Ok(((bits << shift) as i64) >> shift)
            } else {
                i64::try_from(bits).map_err(|_| bits)
            }
        })
        .collect()
}

/// IEEE binary16 -> f64, exactly (every binary16 value is an f64 value).
pub(super) fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((h >> 10) & 0x1f);
    let mantissa = f64::from(h & 0x3ff);
    match exponent {
        0 => sign * mantissa * 2f64.powi(-24),
        31 if mantissa == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        e => sign * (1024.0 + mantissa) * 2f64.powi(e - 25),
    }
}

/// A fixed-length string's bytes without its padding: padding 0 (null
/// terminated) ends at the first NUL, 1 (null padded) drops trailing NULs, 2
/// (space padded) drops trailing spaces.
fn unpad(s: &[u8], padding: u8) -> &[u8] {
    match padding {
        0 => s.split(|&b| b == 0).next().unwrap_or(s),
        1 => &s[..s.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)],
        _ => &s[..s.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1)],
    }
}

fn utf8(s: &[u8]) -> Option<String> {
    std::str::from_utf8(s).ok().map(str::to_string)
}

/// A datatype in words, for messages.
pub(super) fn describe(dt: &DatatypeMessage) -> String {
    match dt {
        DatatypeMessage::FixedPoint { size, signed, .. } => {
            format!("{}int{}", if *signed { "" } else { "u" }, size * 8)
        }
        DatatypeMessage::FloatingPoint { size, .. } => format!("float{}", size * 8),
        DatatypeMessage::FixedString { size, charset, .. } => {
            format!("string ({}, {size} bytes)", if *charset == 1 { "UTF-8" } else { "ASCII" })
        }
        DatatypeMessage::VarLenString { charset, .. } => {
            format!("string ({}, variable length)", if *charset == 1 { "UTF-8" } else { "ASCII" })
        }
        DatatypeMessage::VarLenSequence { base } => format!("variable-length {} arrays", describe(base)),
        DatatypeMessage::Compound { .. } => "a compound type".into(),
        DatatypeMessage::Enum { base, .. } => format!("an enum of {}", describe(base)),
        DatatypeMessage::Array { base, .. } => format!("an array type of {}", describe(base)),
        DatatypeMessage::Reference { .. } => "a reference".into(),
        DatatypeMessage::Opaque { .. } => "an opaque type".into(),
        DatatypeMessage::BitField { .. } => "a bit field".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_decodes_exactly() {
        assert_eq!(f16_to_f64(0x3c00), 1.0);
        assert_eq!(f16_to_f64(0xc000), -2.0);
        assert_eq!(f16_to_f64(0x0001), 2f64.powi(-24));
        assert_eq!(f16_to_f64(0x03ff), 1023.0 * 2f64.powi(-24));
        assert_eq!(f16_to_f64(0x7bff), 65504.0);
        assert_eq!(f16_to_f64(0x3555), 0.333251953125);
        assert_eq!(f16_to_f64(0x7c00), f64::INFINITY);
        assert!(f16_to_f64(0x7e00).is_nan());
        assert_eq!(f16_to_f64(0x8000).to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn unpadding_follows_the_padding_kind() {
        assert_eq!(unpad(b"ab\0c\0", 0), b"ab");
        assert_eq!(unpad(b"ab\0c\0\0", 1), b"ab\0c");
        assert_eq!(unpad(b"ab  ", 2), b"ab");
        assert_eq!(unpad(b"\0\0", 1), b"");
    }

    #[test]
    fn integers_sign_extend_and_refuse_huge_unsigned() {
        let i16be = NumberFormat { kind: NumberKind::Int { signed: true }, size: 2, big_endian: true };
        assert_eq!(decode_ints(&[0xff, 0xfe, 0x00, 0x05], i16be), Ok(vec![-2, 5]));
        let u64le = NumberFormat { kind: NumberKind::Int { signed: false }, size: 8, big_endian: false };
        assert_eq!(decode_ints(&[0xff; 8], u64le), Err(u64::MAX));
    }
}
