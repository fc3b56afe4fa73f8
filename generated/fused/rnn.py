"""Simple RNN (Elman), as torch.nn.RNN with tanh: forward and backward through time.

Generated from derive/cells/builtin.py by `gated-rnn generate`; do not edit. The elementwise
work of each step is C (rnn.c beside this file), compiled on first import.

Per time step, every product elementwise:

    h = tanh(W_h @ x + U_h @ h_prev + b_h + bh_h)

Shapes: x (T, B, D), time-major; states (B, H); params as in PARAM_SHAPES.
"""

import numpy as np

from derive.runtime import check_backward, check_forward, compiled

CELL = "rnn"
STATES = ("h",)
PARAM_SHAPES = {"W_h": ("H", "D"), "U_h": ("H", "H"), "b_h": ("H",), "bh_h": ("H",)}
FFI, LIB = compiled.load(CELL, compiled.source_beside(__file__))


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
    U_all = params["U_h"]  # rows: h
    U_allT = U_all.T.copy()  # contiguous: the step's product reads it row by row
    # pre-activations: step t's are gates[t], one (B, H) block each: h
    gates = np.empty((T, 1, B, H), x.dtype)
    bias = np.array([params["b_h"] + params["bh_h"]])  # one row per pre-activation
    W_all = params["W_h"]  # rows: h
    # the input projections of all steps, one GEMM straight into gates
    np.matmul(x2, W_all.T, out=gates.reshape(T * B, H))
    gates += bias
    rec = np.empty((B, H), x.dtype)
    pointers = compiled.pointers(FFI, x.dtype, gates, rec, h0)
    if compiled.small(B, H, 1):  # the whole loop in C, its products too
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
            h_prev = gates[t, 0, :live]
    h_seq = gates[:, 0]
    batch.clear(gates[:, 0])
    cache = {
        "cell": CELL,
        "x": x,
        "H": H,
        "batch": batch,
        "gates": gates,
        "h0": h0,
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
        ("x", "H", "batch", "gates", "h0", "U_all"),
    )
    x, H, batch, gates, h0, U_all = (
        cache["x"],
        cache["H"],
        cache["batch"],
        cache["gates"],
        cache["h0"],
        cache["U_all"],
    )
    T, B, D = x.shape
    dl_seq = np.ascontiguousarray(dh_seq)
    # δ of the pre-activations, written by the compiled step into d_pre_seq (T, B, P·H)
    d_pre_seq = np.zeros((T, B, H), x.dtype)
    pointers = compiled.pointers(FFI, x.dtype, gates, h0, dl_seq, d_h_carry, d_pre_seq)
    if compiled.small(B, H, 1):  # the whole loop in C, its products too
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
    d_all = d_pre_seq.reshape(T * B, H)
    x2 = x.reshape(T * B, D)
    d_W_all = d_all.T @ x2
    d_x = d_all @ params["W_h"]
    # steps 1… start from the h of the step before
    d_U_all = d_all[B:].T @ gates[:-1, 0].reshape((T - 1) * B, H)
    if h0.any():  # step 0 starts from h0: zeros unless given
        d_U_all += d_all[:B].T @ h0
    d_bias = np.ones(T * B, x.dtype) @ d_all  # column sums, as one GEMV
    return {
        "W_h": d_W_all[:H],
        "U_h": d_U_all[:H],
        "b_h": d_bias[:H],
        "bh_h": d_bias[:H].copy(),
        "x": batch.unsort(d_x.reshape(T, B, D), 1),
        "h0": batch.unsort(d_h_carry, 0),
    }
