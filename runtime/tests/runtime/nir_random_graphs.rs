//! The NIR import never panics: random graphs (every node type NIR defines,
//! nested graphs, sizes that agree or not, edges to missing nodes, cycles,
//! parameters that are NaN, infinite, negative, zero or differ per neuron),
//! and feed-forward chains rewired with extra edges (recurrence, skips,
//! cycles) and spliced Delay and Scale nodes, map onto snnc's model class or
//! are refused with an `snn::nir::*` diagnostic. Chains of float32 values
//! written to a file read back as the same graph and import to the same
//! network, weights bit for bit.

use std::collections::BTreeMap;

use proptest::prelude::*;
use snnc_runtime::nir::graph::{self, Array, Graph, Node, Params};
use snnc_runtime::nir::import::{Order, import};

/// A parameter value: mostly sane, sometimes not.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => prop::sample::select(vec![1.0, 0.5, 2.0, 5e-3, 2e-2, 1e-3, 2e-3]),
        1 => prop::sample::select(vec![0.0, -1.0, f64::NAN, f64::INFINITY, 1e30, 1.5e-3]),
    ]
}

/// One value per neuron, mostly the same for all.
fn per_neuron(n: usize) -> impl Strategy<Value = Array> {
    (value(), value(), 0..n.max(1), prop::bool::weighted(0.1), prop::bool::weighted(0.05)).prop_map(
        move |(v, w, at, differ, scalar)| {
            if scalar {
                return Array { shape: vec![], data: vec![v] };
            }
            let mut data = vec![v; n];
            if differ && n > 0 {
                data[at] = w;
            }
            Array::vector(data)
        },
    )
}

fn matrix(rows: usize, cols: usize) -> impl Strategy<Value = Array> {
    (prop::collection::vec(-2.0f64..2.0, rows * cols), prop::bool::weighted(0.05)).prop_map(move |(mut data, nan)| {
        if nan && !data.is_empty() {
            data[0] = f64::NAN;
        }
        Array { shape: vec![rows, cols], data }
    })
}

fn params(kind: &'static str, n: usize) -> impl Strategy<Value = Node> {
    let (required, optional) = graph::neuron_params(kind).expect("a neuron type");
    let names: Vec<&'static str> = required.iter().copied().chain(optional.iter().map(|(p, _)| *p)).collect();
    prop::collection::vec(per_neuron(n), names.len()).prop_map(move |arrays| {
        let params: Params = names.iter().map(|p| p.to_string()).zip(arrays).collect();
        Node::Neuron { kind: kind.to_string(), params }
    })
}

/// A node whose sizes are drawn from `sizes`.
fn node(depth: u32) -> BoxedStrategy<Node> {
    // Mostly one size, so that edges often join nodes that agree.
    let size = || prop::sample::select(vec![2usize, 2, 2, 2, 2, 2, 2, 0, 1, 3]);
    let leaf = prop_oneof![
        size().prop_map(|n| Node::Input { shape: vec![n] }),
        size().prop_map(|n| Node::Output { shape: vec![n] }),
        (size(), size()).prop_flat_map(|(r, c)| matrix(r, c).prop_map(|weight| Node::Linear { weight })),
        (size(), size(), value()).prop_flat_map(|(r, c, b)| {
            matrix(r, c)
                .prop_map(move |weight| Node::Affine { weight, bias: Array::full(r, if b > 1.0 { b } else { 0.0 }) })
        }),
        size().prop_flat_map(|n| per_neuron(n).prop_map(|scale| Node::Scale { scale })),
        size().prop_flat_map(|n| per_neuron(n).prop_map(|delay| Node::Delay { delay })),
        size().prop_flat_map(|n| params("CubaLIF", n)),
        size().prop_flat_map(|n| params("CubaLI", n)),
        size().prop_flat_map(|n| params("LI", n)),
        size().prop_flat_map(|n| params("LIF", n)),
        size().prop_flat_map(|n| params("IF", n)),
        Just(Node::Other { kind: "Conv2d".into() }),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    prop_oneof![9 => leaf, 1 => graph(depth - 1).prop_map(Node::Graph)].boxed()
}

fn graph(depth: u32) -> BoxedStrategy<Graph> {
    prop::collection::vec(node(depth), 1..7)
        .prop_flat_map(|nodes| {
            let n = nodes.len();
            // Endpoints among the nodes, now and then one the graph does not have.
            let end = prop_oneof![19 => 0..n, 1 => n..n + 2];
            (Just(nodes), prop::collection::vec((end.clone(), end), 0..10))
        })
        .prop_map(|(nodes, edges)| {
            let names: Vec<String> = (0..nodes.len()).map(|i| format!("n{i}")).collect();
            let name = |i: usize| if i < names.len() { names[i].clone() } else { format!("ghost{i}") };
            let mut seen = std::collections::BTreeSet::new();
            let edges = edges.into_iter().filter(|e| seen.insert(*e)).map(|(a, b)| (name(a), name(b))).collect();
            Graph { nodes: names.iter().cloned().zip(nodes).collect(), edges, metadata: BTreeMap::new() }
        })
        .boxed()
}

/// A feed-forward chain Input -> (Linear -> CubaLIF)+ -> Output, sane
/// parameters; the random part is the weights and sizes.
fn chain() -> impl Strategy<Value = Graph> {
    prop::collection::vec(1usize..5, 2..5)
        .prop_flat_map(|sizes| {
            let mats: Vec<_> = sizes.windows(2).map(|w| matrix(w[1], w[0])).collect();
            (Just(sizes), mats)
        })
        .prop_map(|(sizes, mats)| {
            let mut nodes = BTreeMap::new();
            let mut edges = Vec::new();
            nodes.insert("input".to_string(), Node::Input { shape: vec![sizes[0]] });
            let mut prev = "input".to_string();
            for (k, mut w) in mats.into_iter().enumerate() {
                w.data.iter_mut().for_each(|v| *v = if v.is_nan() { 0.5 } else { f64::from(*v as f32) });
                let n = sizes[k + 1];
                let p = |v: f64| Array::full(n, f64::from(v as f32));
                let params: Params = [
                    ("tau_syn", p(5e-3)),
                    ("tau_mem", p(2e-2)),
                    ("r", p(1.0 + k as f64)),
                    ("v_leak", p(0.0)),
                    ("v_threshold", p(1.0)),
                    ("v_reset", p(0.0)),
                    ("w_in", p(0.5)),
                ]
                .into_iter()
                .map(|(a, b)| (a.to_string(), b))
                .collect();
                let (fc, lif) = (format!("fc{k}"), format!("lif{k}"));
                nodes.insert(fc.clone(), Node::Linear { weight: w });
                nodes.insert(lif.clone(), Node::Neuron { kind: "CubaLIF".into(), params });
                edges.push((prev.clone(), fc.clone()));
                edges.push((fc, lif.clone()));
                prev = lif;
            }
            nodes.insert("output".to_string(), Node::Output { shape: vec![sizes[sizes.len() - 1]] });
            edges.push((prev, "output".to_string()));
            Graph { nodes, edges, metadata: BTreeMap::new() }
        })
}

/// A chain with extra edges among its nodes (recurrence, skips, cycles,
/// several paths into one population) and Delay or Scale nodes spliced
/// into some edges, with values sane or not.
fn rewired() -> impl Strategy<Value = Graph> {
    (
        chain(),
        prop::collection::vec((0usize..16, 0usize..16), 0..4),
        prop::collection::vec((0usize..32, value(), prop::bool::ANY), 0..3),
    )
        .prop_map(|(mut g, extra, splices)| {
            let names: Vec<String> = g.nodes.keys().cloned().collect();
            for (a, b) in extra {
                let e = (names[a % names.len()].clone(), names[b % names.len()].clone());
                if !g.edges.contains(&e) {
                    g.edges.push(e);
                }
            }
            for (k, (at, v, delay)) in splices.into_iter().enumerate() {
                let at = at % g.edges.len();
                let (a, b) = g.edges.remove(at);
                let name = format!("splice{k}");
                let node = if delay {
                    Node::Delay { delay: Array { shape: vec![], data: vec![v] } }
                } else {
                    Node::Scale { scale: Array { shape: vec![], data: vec![v] } }
                };
                g.nodes.insert(name.clone(), node);
                g.edges.push((a, name.clone()));
                g.edges.push((name, b));
            }
            g
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_graphs_import_or_are_refused(g in graph(2)) {
        if let Err(e) = import(&g, 1e-3, &Order::default()) {
            prop_assert!(e.code_str().starts_with("snn::nir::"), "{e}");
        }
    }

    #[test]
    fn rewired_chains_import_or_are_refused(g in rewired()) {
        if let Err(e) = import(&g, 1e-3, &Order::default()) {
            prop_assert!(e.code_str().starts_with("snn::nir::"), "{e}");
        }
    }

    #[test]
    fn chains_import_and_survive_a_file(g in chain()) {
        let first = import(&g, 1e-3, &Order::default()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.nir");
        std::fs::write(&path, graph::write_bytes(&g).unwrap()).unwrap();
        let file = graph::read(&path).map_err(|e| TestCaseError::fail(e.to_string()))?;
        // Every value is a float32 already: the file holds the same graph,
        // and it imports to the same network, weights bit for bit.
        prop_assert_eq!(&file.graph, &g);
        let again = import(&file.graph, 1e-3, &Order::default()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(first, again);
    }
}
