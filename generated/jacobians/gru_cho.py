"""One-step state Jacobians of GRU with the reset gate before the recurrent product, as in Cho et
al. 2014.

Generated from derive/cells/builtin.py by `gated-rnn generate`; do not edit.

blocks(params, x, …) gives ∂s_t/∂r_t−1 for the states s, r in (h), one (B, H, H)
matrix per pair and example; jacobian(params, x, …) stacks them into
∂(h)_t/∂(h_t−1). Each block is the sum of the paths printed in
generated/latex/gru_cho/jacobian.tex.
Shapes: x (B, D), previous states (B, H); params as in PARAM_SHAPES.
"""

import numpy as np

from derive.runtime import check_step

CELL = "gru_cho"
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


def sigmoid(a):
    """1 / (1 + e^-a), written without overflow."""
    return 0.5 * np.tanh(0.5 * a) + 0.5


def blocks(params, x, h_prev):
    """∂s_t/∂r_t−1 for every pair of states (s, r): {(s, r): (B, H, H)}; row k differentiates
    unit k of s_t.
    """
    x, (h_prev,) = check_step(CELL, PARAM_SHAPES, params, x, {"h_prev": h_prev})
    H = h_prev.shape[1]
    # one step forward
    a_r = x @ params["W_r"].T + h_prev @ params["U_r"].T + params["b_r"]
    r = sigmoid(a_r)
    a_z = x @ params["W_z"].T + h_prev @ params["U_z"].T + params["b_z"]
    z = sigmoid(a_z)
    q = h_prev*r
    a_n = x @ params["W_n"].T + q @ params["U_n"].T + params["b_n"]
    n = np.tanh(a_n)
    # the paths through the step
    return {
        ("h", "h"): (
            z[:, :, None] * np.eye(H, dtype=x.dtype)
            + ((1 - n ** 2) * (1 - z))[:, :, None] * (params["U_n"] * r[:, None, :])
            + (
                ((1 - n ** 2) * (1 - z))[:, :, None]
                * (params["U_n"] @ ((h_prev * r * (1 - r))[:, :, None] * params["U_r"]))
            )
            + (z * (1 - z) * (h_prev - n))[:, :, None] * params["U_z"]
        ),
    }


def jacobian(params, x, h_prev):
    """The whole step Jacobian (B, H, H): blocks of ``blocks`` in the order of STATES."""
    parts = blocks(params, x, h_prev)
    return np.block([[parts[s, r] for r in STATES] for s in STATES])
