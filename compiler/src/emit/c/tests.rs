use super::*;
use crate::kernel::examples::{LifExample, exp_ln_probe, lif_layer};

#[test]
fn lif_layer_c() {
    let kernel = lif_layer(LifExample::default());
    let mut memory = vec![0u32; kernel.memory_words()];
    for (i, w) in memory.iter_mut().take(20).enumerate() {
        *w = (i as f32 * 0.125 - 1.0).to_bits();
    }
    insta::assert_snapshot!(emit_kernel(&kernel, &memory).expect("emits"));
}

#[test]
fn exp_ln_probe_c() {
    let kernel = exp_ln_probe(4);
    let memory = [
        1.0f32.to_bits(),
        f32::NAN.to_bits(),
        0x7fa0_0001,
        f32::NEG_INFINITY.to_bits(),
    ];
    insta::assert_snapshot!(emit_kernel(&kernel, &memory).expect("emits"));
}
