"""Hand-written NumPy RNN, LSTM and GRU, forward and backward through time: the yardstick of the benchmark.

Written the way an expert writes one cell for speed, with the same contract as the generated kernels for
what the benchmark measures: ``forward(params, x) -> (h_seq, cache)`` with zero initial states and no
lengths, ``h_seq`` a new array and the cache's own copy of ``x`` (so that changing either afterwards
changes nothing ``backward`` returns), ``backward(params, cache, dh_seq) -> grads`` with the gradients of
every parameter, of ``x`` and of the initial states. ``BARE`` holds the same kernels without those two
copies, to measure what they cost.

How they are written:

- the gates of a step are the columns of one contiguous ``(B, G·H)`` row block, in an order chosen so
  that the sigmoid gates are adjacent and the gates that share a backward factor are adjacent;
- the sigmoid's sign is folded into its weights and biases once, so a step computes 1 / (1 + e^a);
- the recurrent product multiplies by a contiguous copy of Uᵀ;
- the backward pass computes every factor that depends only on forward values (σ′, tanh′ and their
  products) for all steps at once before the recursion, which then costs one multiply per factor.
"""

from __future__ import annotations

import numpy as np

Params = dict[str, np.ndarray]


def stacked(params: Params, part: str, gates: str) -> np.ndarray:
    return np.concatenate([params[f"{part}_{g}"] for g in gates])


def weights(params: Params, gates: str, sigmoid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """W (G·H, D), U (G·H, H) in the order of gates, and the forward's W and contiguous Uᵀ with the first
    ``sigmoid`` gates' rows negated."""
    W, U = stacked(params, "W", gates), stacked(params, "U", gates)
    H = U.shape[1]
    sign = np.ones((len(gates) * H, 1), W.dtype)
    sign[:sigmoid * H] = -1
    return W, U, W * sign, np.ascontiguousarray((U * sign).T)


def grads_of(names: str, d_W: np.ndarray, d_U: np.ndarray, d_b: np.ndarray, d_bh: np.ndarray) -> Params:
    H = d_U.shape[1]
    out: Params = {}
    for k, g in enumerate(names):
        rows = slice(k * H, (k + 1) * H)
        out.update({f"W_{g}": d_W[rows], f"U_{g}": d_U[rows], f"b_{g}": d_b[rows], f"bh_{g}": d_bh[rows]})
    return out


def recurrent_gradient(d_all: np.ndarray, h_seq: np.ndarray, T: int, B: int) -> np.ndarray:
    """Σ_t δa_t h_{t−1}ᵀ with h_{−1} = 0."""
    H = h_seq.shape[2]
    return d_all[B:].T @ h_seq[:-1].reshape((T - 1) * B, H)


# --- simple RNN ------------------------------------------------------------------------------


def rnn_forward(params: Params, x: np.ndarray):
    T, B, D = x.shape
    W, U = params["W_h"], params["U_h"]
    H = U.shape[0]
    UT = np.ascontiguousarray(U.T)
    h_seq = (x.reshape(T * B, D) @ W.T).reshape(T, B, H)
    h_seq += params["b_h"] + params["bh_h"]
    rec = np.empty((B, H), x.dtype)
    np.tanh(h_seq[0], out=h_seq[0])
    for t in range(1, T):
        np.matmul(h_seq[t - 1], UT, out=rec)
        h = h_seq[t]
        h += rec
        np.tanh(h, out=h)
    return h_seq, (x, h_seq)


def rnn_backward(params: Params, cache, dh_seq: np.ndarray) -> Params:
    x, h_seq = cache
    T, B, D = x.shape
    U = params["U_h"]
    d_a = np.square(h_seq)
    np.subtract(1, d_a, out=d_a)  # tanh′, then δa in place, step by step
    carry = np.zeros((B, U.shape[0]), x.dtype)
    d_h = np.empty_like(carry)
    for t in range(T - 1, -1, -1):
        np.add(dh_seq[t], carry, out=d_h)
        d_a[t] *= d_h
        np.matmul(d_a[t], U, out=carry)
    d_all = d_a.reshape(T * B, -1)
    d_b = d_all.sum(axis=0)
    return {"W_h": d_all.T @ x.reshape(T * B, D), "U_h": recurrent_gradient(d_all, h_seq, T, B),
            "b_h": d_b, "bh_h": d_b.copy(), "x": (d_all @ params["W_h"]).reshape(T, B, D), "h0": carry}


# --- LSTM: columns o, i, f, g (sigmoids first; i, f, g share δc) ------------------------------

LSTM_ORDER = "oifg"


def lstm_forward(params: Params, x: np.ndarray):
    T, B, D = x.shape
    W, U, W_neg, UT_neg = weights(params, LSTM_ORDER, sigmoid=3)
    H = U.shape[1]
    b = np.concatenate([params[f"b_{g}"] + params[f"bh_{g}"] for g in LSTM_ORDER])
    b[:3 * H] *= -1
    gates = (x.reshape(T * B, D) @ W_neg.T).reshape(T, B, 4 * H)
    gates += b
    h_seq, c_seq, tanh_c = (np.empty((T, B, H), x.dtype) for _ in range(3))
    rec = np.empty((B, 4 * H), x.dtype)
    tmp = np.empty((B, H), x.dtype)
    h_prev = c_prev = np.zeros((B, H), x.dtype)
    with np.errstate(over="ignore"):
        for t in range(T):
            a = gates[t]
            np.matmul(h_prev, UT_neg, out=rec)
            a += rec
            s = a[:, :3 * H]
            np.exp(s, out=s)
            s += 1
            np.reciprocal(s, out=s)
            g = a[:, 3 * H:]
            np.tanh(g, out=g)
            o, i, f = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H]
            c = c_seq[t]
            np.multiply(f, c_prev, out=c)
            np.multiply(i, g, out=tmp)
            c += tmp
            np.tanh(c, out=tanh_c[t])
            np.multiply(o, tanh_c[t], out=h_seq[t])
            h_prev, c_prev = h_seq[t], c
    return h_seq, (x, gates, h_seq, c_seq, tanh_c, W, U)


def lstm_backward(params: Params, cache, dh_seq: np.ndarray) -> Params:
    x, gates, h_seq, c_seq, tanh_c, W, U = cache
    T, B, D = x.shape
    H = h_seq.shape[2]
    v = gates.reshape(T, B, 4, H)
    o, i, f, g = (v[:, :, k] for k in range(4))
    c_prev = np.concatenate([np.zeros((1, B, H), x.dtype), c_seq[:-1]])
    # factors of the forward values, all steps at once: δc = δh ⊙ A + δc_next; δa = factor ⊙ δ
    A = np.square(tanh_c)
    np.subtract(1, A, out=A)
    A *= o
    F = np.empty((T, B, 4, H), x.dtype)  # δa_o from δh; δa_i, δa_f, δa_g from δc
    np.multiply(tanh_c, o, out=F[:, :, 0])
    F[:, :, 0] *= 1 - o
    np.multiply(g, i, out=F[:, :, 1])
    F[:, :, 1] *= 1 - i
    np.multiply(c_prev, f, out=F[:, :, 2])
    F[:, :, 2] *= 1 - f
    np.square(g, out=F[:, :, 3])
    np.subtract(1, F[:, :, 3], out=F[:, :, 3])
    F[:, :, 3] *= i
    d_pre = np.empty((T, B, 4 * H), x.dtype)
    d_h, d_c = np.empty((B, H), x.dtype), np.empty((B, H), x.dtype)
    h_carry, c_carry = np.zeros((B, H), x.dtype), np.zeros((B, H), x.dtype)
    for t in range(T - 1, -1, -1):
        np.add(dh_seq[t], h_carry, out=d_h)
        np.multiply(d_h, A[t], out=d_c)
        d_c += c_carry
        rows = d_pre[t].reshape(B, 4, H)
        np.multiply(d_h, F[t, :, 0], out=rows[:, 0])
        np.multiply(d_c[:, None], F[t, :, 1:], out=rows[:, 1:])
        np.matmul(d_pre[t], U, out=h_carry)
        np.multiply(d_c, f[t], out=c_carry)
    d_all = d_pre.reshape(T * B, 4 * H)
    d_b = d_all.sum(axis=0)
    grads = grads_of(LSTM_ORDER, d_all.T @ x.reshape(T * B, D), recurrent_gradient(d_all, h_seq, T, B), d_b,
                     d_b.copy())
    return {**grads, "x": (d_all @ W).reshape(T, B, D), "h0": h_carry, "c0": c_carry}


# --- GRU (reset after the product, as torch): columns r, z, n ------------------------------------

GRU_ORDER = "rzn"


def gru_forward(params: Params, x: np.ndarray):
    T, B, D = x.shape
    W, U, W_neg, UT_neg = weights(params, GRU_ORDER, sigmoid=2)
    H = U.shape[1]
    b = np.concatenate([params["b_r"] + params["bh_r"], params["b_z"] + params["bh_z"], params["b_n"]])
    b[:2 * H] *= -1
    bh_n = params["bh_n"]
    gates = (x.reshape(T * B, D) @ W_neg.T).reshape(T, B, 3 * H)
    gates += b
    hn_seq = np.empty((T, B, H), x.dtype)  # U_n h_prev + bh_n, which the reset gate scales
    h_seq = np.empty((T, B, H), x.dtype)
    rec = np.empty((B, 3 * H), x.dtype)
    h_prev = np.zeros((B, H), x.dtype)
    with np.errstate(over="ignore"):
        for t in range(T):
            a = gates[t]
            np.matmul(h_prev, UT_neg, out=rec)
            s = a[:, :2 * H]
            s += rec[:, :2 * H]
            np.exp(s, out=s)
            s += 1
            np.reciprocal(s, out=s)
            r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
            hn = hn_seq[t]
            np.add(rec[:, 2 * H:], bh_n, out=hn)
            np.multiply(r, hn, out=h_seq[t])
            n += h_seq[t]
            np.tanh(n, out=n)
            h = h_seq[t]
            np.subtract(h_prev, n, out=h)
            h *= z
            h += n
            h_prev = h
    return h_seq, (x, gates, hn_seq, h_seq, W, U)


def gru_backward(params: Params, cache, dh_seq: np.ndarray) -> Params:
    x, gates, hn_seq, h_seq, W, U = cache
    T, B, D = x.shape
    H = h_seq.shape[2]
    v = gates.reshape(T, B, 3, H)
    r, z, n = (v[:, :, k] for k in range(3))
    h_prev = np.concatenate([np.zeros((1, B, H), x.dtype), h_seq[:-1]])
    # every δ of a step is a factor of the forward values times δh
    F = np.empty((T, B, 3, H), x.dtype)  # → δa_r, δa_z, δ(U_n h_prev + bh_n)
    Fn = np.square(n)
    np.subtract(1, Fn, out=Fn)
    Fn *= 1 - z  # δa_n = δh ⊙ (1 − z) ⊙ (1 − n²)
    np.multiply(Fn, hn_seq, out=F[:, :, 0])
    F[:, :, 0] *= r
    F[:, :, 0] *= 1 - r
    np.subtract(h_prev, n, out=F[:, :, 1])
    F[:, :, 1] *= z
    F[:, :, 1] *= 1 - z
    np.multiply(Fn, r, out=F[:, :, 2])
    d_rec = np.empty((T, B, 3 * H), x.dtype)
    d_h_seq = np.empty((T, B, H), x.dtype)
    carry = np.zeros((B, H), x.dtype)
    tmp = np.empty((B, H), x.dtype)
    for t in range(T - 1, -1, -1):
        d_h = d_h_seq[t]
        np.add(dh_seq[t], carry, out=d_h)
        np.multiply(d_h[:, None], F[t], out=d_rec[t].reshape(B, 3, H))
        np.matmul(d_rec[t], U, out=carry)
        np.multiply(d_h, z[t], out=tmp)
        carry += tmp
    d_in = d_rec.copy()  # the input side: δa_n instead of δ(U_n h + bh_n) = δa_n ⊙ r
    np.multiply(d_h_seq, Fn, out=d_in.reshape(T, B, 3, H)[:, :, 2])
    d_rec2, d_in2 = d_rec.reshape(T * B, 3 * H), d_in.reshape(T * B, 3 * H)
    grads = grads_of(GRU_ORDER, d_in2.T @ x.reshape(T * B, D), recurrent_gradient(d_rec2, h_seq, T, B),
                     d_in2.sum(axis=0), d_rec2.sum(axis=0))
    return {**grads, "x": (d_in2 @ W).reshape(T, B, D), "h0": carry}


def keeping_contract(forward):
    """``forward`` with the cache owning its copy of x and the output a new array."""
    def run(params: Params, x: np.ndarray):
        h_seq, cache = forward(params, x.copy())
        return h_seq.copy(), cache
    return run


BARE = {"rnn": (rnn_forward, rnn_backward), "lstm": (lstm_forward, lstm_backward), "gru": (gru_forward, gru_backward)}
KERNELS = {cell: (keeping_contract(forward), backward) for cell, (forward, backward) in BARE.items()}
