"""The chain rule of every adjoint, link by link: what a derivation page shows before the result.

For a node s of step t, the loss depends on s through every node that reads it in the same step,
through every node of step t+1 that reads it as ``s_prev`` (when s is a state), through the loss of
step t (when s is the output) and through the matrix products it is a source of. Each path
contributes δ(reader) ⊙ ∂reader/∂s; the local derivatives ∂reader/∂s are the ones SymPy found. For a
pre-activation ā of a gate n = f(ā) the one link is δn ⊙ f′(ā), written through the gate's value.
:func:`chain_rule` lists these links for every adjoint of :attr:`Derivation.backward`, in the same
order, so that a page can print the rule, the local derivatives and the result side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from derive.cells import functions
from derive.cells.spec import PREV_SUFFIX

from .bptt import Assign, Derivation, Linear


@dataclass(frozen=True)
class Link:
    """One path from a node to the loss: through ``reader``, whose derivative with respect to the node is
    ``local``; ``later`` when the reader belongs to step t+1."""

    reader: sympy.Symbol
    local: sympy.Expr
    later: bool = False


@dataclass(frozen=True)
class Step:
    """The chain rule of one adjoint and the result the derivation keeps."""

    result: Assign
    of: sympy.Symbol  # the node or pre-activation whose δ this is
    loss: bool  # the loss of step t reads the node directly (it is the output)
    links: tuple[Link, ...]
    linear: tuple[Linear, ...]  # matrix products the node is a source of, at step t
    later_linear: tuple[Linear, ...]  # the same at step t+1 (a state read as s_prev)
    function: str = ""  # for a gate's pre-activation: the function whose derivative is the link


def chain_rule(d: Derivation) -> list[Step]:
    """The links of every adjoint of the backward pass, in the order of ``d.backward``."""
    readers: dict[sympy.Symbol, list[sympy.Symbol]] = {}
    for node, operand in d.local:
        readers.setdefault(operand, []).append(node)
    carries = {d.vars[a.target].of.of.name: a for a in d.carries}
    steps = []
    for a in d.backward:
        var = d.vars[a.target].of
        of = d.sym(var.name)
        if var.kind == "preact":
            node = d.sym(var.of.name)
            entry = functions.of(d.node(var.of.name).full)
            steps.append(Step(a, of, False, (Link(node, d.local[node, of]),), (), (),
                              entry.name if entry and d.node(var.of.name).gate else ""))
            continue
        links = [Link(r, d.local[r, of]) for r in _ordered(d, readers.get(of, []))]
        later_linear: tuple[Linear, ...] = ()
        if var.name in carries:
            prev = d.sym(var.name + PREV_SUFFIX)
            links += [Link(r, d.local[r, prev], later=True) for r in _ordered(d, readers.get(prev, []))]
            later_linear = carries[var.name].linear
        steps.append(Step(a, of, var.name == d.cell.output, tuple(links), a.linear, later_linear))
    return steps


def _ordered(d: Derivation, readers: list[sympy.Symbol]) -> list[sympy.Symbol]:
    """Readers in the order the spec computes them."""
    order = {eq.symbol: k for k, eq in enumerate(d.nodes)}
    return sorted(readers, key=order.__getitem__)
