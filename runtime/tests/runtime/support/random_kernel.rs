//! Test support (shared by the differential tests of every kernel backend):
//! random well-typed kernels (random expression trees over every operator
//! and conversion, nested if/else and loops, loads and stores mostly in
//! bounds, sends with and without payload; in a quarter of the kernels a
//! private DRAM region and DMA statements, mostly in bounds), random memory
//! images, DRAM regions and
//! invocation sequences, all from a seed by a small deterministic generator
//! (a failing case is reproduced by its seed).

use snnc_compiler::kernel::{
    BinaryOp, BufRef, CmpOp, ConvertOp, EntryPoint, Expr, ExprKind, FunctionBuilder, Invocation, Kernel, KernelBuilder,
    Stmt, Ty, UnaryOp, Var,
};

/// SplitMix64.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    /// A 32-bit pattern biased towards the interesting values of `ty`.
    pub fn bits(&mut self, ty: Ty) -> u32 {
        match (ty, self.below(4)) {
            (_, 0) => self.next() as u32,
            (Ty::F32, 1) => self
                .pick(&[
                    0.0f32,
                    -0.0,
                    1.0,
                    -1.0,
                    0.5,
                    f32::NAN,
                    f32::INFINITY,
                    f32::NEG_INFINITY,
                    f32::MAX,
                    1e-40,
                    2.5e9,
                    -3e9,
                ])
                .to_bits(),
            (Ty::F32, _) => ((self.below(2001) as f32 - 1000.0) / 64.0).to_bits(),
            (Ty::Bool, _) => self.below(2) as u32,
            (_, 1) => self.pick(&[0u32, 1, 2, 31, 32, u32::MAX, i32::MIN as u32, i32::MAX as u32]),
            (_, _) => (self.below(21) as i32 - 10) as u32,
        }
    }
}

fn constant(ty: Ty, bits: u32) -> Expr {
    match ty {
        Ty::F32 => Expr::f32(f32::from_bits(bits)),
        Ty::I32 => Expr::i32(bits as i32),
        Ty::U32 => Expr::u32(bits),
        Ty::Bool => Expr::bool(bits & 1 == 1),
    }
}

const TYPES: [Ty; 4] = [Ty::F32, Ty::I32, Ty::U32, Ty::Bool];
const NUMERIC: [Ty; 3] = [Ty::F32, Ty::I32, Ty::U32];

struct Gen {
    rng: Rng,
    buffers: Vec<(BufRef, u32)>,
    /// Readable locals (parameters, assigned locals, active loop variables).
    scope: Vec<Var>,
    /// Locals that may be assigned.
    assignable: Vec<Var>,
    loops: usize,
    /// The kernel's DRAM region (0: none, and no DMA statements).
    dram: u32,
}

impl Gen {
    fn expr(&mut self, ty: Ty, depth: u32) -> Expr {
        if depth == 0 || self.rng.chance(25) {
            return self.leaf(ty);
        }
        let d = depth - 1;
        match ty {
            Ty::Bool => match self.rng.below(4) {
                0 | 1 => {
                    let t = self.rng.pick(&TYPES);
                    let ops: &[CmpOp] = if t == Ty::Bool {
                        &[CmpOp::Eq, CmpOp::Ne]
                    } else {
                        &[CmpOp::Eq, CmpOp::Ne, CmpOp::Lt, CmpOp::Le, CmpOp::Gt, CmpOp::Ge]
                    };
                    let op = self.rng.pick(ops);
                    Expr::compare(op, self.expr(t, d), self.expr(t, d))
                }
                2 => {
                    let op = self.rng.pick(&[BinaryOp::And, BinaryOp::Or, BinaryOp::Xor]);
                    Expr::binary(op, self.expr(ty, d), self.expr(ty, d))
                }
                _ => Expr::unary(UnaryOp::Not, self.expr(ty, d)),
            },
            Ty::F32 => match self.rng.below(6) {
                0 | 1 => {
                    let ops =
                        [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Min, BinaryOp::Max];
                    let op = self.rng.pick(&ops);
                    Expr::binary(op, self.expr(ty, d), self.expr(ty, d))
                }
                2 => {
                    let op = self.rng.pick(&[UnaryOp::Neg, UnaryOp::Abs, UnaryOp::Sqrt]);
                    Expr::unary(op, self.expr(ty, d))
                }
                3 => self.select(ty, d),
                _ => self.convert_to(ty, d),
            },
            _ => match self.rng.below(6) {
                0 | 1 => {
                    let ops = [
                        BinaryOp::Add,
                        BinaryOp::Sub,
                        BinaryOp::Mul,
                        BinaryOp::Div,
                        BinaryOp::Rem,
                        BinaryOp::Min,
                        BinaryOp::Max,
                        BinaryOp::And,
                        BinaryOp::Or,
                        BinaryOp::Xor,
                        BinaryOp::Shl,
                        BinaryOp::Shr,
                    ];
                    let op = self.rng.pick(&ops);
                    Expr::binary(op, self.expr(ty, d), self.expr(ty, d))
                }
                2 => {
                    let op = self.rng.pick(&[UnaryOp::Neg, UnaryOp::Not]);
                    Expr::unary(op, self.expr(ty, d))
                }
                3 => self.select(ty, d),
                _ => self.convert_to(ty, d),
            },
        }
    }

    fn select(&mut self, ty: Ty, d: u32) -> Expr {
        Expr::select(self.expr(Ty::Bool, d), self.expr(ty, d), self.expr(ty, d))
    }

    fn convert_to(&mut self, ty: Ty, d: u32) -> Expr {
        let ops: Vec<ConvertOp> = ConvertOp::ALL.into_iter().filter(|op| op.signature().1 == ty).collect();
        if ops.is_empty() {
            return self.leaf(ty);
        }
        let op = self.rng.pick(&ops);
        self.expr(op.signature().0, d).convert(op)
    }

    fn leaf(&mut self, ty: Ty) -> Expr {
        let vars: Vec<Var> = self.scope.iter().copied().filter(|v| v.ty == ty).collect();
        let bufs: Vec<(BufRef, u32)> = self.buffers.iter().copied().filter(|(b, _)| b.elem == ty).collect();
        match self.rng.below(3) {
            0 if !vars.is_empty() => self.rng.pick(&vars).get(),
            1 if !bufs.is_empty() => {
                let (b, len) = self.rng.pick(&bufs);
                let index = self.index(len);
                b.at(index)
            }
            _ => {
                let bits = self.rng.bits(ty);
                constant(ty, bits)
            }
        }
    }

    /// Mostly in bounds (`e % len`, a constant), sometimes anything but a
    /// constant out of bounds (which the verifier rejects).
    fn index(&mut self, len: u32) -> Expr {
        let index = self.any_index(len);
        if matches!(index.kind, ExprKind::Const(_)) {
            return Expr::u32(self.rng.below(u64::from(len)) as u32);
        }
        index
    }

    fn any_index(&mut self, len: u32) -> Expr {
        match self.rng.below(20) {
            0..=11 => self.expr(Ty::U32, 2) % Expr::u32(len),
            12..=15 => Expr::u32(self.rng.below(u64::from(len)) as u32),
            16..=17 => Expr::i32(self.rng.below(u64::from(len)) as i32),
            18 => self.expr(Ty::I32, 2),
            _ => self.expr(Ty::U32, 2) & Expr::u32(7),
        }
    }

    fn block(&mut self, fb: &mut FunctionBuilder, depth: u32) {
        for _ in 0..=self.rng.below(4) {
            self.stmt(fb, depth);
        }
    }

    /// A DMA statement, mostly in bounds: a word count that fits both the
    /// buffer and the region, constant starts that fit it, computed ones
    /// (and computed counts) that may trap.
    fn dma(&mut self, fb: &mut FunctionBuilder) {
        let (b, len) = self.rng.pick(&self.buffers);
        let n = self.rng.below(u64::from(len.min(self.dram)) + 1) as u32;
        let words = match self.rng.below(10) {
            0..=5 => Expr::u32(n),
            6..=7 => Expr::i32(n as i32),
            _ => self.expr(Ty::U32, 2) & Expr::u32(3),
        };
        let index = match self.rng.below(10) {
            0..=5 => Expr::u32(self.rng.below(u64::from(len - n) + 1) as u32),
            6..=8 => self.expr(Ty::U32, 2) % Expr::u32(len),
            _ => self.expr(Ty::I32, 2) & Expr::i32(7),
        };
        let address = match self.rng.below(10) {
            0..=4 => Expr::u32(self.rng.below(u64::from(self.dram - n) + 1) as u32),
            5..=8 => self.expr(Ty::U32, 2) % Expr::u32(self.dram),
            _ => self.expr(Ty::I32, 2) & Expr::i32(31),
        };
        if self.rng.chance(50) {
            fb.dma_read(b, index, address, words);
        } else {
            fb.dma_write(b, index, address, words);
        }
    }

    fn stmt(&mut self, fb: &mut FunctionBuilder, depth: u32) {
        if self.dram > 0 && self.rng.chance(15) {
            return self.dma(fb);
        }
        match self.rng.below(if depth == 0 { 3 } else { 5 }) {
            0 => {
                let var = self.rng.pick(&self.assignable);
                let value = self.expr(var.ty, 3);
                fb.assign(var, value);
            }
            1 => {
                let (b, len) = self.rng.pick(&self.buffers);
                let index = self.index(len);
                let value = self.expr(b.elem, 3);
                fb.store(b, index, value);
            }
            2 => {
                let key = self.expr(Ty::U32, 2);
                if self.rng.chance(50) {
                    let ty = self.rng.pick(&NUMERIC);
                    let payload = self.expr(ty, 2);
                    fb.send_with(key, payload);
                } else {
                    fb.send(key);
                }
            }
            3 => {
                let cond = self.expr(Ty::Bool, 3);
                let then_body = fb.block(|fb| self.block(fb, depth - 1));
                let else_body = if self.rng.chance(50) { fb.block(|fb| self.block(fb, depth - 1)) } else { Vec::new() };
                fb.push(Stmt::If { cond, then_body, else_body });
            }
            _ if self.loops >= 2 => self.stmt(fb, 0),
            _ => {
                let ty = self.rng.pick(&[Ty::I32, Ty::U32]);
                let first = self.rng.below(7) as i32 - 3;
                let (start, end) = if self.rng.chance(30) {
                    // Constant bounds, 0 to 9 iterations (the JIT unrolls
                    // up to 8).
                    let trips = self.rng.below(10) as i32;
                    if ty == Ty::I32 {
                        (Expr::i32(first), Expr::i32(first + trips))
                    } else {
                        (Expr::u32(first.unsigned_abs()), Expr::u32(first.unsigned_abs() + trips as u32))
                    }
                } else if ty == Ty::I32 {
                    let count = self.expr(Ty::U32, 2) & Expr::u32(7);
                    (Expr::i32(first), Expr::i32(first) + count.convert(ConvertOp::U32AsI32))
                } else {
                    let count = self.expr(Ty::U32, 2) & Expr::u32(7);
                    let first = first.unsigned_abs();
                    (Expr::u32(first), Expr::u32(first) + count)
                };
                self.loops += 1;
                fb.for_range("i", start, end, |fb, var| {
                    self.scope.push(var);
                    self.block(fb, depth - 1);
                    self.scope.pop();
                });
                self.loops -= 1;
            }
        }
    }
}

pub fn random_kernel(seed: u64) -> Kernel {
    let mut rng = Rng(seed);
    let mut kb = KernelBuilder::new("random");
    let mut buffers = Vec::new();
    for n in 0..=rng.below(3) {
        let elem = rng.pick(&NUMERIC);
        let len = 1 + rng.below(8) as u32;
        buffers.push((kb.buffer(&format!("b{n}"), elem, len), len));
    }
    // A quarter of the kernels get a DRAM region, decided apart from `rng`,
    // so that the others are what they were before DMA statements existed.
    let mut dram_rng = Rng(seed ^ 0xd4a0);
    let dram = if dram_rng.chance(25) { 1 + dram_rng.below(24) as u32 } else { 0 };
    kb.dram(dram);
    let mut g = Gen { rng, buffers, scope: Vec::new(), assignable: Vec::new(), loops: 0, dram };
    for entry in EntryPoint::ALL {
        let mut fb = FunctionBuilder::new(entry);
        g.scope = fb.params();
        g.assignable.clear();
        for ty in TYPES {
            for _ in 0..2 {
                let bits = g.rng.bits(ty);
                let var = fb.let_("x", constant(ty, bits));
                g.scope.push(var);
                g.assignable.push(var);
            }
        }
        g.block(&mut fb, 3);
        kb.define(fb.finish());
    }
    kb.finish()
}

pub fn random_memory(kernel: &Kernel, rng: &mut Rng) -> Vec<u32> {
    let mut memory = vec![0u32; kernel.memory_words()];
    for b in &kernel.buffers {
        for i in 0..b.len {
            memory[(b.offset / 4 + i) as usize] = rng.bits(b.elem);
        }
    }
    memory
}

/// A random image of `kernel`'s DRAM region (from its own generator, so
/// that the memory and invocations of a seed stay what they were).
pub fn random_dram(kernel: &Kernel, seed: u64) -> Vec<u32> {
    let mut rng = Rng(seed ^ 0xd4a1);
    (0..kernel.dram_words).map(|_| rng.bits(Ty::U32)).collect()
}

pub fn invocations(rng: &mut Rng) -> Vec<Invocation> {
    let mut calls = vec![Invocation::Init];
    for _ in 0..2 {
        calls.push(Invocation::Packet { key: rng.bits(Ty::U32), payload: rng.bits(Ty::F32) });
    }
    for _ in 0..3 {
        calls.push(Invocation::TickForward { step: rng.bits(Ty::I32) as i32 });
    }
    for _ in 0..2 {
        calls.push(Invocation::TickBackward { step: rng.bits(Ty::I32) as i32 });
    }
    calls.push(Invocation::EndOfSample);
    calls.push(Invocation::EndOfBatch);
    calls
}
