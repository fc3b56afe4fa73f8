"""The module ``generated/jacobians/<cell>.py``: one-step state Jacobians of a derived cell in NumPy.

It evaluates one step forward for a batch, then every path of
:func:`derive.derivation.jacobian.grouped_paths`, giving one ``(B, H, H)`` matrix per pair of states
and example. Built as a :mod:`~derive.emit.program` like the kernels.
"""

from __future__ import annotations

import sympy
from sympy.printing.numpy import NumPyPrinter

from derive.cells import functions
from derive.cells.spec import INPUT, PREV_SUFFIX
from derive.derivation.bptt import Derivation
from derive.derivation.jacobian import grouped_paths

from .kernel import REGENERATE, module_constants
from .program import (
    Bind,
    Call,
    Comment,
    Dict,
    Function,
    Module,
    PythonPrinter,
    Return,
    Statement,
    Terms,
    quoted,
    reads,
)

PER_EXAMPLE = ("node", "prev", "preact", "aux", "input")


class StepPrinter(NumPyPrinter):
    """NumPy code for one step's values: symbols by name, parameter vectors from ``params``."""

    def __init__(self, d: Derivation):
        super().__init__()
        self.d = d

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        var = self.d.vars[expr]
        return f"params[{quoted(var.name)}]" if var.kind == "param" else expr.name


def _step_call(entry: functions.Elementwise):
    def method(printer: StepPrinter, expr: sympy.Expr) -> str:
        return f"{entry.step_call}({printer._print(expr.args[0])})"
    return method


functions.printer_methods(StepPrinter, _step_call)


class JacobianBuilder:
    """Builds the Jacobian module of one derived cell."""

    def __init__(self, d: Derivation, source: str):
        self.d, self.cell, self.source = d, d.cell, source
        self.printer = StepPrinter(d)
        self.prevs = tuple(s + PREV_SUFFIX for s in self.cell.states)

    def text(self) -> str:
        """The module as Python source."""
        return PythonPrinter().doprint(self.module())

    def module(self) -> Module:
        states = ", ".join(self.cell.states)
        prevs = ", ".join(f"{s}_t−1" for s in self.cell.states)
        doc = (f"One-step state Jacobians of {self.cell.title}.\n\n"
               f"Generated from {self.source} by `{REGENERATE}`; do not edit.\n\n"
               f"blocks(params, x, …) gives ∂s_t/∂r_t−1 for the states s, r in ({states}), one (B, H, H)\n"
               f"matrix per pair and example; jacobian(params, x, …) stacks them into\n"
               f"∂({states})_t/∂({prevs}). Each block is the sum of the paths printed in\n"
               f"generated/latex/{self.cell.name}/jacobian.tex.\n"
               "Shapes: x (B, D), previous states (B, H); params as in PARAM_SHAPES.")
        helpers = [Function(entry.name, ("a",), entry.step_helper[0], (Return(entry.step_helper[1]),))
                   for entry in self.functions_used() if entry.step_helper]
        return Module(doc, ("import numpy as np", "", "from derive.runtime import check_step"),
                      module_constants(self.cell), (*helpers, self.blocks(), self.jacobian()))

    def functions_used(self) -> list[functions.Elementwise]:
        """The table's functions that the step applies, in table order."""
        used = {f.name for eq in self.d.nodes for f in (functions.of(c) for c in eq.full.atoms(sympy.Function)) if f}
        return [entry for name, entry in functions.TABLE.items() if name in used]

    def blocks(self) -> Function:
        """``blocks``: check the inputs, one step forward, every block as a sum of paths."""
        checked = Dict(tuple((quoted(p), p) for p in self.prevs))
        names = f"({self.prevs[0]},)" if len(self.prevs) == 1 else f"({', '.join(self.prevs)})"
        paths: list[Statement] = [
            Comment("the paths through the step"),
            Return(Dict(tuple((f"({quoted(s)}, {quoted(r)})", self.block(s, r))
                              for s in self.cell.states for r in self.cell.states))),
        ]
        size = [Bind(("H",), (f"{self.prevs[0]}.shape[1]",))] if "H" in reads(paths) else []
        body: list[Statement] = [
            Bind(("x", names), (Call("check_step", ("CELL", "PARAM_SHAPES", "params", "x", checked)),)),
            *size, Comment("one step forward"), *self.step(), *paths,
        ]
        doc = "∂s_t/∂r_t−1 for every pair of states (s, r): {(s, r): (B, H, H)}; row k differentiates unit k of s_t."
        return Function("blocks", ("params", "x", *self.prevs), doc, tuple(body))

    def jacobian(self) -> Function:
        """``jacobian``, which stacks the blocks."""
        k = len(self.cell.states)
        size = "H" if k == 1 else f"{k}H"
        return Function("jacobian", ("params", "x", *self.prevs),
                        f"The whole step Jacobian (B, {size}, {size}): blocks of ``blocks`` in the order of STATES.",
                        (Bind(("parts",), (f"blocks(params, x, {', '.join(self.prevs)})",)),
                         Return("np.block([[parts[s, r] for r in STATES] for s in STATES])")))

    # --- one step forward ------------------------------------------------------------------

    def step(self) -> list[Statement]:
        """Assignments of every pre-activation, node and function value the paths read."""
        needed = self.needed()
        body: list[Statement] = []
        done: set = set()
        for eq in self.d.nodes:
            for pre in eq.preacts:
                if pre.symbol in needed:
                    terms = [self.matmul(t.weight, t.source) for t in pre.terms]
                    body.append(Bind((pre.symbol.name,), (" + ".join(terms + [f"params[{quoted(b)}]" for b in pre.biases]),)))
            body += self.aux(eq.expr.free_symbols & needed, done)
            if eq.symbol in needed:
                body.append(Bind((eq.symbol.name,), (self.printer.doprint(eq.expr),)))
        return body + self.aux(set(self.d.aux) & needed, done)

    def needed(self) -> set[sympy.Symbol]:
        """Every value of the step that a path reads, with the values those are computed from."""
        wanted = {s for state in self.cell.states for r in self.cell.states
                  for head, rest in grouped_paths(self.d, state, r)
                  for f in (head, *rest) if not isinstance(f, str) for s in f.free_symbols}
        definitions = {eq.symbol: eq.expr for eq in self.d.nodes}
        definitions.update(self.d.aux)
        preacts = {p.symbol: p for p in self.d.preacts}
        pending, found = list(wanted), set()
        while pending:
            s = pending.pop()
            if s in found:
                continue
            found.add(s)
            if s in definitions:
                pending += definitions[s].free_symbols
            elif s in preacts:
                pending += [t.source for t in preacts[s].terms]
        return found

    def aux(self, wanted: set, done: set) -> list[Statement]:
        """Assignments of the function values (``tanh_c``) among ``wanted`` not yet computed."""
        new = sorted((wanted & set(self.d.aux)) - done, key=str)
        done.update(new)
        return [Bind((a.name,), (self.printer.doprint(self.d.aux[a]),)) for a in new]

    def matmul(self, weight: str, source: sympy.Symbol) -> str:
        """``source @ params["W"].T`` for a batch of row vectors."""
        name = INPUT if source == self.d.x else source.name
        return f"{name} @ params[{quoted(weight)}].T"

    # --- paths -----------------------------------------------------------------------------

    def block(self, state: str, source: str) -> str | Terms:
        """Code of ∂state_t/∂source_{t−1}: the sum of its grouped paths."""
        terms = [self.product((head, *rest)) for head, rest in grouped_paths(self.d, state, source)]
        if not terms:
            return f"np.zeros(({self.prevs[0]}.shape[0], H, H), x.dtype)"
        return terms[0] if len(terms) == 1 else Terms(tuple(terms))

    def product(self, factors: tuple) -> str:
        """Code of the product of path factors, left to right: (B, H, H), or (H, H) for a lone weight."""
        head, rest = factors[0], factors[1:]
        if isinstance(head, str):
            weight = f"params[{quoted(head)}]"
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
            return f"np.full(({self.prevs[0]}.shape[0], H), {code}, x.dtype)"
        return code if expr.is_Symbol else f"({code})"

    @staticmethod
    def wrap(code: str) -> str:
        """Parentheses around an operand unless it is a lone ``params[…]``."""
        return code if code.startswith("params[") and code.endswith("]") and " " not in code else f"({code})"
