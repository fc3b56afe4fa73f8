"""Convert parameters and gradients between PyTorch's recurrent modules and the generated kernels.

PyTorch stacks the gates of a layer in one matrix: ``weight_ih_l0`` (G·H, D), ``weight_hh_l0``
(G·H, H) and two biases, gate order i, f, g, o for LSTM and r, z, n for GRU. The kernels keep one
array per gate, named after the spec (``W_f``, ``U_f``, ``b_f``, ``bh_f``). PyTorch is imported
only inside these functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .layers import LAYER_KEY, Shape, shape_of

# cell name -> (torch class name, gate order of the stacked rows)
TORCH_CELLS: dict[str, tuple[str, tuple[str, ...]]] = {
    "rnn": ("RNN", ("h",)),
    "lstm": ("LSTM", ("i", "f", "g", "o")),
    "gru": ("GRU", ("r", "z", "n")),
}
# torch name prefix -> our parameter prefix
TORCH_PARTS = {"weight_ih": "W", "weight_hh": "U", "bias_ih": "b", "bias_hh": "bh"}


def cell_of(module: Any) -> str:
    """The cell name for a torch.nn.RNN / LSTM / GRU module; ValueError for what the kernels lack."""
    kind = type(module).__name__
    names = {torch_name: cell for cell, (torch_name, _) in TORCH_CELLS.items()}
    if kind not in names:
        raise ValueError(f"from_torch: expected torch.nn.RNN, LSTM or GRU, got {kind}")
    problems = [
        ("nonlinearity", getattr(module, "nonlinearity", "tanh") != "tanh", "tanh"),
        ("bias", not module.bias, "True"),
        ("batch_first", module.batch_first, "False (the kernels are time-major)"),
        ("proj_size", getattr(module, "proj_size", 0) != 0, "0"),
    ]
    for name, bad, expected in problems:
        if bad:
            raise ValueError(f"from_torch: {kind} with {name}={getattr(module, name)!r} is not supported; "
                             f"expected {expected}")
    return names[kind]


def layer_from_torch(module: Any, cell: str, suffix: str = "_l0") -> dict[str, np.ndarray]:
    """The parameters of one torch layer (``_l0``, ``_l1_reverse``, …) split per gate."""
    _, gates = TORCH_CELLS[cell]
    params = {}
    for torch_part, ours in TORCH_PARTS.items():
        stacked = getattr(module, torch_part + suffix).detach().cpu().numpy()
        H = stacked.shape[0] // len(gates)
        for k, gate in enumerate(gates):
            params[f"{ours}_{gate}"] = stacked[k * H:(k + 1) * H].copy()
    return params


def from_torch(module: Any) -> tuple[str, dict]:
    """``(cell_name, params)`` for a torch.nn.RNN / LSTM / GRU.

    One layer in one direction gives the kernel's flat parameter dict; stacked or bidirectional
    modules give one such dict per layer key (``l0``, ``l0_reverse``, ``l1``, …) for
    :mod:`derive.layers`.
    """
    cell = cell_of(module)
    if module.num_layers == 1 and not module.bidirectional:
        return cell, layer_from_torch(module, cell)
    keys = Shape(module.num_layers, 2 if module.bidirectional else 1).keys
    return cell, {key: layer_from_torch(module, cell, "_" + key) for key in keys}


def layer_to_torch(cell: str, arrays: Mapping[str, np.ndarray], suffix: str = "_l0") -> dict[str, np.ndarray]:
    """Stack per-gate arrays (params or their gradients) into torch's names and layout."""
    if cell not in TORCH_CELLS:
        raise ValueError(f"unknown torch cell {cell!r} (known: {', '.join(TORCH_CELLS)})")
    _, gates = TORCH_CELLS[cell]
    missing = [f"{ours}_{g}" for ours in TORCH_PARTS.values() for g in gates if f"{ours}_{g}" not in arrays]
    if missing:
        raise ValueError(f"{cell}: missing {', '.join(missing)}")
    return {torch_part + suffix: np.concatenate([arrays[f"{ours}_{g}"] for g in gates])
            for torch_part, ours in TORCH_PARTS.items()}


def grads_to_torch(cell: str, grads: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Gradients in torch's names: ``weight_ih_l0``, …, and ``…_l1``, ``…_l0_reverse`` for stacks."""
    return _to_torch_names(cell, grads)


def _to_torch_names(cell: str, arrays: Mapping[str, Any]) -> dict[str, np.ndarray]:
    layers = {k: v for k, v in arrays.items() if LAYER_KEY.match(k)}
    if not layers:
        return layer_to_torch(cell, arrays)
    shape_of(layers)
    return {name: value for key, layer in layers.items() for name, value in
            layer_to_torch(cell, layer, "_" + key).items()}


def to_torch(cell: str, params: Mapping[str, Any]) -> Any:
    """A time-major torch module holding these parameters (flat, or per layer key), same dtype."""
    import torch

    stacked = _to_torch_names(cell, params)
    layers = shape_of(params) if any(LAYER_KEY.match(k) for k in params) else Shape(1, 1)
    G = len(TORCH_CELLS[cell][1])
    H4, D = stacked["weight_ih_l0"].shape
    module = getattr(torch.nn, TORCH_CELLS[cell][0])(D, H4 // G, num_layers=layers.layers,
                                                      bidirectional=layers.directions == 2)
    dtype = torch.float64 if stacked["weight_ih_l0"].dtype == np.float64 else torch.float32
    module = module.to(dtype)
    with torch.no_grad():
        for name, value in stacked.items():
            getattr(module, name).copy_(torch.from_numpy(value))
    return module
