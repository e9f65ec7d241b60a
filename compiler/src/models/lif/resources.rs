//! `lif`'s training records beyond the layer formula (`crate::resources`,
//! which declares it and whose `layer_sram` is the `lif` layer's): one error
//! per neuron and outgoing projection beyond the first, and a regularised
//! layer's spike counts and `rho` (`8n`).

use petgraph::graph::NodeIndex;

use super::{Sram, error_parts};
use crate::network::ValidNetwork;

/// Adjusts the training layer formula `s` of a slice of `n` neurons of
/// `pop` to a `lif` layer's records.
pub(super) fn training_records(s: &mut Sram, net: &ValidNetwork, pop: NodeIndex, n: u64) {
    s.state += 4 * n * (error_parts(net, pop) - 1);
    let regularised =
        net.train.as_ref().and_then(|t| t.regularizer.as_ref()).is_some_and(|r| r.populations.contains(&pop));
    if regularised {
        s.regulariser = 8 * n;
    }
}
