//! `li`'s kernel IR (`docs/contract.md` sections 3 and 6): a
//! leaky-integrator slice's forward step with its readout's score, and its
//! adjoint tick with the readout's direct term, as the reference trainer's
//! `runtime/src/train/models/li.rs` and its voltage losses compute them.
//! Part of the lowering's kernel templates (`compiler/src/lower/kernels.rs`,
//! which declares it and calls it from the layer kernel).

use super::{AdjointBufs, Common, LayerShape, Lif, ReadoutBufs, SLOT_SPIKE, ScoreShape};
use crate::kernel::{BufRef, ConvertOp, Expr, FunctionBuilder, Var};
use crate::network::LayerConsts;

/// One forward step of an `li` slice (`docs/contract.md` section 3): `I =
/// alpha I + acc`, `V = beta V + gamma I`, and its readout's score; at
/// the last step the scores go to the loss.
#[expect(clippy::too_many_arguments, reason = "the step's buffers and shapes, each used once")]
pub(super) fn update_li(
    f: &mut FunctionBuilder,
    c: &Common,
    l: &Lif,
    cs: LayerConsts,
    step: Var,
    s: &LayerShape,
    score: Option<&ReadoutBufs>,
    steps: u32,
) {
    let ni = Expr::i32(l.n as i32);
    f.for_range("j", Expr::i32(0), ni.clone(), |f, j| {
        let i = f.let_("i", Expr::f32(cs.alpha) * l.i_syn.at(j.get()) + l.acc.at(j.get()));
        f.store(l.i_syn, j.get(), i.get());
        let vn = f.let_("vn", Expr::f32(cs.beta) * l.v.at(j.get()) + Expr::f32(cs.gamma) * i.get());
        f.store(l.v, j.get(), vn.get());
        if let (Some(sb), Some(sc)) = (score, &s.score) {
            match &sc.score {
                ScoreShape::Max => {
                    let better = step.get().equals(Expr::i32(1)) | vn.get().gt(sb.y.at(j.get()));
                    f.if_(better, |f| {
                        f.store(sb.y, j.get(), vn.get());
                        f.store(sb.arg, j.get(), step.get());
                    });
                }
                ScoreShape::Sum { .. } => f.store(sb.y, j.get(), sb.y.at(j.get()) + vn.get()),
                ScoreShape::Weighted { first, end, .. } => {
                    let wtab = sb.wtab.expect("a weight table");
                    let inside = step.get().ge(Expr::i32(*first as i32)) & step.get().lt(Expr::i32(*end as i32));
                    f.if_(inside, |f| {
                        f.store(sb.y, j.get(), sb.y.at(j.get()) + wtab.at(step.get()) * vn.get());
                    });
                }
            }
        }
    });
    if let (Some(sb), Some(sc)) = (score, &s.score) {
        f.if_(step.get().equals(Expr::i32(steps as i32 - 1)), |f| {
            f.for_range("j", Expr::i32(0), ni.clone(), |f, j| {
                if let ScoreShape::Sum { c: factor } = sc.score {
                    f.store(sb.y, j.get(), sb.y.at(j.get()) * Expr::f32(factor));
                }
                if l.sends {
                    f.send_with(c.key(SLOT_SPIKE, j.get().convert(ConvertOp::I32AsU32)), sb.y.at(j.get()));
                }
            });
        });
    }
}

/// `lambda_V[n] = beta lambda_V[n+1] + q[n]` for the neurons whose support
/// holds step `n`, else `beta lambda_V[n+1]` (`docs/contract.md` section 6).
fn inject(f: &mut FunctionBuilder, s: &LayerShape, sb: &ReadoutBufs, lv: BufRef, cs: LayerConsts, n: Expr) {
    let sc = s.score.as_ref().expect("a readout");
    let ni = Expr::i32(s.size as i32);
    let decay = |f: &mut FunctionBuilder, j: Var| f.store(lv, j.get(), Expr::f32(cs.beta) * lv.at(j.get()));
    match &sc.score {
        ScoreShape::Max => f.for_range("j", Expr::i32(0), ni, |f, j| {
            f.if_else(
                sb.arg.at(j.get()).equals(n.clone()),
                |f| f.store(lv, j.get(), Expr::f32(cs.beta) * lv.at(j.get()) + sb.ke.at(j.get())),
                |f| decay(f, j),
            );
        }),
        ScoreShape::Sum { c } => f.for_range("j", Expr::i32(0), ni, |f, j| {
            f.if_else(
                n.clone().ge(Expr::i32(1)),
                |f| f.store(lv, j.get(), Expr::f32(cs.beta) * lv.at(j.get()) + sb.ke.at(j.get()) * Expr::f32(*c)),
                |f| decay(f, j),
            );
        }),
        ScoreShape::Weighted { first, end, .. } => {
            let wtab = sb.wtab.expect("a weight table");
            let inside = n.clone().ge(Expr::i32(*first as i32)) & n.clone().lt(Expr::i32(*end as i32));
            f.for_range("j", Expr::i32(0), ni, |f, j| {
                f.if_else(
                    inside.clone(),
                    |f| {
                        f.store(
                            lv,
                            j.get(),
                            Expr::f32(cs.beta) * lv.at(j.get()) + sb.ke.at(j.get()) * wtab.at(n.clone()),
                        )
                    },
                    |f| decay(f, j),
                );
            });
        }
    }
}

/// The adjoint recurrences of an `li` slice at backward tick `step`: `lI =
/// alpha lI + (1 - alpha) lV`, then `lV = beta lV`, plus a readout's direct
/// term ([`inject`]).
pub(super) fn adjoint_tick(
    f: &mut FunctionBuilder,
    b: AdjointBufs,
    step: Var,
    s: &LayerShape,
    score: Option<&ReadoutBufs>,
) {
    let AdjointBufs { lv, li, cs, n } = b;
    let ni = Expr::i32(n as i32);
    f.for_range("j", Expr::i32(0), ni.clone(), |f, j| {
        let old = f.let_("old", lv.at(j.get()));
        f.store(li, j.get(), Expr::f32(cs.alpha) * li.at(j.get()) + Expr::f32(cs.one_minus_alpha) * old.get());
    });
    match &score {
        Some(sb) => inject(f, s, sb, lv, cs, step.get()),
        None => f.for_range("j", Expr::i32(0), ni.clone(), |f, j| {
            f.store(lv, j.get(), Expr::f32(cs.beta) * lv.at(j.get()));
        }),
    }
}

/// `lambda_V[T-1] = beta * 0 + q[T-1]` of a readout, at the first backward tick (section 6).
pub(super) fn first_adjoint(
    f: &mut FunctionBuilder,
    s: &LayerShape,
    sb: &ReadoutBufs,
    lv: BufRef,
    cs: LayerConsts,
    steps: u32,
) {
    inject(f, s, sb, lv, cs, Expr::i32(steps as i32 - 1));
}
