"""Checkpointed BPTT gives the kernel's own outputs and gradients, with any segment length and lengths."""

import numpy as np
import pytest

from derive.runtime import checkpoint
from derive.runtime.checks import KernelInputError
from helpers import kernel, random_problem, rel_err

CELLS = ["rnn", "lstm", "gru", "lstm_peephole", "mgu"]


def plain(module, params, x, init, g_seq, g_final, lengths=None):
    out, cache = module.forward(params, x, **init, lengths=lengths)
    return out, {**module.backward(params, cache, g_seq, **g_final),
                 **{f"{s}_T": cache[f"{s}_T"] for s in module.STATES}}


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("every", [1, 3, 7, 11, 40])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_checkpointed_gradients_equal_the_kernels(cell, every, with_lengths):
    module = kernel(cell)
    params, x, init, g_seq, g_final = random_problem(module, 11, 4, 3, 5, seed=every)
    lengths = np.array([11, 0, 4, 7]) if with_lengths else None
    want_out, want = plain(module, params, x, init, g_seq, g_final, lengths)
    out, cache = checkpoint.forward(module, params, x, every, lengths=lengths, **init)
    grads = checkpoint.backward(module, params, cache, g_seq, **g_final)
    assert rel_err(out, want_out) <= 1e-13
    assert set(grads) == set(want) - {f"{s}_T" for s in module.STATES}
    for name, g in grads.items():
        assert rel_err(g, want[name]) <= 1e-12, name
    for s in module.STATES:
        assert rel_err(cache[f"{s}_T"], want[f"{s}_T"]) <= 1e-13


def test_cache_keeps_states_only_at_checkpoints():
    module = kernel("lstm")
    params, x, init, *_ = random_problem(module, 10, 2, 3, 4, seed=0)
    _, cache = checkpoint.forward(module, params, x, 4, **init)
    assert cache["starts"] == [0, 4, 8]
    assert [sorted(c) for c in cache["checkpoints"]] == [["c0", "h0"]] * 3
    x[:] = 0  # the cache's x is its own
    assert np.abs(cache["x"]).max() > 0


@pytest.mark.parametrize("every, message", [(0, "every must be a whole number"), (2.5, "every must be a whole"),
                                            (True, "every must be a whole"), ("3", "every must be a whole")])
def test_bad_segment_length(every, message):
    module = kernel("gru")
    params, x, *_ = random_problem(module, 5, 2, 3, 4, seed=0)
    with pytest.raises(KernelInputError, match=message):
        checkpoint.forward(module, params, x, every)


def test_bad_arguments_are_named():
    module = kernel("lstm")
    params, x, init, g_seq, _ = random_problem(module, 5, 2, 3, 4, seed=0)
    with pytest.raises(KernelInputError, match=r"unknown initial states \['z0'\]"):
        checkpoint.forward(module, params, x, 2, z0=init["h0"])
    with pytest.raises(KernelInputError, match="lengths must lie in"):
        checkpoint.forward(module, params, x, 2, lengths=np.array([6, 1]))
    _, cache = checkpoint.forward(module, params, x, 2)
    with pytest.raises(KernelInputError, match=r"dh_seq must have shape \(T, B, H\) = \(5, 2, 4\)"):
        checkpoint.backward(module, params, cache, g_seq[:3])
    with pytest.raises(KernelInputError, match="the cache comes from lstm, not gru"):
        checkpoint.backward(kernel("gru"), params, cache, g_seq)
    with pytest.raises(KernelInputError, match="cache must be the dict returned by checkpoint.forward"):
        checkpoint.backward(module, params, {"x": x}, g_seq)
