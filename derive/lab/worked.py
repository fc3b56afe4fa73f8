"""A worked example: one tiny sequence through a generated kernel, and the printed backward lines
evaluated on its numbers.

The kernel runs two steps of a cell with one input and two hidden units on fixed, rounded parameters.
Its forward cache gives the value of every node at every step. The backward program of the derivation,
the lines the pages print, is then evaluated on those values from the last step down, and the weight
gradients assembled from its δ by the fixed rules are compared with what the kernel's ``backward``
returns. Nothing here is typed: the numbers come from the kernel, the lines from the derivation.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache

import numpy as np
import sympy

from derive.cells.catalogue import get
from derive.derivation.bptt import Derivation, derive
from derive.emit.layout import plan

T, D, H = 2, 1, 2
INPUTS = np.array([[[0.5]], [[-1.0]]])  # x_1, x_2
UPSTREAM = np.array([[[1.0, -0.5]], [[0.5, 1.0]]])  # ∂ℓ_t/∂h_t, what the kernel takes as dh_seq


@dataclass(frozen=True)
class Worked:
    """Everything the worked-example directive shows."""

    d: Derivation
    params: dict[str, np.ndarray]
    values: list[dict[str, np.ndarray]]  # per step: node name -> value
    deltas: list[dict[str, np.ndarray]]  # per step: adjoint name (d_…) -> value
    known: list[dict[str, np.ndarray]]  # per step: every value the backward lines read or wrote
    kernel_grads: dict[str, np.ndarray]
    line_grads: dict[str, np.ndarray]

    @property
    def largest_difference(self) -> float:
        return max(float(np.abs(self.kernel_grads[k] - v).max()) for k, v in self.line_grads.items())


def parameters(d: Derivation) -> dict[str, np.ndarray]:
    """Fixed parameters rounded to one decimal, so that a reader can follow the arithmetic."""
    rng = np.random.default_rng(7)
    dims = {"H": H, "D": D}
    return {k: rng.uniform(-1, 1, [dims[s] for s in shape]).round(1) + 0.0  # + 0.0: no −0.0
            for k, shape in d.cell.param_shapes.items()}


@cache
def example(cell: str) -> Worked:
    """Run the example through the generated kernel and evaluate the printed backward lines on it."""
    d = derive(get(cell))
    kernel = importlib.import_module(f"generated.{d.cell.name}")
    params = parameters(d)
    _, cache = kernel.forward(params, INPUTS)
    grads = kernel.backward(params, cache, UPSTREAM)
    values: list[dict[str, np.ndarray]] = []
    for t in range(T):
        values.append(_values(d, cache, t, values[-1] if values else None))
    known = _backward(d, params, values)
    deltas = [{a.target.name: step[a.target.name] for a in d.backward} for step in known]
    return Worked(d, params, values, deltas, known, grads, _assembled(d, params, known))


def _values(d: Derivation, cache: dict, t: int, before: dict | None) -> dict[str, np.ndarray]:
    """Every node of step t the kernel stores, from its cache, and the previous states."""
    layout = plan(d)
    found = {"x": INPUTS[t, 0]}
    for column in layout.columns:
        name = column.preact.node
        if d.node(name).gate:
            found[name] = cache["gates"][t, column.index, 0]
    for key, array in cache.items():
        if key.endswith("_seq"):
            found[key.removesuffix("_seq")] = array[t, 0]
    for s in d.cell.states:
        stored = cache.get(f"{s}_all")  # a state stored from its initial value on: step t's is row t + 1
        if stored is not None:
            found[s] = stored[t + 1, 0]
        found[s + "_prev"] = before[s] if before else (cache[f"{s}0"] if stored is None else stored[0])[0]
    return found


def _numeric(d: Derivation, expr: sympy.Expr, known: dict[str, np.ndarray], params: dict) -> np.ndarray:
    """An elementwise expression of the derivation on numbers (pre-activations from their sums)."""
    symbols = sorted(expr.free_symbols, key=str)
    args = [known[s.name] if s.name in known else params[s.name] for s in symbols]
    return np.asarray(sympy.lambdify(symbols, expr, modules="numpy")(*args), float) * np.ones(H)


def _with_preacts(d: Derivation, known: dict[str, np.ndarray], params: dict) -> dict[str, np.ndarray]:
    """The step's values with every pre-activation and function value added."""
    found = dict(known)
    for pre in d.preacts:
        found[pre.symbol.name] = sum(params[t.weight] @ found[t.source.name] for t in pre.terms) + sum(
            params[b] for b in pre.biases)
    for aux, call in d.aux.items():
        found[aux.name] = _numeric(d, call, found, params)
    return found


def _backward(d: Derivation, params: dict, values: list[dict]) -> list[dict[str, np.ndarray]]:
    """The printed backward program evaluated from the last step down, δ of the states carried: per step,
    every value it read or wrote."""
    carries = {s: np.zeros(H) for s in d.cell.states}
    steps: list[dict[str, np.ndarray]] = [{} for _ in range(T)]
    for t in reversed(range(T)):
        known = _with_preacts(d, values[t], params)
        known.update({f"d_{s}_next": carries[s] for s in d.cell.states})
        known[f"dl_{d.cell.output}"] = UPSTREAM[t, 0]
        for a in (*d.backward, *d.carries):
            value = _numeric(d, a.expr, known, params) if a.expr != 0 else np.zeros(H)
            value = value + sum(params[lin.weight].T @ known["d_" + lin.preact.name] for lin in a.linear)
            known[a.target.name] = value
        carries = {d.vars[a.target].of.of.name: known[a.target.name] for a in d.carries}
        steps[t] = known
    return steps


def _assembled(d: Derivation, params: dict, steps: list[dict]) -> dict[str, np.ndarray]:
    """Weight and bias gradients from the δ by the fixed rules: sums over the steps of outer products."""
    found: dict[str, np.ndarray] = {}
    for name, terms in d.parameter_gradients().items():
        total = np.zeros_like(params[name])
        for known in steps:
            for c in terms:
                delta = known[d.adjoint(c.preact).name] if c.preact is not None else None
                if c.kind == "weight":
                    total = total + np.outer(delta, known[c.source.name])
                elif c.kind == "bias":
                    total = total + delta
                else:
                    total = total + _numeric(d, c.total.expr, known, params)
        found[name] = total
    return found
