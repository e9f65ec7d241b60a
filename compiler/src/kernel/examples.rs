//! Hand-built example kernels: the IR's documentation in executable form,
//! used by the snapshot test of the text form and by the runtime's
//! interpreter-versus-JIT tests. The lowering builds the real kernels.

use super::build::KernelBuilder;
use super::{ConvertOp, EntryPoint, Expr, FunctionBuilder, Kernel, Ty, exp_f32, ln_f32};

/// Parameters of [`lif_layer`].
#[derive(Clone, Copy, Debug)]
pub struct LifExample {
    pub inputs: u32,
    pub neurons: u32,
    /// Synaptic current decay per step.
    pub alpha: f32,
    /// Membrane decay per step.
    pub beta: f32,
    pub threshold: f32,
    /// Base key of the incoming spikes (aligned to a power of two >= inputs).
    pub key_in: u32,
    /// Mask that maps an incoming key to its source row after subtracting
    /// `key_in`.
    pub mask_in: u32,
    /// Base key of this layer's spikes.
    pub key_out: u32,
}

impl Default for LifExample {
    fn default() -> Self {
        LifExample {
            inputs: 5,
            neurons: 4,
            alpha: 0.9,
            beta: 0.95,
            threshold: 1.0,
            key_in: 0x0001_0000,
            mask_in: 0x7,
            key_out: 0x0002_0000,
        }
    }
}

/// A leaky integrate-and-fire layer's forward pass: each received spike adds
/// its weight row to the input accumulator; each tick decays the synaptic
/// current and the membrane, integrates, thresholds, resets, records the first
/// spike step and sends a spike packet; at the end of the sample each neuron
/// sends its first spike step as payload.
pub fn lif_layer(p: LifExample) -> Kernel {
    let mut k = KernelBuilder::new("lif_layer");
    let weights = k.buffer("weights", Ty::F32, p.inputs * p.neurons);
    let acc = k.buffer("acc", Ty::F32, p.neurons);
    let i_syn = k.buffer("i_syn", Ty::F32, p.neurons);
    let v = k.buffer("v", Ty::F32, p.neurons);
    let first = k.buffer("first_spike", Ty::I32, p.neurons);

    let mut f = FunctionBuilder::new(EntryPoint::Init);
    f.for_range("n", Expr::u32(0), Expr::u32(p.neurons), |f, n| {
        f.store(acc, n.get(), Expr::f32(0.0));
        f.store(i_syn, n.get(), Expr::f32(0.0));
        f.store(v, n.get(), Expr::f32(0.0));
        f.store(first, n.get(), Expr::i32(-1));
    });
    k.define(f.finish());

    let mut f = FunctionBuilder::new(EntryPoint::Packet);
    let key = f.params()[0];
    let row = f.let_("row", (key.get() - Expr::u32(p.key_in)) & Expr::u32(p.mask_in));
    f.for_range("n", Expr::u32(0), Expr::u32(p.neurons), |f, n| {
        let w = weights.at(row.get() * Expr::u32(p.neurons) + n.get());
        f.store(acc, n.get(), acc.at(n.get()) + w);
    });
    k.define(f.finish());

    let mut f = FunctionBuilder::new(EntryPoint::TickForward);
    let step = f.params()[0];
    f.for_range("n", Expr::u32(0), Expr::u32(p.neurons), |f, n| {
        let i = f.let_("i", Expr::f32(p.alpha) * i_syn.at(n.get()) + acc.at(n.get()));
        f.store(i_syn, n.get(), i.get());
        f.store(acc, n.get(), Expr::f32(0.0));
        let u = f.let_("u", Expr::f32(p.beta) * v.at(n.get()) + i.get());
        f.if_else(
            u.get().ge(Expr::f32(p.threshold)),
            |f| {
                f.store(v, n.get(), Expr::f32(0.0));
                f.send(Expr::u32(p.key_out) | n.get());
                f.if_(first.at(n.get()).lt(Expr::i32(0)), |f| f.store(first, n.get(), step.get()));
            },
            |f| f.store(v, n.get(), u.get()),
        );
    });
    k.define(f.finish());

    let mut f = FunctionBuilder::new(EntryPoint::EndOfSample);
    f.for_range("n", Expr::u32(0), Expr::u32(p.neurons), |f, n| {
        f.send_with(Expr::u32(p.key_out) | n.get(), first.at(n.get()));
        f.store(first, n.get(), Expr::i32(-1));
    });
    k.define(f.finish());
    k.finish()
}

/// A probe for the expanded elementary functions: `init` sets
/// `exp_out[i] = exp(x[i])` and `ln_out[i] = ln(x[i])` for `i < len`;
/// `end_of_sample` sends `f32_to_i32(x[i])` as a packet key.
pub fn exp_ln_probe(len: u32) -> Kernel {
    let mut k = KernelBuilder::new("exp_ln_probe");
    let x = k.buffer("x", Ty::F32, len);
    let exp_out = k.buffer("exp_out", Ty::F32, len);
    let ln_out = k.buffer("ln_out", Ty::F32, len);
    let mut f = FunctionBuilder::new(EntryPoint::Init);
    f.for_range("i", Expr::u32(0), Expr::u32(len), |f, i| {
        let e = exp_f32(f, x.at(i.get()));
        f.store(exp_out, i.get(), e);
        let l = ln_f32(f, x.at(i.get()));
        f.store(ln_out, i.get(), l);
    });
    k.define(f.finish());
    let mut f = FunctionBuilder::new(EntryPoint::EndOfSample);
    f.for_range("i", Expr::u32(0), Expr::u32(len), |f, i| {
        f.send(x.at(i.get()).convert(ConvertOp::F32ToI32).convert(ConvertOp::I32AsU32));
    });
    k.define(f.finish());
    k.finish()
}
