"""Parameter and per-step operation counts, read off a cell spec."""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from .derivation import derive
from .spec import INPUT, Cell, MatMul, walk


ARITHMETIC = ("ADD", "SUB", "MUL", "NEG")


@dataclass(frozen=True)
class Counts:
    """Sizes for one layer with input size D and hidden size H."""

    params: int
    weights: int  # entries of the weight matrices
    vectors: int  # entries of biases and other parameter vectors
    matmul_macs: int  # multiply-adds of the matrix products, per step and example
    elementwise: int  # elementwise additions, multiplications and subtractions, per step and example
    activations: int  # sigmoid and tanh evaluations, per step and example


def count(cell: Cell, D: int, H: int) -> Counts:
    """Parameters and forward work of one step for one example."""
    shapes = {name: [D if s == "D" else H for s in shape] for name, shape in cell.param_shapes.items()}
    weights = sum(a * b for a, b in (s for s in shapes.values() if len(s) == 2))
    vectors = sum(s[0] for s in shapes.values() if len(s) == 1)
    macs = sum(H * (D if mm.source == INPUT else H) for n in cell.nodes for mm in walk(n.expr, MatMul))
    d = derive(cell)
    arithmetic = activations = 0
    for eq in d.nodes:
        for p in eq.preacts:  # the sums inside each pre-activation
            arithmetic += len(p.terms) + len(p.biases) - 1
        activations += len(eq.full.atoms(sympy.Function))
        ops = sympy.count_ops(eq.full, visual=True).as_coefficients_dict()
        arithmetic += int(sum(n for op, n in ops.items() if str(op) in ARITHMETIC))
    return Counts(weights + vectors, weights, vectors, macs, arithmetic * H, activations * H)
