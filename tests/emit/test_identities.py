"""The general identities the pages print: the BPTT sums (checked by SymPy when printed), the norm bound
with its γ, and the LSTM's full one-step cell-state path; checked here against numbers."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from derive.cells import functions
from derive.derivation.total import check
from derive.emit import identities
from helpers import kernel, random_params, rel_err


def test_the_three_computations_of_the_gradient_agree_and_the_immediate_one_alone_does_not():
    assert check(4).steps == 4  # raises if the double sum, the δ recursion or RTRL differed


@pytest.mark.parametrize("name, gamma", [("sigmoid", 0.25), ("tanh", 1.0)])
def test_gamma_is_the_largest_derivative(name, gamma):
    entry = functions.TABLE[name]
    assert float(identities.largest_derivative(entry)) == gamma
    a = np.linspace(-20, 20, 40001)
    value = {"sigmoid": 1 / (1 + np.exp(-a)), "tanh": np.tanh(a)}[name]
    slope = value * (1 - value) if name == "sigmoid" else 1 - value**2
    assert slope.max() <= gamma + 1e-15 and abs(slope.max() - gamma) < 1e-9


def test_products_of_rnn_jacobians_stay_below_the_bound():
    module = importlib.import_module("generated.jacobians.rnn")
    rng = np.random.default_rng(0)
    for scale in (0.3, 1.0, 3.0):
        params = random_params(module, 3, 5, rng, scale=scale)
        U = params["U_h"]
        h, product, bound = rng.standard_normal((1, 5)), np.eye(5), 1.0
        for lag in range(1, 13):
            x = rng.standard_normal((1, 3))
            step = module.jacobian(params, x, h)[0]
            h = kernel("rnn").forward(params, x[None], h)[0][0]
            product = step @ product
            bound *= np.linalg.norm(np.diag(1 - h[0] ** 2), 2) * np.linalg.norm(U, 2)
            assert np.linalg.norm(product, 2) <= bound * (1 + 1e-12)  # the middle of the printed bound
            assert bound <= np.linalg.norm(U, 2) ** lag * (1 + 1e-12)  # γ = 1 for tanh


def test_a_smaller_derivative_can_make_the_product_larger():
    """docs/analysis/gradient-norms.md: saturation lowers the bound, not always the product."""
    U = np.array([[1.0, 1.0], [-1.0, -1.0]])
    D = np.diag([1.0, 0.5])
    assert np.linalg.norm(U @ U, 2) == 0 and np.linalg.norm(D @ U @ D @ U, 2) > 0.7


def test_the_cell_state_path_through_the_previous_hidden_state():
    """dc_t/dc_{t-1} = ∂c_t/∂c_{t-1} + ∂c_t/∂h_{t-1} diag(o_{t-1} ⊙ (1 − tanh² c_{t-1})), by differences."""
    module = importlib.import_module("generated.jacobians.lstm")
    rng = np.random.default_rng(1)
    params = random_params(module, 3, 4, rng, scale=0.8)
    x, c_prev, o_prev = rng.standard_normal((1, 3)), rng.standard_normal((1, 4)), rng.uniform(0.1, 0.9, (1, 4))

    def c_next(c):
        h = o_prev * np.tanh(c)
        _, cache = kernel("lstm").forward(params, x[None], h, c)
        return cache["c_T"][0]

    blocks = module.blocks(params, x, o_prev * np.tanh(c_prev), c_prev)
    formula = blocks["c", "c"][0] + blocks["c", "h"][0] @ np.diag((o_prev * (1 - np.tanh(c_prev) ** 2))[0])
    eps, numeric = 1e-6, np.zeros((4, 4))
    for k in range(4):
        step = np.zeros((1, 4))
        step[0, k] = eps
        numeric[:, k] = (c_next(c_prev + step) - c_next(c_prev - step)) / (2 * eps)
    assert rel_err(formula, numeric) < 1e-8
