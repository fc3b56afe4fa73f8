"""Plain-text math for a derived cell: ``δc = δh ⊙ o ⊙ (1 − tanh²(c)) + δc_next``.

Names are the spec's (``a_i`` is the pre-activation of ``i``, ``h_prev`` the state of the previous
step, ``δc_next`` what step t+1 hands back); products are elementwise (⊙). The kernels' comments
and the terminal output of ``show`` are printed with it.
"""

from __future__ import annotations

import sympy
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

from derive.cells import functions
from derive.derivation.bptt import Derivation, Linear

SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


class UnicodePrinter(StrPrinter):
    """Prints the expressions of one derivation with the spec's names, δ and ⊙."""

    def __init__(self, d: Derivation):
        super().__init__()
        self.d = d

    def name(self, s: sympy.Symbol) -> str:
        var = self.d.vars.get(s)
        if var is None:
            return s.name
        base = var.name.removesuffix("__next")
        if var.kind == "aux":
            return f"{functions.TABLE[var.func].unicode}({self.name(self.d.sym(var.of.name))})"
        if var.kind == "adjoint":
            return "δ" + self.name(self.d.sym(var.of.name))
        if var.kind == "carry":
            return f"δ{var.of.name}_next"
        if var.kind == "loss":
            return f"∂ℓ/∂{var.of.name}"
        return base

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        return self.name(expr)

    def _kind(self, expr: sympy.Expr) -> str:
        return self.d.vars[expr].kind if expr.is_Symbol and expr in self.d.vars else ""

    def _print_Add(self, expr: sympy.Add, order=None) -> str:
        def rank(term: sympy.Expr) -> tuple[int, bool]:  # the loss, this step's terms, then step t+1's
            kinds = {self._kind(s) for s in term.free_symbols}
            return (0 if "loss" in kinds else 2 if "carry" in kinds else 1), term.could_extract_minus_sign()
        terms = sorted(expr.as_ordered_terms(), key=rank)
        text = ""
        for k, term in enumerate(terms):
            negative = term.could_extract_minus_sign()
            body = self.parenthesize(-term if negative else term, PRECEDENCE["Add"])
            text += (("−" if negative else "") if k == 0 else (" − " if negative else " + ")) + body
        return text

    def _print_Mul(self, expr: sympy.Mul) -> str:
        coeff, factors = expr.as_coeff_mul()
        ordered = sorted(factors, key=lambda f: self._kind(f) not in ("adjoint", "loss", "carry"))
        body = " ⊙ ".join(self.parenthesize(f, PRECEDENCE["Mul"]) for f in ordered)
        if coeff == -1:
            return "−" + body
        return body if coeff == 1 else f"{self._print(coeff)} {body}"

    def _print_Pow(self, expr: sympy.Pow, rational: bool = False) -> str:
        base, exp = expr.args
        power = str(exp).translate(SUPERSCRIPT) if exp.is_Integer and exp > 0 else f"^{self._print(exp)}"
        var = self.d.vars.get(base) if base.is_Symbol else None
        if var is not None and var.kind == "aux":
            return f"{functions.TABLE[var.func].unicode}{power}({self.name(self.d.sym(var.of.name))})"
        if base.is_Symbol:
            return self.name(base) + power
        return f"({self._print(base)}){power}"

    def _print_Integer(self, expr: sympy.Integer) -> str:
        return str(expr).replace("-", "−")

    def parenthesize(self, item, level, strict=False) -> str:
        if precedence(item) < level or (strict and precedence(item) == level):
            return f"({self._print(item)})"
        return self._print(item)

    def linear(self, lin: Linear) -> str:
        """A term's contribution to its source's adjoint: ``Wᵀ δa``."""
        return f"{lin.weight}ᵀ {self.doprint(self.d.adjoint(lin.preact))}"

    def sum(self, expr: sympy.Expr, linear: tuple[Linear, ...] = ()) -> str:
        """``expr + Σ Wᵀ δa`` for an adjoint with matrix terms."""
        parts = ([self.doprint(expr)] if expr != 0 else []) + [self.linear(lin) for lin in linear]
        return " + ".join(parts) or "0"


def _unicode_call(entry: functions.Elementwise):
    def method(printer: UnicodePrinter, expr: sympy.Expr) -> str:
        return f"{entry.unicode}({printer._print(expr.args[0])})"
    return method


functions.printer_methods(UnicodePrinter, _unicode_call)


def blocks(d: Derivation) -> dict[str, list[tuple[str, str]]]:
    """Every equation of a cell as plain text, by block, each with the name ``:only:`` selects it by."""
    p = UnicodePrinter(d)
    step = "Σ_t "
    forward = [(n.name, f"{n.name} = {n.text}") for n in d.cell.nodes]
    preacts = [(pre.symbol.name, f"{pre.symbol.name} = " + " + ".join(
        [f"{t.weight} {p.name(t.source)}" for t in pre.terms] + list(pre.biases))) for pre in d.preacts]
    gradients = [(a.target.name, f"{p.doprint(a.target)} = {p.sum(a.expr, a.linear)}") for a in d.backward]
    gradients += [("", f"{p.doprint(a.target)} = {p.sum(a.expr, a.linear)}   (to step t − 1)") for a in d.carries]

    def term(c) -> str:
        if c.kind == "vector":
            return f"Σ_batch ({p.doprint(c.total.expr)})"
        delta = p.doprint(d.adjoint(c.preact))
        return f"{delta} {p.name(c.source)}ᵀ" if c.kind == "weight" else delta

    parameters = [(name, f"∂L/∂{name} = " + (step + " + ".join(map(term, terms)) if terms else "0"))
                  for name, terms in d.parameter_gradients().items()]
    x_terms = [p.linear(Linear(t.weight, pre.symbol)) for pre in d.preacts for t in pre.terms if t.source == d.x]
    inputs = [("x", "∂L/∂x_t = " + (" + ".join(x_terms) or "0"))]
    inputs += [(f"{s}0", f"∂L/∂{s}0 = δ{s}_prev at t = 1") for s in d.cell.states]
    return {"forward": forward, "preactivations": preacts, "gradients": gradients, "parameters": parameters,
            "inputs": inputs}
