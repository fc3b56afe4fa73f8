"""Input checks of the one-step functions in ``generated/jacobians/`` (NumPy only, imported by them)."""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .runtime import FLOATS, check_params


def check_step(cell: str, shapes: Mapping[str, tuple[str, ...]], params: Mapping[str, np.ndarray],
               x: np.ndarray, states: Mapping[str, np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Validate one step's input x (B, D) and previous states (B, H); return them as arrays."""
    where = f"jacobians.{cell}"
    if not isinstance(x, np.ndarray) or x.dtype.type not in FLOATS or x.ndim != 2 or 0 in x.shape:
        raise ValueError(f"{where}: x must be a float32 or float64 array of shape (B, D) with B, D >= 1, got "
                         f"{_describe(x)}")
    B, D = x.shape
    H = check_params(where, shapes, params, x.dtype, D)
    checked = []
    for name, value in states.items():
        if not isinstance(value, np.ndarray) or value.dtype != x.dtype or value.shape != (B, H):
            raise ValueError(f"{where}: {name} must be a {x.dtype} array of shape (B, H) = {(B, H)}, got "
                             f"{_describe(value)}")
        checked.append(value)
    return x, checked


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    return type(value).__name__
