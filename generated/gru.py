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
    U_allT = U_all.T.copy()  # contiguous: the step's product reads it row by row
    U_allT[:, :2 * H] *= -1  # r z: −a
    # pre-activations: step t's are gates[t], one (B, H) block each: a_n r z a_n_h
    gates = np.empty((T, 4, B, H), x.dtype)
    # one row per pre-activation
    bias = np.array(
        [
            params["b_n"],
            params["b_r"] + params["bh_r"],
            params["b_z"] + params["bh_z"],
            params["bh_n"],
        ],
    )
    bias[1:3] *= -1  # r z: −a, so that sigmoid needs no negation per step
    W_all = np.concatenate([params["W_n"], params["W_r"], params["W_z"]])  # rows: n r z
    W_all[H:] *= -1  # r z: −a, so that sigmoid needs no negation per step
    # the input projections of all steps, one GEMM, into step-major order
    np.add(
        (x2 @ W_all.T).reshape(T, B, 3, H).transpose(0, 2, 1, 3),
        bias[:3, None],
        out=gates[:, :3],
    )
    gates[:, 3:] = bias[3:, None]  # the pre-activations without an input term start at their bias
    h_all = batch.empty((T + 1, B, H), x.dtype)
    h_all[0] = h0
    h_seq = h_all[1:]  # the state after each step
    n_seq = batch.empty((T, B, H), x.dtype)
    rec = np.empty((B, 3 * H), x.dtype)
    # the same product, (pre-activation, row, unit) like gates[t]
    rec_t = rec.reshape(B, 3, H).transpose(1, 0, 2)
    h_prev = h0
    viewed = None  # how many rows the views of the buffers cover
    recurrent = bool(h0.any())  # False: the first step skips the product with a zero initial state
    with np.errstate(over="ignore"):  # e^{-a} = inf inside σ gives exactly 0
        for live, pre, n, h in batch.steps(gates, n_seq, h_seq):  # live: rows still running
            if live != viewed:  # first step, or the number of running rows changed
                viewed = live
                h_prev = h_prev[:live]
                rec_live, rec_live_t = rec[:live], rec_t[:, :live]
            a_n, r, z, a_n_h = pre
            if recurrent:
                np.matmul(h_prev, U_allT, out=rec_live)
                pre[1:] += rec_live_t
            blk = pre[1:3]  # r, z = sigmoid(·) from −a
            np.exp(blk, out=blk)
            blk += 1
            np.reciprocal(blk, out=blk)
            # n = tanh(W_n @ x + b_n + r * (U_n @ h_prev + bh_n))
            np.multiply(a_n_h, r, out=n)
            n += a_n
            np.tanh(n, out=n)
            # h = (1 - z) * n + z * h_prev
            np.subtract(h_prev, n, out=h)
            h *= z
            h += n
            h_prev = h
            recurrent = True
    cache = {
        "cell": CELL,
        "x": x,
        "H": H,
        "batch": batch,
        "gates": gates,
        "h_all": h_all,
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
        ("x", "H", "batch", "gates", "h_all", "n_seq", "U_all"),
    )
    x, H, batch, gates, h_all, n_seq, U_all = (
        cache["x"],
        cache["H"],
        cache["batch"],
        cache["gates"],
        cache["h_all"],
        cache["n_seq"],
        cache["U_all"],
    )
    T, B, D = x.shape
    h_seq = h_all[1:]
    h0 = h_all[0]
    # δ of the pre-activations, written by each step into its rows of d_pre_seq (T, B, 4 * H) for
    #   the recurrent product and the weight gradients after the loop
    d_pre_seq = np.empty((T, B, 4 * H), x.dtype)
    # (T, 4, B, H) like gates: each pre-activation's δ a (B, H) block of its step
    d_pre_all = d_pre_seq.reshape(T, B, 4, H).transpose(0, 2, 1, 3)
    # factors of forward values, all steps at once: the recursion multiplies by them
    tmp_all0 = np.empty((T, B, H), x.dtype)
    # the factors of δh in δa_n, δa_r, δa_z, δa_n_h, in their columns of d_pre_seq: the step
    #   multiplies them by δh in place
    np.subtract(1, gates[:, 2], out=d_pre_all[:, 0])
    np.square(n_seq, out=tmp_all0)
    np.subtract(1, tmp_all0, out=tmp_all0)
    d_pre_all[:, 0] *= tmp_all0
    np.subtract(1, gates[:, 1], out=d_pre_all[:, 1])
    np.subtract(1, gates[:, 2], out=tmp_all0)
    d_pre_all[:, 1] *= tmp_all0
    np.square(n_seq, out=tmp_all0)
    np.subtract(1, tmp_all0, out=tmp_all0)
    d_pre_all[:, 1] *= tmp_all0
    d_pre_all[:, 1] *= gates[:, 3]
    d_pre_all[:, 1] *= gates[:, 1]
    np.subtract(1, gates[:, 2], out=d_pre_all[:, 2])
    np.subtract(h_all[:-1], n_seq, out=tmp_all0)
    d_pre_all[:, 2] *= tmp_all0
    d_pre_all[:, 2] *= gates[:, 2]
    np.subtract(1, gates[:, 2], out=d_pre_all[:, 3])
    np.square(n_seq, out=tmp_all0)
    np.subtract(1, tmp_all0, out=tmp_all0)
    d_pre_all[:, 3] *= tmp_all0
    d_pre_all[:, 3] *= gates[:, 1]
    d_h_buf = np.empty((B, H), x.dtype)
    tmp0_buf = np.empty((B, H), x.dtype)
    viewed = None  # how many rows the views of the buffers cover
    steps = batch.steps(d_pre_seq, dh_seq, d_pre_all, gates[:, 2], reverse=True)  # last step first
    for live, d_rows, dl_dh, d_pre, z in steps:
        if live != viewed:  # first step, or the number of running rows changed
            viewed = live
            d_h, tmp0 = d_h_buf[:live], tmp0_buf[:live]
            d_h_next = d_h_carry[:live]
        # δh = ∂ℓ/∂h + δh_next
        np.add(d_h_next, dl_dh, out=d_h)
        # δa_n = δh ⊙ (1 − z) ⊙ (1 − n²)
        # δa_r = δh ⊙ a_n_h ⊙ r ⊙ (1 − r) ⊙ (1 − z) ⊙ (1 − n²)
        # δa_z = δh ⊙ z ⊙ (1 − z) ⊙ (h_prev − n)
        # δa_n_h = δh ⊙ r ⊙ (1 − z) ⊙ (1 − n²)
        d_pre *= d_h
        # δh_prev = δh ⊙ z + U_rᵀ δa_r + U_zᵀ δa_z + U_nᵀ δa_n_h, handed to step t − 1
        np.matmul(d_rows[:, H:], U_all, out=d_h_next)
        np.multiply(d_h, z, out=tmp0)
        d_h_next += tmp0
    # rows of sequences that have ended hold no δ: zero them for the sums below
    batch.clear(d_pre_seq)
    # sums over time and batch, one GEMM per group of weights that share a source:
    # ∂L/∂W = Σ_t δa_t vᵀ_t for the source v of W, ∂L/∂b = Σ_t δa_t, ∂L/∂x_t = Σ_W Wᵀ δa_t
    d_all = d_pre_seq.reshape(T * B, 4 * H)
    x2 = x.reshape(T * B, D)
    d_W_all = d_all[:, :3 * H].T @ x2
    d_x = d_all[:, :3 * H] @ np.concatenate([params["W_n"], params["W_r"], params["W_z"]])
    # steps 1… start from the h of the step before
    d_U_all = d_all[B:, H:].T @ h_seq[:-1].reshape((T - 1) * B, H)
    if h0.any():  # step 0 starts from h0: zeros unless given
        d_U_all += d_all[:B, H:].T @ h0
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
