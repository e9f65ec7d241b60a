//! Unit tests of the kernel module that the filetests (`tests/kir/`, run
//! by `runtime/tests/runtime/kir_filetests.rs`) cannot express: a wrong type
//! annotation (the text form has none: the parser computes them), the
//! parser's robustness on edited text, and value ranges (only the C
//! backend's checks and the JIT's show them).

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

/// `value_range` knows what the operands' ranges decide and nothing that
/// may wrap.
#[test]
fn value_ranges_follow_the_operands() {
    let i = Expr { ty: Ty::U32, kind: ExprKind::Local(LocalId(0)) };
    let j = Expr { ty: Ty::I32, kind: ExprKind::Local(LocalId(1)) };
    let unknown = Expr { ty: Ty::U32, kind: ExprKind::Local(LocalId(2)) };
    let local = |id: LocalId| match id.0 {
        0 => Some((2, 9)),
        1 => Some((-3, 4)),
        _ => None,
    };
    let range = |e: &Expr| analysis::value_range(e, &local);
    assert_eq!(range(&(i.clone() + Expr::u32(1))), Some((3, 10)));
    assert_eq!(range(&(i.clone() - Expr::u32(2))), Some((0, 7)));
    assert_eq!(range(&(i.clone() - Expr::u32(3))), None, "may wrap below 0");
    assert_eq!(range(&(j.clone() - Expr::i32(1))), Some((-4, 3)));
    assert_eq!(range(&(i.clone() * i.clone())), Some((4, 81)));
    assert_eq!(range(&(i.clone() / Expr::u32(2))), Some((1, 4)));
    assert_eq!(range(&(j.clone() / Expr::i32(2))), None, "a negative dividend");
    assert_eq!(range(&(i.clone() % Expr::u32(4))), Some((0, 3)));
    assert_eq!(range(&(unknown.clone() % Expr::u32(4))), Some((0, 3)));
    assert_eq!(range(&(unknown.clone() & Expr::u32(6))), Some((0, 6)));
    assert_eq!(range(&(unknown.clone() + Expr::u32(1))), None);
    assert_eq!(range(&(i.clone() >> Expr::u32(1))), Some((1, 4)));
    assert_eq!(range(&(Expr::u32(6) - Expr::u32(2))), Some((4, 4)));
    let cond = i.clone().lt(Expr::u32(5));
    assert_eq!(range(&cond), Some((0, 1)));
    assert_eq!(range(&cond.clone().convert(ConvertOp::BoolToU32)), Some((0, 1)));
    assert_eq!(range(&Expr::select(cond, i.clone(), Expr::u32(20))), Some((2, 20)));
    assert_eq!(range(&j.clone().convert(ConvertOp::I32AsU32)), None, "-3 reads as 2^32 - 3");
    assert_eq!(range(&i.convert(ConvertOp::U32AsI32)), Some((2, 9)));
    assert_eq!(range(&Expr::f32(1.0)), None);
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
