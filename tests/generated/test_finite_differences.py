"""Every generated kernel, and the softmax/cross-entropy head, against central differences."""

import numpy as np
import pytest

from derive import cells
from helpers import check_against_differences, kernel, numerical_gradient, random_problem, rel_err

TOLERANCE = 1e-6


@pytest.mark.parametrize("cell", list(cells.BUILTIN))
@pytest.mark.parametrize("shape", [(1, 1, 2, 3), (4, 2, 3, 5), (3, 3, 4, 2)])
def test_kernel_gradients(cell, shape):
    check_against_differences(cell, shape, TOLERANCE)


def head_problem(T=4, B=3, H=5, K=6, seed=0):
    rng = np.random.default_rng(seed)
    rnn = kernel("rnn")
    params = {k: v for k, v in random_problem(rnn, T, B, 3, H, seed)[0].items()}
    head_params = {"V": rng.standard_normal((K, H)), "c": rng.standard_normal(K)}
    x = rng.standard_normal((T, B, 3))
    h0 = rng.standard_normal((B, H))
    targets = rng.integers(0, K, size=(T, B))
    return rnn, params, head_params, x, h0, targets


def test_rnn_with_softmax_head():
    """The complete simple-RNN derivation: gradients w.r.t. V, c, W, U, b and h0."""
    head = kernel("softmax_ce")
    rnn, params, head_params, x, h0, targets = head_problem()

    def total():
        h_seq, _ = rnn.forward(params, x, h0)
        return head.forward(head_params, h_seq, targets)[0]

    h_seq, cache = rnn.forward(params, x, h0)
    value, head_cache = head.forward(head_params, h_seq, targets)
    head_grads, dh_seq = head.backward(head_params, head_cache)
    grads = rnn.backward(params, cache, dh_seq)
    assert value == pytest.approx(total())
    for name, array in head_params.items():
        assert rel_err(head_grads[name], numerical_gradient(total, array)) <= TOLERANCE, name
    for name, array in [*params.items(), ("h0", h0), ("x", x)]:
        assert rel_err(grads[name], numerical_gradient(total, array)) <= TOLERANCE, name


def test_softmax_head_matches_torch_cross_entropy():
    import torch

    head = kernel("softmax_ce")
    _, _, head_params, _, _, targets = head_problem()
    h_seq = np.random.default_rng(3).standard_normal((4, 3, 5))
    value, cache = head.forward(head_params, h_seq, targets)
    ht = torch.from_numpy(h_seq).requires_grad_()
    V = torch.from_numpy(head_params["V"]).requires_grad_()
    logits = ht.reshape(-1, 5) @ V.T + torch.from_numpy(head_params["c"])
    want = torch.nn.functional.cross_entropy(logits, torch.from_numpy(targets.reshape(-1)), reduction="sum")
    want.backward()
    grads, dh = head.backward(head_params, cache)
    assert value == pytest.approx(want.item(), rel=1e-12)
    assert rel_err(dh, ht.grad.numpy()) <= 1e-12
    assert rel_err(grads["V"], V.grad.numpy()) <= 1e-12
