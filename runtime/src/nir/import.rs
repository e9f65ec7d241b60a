//! A NIR graph mapped onto snnc's model class, or refused.
//!
//! Input: a [`Graph`] as read, the step `dt` (for delays) and an optional
//! order (population and projection names, e.g. a template spec's). Output:
//! an [`Imported`] network: populations (spike sources from `Input` nodes,
//! `lif` from `CubaLIF`, `li` from `CubaLI`, and either from an `LI`
//! synapse feeding a `LIF` or `LI` membrane), dense projections (one per
//! path `population -> [Delay|Scale]* -> Linear|Affine -> [Delay|Scale]* ->
//! population`, several such paths with distinct delays forming a delay
//! line) with their weights in snnc's units ([`super::mapping`]), the
//! populations that feed an `Output` (readouts), the renames of node names
//! to identifiers, and notes on what was folded.
//!
//! Nested graphs are flattened: an edge into a subgraph enters its `Input`
//! node, an edge out of it leaves its `Output` node. Every refusal names the
//! node, the parameter and the value (`docs/nir.md`).

use std::collections::{BTreeMap, BTreeSet};

use super::NirError;
use super::graph::{Array, Graph, Node, Params};
use super::mapping::{row_factor, snnc_weight};

/// A population of the imported network.
#[derive(Clone, Debug, PartialEq)]
pub struct Population {
    /// The identifier in the `.snn` spec.
    pub name: String,
    /// The NIR node(s) it comes from (`syn + mem` for a fused pair).
    pub nir: String,
    pub size: u32,
    pub kind: Kind,
}

/// Time constants in seconds, as stored (float32 files give float32 values).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    Source,
    Lif { tau_mem: f64, tau_syn: f64, threshold: f64 },
    Li { tau_mem: f64, tau_syn: f64 },
}

/// A dense projection: one weight matrix (`[post][pre]`, row-major) per
/// delay, ascending.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    pub pre: String,
    pub post: String,
    /// Delays in steps of `dt`, ascending, evenly spaced when several.
    pub delays: Vec<u32>,
    pub weights: Vec<Vec<f32>>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Imported {
    pub populations: Vec<Population>,
    pub projections: Vec<Projection>,
    /// Populations that feed an `Output` node, in population order.
    pub readouts: Vec<String>,
    /// (NIR node name, identifier) where they differ.
    pub renames: Vec<(String, String)>,
    /// What was folded or assumed, for the user.
    pub notes: Vec<String>,
}

/// Preferred orders (a template spec's): population names, then
/// `(pre, post)` pairs; names not listed follow in the default order.
#[derive(Clone, Debug, Default)]
pub struct Order {
    pub populations: Vec<String>,
    pub projections: Vec<(String, String)>,
}

/// A delay within this many steps of a whole number is on the grid (NIR
/// stores delays as float32 seconds).
const GRID_TOLERANCE: f64 = 1e-4;
/// More paths between populations than this is refused (a damaged or
/// pathological graph could have exponentially many).
const MAX_PATHS: usize = 100_000;

#[derive(Clone, Debug)]
enum Flat<'a> {
    /// A top-level `Input` (its shape).
    Input(&'a [usize]),
    /// A top-level `Output` (its shape).
    Output(&'a [usize]),
    /// A nested graph's `Input` or `Output`: passes its signal on (its
    /// shape, and whether it is an `Input`). One that nothing enters (an
    /// `Input`) or leaves (an `Output`) is the whole graph's.
    Port(&'a [usize], bool),
    Node(&'a Node),
}

struct FlatGraph<'a> {
    names: Vec<String>,
    kinds: Vec<Flat<'a>>,
    edges: BTreeSet<(usize, usize)>,
}

impl<'a> FlatGraph<'a> {
    fn succ(&self, a: usize) -> Vec<usize> {
        self.edges.range((a, 0)..(a + 1, 0)).map(|&(_, b)| b).collect()
    }
    fn pred(&self, b: usize) -> Vec<usize> {
        self.edges.iter().filter(|e| e.1 == b).map(|e| e.0).collect()
    }
    fn kind(&self, i: usize) -> &str {
        match &self.kinds[i] {
            Flat::Input(_) => "Input",
            Flat::Output(_) => "Output",
            Flat::Port(..) => "subgraph port",
            Flat::Node(n) => n.kind(),
        }
    }
}

/// Flattens `graph` into `out`; returns, per local node name, the flat
/// indices where edges into it and out of it attach.
fn flatten<'a>(
    graph: &'a Graph,
    prefix: &str,
    out: &mut FlatGraph<'a>,
) -> Result<BTreeMap<String, (usize, usize)>, NirError> {
    let full = |n: &str| if prefix.is_empty() { n.to_string() } else { format!("{prefix}/{n}") };
    let mut ports = BTreeMap::new();
    for (name, node) in &graph.nodes {
        let at = |out: &mut FlatGraph<'a>, kind: Flat<'a>| {
            out.names.push(full(name));
            out.kinds.push(kind);
            out.names.len() - 1
        };
        let port = match node {
            Node::Graph(sub) => {
                let inner = flatten(sub, &full(name), out)?;
                let pick = |want: &str| -> Result<usize, NirError> {
                    let found: Vec<&String> = sub
                        .nodes
                        .iter()
                        .filter(|(_, n)| n.kind() == want && !matches!(n, Node::Graph(_)))
                        .map(|(k, _)| k)
                        .collect();
                    match found.as_slice() {
                        [one] => Ok(inner[*one].0),
                        _ => Err(NirError::Structure {
                            reason: format!(
                                "the subgraph `{}` has {} {want} nodes; an edge to or from it needs exactly one",
                                full(name),
                                found.len()
                            ),
                            help: "give the subgraph one Input and one Output node, or flatten it".into(),
                        }),
                    }
                };
                let used_in = graph.edges.iter().any(|(_, b)| b == name);
                let used_out = graph.edges.iter().any(|(a, _)| a == name);
                let entry = if used_in { pick("Input")? } else { usize::MAX };
                let exit = if used_out { pick("Output")? } else { usize::MAX };
                (entry, exit)
            }
            Node::Input { shape } if prefix.is_empty() => {
                let i = at(out, Flat::Input(shape));
                (i, i)
            }
            Node::Output { shape } if prefix.is_empty() => {
                let i = at(out, Flat::Output(shape));
                (i, i)
            }
            Node::Input { shape } => {
                let i = at(out, Flat::Port(shape, true));
                (i, i)
            }
            Node::Output { shape } => {
                let i = at(out, Flat::Port(shape, false));
                (i, i)
            }
            n => {
                let i = at(out, Flat::Node(n));
                (i, i)
            }
        };
        ports.insert(name.clone(), port);
    }
    let listed = || graph.nodes.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
    for (a, b) in &graph.edges {
        for end in [a, b] {
            if !ports.contains_key(end) {
                return Err(NirError::MissingNode { from: full(a), to: full(b), missing: full(end), nodes: listed() });
            }
        }
        let edge = (ports[a].1, ports[b].0);
        if !out.edges.insert(edge) {
            return Err(NirError::Structure {
                reason: format!("the edge `{}` -> `{}` is given twice", full(a), full(b)),
                help: "NIR graphs list each edge once (nir.read refuses duplicates)".into(),
            });
        }
    }
    Ok(ports)
}

/// Removes the subgraph ports, joining their predecessors to their
/// successors; a nested `Input` that nothing enters becomes an `Input` of
/// the whole graph, a nested `Output` that nothing leaves an `Output`.
fn contract(g: &mut FlatGraph<'_>) {
    for p in 0..g.kinds.len() {
        let Flat::Port(shape, is_input) = g.kinds[p] else { continue };
        let (pred, succ) = (g.pred(p), g.succ(p));
        if is_input && pred.is_empty() {
            g.kinds[p] = Flat::Input(shape);
            continue;
        }
        if !is_input && succ.is_empty() {
            g.kinds[p] = Flat::Output(shape);
            continue;
        }
        g.edges.retain(|&(a, b)| a != p && b != p);
        for &a in &pred {
            for &b in &succ {
                if a != p && b != p {
                    g.edges.insert((a, b));
                }
            }
        }
    }
}

/// The population kinds of the flat nodes.
#[derive(Clone, Debug)]
struct Layer {
    /// Where projections enter (the CubaLIF, or the synapse LI of a pair).
    entry: usize,
    /// Where its spikes leave (the same node, or the membrane of a pair).
    exit: usize,
    kind: Kind,
    size: usize,
    /// Per neuron: `r * w_in / tau_syn` (see `mapping`).
    row: Vec<f64>,
    nir: String,
}

pub fn import(graph: &Graph, dt: f64, order: &Order) -> Result<Imported, NirError> {
    let mut g = FlatGraph { names: Vec::new(), kinds: Vec::new(), edges: BTreeSet::new() };
    flatten(graph, "", &mut g)?;
    contract(&mut g);
    let n = g.kinds.len();
    let mut notes = Vec::new();

    for i in 0..n {
        if let Flat::Node(Node::Other { kind }) = &g.kinds[i] {
            let what = match kind.as_str() {
                "Conv1d" | "Conv2d" => "a convolution; snnc's projections are dense matrices".to_string(),
                "SumPool2d" | "AvgPool2d" => "a pooling layer; snnc's projections are dense matrices".to_string(),
                "Flatten" => "a reshape; snnc's populations are one-dimensional".to_string(),
                "Threshold" => "a threshold without a neuron; snnc's spikes come from lif populations".to_string(),
                _ => "an integrator without leak or threshold (NIR's I); snnc's neurons leak".to_string(),
            };
            return Err(NirError::Unsupported {
                node: g.names[i].clone(),
                kind: kind.clone(),
                reason: format!("snnc cannot express {what}"),
                help: "snnc imports Input, Output, Linear, Affine (zero bias), Scale, Delay, CubaLIF, CubaLI, \
                       and LI -> LIF or LI -> LI pairs; rewrite this part of the graph with them"
                    .into(),
            });
        }
    }

    // Sizes: what each node takes and gives (None: any, a scalar Scale or Delay).
    let mut size_in = vec![None; n];
    let mut size_out = vec![None; n];
    for i in 0..n {
        let name = &g.names[i];
        let one_d = |param: &str, a: &Array| -> Result<Option<usize>, NirError> {
            match a.shape.len() {
                0 => Ok(None),
                1 => Ok(Some(a.shape[0])),
                _ => Err(unsupported_shape(name, param, &a.shape)),
            }
        };
        let (a, b) = match &g.kinds[i] {
            Flat::Input(shape) | Flat::Output(shape) => {
                if shape.len() != 1 {
                    return Err(unsupported_shape(name, "shape", shape));
                }
                (Some(shape[0]), Some(shape[0]))
            }
            Flat::Port(..) => (None, None),
            Flat::Node(Node::Linear { weight }) | Flat::Node(Node::Affine { weight, .. }) => {
                if weight.shape.len() != 2 {
                    return Err(unsupported_shape(name, "weight", &weight.shape));
                }
                if let Flat::Node(Node::Affine { bias, .. }) = &g.kinds[i]
                    && bias.shape != [weight.shape[0]]
                {
                    return Err(NirError::BadParameter {
                        node: name.clone(),
                        param: "bias".into(),
                        reason: format!("has shape {:?}, the weight {:?}", bias.shape, weight.shape),
                        help: "an Affine's bias has one value per output (the weight's first dimension)".into(),
                    });
                }
                (Some(weight.shape[1]), Some(weight.shape[0]))
            }
            Flat::Node(Node::Scale { scale: a }) => {
                let s = one_d("scale", a)?;
                (s, s)
            }
            Flat::Node(Node::Delay { delay: a }) => {
                let s = one_d("delay", a)?;
                (s, s)
            }
            Flat::Node(Node::Neuron { kind, params }) => {
                let mut size: Option<(usize, String)> = None;
                for (p, a) in params {
                    match (one_d(p, a)?, &size) {
                        (Some(s), None) => size = Some((s, p.clone())),
                        (Some(s), Some((t, q))) if s != *t => {
                            return Err(NirError::BadParameter {
                                node: name.clone(),
                                param: p.clone(),
                                reason: format!("has {s} values, `{q}` has {t}"),
                                help: format!("a {kind}'s parameters have one value per neuron"),
                            });
                        }
                        _ => {}
                    }
                }
                let Some((s, _)) = size else {
                    return Err(NirError::Unsupported {
                        node: name.clone(),
                        kind: kind.clone(),
                        reason: "every parameter is a scalar, so the number of neurons is unknown".into(),
                        help: "give the parameters one value per neuron (shape [n])".into(),
                    });
                };
                (Some(s), Some(s))
            }
            Flat::Node(Node::Input { .. } | Node::Output { .. } | Node::Graph(_) | Node::Other { .. }) => (None, None),
        };
        size_in[i] = a;
        size_out[i] = b;
    }
    // Sizes flow through scalar Scale and Delay nodes.
    for _ in 0..n {
        for &(a, b) in &g.edges {
            if size_in[b].is_none() && size_out[b].is_none() && size_out[a].is_some() {
                size_in[b] = size_out[a];
                size_out[b] = size_out[a];
            }
        }
    }
    for &(a, b) in &g.edges {
        if let (Some(o), Some(i)) = (size_out[a], size_in[b])
            && o != i
        {
            return Err(NirError::ShapeMismatch {
                from: g.names[a].clone(),
                to: g.names[b].clone(),
                out_size: o.to_string(),
                in_size: i.to_string(),
                help: format!(
                    "`{}` ({}) gives {o} values and `{}` ({}) takes {i}; an edge joins nodes of one size (a Linear's weight is [out, in])",
                    g.names[a],
                    g.kind(a),
                    g.names[b],
                    g.kind(b)
                ),
            });
        }
    }
    for &(a, b) in &g.edges {
        if matches!(g.kinds[b], Flat::Input(_)) {
            return Err(NirError::Structure {
                reason: format!("the edge `{}` -> `{}` enters an Input node", g.names[a], g.names[b]),
                help: "Input nodes are where the graph's data comes in; nothing feeds them".into(),
            });
        }
        if matches!(g.kinds[a], Flat::Output(_)) {
            return Err(NirError::Structure {
                reason: format!("the edge `{}` -> `{}` leaves an Output node", g.names[a], g.names[b]),
                help: "Output nodes end the graph; nothing leaves them".into(),
            });
        }
    }

    // Neurons: CubaLIF / CubaLI, or an LI synapse feeding a LIF / LI membrane.
    let neuron = |i: usize| match &g.kinds[i] {
        Flat::Node(Node::Neuron { kind, params }) => Some((kind.as_str(), params)),
        _ => None,
    };
    let mut layers: Vec<Layer> = Vec::new();
    let mut in_layer = vec![false; n];
    for i in 0..n {
        let Some((kind, params)) = neuron(i) else { continue };
        let name = &g.names[i];
        let size = size_out[i].expect("neurons have a size");
        match kind {
            "CubaLIF" | "CubaLI" => {
                let tau_syn = uniform(name, "tau_syn", &params["tau_syn"])?;
                let tau_mem = uniform(name, "tau_mem", &params["tau_mem"])?;
                positive_time(name, "tau_syn", tau_syn)?;
                positive_time(name, "tau_mem", tau_mem)?;
                distinct(name, tau_syn, tau_mem)?;
                let kind_v = membrane(name, kind == "CubaLIF", params, tau_mem, tau_syn)?;
                let row = (0..size)
                    .map(|j| {
                        let r = finite(name, "r", &params["r"], j)?;
                        let w_in = finite(name, "w_in", &params["w_in"], j)?;
                        Ok(row_factor(r, w_in, tau_syn))
                    })
                    .collect::<Result<Vec<f64>, NirError>>()?;
                in_layer[i] = true;
                layers.push(Layer { entry: i, exit: i, kind: kind_v, size, row, nir: name.clone() });
            }
            "LI" => {
                let succ = g.succ(i);
                let [m] = succ.as_slice() else { continue };
                let Some((mkind, mparams)) = neuron(*m) else { continue };
                if !matches!(mkind, "LIF" | "LI") || g.pred(*m) != [i] {
                    continue;
                }
                let mname = &g.names[*m];
                let tau_syn = uniform(name, "tau", &params["tau"])?;
                positive_time(name, "tau", tau_syn)?;
                zeros(name, "v_leak", &params["v_leak"], "as a synapse the LI must decay towards 0 (v_leak = 0)")?;
                let tau_mem = uniform(mname, "tau", &mparams["tau"])?;
                positive_time(mname, "tau", tau_mem)?;
                distinct(mname, tau_syn, tau_mem)?;
                let kind_v = membrane(mname, mkind == "LIF", mparams, tau_mem, tau_syn)?;
                let row = (0..size)
                    .map(|j| {
                        let r_syn = finite(name, "r", &params["r"], j)?;
                        let r_mem = finite(mname, "r", &mparams["r"], j)?;
                        Ok(row_factor(r_mem, r_syn, tau_syn))
                    })
                    .collect::<Result<Vec<f64>, NirError>>()?;
                in_layer[i] = true;
                in_layer[*m] = true;
                notes.push(format!(
                    "the LI `{name}` (the synaptic current, tau = {}) and the {mkind} `{mname}` (the membrane) are one population",
                    fmt_s(tau_syn)
                ));
                layers.push(Layer { entry: i, exit: *m, kind: kind_v, size, row, nir: format!("{name} + {mname}") });
            }
            _ => {}
        }
    }
    for (i, &done) in in_layer.iter().enumerate() {
        let Some((kind, _)) = neuron(i) else { continue };
        if done {
            continue;
        }
        let (reason, help) = match kind {
            "IF" => (
                "an integrate-and-fire neuron never leaks (tau_mem = infinity); snnc's neurons have a finite tau_mem"
                    .to_string(),
                "use a CubaLIF with a finite tau_mem".to_string(),
            ),
            "LIF" | "LI" => (
                format!(
                    "a {kind} has no synaptic current: each input spike jumps its voltage (tau dv/dt = (v_leak - v) + r I, \
                     I the weighted spikes), while snnc's neurons integrate a current with tau_syn > 0"
                ),
                format!(
                    "export the neuron as a Cuba{kind}, or put an LI node in front of it as its synapse \
                     (Linear -> LI -> {kind}: the pair imports as one population)"
                ),
            ),
            _ => (format!("snnc cannot express a {kind} here"), "see docs/nir.md".to_string()),
        };
        return Err(NirError::Unsupported { node: g.names[i].clone(), kind: kind.into(), reason, help });
    }

    // Cycles: every cycle goes through a weight node and through a neuron.
    let is_weights = |i: usize| matches!(g.kinds[i], Flat::Node(Node::Linear { .. } | Node::Affine { .. }));
    let is_population = |i: usize| in_layer[i] || matches!(g.kinds[i], Flat::Input(_));
    if let Some(cycle) = find_cycle(&g, |i| !is_weights(i)) {
        return Err(NirError::Cycle {
            cycle: show_cycle(&g, &cycle),
            missing: "Linear or Affine node".into(),
            help: "snnc's recurrence goes through a projection's weights: an edge from the population into a \
                   Linear that feeds it (lif -> Linear -> lif)"
                .into(),
        });
    }
    if let Some(cycle) = find_cycle(&g, |i| !is_population(i)) {
        return Err(NirError::Cycle {
            cycle: show_cycle(&g, &cycle),
            missing: "neuron".into(),
            help: "a loop of Linear, Affine, Scale and Delay nodes alone has no state to break it".into(),
        });
    }

    // Names.
    let mut renames = Vec::new();
    let mut taken = BTreeSet::new();
    let mut pop_name: BTreeMap<usize, String> = BTreeMap::new();
    let mut sources: Vec<usize> = (0..n).filter(|&i| matches!(g.kinds[i], Flat::Input(_))).collect();
    sources.sort_by(|&a, &b| g.names[a].cmp(&g.names[b]));
    for &i in sources.iter().chain(layers.iter().map(|l| &l.exit)) {
        let nir = &g.names[i];
        let id = identifier(nir, &taken);
        taken.insert(id.clone());
        if &id != nir {
            renames.push((nir.clone(), id.clone()));
        }
        pop_name.insert(i, id);
    }

    // Paths from each population's spikes to the populations they feed.
    let layer_at_entry: BTreeMap<usize, usize> = layers.iter().enumerate().map(|(k, l)| (l.entry, k)).collect();
    let mut readouts = BTreeSet::new();
    // (pre, post) -> [(delay steps, weights)]
    let mut paths: BTreeMap<(usize, usize), Vec<PathWeights>> = BTreeMap::new();
    let mut count = 0usize;
    let exits: Vec<(usize, usize, Option<&Layer>)> = sources
        .iter()
        .map(|&s| (s, size_out[s].unwrap_or(0), None))
        .chain(layers.iter().map(|l| (l.exit, l.size, Some(l))))
        .collect();
    for &(x, n_pre, layer) in &exits {
        let mut stack: Vec<Vec<usize>> = g.succ(x).into_iter().map(|s| vec![s]).collect();
        while let Some(path) = stack.pop() {
            count += 1;
            if count > MAX_PATHS {
                return Err(NirError::Structure {
                    reason: format!("more than {MAX_PATHS} paths between populations"),
                    help: "simplify the graph".into(),
                });
            }
            let y = *path.last().expect("non-empty");
            if let Some(&k) = layer_at_entry.get(&y) {
                if let Some(Layer { kind: Kind::Li { .. }, .. }) = layer {
                    return Err(NirError::Unsupported {
                        node: g.names[x].clone(),
                        kind: g.kind(x).into(),
                        reason: format!(
                            "its voltage feeds `{}`; snnc's li populations are readouts with no outgoing projections",
                            g.names[y]
                        ),
                        help: "an li population's voltage is read by a voltage loss only".into(),
                    });
                }
                let post = &layers[k];
                let (delay, w) = path_weights(&g, x, &path[..path.len() - 1], y, n_pre, post, dt)?;
                let via = path[..path.len() - 1].iter().map(|&i| g.names[i].clone()).collect::<Vec<_>>().join(", ");
                paths.entry((x, post.exit)).or_default().push((delay, w, via));
                continue;
            }
            match &g.kinds[y] {
                Flat::Output(_) => {
                    if path.len() > 1 {
                        let m = path[0];
                        return Err(NirError::Unsupported {
                            node: g.names[m].clone(),
                            kind: g.kind(m).into(),
                            reason: format!("it lies between `{}` and the Output `{}`", g.names[x], g.names[y]),
                            help: "snnc's outputs are populations: connect a neuron node straight to the Output".into(),
                        });
                    }
                    readouts.insert(x);
                }
                Flat::Node(Node::Linear { .. } | Node::Affine { .. } | Node::Scale { .. } | Node::Delay { .. }) => {
                    for s in g.succ(y) {
                        let mut next = path.clone();
                        next.push(s);
                        stack.push(next);
                    }
                }
                _ => {
                    return Err(NirError::Unsupported {
                        node: g.names[y].clone(),
                        kind: g.kind(y).into(),
                        reason: format!("it is fed by `{}`, which snnc cannot map", g.names[x]),
                        help: "see docs/nir.md for the graphs snnc imports".into(),
                    });
                }
            }
        }
    }

    // Projections: the paths between two populations, by delay.
    let mut projections = Vec::new();
    for ((x, post_exit), mut list) in paths {
        list.sort_by_key(|p| p.0);
        for pair in list.windows(2) {
            if pair[0].0 == pair[1].0 {
                return Err(NirError::Structure {
                    reason: format!(
                        "two paths from `{}` to `{}` have the same delay ({} steps): through {} and through {}",
                        g.names[x], g.names[post_exit], pair[0].0, pair[0].2, pair[1].2
                    ),
                    help: "snnc has one weight matrix per delay of a projection; add the matrices into one Linear"
                        .into(),
                });
            }
        }
        let delays: Vec<u32> = list.iter().map(|p| p.0).collect();
        if delays.len() > 2 {
            let step = delays[1] - delays[0];
            if delays.windows(2).any(|w| w[1] - w[0] != step) {
                return Err(NirError::Structure {
                    reason: format!(
                        "the paths from `{}` to `{}` have delays {:?} steps, not evenly spaced",
                        g.names[x], g.names[post_exit], delays
                    ),
                    help: "snnc's delay line is `delays = A .. B step S`: evenly spaced delays".into(),
                });
            }
        }
        projections.push(Projection {
            pre: pop_name[&x].clone(),
            post: pop_name[&post_exit].clone(),
            delays,
            weights: list.into_iter().map(|p| p.1).collect(),
        });
    }
    for l in &layers {
        if l.row.iter().any(|&r| r != l.row[0]) {
            notes.push(format!(
                "`{}`: r * w_in / tau_syn differs from neuron to neuron; each neuron's factor is folded into its incoming weights (exactly what NIR computes)",
                pop_name[&l.exit]
            ));
        }
    }

    // Populations and their order.
    let mut populations: Vec<Population> = sources
        .iter()
        .map(|&s| Population {
            name: pop_name[&s].clone(),
            nir: g.names[s].clone(),
            size: size_out[s].unwrap_or(0) as u32,
            kind: Kind::Source,
        })
        .collect();
    let mut layer_pops: Vec<Population> = layers
        .iter()
        .map(|l| Population { name: pop_name[&l.exit].clone(), nir: l.nir.clone(), size: l.size as u32, kind: l.kind })
        .collect();
    layer_pops = topological(layer_pops, &projections);
    populations.extend(layer_pops);
    // The template's order when it names every population (every
    // projection), as when snnc reads back its own export; else the default.
    let listed = |name: &str| order.populations.iter().position(|p| p == name);
    if populations.iter().all(|p| listed(&p.name).is_some()) {
        populations.sort_by_key(|p| listed(&p.name));
    }
    let pos = |name: &str| populations.iter().position(|p| p.name == name).unwrap_or(usize::MAX);
    projections.sort_by_key(|p| (pos(&p.post), pos(&p.pre)));
    let hint = |p: &Projection| order.projections.iter().position(|(a, b)| *a == p.pre && *b == p.post);
    if projections.iter().all(|p| hint(p).is_some()) {
        projections.sort_by_key(|p| hint(p));
    }
    let readouts = populations
        .iter()
        .filter(|p| readouts.iter().any(|&r| pop_name[&r] == p.name))
        .map(|p| p.name.clone())
        .collect();
    Ok(Imported { populations, projections, readouts, renames, notes })
}

/// One path's delay (steps), snnc weights and the nodes it goes through.
type PathWeights = (u32, Vec<f32>, String);

/// The delay (steps) and the snnc weights of one path `x -> mids -> y`.
fn path_weights(
    g: &FlatGraph<'_>,
    x: usize,
    mids: &[usize],
    y: usize,
    n_pre: usize,
    post: &Layer,
    dt: f64,
) -> Result<(u32, Vec<f32>), NirError> {
    let weights: Vec<usize> = mids
        .iter()
        .copied()
        .filter(|&m| matches!(g.kinds[m], Flat::Node(Node::Linear { .. } | Node::Affine { .. })))
        .collect();
    let (w_at, w_node) = match weights.as_slice() {
        [one] => (mids.iter().position(|m| m == one).expect("listed"), *one),
        [] => {
            return Err(NirError::Structure {
                reason: format!("the path from `{}` to `{}` has no Linear or Affine node", g.names[x], g.names[y]),
                help: "snnc connects populations through a weight matrix: put a Linear on the edge".into(),
            });
        }
        [_, second, ..] => {
            return Err(NirError::Unsupported {
                node: g.names[*second].clone(),
                kind: g.kind(*second).into(),
                reason: format!(
                    "it follows `{}` on the path from `{}` to `{}`: two weight matrices in series",
                    g.names[weights[0]], g.names[x], g.names[y]
                ),
                help: "snnc has one weight matrix per projection; multiply them into one Linear".into(),
            });
        }
    };
    let (matrix, node_name) = match &g.kinds[w_node] {
        Flat::Node(Node::Linear { weight }) => (weight, &g.names[w_node]),
        Flat::Node(Node::Affine { weight, bias }) => {
            if let Some(j) = bias.data.iter().position(|&b| b != 0.0) {
                return Err(NirError::UnsupportedValue {
                    node: g.names[w_node].clone(),
                    param: "bias".into(),
                    value: format!("{} (at [{j}])", num(bias.data[j])),
                    reason: "is not 0; snnc's projections have no bias term".into(),
                    help: "train without a bias, or export a Linear".into(),
                });
            }
            (weight, &g.names[w_node])
        }
        _ => unreachable!("a weight node"),
    };
    let (rows, cols) = (matrix.shape[0], matrix.shape[1]);
    if let Some(at) = matrix.data.iter().position(|v| !v.is_finite()) {
        return Err(NirError::BadParameter {
            node: node_name.clone(),
            param: "weight".into(),
            reason: format!("holds {} at [{}, {}]", num(matrix.data[at]), at / cols, at % cols),
            help: "every weight must be a finite number".into(),
        });
    }
    let mut pre_scale = vec![1.0f64; cols];
    let mut post_scale = vec![1.0f64; rows];
    let mut delay = 0.0f64;
    for (k, &m) in mids.iter().enumerate() {
        match &g.kinds[m] {
            Flat::Node(Node::Scale { scale }) => {
                let target = if k < w_at { &mut pre_scale } else { &mut post_scale };
                for (i, s) in target.iter_mut().enumerate() {
                    let v = scale.at(i);
                    if !v.is_finite() {
                        return Err(NirError::BadParameter {
                            node: g.names[m].clone(),
                            param: "scale".into(),
                            reason: format!("holds {} at [{i}]", num(v)),
                            help: "every scale must be a finite number".into(),
                        });
                    }
                    *s *= v;
                }
            }
            Flat::Node(Node::Delay { delay: d }) => {
                let v = same_everywhere(
                    &g.names[m],
                    "delay",
                    d,
                    "differs from input to input; an snnc projection delays all its inputs alike",
                    "give every input of the Delay the same delay (a delay per input is not a dense projection's)",
                )?;
                if !(v >= 0.0 && v.is_finite()) {
                    return Err(NirError::UnsupportedValue {
                        node: g.names[m].clone(),
                        param: "delay".into(),
                        value: num(v),
                        reason: "is not a time of 0 s or more".into(),
                        help: "delays are in seconds, 0 or more".into(),
                    });
                }
                let steps = v / dt;
                if (steps - steps.round()).abs() > GRID_TOLERANCE {
                    return Err(NirError::UnsupportedValue {
                        node: g.names[m].clone(),
                        param: "delay".into(),
                        value: format!("{} s", num(v)),
                        reason: format!("is {steps:.3} steps of dt = {} s, not a whole number", num(dt)),
                        help: format!(
                            "snnc's delays are whole steps: import with a --dt that divides the delay (e.g. --dt {}), or use delays on the grid",
                            crate::nir::spec::fmt_seconds(crate::nir::spec::decimal(v) / steps.round().max(1.0))
                        ),
                    });
                }
                delay += steps.round();
            }
            _ => {}
        }
    }
    if (rows, cols) != (post.size, n_pre) {
        return Err(NirError::ShapeMismatch {
            from: g.names[x].clone(),
            to: g.names[y].clone(),
            out_size: n_pre.to_string(),
            in_size: format!("{} (through `{node_name}`, a [{rows}, {cols}] weight, into {})", cols, post.size),
            help: "the weight of a path between two populations is [post size, pre size]".into(),
        });
    }
    let mut out = vec![0f32; rows * cols];
    for j in 0..rows {
        for i in 0..cols {
            let w = snnc_weight(matrix.data[j * cols + i], post.row[j], post_scale[j], pre_scale[i]);
            if !w.is_finite() {
                return Err(NirError::BadParameter {
                    node: node_name.clone(),
                    param: "weight".into(),
                    reason: format!(
                        "at [{j}, {i}] = {} gives the snnc weight {w} (times r * w_in / tau_syn = {})",
                        matrix.data[j * cols + i],
                        post.row[j]
                    ),
                    help: "the weight is too large for float32 in snnc's units".into(),
                });
            }
            out[j * cols + i] = w;
        }
    }
    Ok((delay as u32, out))
}

/// Layers in a topological order of the projections (ties and cycles
/// broken by name).
fn topological(mut layers: Vec<Population>, projections: &[Projection]) -> Vec<Population> {
    layers.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out: Vec<Population> = Vec::new();
    while !layers.is_empty() {
        let ready = |p: &Population| {
            projections.iter().all(|q| q.post != p.name || q.pre == p.name || !layers.iter().any(|l| l.name == q.pre))
        };
        let k = layers.iter().position(ready).unwrap_or(0);
        out.push(layers.remove(k));
    }
    out
}

/// A cycle among the nodes `keep` admits, as a list of nodes.
fn find_cycle(g: &FlatGraph<'_>, keep: impl Fn(usize) -> bool) -> Option<Vec<usize>> {
    let n = g.kinds.len();
    let mut colour = vec![0u8; n];
    let mut parent = vec![usize::MAX; n];
    for start in 0..n {
        if colour[start] != 0 || !keep(start) {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        colour[start] = 1;
        while let Some(&mut (v, ref mut k)) = stack.last_mut() {
            let succ: Vec<usize> = g.succ(v).into_iter().filter(|&s| keep(s)).collect();
            if *k < succ.len() {
                let s = succ[*k];
                *k += 1;
                if colour[s] == 1 {
                    let mut cycle = vec![s];
                    let mut u = v;
                    while u != s {
                        cycle.push(u);
                        u = parent[u];
                    }
                    cycle.reverse();
                    cycle.rotate_right(1);
                    return Some(cycle);
                }
                if colour[s] == 0 {
                    colour[s] = 1;
                    parent[s] = v;
                    stack.push((s, 0));
                }
            } else {
                colour[v] = 2;
                stack.pop();
            }
        }
    }
    None
}

fn show_cycle(g: &FlatGraph<'_>, cycle: &[usize]) -> String {
    let mut s: Vec<String> = cycle.iter().map(|&i| format!("`{}`", g.names[i])).collect();
    s.push(format!("`{}`", g.names[cycle[0]]));
    s.join(" -> ")
}

/// A NIR name as a `.snn` identifier, not in `taken`.
pub fn identifier(name: &str, taken: &BTreeSet<String>) -> String {
    let mut id: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if id.is_empty() || id.starts_with(|c: char| c.is_ascii_digit()) {
        id.insert(0, '_');
    }
    if taken.contains(&id) {
        let base = id.clone();
        let mut k = 2;
        while taken.contains(&id) {
            id = format!("{base}_{k}");
            k += 1;
        }
    }
    id
}

fn fmt_s(v: f64) -> String {
    format!("{} s", num(v))
}

/// A value as the file stores it: a float32 as its shortest decimal (`0.03`
/// for 0.029999999329...), a float64 as it is.
fn num(v: f64) -> String {
    if v.is_finite() && f64::from(v as f32) == v { format!("{}", v as f32) } else { format!("{v}") }
}

fn unsupported_shape(node: &str, param: &str, shape: &[usize]) -> NirError {
    NirError::UnsupportedValue {
        node: node.into(),
        param: param.into(),
        value: format!("shape {shape:?}"),
        reason: "is not one-dimensional (a Linear's weight: two-dimensional)".into(),
        help: "snnc's populations are one-dimensional: flatten the data before the graph".into(),
    }
}

/// The membrane of node `node` (a CubaLIF/CubaLI, or the LIF/LI an LI
/// synapse feeds) as snnc's model: no leak towards anything but 0, and for
/// a spiking one a reset to 0 and a positive threshold.
fn membrane(node: &str, spiking: bool, params: &Params, tau_mem: f64, tau_syn: f64) -> Result<Kind, NirError> {
    zeros(node, "v_leak", &params["v_leak"], "snnc's neurons leak towards 0 (v_leak = 0)")?;
    if !spiking {
        return Ok(Kind::Li { tau_mem, tau_syn });
    }
    zeros(node, "v_reset", &params["v_reset"], "snnc's lif resets the voltage to 0")?;
    let threshold = uniform(node, "v_threshold", &params["v_threshold"])?;
    positive(node, "v_threshold", threshold)?;
    Ok(Kind::Lif { tau_mem, tau_syn, threshold })
}

/// The one value of a parameter that must be the same for every neuron.
fn uniform(node: &str, param: &str, a: &Array) -> Result<f64, NirError> {
    same_everywhere(
        node,
        param,
        a,
        "differs from neuron to neuron; snnc has one value per population",
        "split the neurons into populations of equal parameters, or give every neuron the same value",
    )
}

/// The one value of an array, or a refusal saying `differs` and `help`.
fn same_everywhere(node: &str, param: &str, a: &Array, differs: &str, help: &str) -> Result<f64, NirError> {
    let first = *a.data.first().ok_or_else(|| NirError::BadParameter {
        node: node.into(),
        param: param.into(),
        reason: "is empty".into(),
        help: "give one value per neuron".into(),
    })?;
    if let Some(i) = a.data.iter().position(|v| v.is_nan()) {
        return Err(NirError::BadParameter {
            node: node.into(),
            param: param.into(),
            reason: format!("holds NaN at [{i}]"),
            help: "every parameter must be a number".into(),
        });
    }
    if let Some(i) = a.data.iter().position(|&v| v != first) {
        return Err(NirError::UnsupportedValue {
            node: node.into(),
            param: param.into(),
            value: format!("{} (at [0]) and {} (at [{i}])", num(first), num(a.data[i])),
            reason: differs.into(),
            help: help.into(),
        });
    }
    Ok(first)
}

fn zeros(node: &str, param: &str, a: &Array, why: &str) -> Result<(), NirError> {
    match a.data.iter().position(|&v| v != 0.0) {
        None => Ok(()),
        Some(i) => Err(NirError::UnsupportedValue {
            node: node.into(),
            param: param.into(),
            value: format!("{} (at [{i}])", num(a.data[i])),
            reason: "is not 0".into(),
            help: why.into(),
        }),
    }
}

fn finite(node: &str, param: &str, a: &Array, j: usize) -> Result<f64, NirError> {
    let v = a.at(j);
    if v.is_finite() {
        Ok(v)
    } else {
        Err(NirError::BadParameter {
            node: node.into(),
            param: param.into(),
            reason: format!("holds {} at [{j}]", num(v)),
            help: "every parameter must be a finite number".into(),
        })
    }
}

fn positive_time(node: &str, param: &str, v: f64) -> Result<(), NirError> {
    if v > 0.0 && v.is_finite() {
        return Ok(());
    }
    Err(NirError::UnsupportedValue {
        node: node.into(),
        param: param.into(),
        value: num(v),
        reason: "is not a time above 0".into(),
        help: "time constants are in seconds, finite and above 0".into(),
    })
}

fn positive(node: &str, param: &str, v: f64) -> Result<(), NirError> {
    if v > 0.0 && v.is_finite() {
        return Ok(());
    }
    Err(NirError::UnsupportedValue {
        node: node.into(),
        param: param.into(),
        value: num(v),
        reason: "is not above 0; snnc's threshold is above the resting voltage 0".into(),
        help: "give a positive threshold".into(),
    })
}

fn distinct(node: &str, tau_syn: f64, tau_mem: f64) -> Result<(), NirError> {
    if tau_syn != tau_mem {
        return Ok(());
    }
    Err(NirError::UnsupportedValue {
        node: node.into(),
        param: "tau_mem".into(),
        value: num(tau_mem),
        reason: "equals tau_syn; snnc's exact EventProp solution divides by their difference".into(),
        help: "make the two time constants differ".into(),
    })
}
