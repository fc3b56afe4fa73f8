"""Initial parameters for the generated kernels: PyTorch's default, recurrent weight schemes, forget-gate bias."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from derive.cells.spec import Cell, SpecError
from derive.derivation.bptt import derive

RECURRENT = ("torch", "orthogonal", "gaussian")


def torch_default(cell: Cell, D: int, H: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every parameter uniform in [−1/√H, 1/√H], as ``torch.nn.RNN``, ``LSTM`` and ``GRU`` initialise them."""
    if D < 1 or H < 1:
        raise ValueError(f"torch_default: D and H must be at least 1, got D={D}, H={H}")
    bound = 1 / np.sqrt(H)
    dims = {"D": D, "H": H}
    return {name: rng.uniform(-bound, bound, [dims[s] for s in shape])
            for name, shape in cell.param_shapes.items()}


def parameter_count(cell: Cell, D: int, H: int) -> int:
    """The number of parameters of one layer with input size D and hidden size H."""
    dims = {"D": D, "H": H}
    return sum(int(np.prod([dims[s] for s in shape])) for shape in cell.param_shapes.values())


def closest_hidden(count: Callable[[int], int], target: int, largest: int = 4096) -> int:
    """The hidden size whose parameter count ``count(H)``, which grows with H, is nearest to target (the
    smaller one on a tie); the search stops at the first size that reaches the target."""
    below = None  # the count one size smaller
    for H in range(1, largest + 1):
        n = count(H)
        if n >= target:
            return H - 1 if below is not None and target - below <= n - target else H
        below = n
    return largest


def recurrent_weights(cell: Cell) -> list[str]:
    """The (H, H) weight matrices: those applied to a previous state or to another node."""
    return [name for name, shape in cell.param_shapes.items() if shape == ("H", "H")]


def with_recurrent(cell: Cell, params: Mapping[str, np.ndarray], scheme: str, gain: float,
                   rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The parameters with every recurrent matrix redrawn: ``orthogonal`` (times gain) or ``gaussian``
    (entries N(0, gain²/H), spectral radius close to gain); ``torch`` keeps them."""
    if scheme not in RECURRENT:
        raise ValueError(f"with_recurrent: unknown scheme {scheme!r} (known: {', '.join(RECURRENT)})")
    out = dict(params)
    for name in recurrent_weights(cell) if scheme != "torch" else []:
        H = params[name].shape[0]
        if scheme == "orthogonal":
            q, r = np.linalg.qr(rng.standard_normal((H, H)))
            out[name] = gain * q * np.sign(np.diag(r))  # uniform over the orthogonal group
        else:
            out[name] = rng.standard_normal((H, H)) * (gain / np.sqrt(H))
    return out


def with_gate_bias(cell: Cell, params: Mapping[str, np.ndarray], gate: str, value: float) -> dict[str, np.ndarray]:
    """The parameters with the bias of ``gate``'s pre-activation set to value (its second bias, if any, to 0)."""
    preacts = [p for p in derive(cell).preacts if p.node == gate and p.biases]
    if not preacts:
        gates = sorted({p.node for p in derive(cell).preacts if p.biases})
        raise SpecError(f"cell {cell.name!r}: no biased gate {gate!r} (gates with a bias: {', '.join(gates)})")
    out = dict(params)
    first, *others = preacts[0].biases
    out[first] = np.full_like(params[first], value)
    for name in others:
        out[name] = np.zeros_like(params[name])
    return out
