use super::build::{BufRef, Var};
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

/// A valid kernel with one buffer of each type, to break in one place.
fn base() -> (KernelBuilder, [BufRef; 3]) {
    let mut k = KernelBuilder::with_budget("case", 256);
    let f = k.buffer("f", Ty::F32, 4);
    let i = k.buffer("i", Ty::I32, 4);
    let u = k.buffer("u", Ty::U32, 4);
    (k, [f, i, u])
}

/// The kernel of `base` with `tick_forward` written by `body`.
fn with_tick(body: impl FnOnce(&mut FunctionBuilder, [BufRef; 3])) -> Kernel {
    let (mut k, bufs) = base();
    let mut fb = FunctionBuilder::new(EntryPoint::TickForward);
    body(&mut fb, bufs);
    k.define(fb.finish());
    k.finish()
}

fn step(fb: &FunctionBuilder) -> Expr {
    fb.params()[0].get()
}

/// Broken kernels, one violation each (a few have two), and the verifier's
/// messages for them.
#[test]
fn verifier_rejects_each_violation() {
    let cases: Vec<(&str, Kernel)> = vec![
        ("valid", with_tick(|fb, [f, _, _]| fb.store(f, Expr::u32(3), Expr::f32(1.0)))),
        ("bool buffer", {
            let (mut k, _) = base();
            k.buffer("flags", Ty::Bool, 1);
            k.finish()
        }),
        ("misaligned buffer", {
            let (k, _) = base();
            let mut k = k.finish();
            k.buffers[1].offset = 18;
            k
        }),
        ("over budget", {
            let (mut k, _) = base();
            k.buffer("big", Ty::F32, 60);
            k.finish()
        }),
        ("overlapping buffers", {
            let (k, _) = base();
            let mut k = k.finish();
            k.buffers[2].offset = 20;
            k
        }),
        ("duplicate buffer name", {
            let (mut k, _) = base();
            k.buffer("f", Ty::U32, 1);
            k.finish()
        }),
        ("missing entry", {
            let (k, _) = base();
            let mut k = k.finish();
            k.functions.retain(|f| f.entry != EntryPoint::EndOfBatch);
            k
        }),
        ("duplicate entry", {
            let (k, _) = base();
            let mut k = k.finish();
            k.functions.push(FunctionBuilder::new(EntryPoint::Init).finish());
            k
        }),
        ("bad parameters", {
            let (k, _) = base();
            let mut k = k.finish();
            k.functions[2].locals[0].ty = Ty::U32;
            k
        }),
        ("duplicate local", {
            let (k, _) = base();
            let mut k = k.finish();
            let mut fb = FunctionBuilder::new(EntryPoint::Init);
            fb.let_("a", Expr::i32(1));
            fb.let_("b", Expr::i32(2));
            let mut f = fb.finish();
            f.locals[1].name = "a".into();
            k.functions[0] = f;
            k
        }),
        (
            "unknown local and buffer",
            with_tick(|fb, _| {
                let ghost = Var { id: LocalId(99), ty: Ty::I32 };
                fb.assign(ghost, Expr::i32(0));
                let nowhere = BufRef { id: BufferId(7), elem: Ty::F32 };
                fb.store(nowhere, Expr::u32(0), Expr::f32(0.0));
            }),
        ),
        (
            "read before assignment",
            with_tick(|fb, [_, i, _]| {
                let x = fb.local("x", Ty::I32);
                fb.store(i, Expr::u32(0), x.get());
            }),
        ),
        (
            "assigned on one path only",
            with_tick(|fb, [_, i, _]| {
                let x = fb.local("x", Ty::I32);
                let s = step(fb);
                fb.if_(s.lt(Expr::i32(3)), |fb| fb.assign(x, Expr::i32(1)));
                fb.store(i, Expr::u32(0), x.get());
            }),
        ),
        (
            "assigned on both paths",
            with_tick(|fb, [_, i, _]| {
                let x = fb.local("x", Ty::I32);
                let s = step(fb);
                fb.if_else(s.lt(Expr::i32(3)), |fb| fb.assign(x, Expr::i32(1)), |fb| fb.assign(x, Expr::i32(2)));
                fb.store(i, Expr::u32(0), x.get());
            }),
        ),
        (
            "loop variable read after the loop",
            with_tick(|fb, [_, _, u]| {
                let mut seen = None;
                fb.for_range("n", Expr::u32(0), Expr::u32(4), |_, n| seen = Some(n));
                if let Some(n) = seen {
                    fb.store(u, Expr::u32(0), n.get());
                }
            }),
        ),
        (
            "loop variable assigned",
            with_tick(|fb, _| {
                fb.for_range("n", Expr::u32(0), Expr::u32(4), |fb, n| fb.assign(n, Expr::u32(1)));
            }),
        ),
        (
            "loop variable reused by a nested loop",
            with_tick(|fb, [_, _, u]| {
                fb.for_range("n", Expr::u32(0), Expr::u32(4), |fb, n| {
                    let body = fb.block(|fb| fb.store(u, n.get(), n.get()));
                    fb.push(Stmt::For { var: n.id, start: Expr::u32(0), end: Expr::u32(2), body });
                });
            }),
        ),
        (
            "mixed operand types",
            with_tick(|fb, [f, _, _]| {
                fb.store(f, Expr::u32(0), Expr::f32(1.0) + Expr::i32(1));
            }),
        ),
        (
            "stored value of the wrong type",
            with_tick(|fb, [_, i, _]| {
                fb.store(i, Expr::u32(0), Expr::u32(1));
            }),
        ),
        (
            "assigned value of the wrong type",
            with_tick(|fb, _| {
                let x = fb.local("x", Ty::F32);
                fb.assign(x, Expr::i32(1));
            }),
        ),
        (
            "condition not bool",
            with_tick(|fb, _| {
                fb.if_(Expr::i32(1), |_| {});
            }),
        ),
        (
            "select arms differ",
            with_tick(|fb, [f, _, _]| {
                fb.store(f, Expr::u32(0), Expr::select(Expr::bool(true), Expr::f32(1.0), Expr::i32(0)));
            }),
        ),
        (
            "float index",
            with_tick(|fb, [f, _, _]| {
                fb.store(f, Expr::f32(0.0), Expr::f32(1.0));
            }),
        ),
        (
            "loop bounds of different types",
            with_tick(|fb, _| {
                fb.for_range("n", Expr::u32(0), Expr::i32(4), |_, _| {});
            }),
        ),
        (
            "float loop",
            with_tick(|fb, _| {
                fb.for_range("n", Expr::f32(0.0), Expr::f32(4.0), |_, _| {});
            }),
        ),
        (
            "key not u32, bool payload",
            with_tick(|fb, _| {
                fb.send_with(Expr::i32(1), Expr::bool(true));
            }),
        ),
        (
            "wrong annotation",
            with_tick(|fb, [f, _, _]| {
                let mut e = Expr::f32(1.0);
                e.ty = Ty::I32;
                fb.store(f, Expr::u32(0), e);
            }),
        ),
        (
            "conversion of the wrong type",
            with_tick(|fb, [f, _, _]| {
                fb.store(f, Expr::u32(0), Expr::f32(1.0).convert(ConvertOp::I32ToF32));
            }),
        ),
        (
            "operators undefined on the type",
            with_tick(|fb, [f, i, _]| {
                fb.store(f, Expr::u32(0), Expr::f32(1.0) % Expr::f32(2.0));
                fb.store(i, Expr::u32(0), Expr::i32(4).sqrt());
                fb.if_(Expr::bool(true).lt(Expr::bool(false)), |_| {});
                fb.store(f, Expr::u32(1), -(Expr::f32(1.0) & Expr::f32(1.0)));
            }),
        ),
        (
            "constant index out of bounds",
            with_tick(|fb, [f, i, _]| {
                fb.store(f, Expr::u32(4), Expr::f32(1.0));
                fb.store(i, Expr::i32(-1), i.at(Expr::u32(9)));
            }),
        ),
    ];
    let mut report = String::new();
    for (name, kernel) in &cases {
        report.push_str(&format!("{name}:\n"));
        match verify(kernel) {
            Ok(_) => report.push_str("  ok\n"),
            Err(e) => {
                assert_ne!(*name, "valid");
                for err in &e.errors {
                    let code = miette::Diagnostic::code(err).map(|c| c.to_string()).unwrap_or_default();
                    report.push_str(&format!("  [{code}] {err}\n"));
                }
            }
        }
    }
    let valid = ["valid", "assigned on both paths"];
    for (name, kernel) in &cases {
        assert_eq!(verify(kernel).is_ok(), valid.contains(name), "{name}");
    }
    insta::assert_snapshot!(report);
}

#[test]
fn examples_round_trip_through_the_text_form() {
    for kernel in [lif_layer(LifExample::default()), exp_ln_probe(8)] {
        let text = print_kernel(&kernel);
        let parsed = parse_kernel(&text).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(parsed, kernel);
    }
}

/// Syntax errors point at the offending token.
#[test]
fn parser_reports_the_first_syntax_error() {
    let good = print_kernel(&lif_layer(LifExample::default()));
    let cases = [
        ("no header", "buffer v: f32[4] @ 0".to_string()),
        ("unknown entry", good.replace("fn init()", "fn start()")),
        ("unknown local", good.replace("row = (key", "row = (kee")),
        ("unknown buffer", good.replace("acc[n] = acc[n] + weights", "acc[n] = acc[n] + weight")),
        ("unknown operator", good.replace("send(0x20000u | n)", "send(foo(n))")),
        ("bad number", good.replace("0.95", "0.95f")),
        ("missing brace", good.replace("} else {", "} else")),
        ("stray character", good.replace("budget 98304", "budget 98304 #")),
        ("wrong arity", good.replace("send(0x20000u | n)", "send(min(n))")),
    ];
    let mut report = String::new();
    for (name, text) in cases {
        let err = parse_kernel(&text).expect_err(name);
        let offset = err.span.offset();
        let line = text[..offset].matches('\n').count() + 1;
        let snippet: String = text[offset..].chars().take(12).collect();
        report.push_str(&format!("{name}: line {line}: {err} (at `{}`)\n", snippet.replace('\n', "\\n")));
    }
    insta::assert_snapshot!(report);
}

#[test]
fn names_must_be_identifiers() {
    let mut k = KernelBuilder::new("bad name");
    k.buffer("if", Ty::F32, 1);
    let mut fb = FunctionBuilder::new(EntryPoint::Init);
    fb.let_("x.y", Expr::f32(1.0));
    k.define(fb.finish());
    let errors = verify(&k.finish()).expect_err("invalid names").errors;
    let names: Vec<String> = errors
        .iter()
        .filter_map(|e| match e {
            KernelError::BadName { what, name } => Some(format!("{what} {name}")),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["kernel bad name", "buffer if", "local x.y"]);
}

proptest::proptest! {
    /// Edited text never makes the parser panic: it parses (and then the
    /// verifier and the printer do not panic either) or reports an error with
    /// a span inside the text.
    #[test]
    fn parser_never_panics_on_edited_text(
        edits in proptest::collection::vec((0usize..4000, 0usize..6, proptest::char::any()), 1..6)
    ) {
        let mut text: Vec<char> = print_kernel(&lif_layer(LifExample::default())).chars().collect();
        for (at, len, c) in edits {
            let at = at % (text.len() + 1);
            let end = (at + len).min(text.len());
            text.splice(at..end, [c]);
        }
        let text: String = text.into_iter().collect();
        match parse_kernel(&text) {
            Ok(kernel) => {
                let _ = verify(&kernel);
                print_kernel(&kernel);
            }
            Err(e) => proptest::prop_assert!(e.span.offset() <= text.len()),
        }
    }
}
