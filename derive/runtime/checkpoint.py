"""Backpropagation through time in segments: memory for k steps instead of T, for one more forward pass.

A kernel's cache holds every gate and state of every step, so its memory grows with T. With
checkpoints every k steps, :func:`forward` runs the kernel segment by segment and keeps only the states
each segment starts from (plus x and the outputs); :func:`backward` runs the segments in reverse, each
time recomputing the segment's forward pass from its checkpoint and running the kernel's backward pass
on it, the gradients of its initial states handed to the segment before as its final-state gradients.
The result equals the kernel's own backward pass up to rounding (the sums over time are split).

    from derive.runtime import checkpoint
    from generated import lstm
    h_seq, cache = checkpoint.forward(lstm, params, x, every=50)
    grads = checkpoint.backward(lstm, params, cache, dh_seq)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType

import numpy as np

from .checks import KernelInputError, batch_of


def forward(kernel: ModuleType, params: Mapping[str, np.ndarray], x: np.ndarray, every: int,
            lengths: np.ndarray | None = None, **initial: np.ndarray | None) -> tuple[np.ndarray, dict]:
    """Run ``kernel`` over x (T, B, D) in segments of ``every`` steps; return the outputs (T, B, H) and a
    cache with the checkpoints. ``initial`` takes the kernel's initial states (``h0=…``, ``c0=…``)."""
    where = f"checkpoint.forward({kernel.CELL})"
    if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
        raise KernelInputError(f"{where}: every must be a whole number of steps >= 1, got {every!r}")
    unknown = sorted(set(initial) - {f"{s}0" for s in kernel.STATES})
    if unknown:
        raise KernelInputError(f"{where}: unknown initial states {unknown}; {kernel.CELL} has "
                               f"{', '.join(s + '0' for s in kernel.STATES)}")
    if not isinstance(x, np.ndarray) or x.ndim != 3:
        raise KernelInputError(f"{where}: x must be an array of shape (T, B, D), got {np.shape(x)}")
    x = x.copy()  # recomputed from in backward: our own copy
    T = x.shape[0]
    batch_of(where, lengths, T, x.shape[1])  # valid lengths, or a clear error
    starts = list(range(0, T, int(every)))
    states = {f"{s}0": initial.get(f"{s}0") for s in kernel.STATES}
    checkpoints, outputs, cache = [], None, {}
    for s in starts:
        checkpoints.append(states)
        out, cache = kernel.forward(params, x[s:s + every], **states, lengths=_segment(lengths, s, every))
        if outputs is None:
            outputs = np.empty((T, *out.shape[1:]), out.dtype)
        outputs[s:s + every] = out
        states = {f"{name}0": cache[f"{name}_T"] for name in kernel.STATES}
    finals = {f"{name}_T": cache[f"{name}_T"] for name in kernel.STATES}
    return outputs, {"cell": kernel.CELL, "x": x, "lengths": lengths, "every": int(every),
                                     "starts": starts, "checkpoints": checkpoints, **finals}


def backward(kernel: ModuleType, params: Mapping[str, np.ndarray], cache: Mapping, dh_seq: np.ndarray,
             **finals: np.ndarray | None) -> dict[str, np.ndarray]:
    """The gradients of :func:`forward`'s outputs, as the kernel's backward pass returns them;
    ``finals`` takes the final states' gradients (``dh_T=…``, ``dc_T=…``)."""
    where = f"checkpoint.backward({kernel.CELL})"
    if not isinstance(cache, Mapping) or "checkpoints" not in cache:
        raise KernelInputError(f"{where}: cache must be the dict returned by checkpoint.forward")
    if cache["cell"] != kernel.CELL:
        raise KernelInputError(f"{where}: the cache comes from {cache['cell']}, not {kernel.CELL}")
    x, every, lengths = cache["x"], cache["every"], cache["lengths"]
    H = cache[f"{kernel.STATES[0]}_T"].shape[1]
    if np.shape(dh_seq) != (*x.shape[:2], H):
        raise KernelInputError(f"{where}: dh_seq must have shape (T, B, H) = {(*x.shape[:2], H)}, "
                               f"got {np.shape(dh_seq)}")
    carries = {f"d{s}_T": finals.get(f"d{s}_T") for s in kernel.STATES}
    d_x = np.empty_like(x)
    total: dict[str, np.ndarray] = {}
    for s, states in zip(reversed(cache["starts"]), reversed(cache["checkpoints"])):
        segment = _segment(lengths, s, every)
        _, recomputed = kernel.forward(params, x[s:s + every], **states, lengths=segment)
        grads = kernel.backward(params, recomputed, dh_seq[s:s + every], **carries)
        carries = {f"d{name}_T": grads.pop(f"{name}0") for name in kernel.STATES}
        d_x[s:s + every] = grads.pop("x")
        for name, g in grads.items():
            if name in total:
                total[name] += g
            else:
                total[name] = g.copy()
    return {**total, "x": d_x, **{f"{name}0": carries[f"d{name}_T"] for name in kernel.STATES}}


def _segment(lengths: np.ndarray | None, start: int, every: int) -> np.ndarray | None:
    """Each sequence's number of steps inside the segment that begins at ``start``."""
    if lengths is None:
        return None
    return np.clip(np.asarray(lengths) - start, 0, every)
