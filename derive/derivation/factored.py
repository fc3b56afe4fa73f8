"""The backward step of a cell as linear combinations of the few adjoints its recursion must compute.

Every adjoint of a step is linear in the adjoints that reach it: ``δo = δh ⊙ tanh(c)``,
``δa_o = δo ⊙ o ⊙ (1 − o)``. Only some of them have to be computed step by step, the *pivots*:

- what arrives from outside the step: the loss gradient ∂ℓ_t/∂h and the carries δs_next from step t+1;
- every state's δ, where the carries add up (``δc = δh ⊙ o ⊙ (1 − tanh²(c)) + δc_next``);
- every δ that takes a matrix product (a :class:`~derive.derivation.bptt.Linear` term).

Every other adjoint is eliminated: written as Σ_p k_p ⊙ δp over the pivots p, with factors k_p that are
functions of forward values only (``δa_o = δh ⊙ (tanh(c) ⊙ o ⊙ (1 − o))``), which a kernel can compute for
all steps at once before the recursion. The step then costs one product per pivot of each δ it writes.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from .bptt import Derivation, Linear

ADJOINT_KINDS = ("adjoint", "loss", "carry")


@dataclass(frozen=True)
class Combination:
    """``target = Σ factor ⊙ pivot + Σ linear``: the factors are functions of forward values only."""

    target: sympy.Symbol
    terms: tuple[tuple[sympy.Symbol, sympy.Expr], ...]  # (pivot, factor), pivots in program order
    linear: tuple[Linear, ...] = ()

    @property
    def expr(self) -> sympy.Expr:
        return sympy.Add(*(pivot * factor for pivot, factor in self.terms))


@dataclass(frozen=True)
class Factored:
    """The backward step in pivot form, in program order."""

    steps: tuple[Combination, ...]  # pivots computed by the recursion and the δ of every pre-activation
    carries: tuple[Combination, ...]  # δs_prev for every state s, handed to step t − 1
    vector_grads: tuple[Combination, ...]  # per-step terms of the parameter vectors' gradients
    pivots: frozenset[sympy.Symbol]  # the steps that are pivots (the others are pre-activations' δ)


def factor(d: Derivation) -> Factored:
    """Eliminate every adjoint that is not a pivot from the backward program of ``d``."""
    adjoints = {s for s, v in d.vars.items() if v.kind in ADJOINT_KINDS}
    order: dict[sympy.Symbol, int] = {}  # pivots, in the order the program computes them
    expansion: dict[sympy.Symbol, dict[sympy.Symbol, sympy.Expr]] = {}

    def expand(expr: sympy.Expr) -> tuple[tuple[sympy.Symbol, sympy.Expr], ...]:
        found: dict[sympy.Symbol, sympy.Expr] = {}
        rest = expr
        for s in sorted(expr.free_symbols & adjoints, key=sympy.default_sort_key):
            k = sympy.diff(expr, s)
            if k.free_symbols & adjoints:
                raise ValueError(f"the backward program is not linear in the adjoints: {expr}")
            rest -= k * s
            if s not in expansion:  # the loss gradient or a carry: a pivot from outside the step
                order.setdefault(s, len(order))
            for pivot, kp in expansion.get(s, {s: sympy.S.One}).items():
                found[pivot] = found.get(pivot, sympy.S.Zero) + k * kp
        if sympy.expand(rest) != 0:
            raise ValueError(f"the backward program has a term without an adjoint: {expr}")
        terms = [(p, sympy.factor_terms(k)) for p, k in found.items() if sympy.expand(k) != 0]
        return tuple(sorted(terms, key=lambda t: order[t[0]]))

    steps: list[Combination] = []
    states = set(d.cell.states)
    for a in d.backward:
        var = d.vars[a.target]
        terms = expand(a.expr)
        if a.linear or (var.of.kind == "node" and var.of.name in states):
            steps.append(Combination(a.target, terms, a.linear))
            order[a.target] = len(order)
            expansion[a.target] = {a.target: sympy.S.One}
        else:
            expansion[a.target] = dict(terms)
            if var.of.kind == "preact":
                steps.append(Combination(a.target, terms))
    carries = tuple(Combination(a.target, expand(a.expr), a.linear) for a in d.carries)
    vector_grads = tuple(Combination(a.target, expand(a.expr)) for a in d.vector_grads)
    pivots = frozenset(s.target for s in steps if expansion[s.target] == {s.target: sympy.S.One})
    return Factored(tuple(steps), carries, vector_grads, pivots)

