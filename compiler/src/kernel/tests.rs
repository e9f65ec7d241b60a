use super::examples::{LifExample, exp_ln_probe, lif_layer};
use super::*;

#[test]
fn lif_example_text_form() {
    let kernel = lif_layer(LifExample::default());
    verify(&kernel).expect("the example verifies");
    insta::assert_snapshot!(print_kernel(&kernel));
}

#[test]
fn exp_ln_expansion_text_form() {
    let kernel = exp_ln_probe(8);
    verify(&kernel).expect("the probe verifies");
    insta::assert_snapshot!(print_kernel(&kernel));
}
