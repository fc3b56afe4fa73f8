"""One-step state Jacobians of Simple RNN (Elman), as torch.nn.RNN with tanh.

Generated from derive/cells/builtin.py by `gated-rnn generate`; do not edit.

blocks(params, x, …) gives ∂s_t/∂r_t−1 for the states s, r in (h), one (B, H, H)
matrix per pair and example; jacobian(params, x, …) stacks them into
∂(h)_t/∂(h_t−1). Each block is the sum of the paths printed in
generated/latex/rnn/jacobian.tex.
Shapes: x (B, D), previous states (B, H); params as in PARAM_SHAPES.
"""

import numpy as np

from derive.runtime import check_step

CELL = "rnn"
STATES = ("h",)
PARAM_SHAPES = {"W_h": ("H", "D"), "U_h": ("H", "H"), "b_h": ("H",), "bh_h": ("H",)}


def blocks(params, x, h_prev):
    """∂s_t/∂r_t−1 for every pair of states (s, r): {(s, r): (B, H, H)}; row k differentiates
    unit k of s_t.
    """
    x, (h_prev,) = check_step(CELL, PARAM_SHAPES, params, x, {"h_prev": h_prev})
    # one step forward
    a_h = x @ params["W_h"].T + h_prev @ params["U_h"].T + params["b_h"] + params["bh_h"]
    h = np.tanh(a_h)
    # the paths through the step
    return {("h", "h"): (1 - h**2)[:, :, None] * params["U_h"]}


def jacobian(params, x, h_prev):
    """The whole step Jacobian (B, H, H): blocks of ``blocks`` in the order of STATES."""
    parts = blocks(params, x, h_prev)
    return np.block([[parts[s, r] for r in STATES] for s in STATES])
