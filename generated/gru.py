"""GRU with the reset gate after the recurrent product, as torch.nn.GRU and cuDNN: forward and
backward through time.

Generated from derive/cells/builtin.py by `gated-rnn generate`; do not edit.

Per time step, every product elementwise:

    r = sigmoid(W_r @ x + U_r @ h_prev + b_r + bh_r)
    z = sigmoid(W_z @ x + U_z @ h_prev + b_z + bh_z)
    n = tanh(W_n @ x + b_n + r * (U_n @ h_prev + bh_n))
    h = (1 - z) * n + z * h_prev

Shapes: x (T, B, D), time-major; states (B, H); params as in PARAM_SHAPES.
"""

import numpy as np

from derive.runtime import check_backward, check_forward

CELL = "gru"
STATES = ("h",)
PARAM_SHAPES = {
    "W_r": ("H", "D"),
    "U_r": ("H", "H"),
    "W_z": ("H", "D"),
    "U_z": ("H", "H"),
    "W_n": ("H", "D"),
    "U_n": ("H", "H"),
    "b_r": ("H",),
    "bh_r": ("H",),
    "b_z": ("H",),
    "bh_z": ("H",),
    "b_n": ("H",),
    "bh_n": ("H",),
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
    U_all = np.concatenate([params["U_r"], params["U_z"], params["U_n"]])  # rows: r z n
    # pre-activations, one (T, B, H) slab each: a_n r z a_n_h; the input projections of all steps
    gates = np.zeros((4, T, B, H), x.dtype)
    np.matmul(x2, params["W_n"].T, out=gates[0].reshape(T * B, H))
    np.matmul(x2, params["W_r"].T, out=gates[1].reshape(T * B, H))
    np.matmul(x2, params["W_z"].T, out=gates[2].reshape(T * B, H))
    # one row per slab
    bias = np.stack(
        [
            params["b_n"],
            params["b_r"] + params["bh_r"],
            params["b_z"] + params["bh_z"],
            params["bh_n"],
        ],
    )
    gates += bias[:, None, None]
    h_seq = np.zeros((T, B, H), x.dtype)
    n_seq = np.zeros((T, B, H), x.dtype)
    rec = np.empty((B, 3 * H), x.dtype)
    h_prev = h0
    with np.errstate(over="ignore"):  # e^{-a} = inf inside σ gives exactly 0
        for t, live in enumerate(batch.active):  # live: rows still running
            pre = gates[:, t, :live]
            a_n, r, z, a_n_h = pre
            h_prev = h_prev[:live]
            np.matmul(h_prev, U_all.T, out=rec[:live])
            pre[1:] += rec[:live].reshape(live, 3, H).transpose(1, 0, 2)
            blk = pre[1:3]  # r, z = sigmoid(·)
            blk *= -1
            np.exp(blk, out=blk)
            blk += 1
            np.reciprocal(blk, out=blk)
            # n = tanh(W_n @ x + b_n + r * (U_n @ h_prev + bh_n))
            n = n_seq[t, :live]
            np.multiply(a_n_h, r, out=n)
            n += a_n
            np.tanh(n, out=n)
            # h = (1 - z) * n + z * h_prev
            h = h_seq[t, :live]
            np.subtract(h_prev, n, out=h)
            h *= z
            h += n
            h_prev = h
    cache = {
        "cell": CELL,
        "x": x,
        "H": H,
        "batch": batch,
        "gates": gates,
        "h0": h0,
        "h_seq": h_seq,
        "n_seq": n_seq,
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
        ("x", "H", "batch", "gates", "h0", "h_seq", "n_seq", "U_all"),
    )
    x, H, batch, gates, h0, h_seq, n_seq, U_all = (
        cache["x"],
        cache["H"],
        cache["batch"],
        cache["gates"],
        cache["h0"],
        cache["h_seq"],
        cache["n_seq"],
        cache["U_all"],
    )
    T, B, D = x.shape
    # δ of the pre-activations: computed per step in d_pre (4, B, H), stored as rows of
    # d_pre_seq (T, B, P·H) for the recurrent product and the weight gradients after the loop
    d_pre_buf = np.empty((4, B, H), x.dtype)
    d_pre_seq = np.zeros((T, B, 4 * H), x.dtype)
    d_h_buf = np.empty((B, H), x.dtype)
    d_n_buf = np.empty((B, H), x.dtype)
    tmp0_buf = np.empty((B, H), x.dtype)
    tmp_block0_buf = np.empty((2, B, H), x.dtype)
    for t in reversed(range(T)):
        live = batch.active[t]  # rows still running
        pre, d_rows = gates[:, t, :live], d_pre_seq[t, :live]
        d_pre = d_pre_buf[:, :live]
        d_a_n, d_r, d_z, d_a_n_h = d_pre
        d_h, d_n, tmp0 = d_h_buf[:live], d_n_buf[:live], tmp0_buf[:live]
        d_h_next = d_h_carry[:live]
        h_prev = h_seq[t - 1, :live] if t else h0[:live]
        r, z, a_n_h = pre[1], pre[2], pre[3]
        n = n_seq[t, :live]
        # δh = ∂ℓ/∂h + δh_next
        np.add(d_h_next, dh_seq[t, :live], out=d_h)
        # δn = δh ⊙ (1 − z)
        np.subtract(1, z, out=d_n)
        d_n *= d_h
        # δa_n = δn ⊙ (1 − n²)
        np.square(n, out=d_a_n)
        np.subtract(1, d_a_n, out=d_a_n)
        d_a_n *= d_n
        # δa_n_h = δa_n ⊙ r
        np.multiply(d_a_n, r, out=d_a_n_h)
        # δz = δh ⊙ (h_prev − n)
        np.subtract(h_prev, n, out=d_z)
        d_z *= d_h
        # δr = δa_n ⊙ a_n_h
        np.multiply(a_n_h, d_a_n, out=d_r)
        # δa_r = δr ⊙ r ⊙ (1 − r)
        # δa_z = δz ⊙ z ⊙ (1 − z)
        blk, d_blk, tmp_blk = pre[1:3], d_pre[1:3], tmp_block0_buf[:2, :live]
        np.subtract(1, blk, out=tmp_blk)
        tmp_blk *= blk
        d_blk *= tmp_blk
        # δ of the pre-activations into the rows of d_pre_seq
        np.copyto(d_rows.reshape(live, 4, H), d_pre.transpose(1, 0, 2))
        # δh_prev = δh ⊙ z + U_rᵀ δa_r + U_zᵀ δa_z + U_nᵀ δa_n_h, handed to step t − 1
        np.matmul(d_rows[:, H:], U_all, out=d_h_next)
        np.multiply(d_h, z, out=tmp0)
        d_h_next += tmp0
    # sums over time and batch, one GEMM per group of weights that share a source:
    # ∂L/∂W = Σ_t δa_t vᵀ_t for the source v of W, ∂L/∂b = Σ_t δa_t, ∂L/∂x_t = Σ_W Wᵀ δa_t
    d_all = d_pre_seq.reshape(T * B, 4 * H)
    x2 = x.reshape(T * B, D)
    d_W_all = d_all[:, :3 * H].T @ x2
    d_x = d_all[:, :3 * H] @ np.concatenate([params["W_n"], params["W_r"], params["W_z"]])
    d_U_all = d_all[:B, H:].T @ h0 + d_all[B:, H:].T @ h_seq[:-1].reshape((T - 1) * B, H)
    d_bias = np.ones(T * B, x.dtype) @ d_all  # column sums, as one GEMV
    return {
        "W_r": d_W_all[H:2 * H],
        "U_r": d_U_all[:H],
        "W_z": d_W_all[2 * H:3 * H],
        "U_z": d_U_all[H:2 * H],
        "W_n": d_W_all[:H],
        "U_n": d_U_all[2 * H:3 * H],
        "b_r": d_bias[H:2 * H],
        "bh_r": d_bias[H:2 * H].copy(),
        "b_z": d_bias[2 * H:3 * H],
        "bh_z": d_bias[2 * H:3 * H].copy(),
        "b_n": d_bias[:H],
        "bh_n": d_bias[3 * H:4 * H],
        "x": batch.unsort(d_x.reshape(T, B, D), 1),
        "h0": batch.unsort(d_h_carry, 0),
    }
