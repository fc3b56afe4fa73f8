"""Generated kernels against torch autograd: forward and every gradient, float64 and float32."""

import numpy as np
import pytest
from helpers import PARITY_SHAPES as shapes
from helpers import TORCH_CELLS, check_parity, kernel, random_problem
from hypothesis import given, settings


@pytest.mark.parametrize("cell", TORCH_CELLS)
@settings(max_examples=40, deadline=None)
@given(shape=shapes)
def test_float64_parity(cell, shape):
    check_parity(cell, *shape, np.float64)


@pytest.mark.parametrize("cell", TORCH_CELLS)
@settings(max_examples=15, deadline=None)
@given(shape=shapes)
def test_float32_parity(cell, shape):
    check_parity(cell, *shape, np.float32)


@pytest.mark.parametrize("cell", TORCH_CELLS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (4, 1, 1, 1), (1, 3, 4, 5), (9, 1, 3, 2), (4, 6, 10, 3)])
def test_edge_shapes(cell, shape, dtype):
    """T = 1, B = 1, H = 1, H ≠ D in both directions."""
    check_parity(cell, *shape, seed=7, dtype=dtype)


@pytest.mark.parametrize("cell", TORCH_CELLS)
def test_zero_initial_states_default(cell):
    module = kernel(cell)
    params, x, init, g_seq, _ = random_problem(module, 3, 2, 4, 5, 1)
    out_default, _ = module.forward(params, x)
    zeros = {k: np.zeros_like(v) for k, v in init.items()}
    out_zeros, _ = module.forward(params, x, **zeros)
    np.testing.assert_array_equal(out_default, out_zeros)
