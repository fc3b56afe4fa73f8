"""One-step state Jacobians of LSTM, full gate recurrence (FGR).

Generated from derive/cells/variants.py by `gated-rnn generate`; do not edit.

blocks(params, x, …) gives ∂s_t/∂r_t−1 for the states s, r in (h, c, i, f, o), one (B, H, H)
matrix per pair and example; jacobian(params, x, …) stacks them into
∂(h, c, i, f, o)_t/∂(h_t−1, c_t−1, i_t−1, f_t−1, o_t−1). Each block is the sum of the paths
printed in
generated/latex/greff_fgr/jacobian.tex.
Shapes: x (B, D), previous states (B, H); params as in PARAM_SHAPES.
"""

import numpy as np

from derive.runtime import check_step

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


def sigmoid(a):
    """1 / (1 + e^-a), written without overflow."""
    return 0.5 * np.tanh(0.5 * a) + 0.5


def blocks(params, x, h_prev, c_prev, i_prev, f_prev, o_prev):
    """∂s_t/∂r_t−1 for every pair of states (s, r): {(s, r): (B, H, H)}; row k differentiates
    unit k of s_t.
    """
    x, (h_prev, c_prev, i_prev, f_prev, o_prev) = check_step(
        CELL,
        PARAM_SHAPES,
        params,
        x,
        {"h_prev": h_prev, "c_prev": c_prev, "i_prev": i_prev, "f_prev": f_prev, "o_prev": o_prev},
    )
    H = h_prev.shape[1]
    # one step forward
    a_g = x @ params["W_g"].T + h_prev @ params["U_g"].T + params["b_g"]
    g = np.tanh(a_g)
    a_i = (
        x @ params["W_i"].T
        + h_prev @ params["U_i"].T
        + i_prev @ params["V_ii"].T
        + f_prev @ params["V_if"].T
        + o_prev @ params["V_io"].T
        + params["b_i"]
    )
    i = sigmoid(a_i + c_prev*params["p_i"])
    a_f = (
        x @ params["W_f"].T
        + h_prev @ params["U_f"].T
        + i_prev @ params["V_fi"].T
        + f_prev @ params["V_ff"].T
        + o_prev @ params["V_fo"].T
        + params["b_f"]
    )
    f = sigmoid(a_f + c_prev*params["p_f"])
    c = c_prev*f + g*i
    a_o = (
        x @ params["W_o"].T
        + h_prev @ params["U_o"].T
        + i_prev @ params["V_oi"].T
        + f_prev @ params["V_of"].T
        + o_prev @ params["V_oo"].T
        + params["b_o"]
    )
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
                    i
                    * o
                    * (1 - g ** 2)
                    * (params["p_o"] * tanh_c * (1 - o) - tanh_c ** 2 + 1)
                )[:, :, None]
                * params["U_g"]
            )
            + (
                (
                    g
                    * i
                    * o
                    * (1 - i)
                    * (params["p_o"] * tanh_c * (1 - o) - tanh_c ** 2 + 1)
                )[:, :, None]
                * params["U_i"]
            )
            + (o * tanh_c * (1 - o))[:, :, None] * params["U_o"]
        ),
        ("h", "c"): (
            (
                o
                * (
                    (
                        c_prev
                        * f
                        * params["p_f"]
                        * params["p_o"]
                        * tanh_c
                        * (1 - f)
                        * (1 - o)
                    )
                    + (
                        c_prev
                        * f
                        * params["p_f"]
                        * (1 - f)
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
        ("h", "i"): (
            (
                (
                    c_prev
                    * f
                    * o
                    * (1 - f)
                    * (params["p_o"] * tanh_c * (1 - o) - tanh_c ** 2 + 1)
                )[:, :, None]
                * params["V_fi"]
            )
            + (
                (
                    g
                    * i
                    * o
                    * (1 - i)
                    * (params["p_o"] * tanh_c * (1 - o) - tanh_c ** 2 + 1)
                )[:, :, None]
                * params["V_ii"]
            )
            + (o * tanh_c * (1 - o))[:, :, None] * params["V_oi"]
        ),
        ("h", "f"): (
            (
                (
                    c_prev
                    * f
                    * o
                    * (1 - f)
                    * (params["p_o"] * tanh_c * (1 - o) - tanh_c ** 2 + 1)
                )[:, :, None]
                * params["V_ff"]
            )
            + (
                (
                    g
                    * i
                    * o
                    * (1 - i)
                    * (params["p_o"] * tanh_c * (1 - o) - tanh_c ** 2 + 1)
                )[:, :, None]
                * params["V_if"]
            )
            + (o * tanh_c * (1 - o))[:, :, None] * params["V_of"]
        ),
        ("h", "o"): (
            (
                (
                    c_prev
                    * f
                    * o
                    * (1 - f)
                    * (params["p_o"] * tanh_c * (1 - o) - tanh_c ** 2 + 1)
                )[:, :, None]
                * params["V_fo"]
            )
            + (
                (
                    g
                    * i
                    * o
                    * (1 - i)
                    * (params["p_o"] * tanh_c * (1 - o) - tanh_c ** 2 + 1)
                )[:, :, None]
                * params["V_io"]
            )
            + (o * tanh_c * (1 - o))[:, :, None] * params["V_oo"]
        ),
        ("c", "h"): (
            (c_prev * f * (1 - f))[:, :, None] * params["U_f"]
            + (i * (1 - g ** 2))[:, :, None] * params["U_g"]
            + (g * i * (1 - i))[:, :, None] * params["U_i"]
        ),
        ("c", "c"): (
            (
                c_prev * f * params["p_f"] * (1 - f)
                + f
                + g * i * params["p_i"] * (1 - i)
            )[:, :, None]
            * np.eye(H, dtype=x.dtype)
        ),
        ("c", "i"): (
            (c_prev * f * (1 - f))[:, :, None] * params["V_fi"]
            + (g * i * (1 - i))[:, :, None] * params["V_ii"]
        ),
        ("c", "f"): (
            (c_prev * f * (1 - f))[:, :, None] * params["V_ff"]
            + (g * i * (1 - i))[:, :, None] * params["V_if"]
        ),
        ("c", "o"): (
            (c_prev * f * (1 - f))[:, :, None] * params["V_fo"]
            + (g * i * (1 - i))[:, :, None] * params["V_io"]
        ),
        ("i", "h"): (i*(1 - i))[:, :, None] * params["U_i"],
        ("i", "c"): (i*params["p_i"]*(1 - i))[:, :, None] * np.eye(H, dtype=x.dtype),
        ("i", "i"): (i*(1 - i))[:, :, None] * params["V_ii"],
        ("i", "f"): (i*(1 - i))[:, :, None] * params["V_if"],
        ("i", "o"): (i*(1 - i))[:, :, None] * params["V_io"],
        ("f", "h"): (f*(1 - f))[:, :, None] * params["U_f"],
        ("f", "c"): (f*params["p_f"]*(1 - f))[:, :, None] * np.eye(H, dtype=x.dtype),
        ("f", "i"): (f*(1 - f))[:, :, None] * params["V_fi"],
        ("f", "f"): (f*(1 - f))[:, :, None] * params["V_ff"],
        ("f", "o"): (f*(1 - f))[:, :, None] * params["V_fo"],
        ("o", "h"): (
            (o * (1 - o))[:, :, None] * params["U_o"]
            + (c_prev * f * o * params["p_o"] * (1 - f) * (1 - o))[:, :, None] * params["U_f"]
            + (i * o * params["p_o"] * (1 - g ** 2) * (1 - o))[:, :, None] * params["U_g"]
            + (g * i * o * params["p_o"] * (1 - i) * (1 - o))[:, :, None] * params["U_i"]
        ),
        ("o", "c"): (
            (
                o
                * params["p_o"]
                * (1 - o)
                * (
                    c_prev * f * params["p_f"] * (1 - f)
                    + f
                    + g * i * params["p_i"] * (1 - i)
                )
            )[:, :, None]
            * np.eye(H, dtype=x.dtype)
        ),
        ("o", "i"): (
            (o * (1 - o))[:, :, None] * params["V_oi"]
            + (c_prev * f * o * params["p_o"] * (1 - f) * (1 - o))[:, :, None] * params["V_fi"]
            + (g * i * o * params["p_o"] * (1 - i) * (1 - o))[:, :, None] * params["V_ii"]
        ),
        ("o", "f"): (
            (o * (1 - o))[:, :, None] * params["V_of"]
            + (c_prev * f * o * params["p_o"] * (1 - f) * (1 - o))[:, :, None] * params["V_ff"]
            + (g * i * o * params["p_o"] * (1 - i) * (1 - o))[:, :, None] * params["V_if"]
        ),
        ("o", "o"): (
            (o * (1 - o))[:, :, None] * params["V_oo"]
            + (c_prev * f * o * params["p_o"] * (1 - f) * (1 - o))[:, :, None] * params["V_fo"]
            + (g * i * o * params["p_o"] * (1 - i) * (1 - o))[:, :, None] * params["V_io"]
        ),
    }


def jacobian(params, x, h_prev, c_prev, i_prev, f_prev, o_prev):
    """The whole step Jacobian (B, 5H, 5H): blocks of ``blocks`` in the order of STATES."""
    parts = blocks(params, x, h_prev, c_prev, i_prev, f_prev, o_prev)
    return np.block([[parts[s, r] for r in STATES] for s in STATES])
