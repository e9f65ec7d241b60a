//! The bytes of an HDF5 file, laid out the way h5py (libhdf5 with its default
//! "earliest" format bounds) lays them out: superblock version 0, version-1
//! object headers, symbol-table groups (local heap, v1 B-tree, symbol table
//! nodes), contiguous or v1-B-tree-chunked gzip datasets, and variable-length
//! UTF-8 strings in global heap collections, of any shape (scalar, `[N, 2]`).
//!
//! The `rust-hdf5` crate writes variable-length strings only as
//! one-dimensional datasets, so this module assembles the file itself from the
//! crate's public encoders of each on-disk structure (`rust_hdf5::format`);
//! it only decides where each one goes. Input: a tree of groups and datasets
//! ([`Tree`]). Output: the file's bytes, or the reason they cannot be made.
//!
//! Invariants:
//! - Objects are appended in one pass, children before their group (a group's
//!   entries name their children's header addresses), the global heap
//!   collections first (datasets name their strings' addresses) and the
//!   superblock last, over the space reserved for it at offset 0.
//! - Every structure is 8-byte aligned; nothing is written twice.
//! - Group members are sorted by name as bytes (libhdf5's `strcmp`), which is
//!   the order of a `BTreeMap<String, _>`.

use std::collections::BTreeMap;

use rust_hdf5::format::btree_v1::{BTreeV1Config, BTreeV1Node, ChunkBTreeV1Tree, ChunkKey};
use rust_hdf5::format::global_heap::{GlobalHeapCollection, encode_vlen_reference, vlen_seq_len};
use rust_hdf5::format::local_heap::{LOCAL_HEAP_FREE_NULL, LocalHeapHeader, LocalHeapImage};
use rust_hdf5::format::messages::data_layout::DataLayoutMessage;
use rust_hdf5::format::messages::dataspace::DataspaceMessage;
use rust_hdf5::format::messages::fill_value::{ALLOC_TIME_INCR, ALLOC_TIME_LATE, FILL_TIME_IFSET, FillValueMessage};
use rust_hdf5::format::messages::filter::{FilterPipeline, apply_filters};
use rust_hdf5::format::messages::{
    MSG_DATA_LAYOUT, MSG_DATASPACE, MSG_DATATYPE, MSG_FILL_VALUE, MSG_FILTER_PIPELINE, MSG_FLAG_CONSTANT,
    MSG_SYMBOL_TABLE,
};
use rust_hdf5::format::object_header::ObjectHeader;
use rust_hdf5::format::superblock::{SuperblockV0V1, SymbolTableCache, SymbolTableEntry};
use rust_hdf5::format::symbol_table::SymbolTableNode;
use rust_hdf5::format::{FormatContext, ObjectFormat, UNDEF_ADDR};
use rust_hdf5::{DatatypeMessage, LibverBound};

/// A dataset's elements.
#[derive(Clone, Debug)]
pub enum Data {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
    Strings(Vec<String>),
}

impl Data {
    pub fn len(&self) -> usize {
        match self {
            Data::F32(d) => d.len(),
            Data::F64(d) => d.len(),
            Data::I64(d) => d.len(),
            Data::Strings(d) => d.len(),
        }
    }

    fn element_size(&self) -> usize {
        match self {
            Data::F32(_) => 4,
            Data::F64(_) | Data::I64(_) => 8,
            Data::Strings(_) => VLEN_REF_SIZE,
        }
    }

    fn datatype(&self) -> DatatypeMessage {
        match self {
            Data::F32(_) => DatatypeMessage::f32_type(),
            Data::F64(_) => DatatypeMessage::f64_type(),
            Data::I64(_) => DatatypeMessage::i64_type(),
            Data::Strings(_) => DatatypeMessage::vlen_string_utf8(),
        }
    }

    /// The elements as little-endian bytes (numbers only).
    fn bytes(&self) -> Vec<u8> {
        match self {
            Data::F32(d) => d.iter().flat_map(|v| v.to_le_bytes()).collect(),
            Data::F64(d) => d.iter().flat_map(|v| v.to_le_bytes()).collect(),
            Data::I64(d) => d.iter().flat_map(|v| v.to_le_bytes()).collect(),
            Data::Strings(_) => Vec::new(),
        }
    }
}

/// A group: its members by name.
#[derive(Clone, Debug, Default)]
pub struct Tree {
    pub members: BTreeMap<String, Member>,
}

#[derive(Clone, Debug)]
pub enum Member {
    Group(Tree),
    /// `shape` `[]` is a scalar; `compress` asks for gzip in chunks of whole
    /// rows (ignored for scalars, empty datasets and strings).
    Dataset {
        shape: Vec<usize>,
        data: Data,
        compress: bool,
    },
}

/// gzip level of compressed datasets (h5py's default).
const GZIP_LEVEL: u32 = 4;
/// Chunks of compressed datasets hold at most this many bytes (whole rows).
const CHUNK_BYTES: usize = 1 << 20;
/// Offsets and lengths are 8 bytes, as in every file h5py writes.
const CTX: FormatContext = FormatContext { sizeof_addr: 8, sizeof_size: 8 };
/// A variable-length reference: length (4), collection address (8), index (4).
const VLEN_REF_SIZE: usize = 16;
/// A global heap collection is closed once its objects pass this many bytes
/// (libhdf5 grows a collection up to 64 KiB).
const GCOL_FILL: usize = 60 * 1024;
/// Room for the superblock at offset 0 (version 0 with 8-byte offsets: 96).
const SUPERBLOCK_SIZE: usize = 96;

/// Where each string of each string dataset is: (collection, object index),
/// in the order [`visit_strings`] walks them.
struct Heaps {
    collections: Vec<GlobalHeapCollection>,
    addrs: Vec<u64>,
    next: usize,
    places: Vec<(usize, u16)>,
}

struct Out {
    buf: Vec<u8>,
    config: BTreeV1Config,
}

impl Out {
    /// Appends `bytes` at the next 8-byte boundary; returns their address.
    fn put(&mut self, bytes: &[u8]) -> u64 {
        let at = self.buf.len().next_multiple_of(8);
        self.buf.resize(at, 0);
        self.buf.extend_from_slice(bytes);
        at as u64
    }
}

type Res<T> = Result<T, String>;

fn fmt_err(e: rust_hdf5::format::FormatError) -> String {
    e.to_string()
}

/// The bytes of an HDF5 file holding `root`.
pub fn encode(root: &Tree) -> Res<Vec<u8>> {
    // The symbol-table B-tree of every group has one level: up to 32 symbol
    // table nodes of 2K entries each; K grows with the largest group.
    let widest = widest_group(root);
    let sym_leaf_k = u16::try_from(widest.div_ceil(64).max(4))
        .map_err(|_| format!("a group of {widest} members is more than this writer lays out"))?;
    let config = BTreeV1Config { sym_leaf_k, snode_internal_k: 16, chunk_internal_k: 32 };
    let mut out = Out { buf: vec![0; SUPERBLOCK_SIZE], config };

    let mut heaps = Heaps { collections: Vec::new(), addrs: Vec::new(), next: 0, places: Vec::new() };
    let mut size = 0usize;
    let mut strings: Vec<&str> = Vec::new();
    visit_strings(root, &mut strings);
    for s in strings {
        let object = GlobalHeapCollection::object_disk_size(&CTX, s.len());
        let full = heaps.collections.last().is_none_or(|c| size + object > GCOL_FILL || c.max_index() == u16::MAX);
        if full {
            heaps.collections.push(GlobalHeapCollection::new());
            size = 0;
        }
        size += object;
        let c = heaps.collections.len() - 1;
        let index = heaps.collections[c].add_object(s.as_bytes().to_vec()).map_err(fmt_err)?;
        heaps.places.push((c, index));
    }
    for c in &heaps.collections {
        let addr = out.put(&c.encode(&CTX));
        heaps.addrs.push(addr);
    }

    let (root_addr, btree, heap) = write_group(&mut out, &mut heaps, root)?;
    let end = out.buf.len().next_multiple_of(8);
    out.buf.resize(end, 0);
    let superblock = SuperblockV0V1 {
        version: 0,
        sizeof_offsets: 8,
        sizeof_lengths: 8,
        file_consistency_flags: 0,
        sym_leaf_k: config.sym_leaf_k,
        btree_internal_k: config.snode_internal_k,
        indexed_storage_k: None,
        base_address: 0,
        superblock_extension_address: UNDEF_ADDR,
        end_of_file_address: end as u64,
        driver_info_address: UNDEF_ADDR,
        root_symbol_table_entry: SymbolTableEntry {
            name_offset: 0,
            obj_header_addr: root_addr,
            cache: SymbolTableCache::SymbolTable { btree_addr: btree, heap_addr: heap },
        },
    }
    .encode();
    if superblock.len() > SUPERBLOCK_SIZE {
        return Err(format!("the superblock takes {} bytes, {SUPERBLOCK_SIZE} were reserved", superblock.len()));
    }
    out.buf[..superblock.len()].copy_from_slice(&superblock);
    Ok(out.buf)
}

fn widest_group(tree: &Tree) -> usize {
    tree.members
        .values()
        .map(|m| match m {
            Member::Group(g) => widest_group(g),
            Member::Dataset { .. } => 0,
        })
        .fold(tree.members.len(), usize::max)
}

/// Every string of every string dataset, in the order [`write_group`] writes
/// the datasets.
fn visit_strings<'a>(tree: &'a Tree, out: &mut Vec<&'a str>) {
    for m in tree.members.values() {
        match m {
            Member::Group(g) => visit_strings(g, out),
            Member::Dataset { data: Data::Strings(v), .. } => out.extend(v.iter().map(String::as_str)),
            Member::Dataset { .. } => {}
        }
    }
}

/// Writes a group's members, then its local heap, symbol table nodes,
/// B-tree and header. Returns (header, B-tree, heap) addresses.
fn write_group(out: &mut Out, heaps: &mut Heaps, tree: &Tree) -> Res<(u64, u64, u64)> {
    let mut names = LocalHeapImage::with_empty_string();
    let mut entries: Vec<(u64, SymbolTableEntry)> = Vec::new();
    for (name, member) in &tree.members {
        let name_offset = names.insert_str(name);
        let entry = match member {
            Member::Group(g) => {
                let (addr, btree, heap) = write_group(out, heaps, g)?;
                SymbolTableEntry {
                    name_offset,
                    obj_header_addr: addr,
                    cache: SymbolTableCache::SymbolTable { btree_addr: btree, heap_addr: heap },
                }
            }
            Member::Dataset { shape, data, compress } => SymbolTableEntry {
                name_offset,
                obj_header_addr: write_dataset(out, heaps, shape, data, *compress)?,
                cache: SymbolTableCache::Nothing,
            },
        };
        entries.push((name_offset, entry));
    }

    let data = names.as_bytes().to_vec();
    let data_addr = out.put(&data);
    let header = LocalHeapHeader { data_size: data.len() as u64, free_list_offset: LOCAL_HEAP_FREE_NULL, data_addr };
    let heap = out.put(&header.encode(8, 8));

    // Leaves of at most 2K entries, spread evenly, under one B-tree node.
    let per = (2 * out.config.sym_leaf_k as usize).max(1);
    let leaves = entries.len().div_ceil(per).max(1);
    let mut keys = vec![0u64];
    let mut children = Vec::new();
    let snode_size = out.config.symbol_table_node_size(8, 8);
    let mut rest = entries.as_slice();
    for i in 0..leaves {
        let take = rest.len().div_ceil(leaves - i);
        let (these, after) = rest.split_at(take);
        rest = after;
        let node = SymbolTableNode { entries: these.iter().map(|(_, e)| e.clone()).collect() };
        children.push(out.put(&node.encode(snode_size, 8, 8).map_err(fmt_err)?));
        keys.push(these.last().map_or(0, |(offset, _)| *offset));
    }
    if children.len() > 2 * out.config.snode_internal_k as usize {
        return Err(format!("a group of {} members needs more than one B-tree node", entries.len()));
    }
    let node = BTreeV1Node {
        node_type: 0,
        level: 0,
        entries_used: children.len() as u16,
        left_sibling: UNDEF_ADDR,
        right_sibling: UNDEF_ADDR,
        keys,
        children,
    };
    let btree = out.put(&node.encode(out.config.snode_btree_node_size(8, 8), 8, 8).map_err(fmt_err)?);

    let mut stab = Vec::with_capacity(16);
    stab.extend_from_slice(&btree.to_le_bytes());
    stab.extend_from_slice(&heap.to_le_bytes());
    let mut oh = ObjectHeader::new();
    oh.add_message(MSG_SYMBOL_TABLE, 0, stab);
    let addr = out.put(&oh.encode_v1(1).map_err(fmt_err)?);
    Ok((addr, btree, heap))
}

/// Writes a dataset's data, then its header; returns the header's address.
fn write_dataset(out: &mut Out, heaps: &mut Heaps, shape: &[usize], data: &Data, compress: bool) -> Res<u64> {
    let count = data.len();
    let elem = data.element_size();
    let dims: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let space = if shape.is_empty() { DataspaceMessage::scalar() } else { DataspaceMessage::simple(&dims) };
    let chunked = compress && !shape.is_empty() && count > 0 && !matches!(data, Data::Strings(_));

    let mut oh = ObjectHeader::new();
    oh.add_message(MSG_DATASPACE, 0, space.encode_for(&CTX, ObjectFormat::Legacy));
    oh.add_message(MSG_DATATYPE, MSG_FLAG_CONSTANT, data.datatype().encode_at(&CTX, LibverBound::Earliest));
    let fill = FillValueMessage {
        alloc_time: if chunked { ALLOC_TIME_INCR } else { ALLOC_TIME_LATE },
        fill_write_time: FILL_TIME_IFSET,
        fill_defined: 1,
        fill_value: None,
    };
    oh.add_message(MSG_FILL_VALUE, MSG_FLAG_CONSTANT, fill.encode_for(ObjectFormat::Legacy));

    if chunked {
        let pipeline = FilterPipeline::deflate(GZIP_LEVEL);
        let raw = data.bytes();
        // Chunks of whole rows (along the first axis), at most CHUNK_BYTES each;
        // the last one padded to a whole chunk, as libhdf5 stores it.
        let row = shape[1..].iter().product::<usize>() * elem;
        let rows = (CHUNK_BYTES / row.max(1)).clamp(1, shape[0]);
        let mut chunk_dims: Vec<u64> = dims.clone();
        chunk_dims[0] = rows as u64;
        chunk_dims.push(elem as u64);
        let chunk_bytes = rows * row;
        let mut entries = Vec::new();
        let mut last = 0u64;
        for (i, part) in raw.chunks(chunk_bytes).enumerate() {
            let mut full = part.to_vec();
            full.resize(chunk_bytes, 0);
            let packed = apply_filters(&pipeline, &full).map_err(fmt_err)?;
            let size = u32::try_from(packed.len()).map_err(|_| "a compressed chunk over 4 GiB".to_string())?;
            let addr = out.put(&packed);
            let mut scaled = vec![0u64; shape.len()];
            scaled[0] = i as u64;
            last = i as u64;
            entries.push((ChunkKey::for_chunk(&scaled, &chunk_dims, size, 0), addr));
        }
        let mut scaled = vec![0u64; shape.len()];
        scaled[0] = last;
        let tree = ChunkBTreeV1Tree::build(&entries, ChunkKey::right_bound(&scaled, &chunk_dims), &out.config, 8);
        let mut addrs = Vec::new();
        for _ in 0..tree.node_count() {
            addrs.push(out.put(&vec![0; tree.node_size()]));
        }
        for (addr, image) in addrs.iter().zip(tree.encode(&addrs).map_err(fmt_err)?) {
            let at = *addr as usize;
            out.buf[at..at + image.len()].copy_from_slice(&image);
        }
        let layout = DataLayoutMessage::chunked_v3_btree_v1(chunk_dims, tree.root_address(&addrs));
        oh.add_message(MSG_DATA_LAYOUT, 0, layout.encode(&CTX));
        oh.add_message(MSG_FILTER_PIPELINE, 0, pipeline.encode_v1());
    } else {
        let raw = match data {
            Data::Strings(values) => {
                let mut raw = Vec::with_capacity(values.len() * VLEN_REF_SIZE);
                for s in values {
                    let (c, index) = heaps.places[heaps.next];
                    heaps.next += 1;
                    let len = vlen_seq_len(s.len()).map_err(fmt_err)?;
                    raw.extend_from_slice(&encode_vlen_reference(len, heaps.addrs[c], index as u32, &CTX));
                }
                raw
            }
            _ => data.bytes(),
        };
        let addr = if raw.is_empty() { UNDEF_ADDR } else { out.put(&raw) };
        oh.add_message(MSG_DATA_LAYOUT, 0, DataLayoutMessage::contiguous(addr, raw.len() as u64).encode(&CTX));
    }
    Ok(out.put(&oh.encode_v1(1).map_err(fmt_err)?))
}
