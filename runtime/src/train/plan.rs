//! The trainer's view of a [`ValidNetwork`]: LIF layers in topological order,
//! projections in declaration order, every constant rounded to `f32` once.
//!
//! Input: a checked network and a time grid (the network's own, or a finer one
//! for the gradient check). Output: a [`Plan`].
//!
//! Invariants: `alpha = exp(-dt/tau_syn)`, `beta = exp(-dt/tau_mem)`,
//! `1 - alpha`, `1 - beta`, `-tau_syn` (seconds) and the threshold are computed
//! in `f64` and rounded to `f32` once; loss constants are converted to steps of
//! the plan's grid. Layer `k` only receives from the input or from layers `< k`.

use petgraph::graph::NodeIndex;
use snnc_compiler::network::{Init, LayerConsts, LossSpec, SpikeSource, TimeGrid, ValidNetwork};

/// Where a projection comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pre {
    Input,
    Layer(usize),
}

#[derive(Clone, Debug)]
pub struct ProjPlan {
    /// `<pre>-><post>`, the tensor name in weight files.
    pub name: String,
    pub pre: Pre,
    /// Index into [`Plan::layers`].
    pub post: usize,
    pub n_pre: usize,
    pub n_post: usize,
    pub init: Init,
    /// Fan-in of the post population (all its incoming projections).
    pub fan_in: u32,
}

#[derive(Clone, Debug)]
pub struct LayerPlan {
    pub name: String,
    pub node: NodeIndex,
    pub size: usize,
    pub consts: LayerConsts,
    /// Incoming projections (indices into [`Plan::projections`]), declaration order.
    pub incoming: Vec<usize>,
    /// Outgoing projections, declaration order.
    pub outgoing: Vec<usize>,
}

/// Loss constants in steps of the plan's grid, as `f32`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossConsts {
    pub xi: f32,
    pub a: f32,
    pub b: f32,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub grid: TimeGrid,
    pub steps: usize,
    pub input_name: String,
    pub input: SpikeSource,
    pub inputs: usize,
    /// LIF populations in `ValidNetwork::topological_order`.
    pub layers: Vec<LayerPlan>,
    /// Projections in declaration order.
    pub projections: Vec<ProjPlan>,
    /// The readout layer (index into `layers`) and the loss, when the network
    /// has a `train` block.
    pub readout: Option<(usize, LossConsts)>,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PlanError {
    #[error("the reference trainer needs exactly one spike source, this network has {0}")]
    #[diagnostic(code(snn::train::spike_sources), help("merge the inputs into one spike_source population"))]
    SpikeSources(usize),
}

impl Plan {
    /// The plan of `net` on the network's own grid.
    pub fn new(net: &ValidNetwork) -> Result<Plan, PlanError> {
        Plan::on_grid(net, net.time)
    }

    /// The plan of `net` on another grid (constants in time stay fixed).
    pub fn on_grid(net: &ValidNetwork, grid: TimeGrid) -> Result<Plan, PlanError> {
        let sources: Vec<NodeIndex> =
            net.populations().filter(|(_, p)| p.spike_source().is_some()).map(|(i, _)| i).collect();
        if sources.len() != 1 {
            return Err(PlanError::SpikeSources(sources.len()));
        }
        let source = sources[0];
        let order: Vec<NodeIndex> =
            net.topological_order().into_iter().filter(|&n| net.graph[n].lif().is_some()).collect();
        let layer_of = |n: NodeIndex| order.iter().position(|&m| m == n);
        let mut layers: Vec<LayerPlan> = order
            .iter()
            .map(|&n| {
                let p = net.graph[n].lif().expect("filtered to lif");
                LayerPlan {
                    name: net.graph[n].name.clone(),
                    node: n,
                    size: net.graph[n].size as usize,
                    consts: p.f32_consts(grid.dt),
                    incoming: Vec::new(),
                    outgoing: Vec::new(),
                }
            })
            .collect();
        let mut projections = Vec::new();
        for (e, a, b, proj) in net.projections() {
            let pre = if a == source { Pre::Input } else { Pre::Layer(layer_of(a).expect("pre is lif")) };
            let post = layer_of(b).expect("post is lif");
            let idx = projections.len();
            layers[post].incoming.push(idx);
            if let Pre::Layer(l) = pre {
                layers[l].outgoing.push(idx);
            }
            projections.push(ProjPlan {
                name: net.projection_name(e),
                pre,
                post,
                n_pre: net.graph[a].size as usize,
                n_post: net.graph[b].size as usize,
                init: proj.init,
                fan_in: net.fan_in(b),
            });
        }
        let readout = net.train.as_ref().and_then(|t| {
            let LossSpec::FirstSpikeCrossEntropy { xi, alpha, beta } = t.loss;
            layer_of(t.readout).map(|l| {
                (l, LossConsts { xi: xi.in_steps(grid.dt) as f32, a: alpha as f32, b: beta.in_steps(grid.dt) as f32 })
            })
        });
        let src = &net.graph[source];
        Ok(Plan {
            grid,
            steps: grid.steps as usize,
            input_name: src.name.clone(),
            input: src.spike_source().expect("is a source").clone(),
            inputs: src.size as usize,
            layers,
            projections,
            readout,
        })
    }

    /// Number of neurons of a projection's pre population.
    pub fn pre_size(&self, p: usize) -> usize {
        self.projections[p].n_pre
    }
}
