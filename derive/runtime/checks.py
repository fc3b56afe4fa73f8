"""Input checks of the generated kernels (``generated/*.py``) and one-step Jacobians (``generated/jacobians``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, repeat

import numpy as np

FLOATS = (np.float32, np.float64)


class KernelInputError(ValueError):
    """A generated kernel was called with arguments it cannot use; the message names the argument."""


@dataclass(frozen=True)
class Batch:
    """Which rows of the batch run at each step.

    With sequence lengths the kernels reorder the batch by decreasing length, so the rows still
    running at step t are the first ``active[t]``; a finished row is never touched again, which
    freezes its state at its last step. ``order[k]`` is the original row at sorted position k.
    """

    active: tuple[int, ...]
    order: np.ndarray | None = None
    lengths: np.ndarray | None = None  # in sorted order

    def sort(self, a: np.ndarray, axis: int) -> np.ndarray:
        return a if self.order is None else np.take(a, self.order, axis=axis)

    def unsort(self, a: np.ndarray, axis: int) -> np.ndarray:
        return a if self.order is None else np.take(a, np.argsort(self.order), axis=axis)

    def output(self, a: np.ndarray, axis: int) -> np.ndarray:
        """``a`` in the caller's batch order, always a new array: what a kernel returns never aliases its cache."""
        return a.copy() if self.order is None else self.unsort(a, axis)

    def steps(self, *arrays: np.ndarray, reverse: bool = False) -> Iterator[tuple]:
        """Per step, first to last (last to first with ``reverse``): the number of rows still running and
        each array's block of that step restricted to them. Every array has steps first and rows
        second to last, as (T, B, H) and (T, P, B, H) do; without lengths the blocks are whole steps."""
        if self.lengths is None:
            return zip(self.active, *arrays) if not reverse else zip(self.active[::-1], *(a[::-1] for a in arrays))
        spans = []  # (first step, last step + 1, rows running) of each run of steps with the same rows
        for t, live in enumerate(self.active):
            if spans and spans[-1][2] == live:
                spans[-1][1] = t + 1
            else:
                spans.append([t, t + 1, live])
        order = -1 if reverse else 1
        return chain.from_iterable(
            zip(repeat(live, stop - start), *(a[start:stop, ..., :live, :][::order] for a in arrays))
            for start, stop, live in spans[::order])

    def empty(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """An array for values of every step: zeros when some sequences end early (their rows after the
        end are never written and read as zeros), uninitialised otherwise."""
        return np.empty(shape, dtype) if self.lengths is None else np.zeros(shape, dtype)

    def clear(self, a: np.ndarray) -> None:
        """Zero, in a (T, B, …) array, the rows of every step after their sequence has ended."""
        if self.lengths is not None:
            a[np.arange(len(self.active))[:, None] >= self.lengths[None, :]] = 0

    def final(self, seq: np.ndarray, initial: np.ndarray) -> np.ndarray:
        """Each row's state after its last step (sorted order); the initial state for length 0."""
        if self.lengths is None:
            return seq[-1]
        last = np.maximum(self.lengths - 1, 0)
        return np.where((self.lengths > 0)[:, None], seq[last, np.arange(len(last))], initial)


def batch_of(where: str, lengths, T: int, B: int) -> Batch:
    """The active rows per step for optional per-sequence lengths (0 <= length <= T)."""
    if lengths is None:
        return Batch((B,) * T)
    lengths = np.asarray(lengths)
    if lengths.shape != (B,) or lengths.dtype.kind not in "iu":
        raise KernelInputError(f"{where}: lengths must be {B} integers (one per sequence), got "
                         f"shape {lengths.shape} dtype {lengths.dtype}")
    if B and (lengths.min() < 0 or lengths.max() > T):
        raise KernelInputError(f"{where}: lengths must lie in [0, T] = [0, {T}], got {lengths.min()}..{lengths.max()}")
    order = np.argsort(-lengths, kind="stable")
    ordered = lengths[order]
    active = tuple(int(n) for n in (ordered[None, :] > np.arange(T)[:, None]).sum(axis=1))
    keep = None if np.array_equal(order, np.arange(B)) else order
    return Batch(active, keep, ordered)


def check_forward(cell: str, shapes: Mapping[str, tuple[str, ...]], params: Mapping[str, np.ndarray],
                  x: np.ndarray, initial: Mapping[str, np.ndarray | None], lengths=None,
                  check_finite: bool = False) -> tuple[np.ndarray, list[np.ndarray], int, Batch]:
    """Validate ``forward``'s arguments; return x and initial states in batch order, H, the Batch."""
    where = f"{cell}.forward"
    x = _float_array(where, "x", x, None)
    if x.ndim != 3 or 0 in x.shape:
        raise KernelInputError(f"{where}: x must have shape (T, B, D) with T, B, D >= 1, got {x.shape}")
    T, B, D = x.shape
    H = check_params(where, shapes, params, x.dtype, D)
    states = [np.zeros((B, H), x.dtype) if value is None
              else _shaped(where, name, value, (B, H), x.dtype) for name, value in initial.items()]
    if check_finite:
        _finite(where, {"x": x, **dict(params), **dict(zip(initial, states))})
    batch = batch_of(where, lengths, T, B)
    x = np.array(batch.sort(x, 1), order="C")  # the cache's own copy, rows in batch order
    if batch.lengths is not None:  # padding never reaches an output or a gradient, whatever it holds
        x[np.arange(T)[:, None] >= batch.lengths[None, :]] = 0
    return x, [np.array(batch.sort(s, 0)) for s in states], H, batch


def check_params(where: str, shapes: Mapping[str, tuple[str, ...]], params: Mapping[str, np.ndarray],
                 dtype: np.dtype, D: int) -> int:
    """Check names, dtypes and shapes of the parameters; return the hidden size H."""
    H = _conforming(shapes, params, dtype, D)
    if H:
        return H
    if not isinstance(params, Mapping):
        raise KernelInputError(f"{where}: params must be a dict of arrays, got {type(params).__name__}")
    missing = [k for k in shapes if k not in params]
    unexpected = [k for k in params if k not in shapes]
    if missing or unexpected:
        raise KernelInputError(f"{where}: params missing {missing or 'nothing'}, unexpected {unexpected or 'nothing'}")
    H = _hidden_size(shapes, params)
    if H < 1:
        raise KernelInputError(f"{where}: no parameter has a hidden size H >= 1; shapes expected: "
                               + ", ".join(f"{k} {'(' + ', '.join(v) + ')'}" for k, v in shapes.items()))
    dims = {"H": H, "D": D}
    for name, symbolic in shapes.items():
        _shaped(where, f"params[{name!r}]", params[name], tuple(dims[s] for s in symbolic), dtype, symbolic)
    return H


def _conforming(shapes: Mapping[str, tuple[str, ...]], params, dtype: np.dtype, D: int) -> int:
    """H when the parameters are exactly what ``shapes`` asks for, arrays of ``dtype``: the usual case,
    checked in one pass; 0 for anything else, which :func:`check_params` then explains."""
    if not isinstance(params, Mapping) or len(params) != len(shapes):
        return 0
    plan = _PLANS.get(id(shapes))
    if plan is None or plan[0] is not shapes:
        first_h = next(((n, v.index("H")) for n, v in shapes.items() if "H" in v), None)
        if first_h is None:
            return 0
        plan = _PLANS[id(shapes)] = (shapes, first_h, {})
    _, (name, axis), expected = plan
    first = params.get(name)
    if type(first) is not np.ndarray or first.ndim <= axis:
        return 0
    H = first.shape[axis]
    wanted = expected.get((H, D))
    if wanted is None:
        wanted = expected[H, D] = tuple((n, tuple(H if s == "H" else D for s in v)) for n, v in shapes.items())
    for name, shape in wanted:
        value = params.get(name)
        if type(value) is not np.ndarray or value.dtype != dtype or value.shape != shape:
            return 0
    return H


# id(shapes) -> (shapes, where the first H is read, the expected shapes by (H, D)): kernels pass one
# PARAM_SHAPES constant each
_PLANS: dict[int, tuple[Mapping, tuple[str, int], dict]] = {}


def _hidden_size(shapes: Mapping[str, tuple[str, ...]], params: Mapping[str, np.ndarray]) -> int:
    """The H that most parameters agree on, so that a wrong one is the one reported."""
    votes = [np.shape(params[k])[i] for k, v in shapes.items() if np.ndim(params[k]) == len(v)
             for i, d in enumerate(v) if d == "H"]
    return max(set(votes), key=votes.count) if votes else 0


def check_backward(cell: str, cache: Mapping, grads_in: Mapping[str, np.ndarray | None],
                   finals: Mapping[str, np.ndarray | None], params: Mapping[str, np.ndarray] | None = None,
                   shapes: Mapping[str, tuple[str, ...]] | None = None,
                   keys: tuple[str, ...] = ()) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Validate ``backward``'s arguments: the cache of ``forward`` (with ``keys``), the parameters it ran
    with and the output gradients; return those in batch order, final states as new buffers."""
    where = f"{cell}.backward"
    if not isinstance(cache, Mapping) or "batch" not in cache:
        raise KernelInputError(f"{where}: cache must be the dict returned by {cell}.forward, "
                               f"got {type(cache).__name__}")
    if cache.get("cell", cell) != cell:
        raise KernelInputError(f"{where}: the cache comes from {cache['cell']}.forward, not {cell}.forward")
    missing = [k for k in keys if k not in cache]
    if missing:
        raise KernelInputError(f"{where}: cache must be the dict returned by {cell}.forward "
                               f"(missing {', '.join(missing)})")
    T, B, D = cache["x"].shape
    H, dtype, batch = cache["H"], cache["x"].dtype, cache["batch"]
    if params is not None and shapes is not None and check_params(where, shapes, params, dtype, D) != H:
        raise KernelInputError(f"{where}: params have hidden size {_hidden_size(shapes, params)}, "
                               f"the forward pass ran with H = {H}")
    seqs = [batch.sort(_shaped(where, name, value, (T, B, H), dtype), 1) for name, value in grads_in.items()]
    states = [np.zeros((B, H), dtype) if value is None
              else np.array(batch.sort(_shaped(where, name, value, (B, H), dtype), 0))
              for name, value in finals.items()]
    return seqs, states


def _float_array(where: str, name: str, value, dtype) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise KernelInputError(f"{where}: {name} must be a NumPy array, got {type(value).__name__}")
    if value.dtype.type not in FLOATS:
        raise KernelInputError(f"{where}: {name} has dtype {value.dtype}; use float32 or float64")
    if dtype is not None and value.dtype != dtype:
        raise KernelInputError(f"{where}: {name} has dtype {value.dtype} but x has {dtype}; convert explicitly")
    return value


def _shaped(where: str, name: str, value, shape: tuple[int, ...], dtype,
            symbolic: Sequence[str] | None = None) -> np.ndarray:
    value = _float_array(where, name, value, dtype)
    if value.shape != shape:
        expected = f"({', '.join(symbolic)}) = {shape}" if symbolic else str(shape)
        raise KernelInputError(f"{where}: {name} has shape {value.shape}, expected {expected}")
    return value


def _finite(where: str, arrays: Mapping[str, np.ndarray]) -> None:
    bad = [name for name, a in arrays.items() if not np.isfinite(a).all()]
    if bad:
        raise KernelInputError(f"{where}: NaN or Inf in {', '.join(bad)}")


def check_step(cell: str, shapes: Mapping[str, tuple[str, ...]], params: Mapping[str, np.ndarray],
               x: np.ndarray, states: Mapping[str, np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Validate one step's input x (B, D) and previous states (B, H); return them as arrays."""
    where = f"jacobians.{cell}"
    if not isinstance(x, np.ndarray) or x.dtype.type not in FLOATS or x.ndim != 2 or 0 in x.shape:
        raise KernelInputError(f"{where}: x must be a float32 or float64 array of shape (B, D) with B, D >= 1, got "
                         f"{_describe(x)}")
    B, D = x.shape
    H = check_params(where, shapes, params, x.dtype, D)
    checked = []
    for name, value in states.items():
        if not isinstance(value, np.ndarray) or value.dtype != x.dtype or value.shape != (B, H):
            raise KernelInputError(f"{where}: {name} must be a {x.dtype} array of shape (B, H) = {(B, H)}, got "
                             f"{_describe(value)}")
        checked.append(value)
    return x, checked


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    return type(value).__name__
