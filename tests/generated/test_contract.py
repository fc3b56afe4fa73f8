"""What every generated kernel promises beyond its gradients: padding never matters, and what it
returns never aliases what it keeps."""

from __future__ import annotations

import numpy as np
import pytest

from derive import cells
from helpers import kernel, random_problem

LENGTHS = np.array([5, 2, 0, 4])


def run(module, params, x, init, g_seq, g_final, lengths=None):
    out, cache = module.forward(params, x, **init, lengths=lengths)
    return out, module.backward(params, cache, g_seq, **g_final)


@pytest.mark.parametrize("cell", list(cells.known()))
@pytest.mark.parametrize("poison", [np.nan, np.inf, -np.inf, 1e300])
def test_padding_reaches_no_output_and_no_gradient(cell, poison):
    module = kernel(cell)
    params, x, init, g_seq, g_final = random_problem(module, 5, 4, 3, 2, seed=1)
    padding = np.arange(5)[:, None] >= LENGTHS[None, :]
    x[padding] = 0
    clean_out, clean = run(module, params, x, init, g_seq, g_final, LENGTHS)
    poisoned = x.copy()
    poisoned[padding] = poison
    g_poisoned = g_seq.copy()
    g_poisoned[padding] = poison
    out, grads = run(module, params, poisoned, init, g_poisoned, g_final, LENGTHS)
    assert np.array_equal(out, clean_out)
    for name, grad in grads.items():
        assert np.isfinite(grad).all() and np.array_equal(grad, clean[name]), name
    assert not grads["x"][padding].any()


@pytest.mark.parametrize("cell", list(cells.known()))
@pytest.mark.parametrize("lengths", [None, np.array([5, 3, 4, 1]), np.array([1, 3, 4, 5])])
def test_changing_the_output_or_the_inputs_after_forward_changes_no_gradient(cell, lengths):
    module = kernel(cell)
    params, x, init, g_seq, g_final = random_problem(module, 5, 4, 3, 2, seed=2)
    out, cache = module.forward(params, x, **init, lengths=lengths)
    expected = module.backward(params, cache, g_seq, **g_final)
    out += 0.5
    x += 1.0
    for state in init.values():
        state += 1.0
    again = module.backward(params, cache, g_seq, **g_final)
    assert all(np.array_equal(again[k], expected[k]) for k in expected)
