//! Unit tests of the kernel module that the filetests (`tests/kir/`, run
//! by `runtime/tests/kir_filetests.rs`) cannot express: a wrong type
//! annotation (the text form has none: the parser computes them) and the
//! parser's robustness on edited text.

use super::*;

/// The corpus's LIF layer, in the printer's form.
fn lif_text() -> String {
    let text = include_str!("../../../tests/kir/examples/lif_layer.kir");
    print_kernel(&parse_kernel(text).expect("the example parses"))
}

/// An expression annotated with another type than its real one is a type
/// mismatch (only a built kernel can have one).
#[test]
fn a_wrong_annotation_is_a_type_mismatch() {
    let mut k = KernelBuilder::with_budget("case", 256);
    let f = k.buffer("f", Ty::F32, 4);
    let mut fb = FunctionBuilder::new(EntryPoint::TickForward);
    let mut e = Expr::f32(1.0);
    e.ty = Ty::I32;
    fb.store(f, Expr::u32(0), e);
    k.define(fb.finish());
    let errors = verify(&k.finish()).expect_err("a wrong annotation");
    let messages: Vec<String> = errors.errors.iter().map(ToString::to_string).collect();
    assert_eq!(messages, ["fn tick_forward: annotated expression has type i32, expected f32, in `1.0`"]);
    assert_eq!(errors.sites, [Site::Stmt { function: 2, stmt: 0 }]);
}

proptest::proptest! {
    /// Edited text never makes the parser panic: it parses (and then the
    /// verifier and the printer do not panic either) or reports an error with
    /// a span inside the text.
    #[test]
    fn parser_never_panics_on_edited_text(
        edits in proptest::collection::vec((0usize..4000, 0usize..6, proptest::char::any()), 1..6)
    ) {
        let mut text: Vec<char> = lif_text().chars().collect();
        for (at, len, c) in edits {
            let at = at % (text.len() + 1);
            let end = (at + len).min(text.len());
            text.splice(at..end, [c]);
        }
        let text: String = text.into_iter().collect();
        match parse_kernel_with_map(&text) {
            Ok((kernel, map)) => {
                if let Err(e) = verify(&kernel) {
                    for site in e.sites {
                        proptest::prop_assert!(map.offset(site).is_some_and(|o| o <= text.len()), "{site:?}");
                    }
                }
                print_kernel(&kernel);
            }
            Err(e) => proptest::prop_assert!(e.span.offset() <= text.len()),
        }
    }
}
