"""Independent dense numpy float32 EventProp trainer, written from the numerical
contract (docs/contract.md sections 2, 4, 5, 8 and 9), for examples/yinyang.snn's recipe.
It shares no code with snnc. runtime/tests/train_independent.rs quotes what it
printed for seed 0.

Usage: python3 dense_trainer.py [epochs] [seed]     (needs numpy)"""
import os, sys, csv, numpy as np
f32 = np.float32
T, B, EPOCHS = 27, 22, 40
dt, tau_m, tau_s = 1e-3, 20e-3, 5e-3
al, be = f32(np.exp(-dt / tau_s)), f32(np.exp(-dt / tau_m))
oma, omb = f32(1 - np.exp(-dt / tau_s)), f32(1 - np.exp(-dt / tau_m))
XI, A, BR = f32(1.5), f32(1e-2), f32(100.0)
LR, B1, B2, EPS, WD, GAM = 0.0019, 0.9, 0.999, 1e-8, 6.5e-7, 0.95

def load(split):
    rows = list(csv.reader(open(os.path.join(os.path.dirname(__file__), "..", "data", "yinyang", f"yinyang_{split}.csv"))))[1:]
    x = np.array([[float(v) for v in r[:4]] for r in rows]); y = np.array([int(r[4]) for r in rows])
    v = np.maximum(x, 0.01)
    st = np.round(2 + 24 * (1 - v)).astype(np.int64)  # numpy round = half to even
    st = np.concatenate([st, np.zeros((len(y), 1), np.int64)], 1)
    return st, y

def spikes(st):
    S = np.zeros((T, len(st), 5), f32)
    for i in range(5):
        S[st[:, i], np.arange(len(st)), i] = 1
    return S

def layer_fwd(S, W):
    n_b, n_o = S.shape[1], W.shape[0]
    I = np.zeros((n_b, n_o), f32); V = np.zeros((n_b, n_o), f32)
    Is = np.zeros((T, n_b, n_o), f32); Vts = np.zeros((T, n_b, n_o), f32); Ss = np.zeros((T, n_b, n_o), f32)
    for n in range(1, T):
        I = al * I + S[n - 1] @ W.T
        Vt = be * V + omb * I
        s = Vt > f32(1.0)
        V = np.where(s, f32(0), Vt)
        Is[n], Vts[n], Ss[n] = I, Vt, s
    return Is, Vts, Ss

def first_times(Ss):
    any_ = Ss.any(0)
    t = np.where(any_, Ss.argmax(0), T)
    return t

def layer_bwd(S_in, W, Is, Vts, Ss, E):
    n_b, n_o = Ss.shape[1], Ss.shape[2]
    lV = np.zeros((n_b, n_o), f32); lI = np.zeros((n_b, n_o), f32)
    e_in = np.zeros((T, n_b, W.shape[1]), f32); g = np.zeros_like(W)
    for n in range(T - 2, -1, -1):
        e_in[n] = (lV - lI) @ W
        den = Is[n + 1] - Vts[n + 1] + f32(1e-10)
        jump = np.where(Ss[n + 1] > 0, (lV + E[n + 1]) / np.where(Ss[n + 1] > 0, den, f32(1)), f32(0))
        lI = al * lI + oma * lV
        lV = be * lV + jump
        g += f32(-tau_s) * (lI.T @ S_in[n])
    return g, e_in

def loss_err(t, y):
    z = -(t.astype(f32) / XI)
    m = z.max(1, keepdims=True)
    ez = np.exp(z - m); s = ez.sum(1, keepdims=True)
    p = ez / s
    idx = np.arange(len(y))
    L = (m[:, 0] + np.log(s[:, 0])) - z[idx, y] + A * (np.exp(t[idx, y].astype(f32) / BR) - 1)
    g = -p / XI
    g[idx, y] += f32(1) / XI + (A * np.exp(t[idx, y].astype(f32) / BR)) / BR
    return L, g

def predict(t):
    return t.argmin(1)

def main():
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else EPOCHS
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    tr, ytr = load("train"); te, yte = load("test")
    rs = np.random.RandomState(seed)
    W0 = rs.normal(3.2 / np.sqrt(5), 3.2 / np.sqrt(5), (5, 120)).T.astype(f32).copy()
    W1 = rs.normal(5.2 / np.sqrt(120), 2.8 / np.sqrt(120), (120, 3)).T.astype(f32).copy()
    shuffle = np.random.RandomState(seed)
    Ws = [W0, W1]; m = [np.zeros_like(w) for w in Ws]; v = [np.zeros_like(w) for w in Ws]
    step = 0; nb = 5000 // B; gam = GAM ** (1 / nb)
    Ste = spikes(te)
    for ep in range(epochs):
        perm = shuffle.permutation(5000)
        lsum = 0.0; corr = 0
        for b in range(nb):
            idx = perm[b * B:(b + 1) * B]
            S = spikes(tr[idx]); y = ytr[idx]
            Ih, Vh, Sh = layer_fwd(S, Ws[0]); Io, Vo, So = layer_fwd(Sh, Ws[1])
            t = first_times(So); L, g = loss_err(t, y)
            lsum += float(L.sum()); corr += int((predict(t) == y).sum())
            E = np.zeros((T, B, 3), f32)
            for k in range(3):
                ok = t[:, k] < T - 1
                E[t[ok, k], np.arange(B)[ok], k] = g[ok, k] / f32(B)
            g1, e_h = layer_bwd(Sh, Ws[1], Io, Vo, So, E)
            g0, _ = layer_bwd(S, Ws[0], Ih, Vh, Sh, e_h)
            lr = LR * gam ** step; step += 1
            for i, gr in enumerate([g0, g1]):
                gg = gr + f32(WD) * Ws[i]
                m[i] = m[i] + f32(1 - B1) * (gg - m[i])
                v[i] = f32(B2) * v[i] + (f32(1 - B2) * gg) * gg
                den = np.sqrt(v[i]) / f32(np.sqrt(1 - B2 ** step)) + f32(EPS)
                Ws[i] = Ws[i] + f32(-(lr / (1 - B1 ** step))) * (m[i] / den)
        _, _, Sh = layer_fwd(Ste, Ws[0]); _, _, So = layer_fwd(Sh, Ws[1])
        tt = first_times(So)
        silent = (tt == T).sum(0)
        print(f"ep {ep+1:2d} loss {lsum/(nb*B):.4f} train {corr/(nb*B):.3f} test {(predict(tt)==yte).mean():.3f} silent_test={silent.tolist()} meanW1rows={Ws[1].mean(1).round(3).tolist()}", flush=True)

main()
