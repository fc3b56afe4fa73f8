"""LSTM, coupled input and forget gate (CIFG): forward and backward through time.

Generated from derive/cells/variants.py by `gated-rnn generate`; do not edit.

Per time step, every product elementwise:

    g = tanh(W_g @ x + U_g @ h_prev + b_g)
    i = sigmoid(W_i @ x + U_i @ h_prev + p_i * c_prev + b_i)
    f = 1 - i
    c = f * c_prev + i * g
    o = sigmoid(W_o @ x + U_o @ h_prev + p_o * c + b_o)
    h = o * tanh(c)

Shapes: x (T, B, D), time-major; states (B, H); params as in PARAM_SHAPES.
"""

import numpy as np

from derive.runtime import check_backward, check_forward

CELL = "greff_cifg"
STATES = ("h", "c")
PARAM_SHAPES = {
    "W_g": ("H", "D"),
    "U_g": ("H", "H"),
    "W_i": ("H", "D"),
    "U_i": ("H", "H"),
    "W_o": ("H", "D"),
    "U_o": ("H", "H"),
    "b_g": ("H",),
    "p_i": ("H",),
    "b_i": ("H",),
    "p_o": ("H",),
    "b_o": ("H",),
}


def forward(params, x, h0=None, c0=None, lengths=None, check_finite=False):
    """Run the cell over x; return h_seq (T, B, H) and the cache for backward.

    Initial states default to zeros. With lengths (one per sequence) the outputs after a
    sequence's end are zero and its state stays at its last step, and what the padding holds
    reaches no output and no gradient. check_finite=True rejects NaN and Inf in the inputs.

    h_seq is a new array and the cache keeps its own copies of x and the initial states:
    changing any of them afterwards leaves what backward returns unchanged.
    """
    x, (h0, c0), H, batch = check_forward(
        CELL,
        PARAM_SHAPES,
        params,
        x,
        {"h0": h0, "c0": c0},
        lengths,
        check_finite,
    )
    T, B, D = x.shape
    x2 = x.reshape(T * B, D)
    U_all = np.concatenate([params["U_g"], params["U_i"], params["U_o"]])  # rows: g i o
    p_i = params["p_i"]
    p_o = params["p_o"]
    # pre-activations, one (T, B, H) slab each: g a_i a_o; the input projections of all steps
    gates = np.empty((3, T, B, H), x.dtype)
    np.matmul(x2, params["W_g"].T, out=gates[0].reshape(T * B, H))
    np.matmul(x2, params["W_i"].T, out=gates[1].reshape(T * B, H))
    np.matmul(x2, params["W_o"].T, out=gates[2].reshape(T * B, H))
    bias = np.stack([params["b_g"], params["b_i"], params["b_o"]])  # one row per slab
    gates += bias[:, None, None]
    h_seq = np.zeros((T, B, H), x.dtype)
    c_seq = np.zeros((T, B, H), x.dtype)
    f_seq = np.zeros((T, B, H), x.dtype)
    i_seq = np.zeros((T, B, H), x.dtype)
    o_seq = np.zeros((T, B, H), x.dtype)
    tanh_c_seq = np.zeros((T, B, H), x.dtype)
    tmp0_buf = np.empty((B, H), x.dtype)
    rec = np.empty((B, 3 * H), x.dtype)
    h_prev, c_prev = h0, c0
    with np.errstate(over="ignore"):  # e^{-a} = inf inside σ gives exactly 0
        for t, live in enumerate(batch.active):  # live: rows still running
            pre = gates[:, t, :live]
            g, a_i, a_o = pre
            h_prev, c_prev = h_prev[:live], c_prev[:live]
            tmp0 = tmp0_buf[:live]
            np.matmul(h_prev, U_all.T, out=rec[:live])
            pre += rec[:live].reshape(live, 3, H).transpose(1, 0, 2)
            blk = pre[:1]  # g = tanh(·)
            np.tanh(blk, out=blk)
            # i = sigmoid(W_i @ x + U_i @ h_prev + p_i * c_prev + b_i)
            i = i_seq[t, :live]
            np.multiply(c_prev, p_i, out=i)
            i += a_i
            i *= -1
            np.exp(i, out=i)
            i += 1
            np.reciprocal(i, out=i)
            # f = 1 - i
            f = f_seq[t, :live]
            np.subtract(1, i, out=f)
            # c = f * c_prev + i * g
            c = c_seq[t, :live]
            np.multiply(c_prev, f, out=c)
            np.multiply(g, i, out=tmp0)
            c += tmp0
            # o = sigmoid(W_o @ x + U_o @ h_prev + p_o * c + b_o)
            o = o_seq[t, :live]
            np.multiply(c, p_o, out=o)
            o += a_o
            o *= -1
            np.exp(o, out=o)
            o += 1
            np.reciprocal(o, out=o)
            # h = o * tanh(c)
            tanh_c = tanh_c_seq[t, :live]
            np.tanh(c, out=tanh_c)
            h = h_seq[t, :live]
            np.multiply(o, tanh_c, out=h)
            h_prev, c_prev = h, c
    cache = {
        "cell": CELL,
        "x": x,
        "H": H,
        "batch": batch,
        "gates": gates,
        "h0": h0,
        "c0": c0,
        "h_seq": h_seq,
        "c_seq": c_seq,
        "f_seq": f_seq,
        "i_seq": i_seq,
        "o_seq": o_seq,
        "tanh_c_seq": tanh_c_seq,
        "U_all": U_all,
        "h_T": batch.unsort(batch.final(h_seq, h0), 0),
        "c_T": batch.unsort(batch.final(c_seq, c0), 0),
    }
    return batch.output(h_seq, 1), cache


def backward(params, cache, dh_seq, dh_T=None, dc_T=None):
    """Gradients of L = Σ h_seq ⊙ dh_seq + Σ_s s_T ⊙ ds_T over the states s = h, c.

    Returns a dict with the keys of params and x, h0, c0.
    """
    (dh_seq,), (d_h_carry, d_c_carry) = check_backward(
        CELL,
        cache,
        {"dh_seq": dh_seq},
        {"dh_T": dh_T, "dc_T": dc_T},
        params,
        PARAM_SHAPES,
        (
            "x",
            "H",
            "batch",
            "gates",
            "h0",
            "c0",
            "h_seq",
            "c_seq",
            "f_seq",
            "i_seq",
            "o_seq",
            "tanh_c_seq",
            "U_all",
        ),
    )
    x, H, batch, gates, h0, c0, h_seq, c_seq, f_seq, i_seq, o_seq, tanh_c_seq, U_all = (
        cache["x"],
        cache["H"],
        cache["batch"],
        cache["gates"],
        cache["h0"],
        cache["c0"],
        cache["h_seq"],
        cache["c_seq"],
        cache["f_seq"],
        cache["i_seq"],
        cache["o_seq"],
        cache["tanh_c_seq"],
        cache["U_all"],
    )
    T, B, D = x.shape
    p_i = params["p_i"]
    p_o = params["p_o"]
    # δ of the pre-activations: computed per step in d_pre (3, B, H), stored as rows of
    # d_pre_seq (T, B, P·H) for the recurrent product and the weight gradients after the loop
    d_pre_buf = np.empty((3, B, H), x.dtype)
    d_pre_seq = np.zeros((T, B, 3 * H), x.dtype)
    d_h_buf = np.empty((B, H), x.dtype)
    d_o_buf = np.empty((B, H), x.dtype)
    d_c_buf = np.empty((B, H), x.dtype)
    d_f_buf = np.empty((B, H), x.dtype)
    d_i_buf = np.empty((B, H), x.dtype)
    tmp0_buf = np.empty((B, H), x.dtype)
    tmp_block0_buf = np.empty((1, B, H), x.dtype)
    d_p_i = np.zeros(H, x.dtype)
    d_p_o = np.zeros(H, x.dtype)
    for t in reversed(range(T)):
        live = batch.active[t]  # rows still running
        pre, d_rows = gates[:, t, :live], d_pre_seq[t, :live]
        d_pre = d_pre_buf[:, :live]
        d_g, d_a_i, d_a_o = d_pre
        d_h, d_o, d_c, d_f, d_i, tmp0 = (
            d_h_buf[:live],
            d_o_buf[:live],
            d_c_buf[:live],
            d_f_buf[:live],
            d_i_buf[:live],
            tmp0_buf[:live],
        )
        d_h_next, d_c_next = d_h_carry[:live], d_c_carry[:live]
        c_prev = c_seq[t - 1, :live] if t else c0[:live]
        g = pre[0]
        c = c_seq[t, :live]
        f = f_seq[t, :live]
        i = i_seq[t, :live]
        o = o_seq[t, :live]
        tanh_c = tanh_c_seq[t, :live]
        # δh = ∂ℓ/∂h + δh_next
        np.add(d_h_next, dh_seq[t, :live], out=d_h)
        # δo = δh ⊙ tanh(c)
        np.multiply(d_h, tanh_c, out=d_o)
        # δa_o = δo ⊙ o ⊙ (1 − o)
        np.subtract(1, o, out=d_a_o)
        d_a_o *= d_o
        d_a_o *= o
        # δc = δa_o ⊙ p_o + δh ⊙ o ⊙ (1 − tanh²(c)) + δc_next
        np.multiply(d_a_o, p_o, out=d_c)
        np.square(tanh_c, out=tmp0)
        np.subtract(1, tmp0, out=tmp0)
        tmp0 *= d_h
        tmp0 *= o
        d_c += tmp0
        d_c += d_c_next
        # δf = δc ⊙ c_prev
        np.multiply(c_prev, d_c, out=d_f)
        # δi = δc ⊙ g − δf
        np.multiply(d_c, g, out=d_i)
        d_i -= d_f
        # δa_i = δi ⊙ i ⊙ (1 − i)
        np.subtract(1, i, out=d_a_i)
        d_a_i *= d_i
        d_a_i *= i
        # δg = δc ⊙ i
        np.multiply(d_c, i, out=d_g)
        # δa_g = δg ⊙ (1 − g²)
        blk, d_blk, tmp_blk = pre[:1], d_pre[:1], tmp_block0_buf[:1, :live]
        np.square(blk, out=tmp_blk)
        np.subtract(1, tmp_blk, out=tmp_blk)
        d_blk *= tmp_blk
        # δp_i = δa_i ⊙ c_prev, summed over the batch
        np.multiply(c_prev, d_a_i, out=tmp0)
        d_p_i += tmp0.sum(axis=0)
        # δp_o = δa_o ⊙ c, summed over the batch
        np.multiply(c, d_a_o, out=tmp0)
        d_p_o += tmp0.sum(axis=0)
        # δ of the pre-activations into the rows of d_pre_seq
        np.copyto(d_rows.reshape(live, 3, H), d_pre.transpose(1, 0, 2))
        # δh_prev = U_gᵀ δa_g + U_iᵀ δa_i + U_oᵀ δa_o, handed to step t − 1
        np.matmul(d_rows, U_all, out=d_h_next)
        # δc_prev = δa_i ⊙ p_i + δc ⊙ f, handed to step t − 1
        np.multiply(d_a_i, p_i, out=d_c_next)
        np.multiply(d_c, f, out=tmp0)
        d_c_next += tmp0
    # sums over time and batch, one GEMM per group of weights that share a source:
    # ∂L/∂W = Σ_t δa_t vᵀ_t for the source v of W, ∂L/∂b = Σ_t δa_t, ∂L/∂x_t = Σ_W Wᵀ δa_t
    d_all = d_pre_seq.reshape(T * B, 3 * H)
    x2 = x.reshape(T * B, D)
    d_W_all = d_all.T @ x2
    d_x = d_all @ np.concatenate([params["W_g"], params["W_i"], params["W_o"]])
    d_U_all = d_all[:B].T @ h0 + d_all[B:].T @ h_seq[:-1].reshape((T - 1) * B, H)
    d_bias = np.ones(T * B, x.dtype) @ d_all  # column sums, as one GEMV
    return {
        "W_g": d_W_all[:H],
        "U_g": d_U_all[:H],
        "W_i": d_W_all[H:2 * H],
        "U_i": d_U_all[H:2 * H],
        "W_o": d_W_all[2 * H:3 * H],
        "U_o": d_U_all[2 * H:3 * H],
        "b_g": d_bias[:H],
        "p_i": d_p_i,
        "b_i": d_bias[H:2 * H],
        "p_o": d_p_o,
        "b_o": d_bias[2 * H:3 * H],
        "x": batch.unsort(d_x.reshape(T, B, D), 1),
        "h0": batch.unsort(d_h_carry, 0),
        "c0": batch.unsort(d_c_carry, 0),
    }
