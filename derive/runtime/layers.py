"""Stacked and bidirectional layers composed from the generated single-layer kernels.

Semantics follow ``torch.nn.RNN / LSTM / GRU`` (time-major, no dropout between layers, i.e. torch
in eval mode): layer l > 0 reads the outputs of layer l − 1, both directions concatenated; the
reverse direction reads every sequence backwards from its own last step, so padding stays at the
end. Parameters are one dict per layer and direction, keyed like torch's suffixes without the
underscore: ``{"l0": {...}, "l0_reverse": {...}, "l1": {...}, …}``. Initial and final states are
stacked as in torch: ``(num_layers · num_directions, B, H)``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from .checks import KernelInputError, check_params

LAYER_KEY = re.compile(r"^l(\d+)(_reverse)?$")


@dataclass(frozen=True)
class Shape:
    """How many layers and directions a parameter dict describes."""

    layers: int
    directions: int

    @property
    def keys(self) -> list[str]:
        return [f"l{k}" + ("_reverse" if d else "") for k in range(self.layers) for d in range(self.directions)]


def shape_of(params: Mapping[str, Any]) -> Shape:
    """Layers and directions from the keys ``l0``, ``l0_reverse``, …; ValueError if they have gaps."""
    found = [LAYER_KEY.match(k) for k in params]
    if not found or not all(found):
        raise KernelInputError(f"layers: params keys must be l0, l0_reverse, l1, …; got {sorted(params)}")
    layers = 1 + max(int(m.group(1)) for m in found)
    directions = 2 if any(m.group(2) for m in found) else 1
    shape = Shape(layers, directions)
    if sorted(params) != sorted(shape.keys):
        raise KernelInputError(f"layers: expected keys {shape.keys} for {layers} layers and {directions} "
                         f"directions, got {sorted(params)}")
    return shape


def reversal(lengths: np.ndarray | None, T: int, B: int) -> np.ndarray:
    """Time index that reads each sequence backwards within its length (an involution)."""
    t = np.arange(T)[:, None]
    ends = np.full(B, T) if lengths is None else np.asarray(lengths)
    return np.where(t < ends, ends - 1 - t, t)


def _flip(a: np.ndarray, index: np.ndarray) -> np.ndarray:
    return np.take_along_axis(a, index[:, :, None], axis=0)


def forward(cell: str, params: Mapping[str, Mapping[str, np.ndarray]], x: np.ndarray,
            h0: np.ndarray | None = None, c0: np.ndarray | None = None,
            lengths: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """Run the stack over x (T, B, D); return the last layer's outputs (T, B, directions·H) and the cache."""
    kernel = _kernel(cell)
    shape = shape_of(params)
    if np.ndim(x) != 3:
        raise KernelInputError(f"layers: x must have shape (T, B, D), got {np.shape(x)}")
    T, B = np.shape(x)[:2]
    H = _hidden(kernel, params)
    initial = {s: _split_states(f"{s}0", v, shape, B, H) for s, v in _states(kernel, "", h0, c0).items()}
    flip = reversal(lengths, T, B)
    runs, outputs, source = [], [], x
    for k in range(shape.layers):
        outputs = []
        for d in range(shape.directions):
            key = shape.keys[k * shape.directions + d]
            states = {f"{s}0": initial[s][k * shape.directions + d] for s in kernel.STATES}
            inp = _flip(source, flip) if d else source
            with _in_layer(key):
                out, cache = kernel.forward(params[key], inp, **states, lengths=lengths)
            runs.append(cache)
            outputs.append(_flip(out, flip) if d else out)
        source = np.concatenate(outputs, axis=2) if shape.directions == 2 else outputs[0]
    finals = {f"{s}_n": np.stack([c[f"{s}_T"] for c in runs]) for s in kernel.STATES}
    return source, {"cell": cell, "shape": shape, "runs": runs, "flip": flip, **finals}


def backward(params: Mapping[str, Mapping[str, np.ndarray]], cache: dict, d_out: np.ndarray,
             dh_n: np.ndarray | None = None, dc_n: np.ndarray | None = None) -> dict:
    """Gradients: one dict per layer key, plus ``x`` and the stacked initial states."""
    if not isinstance(cache, Mapping) or "runs" not in cache:
        raise KernelInputError(f"layers: cache must be the dict returned by layers.forward, got {type(cache).__name__}")
    kernel = _kernel(cache["cell"])
    shape, runs, flip = cache["shape"], cache["runs"], cache["flip"]
    T, B, _ = runs[0]["x"].shape
    H = runs[0]["H"]
    if np.shape(d_out) != (T, B, shape.directions * H):
        raise KernelInputError(f"layers: d_out must have shape (T, B, directions · H) = "
                               f"{(T, B, shape.directions * H)}, got {np.shape(d_out)}")
    finals = {s: _split_states(f"d{s}_n", v, shape, B, H) for s, v in _states(kernel, "d", dh_n, dc_n).items()}
    grads: dict[str, Any] = {}
    initial: dict[str, list] = {s: [None] * len(runs) for s in kernel.STATES}
    for k in reversed(range(shape.layers)):
        H = d_out.shape[2] // shape.directions
        d_source = 0
        for d in range(shape.directions):
            index = k * shape.directions + d
            key = shape.keys[index]
            d_seq = d_out[:, :, d * H:(d + 1) * H]
            with _in_layer(key):
                g = kernel.backward(params[key], runs[index],
                                    _flip(d_seq, flip) if d else np.ascontiguousarray(d_seq),
                                    **{f"d{s}_T": finals[s][index] for s in kernel.STATES})
            d_source = d_source + (_flip(g.pop("x"), flip) if d else g.pop("x"))
            for s in kernel.STATES:
                initial[s][index] = g.pop(f"{s}0")
            grads[key] = g
        d_out = d_source
    grads["x"] = d_out
    grads.update({f"{s}0": np.stack(initial[s]) for s in kernel.STATES})
    return grads


def _kernel(cell: str):
    """The generated single-layer kernel of a cell, loaded by name."""
    try:
        return importlib.import_module(f"generated.{cell}")
    except ModuleNotFoundError:
        raise KernelInputError(f"layers: no generated kernel for the cell {cell!r}") from None


def _hidden(kernel, params: Mapping[str, Mapping[str, np.ndarray]]) -> int:
    """The hidden size of the first layer's parameters."""
    first = params[shape_of(params).keys[0]]
    with _in_layer("l0"):
        check_params(f"{kernel.CELL}.forward", kernel.PARAM_SHAPES, first,
                     np.asarray(next(iter(first.values()))).dtype, _input_size(kernel, first))
    return next(np.shape(first[k])[0] for k, v in kernel.PARAM_SHAPES.items() if v[0] == "H")


def _input_size(kernel, first: Mapping[str, np.ndarray]) -> int:
    return next((np.shape(first[k])[1] for k, v in kernel.PARAM_SHAPES.items() if v == ("H", "D")), 0)


@contextmanager
def _in_layer(key: str) -> Iterator[None]:
    """Errors of a layer's kernel, with the layer named."""
    try:
        yield
    except KernelInputError as exc:
        raise KernelInputError(f"layers: layer {key}: {exc}") from None


def _states(kernel, prefix: str, h: np.ndarray | None, c: np.ndarray | None) -> dict:
    if c is not None and "c" not in kernel.STATES:
        raise KernelInputError(f"layers: {kernel.CELL} has no cell state; {prefix}c_… must be None")
    return dict(zip(kernel.STATES, (h, c)))


def _split_states(name: str, value: np.ndarray | None, shape: Shape, B: int, H: int) -> list:
    runs = shape.layers * shape.directions
    if value is None:
        return [None] * runs
    if not isinstance(value, np.ndarray) or value.shape != (runs, B, H):
        raise KernelInputError(f"layers: {name} must have shape (layers · directions, B, H) = {(runs, B, H)}, "
                               f"got {np.shape(value)}")
    return list(value)
