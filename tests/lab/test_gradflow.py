"""Gradient flow: the Jacobian products agree with the backward kernels; initialisers do what they say."""

import numpy as np
import pytest

from derive import cells
from derive.lab import gradflow
from derive.lab import initialise
from helpers import rel_err

T, B, D, H = 12, 3, 4, 5


def problem(cell: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    params = initialise.torch_default(cells.get(cell), D, H, rng)
    params = {k: v * 2 for k, v in params.items()}
    return params, rng.standard_normal((T, B, D)), rng.standard_normal((B, H))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "gru_cho"])
def test_jacobian_products_equal_the_backward_kernels(cell):
    params, x, direction = problem(cell)
    products = gradflow.output_jacobians(cell, params, x)
    assert products.shape == (T, B, H, len(gradflow.kernel(cell).STATES) * H)
    want = np.einsum("bh,tbhk->tbk", direction, products[..., :H])
    assert rel_err(gradflow.loss_gradients(cell, params, x, direction), want) <= 1e-12


def test_first_lag_is_one_step_jacobian():
    params, x, _ = problem("rnn")
    norms = gradflow.state_gradient_norms("rnn", params, x)
    prev = gradflow.states_before_each_step("rnn", params, x)[-1]["h_prev"]
    h_T = np.tanh(x[-1] @ params["W_h"].T + prev @ params["U_h"].T + params["b_h"] + params["bh_h"])
    one_step = np.linalg.norm((1 - h_T**2)[:, :, None] * params["U_h"], ord=2, axis=(1, 2))
    assert norms.shape == (T,) and norms[0] == pytest.approx(np.median(one_step), rel=1e-12)


def test_a_large_forget_bias_keeps_the_cell_state_gradient():
    rng = np.random.default_rng(1)
    params = initialise.torch_default(cells.LSTM, D, H, rng)
    x = rng.standard_normal((40, B, D))
    far = {bias: gradflow.state_gradient_norms("lstm", initialise.with_gate_bias(cells.LSTM, params, "f", bias),
                                               x, "c")[-1] for bias in (0.0, 3.0)}
    assert far[3.0] > 1e6 * far[0.0]


def test_unknown_state_is_named():
    params, x, _ = problem("gru")
    with pytest.raises(ValueError, match="gru has no state 'c'"):
        gradflow.state_gradient_norms("gru", params, x, "c")


def test_torch_default_bounds():
    params = initialise.torch_default(cells.LSTM, 3, 16, np.random.default_rng(0))
    assert set(params) == set(cells.LSTM.param_shapes)
    assert max(np.abs(v).max() for v in params.values()) <= 1 / 4
    with pytest.raises(ValueError, match="D and H must be at least 1"):
        initialise.torch_default(cells.LSTM, 0, 16, np.random.default_rng(0))


def test_recurrent_schemes():
    rng = np.random.default_rng(0)
    params = initialise.torch_default(cells.GRU, 3, 64, rng)
    orthogonal = initialise.with_recurrent(cells.GRU, params, "orthogonal", 1.5, rng)
    assert initialise.recurrent_weights(cells.GRU) == ["U_r", "U_z", "U_n"]
    for name in ("U_r", "U_z", "U_n"):
        assert rel_err(orthogonal[name].T @ orthogonal[name], 2.25 * np.eye(64)) < 1e-12
    assert orthogonal["W_r"] is params["W_r"]
    gaussian = initialise.with_recurrent(cells.GRU, params, "gaussian", 1.0, rng)
    assert np.std(gaussian["U_z"]) == pytest.approx(1 / 8, rel=0.05)


def test_gate_bias_sets_the_sum():
    params = initialise.torch_default(cells.LSTM, 3, 4, np.random.default_rng(0))
    biased = initialise.with_gate_bias(cells.LSTM, params, "f", 2.0)
    assert np.all(biased["b_f"] + biased["bh_f"] == 2.0) and biased["b_i"] is params["b_i"]
