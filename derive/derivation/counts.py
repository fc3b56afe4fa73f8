"""Parameter and per-step operation counts, read off a cell spec and its derivation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sympy

from derive.cells.spec import INPUT, Cell, MatMul, walk

from .bptt import Assign, derive

ARITHMETIC = ("ADD", "SUB", "MUL", "NEG", "POW")  # POW: the squares of tanh' (one multiplication each)


@dataclass(frozen=True)
class Counts:
    """Sizes for one layer with input size D and hidden size H."""

    params: int
    weights: int  # entries of the weight matrices
    vectors: int  # entries of biases and other parameter vectors
    matmul_macs: int  # multiply-adds of the matrix products, per step and example
    elementwise: int  # elementwise additions, multiplications and subtractions, per step and example
    activations: int  # sigmoid and tanh evaluations, per step and example
    redundant_biases: int = 0  # bias entries that only ever appear summed with another bias of the same sum
    backward_macs: int = 0  # multiply-adds of the backward step: two products per forward product
    backward_elementwise: int = 0  # elementwise operations of the derived adjoint program, per step and example

    @property
    def single_bias_params(self) -> int:
        """Parameters with one bias per affine sum, as in Keras or the papers (PyTorch keeps two)."""
        return self.params - self.redundant_biases


def _arithmetic(expr: sympy.Expr) -> int:
    ops = sympy.count_ops(expr, visual=True).as_coefficients_dict()
    return int(sum(n for op, n in ops.items() if str(op) in ARITHMETIC))


def _adjoint_ops(assigns: Iterable[Assign]) -> int:
    """Elementwise operations of adjoint assignments, counting the additions of their matrix-product terms."""
    return sum(_arithmetic(a.expr) + len(a.linear) - (a.expr == 0 and bool(a.linear)) for a in assigns)


def count(cell: Cell, D: int, H: int) -> Counts:
    """Parameters, forward work and backward work of one step for one example."""
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
        arithmetic += _arithmetic(eq.full)
    redundant = sum(len(p.biases) - 1 for p in d.preacts if p.biases) * H
    backward = _adjoint_ops((*d.backward, *d.carries, *d.vector_grads)) * H
    return Counts(weights + vectors, weights, vectors, macs, arithmetic * H, activations * H,
                  redundant, 2 * macs, backward)
