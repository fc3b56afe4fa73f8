"""Generated kernels against torch autograd: forward and every gradient, float64 and float32."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from derive.runtime import interop
from helpers import TORCH_CELLS, kernel, random_problem, rel_err, torch_run

TOLERANCE = {np.float64: 1e-9, np.float32: 1e-4}
shapes = st.tuples(st.integers(1, 7), st.integers(1, 5), st.integers(1, 6), st.integers(1, 7),
                   st.integers(0, 2**31))


def check_parity(cell: str, T: int, B: int, D: int, H: int, seed: int, dtype) -> None:
    module = kernel(cell)
    params, x, init, g_seq, g_final = random_problem(module, T, B, D, H, seed, dtype)
    out, cache = module.forward(params, x, **init)
    grads = module.backward(params, cache, g_seq, **g_final)
    want_out, want = torch_run(cell, params, x, init, g_seq, g_final)
    tol = TOLERANCE[dtype]
    assert rel_err(out, want_out) <= tol
    ours = interop.grads_to_torch(cell, grads)
    ours.update({k: grads[k] for k in ("x", *(f"{s}0" for s in module.STATES))})
    assert set(ours) == set(want)
    for name in want:
        assert ours[name].dtype == dtype, name
        assert rel_err(ours[name], want[name]) <= tol, (name, rel_err(ours[name], want[name]))


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
