"""One-step state Jacobians of LSTM, coupled input and forget gate (CIFG).

Generated from derive/cells/variants.py by `gated-rnn generate`; do not edit.

blocks(params, x, …) gives ∂s_t/∂r_t−1 for the states s, r in (h, c), one (B, H, H)
matrix per pair and example; jacobian(params, x, …) stacks them into
∂(h, c)_t/∂(h_t−1, c_t−1). Each block is the sum of the paths printed in
generated/latex/greff_cifg/jacobian.tex.
Shapes: x (B, D), previous states (B, H); params as in PARAM_SHAPES.
"""

import numpy as np

from derive.runtime import check_step

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
    a_i = x @ params["W_i"].T + h_prev @ params["U_i"].T + params["b_i"]
    i = sigmoid(a_i + c_prev*params["p_i"])
    f = 1 - i
    c = c_prev*f + g*i
    a_o = x @ params["W_o"].T + h_prev @ params["U_o"].T + params["b_o"]
    o = sigmoid(a_o + c*params["p_o"])
    tanh_c = np.tanh(c)
    # the paths through the step
    return {
        ("h", "h"): (
            (
                (
                    i
                    * o
                    * (1 - i)
                    * (
                        -c_prev * params["p_o"] * tanh_c * (1 - o)
                        - c_prev * (1 - tanh_c ** 2)
                        + g * params["p_o"] * tanh_c * (1 - o)
                        + g * (1 - tanh_c ** 2)
                    )
                )[:, :, None]
                * params["U_i"]
            )
            + (
                (
                    i
                    * o
                    * (1 - g ** 2)
                    * (params["p_o"] * tanh_c * (1 - o) - tanh_c ** 2 + 1)
                )[:, :, None]
                * params["U_g"]
            )
            + (o * tanh_c * (1 - o))[:, :, None] * params["U_o"]
        ),
        ("h", "c"): (
            (
                o
                * (
                    (
                        -c_prev
                        * i
                        * params["p_i"]
                        * params["p_o"]
                        * tanh_c
                        * (1 - i)
                        * (1 - o)
                    )
                    - (
                        c_prev
                        * i
                        * params["p_i"]
                        * (1 - i)
                        * (1 - tanh_c ** 2)
                    )
                    + f * params["p_o"] * tanh_c * (1 - o)
                    + f * (1 - tanh_c ** 2)
                    + (
                        g
                        * i
                        * params["p_i"]
                        * params["p_o"]
                        * tanh_c
                        * (1 - i)
                        * (1 - o)
                    )
                    + (
                        g
                        * i
                        * params["p_i"]
                        * (1 - i)
                        * (1 - tanh_c ** 2)
                    )
                )
            )[:, :, None]
            * np.eye(H, dtype=x.dtype)
        ),
        ("c", "h"): (
            (i * (1 - i) * (-c_prev + g))[:, :, None] * params["U_i"]
            + (i * (1 - g ** 2))[:, :, None] * params["U_g"]
        ),
        ("c", "c"): (
            (
                -c_prev * i * params["p_i"] * (1 - i)
                + f
                + g * i * params["p_i"] * (1 - i)
            )[:, :, None]
            * np.eye(H, dtype=x.dtype)
        ),
    }


def jacobian(params, x, h_prev, c_prev):
    """The whole step Jacobian (B, 2H, 2H): blocks of ``blocks`` in the order of STATES."""
    parts = blocks(params, x, h_prev, c_prev)
    return np.block([[parts[s, r] for r in STATES] for s in STATES])
