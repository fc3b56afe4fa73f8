"""How far gradients reach back: norms of ∂h_T/∂s_t as products of the generated step Jacobians, and of ∂L/∂h_t
from the generated backward kernels, as functions of the lag T − t.

Step j (counting from 0) reads x_j and the states s_j and writes s_{j+1}; its Jacobian is
``J_j = ∂s_{j+1}/∂s_j`` (all states of the cell stacked, from ``generated/jacobians``). Then
``∂h_T/∂s_j = ∂h_T/∂s_{j+1} · J_j``: one product per step, backwards from ``∂h_T/∂s_T``, which
selects h among the states. Norms are spectral norms, summarised over the batch by their median.
"""

from __future__ import annotations

import importlib

import numpy as np

from derive.cells.catalogue import get

from .train import kernel


def jacobian_module(cell: str):
    """The generated Jacobian module of a built-in cell or variant."""
    return importlib.import_module(f"generated.jacobians.{get(cell).name}")


def output_state(cell: str) -> str:
    """The output of the cell, which must be one of its states (h for every built-in cell)."""
    found = get(cell)
    if found.output not in found.states:
        raise ValueError(f"{cell}: the output {found.output!r} is not a state; gradient flow is measured from a state")
    return found.output


def states_before_each_step(cell: str, params: dict, x: np.ndarray) -> list[dict[str, np.ndarray]]:
    """For every step j, the states s_j it reads (zeros at j = 0), keyed ``h_prev``, ``c_prev``, …"""
    module = kernel(cell)
    T, B, _ = x.shape
    H = params[next(iter(module.PARAM_SHAPES))].shape[0]
    states = {s: np.zeros((B, H), x.dtype) for s in module.STATES}
    found = []
    for j in range(T):
        found.append({f"{s}_prev": v for s, v in states.items()})
        cache = module.forward(params, x[j:j + 1], **{f"{s}0": v for s, v in states.items()})[1]
        states = {s: cache[f"{s}_T"] for s in module.STATES}
    return found


def output_jacobians(cell: str, params: dict, x: np.ndarray) -> np.ndarray:
    """∂h_T/∂s_j for j = T − 1, …, 0 (lags 1 … T): shape (T, B, H, S·H), the states of s_j in STATES order."""
    module, jac = kernel(cell), jacobian_module(cell)
    states = states_before_each_step(cell, params, x)
    B, H = states[0][f"{module.STATES[0]}_prev"].shape
    k = module.STATES.index(output_state(cell))
    product = np.zeros((B, H, len(module.STATES) * H), x.dtype)
    product[:, :, k * H:(k + 1) * H] = np.eye(H)
    found = []
    for j in reversed(range(x.shape[0])):
        product = product @ jac.jacobian(params, x[j], **states[j])
        found.append(product)
    return np.stack(found)


def state_gradient_norms(cell: str, params: dict, x: np.ndarray, source: str | None = None) -> np.ndarray:
    """Median over the batch of ‖∂h_T/∂source_{T−k}‖ for the lags k = 1 … T (source: default the output h)."""
    module = kernel(cell)
    source = source or output_state(cell)
    if source not in module.STATES:
        raise ValueError(f"state_gradient_norms: {cell} has no state {source!r} (states: {', '.join(module.STATES)})")
    products = output_jacobians(cell, params, x)
    H = products.shape[2]
    k = module.STATES.index(source)
    block = products[..., k * H:(k + 1) * H]
    return np.median(np.linalg.norm(block, ord=2, axis=(2, 3)), axis=1)


def loss_gradients(cell: str, params: dict, x: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """∂L/∂h_{T−k} for L = Σ direction ⊙ h_T and the lags k = 1 … T, from the backward kernels: shape (T, B, H).

    For each j the kernels run forward from the states s_j and backward from h_T; the gradient
    with respect to the initial h is ∂L/∂h_j with the other states of step j held fixed.
    """
    module, output = kernel(cell), output_state(cell)
    states = states_before_each_step(cell, params, x)
    found = []
    for j in reversed(range(x.shape[0])):
        out, cache = module.forward(params, x[j:], **{f"{s}0": states[j][f"{s}_prev"] for s in module.STATES})
        d_out = np.zeros_like(out)
        d_out[-1] = direction
        found.append(module.backward(params, cache, d_out)[f"{output}0"])
    return np.stack(found)


def loss_gradient_norms(cell: str, params: dict, x: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Median over the batch of ‖∂L/∂h_{T−k}‖ for the lags k = 1 … T (see :func:`loss_gradients`)."""
    return np.median(np.linalg.norm(loss_gradients(cell, params, x, direction), axis=2), axis=1)


def spectral_radius(matrix: np.ndarray) -> float:
    """The largest absolute eigenvalue."""
    return float(np.abs(np.linalg.eigvals(matrix)).max())
