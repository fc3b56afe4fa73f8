"""Simple RNN (Elman), as torch.nn.RNN with tanh: forward and backward through time.

Generated from derive/cells.py by `python -m derive generate`; do not edit.

Per time step, every product elementwise:

    h = tanh(W_h @ x + U_h @ h_prev + b_h + bh_h)

Shapes: x (T, B, D), time-major; states (B, H); params as in PARAM_SHAPES.
"""


import numpy as np

from derive.runtime import check_backward, check_forward


CELL = "rnn"
STATES = ('h',)
PARAM_SHAPES = {"W_h": ('H', 'D'), "U_h": ('H', 'H'), "b_h": ('H',), "bh_h": ('H',)}


def forward(params, x, h0=None, check_finite=False):
    """Run the cell over x; return h_seq (T, B, H) and the cache for backward.

    Initial states default to zeros; check_finite=True rejects NaN and Inf in the inputs.
    """
    x, (h0,), H = check_forward(
        CELL, PARAM_SHAPES, params, x, {"h0": h0}, check_finite)
    T, B, D = x.shape
    W_all = np.concatenate([params["W_h"]])  # rows: h
    U_all = np.concatenate([params["U_h"]])  # rows: h
    bias = np.concatenate([params["b_h"] + params["bh_h"]])
    # pre-activations of every step; the input projections of all steps are one GEMM
    gates = np.empty((T, B, H), x.dtype)
    np.matmul(x.reshape(T * B, D), W_all.T, out=gates.reshape(T * B, H))
    gates += bias
    rec = np.empty((B, H), x.dtype)
    h_prev = h0
    for t in range(T):
        pre = gates[t]
        np.matmul(h_prev, U_all.T, out=rec)
        pre += rec
        blk = pre[:, :]  # h = tanh(·)
        np.tanh(blk, out=blk)
        h, = pre[:, :],
        h_prev = h
    h_seq = gates
    return h_seq, {"x": x, "H": H, "gates": gates, "h0": h0, "W_all": W_all, "U_all": U_all, "h_T": h_seq[-1]}


def backward(params, cache, dh_seq, dh_T=None):
    """Gradients of L = Σ h_seq ⊙ dh_seq + Σ_s s_T ⊙ ds_T over the states s = h.

    Returns a dict with the keys of params and x, h0.
    """
    (dh_seq,), (d_h_next,) = check_backward(
        CELL, cache, {"dh_seq": dh_seq}, {"dh_T": dh_T})
    x, H, gates, h0, W_all, U_all = (cache["x"], cache["H"], cache["gates"], cache["h0"], cache["W_all"], cache["U_all"])
    T, B, D = x.shape
    h_seq = gates
    d_gates = np.empty_like(gates)
    tmp_block0 = np.empty((B, H), x.dtype)
    for t in reversed(range(T)):
        pre, d_pre = gates[t], d_gates[t]
        h, = pre[:, :],
        d_h, = d_pre[:, :],
        # δh
        np.add(d_h_next, dh_seq[t], out=d_h)
        # δ pre-activations of h: times tanh'
        blk, d_blk, tmp_blk = pre[:, :], d_pre[:, :], tmp_block0
        np.square(blk, out=tmp_blk)
        np.subtract(1, tmp_blk, out=tmp_blk)
        d_blk *= tmp_blk
        # δh_prev, handed to step t - 1
        np.matmul(d_pre, U_all, out=d_h_next)
    # sums over time and batch: one GEMM per fused weight
    d_gates2 = d_gates.reshape(T * B, H)
    x2 = x.reshape(T * B, D)
    d_W_all = d_gates2.T @ x2
    d_x = (d_gates2 @ W_all).reshape(T, B, D)
    d_U_all = d_gates2[:B].T @ h0 + d_gates2[B:].T @ h_seq[:-1].reshape((T - 1) * B, H)
    d_bias = d_gates2.sum(axis=0)
    return {
        "W_h": d_W_all[:H],
        "U_h": d_U_all[:H],
        "b_h": d_bias[:],
        "bh_h": d_bias[:].copy(),
        "x": d_x,
        "h0": d_h_next,
    }
