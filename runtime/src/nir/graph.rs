//! The NIR file format: a graph of typed nodes, read from and written to
//! HDF5 through [`crate::h5io`]. No meaning is given here: a node is its
//! parameters as stored.
//!
//! The layout (`nir.write` of nir 1.0.x): a root dataset `version` (a
//! string), a group `node` with `type` = `NIRGraph`, `nodes/<name>/` (one
//! group per node: `type` and its parameter datasets, a nested `NIRGraph`
//! again with `nodes` and `edges`), `edges` (an `[N, 2]` string array of
//! node names) and an optional `metadata` group of strings. nir 0.1 and 0.2
//! wrote the same layout without `w_in` and `v_reset` (0.1 also without
//! `version`), which nir 1.0 reads with `w_in = 1` and `v_reset = 0`; so
//! does this module.

use std::collections::BTreeMap;
use std::path::Path;

use crate::h5io::{H5Builder, H5Error, H5Reader, Value};

use super::{GENERATOR, NIR_VERSION, NirError};

/// A parameter array: its shape (`[]` for a scalar) and its values,
/// row-major, widened to `f64` exactly (NIR files hold float32 or float64).
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl Array {
    /// A one-dimensional array.
    pub fn vector(data: Vec<f64>) -> Array {
        Array { shape: vec![data.len()], data }
    }
    /// `n` copies of `v`.
    pub fn full(n: usize, v: f64) -> Array {
        Array::vector(vec![v; n])
    }
    /// Element `i`, broadcasting a scalar.
    pub fn at(&self, i: usize) -> f64 {
        if self.data.len() == 1 { self.data[0] } else { self.data[i] }
    }
}

/// The parameters of a neuron node, by NIR's names.
pub type Params = BTreeMap<String, Array>;

/// One node, as stored.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Input {
        shape: Vec<usize>,
    },
    Output {
        shape: Vec<usize>,
    },
    Affine {
        weight: Array,
        bias: Array,
    },
    Linear {
        weight: Array,
    },
    Scale {
        scale: Array,
    },
    Delay {
        delay: Array,
    },
    /// `LIF`, `CubaLIF`, `LI`, `CubaLI`, `IF`: the type name and the
    /// parameters of [`neuron_params`] (missing optional ones filled in).
    Neuron {
        kind: String,
        params: Params,
    },
    Graph(Graph),
    /// A node type NIR defines that snnc has no counterpart for
    /// (`Conv1d`, `Conv2d`, `SumPool2d`, `AvgPool2d`, `Flatten`, `Threshold`, `I`).
    Other {
        kind: String,
    },
}

impl Node {
    /// The NIR type name.
    pub fn kind(&self) -> &str {
        match self {
            Node::Input { .. } => "Input",
            Node::Output { .. } => "Output",
            Node::Affine { .. } => "Affine",
            Node::Linear { .. } => "Linear",
            Node::Scale { .. } => "Scale",
            Node::Delay { .. } => "Delay",
            Node::Neuron { kind, .. } | Node::Other { kind } => kind,
            Node::Graph(_) => "NIRGraph",
        }
    }
}

/// A `NIRGraph`: nodes by name (sorted, as h5py lists them), edges in file
/// order, metadata strings.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    pub nodes: BTreeMap<String, Node>,
    pub edges: Vec<(String, String)>,
    pub metadata: BTreeMap<String, String>,
}

/// A NIR file: its version (absent in nir 0.1 files) and its graph.
#[derive(Clone, Debug, PartialEq)]
pub struct NirFile {
    pub version: Option<String>,
    pub graph: Graph,
}

/// Required parameter names, and optional ones with their defaults.
pub type NeuronParams = (&'static [&'static str], &'static [(&'static str, f64)]);

/// The parameters of each neuron type: (required, optional with its
/// default). The optional ones are those nir 0.x did not write.
pub fn neuron_params(kind: &str) -> Option<NeuronParams> {
    Some(match kind {
        "LIF" => (&["tau", "r", "v_leak", "v_threshold"], &[("v_reset", 0.0)]),
        "CubaLIF" => (&["tau_syn", "tau_mem", "r", "v_leak", "v_threshold"], &[("v_reset", 0.0), ("w_in", 1.0)]),
        "LI" => (&["tau", "r", "v_leak"], &[]),
        "CubaLI" => (&["tau_syn", "tau_mem", "r", "v_leak"], &[("w_in", 1.0)]),
        "IF" => (&["r", "v_threshold"], &[("v_reset", 0.0)]),
        _ => return None,
    })
}

const OTHER_KINDS: &[&str] = &["Conv1d", "Conv2d", "SumPool2d", "AvgPool2d", "Flatten", "Threshold", "I"];

/// Nested graphs deeper than this are refused (a damaged file could nest
/// without end).
const MAX_DEPTH: usize = 32;

/// Reads a NIR file.
pub fn read(path: &Path) -> Result<NirFile, NirError> {
    let h5 = H5Reader::open(path)?;
    let file = path.display().to_string();
    let not_nir = |reason: &str| NirError::NotNir { file: file.clone(), reason: reason.into() };
    let version = if h5.is_dataset("version") {
        match h5.read("version")? {
            Value::Strings { data, .. } if data.len() == 1 => Some(data[0].clone()),
            v => return Err(not_nir(&format!("`version` is {}, not one string", v.kind()))),
        }
    } else {
        None
    };
    if let Some(v) = &version {
        let major = v.split('.').next().and_then(|m| m.parse::<u32>().ok());
        if !matches!(major, Some(0 | 1)) {
            return Err(NirError::Version { file, version: v.clone() });
        }
    }
    if !h5.is_group("node") {
        // nir 0.0.1 to 0.0.5: the graph at the root (`nodes/0`, `nodes/1`,
        // ... and `edges` of node numbers), no `node` group.
        if h5.is_group("nodes") && h5.is_dataset("edges") {
            return Err(NirError::TooOld {
                file,
                writer: "0.0.5 or older".into(),
                reason: "its graph is at the root (`nodes`, `edges`), not in a group `node`".into(),
            });
        }
        return Err(not_nir("it has no group `node`"));
    }
    let kind = read_type(&h5, "node/type", "")?;
    if kind != "NIRGraph" {
        return Err(not_nir(&format!("its root node is a `{kind}`, not a `NIRGraph`")));
    }
    // nir 0.0.6: nodes numbered, edges pairs of node numbers, and `Output`
    // without a shape.
    if version.is_none() && matches!(h5.read("node/edges"), Ok(Value::Ints { .. })) {
        return Err(NirError::TooOld {
            file,
            writer: "0.0.6".into(),
            reason: "its edges are pairs of node numbers, not of node names".into(),
        });
    }
    let graph = read_graph(&h5, "node", "", 0)?;
    Ok(NirFile { version, graph })
}

/// Whether `path` is a NIR file that snnc wrote (its root graph's metadata
/// says so).
pub fn written_by_snnc(path: &Path) -> bool {
    let Ok(h5) = H5Reader::open(path) else { return false };
    let key = format!("node/metadata/{}", GENERATOR.0);
    matches!(h5.read(&key), Ok(Value::Strings { data, .. }) if data.len() == 1 && data[0] == GENERATOR.1)
}

/// `a/b` for node `b` inside graph node `a` (the top level has no prefix).
fn node_name(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_string() } else { format!("{prefix}/{name}") }
}

fn read_graph(h5: &H5Reader, path: &str, prefix: &str, depth: usize) -> Result<Graph, NirError> {
    let me = prefix.to_string();
    if depth > MAX_DEPTH {
        return Err(NirError::Structure {
            reason: format!("`{me}`: graphs nested deeper than {MAX_DEPTH}"),
            help: "flatten the nested graphs".into(),
        });
    }
    let missing = |param: &str| NirError::MissingParameter {
        node: me.clone(),
        kind: "NIRGraph".into(),
        param: param.into(),
        expected: "`nodes` and `edges`".into(),
        dataset: format!("{path}/{param}"),
    };
    if !h5.is_group(&format!("{path}/nodes")) {
        return Err(missing("nodes"));
    }
    let mut graph = Graph::default();
    for name in h5.children(&format!("{path}/nodes"))? {
        let npath = format!("{path}/nodes/{name}");
        let full = node_name(prefix, &name);
        if !h5.is_group(&npath) {
            return Err(NirError::BadParameter {
                node: me.clone(),
                param: format!("nodes/{name}"),
                reason: "is a dataset, not a node group".into(),
                help: "every entry of `nodes` is a group with a `type`".into(),
            });
        }
        let node = read_node(h5, &npath, &full, depth)?;
        graph.nodes.insert(name, node);
    }
    let epath = format!("{path}/edges");
    if !h5.is_dataset(&epath) {
        return Err(missing("edges"));
    }
    match h5.read(&epath)? {
        Value::Strings { shape, data } if (shape.len() == 2 && shape[1] == 2) || data.is_empty() => {
            graph.edges = data.chunks_exact(2).map(|p| (p[0].clone(), p[1].clone())).collect();
        }
        v => {
            return Err(NirError::BadParameter {
                node: me,
                param: "edges".into(),
                reason: format!("is {} of shape {:?}, not an [N, 2] array of node names", v.kind(), v.shape()),
                help: "edges are pairs of node names (strings)".into(),
            });
        }
    }
    let mpath = format!("{path}/metadata");
    if h5.is_group(&mpath) {
        for key in h5.children(&mpath)? {
            if let Ok(Value::Strings { data, .. }) = h5.read(&format!("{mpath}/{key}"))
                && data.len() == 1
            {
                graph.metadata.insert(key, data[0].clone());
            }
        }
    }
    Ok(graph)
}

/// A node's `type`: one string.
fn read_type(h5: &H5Reader, path: &str, node: &str) -> Result<String, NirError> {
    let param = "type";
    if !h5.is_dataset(path) {
        return Err(NirError::MissingType { node: node.into(), dataset: path.into() });
    }
    match h5.read(path)? {
        Value::Strings { data, .. } if data.len() == 1 => Ok(data[0].clone()),
        v => Err(NirError::BadParameter {
            node: node.into(),
            param: param.into(),
            reason: format!("is {} of shape {:?}, not one string", v.kind(), v.shape()),
            help: "a node's `type` is a string such as \"CubaLIF\"".into(),
        }),
    }
}

fn read_node(h5: &H5Reader, path: &str, name: &str, depth: usize) -> Result<Node, NirError> {
    let kind = read_type(h5, &format!("{path}/type"), name)?;
    let array = |param: &str, expected: &str| read_array(h5, path, name, &kind, param, expected);
    Ok(match kind.as_str() {
        "Input" | "Output" => {
            let shape = array("shape", "`shape`")?;
            let dims = shape
                .data
                .iter()
                .map(|&d| if d >= 0.0 && d.fract() == 0.0 && d <= 1e9 { Some(d as usize) } else { None })
                .collect::<Option<Vec<usize>>>()
                .ok_or_else(|| NirError::BadParameter {
                    node: name.into(),
                    param: "shape".into(),
                    reason: format!("= {:?} is not a list of sizes", shape.data),
                    help: "a shape is a list of non-negative integers, e.g. [5]".into(),
                })?;
            if kind == "Input" { Node::Input { shape: dims } } else { Node::Output { shape: dims } }
        }
        "Affine" => {
            Node::Affine { weight: array("weight", "`weight`, `bias`")?, bias: array("bias", "`weight`, `bias`")? }
        }
        "Linear" => Node::Linear { weight: array("weight", "`weight`")? },
        "Scale" => Node::Scale { scale: array("scale", "`scale`")? },
        "Delay" => Node::Delay { delay: array("delay", "`delay`")? },
        "NIRGraph" => Node::Graph(read_graph(h5, path, name, depth + 1)?),
        k if neuron_params(k).is_some() => {
            let (required, optional) = neuron_params(k).expect("checked");
            let expected = required
                .iter()
                .chain(optional.iter().map(|(p, _)| p))
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let mut params = Params::new();
            for p in required {
                params.insert(p.to_string(), array(p, &expected)?);
            }
            let like = params[required[required.len() - 1]].shape.clone();
            for (p, default) in optional {
                let value = if h5.is_dataset(&format!("{path}/{p}")) {
                    array(p, &expected)?
                } else {
                    let n = like.iter().product();
                    Array { shape: like.clone(), data: vec![*default; n] }
                };
                params.insert(p.to_string(), value);
            }
            Node::Neuron { kind, params }
        }
        k if OTHER_KINDS.contains(&k) => Node::Other { kind },
        _ => return Err(NirError::UnknownNodeType { node: name.into(), kind }),
    })
}

fn read_array(
    h5: &H5Reader,
    path: &str,
    node: &str,
    kind: &str,
    param: &str,
    expected: &str,
) -> Result<Array, NirError> {
    let p = format!("{path}/{param}");
    if !h5.is_dataset(&p) {
        return Err(NirError::MissingParameter {
            node: node.into(),
            kind: kind.into(),
            param: param.into(),
            expected: expected.into(),
            dataset: p,
        });
    }
    match h5.read(&p) {
        Ok(Value::Floats { shape, data }) => Ok(Array { shape, data }),
        Ok(Value::Ints { shape, data }) => Ok(Array { shape, data: data.into_iter().map(|v| v as f64).collect() }),
        Ok(v) => Err(NirError::BadParameter {
            node: node.into(),
            param: param.into(),
            reason: format!("is {}, not numbers", v.kind()),
            help: "write the parameter as a numpy array of numbers".into(),
        }),
        Err(H5Error::WrongType { found, .. }) => Err(NirError::BadParameter {
            node: node.into(),
            param: param.into(),
            reason: format!("is {found}, not numbers"),
            help: "write the parameter as a numpy array of numbers".into(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Writes `file` (version [`NIR_VERSION`]) to HDF5 bytes, as `nir.write`
/// lays it out: every array float32 (sizes int64), gzip-compressed; strings
/// variable-length UTF-8 (a scalar each, edges `[N, 2]`).
pub fn write_bytes(graph: &Graph) -> Result<Vec<u8>, NirError> {
    let mut b = H5Builder::new();
    b.string("version", NIR_VERSION);
    add_graph(&mut b, "node", graph);
    let dir = tempfile::tempdir().map_err(|e| write_failed(e.to_string()))?;
    let path = dir.path().join("graph.nir");
    b.write(&path)?;
    std::fs::read(&path).map_err(|e| write_failed(e.to_string()))
}

fn write_failed(reason: String) -> NirError {
    NirError::H5(H5Error::WriteFailed { file: "(temporary NIR file)".into(), reason })
}

fn add_graph(b: &mut H5Builder, path: &str, graph: &Graph) {
    b.string(&format!("{path}/type"), "NIRGraph");
    b.group(&format!("{path}/nodes"));
    let edges: Vec<&str> = graph.edges.iter().flat_map(|(a, c)| [a.as_str(), c.as_str()]).collect();
    b.strings(&format!("{path}/edges"), &[graph.edges.len(), 2], &edges);
    for (k, v) in &graph.metadata {
        b.string(&format!("{path}/metadata/{k}"), v);
    }
    for (name, node) in &graph.nodes {
        let np = format!("{path}/nodes/{name}");
        b.string(&format!("{np}/type"), node.kind());
        let mut arr = |param: &str, a: &Array| {
            let data: Vec<f32> = a.data.iter().map(|&v| v as f32).collect();
            b.f32_array(&format!("{np}/{param}"), &a.shape, &data);
        };
        match node {
            Node::Input { shape } | Node::Output { shape } => {
                let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
                b.i64_array(&format!("{np}/shape"), &[dims.len()], &dims);
            }
            Node::Affine { weight, bias } => {
                arr("weight", weight);
                arr("bias", bias);
            }
            Node::Linear { weight } => arr("weight", weight),
            Node::Scale { scale } => arr("scale", scale),
            Node::Delay { delay } => arr("delay", delay),
            Node::Neuron { params, .. } => {
                for (p, a) in params {
                    arr(p, a);
                }
            }
            Node::Graph(g) => add_graph(b, &np, g),
            Node::Other { .. } => {}
        }
    }
}
