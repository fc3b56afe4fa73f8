"""The memory a kernel says it needs per step and row is what its cache and its backward pass allocate."""

import tracemalloc

import numpy as np
import pytest
from helpers import kernel, random_problem

from derive import cells
from derive.derivation.bptt import derive
from derive.emit.kernel import KernelBuilder


def per_step_arrays(cache: dict, T: int) -> int:
    """Bytes of the cache's own arrays that have one entry per step, or one more for the initial state
    (views and constants left out)."""
    return sum(v.nbytes for v in cache.values() if isinstance(v, np.ndarray) and v.base is None
               and v.ndim >= 3 and v.shape[0] in (T, T + 1))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "lstm_peephole", "mgu", "gru_cho"])
@pytest.mark.parametrize("T, B, D, H", [(7, 3, 5, 4), (20, 2, 9, 6)])
def test_cache_holds_what_the_footprint_says(cell, T, B, D, H):
    module = kernel(cell)
    params, x, init, _, _ = random_problem(module, T, B, D, H, seed=0)
    _, cache = module.forward(params, x, **init)
    footprint = KernelBuilder(derive(cells.get(cell)), "").footprint()
    assert per_step_arrays(cache, T) == ((footprint.cache_h * H + D) * T + footprint.carried * H) * B * 8


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_backward_stays_within_its_footprint(cell):
    """Peak of backward alone: its working arrays plus the gradients (x's and the weights'), and not more
    than a few (B, H) buffers, weight-sized temporaries and NumPy's buffers for strided ufunc operands
    (up to 8192 elements for each of three operands) beyond that; one more (T, B, H) array would not fit."""
    T, B, D, H = 400, 8, 6, 16
    module = kernel(cell)
    params, x, init, g_seq, _ = random_problem(module, T, B, D, H, seed=0)
    _, cache = module.forward(params, x, **init)
    footprint = KernelBuilder(derive(cells.get(cell)), "").footprint()
    tracemalloc.start()
    module.backward(params, cache, g_seq)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    weights = sum(v.nbytes for v in params.values())
    working = (footprint.backward_h * H + D) * T * B * 8
    slack = 3 * weights + 16 * B * H * 8 + 3 * 8192 * 8
    assert slack < T * B * H * 8
    assert working <= peak <= working + slack
