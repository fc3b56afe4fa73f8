"""GRU with z weighting the candidate, as written by Ng and Olah: forward and backward through
time.

Generated from derive/cells/variants.py by `gated-rnn generate`; do not edit.

Per time step, every product elementwise:

    r = sigmoid(W_r @ x + U_r @ h_prev + b_r)
    z = sigmoid(W_z @ x + U_z @ h_prev + b_z)
    q = r * h_prev
    n = tanh(W_n @ x + U_n @ q + b_n)
    h = z * n + (1 - z) * h_prev

Shapes: x (T, B, D), time-major; states (B, H); params as in PARAM_SHAPES.
"""

import numpy as np

from derive.runtime import check_backward, check_forward

CELL = "gru_swapped"
STATES = ("h",)
PARAM_SHAPES = {
    "W_r": ("H", "D"),
    "U_r": ("H", "H"),
    "W_z": ("H", "D"),
    "U_z": ("H", "H"),
    "W_n": ("H", "D"),
    "U_n": ("H", "H"),
    "b_r": ("H",),
    "b_z": ("H",),
    "b_n": ("H",),
}


def forward(params, x, h0=None, lengths=None, check_finite=False):
    """Run the cell over x; return h_seq (T, B, H) and the cache for backward.

    Initial states default to zeros. With lengths (one per sequence) the outputs after a
    sequence's end are zero and its state stays at its last step, and what the padding holds
    reaches no output and no gradient. check_finite=True rejects NaN and Inf in the inputs.

    h_seq is a new array and the cache keeps its own copies of x and the initial states:
    changing any of them afterwards leaves what backward returns unchanged.
    """
    x, (h0,), H, batch = check_forward(
        CELL,
        PARAM_SHAPES,
        params,
        x,
        {"h0": h0},
        lengths,
        check_finite,
    )
    T, B, D = x.shape
    x2 = x.reshape(T * B, D)
    U_all = np.concatenate([params["U_r"], params["U_z"]])  # rows: r z
    U_n = params["U_n"]
    # pre-activations, one (T, B, H) slab each: n r z; the input projections of all steps
    gates = np.empty((3, T, B, H), x.dtype)
    np.matmul(x2, params["W_n"].T, out=gates[0].reshape(T * B, H))
    np.matmul(x2, params["W_r"].T, out=gates[1].reshape(T * B, H))
    np.matmul(x2, params["W_z"].T, out=gates[2].reshape(T * B, H))
    bias = np.stack([params["b_n"], params["b_r"], params["b_z"]])  # one row per slab
    gates += bias[:, None, None]
    h_seq = np.zeros((T, B, H), x.dtype)
    q_seq = np.zeros((T, B, H), x.dtype)
    tmp0_buf = np.empty((B, H), x.dtype)
    rec = np.empty((B, 2 * H), x.dtype)
    h_prev = h0
    with np.errstate(over="ignore"):  # e^{-a} = inf inside σ gives exactly 0
        for t, live in enumerate(batch.active):  # live: rows still running
            pre = gates[:, t, :live]
            n, r, z = pre
            h_prev = h_prev[:live]
            tmp0 = tmp0_buf[:live]
            np.matmul(h_prev, U_all.T, out=rec[:live])
            pre[1:] += rec[:live].reshape(live, 2, H).transpose(1, 0, 2)
            blk = pre[1:]  # r, z = sigmoid(·)
            blk *= -1
            np.exp(blk, out=blk)
            blk += 1
            np.reciprocal(blk, out=blk)
            # q = r * h_prev
            q = q_seq[t, :live]
            np.multiply(h_prev, r, out=q)
            # n = tanh(W_n @ x + U_n @ q + b_n)
            np.matmul(q, U_n.T, out=tmp0)
            n += tmp0
            np.tanh(n, out=n)
            # h = z * n + (1 - z) * h_prev
            h = h_seq[t, :live]
            np.subtract(n, h_prev, out=h)
            h *= z
            h += h_prev
            h_prev = h
    cache = {
        "cell": CELL,
        "x": x,
        "H": H,
        "batch": batch,
        "gates": gates,
        "h0": h0,
        "h_seq": h_seq,
        "q_seq": q_seq,
        "U_all": U_all,
        "h_T": batch.unsort(batch.final(h_seq, h0), 0),
    }
    return batch.output(h_seq, 1), cache


def backward(params, cache, dh_seq, dh_T=None):
    """Gradients of L = Σ h_seq ⊙ dh_seq + Σ_s s_T ⊙ ds_T over the states s = h.

    Returns a dict with the keys of params and x, h0.
    """
    (dh_seq,), (d_h_carry,) = check_backward(
        CELL,
        cache,
        {"dh_seq": dh_seq},
        {"dh_T": dh_T},
        params,
        PARAM_SHAPES,
        ("x", "H", "batch", "gates", "h0", "h_seq", "q_seq", "U_all"),
    )
    x, H, batch, gates, h0, h_seq, q_seq, U_all = (
        cache["x"],
        cache["H"],
        cache["batch"],
        cache["gates"],
        cache["h0"],
        cache["h_seq"],
        cache["q_seq"],
        cache["U_all"],
    )
    T, B, D = x.shape
    U_n = params["U_n"]
    # δ of the pre-activations: computed per step in d_pre (3, B, H), stored as rows of
    # d_pre_seq (T, B, P·H) for the recurrent product and the weight gradients after the loop
    d_pre_buf = np.empty((3, B, H), x.dtype)
    d_pre_seq = np.zeros((T, B, 3 * H), x.dtype)
    d_h_buf = np.empty((B, H), x.dtype)
    d_q_buf = np.empty((B, H), x.dtype)
    tmp0_buf = np.empty((B, H), x.dtype)
    tmp1_buf = np.empty((B, H), x.dtype)
    tmp_block0_buf = np.empty((2, B, H), x.dtype)
    for t in reversed(range(T)):
        live = batch.active[t]  # rows still running
        pre, d_rows = gates[:, t, :live], d_pre_seq[t, :live]
        d_pre = d_pre_buf[:, :live]
        d_n, d_r, d_z = d_pre
        d_h, d_q, tmp0, tmp1 = d_h_buf[:live], d_q_buf[:live], tmp0_buf[:live], tmp1_buf[:live]
        d_h_next = d_h_carry[:live]
        h_prev = h_seq[t - 1, :live] if t else h0[:live]
        n, r, z = pre
        # δh = ∂ℓ/∂h + δh_next
        np.add(d_h_next, dh_seq[t, :live], out=d_h)
        # δn = δh ⊙ z
        np.multiply(d_h, z, out=d_n)
        # δa_n = δn ⊙ 1 − n²
        np.square(n, out=tmp0)
        np.subtract(1, tmp0, out=tmp0)
        d_n *= tmp0
        # δq = U_nᵀ δa_n
        np.matmul(d_n, U_n, out=d_q)
        # δz = δh ⊙ (n − h_prev)
        np.subtract(n, h_prev, out=d_z)
        d_z *= d_h
        # δr = δq ⊙ h_prev
        np.multiply(d_q, h_prev, out=d_r)
        # δa_r = δr ⊙ r ⊙ (1 − r)
        # δa_z = δz ⊙ z ⊙ (1 − z)
        blk, d_blk, tmp_blk = pre[1:], d_pre[1:], tmp_block0_buf[:2, :live]
        np.subtract(1, blk, out=tmp_blk)
        tmp_blk *= blk
        d_blk *= tmp_blk
        # δ of the pre-activations into the rows of d_pre_seq
        np.copyto(d_rows.reshape(live, 3, H), d_pre.transpose(1, 0, 2))
        # δh_prev = δh ⊙ (1 − z) + δq ⊙ r + U_rᵀ δa_r + U_zᵀ δa_z, handed to step t − 1
        np.matmul(d_rows[:, H:], U_all, out=d_h_next)
        np.subtract(1, z, out=tmp0)
        tmp0 *= d_h
        np.multiply(d_q, r, out=tmp1)
        tmp0 += tmp1
        d_h_next += tmp0
    # sums over time and batch, one GEMM per group of weights that share a source:
    # ∂L/∂W = Σ_t δa_t vᵀ_t for the source v of W, ∂L/∂b = Σ_t δa_t, ∂L/∂x_t = Σ_W Wᵀ δa_t
    d_all = d_pre_seq.reshape(T * B, 3 * H)
    x2 = x.reshape(T * B, D)
    d_W_all = d_all.T @ x2
    d_x = d_all @ np.concatenate([params["W_n"], params["W_r"], params["W_z"]])
    d_U_all = d_all[:B, H:].T @ h0 + d_all[B:, H:].T @ h_seq[:-1].reshape((T - 1) * B, H)
    d_bias = np.ones(T * B, x.dtype) @ d_all  # column sums, as one GEMV
    return {
        "W_r": d_W_all[H:2 * H],
        "U_r": d_U_all[:H],
        "W_z": d_W_all[2 * H:3 * H],
        "U_z": d_U_all[H:2 * H],
        "W_n": d_W_all[:H],
        "U_n": d_all[:, :H].T @ q_seq.reshape(T * B, H),
        "b_r": d_bias[H:2 * H],
        "b_z": d_bias[2 * H:3 * H],
        "b_n": d_bias[:H],
        "x": batch.unsort(d_x.reshape(T, B, D), 1),
        "h0": batch.unsort(d_h_carry, 0),
    }
