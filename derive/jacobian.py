"""One-step state Jacobians ∂s_t/∂r_{t−1} of a derived cell, printed as NumPy modules and as LaTeX.

The Jacobian of one step is the sum of the paths of :func:`derive.derivation.jacobian_paths`: each
path is a product of diagonal matrices (the local derivatives SymPy found, per hidden unit) and
weight matrices (the affine parts, by the fixed rule). Paths that differ only in their first
diagonal factor are summed into one, ``diag(d₁) M + diag(d₂) M = diag(d₁ + d₂) M``. The generated
module evaluates one step forward for a batch, then every path, giving one ``(B, H, H)`` matrix per
pair of states and example.
"""

from __future__ import annotations

import sympy
from sympy.printing.numpy import NumPyPrinter

from . import emit_latex
from .derivation import Derivation, jacobian_paths
from .emit_latex import Equation
from .spec import INPUT, PREV_SUFFIX

PER_EXAMPLE = ("node", "prev", "preact", "aux", "input")


def grouped_paths(d: Derivation, state: str, source: str) -> list[tuple[sympy.Expr, tuple]]:
    """The paths of ∂state_t/∂source_{t−1} as (first diagonal, remaining factors), equal remainders summed."""
    groups: dict[tuple, sympy.Expr] = {}
    for path in jacobian_paths(d, state, source):
        head, rest = path[0], tuple(path[1:])
        groups[rest] = groups.get(rest, sympy.Integer(0)) + head
    return [(sympy.factor_terms(head), rest) for rest, head in groups.items() if head != 0]


def equations(d: Derivation) -> list[Equation]:
    """∂s_t/∂r_{t−1} for every pair of states, as LaTeX."""
    return [emit_latex.state_jacobian(d, s, r) for s in d.cell.states for r in d.cell.states]


class StepPrinter(NumPyPrinter):
    """NumPy code for one step's values: symbols by name, parameter vectors from ``params``."""

    def __init__(self, d: Derivation):
        super().__init__()
        self.d = d

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        var = self.d.vars[expr]
        return f'params["{var.name}"]' if var.kind == "param" else expr.name

    def _print_sigmoid(self, expr) -> str:
        return f"sigmoid({self._print(expr.args[0])})"

    def _print_tanh(self, expr) -> str:
        return f"np.tanh({self._print(expr.args[0])})"


class JacobianWriter:
    """Writes the module ``generated/jacobians/<cell>.py`` of one derived cell."""

    def __init__(self, d: Derivation, source: str):
        self.d, self.cell, self.source = d, d.cell, source
        self.printer = StepPrinter(d)
        self.uses_sigmoid = any("sigmoid" in str(eq.full) for eq in d.nodes)

    def module(self) -> str:
        """The whole module text."""
        states = ", ".join(self.cell.states)
        prevs = ", ".join(f"{s}_t−1" for s in self.cell.states)
        shapes = ", ".join(f'"{k}": {v}' for k, v in self.cell.param_shapes.items())
        parts = [
            f'"""One-step state Jacobians of {self.cell.title}.\n\n'
            f"Generated from {self.source} by `python -m derive generate`; do not edit.\n\n"
            f"blocks(params, x, …) gives ∂s_t/∂r_t−1 for the states s, r in ({states}), one (B, H, H) matrix\n"
            f"per pair and example; jacobian(params, x, …) stacks them into ∂({states})_t/∂({prevs}).\n"
            f"Each block is the sum of the paths printed in generated/latex/{self.cell.name}/jacobian.tex.\n"
            'Shapes: x (B, D), previous states (B, H); params as in PARAM_SHAPES.\n"""',
            "import numpy as np\n\nfrom derive.step_check import check_step",
            f'CELL = "{self.cell.name}"\nSTATES = {self.cell.states!r}\nPARAM_SHAPES = {{{shapes}}}',
        ]
        if self.uses_sigmoid:
            parts.append('def sigmoid(a):\n    """1 / (1 + e^-a), written without overflow."""\n'
                         "    return 0.5 * np.tanh(0.5 * a) + 0.5")
        parts += ["\n".join(self.blocks()), "\n".join(self.jacobian())]
        return "\n\n\n".join(parts) + "\n"

    def signature(self, name: str) -> str:
        """``def name(params, x, h_prev, c_prev):``"""
        return f"def {name}(params, x, {', '.join(s + PREV_SUFFIX for s in self.cell.states)}):"

    def blocks(self) -> list[str]:
        """Lines of ``blocks``: check the inputs, one step forward, every block as a sum of paths."""
        prevs = [s + PREV_SUFFIX for s in self.cell.states]
        checked = ", ".join(f'"{p}": {p}' for p in prevs)
        names = prevs[0] + "," if len(prevs) == 1 else ", ".join(prevs)
        lines = [
            self.signature("blocks"),
            '    """∂s_t/∂r_t−1 for every pair of states (s, r): {(s, r): (B, H, H)}; row k differentiates unit k of s_t."""',
            f"    x, ({names}) = check_step(CELL, PARAM_SHAPES, params, x, {{{checked}}})",
            f"    B, H = {prevs[0]}.shape",
            "    # one step forward",
            *(f"    {line}" for line in self.step()),
            "    # the paths through the step",
            "    return {",
        ]
        for s in self.cell.states:
            for r in self.cell.states:
                lines.append(f'        ("{s}", "{r}"): {self.block(s, r)},')
        return lines + ["    }"]

    def jacobian(self) -> list[str]:
        """Lines of ``jacobian``, which stacks the blocks."""
        prevs = [s + PREV_SUFFIX for s in self.cell.states]
        k = len(self.cell.states)
        size = "H" if k == 1 else f"{k}H"
        return [
            self.signature("jacobian"),
            f'    """The whole step Jacobian (B, {size}, {size}): blocks of ``blocks`` in the order of STATES."""',
            f"    parts = blocks(params, x, {', '.join(prevs)})",
            "    return np.block([[parts[s, r] for r in STATES] for s in STATES])",
        ]

    # --- one step forward ------------------------------------------------------------------

    def step(self) -> list[str]:
        """Assignments of every pre-activation, node and function value the paths read."""
        d, lines, done = self.d, [], set()
        for eq in d.nodes:
            for pre in eq.preacts:
                terms = [self.matmul(t.weight, t.source) for t in pre.terms]
                terms += [f'params["{b}"]' for b in pre.biases]
                lines.append(f"{pre.symbol.name} = {' + '.join(terms)}")
            lines += self.aux(eq.expr.free_symbols, done)
            lines.append(f"{eq.symbol.name} = {self.printer.doprint(eq.expr)}")
        return lines + self.aux(set(d.aux), done)

    def aux(self, wanted: set, done: set) -> list[str]:
        """Assignments of the function values (``tanh_c``) among ``wanted`` not yet computed."""
        new = sorted((wanted & set(self.d.aux)) - done, key=str)
        done.update(new)
        return [f"{a.name} = {self.printer.doprint(self.d.aux[a])}" for a in new]

    def matmul(self, weight: str, source: sympy.Symbol) -> str:
        """``source @ params["W"].T`` for a batch of row vectors."""
        name = INPUT if source == self.d.x else source.name
        return f'{name} @ params["{weight}"].T'

    # --- paths -----------------------------------------------------------------------------

    def block(self, state: str, source: str) -> str:
        """Code of ∂state_t/∂source_{t−1}: the sum of its grouped paths."""
        terms = [self.product((head, *rest)) for head, rest in grouped_paths(self.d, state, source)]
        if not terms:
            return "np.zeros((B, H, H), x.dtype)"
        return terms[0] if len(terms) == 1 else "(\n            " + "\n            + ".join(terms) + ")"

    def product(self, factors: tuple) -> str:
        """Code of the product of path factors, left to right: (B, H, H), or (H, H) for a lone weight."""
        head, rest = factors[0], factors[1:]
        if isinstance(head, str):
            weight = f'params["{head}"]'
            if not rest:
                return weight
            if len(rest) == 1 and not isinstance(rest[0], str):  # W diag(v): scale the columns
                return f"{weight} * {self.diagonal(rest[0])}[:, None, :]"
            return f"{weight} @ {self.wrap(self.product(rest))}"
        right = self.wrap(self.product(rest)) if rest else "np.eye(H, dtype=x.dtype)"
        return f"{self.diagonal(head)}[:, :, None] * {right}"

    def diagonal(self, expr: sympy.Expr) -> str:
        """A diagonal factor as a (B, H) operand."""
        code = self.printer.doprint(expr)
        if not any(self.d.vars[s].kind in PER_EXAMPLE for s in expr.free_symbols):
            return f"np.full((B, H), {code}, x.dtype)"
        return code if expr.is_Symbol else f"({code})"

    @staticmethod
    def wrap(code: str) -> str:
        """Parentheses around an operand unless it is a lone ``params[…]``."""
        return code if code.startswith("params[") and code.endswith("]") and " " not in code else f"({code})"


def package_init(command: str) -> str:
    """The docstring module of ``generated/jacobians``."""
    return (f'"""One-step state Jacobians of every generated cell. Generated from derive/jacobian.py by `{command}`; '
            'do not edit.\n\nEach module has blocks(params, x, <state>_prev, …) and jacobian(params, x, …).\n"""\n')
