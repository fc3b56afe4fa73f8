"""Softmax output layer with cross-entropy loss: forward and backward over a sequence.

Generated from derive/derivation/head.py by `gated-rnn generate`; do not edit.

    z_t = V h_t + c,  y_hat_t = softmax(z_t),  L = -sum_t log y_hat_t[target_t]
    dL/dz_t = -onehot + probs   (derived)
    dL/dV = sum_t dz_t h_t^T,  dL/dc = sum_t dz_t,  dL/dh_t = V^T dz_t
"""

import numpy as np

PARAM_SHAPES = {"V": ("K", "H"), "c": ("K",)}


def forward(params, h_seq, targets):
    """Summed cross-entropy of targets (T, B) integer classes; return (loss, cache)."""
    V, c = params["V"], params["c"]
    if h_seq.ndim != 3 or h_seq.shape[2] != V.shape[1] or c.shape != (V.shape[0],):
        raise ValueError(f"softmax_ce.forward: h_seq (T, B, H) and V (K, H), c (K,) expected; got "
                         f"{h_seq.shape}, {V.shape}, {c.shape}")
    if V.dtype != h_seq.dtype or c.dtype != h_seq.dtype:
        raise ValueError(f"softmax_ce.forward: V, c and h_seq must share a dtype; got "
                         f"{V.dtype}, {c.dtype}, {h_seq.dtype}")
    targets = np.asarray(targets)
    if targets.shape != h_seq.shape[:2] or targets.dtype.kind not in "iu" \
            or targets.min() < 0 or targets.max() >= V.shape[0]:
        raise ValueError(f"softmax_ce.forward: targets must be integers in [0, {V.shape[0]}) "
                         f"of shape {h_seq.shape[:2]}")
    T, B, H = h_seq.shape
    h2 = h_seq.reshape(T * B, H)
    logits = h2 @ V.T
    logits += c
    logits -= logits.max(axis=1, keepdims=True)  # stable softmax
    np.exp(logits, out=logits)
    probs = logits
    probs /= probs.sum(axis=1, keepdims=True)
    rows, cols = np.arange(T * B), targets.reshape(-1)
    loss = -np.log(probs[rows, cols]).sum()
    return loss, {"h2": h2, "probs": probs, "rows": rows, "cols": cols, "shape": (T, B, H)}


def backward(params, cache):
    """Gradients of the summed loss: ({"V", "c"}, dh_seq (T, B, H))."""
    probs, h2 = cache["probs"], cache["h2"]
    dz = probs.copy()  # p - y with a one-hot y
    dz[cache["rows"], cache["cols"]] -= 1
    grads = {"V": dz.T @ h2, "c": dz.sum(axis=0)}
    return grads, (dz @ params["V"]).reshape(cache["shape"])
