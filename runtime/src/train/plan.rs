//! The trainer's view of a [`ValidNetwork`]: layers (`lif` and `li`) in
//! declaration order, projections in declaration order with every copy of a
//! delay line expanded (ascending delay), every constant rounded to `f32`
//! once (`docs/contract.md`).
//!
//! Input: a checked network and a time grid (the network's own, or a finer one
//! for the gradient check). Output: a [`Plan`].
//!
//! Invariants: `alpha = exp(-dt/tau_syn)`, `beta = exp(-dt/tau_mem)`,
//! `1 - alpha`, `1 - beta`, `-tau_syn` (seconds), `kappa`, the threshold and
//! the voltage losses' weights are computed in `f64` and rounded to `f32`
//! once; loss constants are converted to steps of the plan's grid. The
//! expanded projections of one network projection are consecutive (its
//! [`Group`]); a layer's `incoming` lists them in fan-in position order.

use petgraph::graph::NodeIndex;
use snnc_compiler::network::{Init, LayerConsts, SpikeSource, TimeGrid, ValidNetwork};

pub use super::losses::{LossConsts, ReadoutLoss, RegularizerPlan, Score};
pub use super::models::LayerKind;

/// Where a projection comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pre {
    Input,
    Layer(usize),
}

/// One weight matrix: a plain projection, or one copy of a delay line.
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
    /// Fan-in of the post population (all its incoming projections' positions).
    pub fan_in: u32,
    /// Its delay in steps: a spike at step `m` lands at step `m + 1 + delay`.
    pub delay: usize,
    /// Index into [`Plan::groups`] (the network projection it belongs to).
    pub group: usize,
    /// Its copy within the group (ascending delay).
    pub copy: usize,
}

/// A network projection: the expanded projections of its copies.
#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    /// Indices into [`Plan::projections`], ascending delay.
    pub members: std::ops::Range<usize>,
    pub n_pre: usize,
    pub n_post: usize,
    pub pre: Pre,
}

#[derive(Clone, Debug)]
pub struct LayerPlan {
    pub name: String,
    pub node: NodeIndex,
    pub size: usize,
    pub kind: LayerKind,
    pub consts: LayerConsts,
    /// Incoming projections (indices into [`Plan::projections`]), fan-in order.
    pub incoming: Vec<usize>,
    /// Outgoing network projections (indices into [`Plan::groups`]), declaration order.
    pub outgoing: Vec<usize>,
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub grid: TimeGrid,
    pub steps: usize,
    pub input_name: String,
    pub input: SpikeSource,
    pub inputs: usize,
    /// Layers (`lif` and `li`) in declaration order.
    pub layers: Vec<LayerPlan>,
    /// Projections in declaration order, delay-line copies expanded.
    pub projections: Vec<ProjPlan>,
    /// The network's projections (declaration order).
    pub groups: Vec<Group>,
    /// The readout layer (index into `layers`) and its loss, when the network
    /// has a `train` block.
    pub readout: Option<(usize, ReadoutLoss)>,
    pub regularizer: Option<RegularizerPlan>,
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
        let order: Vec<NodeIndex> = net.populations().filter(|(_, p)| p.is_layer()).map(|(i, _)| i).collect();
        let layer_of = |n: NodeIndex| order.iter().position(|&m| m == n);
        let mut layers: Vec<LayerPlan> = order
            .iter()
            .map(|&n| {
                let p = &net.graph[n];
                LayerPlan {
                    name: p.name.clone(),
                    node: n,
                    size: p.size as usize,
                    kind: LayerKind::of(p).expect("layers have a model"),
                    consts: p.layer_consts(grid.dt).expect("layers have constants"),
                    incoming: Vec::new(),
                    outgoing: Vec::new(),
                }
            })
            .collect();
        let mut projections = Vec::new();
        let mut groups = Vec::new();
        for (e, a, b, proj) in net.projections() {
            let pre = if a == source { Pre::Input } else { Pre::Layer(layer_of(a).expect("pre is a layer")) };
            let post = layer_of(b).expect("post is a layer");
            let g = groups.len();
            if let Pre::Layer(l) = pre {
                layers[l].outgoing.push(g);
            }
            let start = projections.len();
            for (copy, delay) in proj.delay_steps(grid.dt).into_iter().enumerate() {
                layers[post].incoming.push(projections.len());
                projections.push(ProjPlan {
                    name: net.projection_name(e),
                    pre,
                    post,
                    n_pre: net.graph[a].size as usize,
                    n_post: net.graph[b].size as usize,
                    init: proj.init,
                    fan_in: net.fan_in(b),
                    delay: delay as usize,
                    group: g,
                    copy,
                });
            }
            groups.push(Group {
                name: net.projection_name(e),
                members: start..projections.len(),
                n_pre: net.graph[a].size as usize,
                n_post: net.graph[b].size as usize,
                pre,
            });
        }
        let steps = grid.steps as usize;
        let readout = net.train.as_ref().and_then(|t| {
            let loss = ReadoutLoss::of(&t.loss, grid, steps);
            layer_of(t.readout).map(|l| (l, loss))
        });
        let regularizer =
            net.train.as_ref().and_then(|t| t.regularizer.as_ref()).map(|r| RegularizerPlan::of(r, &order));
        let src = &net.graph[source];
        Ok(Plan {
            grid,
            steps,
            input_name: src.name.clone(),
            input: src.spike_source().expect("is a source").clone(),
            inputs: src.size as usize,
            layers,
            projections,
            groups,
            readout,
            regularizer,
        })
    }

    /// Number of neurons of a projection's pre population.
    pub fn pre_size(&self, p: usize) -> usize {
        self.projections[p].n_pre
    }

    /// The largest delay of any projection, in steps.
    pub fn max_delay(&self) -> usize {
        self.projections.iter().map(|p| p.delay).max().unwrap_or(0)
    }
}
