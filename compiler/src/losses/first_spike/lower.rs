//! `first_spike_cross_entropy`'s loss PE (`docs/contract.md` section 5), as
//! the reference trainer's `runtime/src/train/losses/first_spike.rs`
//! computes it, with the IR expansions of `exp_f32`/`ln_f32`.
//! Part of the lowering's kernel templates (`compiler/src/lower/kernels.rs`,
//! which declares it).

use super::{LossShape, SLOT_ERROR, common, fill, tag};
use crate::ir::program::buffers;
use crate::kernel::{ConvertOp, EntryPoint, Expr, FunctionBuilder, Kernel, KernelBuilder, Ty, exp_f32, ln_f32};

/// The first-spike loss of one batch copy.
pub fn loss(s: LossShape, rx_len: u32, steps: u32) -> Kernel {
    let classes = s.classes;
    let mut k = KernelBuilder::new("loss");
    let c = common(&mut k, rx_len);
    let label = k.buffer(buffers::LABEL, Ty::U32, 1);
    let first = k.buffer(buffers::FIRST, Ty::I32, classes);
    let z = k.buffer("z", Ty::F32, classes);
    let ez = k.buffer("ez", Ty::F32, classes);
    let err = k.buffer("err", Ty::F32, classes);
    let loss = k.buffer(buffers::LOSS, Ty::F32, 1);

    k.define(c.packet(|f, t, index, _| {
        f.if_(t.get().equals(Expr::i32(tag::SPIKE)), |f| {
            f.if_(first.at(index.get()).lt(Expr::i32(0)), |f| {
                f.store(first, index.get(), c.step.at(Expr::i32(0)));
            });
        });
    }));

    let mut f = FunctionBuilder::new(EntryPoint::TickForward);
    let step = f.params()[0];
    f.if_(step.get().equals(Expr::i32(0)), |f| fill(f, first, classes, Expr::i32(-1)));
    f.store(c.step, Expr::i32(0), step.get());
    k.define(f.finish());

    let mut f = FunctionBuilder::new(EntryPoint::TickBackward);
    let step = f.params()[0];
    f.if_(step.get().equals(Expr::i32(steps as i32 - 2)), |f| {
        let l = f.let_("l", label.at(Expr::u32(0)));
        let m = f.let_("m", Expr::f32(f32::NEG_INFINITY));
        f.for_range("k", Expr::u32(0), Expr::u32(classes), |f, kv| {
            let fk = first.at(kv.get());
            let t = Expr::select(fk.clone().lt(Expr::i32(0)), Expr::i32(steps as i32), fk).convert(ConvertOp::I32ToF32);
            let zk = f.let_("zk", -(t / Expr::f32(s.xi)));
            f.store(z, kv.get(), zk.get());
            f.assign(m, Expr::select(zk.get().gt(m.get()), zk.get(), m.get()));
        });
        let sum = f.let_("s", Expr::f32(0.0));
        f.for_range("k", Expr::u32(0), Expr::u32(classes), |f, kv| {
            let e = exp_f32(f, z.at(kv.get()) - m.get());
            let e = f.let_("e", e);
            f.store(ez, kv.get(), e.get());
            f.assign(sum, sum.get() + e.get());
        });
        let fl = first.at(l.get());
        let tl = Expr::select(fl.clone().lt(Expr::i32(0)), Expr::i32(steps as i32), fl).convert(ConvertOp::I32ToF32);
        let reg = exp_f32(f, tl / Expr::f32(s.b));
        let reg = f.let_("reg", reg);
        let ln_s = ln_f32(f, sum.get());
        f.store(loss, Expr::u32(0), ((m.get() + ln_s) - z.at(l.get())) + Expr::f32(s.a) * (reg.get() - Expr::f32(1.0)));
        f.for_range("k", Expr::u32(0), Expr::u32(classes), |f, kv| {
            let delta = Expr::select(kv.get().equals(l.get()), Expr::f32(1.0), Expr::f32(0.0));
            let g = f.let_("g", (delta - ez.at(kv.get()) / sum.get()) / Expr::f32(s.xi));
            f.if_(kv.get().equals(l.get()), |f| {
                f.assign(g, g.get() + (Expr::f32(s.a) * reg.get()) / Expr::f32(s.b));
            });
            f.store(err, kv.get(), g.get() / Expr::f32(s.batch));
        });
    });
    f.for_range("k", Expr::u32(0), Expr::u32(classes), |f, kv| {
        f.if_(first.at(kv.get()).equals(step.get()), |f| {
            f.send_with(c.key(SLOT_ERROR, kv.get()), err.at(kv.get()));
        });
    });
    k.define(f.finish());
    k.finish()
}
