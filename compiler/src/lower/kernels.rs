//! The kernel templates: input, layer (each neuron model's forward and
//! adjoint ticks in its `lower.rs`, `compiler/src/models/`), the loss PEs (in
//! their losses' `lower.rs`, `compiler/src/losses/`), Adam and SGD
//! optimisers. Buffer names are the host interface documented in the parent
//! module; floating-point order follows the reference trainer exactly.

use super::{
    AdamShape, CopyShape, LayerKind, LayerShape, LossShape, SLOT_ERROR, SLOT_GRADIENT, SLOT_SPIKE, SLOT_WEIGHT,
    ScoreShape, SgdShape, VoltageLossShape, tag,
};
use crate::ir::program::buffers;
use crate::kernel::{
    BufRef, ConvertOp, DmaDir, EntryPoint, Expr, FunctionBuilder, Kernel, KernelBuilder, Ty, UnaryOp, Var,
};
use crate::network::LayerConsts;

// Each neuron model's forward and adjoint steps live in its folder (`compiler/src/models/`).
#[path = "../models/li/lower.rs"]
mod li;
#[path = "../models/lif/lower.rs"]
mod lif;
use li::update_li;
use lif::update_lif;

// The loss PEs live in their losses' folders (`compiler/src/losses/`).
#[path = "../losses/first_spike/lower.rs"]
mod first_spike;
#[path = "../losses/voltage/lower.rs"]
mod voltage;
pub use first_spike::loss;
pub use voltage::voltage_loss;

/// The reference's denominator guard (`I - Vt + 1e-10`).
const GUARD: f32 = 1e-10;

/// A layer's `overflow` flag: its spike record was full.
pub const OVERFLOW_SPIKES: i32 = 1;

/// Buffers every kernel has: its send keys, its receive table, the step.
struct Common {
    tx: BufRef,
    rx_key: BufRef,
    rx_mask: BufRef,
    rx_lo: BufRef,
    rx_hi: BufRef,
    rx_off: BufRef,
    rx_tag: BufRef,
    step: BufRef,
    rx_len: u32,
}

fn common(k: &mut KernelBuilder, rx_len: u32) -> Common {
    Common {
        tx: k.buffer(buffers::TX, Ty::U32, 4),
        rx_key: k.buffer("rx_key", Ty::U32, rx_len),
        rx_mask: k.buffer("rx_mask", Ty::U32, rx_len),
        rx_lo: k.buffer("rx_lo", Ty::U32, rx_len),
        rx_hi: k.buffer("rx_hi", Ty::U32, rx_len),
        rx_off: k.buffer(buffers::RX_OFF, Ty::I32, rx_len),
        rx_tag: k.buffer(buffers::RX_TAG, Ty::I32, rx_len),
        step: k.buffer("step", Ty::I32, 1),
        rx_len,
    }
}

impl Common {
    /// The packet handler: finds the last receive-table entry whose key is at
    /// most the packet's (the table is sorted by key, its ranges disjoint) by
    /// a binary search of fixed length, and if its key/mask and index range
    /// match, calls `handle(fb, tag, index, payload)`.
    fn packet(&self, handle: impl Fn(&mut FunctionBuilder, Var, Var, Var)) -> crate::kernel::Function {
        let mut f = FunctionBuilder::new(EntryPoint::Packet);
        if self.rx_len == 0 {
            return f.finish();
        }
        let [key, payload] = [f.params()[0], f.params()[1]];
        let r = f.let_("r", Expr::u32(0));
        let n = f.let_("n", Expr::u32(self.rx_len));
        let rounds = u32::BITS - (self.rx_len - 1).leading_zeros();
        f.for_range("round", Expr::u32(0), Expr::u32(rounds), |f, _| {
            let half = f.let_("half", n.get() / Expr::u32(2));
            f.if_(self.rx_key.at(r.get() + half.get()).le(key.get()), |f| {
                f.assign(r, r.get() + half.get());
            });
            f.assign(n, n.get() - half.get());
        });
        let mask = self.rx_mask.at(r.get());
        f.if_((key.get() & mask.clone()).equals(self.rx_key.at(r.get())), |f| {
            let raw = f.let_("raw", key.get() & !mask);
            let inside = raw.get().ge(self.rx_lo.at(r.get())) & raw.get().lt(self.rx_hi.at(r.get()));
            f.if_(inside, |f| {
                let index = f.let_("index", raw.get().convert(ConvertOp::U32AsI32) + self.rx_off.at(r.get()));
                let t = f.let_("tag", self.rx_tag.at(r.get()));
                handle(f, t, index, payload);
            });
        });
        f.finish()
    }

    /// The key of packet `index` of the flow in send slot `slot`.
    fn key(&self, slot: u32, index: Expr) -> Expr {
        self.tx.at(Expr::u32(slot)) | index
    }
}

fn fill(f: &mut FunctionBuilder, buf: BufRef, len: u32, value: Expr) {
    f.for_range("z", Expr::u32(0), Expr::u32(len), |f, i| f.store(buf, i.get(), value.clone()));
}

/// The input PE: sends a spike for neuron `i` at the forward tick
/// `spike_step[i]` (written by the host per sample); with no post
/// population (`sends` false) it does nothing.
pub fn input(name: &str, n: u32, rx_len: u32, sends: bool) -> Kernel {
    let mut k = KernelBuilder::new(&format!("input_{name}"));
    let c = common(&mut k, rx_len);
    let steps = k.buffer(buffers::SPIKE_STEP, Ty::U32, n);
    if !sends {
        // Its spikes go nowhere: nothing to do.
        return k.finish();
    }
    let mut f = FunctionBuilder::new(EntryPoint::TickForward);
    let step = f.params()[0];
    f.for_range("i", Expr::u32(0), Expr::u32(n), |f, i| {
        f.if_(steps.at(i.get()).equals(step.get().convert(ConvertOp::I32AsU32)), |f| {
            f.send(c.key(SLOT_SPIKE, i.get()));
        });
    });
    k.define(f.finish());
    k.finish()
}

/// A layer slice of `n` neurons (`lif` or `li`) of a network that trains.
///
/// Records (sized by the partitioner's resource model, see the parent
/// module): the input spikes as bits `in_bits` (bit `step * raw + position`,
/// one position per pre neuron of each incoming projection: a delay line's
/// copies read them at their own delays), and for `lif` the own spikes as a
/// log `rec_key` (`step * n + neuron`, ascending) with `I` and `Vt` at the
/// spike (`rec_i`, `rec_vt`); `rec_off[s]` is the first entry of step `s`. A
/// full log drops the entry and sets `overflow` ([`OVERFLOW_SPIKES`]), which
/// the emulator turns into an error after the sample. Delayed projections
/// from spiking layers sum their errors per presynaptic spike in `ring`
/// (`docs/contract.md` section 4.2). An `li` readout keeps its score `y`,
/// the step of its maximum `arg` and `kappa e` (`ke`, from the loss), and
/// sends its scores at the last forward tick; a regularised `lif` computes
/// `rho` from its spike counts at the first backward tick.
///
/// At `end_of_batch` the layer sends its gradients, one packet per weight
/// (`j * fan_in + pos`): all to the optimiser (direct), or, with the
/// gradient chain, copy 0 (`chain_head` set) sends `0 + g` and every other
/// copy adds its gradient to the previous copy's sum in the packet handler
/// ([`tag::GRADIENT_CHAIN`]) and passes it on. [`own_gradient`] is the one
/// read of the layer's own gradient there.
///
/// A plain `lif` layer (no delays, no delay lines, no regulariser) gets
/// exactly the kernel it always had. With synapses in DRAM (`s.dram`) the
/// weights, gradients and input rows live in the PE's DRAM region and move
/// a row at a time through SRAM row buffers ([`Syn`], [`DramSyn`]); the
/// loops and their floating-point order are the same.
pub fn layer(s: &LayerShape, n: u32, rx_len: u32, steps: u32) -> Kernel {
    let kk = s.fan_in;
    let li_layer = s.kind == LayerKind::Li;
    let mut k = KernelBuilder::new(&format!("layer_{}", s.name));
    let c = common(&mut k, rx_len);
    // Several samples per copy: one gradient array per sample, `slot` the
    // current one.
    let slots = s.slots.max(1);
    let slot = (slots > 1).then(|| Slot { buf: k.buffer("slot", Ty::I32, 1), count: slots, words: (kk * n) as i32 });
    let syn = match s.dram {
        None => Syn::Sram {
            weights: k.buffer(buffers::WEIGHTS, Ty::F32, kk * n),
            grad: k.buffer(buffers::GRAD, Ty::F32, slots * kk * n),
            slot,
        },
        Some(d) => {
            // At most `i32::MAX` words (`layer_shape`).
            k.dram(d.words(kk, n, steps) as u32);
            Syn::Dram(DramSyn {
                wrow: k.buffer("wrow", Ty::F32, n),
                grow: k.buffer("grow", Ty::F32, d.tile * n),
                word: k.buffer("wword", Ty::F32, 1),
                grad_base: (kk * n) as i32,
                in_base: d.in_base(kk, n) as i32,
                row_words: d.row_words,
                tile: d.tile,
                slot,
            })
        }
    };
    // The batch's gradient sums, where the slice keeps them: the same
    // synapses with the sums in place of the gradients.
    let sums = s.batch_sums.then(|| match syn {
        Syn::Sram { weights, .. } => Syn::Sram { weights, grad: k.buffer("gsum", Ty::F32, kk * n), slot: None },
        Syn::Dram(d) => {
            let base = s.dram.expect("a DRAM slice's shape").sums_base(kk, n, steps) as i32;
            Syn::Dram(DramSyn { grad_base: base, slot: None, ..d })
        }
    });
    let i_syn = k.buffer("i_syn", Ty::F32, n);
    let v = k.buffer("v", Ty::F32, n);
    let acc = k.buffer("acc", Ty::F32, n);
    let lv = k.buffer("lv", Ty::F32, n);
    let li = k.buffer("li", Ty::F32, n);
    // One error per neuron and outgoing projection (part `q` at `q * n`).
    let parts = s.error_parts.max(1);
    let e_out = (!li_layer).then(|| k.buffer("e_out", Ty::F32, n * parts));
    let in_bits = k.buffer("in_bits", Ty::U32, s.input_words);
    let bits = s.bits(in_bits);
    let record = (!li_layer).then(|| SpikeLog {
        key: k.buffer(buffers::REC_KEY, Ty::I32, s.spike_capacity),
        i: k.buffer("rec_i", Ty::F32, s.spike_capacity),
        vt: k.buffer("rec_vt", Ty::F32, s.spike_capacity),
        off: k.buffer("rec_off", Ty::I32, steps + 1),
        len: k.buffer(buffers::REC_LEN, Ty::I32, 1),
        overflow: k.buffer(buffers::OVERFLOW, Ty::I32, 1),
        dram: s.dram.map(|d| LogDram { base: d.record_base(kk, n, steps) as i32, cap: d.record as i32 }),
    });
    let ring = (s.ring_slots > 0).then(|| k.buffer("ring", Ty::F32, s.ring_slots * s.ring_width));
    let reg = s.regularizer.map(|r| (k.buffer("cnt", Ty::I32, n), k.buffer("rho", Ty::F32, n), r));
    let score = s.score.as_ref().map(|sc| ReadoutBufs {
        y: k.buffer(buffers::Y, Ty::F32, n),
        arg: k.buffer("arg", Ty::I32, n),
        ke: k.buffer("ke", Ty::F32, n),
        wtab: matches!(sc.score, ScoreShape::Weighted { .. }).then(|| k.buffer("wtab", Ty::F32, steps)),
    });
    // With the chain: 1 on copy 0, which starts the sums.
    let chain_head = s.chain.then(|| k.buffer(buffers::CHAIN_HEAD, Ty::I32, 1));
    let cs = s.consts;
    let (kki, ni) = (Expr::i32(kk as i32), Expr::i32(n as i32));
    let from_layers: Vec<&CopyShape> = s.copies.iter().filter(|cp| cp.from_layer).collect();
    let ring_ctx = ring.map(|ring| RingCtx { ring, slots: s.ring_slots, width: s.ring_width });

    k.define(c.packet(|f, t, index, payload| {
        let value = payload.get().convert(ConvertOp::F32FromBits);
        record_input_spike(f, &c, bits, t, index);
        if let Some(e_out) = e_out {
            f.if_(t.get().equals(Expr::i32(tag::ERROR)), |f| {
                f.store(e_out, index.get(), e_out.at(index.get()) + value.clone());
            });
            f.if_(t.get().equals(Expr::i32(tag::LOSS_ERROR)), |f| {
                f.store(e_out, index.get(), value.clone());
            });
        }
        if let Some(sb) = &score {
            // `kappa e`: the scale of this neuron's direct term (section 6).
            f.if_(t.get().equals(Expr::i32(tag::LOSS_ERROR)), |f| {
                f.store(sb.ke, index.get(), Expr::f32(cs.kappa) * value.clone());
            });
        }
        f.if_(t.get().equals(Expr::i32(tag::WEIGHT)), |f| {
            let j = index.get() / kki.clone();
            let pos = index.get() % kki.clone();
            syn.store_weight(f, pos * ni.clone() + j, value.clone());
        });
        if chain_head.is_some() {
            // The previous copy's sum for weight `index`: add this copy's
            // gradient and pass it on (to the next copy or the optimiser).
            f.if_(t.get().equals(Expr::i32(tag::GRADIENT_CHAIN)), |f| {
                let (j, pos) = (index.get() / kki.clone(), index.get() % kki.clone());
                let sum = match syn.slot() {
                    None => value.clone() + syn.own_gradient(f, j, pos, n),
                    Some(slot) => syn.add_own_gradients(f, slot, value.clone(), j, pos, n),
                };
                f.send_with(c.key(SLOT_GRADIENT, index.get().convert(ConvertOp::I32AsU32)), sum);
            });
        }
        if !s.head && !from_layers.is_empty() {
            // The previous slice's sum for position `index`: add this
            // slice's neurons (`acc` holds lV - lI of step n+1) and pass it on.
            f.if_(t.get().equals(Expr::i32(tag::PARTIAL)), |f| {
                let row = syn.weight_row(f, index.get(), n);
                let e = f.let_("e", value.clone());
                f.for_range("j", Expr::i32(0), ni.clone(), |f, j| {
                    f.assign(e, e.get() + row.at(j.get()) * acc.at(j.get()));
                });
                if s.plain || !s.last {
                    f.send_with(c.key(SLOT_ERROR, index.get().convert(ConvertOp::I32AsU32)), e.get());
                } else {
                    // The last slice: this copy's sum is complete.
                    let step = f.let_("step_now", c.step.at(Expr::i32(0)));
                    for cp in &from_layers {
                        let lo = cp.weight_offset as i32;
                        let inside = index.get().ge(Expr::i32(lo)) & index.get().lt(Expr::i32(lo + cp.n_pre as i32));
                        f.if_(inside, |f| {
                            let i = f.let_("i", index.get() - Expr::i32(lo));
                            finish_error(f, &c, ring_ctx.as_ref(), cp, step.get(), i, e.get());
                        });
                    }
                }
            });
        }
    }));

    // Forward ticks.
    let mut f = FunctionBuilder::new(EntryPoint::TickForward);
    let step = f.params()[0];
    f.if_else(
        step.get().equals(Expr::i32(0)),
        |f| {
            for b in [i_syn, v, lv, li] {
                fill(f, b, n, Expr::f32(0.0));
            }
            if let Some(e_out) = e_out {
                fill(f, e_out, n * parts, Expr::f32(0.0));
            }
            syn.zero_gradients(f, kk, n);
            fill(f, in_bits, s.input_words, Expr::u32(0));
            if let Some(r) = &record {
                f.store(r.len, Expr::i32(0), Expr::i32(0));
                f.store(r.overflow, Expr::i32(0), Expr::i32(0));
                f.store(r.off, Expr::i32(0), Expr::i32(0));
            }
            if let (Some((cnt, _, _)), Some(LogDram { .. })) = (&reg, record.as_ref().and_then(|r| r.dram)) {
                fill(f, *cnt, n, Expr::i32(0));
            }
            if let Some(rc) = &ring_ctx {
                fill(f, rc.ring, rc.slots * rc.width, Expr::f32(0.0));
            }
            if let Some(sb) = &score {
                fill(f, sb.y, n, Expr::f32(0.0));
                fill(f, sb.ke, n, Expr::f32(0.0));
            }
        },
        |f| {
            if let Syn::Dram(d) = syn {
                d.record_step(f, bits, step);
            }
            let lif = Lif { syn, i_syn, v, acc, bits, n, fan_in: kk, sends: s.sends_spikes };
            match &record {
                Some(r) => {
                    // DRAM mode counts the regulariser's spikes as they come
                    // (the log of the sample is not in SRAM to count later).
                    let count = r.dram.and(reg.as_ref()).map(|(cnt, _, _)| *cnt);
                    lif::forward_tick(f, &c, &lif, s, step, r, count);
                }
                None => {
                    accumulate_inputs(f, &lif, s, step);
                    update_li(f, &c, &lif, s.consts, step, s, score.as_ref(), steps);
                }
            }
        },
    );
    f.store(c.step, Expr::i32(0), step.get());
    k.define(f.finish());

    // Backward ticks.
    let mut f = FunctionBuilder::new(EntryPoint::TickBackward);
    let step = f.params()[0];
    let first_backward = Expr::i32(steps as i32 - 2);
    if let (Syn::Dram(d), Some(ds)) = (syn, s.dram) {
        d.load_step(&mut f, bits, step.get() - Expr::i32(ds.max_delay as i32));
    }
    if ring_ctx.is_some() && !s.head {
        // The packet handler files the partial sums it completes under the
        // step of this tick.
        f.store(c.step, Expr::i32(0), step.get());
    }
    if let (Some((cnt, rho, r)), Some(rec)) = (&reg, &record) {
        // The regulariser's rho_j from the sample's spike counts (section 7).
        f.if_(step.get().equals(first_backward.clone()), |f| {
            if rec.dram.is_none() {
                fill(f, *cnt, n, Expr::i32(0));
                f.for_range("e", Expr::i32(0), rec.len.at(Expr::i32(0)), |f, e| {
                    let j = f.let_("j", rec.key.at(e.get()) % ni.clone());
                    f.store(*cnt, j.get(), cnt.at(j.get()) + Expr::i32(1));
                });
            }
            f.for_range("j", Expr::i32(0), ni.clone(), |f, j| {
                let count = f.let_("count", cnt.at(j.get()).convert(ConvertOp::I32ToF32));
                let strength = Expr::select(count.get().gt(Expr::f32(r.target)), Expr::f32(r.up), Expr::f32(r.below));
                f.store(*rho, j.get(), strength * (count.get() - Expr::f32(r.target)));
            });
        });
    }
    if let Some(sb) = &score {
        // lambda_V[T-1] = beta * 0 + q[T-1] (section 6).
        f.if_(step.get().equals(first_backward.clone()), |f| {
            li::first_adjoint(f, s, sb, lv, cs, steps);
        });
    }
    // Rings whose smallest delay is at least 1: the errors of the pre spikes
    // of this step are complete (every copy contributed at a later tick);
    // send them now, before this tick's own contributions.
    if s.last
        && let Some(rc) = &ring_ctx
    {
        for cp in from_layers.iter().filter(|cp| cp.ring.is_some_and(|r| r.min_delay >= 1) && cp.copy == 0) {
            send_ring(&mut f, &c, rc, cp, bits, step.get());
        }
    }
    // 1. Errors for the layers below, from lV, lI of step n+1: `acc`
    //    (free in the backward pass) keeps lV - lI for the packet handler,
    //    and the first slice starts the sums, which the next slices continue.
    if !from_layers.is_empty() {
        f.for_range("j", Expr::i32(0), ni.clone(), |f, j| {
            f.store(acc, j.get(), lv.at(j.get()) - li.at(j.get()));
        });
    }
    if s.head {
        if s.plain {
            for range in &s.lif_positions {
                let (start, len) = (range.start, range.end - range.start);
                for_input_words(&mut f, bits, step.get(), start, len, |f, hit| {
                    let pos = f.let_("pos", hit.get() + Expr::i32(start as i32));
                    let row = syn.weight_row(f, pos.get(), n);
                    let e = f.let_("e", Expr::f32(0.0));
                    f.for_range("j", Expr::i32(0), ni.clone(), |f, j| {
                        f.assign(e, e.get() + row.at(j.get()) * acc.at(j.get()));
                    });
                    f.send_with(c.key(SLOT_ERROR, pos.get().convert(ConvertOp::I32AsU32)), e.get());
                });
            }
        } else {
            for cp in &from_layers {
                copy_loop(&mut f, cp, step.get(), bits, |f, i| {
                    let row = syn.weight_row(f, Expr::i32(cp.weight_offset as i32) + i.get(), n);
                    let e = f.let_("e", Expr::f32(0.0));
                    f.for_range("j", Expr::i32(0), ni.clone(), |f, j| {
                        f.assign(e, e.get() + row.at(j.get()) * acc.at(j.get()));
                    });
                    if s.last {
                        finish_error(f, &c, ring_ctx.as_ref(), cp, step.get(), i, e.get());
                    } else {
                        let wpos = Expr::i32(cp.weight_offset as i32) + i.get();
                        f.send_with(c.key(SLOT_ERROR, wpos.convert(ConvertOp::I32AsU32)), e.get());
                    }
                });
            }
        }
    }
    // 2. Adjoint recurrences (and for lif the jumps at own spikes of step n+1,
    //    `rec_key[sp .. sp_end]`, ascending neuron; `nxt`: the next one).
    match (&record, e_out) {
        (Some(r), Some(e_out)) => {
            let rho = reg.as_ref().map(|(_, rho, _)| *rho);
            lif::adjoint_tick(&mut f, AdjointBufs { lv, li, cs, n }, step, r, e_out, parts, rho);
        }
        _ => li::adjoint_tick(&mut f, AdjointBufs { lv, li, cs, n }, step, s, score.as_ref()),
    }
    // 3. Gradients where an input landed at step n + 1.
    if s.plain {
        for_input_words(&mut f, bits, step.get(), 0, kk, |f, pos| {
            syn.add_gradient_row(f, pos.get(), n, |j| Expr::f32(cs.neg_tau_syn) * li.at(j));
        });
    } else {
        copies_loop(&mut f, s, step.get(), bits, |f, pos| {
            syn.add_gradient_row(f, pos, n, |j| Expr::f32(cs.neg_tau_syn) * li.at(j));
        });
    }
    // Rings with a copy of delay 0, unsplit: this tick gave the last
    // contribution to the errors of the pre spikes of this step.
    if s.head
        && s.last
        && let Some(rc) = &ring_ctx
    {
        for cp in from_layers.iter().filter(|cp| cp.ring.is_some_and(|r| r.min_delay == 0) && cp.copy == 0) {
            send_ring(&mut f, &c, rc, cp, bits, step.get());
        }
    }
    k.define(f.finish());

    // One copy for the batch: the sample's gradients join the batch's sums,
    // in sample order.
    if let Some(sums) = sums {
        let mut f = FunctionBuilder::new(EntryPoint::EndOfSample);
        add_to_sums(&mut f, syn, sums, kk, n);
        k.define(f.finish());
    }
    // Several samples per copy: the next sample's gradients go to the next slot.
    if let Some(slot) = slot {
        let mut f = FunctionBuilder::new(EntryPoint::EndOfSample);
        f.store(slot.buf, Expr::i32(0), slot.buf.at(Expr::i32(0)) + Expr::i32(1));
        k.define(f.finish());
    }

    // Gradients: every one to the optimiser (direct; the batch's sums, which
    // then start again from zero, with one copy that keeps them), or the
    // chain's start on copy 0 (`0 + g`, the optimiser's first addition); the
    // other copies send theirs from the packet handler, added to the previous
    // copy's sums.
    let mut f = FunctionBuilder::new(EntryPoint::EndOfBatch);
    match (chain_head, sums) {
        (Some(head), _) => f.if_(head.at(Expr::i32(0)).not_equals(Expr::i32(0)), |f| match slot {
            None => send_gradients(f, &c, syn, kk, n, true),
            Some(slot) => send_slot_sums(f, &c, syn, slot, kk, n),
        }),
        (None, Some(sums)) => {
            send_gradients(&mut f, &c, sums, kk, n, false);
            sums.zero_gradients(&mut f, kk, n);
        }
        (None, None) => send_gradients(&mut f, &c, syn, kk, n, false),
    }
    if let Some(slot) = slot {
        // Every copy starts the next batch at slot 0 (the chain's handler,
        // which runs after this, reads every slot whatever the counter).
        f.store(slot.buf, Expr::i32(0), Expr::i32(0));
    }
    k.define(f.finish());
    k.finish()
}

/// The chain's start with several samples per copy: for every weight
/// `((0 + g_0) + g_1) + ... + g_(k-1)` over the copy's `k` slots, sent as
/// [`send_gradients`] sends (SRAM: neuron after neuron; DRAM: row after row,
/// slot 0's row in `grow`, each next slot's read into `wrow` and added).
fn send_slot_sums(f: &mut FunctionBuilder, c: &Common, syn: Syn, slot: Slot, kk: u32, n: u32) {
    let (kki, ni) = (Expr::i32(kk as i32), Expr::i32(n as i32));
    let words = Expr::i32(slot.words);
    let send = |f: &mut FunctionBuilder, j: Expr, pos: Expr, g: Expr| {
        let index = j * kki.clone() + pos;
        f.send_with(c.key(SLOT_GRADIENT, index.convert(ConvertOp::I32AsU32)), g);
    };
    match syn {
        Syn::Sram { grad, .. } => f.for_range("j", Expr::i32(0), ni.clone(), |f, j| {
            f.for_range("pos", Expr::i32(0), kki.clone(), |f, pos| {
                let at = f.let_("at", pos.get() * ni.clone() + j.get());
                let sum = f.let_("sum", Expr::f32(0.0) + grad.at(at.get()));
                f.for_range("t", Expr::i32(1), Expr::i32(slot.count as i32), |f, t| {
                    f.assign(sum, sum.get() + grad.at(t.get() * words.clone() + at.get()));
                });
                send(f, j.get(), pos.get(), sum.get());
            });
        }),
        Syn::Dram(d) => f.for_range("pos", Expr::i32(0), kki.clone(), |f, pos| {
            let row = f.let_("row", Expr::i32(d.grad_base) + pos.get() * ni.clone());
            f.dma_read(d.grow, Expr::i32(0), row.get(), ni.clone());
            f.for_range("j", Expr::i32(0), ni.clone(), |f, j| {
                f.store(d.grow, j.get(), Expr::f32(0.0) + d.grow.at(j.get()));
            });
            f.for_range("t", Expr::i32(1), Expr::i32(slot.count as i32), |f, t| {
                f.dma_read(d.wrow, Expr::i32(0), row.get() + t.get() * words.clone(), ni.clone());
                f.for_range("j", Expr::i32(0), ni.clone(), |f, j| {
                    f.store(d.grow, j.get(), d.grow.at(j.get()) + d.wrow.at(j.get()));
                });
            });
            f.for_range("j", Expr::i32(0), ni.clone(), |f, j| {
                send(f, j.get(), pos.get(), d.grow.at(j.get()));
            });
        }),
    }
}

/// A layer's gradient slots (several samples per copy): `count` arrays of
/// `words` gradients, `buf[0]` the current sample's.
#[derive(Clone, Copy)]
struct Slot {
    buf: BufRef,
    count: u32,
    words: i32,
}

/// `sums[pos][j] = sums[pos][j] + grad[pos][j]` for every weight (`sums`:
/// the synapses with the batch's sums as their gradients): in SRAM, or row
/// after row through the row buffers (the gradient row into `grow`, the
/// sums' into `wrow`, free between samples).
fn add_to_sums(f: &mut FunctionBuilder, syn: Syn, sums: Syn, kk: u32, n: u32) {
    match (syn, sums) {
        (Syn::Sram { grad, .. }, Syn::Sram { grad: sum, .. }) => {
            f.for_range("i", Expr::i32(0), Expr::i32((kk * n) as i32), |f, i| {
                f.store(sum, i.get(), sum.at(i.get()) + grad.at(i.get()));
            });
        }
        (Syn::Dram(d), Syn::Dram(sd)) => {
            let ni = Expr::i32(n as i32);
            f.for_range("pos", Expr::i32(0), Expr::i32(kk as i32), |f, pos| {
                let row = f.let_("row", pos.get() * ni.clone());
                f.dma_read(d.grow, Expr::i32(0), Expr::i32(d.grad_base) + row.get(), ni.clone());
                f.dma_read(d.wrow, Expr::i32(0), Expr::i32(sd.grad_base) + row.get(), ni.clone());
                f.for_range("j", Expr::i32(0), ni.clone(), |f, j| {
                    f.store(d.wrow, j.get(), d.wrow.at(j.get()) + d.grow.at(j.get()));
                });
                f.dma_write(d.wrow, Expr::i32(0), Expr::i32(sd.grad_base) + row.get(), ni.clone());
            });
        }
        _ => unreachable!("the sums live where the synapses do"),
    }
}

/// The end of a batch: every gradient of the slice, as weight `j * k + pos`
/// of the population's numbering, to the optimisers (direct) or, as `0 +
/// g` (`from_zero`, the optimiser's first addition), to the next copy of the
/// chain. SRAM: neuron after neuron; DRAM: gradient row after row (position
/// after position, each row read once). The order does not matter: each
/// weight's sum takes the copies in copy order (the optimiser's inbox is
/// drained in key order, which is copy order; the chain passes it on).
fn send_gradients(f: &mut FunctionBuilder, c: &Common, syn: Syn, kk: u32, n: u32, from_zero: bool) {
    let (kki, ni) = (Expr::i32(kk as i32), Expr::i32(n as i32));
    let send = |f: &mut FunctionBuilder, j: Expr, pos: Expr, g: Expr| {
        let index = j * kki.clone() + pos;
        let g = if from_zero { Expr::f32(0.0) + g } else { g };
        f.send_with(c.key(SLOT_GRADIENT, index.convert(ConvertOp::I32AsU32)), g);
    };
    match syn {
        Syn::Sram { grad, .. } => f.for_range("j", Expr::i32(0), ni.clone(), |f, j| {
            f.for_range("pos", Expr::i32(0), kki.clone(), |f, pos| {
                send(f, j.get(), pos.get(), grad.at(pos.get() * ni.clone() + j.get()));
            });
        }),
        Syn::Dram(d) => {
            // A tile of `tile` rows (positions `p0 ..`) at a time, its
            // gradients sent neuron by neuron: keys ascending within it.
            let tiles = kk.div_ceil(d.tile);
            f.for_range("t", Expr::i32(0), Expr::i32(tiles as i32), |f, t| {
                let p0 = f.let_("p0", t.get() * Expr::i32(d.tile as i32));
                let rows = f.let_("rows", Expr::i32(d.tile as i32).min(kki.clone() - p0.get()));
                f.dma_read(
                    d.grow,
                    Expr::i32(0),
                    Expr::i32(d.grad_base) + p0.get() * ni.clone(),
                    rows.get() * ni.clone(),
                );
                f.for_range("j", Expr::i32(0), ni.clone(), |f, j| {
                    f.for_range("q", Expr::i32(0), rows.get(), |f, q| {
                        send(f, j.get(), p0.get() + q.get(), d.grow.at(q.get() * ni.clone() + j.get()));
                    });
                });
            });
        }
    }
}

/// Where a layer slice keeps its synapses: its weights and gradients
/// `[position][neuron]` in SRAM (`weights`, `grad`), or in its DRAM region
/// (weights at word 0, gradients at `grad_base`, the input-spike rows at
/// `in_base`), read and written a row at a time through SRAM row buffers.
#[derive(Clone, Copy)]
enum Syn {
    Sram { weights: BufRef, grad: BufRef, slot: Option<Slot> },
    Dram(DramSyn),
}

/// A DRAM-mode slice's row buffers and region layout.
#[derive(Clone, Copy)]
struct DramSyn {
    /// A weight row (`n` values).
    wrow: BufRef,
    /// A gradient row (`n` values).
    grow: BufRef,
    /// One weight, written by a weight packet.
    word: BufRef,
    grad_base: i32,
    in_base: i32,
    /// Words of one step's input-spike row.
    row_words: u32,
    /// Gradient rows `grow` holds (the end of a batch reads that many).
    tile: u32,
    /// Several samples per copy: the gradients are `count` arrays from
    /// `grad_base`, `buf[0]` the current one.
    slot: Option<Slot>,
}

/// A weight row as the kernel reads it: weight `j` of the row.
struct Row {
    buf: BufRef,
    /// SRAM: the row's first index in `weights`; DRAM: none (the row buffer).
    base: Option<Var>,
}

impl Row {
    fn at(&self, j: Expr) -> Expr {
        match self.base {
            Some(row) => self.buf.at(row.get() + j),
            None => self.buf.at(j),
        }
    }
}

impl Syn {
    /// The weights of position `pos`: `row = pos * n`, in SRAM or read by DMA
    /// into the row buffer.
    fn weight_row(&self, f: &mut FunctionBuilder, pos: Expr, n: u32) -> Row {
        let ni = Expr::i32(n as i32);
        let row = f.let_("row", pos * ni.clone());
        match *self {
            Syn::Sram { weights, .. } => Row { buf: weights, base: Some(row) },
            Syn::Dram(d) => {
                f.dma_read(d.wrow, Expr::i32(0), row.get(), ni);
                Row { buf: d.wrow, base: None }
            }
        }
    }

    /// `grad[pos][j] += add(j)` for every neuron `j`, in ascending `j`: in
    /// SRAM, or the row read, updated and written back.
    fn add_gradient_row(&self, f: &mut FunctionBuilder, pos: Expr, n: u32, add: impl Fn(Expr) -> Expr) {
        let ni = Expr::i32(n as i32);
        // With slots, the current sample's array.
        let row = f.let_("row", Self::in_slot(self.slot(), pos * ni.clone()));
        match *self {
            Syn::Sram { grad, .. } => f.for_range("j", Expr::i32(0), ni, |f, j| {
                let at = row.get() + j.get();
                f.store(grad, at.clone(), grad.at(at) + add(j.get()));
            }),
            Syn::Dram(d) => {
                let at = f.let_("at", Expr::i32(d.grad_base) + row.get());
                f.dma_read(d.grow, Expr::i32(0), at.get(), ni.clone());
                f.for_range("j", Expr::i32(0), ni.clone(), |f, j| {
                    f.store(d.grow, j.get(), d.grow.at(j.get()) + add(j.get()));
                });
                f.dma_write(d.grow, Expr::i32(0), at.get(), ni);
            }
        }
    }

    /// The slice's own gradient of weight `j * fan_in + pos` (the chain's
    /// one read of it, in the packet handler): in SRAM, or its one word read
    /// by DMA into the word buffer.
    fn own_gradient(&self, f: &mut FunctionBuilder, j: Expr, pos: Expr, n: u32) -> Expr {
        let at = pos * Expr::i32(n as i32) + j;
        match *self {
            Syn::Sram { grad, .. } => grad.at(at),
            Syn::Dram(d) => {
                f.dma_read(d.word, Expr::i32(0), Expr::i32(d.grad_base) + at, Expr::i32(1));
                d.word.at(Expr::i32(0))
            }
        }
    }

    /// Weight `at` (`pos * n + j`) from a weight packet.
    fn store_weight(&self, f: &mut FunctionBuilder, at: Expr, value: Expr) {
        match *self {
            Syn::Sram { weights, .. } => f.store(weights, at, value),
            Syn::Dram(d) => {
                f.store(d.word, Expr::i32(0), value);
                f.dma_write(d.word, Expr::i32(0), at, Expr::i32(1));
            }
        }
    }

    /// Every gradient to zero (the sample's first tick; with slots, the
    /// current sample's).
    fn zero_gradients(&self, f: &mut FunctionBuilder, kk: u32, n: u32) {
        match (*self, self.slot()) {
            (Syn::Sram { grad, .. }, None) => fill(f, grad, kk * n, Expr::f32(0.0)),
            (Syn::Sram { grad, .. }, Some(slot)) => {
                let first = f.let_("first", Self::in_slot(Some(slot), Expr::i32(0)));
                f.for_range("z", Expr::i32(0), Expr::i32((kk * n) as i32), |f, i| {
                    f.store(grad, first.get() + i.get(), Expr::f32(0.0));
                });
            }
            (Syn::Dram(d), slot) => {
                let ni = Expr::i32(n as i32);
                fill(f, d.grow, n, Expr::f32(0.0));
                let base = match slot {
                    None => Expr::i32(d.grad_base),
                    Some(_) => f.let_("base", Self::in_slot(slot, Expr::i32(d.grad_base))).get(),
                };
                f.for_range("pos", Expr::i32(0), Expr::i32(kk as i32), |f, pos| {
                    f.dma_write(d.grow, Expr::i32(0), base.clone() + pos.get() * ni.clone(), ni.clone());
                });
            }
        }
    }

    /// Its gradient slots, if it has several.
    fn slot(&self) -> Option<Slot> {
        match *self {
            Syn::Sram { slot, .. } => slot,
            Syn::Dram(d) => d.slot,
        }
    }

    /// `at` moved into the current sample's slot (unchanged without slots).
    fn in_slot(slot: Option<Slot>, at: Expr) -> Expr {
        match slot {
            None => at,
            Some(s) => s.buf.at(Expr::i32(0)) * Expr::i32(s.words) + at,
        }
    }

    /// The chain's sum with slots: `((value + g_0) + g_1) + ...` over the
    /// slots' gradients of weight `j * fan_in + pos` (in SRAM, or each read
    /// by DMA into the word buffer).
    fn add_own_gradients(&self, f: &mut FunctionBuilder, slot: Slot, value: Expr, j: Expr, pos: Expr, n: u32) -> Expr {
        let at = f.let_("at", pos * Expr::i32(n as i32) + j);
        let sum = f.let_("sum", value);
        let words = Expr::i32(slot.words);
        f.for_range("t", Expr::i32(0), Expr::i32(slot.count as i32), |f, t| match *self {
            Syn::Sram { grad, .. } => f.assign(sum, sum.get() + grad.at(t.get() * words.clone() + at.get())),
            Syn::Dram(d) => {
                let from = Expr::i32(d.grad_base) + t.get() * words.clone() + at.get();
                f.dma_read(d.word, Expr::i32(0), from, Expr::i32(1));
                f.assign(sum, sum.get() + d.word.at(Expr::i32(0)));
            }
        });
        sum.get()
    }
}

impl DramSyn {
    /// At forward tick `step >= 1`: the input-spike row of step `step - 1`
    /// is complete (its packets were handled before this tick): written to
    /// DRAM; the window's slot of step `step`, which the packet handler fills
    /// after this tick, cleared.
    fn record_step(&self, f: &mut FunctionBuilder, bits: Bits, step: Var) {
        let w = Expr::i32(self.row_words as i32);
        let prev = step.get() - Expr::i32(1);
        f.dma_write(
            bits.buf,
            bits.row(prev.clone()) * w.clone(),
            Expr::i32(self.in_base) + prev * w.clone(),
            w.clone(),
        );
        let at = f.let_("slot_at", bits.row(step.get()) * w);
        f.for_range("z", Expr::i32(0), Expr::i32(self.row_words as i32), |f, i| {
            f.store(bits.buf, at.get() + i.get(), Expr::u32(0));
        });
    }

    /// At a backward tick: the input-spike row of step `src` (when `src >=
    /// 0`) read from DRAM into its slot of the window, which then holds the
    /// rows `src .. src + max delay + 1`: every step the tick reads.
    fn load_step(&self, f: &mut FunctionBuilder, bits: Bits, src: Expr) {
        let w = Expr::i32(self.row_words as i32);
        let src = f.let_("load", src);
        f.if_(src.get().ge(Expr::i32(0)), |f| {
            f.dma_read(bits.buf, bits.row(src.get()) * w.clone(), Expr::i32(self.in_base) + src.get() * w.clone(), w);
        });
    }
}

impl LayerShape {
    /// Its input-spike bits in `buf` (the whole record, or the DRAM mode's window).
    fn bits(&self, buf: BufRef) -> Bits {
        match self.dram {
            None => Bits { buf, width: self.raw_fan_in, slots: None },
            Some(d) => Bits { buf, width: 32 * d.row_words, slots: Some(d.slots) },
        }
    }
}

/// The input-spike bits as a kernel reads them: bit `row(step) * width +
/// position` of `buf`. SRAM mode: every step, `width` = the raw positions;
/// DRAM mode: a window of `slots` steps (`step % slots`), each row padded to
/// whole words.
#[derive(Clone, Copy)]
struct Bits {
    buf: BufRef,
    width: u32,
    slots: Option<u32>,
}

impl Bits {
    fn row(&self, step: Expr) -> Expr {
        match self.slots {
            None => step,
            Some(w) => step % Expr::i32(w as i32),
        }
    }
}

/// The buffers of a `lif` layer's spike log. Entry numbers (`off`, `len`)
/// count the sample's entries; in SRAM `key`, `i` and `vt` hold them all.
/// With synapses in DRAM (`dram`) they hold one step's, and the sample's are
/// in the region ([`LogDram`]).
struct SpikeLog {
    key: BufRef,
    i: BufRef,
    vt: BufRef,
    off: BufRef,
    len: BufRef,
    overflow: BufRef,
    dram: Option<LogDram>,
}

/// The spike record in a DRAM region: `cap` keys from word `base`, then
/// `cap` values of `I`, then `cap` of `Vt`.
#[derive(Clone, Copy)]
struct LogDram {
    base: i32,
    cap: i32,
}

impl SpikeLog {
    /// Entries the log holds before it overflows.
    fn capacity(&self, sram_entries: u32) -> Expr {
        Expr::i32(self.dram.map_or(sram_entries as i32, |d| d.cap))
    }

    /// Where entry `at` of step `step`'s entries lives in the SRAM buffers.
    fn slot(&self, at: Expr, step: Expr) -> Expr {
        match self.dram {
            None => at,
            Some(_) => at - self.off.at(step),
        }
    }

    /// DRAM mode: moves entries `first .. first + count` of the sample
    /// between the region and slots `0 .. count` of the SRAM buffers.
    fn transfer(&self, f: &mut FunctionBuilder, dir: DmaDir, first: Expr, count: Expr) {
        let Some(d) = self.dram else { return };
        let count = f.let_("count", count);
        let first = f.let_("first", first);
        f.if_(count.get().gt(Expr::i32(0)), |f| {
            for (q, buf) in [self.key, self.i, self.vt].into_iter().enumerate() {
                let at = Expr::i32(d.base + q as i32 * d.cap) + first.get();
                match dir {
                    DmaDir::Read => f.dma_read(buf, Expr::i32(0), at, count.get()),
                    DmaDir::Write => f.dma_write(buf, Expr::i32(0), at, count.get()),
                }
            }
        });
    }
}

/// An `li` readout's buffers: its scores, the steps of their maxima, `kappa
/// e` per neuron, and (exp-weighted) the weight of every step.
struct ReadoutBufs {
    y: BufRef,
    arg: BufRef,
    ke: BufRef,
    wtab: Option<BufRef>,
}

/// The error ring of a layer: `slots x width` errors, slot `m % slots`.
struct RingCtx {
    ring: BufRef,
    slots: u32,
    width: u32,
}

impl RingCtx {
    /// The ring position of pre neuron `i` of `cp`'s projection for a spike of step `m`.
    fn at(&self, cp: &CopyShape, m: Expr, i: Expr) -> Expr {
        let r = cp.ring.expect("a ring copy");
        (m % Expr::i32(self.slots as i32)) * Expr::i32(self.width as i32) + Expr::i32(r.ring_offset as i32) + i
    }
}

/// Runs `body(f, i)` over the pre neurons `i` of copy `cp` that spiked
/// at step `src = step - delay` (the tick at `step` reads them), in
/// ascending order; no steps before 0.
fn copy_loop(
    f: &mut FunctionBuilder,
    cp: &CopyShape,
    step: Expr,
    bits: Bits,
    body: impl Fn(&mut FunctionBuilder, Var),
) {
    let src = step - Expr::i32(cp.delay as i32);
    let run = |f: &mut FunctionBuilder| {
        let src = f.let_("src", src.clone());
        for_input_words(f, bits, src.get(), cp.raw_offset, cp.n_pre, &body);
    };
    if cp.delay > 0 {
        f.if_(src.clone().ge(Expr::i32(0)), run);
    } else {
        run(f);
    }
}

/// Runs `body(f, pos)` over every copy in fan-in order and, in each, over
/// the pre neurons that spiked at the step it reads ([`copy_loop`]; `pos`
/// the weight position). In SRAM mode copy after copy, as the
/// kernel always had; with synapses in DRAM the copies of a delay line
/// (consecutive copies of one projection whose delays step evenly) share one
/// loop over the copy, which keeps the code within the PE's code region
/// (`examples/shd.snn`'s ten copies) and the same order.
fn copies_loop(
    f: &mut FunctionBuilder,
    s: &LayerShape,
    step: Expr,
    bits: Bits,
    body: impl Fn(&mut FunctionBuilder, Expr),
) {
    let groups: Vec<&[CopyShape]> = match s.dram {
        None => s.copies.chunks(1).collect(),
        Some(_) => copy_groups(&s.copies),
    };
    for g in groups {
        let cp = &g[0];
        if g.len() == 1 {
            copy_loop(f, cp, step.clone(), bits, |f, i| body(f, Expr::i32(cp.weight_offset as i32) + i.get()));
            continue;
        }
        let stride = (g[1].delay - cp.delay) as i32;
        f.for_range("c", Expr::i32(0), Expr::i32(g.len() as i32), |f, c| {
            let src = f.let_("src", step.clone() - (Expr::i32(cp.delay as i32) + c.get() * Expr::i32(stride)));
            let base = f.let_("wbase", Expr::i32(cp.weight_offset as i32) + c.get() * Expr::i32(cp.n_pre as i32));
            f.if_(src.get().ge(Expr::i32(0)), |f| {
                for_input_words(f, bits, src.get(), cp.raw_offset, cp.n_pre, |f, i| body(f, base.get() + i.get()));
            });
        });
    }
}

/// The copies in runs that one loop can cover: consecutive copies of one
/// projection (same raw positions, weight positions one after the other)
/// whose delays grow by one step size.
fn copy_groups(copies: &[CopyShape]) -> Vec<&[CopyShape]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=copies.len() {
        let joins = i < copies.len() && {
            let (a, b) = (&copies[i - 1], &copies[i]);
            b.raw_offset == a.raw_offset
                && b.n_pre == a.n_pre
                && b.weight_offset == a.weight_offset + a.n_pre
                && b.delay > a.delay
                && (i - start < 2 || b.delay - a.delay == copies[start + 1].delay - copies[start].delay)
        };
        if !joins {
            out.push(&copies[start..i]);
            start = i;
        }
    }
    out
}

/// The complete error `e` of pre neuron `i` from copy `cp` at backward step
/// `step`, on the last slice: sent down at once (no delay), or added to the
/// ring, and sent when it is the last copy to contribute (delay 0 of a ring).
fn finish_error(
    f: &mut FunctionBuilder,
    c: &Common,
    ring: Option<&RingCtx>,
    cp: &CopyShape,
    step: Expr,
    i: Var,
    e: Expr,
) {
    let raw = Expr::i32(cp.raw_offset as i32) + i.get();
    match (ring, cp.ring) {
        (Some(rc), Some(_)) => {
            let at = f.let_("slot_at", rc.at(cp, step - Expr::i32(cp.delay as i32), i.get()));
            f.store(rc.ring, at.get(), rc.ring.at(at.get()) + e);
            if cp.delay == 0 {
                f.send_with(c.key(SLOT_ERROR, raw.convert(ConvertOp::I32AsU32)), rc.ring.at(at.get()));
                f.store(rc.ring, at.get(), Expr::f32(0.0));
            }
        }
        _ => f.send_with(c.key(SLOT_ERROR, raw.convert(ConvertOp::I32AsU32)), e),
    }
}

/// Sends the ring's errors of the pre spikes of step `step` of `cp`'s
/// projection (every copy has contributed) and clears them.
fn send_ring(f: &mut FunctionBuilder, c: &Common, rc: &RingCtx, cp: &CopyShape, bits: Bits, step: Expr) {
    let r = cp.ring.expect("a ring copy");
    f.for_range("i", Expr::i32(0), Expr::i32(r.n_pre as i32), |f, i| {
        let pos = Expr::i32(r.raw_offset as i32) + i.get();
        let spiked = input_spiked(f, bits, step.clone(), pos.clone());
        f.if_(spiked, |f| {
            let at = f.let_("slot_at", rc.at(cp, step.clone(), i.get()));
            f.send_with(c.key(SLOT_ERROR, pos.convert(ConvertOp::I32AsU32)), rc.ring.at(at.get()));
            f.store(rc.ring, at.get(), Expr::f32(0.0));
        });
    });
}

/// The inputs that landed at this step, added into `acc` in fan-in order
/// (`docs/contract.md` section 2): every copy reads its pre spikes of step
/// `step - 1 - delay`.
fn accumulate_inputs(f: &mut FunctionBuilder, l: &Lif, s: &LayerShape, step: Var) {
    let ni = Expr::i32(l.n as i32);
    fill(f, l.acc, l.n, Expr::f32(0.0));
    let prev = f.let_("prev", step.get() - Expr::i32(1));
    if s.plain {
        for_input_words(f, l.bits, prev.get(), 0, l.fan_in, |f, pos| {
            let row = l.syn.weight_row(f, pos.get(), l.n);
            f.for_range("j", Expr::i32(0), ni.clone(), |f, j| {
                f.store(l.acc, j.get(), l.acc.at(j.get()) + row.at(j.get()));
            });
        });
        return;
    }
    copies_loop(f, s, prev.get(), l.bits, |f, pos| {
        let row = l.syn.weight_row(f, pos, l.n);
        f.for_range("j", Expr::i32(0), ni.clone(), |f, j| {
            f.store(l.acc, j.get(), l.acc.at(j.get()) + row.at(j.get()));
        });
    });
}

/// Runs `body(pos)` for the positions `pos` in `0 .. len` whose bits of
/// step `step` and position `start + pos` are set ([`Bits`]), in ascending
/// order: per word holding some of them and not zero, per set bit among
/// them (lowest first, by `ctz`, cleared after its turn; `popcnt` rounds).
/// The same positions in the same order as a scan of every position that
/// tests its bit, without visiting the others.
fn for_input_words(
    f: &mut FunctionBuilder,
    bits: Bits,
    step: Expr,
    start: u32,
    len: u32,
    body: impl FnOnce(&mut FunctionBuilder, Var),
) {
    if len == 0 {
        return;
    }
    let in_bits = bits.buf;
    let first = f.let_("first", bits.row(step) * Expr::i32(bits.width as i32) + Expr::i32(start as i32));
    let w0 = first.get().convert(ConvertOp::I32AsU32) >> Expr::u32(5);
    let end = ((first.get() + Expr::i32(len as i32 - 1)).convert(ConvertOp::I32AsU32) >> Expr::u32(5)) + Expr::u32(1);
    f.for_range("w", w0, end, |f, w| {
        let word = f.let_("word", in_bits.at(w.get()));
        f.if_(word.get().not_equals(Expr::u32(0)), |f| {
            // Position of the word's bit 0; its bits `blo .. bhi` are ours.
            let base = f.let_("base", w.get().convert(ConvertOp::U32AsI32) * Expr::i32(32) - first.get());
            let blo = (-base.get()).max(Expr::i32(0)).convert(ConvertOp::I32AsU32);
            let bhi = f.let_("bhi", (Expr::i32(len as i32) - base.get()).convert(ConvertOp::I32AsU32));
            let below_hi = Expr::select(
                bhi.get().ge(Expr::u32(32)),
                Expr::u32(u32::MAX),
                (Expr::u32(1) << bhi.get()) - Expr::u32(1),
            );
            let m = f.let_("m", word.get() & (Expr::u32(u32::MAX) << blo) & below_hi);
            let count = Expr::unary(UnaryOp::Popcnt, m.get());
            f.for_range("b", Expr::u32(0), count, |f, _| {
                let pos = f.let_("hit", base.get() + Expr::unary(UnaryOp::Ctz, m.get()).convert(ConvertOp::U32AsI32));
                body(f, pos);
                f.assign(m, m.get() & (m.get() - Expr::u32(1)));
            });
        });
    });
}

/// Whether the input spike bit of `step` and position `pos` is set ([`Bits`]).
fn input_spiked(f: &mut FunctionBuilder, bits: Bits, step: Expr, pos: Expr) -> Expr {
    let bit = f.let_("bit", (bits.row(step) * Expr::i32(bits.width as i32) + pos).convert(ConvertOp::I32AsU32));
    let word = bits.buf.at(bit.get() >> Expr::u32(5));
    ((word >> (bit.get() & Expr::u32(31))) & Expr::u32(1)).not_equals(Expr::u32(0))
}

/// The packet handler's spike part: a `SPIKE` packet for fan-in position
/// `index` sets its bit of the current step ([`Bits`]).
fn record_input_spike(f: &mut FunctionBuilder, c: &Common, bits: Bits, t: Var, index: Var) {
    f.if_(t.get().equals(Expr::i32(tag::SPIKE)), |f| {
        let row = bits.row(c.step.at(Expr::i32(0)));
        let bit = f.let_("bit", (row * Expr::i32(bits.width as i32) + index.get()).convert(ConvertOp::I32AsU32));
        let word = f.let_("word", bit.get() >> Expr::u32(5));
        f.store(bits.buf, word.get(), bits.buf.at(word.get()) | (Expr::u32(1) << (bit.get() & Expr::u32(31))));
    });
}

/// What a layer's adjoint tick updates: `lV` and `lI` of its `n` neurons,
/// with its constants.
struct AdjointBufs {
    lv: BufRef,
    li: BufRef,
    cs: LayerConsts,
    n: u32,
}

/// The buffers of a LIF slice's forward pass (weights `[position][neuron]`).
struct Lif {
    syn: Syn,
    i_syn: BufRef,
    v: BufRef,
    acc: BufRef,
    bits: Bits,
    n: u32,
    fan_in: u32,
    /// Whether its spikes are sent (a sink without a loss sends none).
    sends: bool,
}

/// A layer slice of `n` neurons of a network without training: the forward
/// pass only. A `lif` slice records each neuron's first spike step in
/// `first` (-1: silent; an `li` slice never spikes), which the host reads
/// after the sample.
pub fn layer_inference(s: &LayerShape, n: u32, rx_len: u32) -> Kernel {
    let kk = s.fan_in;
    let mut k = KernelBuilder::new(&format!("layer_{}", s.name));
    let c = common(&mut k, rx_len);
    let weights = k.buffer(buffers::WEIGHTS, Ty::F32, kk * n);
    let i_syn = k.buffer("i_syn", Ty::F32, n);
    let v = k.buffer("v", Ty::F32, n);
    let acc = k.buffer("acc", Ty::F32, n);
    let in_bits = k.buffer("in_bits", Ty::U32, s.input_words);
    let lif = Lif {
        // A forward-only layer keeps its synapses in SRAM.
        syn: Syn::Sram { weights, grad: weights, slot: None },
        i_syn,
        v,
        acc,
        bits: s.bits(in_bits),
        n,
        fan_in: kk,
        sends: s.sends_spikes,
    };
    let first = k.buffer(buffers::FIRST, Ty::I32, n);

    k.define(c.packet(|f, t, index, _| record_input_spike(f, &c, lif.bits, t, index)));

    let mut f = FunctionBuilder::new(EntryPoint::TickForward);
    let step = f.params()[0];
    f.if_else(
        step.get().equals(Expr::i32(0)),
        |f| {
            fill(f, lif.i_syn, n, Expr::f32(0.0));
            fill(f, lif.v, n, Expr::f32(0.0));
            fill(f, lif.bits.buf, s.input_words, Expr::u32(0));
            fill(f, first, n, Expr::i32(-1));
        },
        |f| {
            accumulate_inputs(f, &lif, s, step);
            match s.kind {
                LayerKind::Lif => update_lif(f, &c, &lif, s.consts, |f, j, _, _| {
                    f.if_(first.at(j.get()).lt(Expr::i32(0)), |f| f.store(first, j.get(), step.get()));
                }),
                LayerKind::Li => update_li(f, &c, &lif, s.consts, step, s, None, 0),
            }
        },
    );
    f.store(c.step, Expr::i32(0), step.get());
    k.define(f.finish());
    k.finish()
}

/// The Adam optimiser: sums the gradients of every copy as they arrive; on
/// the last one, takes one step and sends every new weight.
pub fn optimiser(s: AdamShape, rx_len: u32, index: usize) -> Kernel {
    let held = s.held;
    let mut k = KernelBuilder::new(&format!("optimiser_{index}"));
    let c = common(&mut k, rx_len);
    let w = k.buffer("w", Ty::F32, held);
    let m = k.buffer("m", Ty::F32, held);
    let v = k.buffer("v", Ty::F32, held);
    let gsum = k.buffer("gsum", Ty::F32, held);
    let count = k.buffer("count", Ty::U32, 1);
    let hyper = k.buffer(buffers::HYPER, Ty::F32, 2);

    k.define(c.packet(|f, t, index, payload| {
        gather_gradients(f, [t, index, payload], gsum, count, s.expected, |f| {
            let step_size = f.let_("step_size", hyper.at(Expr::u32(0)));
            let bc2 = f.let_("bc2_sqrt", hyper.at(Expr::u32(1)));
            f.for_range("i", Expr::u32(0), Expr::u32(held), |f, i| {
                let wi = f.let_("wi", w.at(i.get()));
                let g = with_decay(gsum.at(i.get()), s.wd, wi.get());
                let g = f.let_("g", g);
                let mk = f.let_("mk", m.at(i.get()) + Expr::f32(s.one_minus_b1) * (g.get() - m.at(i.get())));
                let vk =
                    f.let_("vk", Expr::f32(s.beta2) * v.at(i.get()) + (Expr::f32(s.one_minus_b2) * g.get()) * g.get());
                f.store(m, i.get(), mk.get());
                f.store(v, i.get(), vk.get());
                let denom = vk.get().sqrt() / bc2.get() + Expr::f32(s.eps);
                let wn = f.let_("wn", wi.get() + (-step_size.get()) * (mk.get() / denom));
                f.store(w, i.get(), wn.get());
                f.store(gsum, i.get(), Expr::f32(0.0));
                f.send_with(c.key(SLOT_WEIGHT, i.get()), wn.get());
            });
        });
    }));
    k.finish()
}

/// The optimisers' packet handling: a gradient packet is added to `gsum`;
/// on the `expected`-th one (the last copy's last gradient), `step` runs
/// and the count starts again.
fn gather_gradients(
    f: &mut FunctionBuilder,
    [t, index, payload]: [Var; 3],
    gsum: BufRef,
    count: BufRef,
    expected: u32,
    step: impl FnOnce(&mut FunctionBuilder),
) {
    f.if_(t.get().equals(Expr::i32(tag::GRADIENT)), |f| {
        let g = payload.get().convert(ConvertOp::F32FromBits);
        f.store(gsum, index.get(), gsum.at(index.get()) + g);
        let n = f.let_("n", count.at(Expr::u32(0)) + Expr::u32(1));
        f.store(count, Expr::u32(0), n.get());
        f.if_(n.get().equals(Expr::u32(expected)), |f| {
            step(f);
            f.store(count, Expr::u32(0), Expr::u32(0));
        });
    });
}

/// The gradient with L2 weight decay added as PyTorch does (`g + wd * w`),
/// or `g` alone without decay.
fn with_decay(g: Expr, wd: f32, w: Expr) -> Expr {
    if wd != 0.0 { g + Expr::f32(wd) * w } else { g }
}

/// SGD with momentum (PyTorch, dampening 0): sums the gradients of every
/// copy as they arrive; on the last one, takes one step with `hyper[0]` =
/// the learning rate and `hyper[1]` = 1 on the first step (the momentum
/// buffer starts as the gradient), and sends every new weight. Without
/// momentum there is no buffer.
pub fn sgd_optimiser(s: SgdShape, rx_len: u32, index: usize) -> Kernel {
    let held = s.held;
    let mut k = KernelBuilder::new(&format!("optimiser_{index}"));
    let c = common(&mut k, rx_len);
    let w = k.buffer("w", Ty::F32, held);
    let mom = (s.momentum != 0.0).then(|| k.buffer("momentum", Ty::F32, held));
    let gsum = k.buffer("gsum", Ty::F32, held);
    let count = k.buffer("count", Ty::U32, 1);
    let hyper = k.buffer(buffers::HYPER, Ty::F32, 2);

    k.define(c.packet(|f, t, index, payload| {
        gather_gradients(f, [t, index, payload], gsum, count, s.expected, |f| {
            let lr = f.let_("lr", hyper.at(Expr::u32(0)));
            let first = f.let_("first", hyper.at(Expr::u32(1)).not_equals(Expr::f32(0.0)));
            f.for_range("i", Expr::u32(0), Expr::u32(held), |f, i| {
                let wi = f.let_("wi", w.at(i.get()));
                let g = with_decay(gsum.at(i.get()), s.wd, wi.get());
                let b = f.let_("b", g);
                if let Some(mom) = mom {
                    f.if_(!first.get(), |f| {
                        f.assign(b, Expr::f32(s.momentum) * mom.at(i.get()) + b.get());
                    });
                    f.store(mom, i.get(), b.get());
                }
                let wn = f.let_("wn", wi.get() + (-lr.get()) * b.get());
                f.store(w, i.get(), wn.get());
                f.store(gsum, i.get(), Expr::f32(0.0));
                f.send_with(c.key(SLOT_WEIGHT, i.get()), wn.get());
            });
        });
    }));
    k.finish()
}
