"""LSTM, no forget gate (NFG): forward and backward through time.

Generated from derive/cells/variants.py by `gated-rnn generate`; do not edit.

Per time step, every product elementwise:

    g = tanh(W_g @ x + U_g @ h_prev + b_g)
    i = sigmoid(W_i @ x + U_i @ h_prev + p_i * c_prev + b_i)
    c = c_prev + i * g
    o = sigmoid(W_o @ x + U_o @ h_prev + p_o * c + b_o)
    h = o * tanh(c)

Shapes: x (T, B, D), time-major; states (B, H); params as in PARAM_SHAPES.
"""

import numpy as np

from derive.runtime import check_backward, check_forward

CELL = "greff_nfg"
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
    U_all = np.concatenate([params["U_g"], params["U_o"], params["U_i"]])  # rows: g o i
    U_allT = U_all.T.copy()  # contiguous: the step's product reads it row by row
    p_i = params["p_i"]
    p_o = params["p_o"]
    # pre-activations: step t's are gates[t], one (B, H) block each: g a_o a_i
    gates = np.empty((T, 3, B, H), x.dtype)
    bias = np.array([params["b_g"], params["b_o"], params["b_i"]])  # one row per pre-activation
    W_all = np.concatenate([params["W_g"], params["W_o"], params["W_i"]])  # rows: g o i
    # the input projections of all steps, one GEMM, into step-major order
    np.add((x2 @ W_all.T).reshape(T, B, 3, H).transpose(0, 2, 1, 3), bias[:, None], out=gates)
    h_all = batch.empty((T + 1, B, H), x.dtype)
    h_all[0] = h0
    h_seq = h_all[1:]  # the state after each step
    c_all = batch.empty((T + 1, B, H), x.dtype)
    c_all[0] = c0
    c_seq = c_all[1:]  # the state after each step
    i_seq = batch.empty((T, B, H), x.dtype)
    o_seq = batch.empty((T, B, H), x.dtype)
    tanh_c_seq = batch.empty((T, B, H), x.dtype)
    rec = np.empty((B, 3 * H), x.dtype)
    # the same product, (pre-activation, row, unit) like gates[t]
    rec_t = rec.reshape(B, 3, H).transpose(1, 0, 2)
    h_prev, c_prev = h0, c0
    viewed = None  # how many rows the views of the buffers cover
    recurrent = bool(h0.any())  # False: the first step skips the product with a zero initial state
    with np.errstate(over="ignore"):  # e^{-a} = inf inside σ gives exactly 0
        # live: rows still running
        steps = batch.steps(gates, i_seq, c_seq, o_seq, tanh_c_seq, h_seq)
        for live, pre, i, c, o, tanh_c, h in steps:
            if live != viewed:  # first step, or the number of running rows changed
                viewed = live
                h_prev, c_prev = h_prev[:live], c_prev[:live]
                rec_live, rec_live_t = rec[:live], rec_t[:, :live]
            g, a_o, a_i = pre
            if recurrent:
                np.matmul(h_prev, U_allT, out=rec_live)
                pre += rec_live_t
            # g = tanh(·)
            np.tanh(g, out=g)
            # i = sigmoid(W_i @ x + U_i @ h_prev + p_i * c_prev + b_i)
            np.multiply(c_prev, p_i, out=i)
            i += a_i
            i *= -1
            np.exp(i, out=i)
            i += 1
            np.reciprocal(i, out=i)
            # c = c_prev + i * g
            np.multiply(g, i, out=c)
            c += c_prev
            # o = sigmoid(W_o @ x + U_o @ h_prev + p_o * c + b_o)
            np.multiply(c, p_o, out=o)
            o += a_o
            o *= -1
            np.exp(o, out=o)
            o += 1
            np.reciprocal(o, out=o)
            # h = o * tanh(c)
            np.tanh(c, out=tanh_c)
            np.multiply(o, tanh_c, out=h)
            h_prev, c_prev = h, c
            recurrent = True
    cache = {
        "cell": CELL,
        "x": x,
        "H": H,
        "batch": batch,
        "gates": gates,
        "h_all": h_all,
        "c_all": c_all,
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
        ("x", "H", "batch", "gates", "h_all", "c_all", "i_seq", "o_seq", "tanh_c_seq", "U_all"),
    )
    x, H, batch, gates, h_all, c_all, i_seq, o_seq, tanh_c_seq, U_all = (
        cache["x"],
        cache["H"],
        cache["batch"],
        cache["gates"],
        cache["h_all"],
        cache["c_all"],
        cache["i_seq"],
        cache["o_seq"],
        cache["tanh_c_seq"],
        cache["U_all"],
    )
    T, B, D = x.shape
    h_seq = h_all[1:]
    h0 = h_all[0]
    c_seq = c_all[1:]
    p_i = params["p_i"]
    p_o = params["p_o"]
    # δ of the pre-activations, written by each step into its rows of d_pre_seq (T, B, 3 * H) for
    #   the recurrent product and the weight gradients after the loop
    d_pre_seq = np.empty((T, B, 3 * H), x.dtype)
    # (T, 3, B, H) like gates: each pre-activation's δ a (B, H) block of its step
    d_pre_all = d_pre_seq.reshape(T, B, 3, H).transpose(0, 2, 1, 3)
    # factors of forward values, all steps at once: the recursion multiplies by them
    tmp_all0 = np.empty((T, B, H), x.dtype)
    d_c_dh_seq = np.empty((T, B, H), x.dtype)
    d_c_prev_dc_seq = np.empty((T, B, H), x.dtype)
    # d_c_dh = o ⊙ (p_o ⊙ tanh(c) ⊙ (1 − o) + 1 − tanh²(c)): the factor of δh in δc
    np.subtract(1, o_seq, out=d_c_dh_seq)
    d_c_dh_seq *= p_o
    d_c_dh_seq *= tanh_c_seq
    np.square(tanh_c_seq, out=tmp_all0)
    d_c_dh_seq -= tmp_all0
    d_c_dh_seq += 1
    d_c_dh_seq *= o_seq
    # the factor of δc in δa_g, in its column of d_pre_seq: the step multiplies it by δc in place
    np.square(gates[:, 0], out=d_pre_all[:, 0])
    np.subtract(1, d_pre_all[:, 0], out=d_pre_all[:, 0])
    d_pre_all[:, 0] *= i_seq
    # the factor of δh in δa_o, in its column of d_pre_seq: the step multiplies it by δh in place
    np.subtract(1, o_seq, out=d_pre_all[:, 1])
    d_pre_all[:, 1] *= o_seq
    d_pre_all[:, 1] *= tanh_c_seq
    # the factor of δc in δa_i, in its column of d_pre_seq: the step multiplies it by δc in place
    np.subtract(1, i_seq, out=d_pre_all[:, 2])
    d_pre_all[:, 2] *= gates[:, 0]
    d_pre_all[:, 2] *= i_seq
    # d_c_prev_dc = g ⊙ i ⊙ p_i ⊙ (1 − i) + 1: the factor of δc in δc_prev
    np.subtract(1, i_seq, out=d_c_prev_dc_seq)
    d_c_prev_dc_seq *= gates[:, 0]
    d_c_prev_dc_seq *= i_seq
    d_c_prev_dc_seq *= p_i
    d_c_prev_dc_seq += 1
    d_h_buf = np.empty((B, H), x.dtype)
    d_c_buf = np.empty((B, H), x.dtype)
    viewed = None  # how many rows the views of the buffers cover
    # last step first
    steps = batch.steps(d_pre_seq, dh_seq, d_c_dh_seq, d_pre_all, d_c_prev_dc_seq, reverse=True)
    for live, d_rows, dl_dh, d_c_dh, d_pre, d_c_prev_dc in steps:
        if live != viewed:  # first step, or the number of running rows changed
            viewed = live
            d_h, d_c = d_h_buf[:live], d_c_buf[:live]
            d_h_next, d_c_next = d_h_carry[:live], d_c_carry[:live]
        # δh = ∂ℓ/∂h + δh_next
        np.add(d_h_next, dl_dh, out=d_h)
        # δc = δh ⊙ o ⊙ (p_o ⊙ tanh(c) ⊙ (1 − o) + 1 − tanh²(c)) + δc_next
        np.multiply(d_h, d_c_dh, out=d_c)
        d_c += d_c_next
        # δa_g = δc ⊙ i ⊙ (1 − g²)
        d_pre[0] *= d_c
        # δa_o = δh ⊙ o ⊙ tanh(c) ⊙ (1 − o)
        d_pre[1] *= d_h
        # δa_i = δc ⊙ g ⊙ i ⊙ (1 − i)
        d_pre[2] *= d_c
        # δh_prev = U_gᵀ δa_g + U_iᵀ δa_i + U_oᵀ δa_o, handed to step t − 1
        np.matmul(d_rows, U_all, out=d_h_next)
        # δc_prev = δc ⊙ (g ⊙ i ⊙ p_i ⊙ (1 − i) + 1), handed to step t − 1
        np.multiply(d_c, d_c_prev_dc, out=d_c_next)
    # rows of sequences that have ended hold no δ: zero them for the sums below
    batch.clear(d_pre_seq)
    # δp_i = Σ_t Σ_rows δa_i ⊙ c_prev
    np.multiply(c_all[:-1], d_pre_all[:, 2], out=tmp_all0)
    d_p_i = tmp_all0.sum(axis=(0, 1))
    # δp_o = Σ_t Σ_rows δa_o ⊙ c
    np.multiply(c_seq, d_pre_all[:, 1], out=tmp_all0)
    d_p_o = tmp_all0.sum(axis=(0, 1))
    # sums over time and batch, one GEMM per group of weights that share a source:
    # ∂L/∂W = Σ_t δa_t vᵀ_t for the source v of W, ∂L/∂b = Σ_t δa_t, ∂L/∂x_t = Σ_W Wᵀ δa_t
    d_all = d_pre_seq.reshape(T * B, 3 * H)
    x2 = x.reshape(T * B, D)
    d_W_all = d_all.T @ x2
    d_x = d_all @ np.concatenate([params["W_g"], params["W_o"], params["W_i"]])
    # steps 1… start from the h of the step before
    d_U_all = d_all[B:].T @ h_seq[:-1].reshape((T - 1) * B, H)
    if h0.any():  # step 0 starts from h0: zeros unless given
        d_U_all += d_all[:B].T @ h0
    d_bias = np.ones(T * B, x.dtype) @ d_all  # column sums, as one GEMV
    return {
        "W_g": d_W_all[:H],
        "U_g": d_U_all[:H],
        "W_i": d_W_all[2 * H:3 * H],
        "U_i": d_U_all[2 * H:3 * H],
        "W_o": d_W_all[H:2 * H],
        "U_o": d_U_all[H:2 * H],
        "b_g": d_bias[:H],
        "p_i": d_p_i,
        "b_i": d_bias[2 * H:3 * H],
        "p_o": d_p_o,
        "b_o": d_bias[H:2 * H],
        "x": batch.unsort(d_x.reshape(T, B, D), 1),
        "h0": batch.unsort(d_h_carry, 0),
        "c0": batch.unsort(d_c_carry, 0),
    }
