//! The voltage losses' loss PE (`docs/contract.md` section 6): the softmax
//! cross-entropy of the readout's scores, shared by
//! `max_voltage_cross_entropy`, `sum_voltage_cross_entropy` and
//! `exp_weighted_voltage_cross_entropy` (their scores are the `li`
//! readout's, `compiler/src/models/li/lower.rs`), as the reference trainer's
//! `runtime/src/train/losses/voltage.rs` computes it.
//! Part of the lowering's kernel templates (`compiler/src/lower/kernels.rs`,
//! which declares it).

use super::{SLOT_ERROR, VoltageLossShape, common, tag};
use crate::ir::program::buffers;
use crate::kernel::{ConvertOp, EntryPoint, Expr, FunctionBuilder, Kernel, KernelBuilder, Ty, exp_f32, ln_f32};

/// The voltage losses' loss PE of one batch copy (`docs/contract.md`
/// section 6): it receives the readout's scores `y_k` (one packet per
/// class, sent at the last forward tick), and on the last one computes the
/// softmax cross-entropy and sends each readout neuron its error
/// `e_k = (p_k - delta_kl) / B` (before the first backward tick).
pub fn voltage_loss(s: VoltageLossShape, rx_len: u32) -> Kernel {
    let classes = s.classes;
    let mut k = KernelBuilder::new("loss");
    let c = common(&mut k, rx_len);
    let label = k.buffer(buffers::LABEL, Ty::U32, 1);
    let y = k.buffer(buffers::Y, Ty::F32, classes);
    let ez = k.buffer("ez", Ty::F32, classes);
    let err = k.buffer("err", Ty::F32, classes);
    let loss = k.buffer(buffers::LOSS, Ty::F32, 1);
    let count = k.buffer("count", Ty::U32, 1);

    k.define(c.packet(|f, t, index, payload| {
        f.if_(t.get().equals(Expr::i32(tag::SPIKE)), |f| {
            f.store(y, index.get(), payload.get().convert(ConvertOp::F32FromBits));
            let got = f.let_("got", count.at(Expr::u32(0)) + Expr::u32(1));
            f.store(count, Expr::u32(0), got.get());
            f.if_(got.get().equals(Expr::u32(classes)), |f| {
                f.store(count, Expr::u32(0), Expr::u32(0));
                let l = f.let_("l", label.at(Expr::u32(0)));
                let m = f.let_("m", Expr::f32(f32::NEG_INFINITY));
                f.for_range("k", Expr::u32(0), Expr::u32(classes), |f, kv| {
                    let yk = f.let_("yk", y.at(kv.get()));
                    f.assign(m, Expr::select(yk.get().gt(m.get()), yk.get(), m.get()));
                });
                let sum = f.let_("s", Expr::f32(0.0));
                f.for_range("k", Expr::u32(0), Expr::u32(classes), |f, kv| {
                    let e = exp_f32(f, y.at(kv.get()) - m.get());
                    let e = f.let_("e", e);
                    f.store(ez, kv.get(), e.get());
                    f.assign(sum, sum.get() + e.get());
                });
                let ln_s = ln_f32(f, sum.get());
                f.store(loss, Expr::u32(0), (m.get() + ln_s) - y.at(l.get()));
                f.for_range("k", Expr::u32(0), Expr::u32(classes), |f, kv| {
                    let delta = Expr::select(kv.get().equals(l.get()), Expr::f32(1.0), Expr::f32(0.0));
                    let g = f.let_("g", ez.at(kv.get()) / sum.get() - delta);
                    f.store(err, kv.get(), g.get() / Expr::f32(s.batch));
                    f.send_with(c.key(SLOT_ERROR, kv.get()), err.at(kv.get()));
                });
            });
        });
    }));

    let mut f = FunctionBuilder::new(EntryPoint::TickForward);
    let step = f.params()[0];
    f.if_(step.get().equals(Expr::i32(0)), |f| f.store(count, Expr::u32(0), Expr::u32(0)));
    f.store(c.step, Expr::i32(0), step.get());
    k.define(f.finish());
    k.finish()
}
