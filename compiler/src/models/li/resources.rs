//! `li`'s training records in the SRAM formula (`crate::resources`, which
//! declares it): `I`, `V`, `lI`, `lV` and the input sum, no error and no
//! spike record; as a readout its score, the step of its maximum and `kappa
//! e` per neuron (`12n`) and, for the exp-weighted loss, the weight of every
//! step (`4T`).

use petgraph::graph::NodeIndex;

use super::Sram;
use crate::network::{LossSpec, ValidNetwork};

/// Adjusts the training layer formula `s` of a slice of `n` neurons of
/// `pop` over `steps` steps to an `li` layer's records.
pub(super) fn training_records(s: &mut Sram, net: &ValidNetwork, pop: NodeIndex, n: u64, steps: u64) {
    // I, V, lI, lV, the input sum: no error, no spike record.
    s.state = 20 * n;
    s.spike_record = 0;
    let train = net.train.as_ref().filter(|t| t.readout == pop);
    if let Some(t) = train {
        let table = match t.loss {
            LossSpec::ExpWeightedVoltageCrossEntropy { .. } => 4 * steps,
            _ => 0,
        };
        s.readout = 12 * n + table;
    }
}
