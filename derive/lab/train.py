"""A small trainer over the generated kernels: loss and gradients (full or truncated BPTT), clipping, SGD and Adam.

Parameters are one flat dict: the cell's names (``W_f``, ``U_f``, …) and the output layer's,
which start with ``head.``. Truncated BPTT with k steps cuts the sequence into chunks of k steps;
each chunk starts from the state the previous one ended in, taken as a constant, so the gradient
is exactly that of the graph without the edges between chunks.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from derive.cells.catalogue import get

from . import initialise
from .records import settled_below
from .tasks import HEAD, Head, Task

Arrays = Mapping[str, np.ndarray]


def kernel(cell: str):
    """The generated module of a built-in cell or a variant."""
    return importlib.import_module(f"generated.{get(cell).name}")


def chunks(T: int, truncate: int | None) -> list[tuple[int, int]]:
    """The spans [lo, hi) of truncated BPTT with ``truncate`` steps (None: one span, full BPTT)."""
    if truncate is not None and truncate < 1:
        raise ValueError(f"truncate must be a positive number of steps or None, got {truncate}")
    k = T if truncate is None else truncate
    return [(lo, min(lo + k, T)) for lo in range(0, T, k)]


def loss_and_grads(cell: str, task: Task, params: Arrays, x: np.ndarray, target: np.ndarray,
                   truncate: int | None = None) -> tuple[float, dict[str, np.ndarray]]:
    """The task loss and its gradient with respect to every parameter, through ``truncate``-step chunks."""
    loss, grads, _, _ = through(cell, task.head, params, x, target, truncate)
    return loss, grads


def final_states(module, cache: dict) -> dict[str, np.ndarray]:
    """The states a kernel's forward pass ended in, as the initial states of the next call (``{"h0": …}``)."""
    return {f"{s}0": cache[f"{s}_T"] for s in module.STATES}


def through(cell: str, head: Head, params: Arrays, x: np.ndarray, target: np.ndarray,
            truncate: int | None = None, start: Arrays | None = None
            ) -> tuple[float, dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray]]:
    """Forward and backward through ``truncate``-step chunks from the states ``start`` (``{"h0": …}``, zero
    when None), taken as constants: the loss, the parameters' gradients, the inputs' gradient and the states
    at the end."""
    module = kernel(cell)
    own = {k: params[k] for k in module.PARAM_SHAPES}
    states: dict[str, np.ndarray | None] = {f"{s}0": None for s in module.STATES}
    states.update(start or {})
    outputs, caches = [], []
    for lo, hi in chunks(x.shape[0], truncate):
        h_seq, cache = module.forward(own, x[lo:hi], **states)
        states = final_states(module, cache)  # constants for the next chunk
        outputs.append(h_seq)
        caches.append(cache)
    read_out = {k: v for k, v in params.items() if k.startswith(HEAD)}
    loss, head_cache = head.forward(read_out, np.concatenate(outputs), target)
    grads, dh_seq = head.backward(read_out, head_cache)
    grads.update((k, np.zeros_like(v)) for k, v in own.items())
    dx = np.empty_like(x)
    for (lo, hi), cache in zip(chunks(x.shape[0], truncate), caches):
        chunk = module.backward(own, cache, dh_seq[lo:hi])
        for k in own:
            grads[k] += chunk[k]
        dx[lo:hi] = chunk["x"]
    return loss, grads, dx, states


# --- clipping ----------------------------------------------------------------------------------


def global_norm(grads: Arrays) -> float:
    """The Euclidean norm of all gradients taken together."""
    return float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))


def clip_global_norm(grads: Arrays, max_norm: float) -> tuple[dict[str, np.ndarray], float]:
    """Scale all gradients by one factor so that their global norm is at most max_norm; also return the norm before."""
    if not max_norm > 0:
        raise ValueError(f"clip_global_norm: max_norm must be positive, got {max_norm}")
    norm = global_norm(grads)
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return {k: g * scale for k, g in grads.items()}, norm


def clip_value(grads: Arrays, limit: float) -> dict[str, np.ndarray]:
    """Clip every entry to [−limit, limit] (the direction changes)."""
    if not limit > 0:
        raise ValueError(f"clip_value: limit must be positive, got {limit}")
    return {k: np.clip(g, -limit, limit) for k, g in grads.items()}


# --- optimisers --------------------------------------------------------------------------------


@dataclass
class SGD:
    """Plain gradient descent: θ ← θ − lr · g."""

    lr: float

    def step(self, params: dict[str, np.ndarray], grads: Arrays) -> None:
        for k, g in grads.items():
            params[k] -= self.lr * g


@dataclass
class Adam:
    """Adam (Kingma & Ba 2015) with bias correction, as torch.optim.Adam without weight decay."""

    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    t: int = 0
    m: dict[str, np.ndarray] = field(default_factory=dict)
    v: dict[str, np.ndarray] = field(default_factory=dict)

    def step(self, params: dict[str, np.ndarray], grads: Arrays) -> None:
        self.t += 1
        for k, g in grads.items():
            m = self.m[k] = self.beta1 * self.m.get(k, 0) + (1 - self.beta1) * g
            v = self.v[k] = self.beta2 * self.v.get(k, 0) + (1 - self.beta2) * g * g
            m_hat, v_hat = m / (1 - self.beta1**self.t), v / (1 - self.beta2**self.t)
            params[k] -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


# --- the loop ----------------------------------------------------------------------------------


CLIPS = ("none", "norm", "value")


@dataclass(frozen=True)
class Config:
    """One training run: cell, sizes, optimiser, clipping, truncation, how often to evaluate, the seed."""

    cell: str
    hidden: int = 32
    batch: int = 32
    steps: int = 1000
    optimizer: str = "adam"  # or "sgd"
    lr: float = 1e-3
    clip: str = "none"  # "norm" (global norm) or "value"
    clip_at: float = 1.0
    truncate: int | None = None
    evaluate_every: int = 50
    eval_batch: int = 256
    seed: int = 0  # the initial weights
    data_seed: int | None = None  # the training and held-out batches; None: from the weights' seed (see train)
    stop_below: float | None = None  # stop early once the mean of the last three evaluations is below this
    forget_bias: float | None = None  # LSTM-type cells: the bias of the forget gate f
    recurrent: str = "torch"  # initial recurrent weights: torch, orthogonal or gaussian
    gain: float = 1.0
    input_gain: float = 1.0  # the initial input weights (those multiplying x) scaled by this


GROUPS = ("recurrent", "input", "biases", "head")


@dataclass
class History:
    """Per step: loss, global gradient norm before clipping, the same norm for each group of parameters
    (:func:`group_norms`) and the largest singular value of the recurrent weights; per evaluation: step and
    loss on a fixed batch."""

    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    group_norm: dict[str, list[float]] = field(default_factory=lambda: {g: [] for g in GROUPS})
    recurrent_norm: list[float] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    eval_loss: list[float] = field(default_factory=list)


def group_of(cell_name: str, name: str) -> str:
    """The group of a parameter: recurrent weights (reading a previous state or a node), input weights
    (reading x), the cell's vectors (biases, peepholes), or the output layer's parameters."""
    cell = get(cell_name)
    if name in cell.weights:
        return "input" if cell.weights[name] == "x" else "recurrent"
    return "biases" if name in cell.param_shapes else "head"


def group_norms(cell_name: str, grads: dict[str, np.ndarray]) -> dict[str, float]:
    """The Euclidean norm of the gradients of each group of parameters together."""
    squares = dict.fromkeys(GROUPS, 0.0)
    for name, grad in grads.items():
        squares[group_of(cell_name, name)] += float(np.sum(np.square(grad)))
    return {group: float(np.sqrt(total)) for group, total in squares.items()}


def recurrent_norm(cell_name: str, params: dict[str, np.ndarray]) -> float:
    """The largest singular value of any recurrent weight matrix."""
    return max((float(np.linalg.norm(params[w], 2)) for w in params if group_of(cell_name, w) == "recurrent"),
               default=0.0)


def initial_params(config: Config, task: Task, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """PyTorch's default initialisation, then the config's recurrent scheme and forget-gate bias; the head last."""
    cell = get(config.cell)
    params = initialise.torch_default(cell, task.inputs, config.hidden, rng)
    params = initialise.with_recurrent(cell, params, config.recurrent, config.gain, rng)
    if config.input_gain != 1.0:
        params = {k: v * config.input_gain if cell.weights.get(k) == "x" else v for k, v in params.items()}
    if config.forget_bias is not None:
        params = initialise.with_gate_bias(cell, params, "f", config.forget_bias)
    return {**params, **task.head.init(config.hidden, rng)}


def optimizer(config: Config) -> SGD | Adam:
    if config.optimizer == "sgd":
        return SGD(config.lr)
    if config.optimizer == "adam":
        return Adam(config.lr)
    raise ValueError(f"unknown optimizer {config.optimizer!r} (known: sgd, adam)")


def train(config: Config, task: Task) -> History:
    """Train on fresh batches for config.steps steps (fewer with stop_below); evaluate on one fixed batch every
    config.evaluate_every steps.

    With a data_seed, the weights come from seed and the batches from data_seed alone, so that runs with the
    same data_seed see the same batches whatever their cell; without one, the batches continue the generator
    that drew the weights, and the held-out batch comes from [seed, 1]."""
    if config.clip not in CLIPS:
        raise ValueError(f"unknown clip {config.clip!r} (known: {', '.join(CLIPS)})")
    rng = np.random.default_rng(config.seed)
    params = initial_params(config, task, rng)
    if config.data_seed is not None:
        rng = np.random.default_rng([config.data_seed, 0])
    opt = optimizer(config)
    held_out = config.seed if config.data_seed is None else config.data_seed
    x_eval, y_eval = task.sample(config.eval_batch, np.random.default_rng([held_out, 1]))
    history = History()
    for step in range(config.steps + 1):
        if step % config.evaluate_every == 0:
            history.eval_step.append(step)
            history.eval_loss.append(evaluate(config.cell, task, params, x_eval, y_eval))
            if config.stop_below is not None and settled_below(history.eval_loss, config.stop_below):
                break
        if step == config.steps:
            break
        x, y = task.sample(config.batch, rng)
        loss, grads = loss_and_grads(config.cell, task, params, x, y, config.truncate)
        norm = global_norm(grads)
        for group, value in group_norms(config.cell, grads).items():
            history.group_norm[group].append(value)
        history.recurrent_norm.append(recurrent_norm(config.cell, params))
        if config.clip == "norm":
            grads, _ = clip_global_norm(grads, config.clip_at)
        elif config.clip == "value":
            grads = clip_value(grads, config.clip_at)
        history.loss.append(loss)
        history.grad_norm.append(norm)
        opt.step(params, grads)
    return history


def evaluate(cell: str, task: Task, params: Arrays, x: np.ndarray, target: np.ndarray) -> float:
    """The task loss of the current parameters on a batch (forward only)."""
    module = kernel(cell)
    h_seq, _ = module.forward({k: params[k] for k in module.PARAM_SHAPES}, x)
    return task.head.forward({k: v for k, v in params.items() if k.startswith(HEAD)}, h_seq, target)[0]
