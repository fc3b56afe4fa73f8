"""LSTM, no input gate (NIG): forward and backward through time.

Generated from derive/cells/variants.py by `gated-rnn generate`; do not edit. The elementwise
work of each step is C (greff_nig.c beside this file), compiled on first import.

Per time step, every product elementwise:

    g = tanh(W_g @ x + U_g @ h_prev + b_g)
    f = sigmoid(W_f @ x + U_f @ h_prev + p_f * c_prev + b_f)
    c = f * c_prev + g
    o = sigmoid(W_o @ x + U_o @ h_prev + p_o * c + b_o)
    h = o * tanh(c)

Shapes: x (T, B, D), time-major; states (B, H); params as in PARAM_SHAPES.
"""

import numpy as np

from derive.runtime import check_backward, check_forward, compiled

CELL = "greff_nig"
STATES = ("h", "c")
PARAM_SHAPES = {
    "W_g": ("H", "D"),
    "U_g": ("H", "H"),
    "W_f": ("H", "D"),
    "U_f": ("H", "H"),
    "W_o": ("H", "D"),
    "U_o": ("H", "H"),
    "b_g": ("H",),
    "p_f": ("H",),
    "b_f": ("H",),
    "p_o": ("H",),
    "b_o": ("H",),
}
FFI, LIB = compiled.load(CELL, compiled.source_beside(__file__))


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
    U_all = np.concatenate([params["U_g"], params["U_o"], params["U_f"]])  # rows: g o f
    U_allT = U_all.T.copy()  # contiguous: the step's product reads it row by row
    # pre-activations: step t's are gates[t], one (B, H) block each: g a_o a_f
    gates = np.empty((T, 3, B, H), x.dtype)
    bias = np.array([params["b_g"], params["b_o"], params["b_f"]])  # one row per pre-activation
    W_all = np.concatenate([params["W_g"], params["W_o"], params["W_f"]])  # rows: g o f
    # the input projections of all steps, one GEMM, into step-major order
    np.add((x2 @ W_all.T).reshape(T, B, 3, H).transpose(0, 2, 1, 3), bias[:, None], out=gates)
    h_all = batch.empty((T + 1, B, H), x.dtype)
    h_all[0] = h0
    h_seq = h_all[1:]  # the state after each step
    c_all = batch.empty((T + 1, B, H), x.dtype)
    c_all[0] = c0
    c_seq = c_all[1:]  # the state after each step
    f_seq = batch.empty((T, B, H), x.dtype)
    o_seq = batch.empty((T, B, H), x.dtype)
    tanh_c_seq = batch.empty((T, B, H), x.dtype)
    rec = np.empty((B, 3 * H), x.dtype)
    p_f = np.ascontiguousarray(params["p_f"])
    p_o = np.ascontiguousarray(params["p_o"])
    pointers = compiled.pointers(
        FFI,
        x.dtype,
        gates,
        rec,
        h0,
        c0,
        h_seq,
        c_seq,
        f_seq,
        o_seq,
        tanh_c_seq,
        p_f,
        p_o,
    )
    if compiled.small(B, H, 3):  # the whole loop in C, its products too
        steps = getattr(LIB, "forward_steps_" + compiled.suffix(x.dtype))
        steps(
            T,
            compiled.rows(FFI, batch.active),
            B,
            H,
            *pointers,
            *compiled.pointers(FFI, x.dtype, U_allT),
        )
    else:
        step = getattr(LIB, "forward_step_" + compiled.suffix(x.dtype))
        h_prev = h0
        for t, live in enumerate(batch.active):  # live: rows still running
            np.matmul(h_prev[:live], U_allT, out=rec[:live])
            step(t, live, B, H, *pointers)
            h_prev = h_seq[t, :live]
    cache = {
        "cell": CELL,
        "x": x,
        "H": H,
        "batch": batch,
        "gates": gates,
        "h_all": h_all,
        "c_all": c_all,
        "f_seq": f_seq,
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
        ("x", "H", "batch", "gates", "h_all", "c_all", "f_seq", "o_seq", "tanh_c_seq", "U_all"),
    )
    x, H, batch, gates, h_all, c_all, f_seq, o_seq, tanh_c_seq, U_all = (
        cache["x"],
        cache["H"],
        cache["batch"],
        cache["gates"],
        cache["h_all"],
        cache["c_all"],
        cache["f_seq"],
        cache["o_seq"],
        cache["tanh_c_seq"],
        cache["U_all"],
    )
    T, B, D = x.shape
    h_seq = h_all[1:]
    h0 = h_all[0]
    c_seq = c_all[1:]
    c0 = c_all[0]
    p_f = np.ascontiguousarray(params["p_f"])
    p_o = np.ascontiguousarray(params["p_o"])
    dl_seq = np.ascontiguousarray(dh_seq)
    # δ of the pre-activations, written by the compiled step into d_pre_seq (T, B, P·H)
    d_pre_seq = np.zeros((T, B, 3 * H), x.dtype)
    d_p_f = np.zeros(H, x.dtype)
    d_p_o = np.zeros(H, x.dtype)
    pointers = compiled.pointers(
        FFI,
        x.dtype,
        gates,
        h0,
        c0,
        h_seq,
        c_seq,
        f_seq,
        o_seq,
        tanh_c_seq,
        dl_seq,
        d_h_carry,
        d_c_carry,
        d_pre_seq,
        p_f,
        p_o,
        d_p_f,
        d_p_o,
    )
    if compiled.small(B, H, 3):  # the whole loop in C, its products too
        steps = getattr(LIB, "backward_steps_" + compiled.suffix(x.dtype))
        steps(
            T,
            compiled.rows(FFI, batch.active),
            B,
            H,
            *pointers,
            *compiled.pointers(FFI, x.dtype, U_all),
        )
    else:
        step = getattr(LIB, "backward_step_" + compiled.suffix(x.dtype))
        for t in reversed(range(T)):
            live = batch.active[t]  # rows still running
            step(t, live, B, H, *pointers)
            np.matmul(d_pre_seq[t, :live], U_all, out=d_h_carry[:live])
    # sums over time and batch, one GEMM per group of weights that share a source:
    # ∂L/∂W = Σ_t δa_t vᵀ_t for the source v of W, ∂L/∂b = Σ_t δa_t, ∂L/∂x_t = Σ_W Wᵀ δa_t
    d_all = d_pre_seq.reshape(T * B, 3 * H)
    x2 = x.reshape(T * B, D)
    d_W_all = d_all.T @ x2
    d_x = d_all @ np.concatenate([params["W_g"], params["W_o"], params["W_f"]])
    # steps 1… start from the h of the step before
    d_U_all = d_all[B:].T @ h_seq[:-1].reshape((T - 1) * B, H)
    if h0.any():  # step 0 starts from h0: zeros unless given
        d_U_all += d_all[:B].T @ h0
    d_bias = np.ones(T * B, x.dtype) @ d_all  # column sums, as one GEMV
    return {
        "W_g": d_W_all[:H],
        "U_g": d_U_all[:H],
        "W_f": d_W_all[2 * H:3 * H],
        "U_f": d_U_all[2 * H:3 * H],
        "W_o": d_W_all[H:2 * H],
        "U_o": d_U_all[H:2 * H],
        "b_g": d_bias[:H],
        "p_f": d_p_f,
        "b_f": d_bias[2 * H:3 * H],
        "p_o": d_p_o,
        "b_o": d_bias[H:2 * H],
        "x": batch.unsort(d_x.reshape(T, B, D), 1),
        "h0": batch.unsort(d_h_carry, 0),
        "c0": batch.unsort(d_c_carry, 0),
    }
