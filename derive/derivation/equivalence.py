"""Engine proofs that two cells are one function after negating a gate's weights and bias.

The GRU is written two ways: PyTorch, Keras and Cho et al. keep the old state with z,
``h = (1 − z) ⊙ n + z ⊙ h_{t−1}``; Ng and Olah keep it with 1 − z. With σ(−a) = 1 − σ(a), negating
W_z, U_z and b_z (hence the pre-activation) turns one into the other. :func:`negated_gate` checks this
with SymPy for every state of the two cells and returns the steps, which :mod:`derive.emit.latex`
prints.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from derive.cells.functions import sigmoid
from derive.cells.spec import Cell, SpecError

from .bptt import Derivation, derive


@dataclass(frozen=True)
class NegatedGate:
    """The proven steps: σ(−a) = 1 − σ(a), then the output of each cell with the gate written out."""

    first: Derivation  # the cell keeping the old state with the gate
    second: Derivation  # the cell computing the same after the gate's parameters are negated
    identity: tuple[sympy.Expr, sympy.Expr]  # σ(−a), 1 − σ(a)
    second_output: sympy.Expr  # the second cell's output with its gate as σ(−a)
    first_output: sympy.Expr  # the first cell's output with its gate as σ(a)


def _expanded(d: Derivation, node: str, form: str = "full") -> sympy.Expr:
    """A node as a function of pre-activations, parameters and previous states only."""
    eqs = {eq.symbol: eq for eq in d.nodes}
    expr = getattr(d.node(node), form)
    while any(s in eqs for s in expr.free_symbols):
        expr = expr.xreplace({s: getattr(eqs[s], form) for s in expr.free_symbols if s in eqs})
    return expr


def _gate_preact(d: Derivation, gate: str) -> sympy.Symbol:
    eq = d.node(gate)
    if eq.gate != "sigmoid":
        raise SpecError(f"cell {d.cell.name!r}: node {gate!r} is not a sigmoid of one pre-activation")
    preact = eq.preacts[0]
    shared = [t.weight for t in preact.terms if any(t.weight in (u.weight for u in p.terms)
                                                     for p in d.preacts if p is not preact)]
    if shared:
        raise SpecError(f"cell {d.cell.name!r}: weights {', '.join(shared)} of {gate!r} are shared; negating them "
                        "would change other gates")
    return preact.symbol


def negated_gate(a: Cell, b: Cell, gate: str) -> NegatedGate:
    """Prove that ``b`` with the weights and bias of ``gate`` negated computes ``a``; return the steps.

    Raises SpecError if the two cells differ in any state after the negation.
    """
    da, db = derive(a), derive(b)
    pa, pb = _gate_preact(da, gate), _gate_preact(db, gate)
    if pa.name != pb.name or a.states != b.states:
        raise SpecError(f"cells {a.name!r} and {b.name!r} do not share the states and the gate {gate!r}")
    identity = sympy.simplify((sigmoid(-pa) - (1 - sigmoid(pa))).rewrite(sympy.exp))
    if identity != 0:
        raise SpecError("σ(−a) = 1 − σ(a) does not hold")  # never: guards the printed identity
    for state in a.states:
        difference = _expanded(da, state) - _expanded(db, state).xreplace({pb: -pb})
        if sympy.simplify(difference.rewrite(sympy.exp)) != 0:
            raise SpecError(f"cells {a.name!r} and {b.name!r} differ in {state!r} after negating {gate!r}")
    z_a, z_b = da.sym(gate), db.sym(gate)
    negated = db.node(a.output).display.xreplace({z_b: sigmoid(-pb, evaluate=False)})
    swapped = da.node(a.output).display.xreplace({z_a: sigmoid(pa, evaluate=False)})
    return NegatedGate(da, db, (sigmoid(-pa, evaluate=False), 1 - sigmoid(pa)), negated, swapped)
