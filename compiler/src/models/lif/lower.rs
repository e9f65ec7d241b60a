//! `lif`'s kernel IR (`docs/contract.md` sections 2 and 4): a layer slice's
//! forward tick (the update, each spike logged with `I` and `Vt`) and its
//! adjoint tick (the jumps at its own spikes, the regulariser's `rho`), as
//! the reference trainer's `runtime/src/train/models/lif.rs` computes them.
//! Part of the lowering's kernel templates (`compiler/src/lower/kernels.rs`,
//! which declares it and calls it from the layer kernel).

use super::{AdjointBufs, Common, GUARD, LayerShape, Lif, OVERFLOW_SPIKES, SLOT_SPIKE, SpikeLog, accumulate_inputs};
use crate::kernel::{BufRef, ConvertOp, DmaDir, Expr, FunctionBuilder, Var};
use crate::network::LayerConsts;

/// One forward step `step >= 1` of a LIF slice after its inputs are in
/// `acc` (`docs/contract.md` section 2): `I = alpha I + acc`; `Vt = beta V +
/// gamma I`; a neuron with `Vt > theta` is reset to 0, handed to
/// `on_spike(f, j, I, Vt)` and sends its spike; any other keeps `V = Vt`.
pub(super) fn update_lif(
    f: &mut FunctionBuilder,
    c: &Common,
    l: &Lif,
    cs: LayerConsts,
    on_spike: impl Fn(&mut FunctionBuilder, Var, Var, Var),
) {
    let ni = Expr::i32(l.n as i32);
    f.for_range("j", Expr::i32(0), ni, |f, j| {
        let i = f.let_("i", Expr::f32(cs.alpha) * l.i_syn.at(j.get()) + l.acc.at(j.get()));
        f.store(l.i_syn, j.get(), i.get());
        let vt = f.let_("vt", Expr::f32(cs.beta) * l.v.at(j.get()) + Expr::f32(cs.gamma) * i.get());
        f.if_else(
            vt.get().gt(Expr::f32(cs.theta)),
            |f| {
                f.store(l.v, j.get(), Expr::f32(0.0));
                on_spike(f, j, i, vt);
                if l.sends {
                    f.send(c.key(SLOT_SPIKE, j.get().convert(ConvertOp::I32AsU32)));
                }
            },
            |f| f.store(l.v, j.get(), vt.get()),
        );
    });
}

/// The forward tick `step >= 1` of a `lif` slice: its inputs, its update,
/// and each spike logged in `r` (`step * n + neuron`, `I`, `Vt`; a full log
/// sets `overflow`), with the step's first entry in `rec_off`; with the log
/// in DRAM, the step's entries written there after the update, and each
/// spike counted in `count` (the regulariser's counts).
pub(super) fn forward_tick(
    f: &mut FunctionBuilder,
    c: &Common,
    lif: &Lif,
    s: &LayerShape,
    step: Var,
    r: &SpikeLog,
    count: Option<BufRef>,
) {
    let (cs, ni) = (s.consts, Expr::i32(lif.n as i32));
    f.store(r.off, step.get(), r.len.at(Expr::i32(0)));
    accumulate_inputs(f, lif, s, step);
    let rec_cap = r.capacity(s.spike_capacity);
    update_lif(f, c, lif, cs, |f, j, i, vt| {
        let at = f.let_("at", r.len.at(Expr::i32(0)));
        f.if_else(
            at.get().lt(rec_cap.clone()),
            |f| {
                // SRAM: entry `at`; DRAM: its place among the step's.
                let slot = if r.dram.is_some() { f.let_("slot", r.slot(at.get(), step.get())) } else { at };
                f.store(r.key, slot.get(), step.get() * ni.clone() + j.get());
                f.store(r.i, slot.get(), i.get());
                f.store(r.vt, slot.get(), vt.get());
                f.store(r.len, Expr::i32(0), at.get() + Expr::i32(1));
            },
            |f| f.store(r.overflow, Expr::i32(0), Expr::i32(OVERFLOW_SPIKES)),
        );
        if let Some(cnt) = count {
            f.store(cnt, j.get(), cnt.at(j.get()) + Expr::i32(1));
        }
    });
    f.store(r.off, step.get() + Expr::i32(1), r.len.at(Expr::i32(0)));
    let first = r.off.at(step.get());
    r.transfer(f, DmaDir::Write, first.clone(), r.len.at(Expr::i32(0)) - first);
}

/// The adjoint recurrences of a `lif` slice at backward tick `step`: `lI =
/// alpha lI + (1 - alpha) lV`, `lV = beta lV` plus, at each own spike of
/// step `n+1` (`rec_key[sp .. sp_end]`, ascending neuron; `nxt`: the next
/// one), the jump `(theta lV + e) / ((I - Vt) + 1e-10)` from the old `lV`
/// and the error parts `e_out` (cleared after), minus the regulariser's `rho`.
pub(super) fn adjoint_tick(
    f: &mut FunctionBuilder,
    b: AdjointBufs,
    step: Var,
    r: &SpikeLog,
    e_out: BufRef,
    parts: u32,
    rho: Option<BufRef>,
) {
    let AdjointBufs { lv, li, cs, n } = b;
    let ni = Expr::i32(n as i32);
    let next = f.let_("next", (step.get() + Expr::i32(1)) * ni.clone());
    let sp = f.let_("sp", r.off.at(step.get() + Expr::i32(1)));
    let sp_end = f.let_("sp_end", r.off.at(step.get() + Expr::i32(2)));
    if r.dram.is_some() {
        // The entries of step n+1, read into slots 0 .. their count.
        r.transfer(f, DmaDir::Read, sp.get(), sp_end.get() - sp.get());
        f.assign(sp_end, sp_end.get() - sp.get());
        f.assign(sp, Expr::i32(0));
    }
    let nxt = f.let_("nxt", ni.clone());
    f.if_(sp.get().lt(sp_end.get()), |f| f.assign(nxt, r.key.at(sp.get()) - next.get()));
    f.for_range("j", Expr::i32(0), ni.clone(), |f, j| {
        let old = f.let_("old", lv.at(j.get()));
        f.store(li, j.get(), Expr::f32(cs.alpha) * li.at(j.get()) + Expr::f32(cs.one_minus_alpha) * old.get());
        f.if_else(
            j.get().equals(nxt.get()),
            |f| {
                let den = (r.i.at(sp.get()) - r.vt.at(sp.get())) + Expr::f32(GUARD);
                // The parts added in declaration order, as the reference does.
                let part = |q: u32| e_out.at(j.get() + Expr::i32((q * n) as i32));
                let e = (1..parts).fold(e_out.at(j.get()), |e, q| e + part(q));
                // `theta * lV` (section 4.1); a threshold of 1 multiplies by 1.0,
                // which changes no bits, so the kernel leaves it out.
                let lvt = if cs.theta == 1.0 { old.get() } else { Expr::f32(cs.theta) * old.get() };
                let jump = f.let_("jump", (lvt + e) / den);
                f.store(lv, j.get(), Expr::f32(cs.beta) * old.get() + jump.get());
                if let Some(rho) = rho {
                    f.store(lv, j.get(), lv.at(j.get()) - rho.at(j.get()));
                }
                f.store(e_out, j.get(), Expr::f32(0.0));
                for q in 1..parts {
                    f.store(e_out, j.get() + Expr::i32((q * n) as i32), Expr::f32(0.0));
                }
                f.assign(sp, sp.get() + Expr::i32(1));
                f.assign(nxt, ni.clone());
                f.if_(sp.get().lt(sp_end.get()), |f| f.assign(nxt, r.key.at(sp.get()) - next.get()));
            },
            |f| f.store(lv, j.get(), Expr::f32(cs.beta) * old.get()),
        );
    });
}
