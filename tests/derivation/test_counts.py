"""Parameter counts from the specs equal torch's; the redundant biases are redundant; per-step work."""

import numpy as np
import pytest
import torch

from derive import cells
from derive.runtime import interop
from derive.derivation.counts import count
from helpers import kernel, random_params


@pytest.mark.parametrize("cell", list(interop.TORCH_CELLS))
@pytest.mark.parametrize("D, H", [(1, 1), (10, 20), (64, 128), (300, 7)])
def test_param_count_equals_torch(cell, D, H):
    module = getattr(torch.nn, interop.TORCH_CELLS[cell][0])(D, H)
    assert count(cells.get(cell), D, H).params == sum(p.numel() for p in module.parameters())


def test_lstm_work_per_step():
    c = count(cells.LSTM, 10, 20)
    assert c.matmul_macs == 4 * 20 * (10 + 20)
    assert c.activations == 5 * 20  # four gates and tanh(c)


def test_single_bias_gru_has_fewer_parameters():
    assert count(cells.GRU, 8, 16).params - count(cells.GRU_CHO, 8, 16).params == 3 * 16


def test_backward_work_per_step():
    c = count(cells.RNN, 10, 20)
    assert c.backward_macs == 2 * c.matmul_macs  # the gradients of the input and of the weight
    assert c.backward_elementwise == 4 * 20  # δh = δh_next + ∂ℓ/∂h; δâ = δh (1 − h²): add, square, subtract, multiply


@pytest.mark.parametrize("cell, redundant_per_unit", [("rnn", 1), ("lstm", 4), ("gru", 2), ("gru_cho", 0)])
def test_single_bias_counts(cell, redundant_per_unit):
    c = count(cells.get(cell), 10, 20)
    assert c.params - c.single_bias_params == redundant_per_unit * 20


def shifted_output(cell: str, first: str, second: str, seed: int = 0) -> float:
    """How much the output changes when v moves from one bias to another (sum kept)."""
    module = kernel(cell)
    rng = np.random.default_rng(seed)
    params = random_params(module, 3, 4, rng)
    x = rng.standard_normal((5, 2, 3))
    moved = dict(params)
    v = rng.standard_normal(4)
    moved[first], moved[second] = params[first] + v, params[second] - v
    return float(np.abs(module.forward(moved, x)[0] - module.forward(params, x)[0]).max())


@pytest.mark.parametrize("cell, first, second", [("rnn", "b_h", "bh_h"), ("lstm", "b_f", "bh_f"), ("gru", "b_z", "bh_z")])
def test_the_redundant_biases_only_matter_through_their_sum(cell, first, second):
    assert shifted_output(cell, first, second) < 1e-14


def test_the_gru_candidate_biases_are_not_redundant():
    """bh_n sits inside the reset product r ⊙ (U_n h + bh_n): it cannot be merged into b_n."""
    assert shifted_output("gru", "b_n", "bh_n") > 1e-3
    assert count(cells.GRU, 8, 16).single_bias_params == count(cells.GRU_CHO, 8, 16).params + 16
