"""The adding problem, copy memory, and the gradients of their output layers."""

import numpy as np
import pytest

from derive.lab import tasks
from helpers import numerical_gradient, rel_err


def test_adding_problem():
    task = tasks.adding(10)
    x, target = task.sample(500, np.random.default_rng(0))
    assert x.shape == (10, 500, 2) and target.shape == (500,)
    markers = x[:, :, 1]
    assert np.all(markers.sum(axis=0) == 2) and np.all(markers[:5].sum(axis=0) == 1)
    assert np.allclose((x[:, :, 0] * markers).sum(axis=0), target)
    assert np.mean((target - 1) ** 2) == pytest.approx(task.baseline, rel=0.1)


def test_copy_memory():
    task = tasks.copy_memory(5)
    x, target = task.sample(4, np.random.default_rng(0))
    assert task.length == 25 and x.shape == (25, 4, 10) and target.shape == (25, 4)
    seen = x.argmax(axis=2)
    assert np.array_equal(target[-10:], seen[:10]) and np.all(target[:-10] == 8)
    assert np.all(seen[14] == 9) and np.all(seen[10:14] == 8) and np.all(seen[15:] == 8)
    assert task.baseline == pytest.approx(10 * np.log(8) / 25)


def test_short_copy_memory_copies_the_symbols_it_is_told():
    task = tasks.copy_memory(4, length=3)
    x, target = task.sample(6, np.random.default_rng(1))
    seen = x.argmax(axis=2)
    assert task.length == 10 and np.array_equal(target[-3:], seen[:3]) and np.all(seen[6] == 9)
    assert task.baseline == pytest.approx(3 * np.log(8) / 10)
    with pytest.raises(ValueError, match="at least 1 symbol"):
        tasks.copy_memory(4, length=0)


@pytest.mark.parametrize("task", [tasks.adding(6), tasks.copy_memory(2)], ids=["regression", "softmax"])
def test_head_gradients(task):
    rng = np.random.default_rng(1)
    params = task.head.init(5, rng)
    x, target = task.sample(3, rng)
    h_seq = rng.standard_normal((task.length, 3, 5))
    grads, dh_seq = task.head.backward(params, task.head.forward(params, h_seq, target)[1])

    def loss():
        return task.head.forward(params, h_seq, target)[0]

    for name, value in params.items():
        assert rel_err(grads[name], numerical_gradient(loss, value)) < 1e-7, name
    assert rel_err(dh_seq, numerical_gradient(loss, h_seq)) < 1e-7


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="at least 2 steps"):
        tasks.adding(1)
    with pytest.raises(ValueError, match="delay must be at least 1"):
        tasks.copy_memory(0)
    head = tasks.LastRegression()
    params = head.init(4, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"target must have shape \(B,\) = \(3,\)"):
        head.forward(params, np.zeros((5, 3, 4)), np.zeros(4))
