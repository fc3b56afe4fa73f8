"""One-step state Jacobians of LSTM, no input gate (NIG).

Generated from derive/cells/variants.py by `gated-rnn generate`; do not edit.

blocks(params, x, …) gives ∂s_t/∂r_t−1 for the states s, r in (h, c), one (B, H, H)
matrix per pair and example; jacobian(params, x, …) stacks them into
∂(h, c)_t/∂(h_t−1, c_t−1). Each block is the sum of the paths printed in
generated/latex/greff_nig/jacobian.tex.
Shapes: x (B, D), previous states (B, H); params as in PARAM_SHAPES.
"""

import numpy as np

from derive.runtime import check_step

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


def sigmoid(a):
    """1 / (1 + e^-a), written without overflow."""
    return 0.5 * np.tanh(0.5 * a) + 0.5


def blocks(params, x, h_prev, c_prev):
    """∂s_t/∂r_t−1 for every pair of states (s, r): {(s, r): (B, H, H)}; row k differentiates
    unit k of s_t.
    """
    x, (h_prev, c_prev) = check_step(
        CELL,
        PARAM_SHAPES,
        params,
        x,
        {"h_prev": h_prev, "c_prev": c_prev},
    )
    H = h_prev.shape[1]
    # one step forward
    a_g = x @ params["W_g"].T + h_prev @ params["U_g"].T + params["b_g"]
    g = np.tanh(a_g)
    a_f = x @ params["W_f"].T + h_prev @ params["U_f"].T + params["b_f"]
    f = sigmoid(a_f + c_prev*params["p_f"])
    c = c_prev*f + g
    a_o = x @ params["W_o"].T + h_prev @ params["U_o"].T + params["b_o"]
    o = sigmoid(a_o + c*params["p_o"])
    tanh_c = np.tanh(c)
    # the paths through the step
    return {
        ("h", "h"): (
            (
                (
                    c_prev
                    * f
                    * o
                    * (1 - f)
                    * (params["p_o"] * tanh_c * (1 - o) - tanh_c ** 2 + 1)
                )[:, :, None]
                * params["U_f"]
            )
            + (
                (
                    o
                    * (1 - g ** 2)
                    * (params["p_o"] * tanh_c * (1 - o) - tanh_c ** 2 + 1)
                )[:, :, None]
                * params["U_g"]
            )
            + (o * tanh_c * (1 - o))[:, :, None] * params["U_o"]
        ),
        ("h", "c"): (
            (
                f
                * o
                * (
                    (
                        c_prev
                        * params["p_f"]
                        * params["p_o"]
                        * tanh_c
                        * (1 - f)
                        * (1 - o)
                    )
                    + (
                        c_prev
                        * params["p_f"]
                        * (1 - f)
                        * (1 - tanh_c ** 2)
                    )
                    + params["p_o"] * tanh_c * (1 - o)
                    - tanh_c ** 2
                    + 1
                )
            )[:, :, None]
            * np.eye(H, dtype=x.dtype)
        ),
        ("c", "h"): (
            (c_prev * f * (1 - f))[:, :, None] * params["U_f"]
            + (1 - g ** 2)[:, :, None] * params["U_g"]
        ),
        ("c", "c"): (f*(c_prev*params["p_f"]*(1 - f) + 1))[:, :, None] * np.eye(H, dtype=x.dtype),
    }


def jacobian(params, x, h_prev, c_prev):
    """The whole step Jacobian (B, 2H, 2H): blocks of ``blocks`` in the order of STATES."""
    parts = blocks(params, x, h_prev, c_prev)
    return np.block([[parts[s, r] for r in STATES] for s in STATES])
