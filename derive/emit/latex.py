"""LaTeX printer: the forward equations and every BPTT gradient of a derived cell, in vector form.

Products are elementwise (⊙), δ denotes the gradient of the loss L with respect to a quantity of one
time step, ``\\bar{i}_t`` is the pre-activation of gate ``i`` (a bar, as Greff et al. write it: a hat
is the prediction ``\\hat{y}``). The printer reads the same
:class:`~derive.derivation.bptt.Derivation` as the NumPy printer, through a
:class:`~derive.emit.notation.Notation` that decides only how symbols are written.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import sympy
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from derive.cells import functions
from derive.cells.spec import SpecError
from derive.derivation.bptt import Assign, Contribution, Derivation, Linear, Var
from derive.derivation.equivalence import NegatedGate
from derive.derivation.jacobian import jacobian_paths
from derive.derivation.steps import chain_rule

from .notation import SPEC, Notation, Term


@dataclass(frozen=True)
class Equation:
    """One printed equation: ``lhs = rhs``; ``name`` says which quantity it defines."""

    name: str
    lhs: str
    rhs: str

    def aligned(self) -> str:
        """``lhs &= rhs``; a long sum continues on aligned lines, one group of terms per line."""
        lines = break_sum(self.rhs)
        return " \\\\\n".join([f"{self.lhs} &= {lines[0]}", *(rf"&\quad {line}" for line in lines[1:])])


LINE = 150  # characters of LaTeX per printed line of a long sum, about the width of the column


def top_level_cuts(latex: str) -> list[int]:
    """Where a LaTeX sum has a ``+`` or ``-`` outside every brace and ``\\left … \\right`` pair."""
    cuts, depth = [], 0
    for k, char in enumerate(latex):
        if latex.startswith(r"\left", k) or char == "{":
            depth += 1
        elif latex.startswith(r"\right", k) or char == "}":
            depth -= 1
        elif depth == 0 and char in "+-" and latex[k - 1:k] == " " and latex[k + 1:k + 2] == " ":
            cuts.append(k)
    return cuts


def break_sum(latex: str, width: int = LINE) -> list[str]:
    """A sum cut before its top-level ``+`` and ``-`` into lines of about ``width`` characters."""
    if len(latex) <= width:
        return [latex]
    lines, start = [], 0
    for cut in top_level_cuts(latex):
        if cut - start > width:
            lines.append(latex[start:cut].rstrip())
            start = cut
    return [*lines, latex[start:]]


def terms(latex: str) -> list[str]:
    """The top-level terms of a LaTeX sum of positive terms."""
    bounds = [0, *top_level_cuts(latex), len(latex)]
    return [latex[a:b].strip().removeprefix("+ ") for a, b in pairwise(bounds)]


class CellLatexPrinter(LatexPrinter):
    """Prints the symbols of one derivation in one notation at a given time index."""

    printmethod = "_cell_latex"

    def __init__(self, d: Derivation, notation: Notation = SPEC, t: str = "t", expand: bool = False):
        super().__init__({"order": "none" if expand else None})
        self.d, self.notation, self.t, self.expand = d, notation.for_cell(d.cell.name), t, expand

    # --- pieces ----------------------------------------------------------------------------

    def index(self, offset: int) -> str:
        if self.t.lstrip("-").isdigit():
            return str(int(self.t) + offset)
        return self.t if offset == 0 else f"{self.t}{offset:+d}"

    def name(self, name: str) -> str:
        return self.notation.base(self.d.cell.name, name)

    def value(self, var: Var, offset: int = 0) -> str:
        """A quantity at step t + offset (adjoints add δ in front)."""
        offset += var.step
        if var.kind == "input":
            return self.notation.timed(self.name(var.name), self.index(offset))
        if var.kind == "node":
            return self.notation.timed(self.name(var.name.removesuffix("__next")), self.index(offset))
        if var.kind == "prev":
            return self.value(var.of, offset - 1)
        if var.kind == "param":
            return self.name(var.name)
        if var.kind == "preact":
            return self.notation.timed(self.preact_base(var), self.index(offset))
        if var.kind == "aux":
            return rf"{functions.TABLE[var.func].latex}\left({self.value(var.of, offset)}\right)"
        if var.kind == "adjoint":
            if var.of.kind == "preact" and identity_preact(self.d, var.of):  # δ of the node itself
                return rf"\delta {self.value(var.of.of, offset)}"
            return rf"\delta {self.value(var.of, offset)}"
        if var.kind == "loss":
            loss = self.notation.timed(self.notation.loss, self.index(offset))
            return rf"\frac{{\partial {loss}}}{{\partial {self.value(var.of, offset)}}}"
        raise ValueError(f"no LaTeX for {var}")

    def preact_base(self, var: Var) -> str:
        base = rf"\bar{{{self.name(var.of.name)}}}"
        return base + (f"^{{({self.name(var.tag)})}}" if var.tag else "")

    def affine(self, var: Var, offset: int = 0) -> str:
        """A pre-activation spelled out in the notation's form: ``W_i x_t + U_i h_{t-1} + b_i``, …"""
        preact = next(p for p in self.d.preacts if p.symbol.name == var.name.removesuffix("__next"))
        terms = [Term(self.name(t.weight), self.value(self.d.vars[t.source], offset), t.source == self.d.x)
                 for t in preact.terms]
        biases = [self.name(b) for k, b in enumerate(preact.biases) if self.notation.shows(k)]
        node = "" if var.tag else preact.node  # a concatenated weight stands for a node's main part only
        return self.notation.affine_sum(self.d.cell.name, node, terms, biases)

    def linear(self, lin: Linear, offset: int = 0) -> str:
        """A term's contribution to the adjoint of its source: ``W^T δâ``."""
        delta = self.value(self.d.vars[self.d.adjoint(lin.preact)], offset)
        return self.notation.backprop(self.name(lin.weight), delta)

    # --- SymPy hooks -----------------------------------------------------------------------

    def _print_Symbol(self, expr: sympy.Symbol, style: str = "plain") -> str:
        var = self.d.vars.get(expr)
        if var is None:
            return super()._print_Symbol(expr)
        if var.kind == "preact" and self.expand:
            return self.affine(var)
        return self.value(var)

    def _kind(self, expr: sympy.Expr) -> str:
        return self.d.vars[expr].kind if expr.is_Symbol and expr in self.d.vars else ""

    def _as_ordered_terms(self, expr, order=None):
        """Sums read: the loss term, then this step's terms, then those from step t+1; within each, the
        positive terms first, so that a difference reads ``(\\tilde{h}_t - h_{t-1})``."""
        terms = super()._as_ordered_terms(expr, order=order)

        def rank(term):
            kinds = {self._kind(s) for s in term.free_symbols}
            later = any(self.d.vars[s].step > 0 for s in term.free_symbols if s in self.d.vars)
            return (0 if "loss" in kinds else 2 if later else 1), term.could_extract_minus_sign()
        return sorted(terms, key=rank)

    def _print_Mul(self, expr: sympy.Mul) -> str:
        coeff, factors = expr.as_coeff_mul()
        adjoint_first = sorted(factors, key=lambda f: self._kind(f) not in ("adjoint", "loss"))
        parts = [self._factor(f) for f in adjoint_first]
        body = r" \odot ".join(parts)
        if coeff == -1:
            return "-" + body
        return body if coeff == 1 else f"{self._print(coeff)} {body}"

    def _factor(self, f: sympy.Expr) -> str:
        var = self.d.vars.get(f) if f.is_Symbol else None
        if var is not None and var.kind == "preact" and self.expand and " " in self.affine(var):
            return rf"\left({self.affine(var)}\right)"
        return self.parenthesize(f, PRECEDENCE["Mul"])

    def _print_Pow(self, expr: sympy.Pow) -> str:
        base, exp = expr.args
        var = self.d.vars.get(base) if base.is_Symbol else None
        if var is not None and var.kind == "aux":
            func = functions.TABLE[var.func].latex
            return rf"{func}^{{{self._print(exp)}}}\left({self.value(var.of)}\right)"
        return super()._print_Pow(expr)


def _latex_call(entry: functions.Elementwise):
    def method(printer: CellLatexPrinter, expr: sympy.Expr) -> str:
        return rf"{entry.latex}\left({printer._print(expr.args[0])}\right)"
    return method


functions.printer_methods(CellLatexPrinter, _latex_call)


# --- equation blocks ---------------------------------------------------------------------------


def identity_preact(d: Derivation, preact: Var) -> bool:
    """Whether a node is its pre-activation, with no function applied (Greff's NIAF candidate): then
    both have one δ, and printing ``δ\\bar{g}_t = δg_t`` would only add noise."""
    return d.node(preact.of.name).full == d.sym(preact.name)


def forward(d: Derivation, notation: Notation = SPEC) -> list[Equation]:
    """One equation per node, pre-activations spelled out."""
    p = CellLatexPrinter(d, notation, expand=True)
    return [Equation(eq.symbol.name, p.doprint(eq.symbol), p.doprint(eq.display)) for eq in d.nodes]


def preactivations(d: Derivation, notation: Notation = SPEC) -> list[Equation]:
    """Every pre-activation the gradients name, spelled out: ``\\bar{f}_t = W_f x_t + U_f h_{t-1} + b_f``."""
    p, spelled = CellLatexPrinter(d, notation), CellLatexPrinter(d, notation, expand=True)
    return [Equation(pre.symbol.name, p.doprint(pre.symbol), spelled.affine(d.vars[pre.symbol])) for pre in d.preacts
            if not identity_preact(d, d.vars[pre.symbol])]


def gradients(d: Derivation, notation: Notation = SPEC) -> list[Equation]:
    """δ of every node and pre-activation at step t, the recurrences through t+1 written out."""
    p = CellLatexPrinter(d, notation)
    carries = {d.vars[a.target].of.of.name: a for a in d.carries}
    equations = []
    for a in d.backward:
        if is_noise(d, a):
            continue
        expr, extra = a.expr, [p.linear(lin) for lin in a.linear]
        for state, carry in carries.items():
            symbol = d.sym(f"d_{state}_next")
            if symbol in expr.free_symbols:
                expr = expr.xreplace({symbol: d.shifted(carry.expr)})
                extra += [p.linear(lin, 1) for lin in carry.linear]
        equations.append(Equation(a.target.name, p.doprint(a.target), _join(p, expr, extra)))
    return equations


def derivation(d: Derivation, notation: Notation = SPEC) -> list[Equation]:
    """Every adjoint derived in three parts: the chain rule over the paths to the loss, the local
    derivatives it needs (named ``<adjoint>:<reader>``), the result (``<adjoint>:result``)."""
    p = CellLatexPrinter(d, notation)
    results = {e.name: e for e in gradients(d, notation)}

    def partial(reader: sympy.Symbol, of: sympy.Symbol, later: bool) -> str:
        top = p.value(d.vars[reader], 1 if later else 0)
        return rf"\frac{{\partial {top}}}{{\partial {p.value(d.vars[of])}}}"

    equations = []
    for step in chain_rule(d):
        if is_noise(d, step.result):
            continue
        name = step.result.target.name
        terms = [p.value(d.vars[d.sym(f"dl_{d.vars[step.of].name}")])] if step.loss else []
        terms += [rf"{p.value(d.vars[d.adjoint(link.reader)], int(link.later))} \odot "
                  + partial(link.reader, step.of, link.later) for link in step.links]
        terms += [p.linear(lin) for lin in step.linear] + [p.linear(lin, 1) for lin in step.later_linear]
        lhs = p.doprint(step.result.target)
        equations.append(Equation(name, lhs, " + ".join(terms) or "0"))
        for link in step.links:
            local = d.shifted(link.local) if link.later else link.local
            suffix = "_next" if link.later else ""
            equations.append(Equation(f"{name}:{link.reader.name}{suffix}",
                                      partial(link.reader, step.of, link.later), p.doprint(local)))
        if results[name].rhs != equations[-1 - len(step.links)].rhs:  # a rule with nothing to substitute is its result
            equations.append(Equation(f"{name}:result", lhs, results[name].rhs))
    return equations


def parameter_gradients(d: Derivation, notation: Notation = SPEC) -> list[Equation]:
    """∂L/∂W as sums over time of outer products; biases and other vectors as sums of δ."""
    p = CellLatexPrinter(d, notation)
    total = r"\sum_{t=1}^{T} "

    def term(c: Contribution) -> str:
        if c.kind == "vector":
            return p.parenthesize(c.total.expr, PRECEDENCE["Mul"])
        delta = p.value(d.vars[d.adjoint(c.preact)])
        return p.notation.outer(delta, p.value(d.vars[c.source])) if c.kind == "weight" else delta

    hidden = {b for pre in d.preacts for k, b in enumerate(pre.biases) if not notation.shows(k)}
    parts = {name: [term(c) for c in terms] for name, terms in d.parameter_gradients().items()
             if name not in hidden}
    merged: dict[str, list[str]] = {}  # equal gradients (the two biases of a gate) share a line
    for name, terms in parts.items():
        rhs = "0" if not terms else total + (terms[0] if len(terms) == 1 else rf"\left({' + '.join(terms)}\right)")
        merged.setdefault(rhs, []).append(name)
    return [Equation(names[0], " = ".join(rf"\frac{{\partial L}}{{\partial {p.name(n)}}}" for n in names), rhs)
            for rhs, names in merged.items()]


def input_gradients(d: Derivation, notation: Notation = SPEC) -> list[Equation]:
    """∂L/∂x_t, and ∂L/∂s_0 for every state s: the recurrences evaluated at t = 1."""
    p, first = CellLatexPrinter(d, notation), CellLatexPrinter(d, notation, t="1")
    x_terms = [p.linear(Linear(t.weight, pre.symbol)) for pre in d.preacts for t in pre.terms if t.source == d.x]
    equations = [Equation("x", rf"\frac{{\partial L}}{{\partial {p.value(d.vars[d.x])}}}", " + ".join(x_terms) or "0")]
    for a in d.carries:
        state = d.vars[a.target].of.of
        lhs = rf"\frac{{\partial L}}{{\partial {first.value(state, -1)}}}"
        equations.append(Equation(state.name + "0", lhs, _join(first, a.expr, [first.linear(lin) for lin in a.linear])))
    return equations


def state_jacobian(d: Derivation, state: str, source: str, notation: Notation = SPEC) -> Equation:
    """``∂state_t/∂source_{t−1}`` as a sum of diag(…) and weight products, one per path through the step."""
    p = CellLatexPrinter(d, notation)
    def factor(f) -> str:
        return p.notation.matrix(p.name(f)) if isinstance(f, str) else rf"\operatorname{{diag}}\left({p.doprint(f)}\right)"
    terms = [" ".join(map(factor, path)) or "I" for path in jacobian_paths(d, state, source, links=True)]
    lhs = rf"\frac{{\partial {p.value(d.vars[d.sym(state)])}}}{{\partial {p.value(d.vars[d.sym(source)], -1)}}}"
    return Equation(f"{state}/{source}", lhs, " + ".join(terms) or "0")


def state_path(d: Derivation, state: str, through: str, notation: Notation = SPEC) -> Equation:
    """``d state_t / d state_{t−1}`` including the path through ``through_{t−1}``, which step t−1 computes
    from ``state_{t−1}`` (the LSTM's h from c): the one-step Jacobian plus that path."""
    s_sym, r_sym = d.sym(state), d.sym(through)
    if (r_sym, s_sym) not in d.local:
        raise SpecError(f"cell {d.cell.name!r}: {through!r} is not computed from {state!r} within a step")
    p, before = CellLatexPrinter(d, notation), CellLatexPrinter(d, notation, t="t-1")
    direct = state_jacobian(d, state, state, notation).rhs
    across = state_jacobian(d, state, through, notation).rhs
    inner = rf"\operatorname{{diag}}\left({before.doprint(d.local[r_sym, s_sym])}\right)"
    lhs = rf"\frac{{d {p.value(d.vars[s_sym])}}}{{d {p.value(d.vars[s_sym], -1)}}}"
    paths = " + ".join(f"{term} {inner}" for term in terms(across))  # one path through each weight
    return Equation(f"{state}/{state} via {through}", lhs, f"{direct} + {paths}")


def jacobian_equations(d: Derivation) -> list[Equation]:
    """∂s_t/∂r_{t−1} for every pair of states."""
    return [state_jacobian(d, s, r) for s in d.cell.states for r in d.cell.states]


def negated_gate_steps(proof: NegatedGate, notation: Notation = SPEC) -> list[Equation]:
    """The steps of the proof that two cells are one after negating a gate: the identity, both outputs."""
    p_a, p_b = CellLatexPrinter(proof.first, notation), CellLatexPrinter(proof.second, notation)
    lhs = p_a.doprint(proof.first.sym(proof.first.cell.output))
    return [
        Equation("identity", p_a.doprint(proof.identity[0]), p_a.doprint(proof.identity[1])),
        Equation(proof.second.cell.name, lhs, p_b.doprint(proof.second_output)),
        Equation(proof.first.cell.name, lhs, p_a.doprint(proof.first_output)),
    ]


def is_noise(d: Derivation, a: Assign) -> bool:
    """An adjoint line that says only that a pre-activation and its node share their δ."""
    var = d.vars[a.target].of
    return var.kind == "preact" and identity_preact(d, var)


def _join(p: CellLatexPrinter, expr: sympy.Expr, extra: list[str]) -> str:
    parts = ([p.doprint(expr)] if expr != 0 else []) + extra
    return " + ".join(parts) or "0"


def aligned(equations: list[Equation]) -> str:
    """The equations as one ``aligned`` environment body."""
    return " \\\\\n".join(e.aligned() for e in equations)


BLOCKS = {
    "forward": forward,
    "preactivations": preactivations,
    "gradients": gradients,
    "derivation": derivation,
    "parameters": parameter_gradients,
    "inputs": input_gradients,
}


def block(d: Derivation, name: str, notation: Notation = SPEC) -> list[Equation]:
    """One named block of equations (forward, preactivations, gradients, derivation, parameters, inputs)."""
    return BLOCKS[name](d, notation)
