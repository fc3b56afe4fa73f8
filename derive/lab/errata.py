"""Published LSTM gradients that are wrong, written as alternatives to the derived ones and checked the same way.

Each erratum is the derivation with the published mistake put in: its equations print through the
same LaTeX printer, its gradients come from the derived kernel with the mistake applied, and
:func:`check` compares both with central differences. The cell is ``greff_np`` (one bias per gate,
no peepholes), the LSTM of the sources.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

from derive.cells.catalogue import get
from derive.derivation.bptt import Assign, Derivation, derive
from derive.emit import latex
from derive.emit.files import module_from_source
from derive.emit.kernel import KernelBuilder
from derive.emit.latex import Equation
from derive.emit.notation import SPEC, Notation

CELL = "greff_np"
Grads = dict[str, np.ndarray]
Problem = tuple[dict, np.ndarray, dict, np.ndarray, dict]  # params, x, initial states, dL/dh_seq, dL/d final states


@dataclass(frozen=True)
class Erratum:
    """A published mistake: which derived equations it replaces, by what, and the gradients it gives."""

    key: str
    source: str  # where it is published
    replaces: tuple[str, ...]  # names of the derived equations (block, name)
    block: str
    published: Callable[[Derivation, Notation], list[Equation]]
    gradients: Callable[[Problem], Grads]

    def equations(self, notation: Notation = SPEC) -> tuple[list[Equation], list[Equation]]:
        """The published equations and the derived ones they replace."""
        d = derive(get(CELL))
        ours = {e.name: e for e in latex.block(d, self.block, notation)}
        return self.published(d, notation), [ours[n] for n in self.replaces]


def _without_cell_carry(d: Derivation) -> Derivation:
    """δc_t from δh_t alone: the term δc_{t+1} ⊙ f_{t+1} dropped."""
    carry = d.sym("d_c_next")
    return dataclasses.replace(d, backward=tuple(Assign(a.target, a.expr.subs(carry, 0), a.linear)
                                                 for a in d.backward))


@cache
def _kernel(patched: bool) -> types.ModuleType:
    d = derive(get(CELL))
    source = KernelBuilder(_without_cell_carry(d) if patched else d, "derive/lab/errata.py").text()
    return module_from_source(f"{CELL}_erratum" if patched else CELL, source)


def derived_gradients(problem: Problem) -> Grads:
    """The gradients of the derived kernel."""
    return _run(_kernel(False), problem)


def _run(module: types.ModuleType, problem: Problem) -> Grads:
    params, x, init, g_seq, g_final = problem
    _, cache = module.forward(params, x, **init)
    return module.backward(params, cache, g_seq, **g_final)


def _forget_gate_bias_gradients(problem: Problem) -> Grads:
    grads = derived_gradients(problem)
    return {**grads, "b_i": grads["b_f"], "b_o": grads["b_f"]}


def _bias_lines(d: Derivation, notation: Notation) -> list[Equation]:
    ours = {e.name: e for e in latex.parameter_gradients(d, notation)}
    if "b_f" not in ours:
        raise ValueError(f"notation {notation.name!r} writes no biases: the bias erratum cannot be shown in it")
    return [Equation(g, ours[g].lhs, ours["b_f"].rhs) for g in ("b_i", "b_o")]


def _carry_line(d: Derivation, notation: Notation) -> list[Equation]:
    return [e for e in latex.gradients(_without_cell_carry(d), notation) if e.name == "d_c"]


ERRATA: dict[str, Erratum] = {e.key: e for e in (
    Erratum("cell-state-carry", "hanbt/learn_dl, lstm.py (calc_delta_k); article 6 of the series, issue 33",
            ("d_c",), "gradients", _carry_line, lambda problem: _run(_kernel(True), problem)),
    Erratum("bias-gradients", "hanbt/learn_dl, lstm.py (calc_gradient_t); issue 53",
            ("b_i", "b_o"), "parameters", _bias_lines, _forget_gate_bias_gradients),
)}


def problem(seed: int = 0, T: int = 4, B: int = 2, D: int = 3, H: int = 4) -> Problem:
    """A small float64 problem for the cell of the errata."""
    rng = np.random.default_rng(seed)
    shapes = get(CELL).param_shapes
    params = {k: rng.standard_normal([{"H": H, "D": D}[s] for s in shape]) * 0.5 for k, shape in shapes.items()}
    init = {"h0": rng.standard_normal((B, H)), "c0": rng.standard_normal((B, H))}
    return params, rng.standard_normal((T, B, D)), init, rng.standard_normal((T, B, H)), {
        "dh_T": rng.standard_normal((B, H)), "dc_T": rng.standard_normal((B, H))}


def finite_differences(problem: Problem, names: tuple[str, ...], step: float = 1e-6) -> Grads:
    """Central differences of the loss with respect to the named parameters."""
    params, x, init, g_seq, g_final = problem
    module = _kernel(False)

    def loss() -> float:
        out, cache = module.forward(params, x, **init)
        return float((out * g_seq).sum() + sum((cache[f"{s}_T"] * g_final[f"d{s}_T"]).sum() for s in module.STATES))

    grads = {}
    for name in names:
        array, grad = params[name], np.zeros_like(params[name])
        for idx in np.ndindex(array.shape):
            old = array[idx]
            array[idx] = old + step
            plus = loss()
            array[idx] = old - step
            grad[idx] = (plus - loss()) / (2 * step)
            array[idx] = old
        grads[name] = grad
    return grads


def check(erratum: Erratum, seed: int = 0) -> dict[str, tuple[float, float]]:
    """Per parameter: relative error against central differences of the published and of the derived gradient."""
    prob = problem(seed)
    names = tuple(prob[0])
    numeric = finite_differences(prob, names)
    published, derived = erratum.gradients(prob), derived_gradients(prob)

    def rel(got: np.ndarray, want: np.ndarray) -> float:
        return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-12))

    return {n: (rel(published[n], numeric[n]), rel(derived[n], numeric[n])) for n in names}
