"""Variable-length batches: the kernels against torch's packed sequences, and length-0 rows."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from derive import cells
from derive.runtime import interop
from helpers import TORCH_CELLS, kernel, numerical_gradient, random_problem, rel_err, torch_run


@st.composite
def batches(draw):
    T, B = draw(st.integers(1, 7)), draw(st.integers(1, 5))
    lengths = draw(st.lists(st.integers(1, T), min_size=B, max_size=B))
    return T, B, draw(st.integers(1, 4)), draw(st.integers(1, 5)), np.array(lengths), draw(st.integers(0, 2**31))


@pytest.mark.parametrize("cell", TORCH_CELLS)
@settings(max_examples=25, deadline=None)
@given(problem=batches())
def test_packed_sequences_match_torch(cell, problem):
    T, B, D, H, lengths, seed = problem
    module = kernel(cell)
    params, x, init, g_seq, g_final = random_problem(module, T, B, D, H, seed)
    out, cache = module.forward(params, x, **init, lengths=lengths)
    grads = module.backward(params, cache, g_seq, **g_final)
    want_out, want = torch_run(cell, params, x, init, g_seq, g_final, lengths)
    assert rel_err(out, want_out) <= 1e-9
    ours = interop.grads_to_torch(cell, grads)
    ours.update({k: grads[k] for k in ("x", *(f"{s}0" for s in module.STATES))})
    for name in want:
        assert rel_err(ours[name], want[name]) <= 1e-9, name


@pytest.mark.parametrize("cell", list(cells.BUILTIN))
def test_outputs_after_the_end_are_zero_and_states_frozen(cell):
    module = kernel(cell)
    params, x, init, *_ = random_problem(module, 6, 3, 2, 4, seed=5)
    lengths = np.array([2, 6, 0])
    out, cache = module.forward(params, x, **init, lengths=lengths)
    assert not out[2:, 0].any() and not out[:, 2].any()
    short, short_cache = module.forward(params, x[:2, :1], **{k: v[:1] for k, v in init.items()})
    np.testing.assert_allclose(out[:2, 0], short[:, 0], rtol=1e-13)
    for s in module.STATES:
        np.testing.assert_allclose(cache[f"{s}_T"][0], short_cache[f"{s}_T"][0], rtol=1e-13)
        np.testing.assert_array_equal(cache[f"{s}_T"][2], init[f"{s}0"][2])


@pytest.mark.parametrize("cell", list(cells.BUILTIN))
def test_gradients_with_lengths_including_zero(cell):
    module = kernel(cell)
    params, x, init, g_seq, g_final = random_problem(module, 4, 3, 2, 3, seed=11)
    lengths = np.array([1, 0, 4])
    out, cache = module.forward(params, x, **init, lengths=lengths)
    grads = module.backward(params, cache, g_seq, **g_final)

    def f():
        h, c = module.forward(params, x, **init, lengths=lengths)
        return float((h * g_seq).sum()) + sum(float((c[f"{s}_T"] * g_final[f"d{s}_T"]).sum())
                                             for s in module.STATES)
    for name, array in [*params.items(), ("x", x), *init.items()]:
        assert rel_err(grads[name], numerical_gradient(f, array)) <= 1e-6, name
    np.testing.assert_array_equal(grads["x"][:, 1], 0)


@pytest.mark.parametrize("lengths, message", [
    (np.array([1, 2]), r"lengths must be 3 integers"),
    (np.array([1.0, 2.0, 3.0]), r"lengths must be 3 integers"),
    (np.array([1, 5, 2]), r"lengths must lie in \[0, T\] = \[0, 4\]"),
    (np.array([-1, 2, 2]), r"lengths must lie in"),
])
def test_bad_lengths(lengths, message):
    module = kernel("gru")
    params, x, *_ = random_problem(module, 4, 3, 2, 3, seed=0)
    with pytest.raises(ValueError, match=message):
        module.forward(params, x, lengths=lengths)
