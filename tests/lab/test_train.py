"""The trainer: truncated BPTT is the exact gradient of the truncated graph, clipping, optimisers, the loop."""

import numpy as np
import pytest
import torch

from derive.lab import tasks
from derive.lab import train
from helpers import numerical_gradient, rel_err

T, B, H = 7, 3, 4


def problem(cell: str, task: tasks.Task, seed: int = 0):
    rng = np.random.default_rng(seed)
    params = train.initial_params(train.Config(cell, hidden=H), task, rng)
    params = {k: v * 3 for k, v in params.items()}  # larger weights: the chunks' states matter
    x, target = task.sample(B, rng)
    return params, x, target


def chunk_starts(cell: str, params, x, truncate: int) -> list[dict]:
    """The state every chunk starts from, computed once: constants of the truncated graph."""
    module = train.kernel(cell)
    own = {k: params[k] for k in module.PARAM_SHAPES}
    starts = [{f"{s}0": None for s in module.STATES}]
    for lo, hi in train.chunks(T, truncate)[:-1]:
        cache = module.forward(own, x[lo:hi], **starts[-1])[1]
        starts.append({f"{s}0": cache[f"{s}_T"].copy() for s in module.STATES})
    return starts


def truncated_loss(cell: str, task: tasks.Task, params, x, target, truncate: int, starts: list[dict]) -> float:
    """The loss with every chunk run from its fixed start, whatever the parameters now are."""
    module = train.kernel(cell)
    own = {k: params[k] for k in module.PARAM_SHAPES}
    outputs = [module.forward(own, x[lo:hi], **init)[0] for (lo, hi), init in zip(train.chunks(T, truncate), starts)]
    head = {k: v for k, v in params.items() if k.startswith(tasks.HEAD)}
    return task.head.forward(head, np.concatenate(outputs), target)[0]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "gru_cho"])
@pytest.mark.parametrize("truncate", [2, 3])
def test_truncated_bptt_is_the_gradient_of_the_truncated_graph(cell, truncate):
    task = tasks.adding(T)
    params, x, target = problem(cell, task)
    starts = chunk_starts(cell, params, x, truncate)
    loss, grads = train.loss_and_grads(cell, task, params, x, target, truncate)
    assert loss == pytest.approx(truncated_loss(cell, task, params, x, target, truncate, starts), rel=1e-12)
    for name, value in params.items():
        want = numerical_gradient(lambda: truncated_loss(cell, task, params, x, target, truncate, starts), value)
        assert rel_err(grads[name], want) <= 1e-6, name


def test_truncation_changes_the_gradient_and_full_length_does_not():
    task = tasks.copy_memory(3)
    params, x, target = problem("lstm", task)
    full = train.loss_and_grads("lstm", task, params, x, target)[1]
    long = train.loss_and_grads("lstm", task, params, x, target, truncate=x.shape[0])[1]
    short = train.loss_and_grads("lstm", task, params, x, target, truncate=4)[1]
    assert all(np.array_equal(full[k], long[k]) for k in full)
    assert rel_err(short["U_f"], full["U_f"]) > 1e-3
    assert np.array_equal(short["head.V"], full["head.V"])  # the output layer has no recurrence


def test_chunks():
    assert train.chunks(7, 3) == [(0, 3), (3, 6), (6, 7)]
    assert train.chunks(7, None) == [(0, 7)]
    with pytest.raises(ValueError, match="truncate must be a positive"):
        train.chunks(7, 0)


def test_global_norm_clipping_scales_to_the_threshold():
    rng = np.random.default_rng(0)
    grads = {"a": rng.standard_normal((3, 4)) * 10, "b": rng.standard_normal(5)}
    clipped, before = train.clip_global_norm(grads, 2.5)
    assert before == pytest.approx(np.sqrt(sum((g**2).sum() for g in grads.values())))
    assert train.global_norm(clipped) == pytest.approx(2.5, rel=1e-12)
    assert rel_err(clipped["a"] / grads["a"], np.full((3, 4), 2.5 / before)) < 1e-12  # same direction
    unchanged, _ = train.clip_global_norm(grads, 10 * before)
    assert all(np.array_equal(unchanged[k], grads[k]) for k in grads)


def test_value_clipping_bounds_every_entry():
    grads = {"a": np.array([-3.0, 0.5, 2.0])}
    assert train.clip_value(grads, 1.0)["a"].tolist() == [-1.0, 0.5, 1.0]
    with pytest.raises(ValueError, match="limit must be positive"):
        train.clip_value(grads, 0)
    with pytest.raises(ValueError, match="max_norm must be positive"):
        train.clip_global_norm(grads, -1)


def test_adam_matches_torch():
    rng = np.random.default_rng(1)
    params = {"w": rng.standard_normal((3, 2))}
    mine, opt = {"w": params["w"].copy()}, train.Adam(lr=0.05)
    theirs = torch.nn.Parameter(torch.from_numpy(params["w"].copy()))
    torch_opt = torch.optim.Adam([theirs], lr=0.05)
    for _ in range(5):
        g = rng.standard_normal((3, 2))
        opt.step(mine, {"w": g})
        theirs.grad = torch.from_numpy(g)
        torch_opt.step()
    assert rel_err(mine["w"], theirs.detach().numpy()) < 1e-12


def test_training_is_deterministic_and_learns_a_short_adding_problem():
    config = train.Config("gru", hidden=8, batch=16, steps=60, lr=0.02, evaluate_every=30, eval_batch=64)
    first, second = train.train(config, tasks.adding(6)), train.train(config, tasks.adding(6))
    assert first.eval_loss == second.eval_loss and first.loss == second.loss
    assert len(first.loss) == len(first.grad_norm) == 60 and first.eval_step == [0, 30, 60]
    assert first.eval_loss[-1] < 0.5 * first.eval_loss[0]


def test_clipped_training_records_the_norm_before_clipping():
    config = train.Config("rnn", hidden=8, steps=5, lr=0.1, optimizer="sgd", clip="norm", clip_at=1e-3,
                          evaluate_every=5, eval_batch=8)
    history = train.train(config, tasks.adding(5))
    assert min(history.grad_norm) > 1e-3


@pytest.mark.parametrize("change, message", [
    ({"clip": "both"}, "unknown clip 'both'"),
    ({"optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'"),
    ({"cell": "nope"}, "unknown cell 'nope'"),
    ({"recurrent": "eye"}, "unknown scheme 'eye'"),
    ({"cell": "gru", "forget_bias": 1.0}, "no biased gate 'f'"),
])
def test_bad_configs_are_named(change, message):
    config = train.Config(**{"cell": "rnn", "steps": 1, **change})
    with pytest.raises(ValueError, match=message):
        train.train(config, tasks.adding(4))


def test_training_stops_once_the_last_evaluations_settle_below_the_level():
    config = train.Config("gru", hidden=8, batch=16, steps=600, evaluate_every=10, eval_batch=16, stop_below=10.0)
    history = train.train(config, tasks.adding(6))
    assert history.eval_step == [0, 10, 20] and len(history.loss) == 20
    assert train.settled_below([5.0, 0.1, 0.2, 0.3], 0.25) and not train.settled_below([0.1, 0.2], 1.0)


def batches_seen(config: train.Config, task: tasks.Task) -> list[np.ndarray]:
    """The inputs of every batch the run draws, held-out batch first."""
    seen = []

    def recording(B, rng):
        x, y = task.sample(B, rng)
        seen.append(x)
        return x, y
    train.train(config, tasks.Task(task.name, task.length, task.inputs, task.head, task.baseline, recording))
    return seen


def test_a_data_seed_gives_every_cell_the_same_batches_and_the_weights_their_own_seed():
    task = tasks.adding(6)
    config = train.Config("rnn", hidden=4, batch=5, steps=3, evaluate_every=3, eval_batch=7, seed=1, data_seed=9)
    rnn, lstm = batches_seen(config, task), batches_seen(train.Config(**{**config.__dict__, "cell": "lstm"}), task)
    assert len(rnn) == len(lstm) == 4 and all(np.array_equal(a, b) for a, b in zip(rnn, lstm))
    other_weights = batches_seen(train.Config(**{**config.__dict__, "seed": 2}), task)
    assert all(np.array_equal(a, b) for a, b in zip(rnn, other_weights))
    other_data = batches_seen(train.Config(**{**config.__dict__, "data_seed": 10}), task)
    assert not np.array_equal(rnn[1], other_data[1])
    shared = batches_seen(train.Config(**{**config.__dict__, "data_seed": None}), task)  # batches follow the weights
    unshared = batches_seen(train.Config(**{**config.__dict__, "data_seed": None, "cell": "lstm"}), task)
    assert np.array_equal(shared[0], unshared[0]) and not np.array_equal(shared[1], unshared[1])
