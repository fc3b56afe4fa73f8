"""One-step state Jacobians ∂s_t/∂r_{t−1} of a derived cell, as sums of paths through the step.

Each path is a product of diagonal matrices (the local derivatives SymPy found, per hidden unit) and
weight matrices (the affine parts, by the fixed rule); the Jacobian is the sum of the paths. Paths
that differ only in their first diagonal factor are summed into one,
``diag(d₁) M + diag(d₂) M = diag(d₁ + d₂) M``.
"""

from __future__ import annotations

import sympy

from derive.cells import spec

from .bptt import Derivation

Path = tuple["sympy.Expr | str", ...]  # factors left to right: elementwise (diagonal) expressions and weight names


def jacobian_paths(d: Derivation, state: str, source: str, links: bool = False) -> list[Path]:
    """∂state_t/∂source_{t−1} within one step, the other previous states held fixed.

    Each path is a product of diagonal matrices (SymPy expressions, per hidden unit) and weight
    matrices (their names); the Jacobian is the sum of the paths. Adjacent diagonals are multiplied;
    with ``links`` they are kept as an unevaluated product of the local derivatives in chain order,
    outermost first, for printing.
    """
    if state not in d.cell.states or source not in d.cell.states:
        raise spec.SpecError(f"cell {d.cell.name!r}: Jacobian between states {state!r} and {source!r}; "
                             f"states are {', '.join(d.cell.states)}")
    prev = d.sym(source + spec.PREV_SUFFIX)
    preacts = {p.symbol: p for p in d.preacts}
    operands: dict[sympy.Symbol, list[sympy.Symbol]] = {}
    for (node, operand) in d.local:
        operands.setdefault(node, []).append(operand)

    def paths(v: sympy.Symbol) -> list[Path]:
        if v == prev:
            return [()]
        if v in preacts:
            return [(t.weight, *rest) for t in preacts[v].terms if t.source != d.x for rest in paths(t.source)]
        found = []
        for o in operands.get(v, []):
            for rest in paths(o):
                if rest and not isinstance(rest[0], str):  # adjacent diagonals: one factor
                    found.append(((d.local[v, o], *rest[0]), *rest[1:]))
                else:
                    found.append(((d.local[v, o],), *rest))
        return found

    def factor(links_of: tuple) -> sympy.Expr:
        if not links:
            return sympy.Mul(*links_of)
        return links_of[0] if len(links_of) == 1 else sympy.Mul(*links_of, evaluate=False)

    return [tuple(f if isinstance(f, str) else factor(f) for f in path) for path in paths(d.sym(state))]



def grouped_paths(d: Derivation, state: str, source: str) -> list[tuple[sympy.Expr, tuple]]:
    """The paths of ∂state_t/∂source_{t−1} as (first diagonal, remaining factors), equal remainders summed."""
    groups: dict[tuple, sympy.Expr] = {}
    for path in jacobian_paths(d, state, source):
        head, rest = path[0], tuple(path[1:])
        groups[rest] = groups.get(rest, sympy.Integer(0)) + head
    return [(sympy.factor_terms(head), rest) for rest, head in groups.items() if head != 0]
