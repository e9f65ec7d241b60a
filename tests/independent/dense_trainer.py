"""Independent dense numpy float32 EventProp trainer, written from the numerical
contract (docs/contract.md) and the language (docs/language.md) alone. It shares
no code with snnc. runtime/tests/runtime/train_independent.rs runs it live and compares
snnc's first epochs with what it prints.

Model class: spike sources with a latency code (early_high / late_high, optional
bias spike), `lif` and `li` populations, dense projections with a delay or a
delay line, recurrence and cycles; first-spike cross-entropy on a `lif`
readout, max / sum / exp-weighted voltage cross-entropy on an `li` readout; the
spike-count regulariser; Adam with L2 weight decay (PyTorch's update) and an
exponential per-batch schedule; seeded initialisers and shuffle as numpy's
RandomState(seed); Yin-Yang generated from its seed (contract section 11) or
read from tests/data/yinyang/*.csv.

Usage (needs numpy):
    python3 dense_trainer.py [epochs] [seed] [--json]
        examples/yinyang.snn's recipe (contract section 10), as before: one
        line per epoch with train loss, train and test accuracy (--json: one
        JSON object per epoch, full precision).
    python3 dense_trainer.py --recipe RECIPE.json [--epochs N] [--seed S] [--json]
        the network and recipe of a JSON description (format below); with
        --json one JSON object per epoch (full precision) instead of text.

Recipe JSON (times in steps unless the key says ms; dt is 1 ms unless dt_ms):
{
  "steps": 40, "dt_ms": 1.0,
  "populations": [
    {"name": "inp", "kind": "spike_source", "size": 5,
     "encoding": {"order": "early_high", "t_min": 2, "t_max": null, "clip_low": 0.01},
     "bias_at": 0},                                   # optional; size counts it
    {"name": "h", "kind": "lif", "size": 20, "tau_mem_ms": 20, "tau_syn_ms": 5, "threshold": 1.0},
    {"name": "out", "kind": "li", "size": 3, "tau_mem_ms": 20, "tau_syn_ms": 5}],
  "projections": [                                    # declaration order
    {"pre": "inp", "post": "h", "delays": [0, 2, 4],  # one per copy, ascending
     "init": {"kind": "normal", "mean": 3.2, "std": 3.2, "scale": "fan_in_sqrt"}}],
                                                      # or uniform low/high, constant value;
                                                      # scale none | fan_in | fan_in_sqrt
  "fan_in": "positions",                              # k of `scale`: fan-in positions (a delay
                                                      # line's copies counted, as snnc does) or
                                                      # "neurons" (each pre neuron once: the
                                                      # language's wording); default "neurons"
  "readout": "out",
  "loss": {"kind": "first_spike", "xi": 1.5, "alpha": 1e-2, "beta": 100}
        | {"kind": "max_voltage"} | {"kind": "sum_voltage"}
        | {"kind": "exp_weighted_voltage", "window": [5, 40]},   # null: whole trial
  "regularizer": {"populations": ["h"], "strength": 1e-3, "strength_below": 1e-3, "target": 2},
  "optimizer": {"kind": "adam", "lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0},
  "schedule": {"per_epoch": 0.95},                    # or null: constant
  "batch": 20, "epochs": 3, "seed": 0,
  "data": {"kind": "yin_yang", "train": [440, 42], "test": [0, 40]}
        | {"kind": "yinyang_csv"}                     # tests/data/yinyang, all of it
}
"""
import csv
import json
import math
import os
import sys

import numpy as np

f32 = np.float32
HERE = os.path.dirname(os.path.abspath(__file__))
CSV_DIR = os.path.join(HERE, "..", "data", "yinyang")


# ---------------------------------------------------------------------------
# Data: Yin-Yang (contract section 11) and the latency code (section 8).

def yinyang(n, seed):
    """The reference generator: numpy's legacy RandomState(seed)."""
    rng = np.random.RandomState(seed)
    r_small, r_big = 0.1, 0.5

    def which(x, y):
        d_right = math.sqrt((x - 1.5 * r_big) ** 2 + (y - r_big) ** 2)
        d_left = math.sqrt((x - 0.5 * r_big) ** 2 + (y - r_big) ** 2)
        if d_right < r_small or d_left < r_small:
            return 2
        yin = d_right <= r_small or (r_small < d_left <= 0.5 * r_big) or (y > r_big and d_right > 0.5 * r_big)
        return int(yin)

    x = np.zeros((n, 4))
    y = np.zeros(n, np.int64)
    for s in range(n):
        goal = rng.randint(3)
        while True:
            a, b = rng.rand(2) * 2.0 * r_big
            if math.sqrt((a - r_big) ** 2 + (b - r_big) ** 2) > r_big:
                continue
            c = which(a, b)
            if c == goal:
                break
        x[s] = (a, b, 1.0 - a, 1.0 - b)
        y[s] = goal
    return x, y


def read_csv(split):
    rows = list(csv.reader(open(os.path.join(CSV_DIR, f"yinyang_{split}.csv"))))[1:]
    return np.array([[float(v) for v in r[:4]] for r in rows]), np.array([int(r[4]) for r in rows])


def check_against_csv(x, y, seed):
    """The generator must reproduce the CSV splits (a prefix of them)."""
    split = {42: "train", 41: "validation", 40: "test"}.get(seed)
    if split is None or len(y) == 0 or not os.path.exists(os.path.join(CSV_DIR, f"yinyang_{split}.csv")):
        return
    cx, cy = read_csv(split)
    n = min(len(y), len(cy))
    if not (np.array_equal(cx[:n], x[:n]) and np.array_equal(cy[:n], y[:n])):
        raise SystemExit(f"Yin-Yang generator disagrees with yinyang_{split}.csv")


def encode(x, src, steps):
    """Spike step of each input neuron (features, then the bias); -1: no spike."""
    enc = src["encoding"]
    t_min = enc.get("t_min")
    t_max = enc.get("t_max")
    if t_max is None:
        t_max = steps - 1
    clip = enc.get("clip_low")
    if enc["order"] == "early_high":
        t_min = 2 if t_min is None else t_min
        clip = 0.01 if clip is None else clip
        v = np.maximum(x, clip)
        st = np.round(t_min + (t_max - t_min) * (1 - v))  # half to even
    else:
        t_min = 0 if t_min is None else t_min
        clip = 0.0 if clip is None else clip
        v = np.maximum(x, clip)
        st = np.round(t_min + v * (t_max - t_min))
    st = np.maximum(st, 0)
    st = np.where(st > steps - 1, -1, st).astype(np.int64)
    if src.get("bias_at") is not None:
        st = np.concatenate([st, np.full((len(x), 1), int(round(src["bias_at"])), np.int64)], 1)
    assert st.shape[1] == src["size"], "feature count + bias = input size"
    return st


def input_spikes(st, steps):
    """[T, batch, inputs] float32 0/1."""
    s = np.zeros((steps, st.shape[0], st.shape[1]), f32)
    for i in range(st.shape[1]):
        ok = st[:, i] >= 0
        s[st[ok, i], np.arange(st.shape[0])[ok], i] = 1
    return s


# ---------------------------------------------------------------------------
# The network.

class Net:
    def __init__(self, r):
        self.r = r
        self.T = r["steps"]
        dt = r.get("dt_ms", 1.0) * 1e-3
        self.pops = r["populations"]
        self.idx = {p["name"]: i for i, p in enumerate(self.pops)}
        self.projs = r["projections"]
        for p in self.projs:
            p["_pre"], p["_post"] = self.idx[p["pre"]], self.idx[p["post"]]
            p.setdefault("delays", [0])
        self.input = [i for i, p in enumerate(self.pops) if p["kind"] == "spike_source"]
        assert len(self.input) == 1
        self.input = self.input[0]
        self.readout = self.idx[r["readout"]]
        self.c = {}
        for i, p in enumerate(self.pops):
            if p["kind"] == "spike_source":
                continue
            ts, tm = p.get("tau_syn_ms", 5.0) * 1e-3, p.get("tau_mem_ms", 20.0) * 1e-3
            al, be = math.exp(-dt / ts), math.exp(-dt / tm)
            # The current's weight in V = be V + g I (contract section 2).
            if p.get("integration", "exponential_euler") == "exact":
                g = ts / (ts - tm) * (math.expm1(-dt / ts) - math.expm1(-dt / tm))
            else:
                g = 1 - be
            self.c[i] = dict(al=f32(al), be=f32(be), oma=f32(1 - al), omb=f32(g), ntau=f32(-ts),
                             theta=f32(p.get("threshold", 1.0)), kappa=f32(-g / ((1 - al) * ts)))
        loss = r["loss"]
        self.loss = loss
        T = self.T
        self.w_time = None  # loss weights w[n] for the sum and exp-weighted losses
        if loss["kind"] == "sum_voltage":
            self.w_time = np.array([0.0] + [1.0 / T] * (T - 1), f32)
        elif loss["kind"] == "exp_weighted_voltage":
            a, b = loss.get("window") or (0, T)
            w = np.zeros(T, f32)
            for n in range(1, T):
                if a <= n < b:
                    w[n] = f32(math.exp(-(n - a) / (b - a)) / (b - a))
            self.w_time = w
        self.reg = r.get("regularizer")

    def size(self, i):
        return self.pops[i]["size"]

    def init(self, seed):
        """One RandomState(seed), projections in declaration order, each drawn
        [pre][post] (delay lines [copies][pre][post]) and stored transposed."""
        rs = np.random.RandomState(seed)
        ws = []
        for p in self.projs:
            fan = 0
            for q in self.projs:
                if q["_post"] == p["_post"]:
                    fan += self.size(q["_pre"]) * (len(q["delays"]) if self.r.get("fan_in") == "positions" else 1)
            init = p["init"]
            k = {"none": 1.0, "fan_in": float(fan), "fan_in_sqrt": math.sqrt(fan)}[init.get("scale", "none")]
            shape = (len(p["delays"]), self.size(p["_pre"]), self.size(p["_post"]))
            if init["kind"] == "normal":
                a = rs.normal(init.get("mean", 0.0) / k, init.get("std", 1.0) / k, shape)
            elif init["kind"] == "uniform":
                a = rs.uniform(init["low"] / k, init["high"] / k, shape)
            else:
                a = np.full(shape, init["value"] / k)
            ws.append([a[c].T.astype(f32).copy() for c in range(shape[0])])
        return ws

    # -- forward (sections 2 and 3) ----------------------------------------
    def forward(self, s_in, W):
        T, B = self.T, s_in.shape[1]
        S = [None] * len(self.pops)
        S[self.input] = s_in
        st = {}
        for i in self.c:
            n = self.size(i)
            S[i] = np.zeros((T, B, n), f32)
            st[i] = dict(I=np.zeros((B, n), f32), V=np.zeros((B, n), f32), Is=np.zeros((T, B, n), f32),
                         Vts=np.zeros((T, B, n), f32))
        for n in range(1, T):
            for i in self.c:
                c, x = self.c[i], st[i]
                acc = np.zeros_like(x["I"])
                for pi, p in enumerate(self.projs):
                    if p["_post"] != i:
                        continue
                    for k, d in enumerate(p["delays"]):
                        if n - 1 - d >= 0:
                            acc = acc + S[p["_pre"]][n - 1 - d] @ W[pi][k].T
                x["I"] = c["al"] * x["I"] + acc
                vt = c["be"] * x["V"] + c["omb"] * x["I"]
                if self.pops[i]["kind"] == "lif":
                    s = vt > c["theta"]
                    x["V"] = np.where(s, f32(0), vt)
                    S[i][n] = s
                else:
                    x["V"] = vt
                x["Is"][n], x["Vts"][n] = x["I"], vt
        return S, st

    # -- losses (sections 5 and 6) -----------------------------------------
    def loss_and_errors(self, S, st, y):
        """Per-sample losses, correct flags, and either the first-spike errors
        E[T, B, C] (lif readout) or the direct terms Q[T, B, C] (li readout)."""
        T, r, B = self.T, self.readout, len(y)
        C = self.size(r)
        idx = np.arange(B)
        L = self.loss
        out = np.zeros((T, B, C), f32)
        if L["kind"] == "first_spike":
            xi, a, b = f32(L.get("xi", 1.5)), f32(L.get("alpha", 1e-2)), f32(L.get("beta", 100.0))
            Sr = S[r]
            t = np.where(Sr.any(0), Sr.argmax(0), T)
            tf = t.astype(f32)
            z = -(tf / xi)
            m = z.max(1, keepdims=True)
            ez = np.exp(z - m)
            s = ez.sum(1, keepdims=True)
            loss = (m[:, 0] + np.log(s[:, 0])) - z[idx, y] + a * (np.exp(tf[idx, y] / b) - f32(1))
            delta = np.zeros((B, C), f32)
            delta[idx, y] = 1
            g = (delta - ez / s) / xi
            g[idx, y] = g[idx, y] + (a * np.exp(tf[idx, y] / b)) / b
            for k in range(C):
                ok = t[:, k] < T - 1
                out[t[ok, k], idx[ok], k] = g[ok, k] / f32(B)
            correct = t.argmin(1) == y
        else:
            V = st[r]["Vts"]  # an li population's V[n]
            if L["kind"] == "max_voltage":
                arg = V[1:].argmax(0) + 1  # first maximum
                score = np.take_along_axis(V, arg[None], 0)[0]
            else:
                w = self.w_time[:, None, None]
                if L["kind"] == "sum_voltage":
                    score = V[1:].sum(0) * self.w_time[1]
                else:
                    score = (w * V).sum(0)
            m = score.max(1, keepdims=True)
            ez = np.exp(score - m)
            s = ez.sum(1, keepdims=True)
            loss = (m[:, 0] + np.log(s[:, 0])) - score[idx, y]
            delta = np.zeros((B, C), f32)
            delta[idx, y] = 1
            e = (ez / s - delta) / f32(B)
            ke = self.c[r]["kappa"] * e
            if L["kind"] == "max_voltage":
                for k in range(C):
                    out[arg[:, k], idx, k] = ke[:, k]
            else:
                out = ke[None] * self.w_time[:, None, None]
            correct = score.argmax(1) == y
        return loss, correct, out

    # -- backward (section 4.2, with sections 6 and 7) ---------------------
    def backward(self, S, st, W, out):
        T, r = self.T, self.readout
        B = out.shape[1]
        lif_readout = self.pops[r]["kind"] == "lif"
        lV = {i: np.zeros((B, self.size(i)), f32) for i in self.c}
        lI = {i: np.zeros((B, self.size(i)), f32) for i in self.c}
        E = [np.zeros((T, B, self.size(p["_pre"])), f32) if p["_pre"] in self.c else None for p in self.projs]
        G = [[np.zeros_like(w) for w in ws] for ws in W]
        if not lif_readout:
            lV[r] = self.c[r]["be"] * lV[r] + out[T - 1]
        rho = {}
        if self.reg:
            for name in self.reg["populations"]:
                i = self.idx[name]
                cnt = S[i][1:].sum(0)  # spikes per (sample, neuron)
                nu = self.reg["target"]
                up, lo = self.reg["strength"], self.reg.get("strength_below", self.reg["strength"])
                rho[i] = np.where(cnt > nu, f32(up / B), f32(lo / B)) * (cnt.astype(f32) - f32(nu))
        for n in range(T - 2, -1, -1):
            # 1. errors for the layers below
            for pi, p in enumerate(self.projs):
                if E[pi] is None:
                    continue
                q = p["_post"]
                for k, d in enumerate(p["delays"]):
                    m = n - d
                    if m >= 0:
                        E[pi][m] += ((lV[q] - lI[q]) @ W[pi][k]) * S[p["_pre"]][m]
            # 2. adjoint recurrences and jumps
            nV, nI = {}, {}
            for i, c in self.c.items():
                nI[i] = c["al"] * lI[i] + c["oma"] * lV[i]
                if self.pops[i]["kind"] == "lif":
                    spk = S[i][n + 1] > 0
                    e_out = np.zeros_like(lV[i])
                    for pi, p in enumerate(self.projs):
                        if p["_pre"] == i:
                            e_out = e_out + E[pi][n + 1]
                    if i == r:
                        e_out = e_out + out[n + 1]
                    den = (st[i]["Is"][n + 1] - st[i]["Vts"][n + 1]) + f32(1e-10)
                    jump = np.where(spk, (c["theta"] * lV[i] + e_out) / np.where(spk, den, f32(1)), f32(0))
                    v = c["be"] * lV[i] + jump
                    if i in rho:
                        v = np.where(spk, v - rho[i], v)
                    nV[i] = v
                elif i == r:
                    nV[i] = c["be"] * lV[i] + out[n]
                else:
                    nV[i] = c["be"] * lV[i]
            lV, lI = nV, nI
            # 3. gradients
            for pi, p in enumerate(self.projs):
                q = p["_post"]
                for k, d in enumerate(p["delays"]):
                    if n - d >= 0:
                        G[pi][k] += self.c[q]["ntau"] * (lI[q].T @ S[p["_pre"]][n - d])
        return G


# ---------------------------------------------------------------------------
# Training.

def load_data(r, net):
    d = r["data"]
    if d["kind"] == "yinyang_csv":
        splits = {"train": read_csv("train"), "test": read_csv("test")}
    else:
        splits = {}
        for name in ("train", "test"):
            if d.get(name) and d[name][0] > 0:
                x, y = yinyang(*d[name])
                check_against_csv(x, y, d[name][1])
                splits[name] = (x, y)
    src = net.pops[net.input]
    return {k: (encode(x, src, net.T), y) for k, (x, y) in splits.items()}


def train(r, epochs, seed, emit):
    net = Net(r)
    data = load_data(r, net)
    tr, ytr = data["train"]
    B = r["batch"]
    opt = r.get("optimizer", {"kind": "adam"})
    assert opt.get("kind", "adam") == "adam", "only Adam"
    LR = opt.get("lr", 1e-3)
    B1, B2 = opt.get("betas", (0.9, 0.999))
    EPS, WD = opt.get("eps", 1e-8), opt.get("weight_decay", 0.0)
    W = net.init(seed)
    shuffle = np.random.RandomState(seed)
    m = [[np.zeros_like(w) for w in ws] for ws in W]
    v = [[np.zeros_like(w) for w in ws] for ws in W]
    nb = len(ytr) // B
    gam = r["schedule"]["per_epoch"] ** (1 / nb) if r.get("schedule") else 1.0
    step = 0
    for ep in range(epochs):
        perm = shuffle.permutation(len(ytr))
        lsum, corr = 0.0, 0
        for b in range(nb):
            idx = perm[b * B:(b + 1) * B]
            S, st = net.forward(input_spikes(tr[idx], net.T), W)
            loss, correct, out = net.loss_and_errors(S, st, ytr[idx])
            lsum += float(loss.astype(np.float64).sum())
            corr += int(correct.sum())
            G = net.backward(S, st, W, out)
            lr = LR * gam ** step
            step += 1
            for i in range(len(W)):
                for k in range(len(W[i])):
                    g = G[i][k] + f32(WD) * W[i][k]
                    m[i][k] = m[i][k] + f32(1 - B1) * (g - m[i][k])
                    v[i][k] = f32(B2) * v[i][k] + (f32(1 - B2) * g) * g
                    den = np.sqrt(v[i][k]) / f32(math.sqrt(1 - B2 ** step)) + f32(EPS)
                    W[i][k] = W[i][k] + f32(-(lr / (1 - B1 ** step))) * (m[i][k] / den)
        res = {"epoch": ep + 1, "train_loss": lsum / (nb * B), "train_accuracy": corr / (nb * B)}
        if "test" in data:
            te, yte = data["test"]
            S, st = net.forward(input_spikes(te, net.T), W)
            _, correct, _ = net.loss_and_errors(S, st, yte)
            res["test_accuracy"] = float(correct.mean())
            r_ = net.readout
            if net.pops[r_]["kind"] == "lif":
                res["silent_test"] = (~S[r_].any(0)).sum(0).tolist()
        emit(res, W)


# examples/yinyang.snn (contract section 10), with the CSV splits.
SEED_RECIPE = {
    "steps": 27,
    "populations": [
        {"name": "input", "kind": "spike_source", "size": 5,
         "encoding": {"order": "early_high", "t_min": 2, "clip_low": 0.01}, "bias_at": 0},
        {"name": "hidden", "kind": "lif", "size": 120, "tau_mem_ms": 20, "tau_syn_ms": 5, "threshold": 1.0},
        {"name": "output", "kind": "lif", "size": 3, "tau_mem_ms": 20, "tau_syn_ms": 5, "threshold": 1.0}],
    "projections": [
        {"pre": "input", "post": "hidden", "init": {"kind": "normal", "mean": 3.2, "std": 3.2, "scale": "fan_in_sqrt"}},
        {"pre": "hidden", "post": "output", "init": {"kind": "normal", "mean": 5.2, "std": 2.8, "scale": "fan_in_sqrt"}}],
    "readout": "output",
    "loss": {"kind": "first_spike", "xi": 1.5, "alpha": 1e-2, "beta": 100},
    "optimizer": {"kind": "adam", "lr": 0.0019, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 6.5e-7},
    "schedule": {"per_epoch": 0.95},
    "batch": 22, "epochs": 40, "seed": 0,
    "data": {"kind": "yinyang_csv"},
}


def main(argv):
    if argv and argv[0] == "--recipe":
        r = json.load(open(argv[1]))
        rest = argv[2:]
        epochs, seed, as_json = r["epochs"], r.get("seed", 0), False
        while rest:
            if rest[0] == "--epochs":
                epochs, rest = int(rest[1]), rest[2:]
            elif rest[0] == "--seed":
                seed, rest = int(rest[1]), rest[2:]
            elif rest[0] == "--json":
                as_json, rest = True, rest[1:]
            else:
                raise SystemExit(f"unknown argument {rest[0]}")

        def emit(res, W):
            if as_json:
                print(json.dumps(res), flush=True)
            else:
                test = f" test {res['test_accuracy']:.3f}" if "test_accuracy" in res else ""
                print(f"ep {res['epoch']:2d} loss {res['train_loss']:.4f} train {res['train_accuracy']:.3f}{test}", flush=True)
        train(r, epochs, seed, emit)
    else:
        as_json = "--json" in argv
        argv = [a for a in argv if a != "--json"]
        epochs = int(argv[0]) if argv else SEED_RECIPE["epochs"]
        seed = int(argv[1]) if len(argv) > 1 else 0

        def emit(res, W):
            if as_json:
                print(json.dumps(res), flush=True)
                return
            print(f"ep {res['epoch']:2d} loss {res['train_loss']:.4f} train {res['train_accuracy']:.3f} "
                  f"test {res['test_accuracy']:.3f} silent_test={res['silent_test']} "
                  f"meanW1rows={W[1][0].mean(1).round(3).tolist()}", flush=True)
        train(SEED_RECIPE, epochs, seed, emit)


if __name__ == "__main__":
    main(sys.argv[1:])
