"""LSTM, full gate recurrence (FGR): forward and backward through time.

Generated from derive/cells/variants.py by `gated-rnn generate`; do not edit.

Per time step, every product elementwise:

    g = tanh(W_g @ x + U_g @ h_prev + b_g)
    i = sigmoid(W_i @ x + U_i @ h_prev + V_ii @ i_prev + V_if @ f_prev + V_io @ o_prev + p_i *
    c_prev + b_i)
    f = sigmoid(W_f @ x + U_f @ h_prev + V_fi @ i_prev + V_ff @ f_prev + V_fo @ o_prev + p_f *
    c_prev + b_f)
    c = f * c_prev + i * g
    o = sigmoid(W_o @ x + U_o @ h_prev + V_oi @ i_prev + V_of @ f_prev + V_oo @ o_prev + p_o *
    c + b_o)
    h = o * tanh(c)

Shapes: x (T, B, D), time-major; states (B, H); params as in PARAM_SHAPES.
"""

import numpy as np

from derive.runtime import check_backward, check_forward

CELL = "greff_fgr"
STATES = ("h", "c", "i", "f", "o")
PARAM_SHAPES = {
    "W_g": ("H", "D"),
    "U_g": ("H", "H"),
    "W_i": ("H", "D"),
    "U_i": ("H", "H"),
    "V_ii": ("H", "H"),
    "V_if": ("H", "H"),
    "V_io": ("H", "H"),
    "W_f": ("H", "D"),
    "U_f": ("H", "H"),
    "V_fi": ("H", "H"),
    "V_ff": ("H", "H"),
    "V_fo": ("H", "H"),
    "W_o": ("H", "D"),
    "U_o": ("H", "H"),
    "V_oi": ("H", "H"),
    "V_of": ("H", "H"),
    "V_oo": ("H", "H"),
    "b_g": ("H",),
    "p_i": ("H",),
    "b_i": ("H",),
    "p_f": ("H",),
    "b_f": ("H",),
    "p_o": ("H",),
    "b_o": ("H",),
}


def forward(
    params,
    x,
    h0=None,
    c0=None,
    i0=None,
    f0=None,
    o0=None,
    lengths=None,
    check_finite=False,
):
    """Run the cell over x; return h_seq (T, B, H) and the cache for backward.

    Initial states default to zeros. With lengths (one per sequence) the outputs after a
    sequence's end are zero and its state stays at its last step, and what the padding holds
    reaches no output and no gradient. check_finite=True rejects NaN and Inf in the inputs.

    h_seq is a new array and the cache keeps its own copies of x and the initial states:
    changing any of them afterwards leaves what backward returns unchanged.
    """
    x, (h0, c0, i0, f0, o0), H, batch = check_forward(
        CELL,
        PARAM_SHAPES,
        params,
        x,
        {"h0": h0, "c0": c0, "i0": i0, "f0": f0, "o0": o0},
        lengths,
        check_finite,
    )
    T, B, D = x.shape
    x2 = x.reshape(T * B, D)
    # rows: g o f i
    U_all = np.concatenate([params["U_g"], params["U_o"], params["U_f"], params["U_i"]])
    U_allT = U_all.T.copy()  # contiguous: the step's product reads it row by row
    V_oi = params["V_oi"]
    V_of = params["V_of"]
    V_oo = params["V_oo"]
    V_fi = params["V_fi"]
    V_ff = params["V_ff"]
    V_fo = params["V_fo"]
    V_ii = params["V_ii"]
    V_if = params["V_if"]
    V_io = params["V_io"]
    p_i = params["p_i"]
    p_f = params["p_f"]
    p_o = params["p_o"]
    # pre-activations: step t's are gates[t], one (B, H) block each: g a_o a_f a_i
    gates = np.empty((T, 4, B, H), x.dtype)
    # one row per pre-activation
    bias = np.array([params["b_g"], params["b_o"], params["b_f"], params["b_i"]])
    # rows: g o f i
    W_all = np.concatenate([params["W_g"], params["W_o"], params["W_f"], params["W_i"]])
    # the input projections of all steps, one GEMM, into step-major order
    np.add((x2 @ W_all.T).reshape(T, B, 4, H).transpose(0, 2, 1, 3), bias[:, None], out=gates)
    h_all = batch.empty((T + 1, B, H), x.dtype)
    h_all[0] = h0
    h_seq = h_all[1:]  # the state after each step
    c_all = batch.empty((T + 1, B, H), x.dtype)
    c_all[0] = c0
    c_seq = c_all[1:]  # the state after each step
    i_all = batch.empty((T + 1, B, H), x.dtype)
    i_all[0] = i0
    i_seq = i_all[1:]  # the state after each step
    f_all = batch.empty((T + 1, B, H), x.dtype)
    f_all[0] = f0
    f_seq = f_all[1:]  # the state after each step
    o_all = batch.empty((T + 1, B, H), x.dtype)
    o_all[0] = o0
    o_seq = o_all[1:]  # the state after each step
    tanh_c_seq = batch.empty((T, B, H), x.dtype)
    rec = np.empty((B, 4 * H), x.dtype)
    tmp0_buf = np.empty((B, H), x.dtype)
    # the same product, (pre-activation, row, unit) like gates[t]
    rec_t = rec.reshape(B, 4, H).transpose(1, 0, 2)
    h_prev, c_prev, i_prev, f_prev, o_prev = h0, c0, i0, f0, o0
    viewed = None  # how many rows the views of the buffers cover
    recurrent = bool(h0.any())  # False: the first step skips the product with a zero initial state
    with np.errstate(over="ignore"):  # e^{-a} = inf inside σ gives exactly 0
        # live: rows still running
        steps = batch.steps(gates, i_seq, f_seq, c_seq, o_seq, tanh_c_seq, h_seq)
        for live, pre, i, f, c, o, tanh_c, h in steps:
            if live != viewed:  # first step, or the number of running rows changed
                viewed = live
                h_prev, c_prev, i_prev, f_prev, o_prev = (
                    h_prev[:live],
                    c_prev[:live],
                    i_prev[:live],
                    f_prev[:live],
                    o_prev[:live],
                )
                rec_live, rec_live_t = rec[:live], rec_t[:, :live]
                tmp0 = tmp0_buf[:live]
            g, a_o, a_f, a_i = pre
            if recurrent:
                np.matmul(h_prev, U_allT, out=rec_live)
                pre += rec_live_t
            # g = tanh(·)
            np.tanh(g, out=g)
            # i = sigmoid(W_i @ x + U_i @ h_prev + V_ii @ i_prev + V_if @ f_prev + V_io @ o_prev +
            #   p_i * c_prev + b_i)
            np.matmul(i_prev, V_ii.T, out=tmp0)
            a_i += tmp0
            np.matmul(f_prev, V_if.T, out=tmp0)
            a_i += tmp0
            np.matmul(o_prev, V_io.T, out=tmp0)
            a_i += tmp0
            np.multiply(c_prev, p_i, out=i)
            i += a_i
            i *= -1
            np.exp(i, out=i)
            i += 1
            np.reciprocal(i, out=i)
            # f = sigmoid(W_f @ x + U_f @ h_prev + V_fi @ i_prev + V_ff @ f_prev + V_fo @ o_prev +
            #   p_f * c_prev + b_f)
            np.matmul(i_prev, V_fi.T, out=tmp0)
            a_f += tmp0
            np.matmul(f_prev, V_ff.T, out=tmp0)
            a_f += tmp0
            np.matmul(o_prev, V_fo.T, out=tmp0)
            a_f += tmp0
            np.multiply(c_prev, p_f, out=f)
            f += a_f
            f *= -1
            np.exp(f, out=f)
            f += 1
            np.reciprocal(f, out=f)
            # c = f * c_prev + i * g
            np.multiply(c_prev, f, out=c)
            np.multiply(g, i, out=tmp0)
            c += tmp0
            # o = sigmoid(W_o @ x + U_o @ h_prev + V_oi @ i_prev + V_of @ f_prev + V_oo @ o_prev +
            #   p_o * c + b_o)
            np.matmul(i_prev, V_oi.T, out=tmp0)
            a_o += tmp0
            np.matmul(f_prev, V_of.T, out=tmp0)
            a_o += tmp0
            np.matmul(o_prev, V_oo.T, out=tmp0)
            a_o += tmp0
            np.multiply(c, p_o, out=o)
            o += a_o
            o *= -1
            np.exp(o, out=o)
            o += 1
            np.reciprocal(o, out=o)
            # h = o * tanh(c)
            np.tanh(c, out=tanh_c)
            np.multiply(o, tanh_c, out=h)
            h_prev, c_prev, i_prev, f_prev, o_prev = h, c, i, f, o
            recurrent = True
    cache = {
        "cell": CELL,
        "x": x,
        "H": H,
        "batch": batch,
        "gates": gates,
        "h_all": h_all,
        "c_all": c_all,
        "i_all": i_all,
        "f_all": f_all,
        "o_all": o_all,
        "tanh_c_seq": tanh_c_seq,
        "U_all": U_all,
        "h_T": batch.unsort(batch.final(h_seq, h0), 0),
        "c_T": batch.unsort(batch.final(c_seq, c0), 0),
        "i_T": batch.unsort(batch.final(i_seq, i0), 0),
        "f_T": batch.unsort(batch.final(f_seq, f0), 0),
        "o_T": batch.unsort(batch.final(o_seq, o0), 0),
    }
    return batch.output(h_seq, 1), cache


def backward(params, cache, dh_seq, dh_T=None, dc_T=None, di_T=None, df_T=None, do_T=None):
    """Gradients of L = Σ h_seq ⊙ dh_seq + Σ_s s_T ⊙ ds_T over the states s = h, c, i, f, o.

    Returns a dict with the keys of params and x, h0, c0, i0, f0, o0.
    """
    (dh_seq,), (d_h_carry, d_c_carry, d_i_carry, d_f_carry, d_o_carry) = check_backward(
        CELL,
        cache,
        {"dh_seq": dh_seq},
        {"dh_T": dh_T, "dc_T": dc_T, "di_T": di_T, "df_T": df_T, "do_T": do_T},
        params,
        PARAM_SHAPES,
        (
            "x",
            "H",
            "batch",
            "gates",
            "h_all",
            "c_all",
            "i_all",
            "f_all",
            "o_all",
            "tanh_c_seq",
            "U_all",
        ),
    )
    x, H, batch, gates, h_all, c_all, i_all, f_all, o_all, tanh_c_seq, U_all = (
        cache["x"],
        cache["H"],
        cache["batch"],
        cache["gates"],
        cache["h_all"],
        cache["c_all"],
        cache["i_all"],
        cache["f_all"],
        cache["o_all"],
        cache["tanh_c_seq"],
        cache["U_all"],
    )
    T, B, D = x.shape
    h_seq = h_all[1:]
    h0 = h_all[0]
    c_seq = c_all[1:]
    i_seq = i_all[1:]
    f_seq = f_all[1:]
    o_seq = o_all[1:]
    V_oi = params["V_oi"]
    V_of = params["V_of"]
    V_oo = params["V_oo"]
    V_fi = params["V_fi"]
    V_ff = params["V_ff"]
    V_fo = params["V_fo"]
    V_ii = params["V_ii"]
    V_if = params["V_if"]
    V_io = params["V_io"]
    p_i = params["p_i"]
    p_f = params["p_f"]
    p_o = params["p_o"]
    # δ of the pre-activations, written by each step into its rows of d_pre_seq (T, B, 4 * H) for
    #   the recurrent product and the weight gradients after the loop
    d_pre_seq = np.empty((T, B, 4 * H), x.dtype)
    # (T, 4, B, H) like gates: each pre-activation's δ a (B, H) block of its step
    d_pre_all = d_pre_seq.reshape(T, B, 4, H).transpose(0, 2, 1, 3)
    # factors of forward values, all steps at once: the recursion multiplies by them
    tmp_all0 = np.empty((T, B, H), x.dtype)
    d_c_dh_seq = np.empty((T, B, H), x.dtype)
    d_c_do_seq = np.empty((T, B, H), x.dtype)
    d_c_prev_df_seq = np.empty((T, B, H), x.dtype)
    d_c_prev_di_seq = np.empty((T, B, H), x.dtype)
    # d_c_dh = o ⊙ (1 − tanh²(c)): the factor of δh in δc
    np.square(tanh_c_seq, out=d_c_dh_seq)
    np.subtract(1, d_c_dh_seq, out=d_c_dh_seq)
    d_c_dh_seq *= o_seq
    # d_c_do = o ⊙ p_o ⊙ (1 − o): the factor of δo in δc
    np.subtract(1, o_seq, out=d_c_do_seq)
    d_c_do_seq *= o_seq
    d_c_do_seq *= p_o
    # the factor of δc in δa_g, in its column of d_pre_seq: the step multiplies it by δc in place
    np.square(gates[:, 0], out=d_pre_all[:, 0])
    np.subtract(1, d_pre_all[:, 0], out=d_pre_all[:, 0])
    d_pre_all[:, 0] *= i_seq
    # the factor of δo in δa_o, in its column of d_pre_seq: the step multiplies it by δo in place
    np.subtract(1, o_seq, out=d_pre_all[:, 1])
    d_pre_all[:, 1] *= o_seq
    # the factor of δf in δa_f, in its column of d_pre_seq: the step multiplies it by δf in place
    np.subtract(1, f_seq, out=d_pre_all[:, 2])
    d_pre_all[:, 2] *= f_seq
    # the factor of δi in δa_i, in its column of d_pre_seq: the step multiplies it by δi in place
    np.subtract(1, i_seq, out=d_pre_all[:, 3])
    d_pre_all[:, 3] *= i_seq
    # d_c_prev_df = f ⊙ p_f ⊙ (1 − f): the factor of δf in δc_prev
    np.subtract(1, f_seq, out=d_c_prev_df_seq)
    d_c_prev_df_seq *= f_seq
    d_c_prev_df_seq *= p_f
    # d_c_prev_di = i ⊙ p_i ⊙ (1 − i): the factor of δi in δc_prev
    np.subtract(1, i_seq, out=d_c_prev_di_seq)
    d_c_prev_di_seq *= i_seq
    d_c_prev_di_seq *= p_i
    d_h_buf = np.empty((B, H), x.dtype)
    d_o_buf = np.empty((B, H), x.dtype)
    d_c_buf = np.empty((B, H), x.dtype)
    d_f_buf = np.empty((B, H), x.dtype)
    d_i_buf = np.empty((B, H), x.dtype)
    tmp0_buf = np.empty((B, H), x.dtype)
    viewed = None  # how many rows the views of the buffers cover
    # last step first
    steps = batch.steps(
        d_pre_seq,
        dh_seq,
        d_c_dh_seq,
        d_c_do_seq,
        d_pre_all,
        d_c_prev_df_seq,
        d_c_prev_di_seq,
        gates[:, 0],
        f_seq,
        c_all[:-1],
        tanh_c_seq,
        reverse=True,
    )
    for (
        live,
        d_rows,
        dl_dh,
        d_c_dh,
        d_c_do,
        d_pre,
        d_c_prev_df,
        d_c_prev_di,
        g,
        f,
        c_prev,
        tanh_c,
    ) in steps:
        if live != viewed:  # first step, or the number of running rows changed
            viewed = live
            d_h, d_o, d_c, d_f, d_i, tmp0 = (
                d_h_buf[:live],
                d_o_buf[:live],
                d_c_buf[:live],
                d_f_buf[:live],
                d_i_buf[:live],
                tmp0_buf[:live],
            )
            d_h_next, d_c_next, d_i_next, d_f_next, d_o_next = (
                d_h_carry[:live],
                d_c_carry[:live],
                d_i_carry[:live],
                d_f_carry[:live],
                d_o_carry[:live],
            )
        # δh = ∂ℓ/∂h + δh_next
        np.add(d_h_next, dl_dh, out=d_h)
        # δo = δh ⊙ tanh(c) + δo_next
        np.multiply(d_h, tanh_c, out=d_o)
        d_o += d_o_next
        # δc = δh ⊙ o ⊙ (1 − tanh²(c)) + δo ⊙ o ⊙ p_o ⊙ (1 − o) + δc_next
        np.multiply(d_h, d_c_dh, out=d_c)
        np.multiply(d_o, d_c_do, out=tmp0)
        d_c += tmp0
        d_c += d_c_next
        # δf = δc ⊙ c_prev + δf_next
        np.multiply(d_c, c_prev, out=d_f)
        d_f += d_f_next
        # δi = δc ⊙ g + δi_next
        np.multiply(d_c, g, out=d_i)
        d_i += d_i_next
        # δa_g = δc ⊙ i ⊙ (1 − g²)
        d_pre[0] *= d_c
        # δa_o = δo ⊙ o ⊙ (1 − o)
        d_pre[1] *= d_o
        # δa_f = δf ⊙ f ⊙ (1 − f)
        d_pre[2] *= d_f
        # δa_i = δi ⊙ i ⊙ (1 − i)
        d_pre[3] *= d_i
        # δh_prev = U_gᵀ δa_g + U_iᵀ δa_i + U_fᵀ δa_f + U_oᵀ δa_o, handed to step t − 1
        np.matmul(d_rows, U_all, out=d_h_next)
        # δc_prev = δc ⊙ f + δf ⊙ f ⊙ p_f ⊙ (1 − f) + δi ⊙ i ⊙ p_i ⊙ (1 − i), handed to step t − 1
        np.multiply(d_c, f, out=d_c_next)
        np.multiply(d_f, d_c_prev_df, out=tmp0)
        d_c_next += tmp0
        np.multiply(d_i, d_c_prev_di, out=tmp0)
        d_c_next += tmp0
        # δi_prev = V_iiᵀ δa_i + V_fiᵀ δa_f + V_oiᵀ δa_o, handed to step t − 1
        np.matmul(d_pre[3], V_ii, out=d_i_next)
        np.matmul(d_pre[2], V_fi, out=tmp0)
        d_i_next += tmp0
        np.matmul(d_pre[1], V_oi, out=tmp0)
        d_i_next += tmp0
        # δf_prev = V_ifᵀ δa_i + V_ffᵀ δa_f + V_ofᵀ δa_o, handed to step t − 1
        np.matmul(d_pre[3], V_if, out=d_f_next)
        np.matmul(d_pre[2], V_ff, out=tmp0)
        d_f_next += tmp0
        np.matmul(d_pre[1], V_of, out=tmp0)
        d_f_next += tmp0
        # δo_prev = V_ioᵀ δa_i + V_foᵀ δa_f + V_ooᵀ δa_o, handed to step t − 1
        np.matmul(d_pre[3], V_io, out=d_o_next)
        np.matmul(d_pre[2], V_fo, out=tmp0)
        d_o_next += tmp0
        np.matmul(d_pre[1], V_oo, out=tmp0)
        d_o_next += tmp0
    # rows of sequences that have ended hold no δ: zero them for the sums below
    batch.clear(d_pre_seq)
    # δp_i = Σ_t Σ_rows δa_i ⊙ c_prev
    np.multiply(c_all[:-1], d_pre_all[:, 3], out=tmp_all0)
    d_p_i = tmp_all0.sum(axis=(0, 1))
    # δp_f = Σ_t Σ_rows δa_f ⊙ c_prev
    np.multiply(c_all[:-1], d_pre_all[:, 2], out=tmp_all0)
    d_p_f = tmp_all0.sum(axis=(0, 1))
    # δp_o = Σ_t Σ_rows δa_o ⊙ c
    np.multiply(c_seq, d_pre_all[:, 1], out=tmp_all0)
    d_p_o = tmp_all0.sum(axis=(0, 1))
    # sums over time and batch, one GEMM per group of weights that share a source:
    # ∂L/∂W = Σ_t δa_t vᵀ_t for the source v of W, ∂L/∂b = Σ_t δa_t, ∂L/∂x_t = Σ_W Wᵀ δa_t
    d_all = d_pre_seq.reshape(T * B, 4 * H)
    x2 = x.reshape(T * B, D)
    d_W_all = d_all.T @ x2
    d_x = d_all @ np.concatenate([params["W_g"], params["W_o"], params["W_f"], params["W_i"]])
    # steps 1… start from the h of the step before
    d_U_all = d_all[B:].T @ h_seq[:-1].reshape((T - 1) * B, H)
    if h0.any():  # step 0 starts from h0: zeros unless given
        d_U_all += d_all[:B].T @ h0
    d_bias = np.ones(T * B, x.dtype) @ d_all  # column sums, as one GEMV
    return {
        "W_g": d_W_all[:H],
        "U_g": d_U_all[:H],
        "W_i": d_W_all[3 * H:4 * H],
        "U_i": d_U_all[3 * H:4 * H],
        "V_ii": d_all[:, 3 * H:4 * H].T @ i_all[:-1].reshape(T * B, H),
        "V_if": d_all[:, 3 * H:4 * H].T @ f_all[:-1].reshape(T * B, H),
        "V_io": d_all[:, 3 * H:4 * H].T @ o_all[:-1].reshape(T * B, H),
        "W_f": d_W_all[2 * H:3 * H],
        "U_f": d_U_all[2 * H:3 * H],
        "V_fi": d_all[:, 2 * H:3 * H].T @ i_all[:-1].reshape(T * B, H),
        "V_ff": d_all[:, 2 * H:3 * H].T @ f_all[:-1].reshape(T * B, H),
        "V_fo": d_all[:, 2 * H:3 * H].T @ o_all[:-1].reshape(T * B, H),
        "W_o": d_W_all[H:2 * H],
        "U_o": d_U_all[H:2 * H],
        "V_oi": d_all[:, H:2 * H].T @ i_all[:-1].reshape(T * B, H),
        "V_of": d_all[:, H:2 * H].T @ f_all[:-1].reshape(T * B, H),
        "V_oo": d_all[:, H:2 * H].T @ o_all[:-1].reshape(T * B, H),
        "b_g": d_bias[:H],
        "p_i": d_p_i,
        "b_i": d_bias[3 * H:4 * H],
        "p_f": d_p_f,
        "b_f": d_bias[2 * H:3 * H],
        "p_o": d_p_o,
        "b_o": d_bias[H:2 * H],
        "x": batch.unsort(d_x.reshape(T, B, D), 1),
        "h0": batch.unsort(d_h_carry, 0),
        "c0": batch.unsort(d_c_carry, 0),
        "i0": batch.unsort(d_i_carry, 0),
        "f0": batch.unsort(d_f_carry, 0),
        "o0": batch.unsort(d_o_carry, 0),
    }
