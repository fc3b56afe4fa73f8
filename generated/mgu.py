"""Minimal gated unit: one gate both resets and updates: forward and backward through time.

Generated from derive/cells/variants.py by `gated-rnn generate`; do not edit.

Per time step, every product elementwise:

    f = sigmoid(W_f @ x + U_f @ h_prev + b_f)
    q = f * h_prev
    n = tanh(W_n @ x + U_n @ q + b_n)
    h = (1 - f) * h_prev + f * n

Shapes: x (T, B, D), time-major; states (B, H); params as in PARAM_SHAPES.
"""

import numpy as np

from derive.runtime import check_backward, check_forward

CELL = "mgu"
STATES = ("h",)
PARAM_SHAPES = {
    "W_f": ("H", "D"),
    "U_f": ("H", "H"),
    "W_n": ("H", "D"),
    "U_n": ("H", "H"),
    "b_f": ("H",),
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
    U_all = params["U_f"]  # rows: f
    U_allT = U_all.T.copy()  # contiguous: the step's product reads it row by row
    U_allT *= -1  # f: −a
    U_n = params["U_n"]
    # pre-activations: step t's are gates[t], one (B, H) block each: n f
    gates = np.empty((T, 2, B, H), x.dtype)
    bias = np.array([params["b_n"], params["b_f"]])  # one row per pre-activation
    bias[1:] *= -1  # f: −a, so that sigmoid needs no negation per step
    W_all = np.concatenate([params["W_n"], params["W_f"]])  # rows: n f
    W_all[H:] *= -1  # f: −a, so that sigmoid needs no negation per step
    # the input projections of all steps, one GEMM, into step-major order
    np.add((x2 @ W_all.T).reshape(T, B, 2, H).transpose(0, 2, 1, 3), bias[:, None], out=gates)
    h_all = batch.empty((T + 1, B, H), x.dtype)
    h_all[0] = h0
    h_seq = h_all[1:]  # the state after each step
    q_seq = batch.empty((T, B, H), x.dtype)
    rec = np.empty((B, H), x.dtype)
    tmp0_buf = np.empty((B, H), x.dtype)
    h_prev = h0
    viewed = None  # how many rows the views of the buffers cover
    recurrent = bool(h0.any())  # False: the first step skips the product with a zero initial state
    with np.errstate(over="ignore"):  # e^{-a} = inf inside σ gives exactly 0
        # live: rows still running
        for live, n, f, q, h in batch.steps(gates[:, 0], gates[:, 1], q_seq, h_seq):
            if live != viewed:  # first step, or the number of running rows changed
                viewed = live
                h_prev = h_prev[:live]
                rec_live = rec[:live]
                tmp0 = tmp0_buf[:live]
            if recurrent:
                np.matmul(h_prev, U_allT, out=rec_live)
                f += rec_live
            # f = sigmoid(·) from −a
            np.exp(f, out=f)
            f += 1
            np.reciprocal(f, out=f)
            # q = f * h_prev
            np.multiply(f, h_prev, out=q)
            # n = tanh(W_n @ x + U_n @ q + b_n)
            np.matmul(q, U_n.T, out=tmp0)
            n += tmp0
            np.tanh(n, out=n)
            # h = (1 - f) * h_prev + f * n
            np.subtract(n, h_prev, out=h)
            h *= f
            h += h_prev
            h_prev = h
            recurrent = True
    cache = {
        "cell": CELL,
        "x": x,
        "H": H,
        "batch": batch,
        "gates": gates,
        "h_all": h_all,
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
        ("x", "H", "batch", "gates", "h_all", "q_seq", "U_all"),
    )
    x, H, batch, gates, h_all, q_seq, U_all = (
        cache["x"],
        cache["H"],
        cache["batch"],
        cache["gates"],
        cache["h_all"],
        cache["q_seq"],
        cache["U_all"],
    )
    T, B, D = x.shape
    h_seq = h_all[1:]
    h0 = h_all[0]
    U_n = params["U_n"]
    # δ of the pre-activations, written by each step into its rows of d_pre_seq (T, B, 2 * H) for
    #   the recurrent product and the weight gradients after the loop
    d_pre_seq = np.empty((T, B, 2 * H), x.dtype)
    # (T, 2, B, H) like gates: each pre-activation's δ a (B, H) block of its step
    d_pre_all = d_pre_seq.reshape(T, B, 2, H).transpose(0, 2, 1, 3)
    # factors of forward values, all steps at once: the recursion multiplies by them
    tmp_all0 = np.empty((T, B, H), x.dtype)
    d_a_f_dh_seq = np.empty((T, B, H), x.dtype)
    d_a_f_dq_seq = np.empty((T, B, H), x.dtype)
    d_h_prev_dh_seq = np.empty((T, B, H), x.dtype)
    # the factor of δh in δa_n, in its column of d_pre_seq: the step multiplies it by δh in place
    np.square(gates[:, 0], out=d_pre_all[:, 0])
    np.subtract(1, d_pre_all[:, 0], out=d_pre_all[:, 0])
    d_pre_all[:, 0] *= gates[:, 1]
    # d_a_f_dh = f ⊙ (1 − f) ⊙ (n − h_prev): the factor of δh in δa_f
    np.subtract(1, gates[:, 1], out=d_a_f_dh_seq)
    np.subtract(gates[:, 0], h_all[:-1], out=tmp_all0)
    d_a_f_dh_seq *= tmp_all0
    d_a_f_dh_seq *= gates[:, 1]
    # d_a_f_dq = f ⊙ h_prev ⊙ (1 − f): the factor of δq in δa_f
    np.subtract(1, gates[:, 1], out=d_a_f_dq_seq)
    d_a_f_dq_seq *= gates[:, 1]
    d_a_f_dq_seq *= h_all[:-1]
    # d_h_prev_dh = 1 − f: the factor of δh in δh_prev
    np.subtract(1, gates[:, 1], out=d_h_prev_dh_seq)
    d_h_buf = np.empty((B, H), x.dtype)
    d_q_buf = np.empty((B, H), x.dtype)
    tmp0_buf = np.empty((B, H), x.dtype)
    viewed = None  # how many rows the views of the buffers cover
    # last step first
    steps = batch.steps(
        d_pre_seq,
        dh_seq,
        d_pre_all,
        d_a_f_dh_seq,
        d_a_f_dq_seq,
        d_h_prev_dh_seq,
        gates[:, 1],
        reverse=True,
    )
    for live, d_rows, dl_dh, d_pre, d_a_f_dh, d_a_f_dq, d_h_prev_dh, f in steps:
        if live != viewed:  # first step, or the number of running rows changed
            viewed = live
            d_h, d_q, tmp0 = d_h_buf[:live], d_q_buf[:live], tmp0_buf[:live]
            d_h_next = d_h_carry[:live]
        # δh = ∂ℓ/∂h + δh_next
        np.add(d_h_next, dl_dh, out=d_h)
        # δa_n = δh ⊙ f ⊙ (1 − n²)
        d_pre[0] *= d_h
        # δq = U_nᵀ δa_n
        np.matmul(d_pre[0], U_n, out=d_q)
        # δa_f = δh ⊙ f ⊙ (1 − f) ⊙ (n − h_prev) + δq ⊙ f ⊙ h_prev ⊙ (1 − f)
        np.multiply(d_h, d_a_f_dh, out=d_pre[1])
        np.multiply(d_q, d_a_f_dq, out=tmp0)
        d_pre[1] += tmp0
        # δh_prev = δh ⊙ (1 − f) + δq ⊙ f + U_fᵀ δa_f, handed to step t − 1
        np.matmul(d_rows[:, H:], U_all, out=d_h_next)
        np.multiply(d_h, d_h_prev_dh, out=tmp0)
        d_h_next += tmp0
        np.multiply(d_q, f, out=tmp0)
        d_h_next += tmp0
    # rows of sequences that have ended hold no δ: zero them for the sums below
    batch.clear(d_pre_seq)
    # sums over time and batch, one GEMM per group of weights that share a source:
    # ∂L/∂W = Σ_t δa_t vᵀ_t for the source v of W, ∂L/∂b = Σ_t δa_t, ∂L/∂x_t = Σ_W Wᵀ δa_t
    d_all = d_pre_seq.reshape(T * B, 2 * H)
    x2 = x.reshape(T * B, D)
    d_W_all = d_all.T @ x2
    d_x = d_all @ np.concatenate([params["W_n"], params["W_f"]])
    # steps 1… start from the h of the step before
    d_U_all = d_all[B:, H:].T @ h_seq[:-1].reshape((T - 1) * B, H)
    if h0.any():  # step 0 starts from h0: zeros unless given
        d_U_all += d_all[:B, H:].T @ h0
    d_bias = np.ones(T * B, x.dtype) @ d_all  # column sums, as one GEMV
    return {
        "W_f": d_W_all[H:2 * H],
        "U_f": d_U_all[:H],
        "W_n": d_W_all[:H],
        "U_n": d_all[:, :H].T @ q_seq.reshape(T * B, H),
        "b_f": d_bias[H:2 * H],
        "b_n": d_bias[:H],
        "x": batch.unsort(d_x.reshape(T, B, D), 1),
        "h0": batch.unsort(d_h_carry, 0),
    }
