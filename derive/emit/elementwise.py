"""Elementwise SymPy expressions lowered to NumPy ufunc calls into preallocated buffers.

``np.multiply(f, c_prev, out=c)`` instead of ``c = f * c_prev``: no temporaries are allocated inside
the time loop. :class:`Lowering` is a SymPy :class:`~sympy.printing.printer.Printer` whose
``_print_<Node>`` methods return :mod:`~derive.emit.program` statements instead of text; the
functions of the spec language are lowered as their entry in :mod:`derive.cells.functions` says.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy
from sympy.printing.printer import Printer

from derive.cells import functions

from .program import Statement, Ufunc, copy


class Temps:
    """A pool of scratch buffers ``tmp0, tmp1, …`` of one shape; counts how many are needed."""

    def __init__(self, prefix: str = "tmp"):
        self.prefix, self.free, self.count = prefix, [], 0

    def take(self) -> str:
        if self.free:
            return self.free.pop()
        self.count += 1
        return f"{self.prefix}{self.count - 1}"

    def give(self, name: str) -> None:
        self.free.append(name)

    def names(self) -> list[str]:
        return [f"{self.prefix}{i}" for i in range(self.count)]


def cheapest(expr: sympy.Expr) -> sympy.Expr:
    """The form of ``expr`` with the fewest operations among a few rewritings (collect, expand)."""
    expanded = sympy.expand(expr)
    candidates = [expr, expanded, *(sympy.collect(expanded, s) for s in sorted(expr.free_symbols, key=str))]
    return min(candidates, key=sympy.count_ops)


def call(func: str, a: str, b: str | None, out: str) -> Ufunc:
    """One ufunc call: ``np.func(a, b, out=out)`` (printed ``out op= b`` in place)."""
    return Ufunc(func, (a,) if b is None else (a, b), out)


def activate(func: str, source: str, out: str, negated: bool = False) -> list[Statement]:
    """Apply an elementwise function of the table to ``source`` (which holds −a when negated), leaving the
    result in ``out``."""
    entry = functions.TABLE[func]
    steps = entry.negated if negated else entry.inplace
    return [call(f, source if k == 0 else out, operand, out) for k, (f, operand) in enumerate(steps)]


class Lowering(Printer):
    """Statements computing expressions into named buffers; ``name`` maps a symbol to its buffer."""

    def __init__(self, name: Callable[[sympy.Symbol], str], temps: Temps):
        super().__init__()
        self.name, self.temps = name, temps

    def assign(self, expr: sympy.Expr, out: str) -> list[Statement]:
        """Statements that leave the value of ``expr`` in the buffer ``out``."""
        if out in {self.name(s) for s in expr.free_symbols}:
            raise ValueError(f"buffer {out} is read by the expression it receives: {expr}")
        return self.lower(cheapest(expr), out)

    def update(self, op: str, expr: sympy.Expr, out: str) -> list[Statement]:
        """Statements for ``out op= expr`` (op: add, subtract, multiply)."""
        return self.combine(op, out, cheapest(expr))

    def leaf(self, expr: sympy.Expr) -> str | None:
        """A symbol's buffer or a number's literal; None for compound expressions."""
        if expr.is_Symbol:
            return self.name(expr)
        if expr.is_Number:
            return repr(int(expr)) if expr.is_Integer else repr(float(expr))
        return None

    def lower(self, expr: sympy.Expr, out: str) -> list[Statement]:
        leaf = self.leaf(expr)
        return [copy(out, leaf)] if leaf is not None else self._print(expr, out=out)

    def combine(self, op: str, out: str, expr: sympy.Expr) -> list[Statement]:
        """``out = out <op> expr``, through a scratch buffer when expr is compound."""
        operand = self.leaf(expr)
        if operand is not None:
            return [call(op, out, operand, out)]
        scratch = self.temps.take()
        body = self.lower(expr, scratch)
        self.temps.give(scratch)
        return [*body, call(op, out, scratch, out)]

    def negate(self, source: str, out: str) -> Ufunc:
        # multiply by -1: NumPy 2.4's float32 np.negative writes wrong elements of some strided views
        return call("multiply", source, "-1", out)

    def emptyPrinter(self, expr):
        raise ValueError(f"unsupported expression in kernel code: {expr}")

    # --- one method per node type ----------------------------------------------------------

    def _print_Add(self, expr: sympy.Add, out: str) -> list[Statement]:
        terms = [(-1, -t) if t.could_extract_minus_sign() else (1, t) for t in expr.args]
        terms.sort(key=lambda st: (self.leaf(st[1]) is not None, st[0] < 0))  # compound terms first
        sign, first = terms.pop(0)
        body: list[Statement] = []
        if self.leaf(first) is None:
            body += self.lower(first, out)
            if sign < 0:
                positive = next((t for t in terms if t[0] > 0 and self.leaf(t[1]) is not None), None)
                if positive:
                    terms.remove(positive)
                    body.append(call("subtract", self.leaf(positive[1]), out, out))
                else:
                    body.append(self.negate(out, out))
        else:
            second_sign, second = terms.pop(0)
            a, b = self.leaf(first), self.leaf(second)
            if sign > 0:
                body.append(call("add" if second_sign > 0 else "subtract", a, b, out))
            elif second_sign > 0:
                body.append(call("subtract", b, a, out))
            else:
                body += [call("add", a, b, out), self.negate(out, out)]
        for s, t in terms:
            body += self.combine("add" if s > 0 else "subtract", out, t)
        return body

    def _print_Mul(self, expr: sympy.Mul, out: str) -> list[Statement]:
        coeff, factors = expr.as_coeff_mul()
        compound = [f for f in factors if self.leaf(f) is None]
        leaves = [self.leaf(f) for f in factors if self.leaf(f) is not None]
        body: list[Statement] = []
        if compound:
            body += self.lower(compound[0], out)
            for f in compound[1:]:
                body += self.combine("multiply", out, f)
        elif len(leaves) >= 2:
            body.append(call("multiply", leaves.pop(0), leaves.pop(0), out))
        else:
            body.append(call("multiply", self.leaf(coeff), leaves.pop(0), out))
            coeff = sympy.S.One
        body += [call("multiply", out, leaf, out) for leaf in leaves]
        if coeff == -1:
            body.append(self.negate(out, out))
        elif coeff != 1:
            body.append(call("multiply", out, self.leaf(coeff), out))
        return body

    def _print_Pow(self, expr: sympy.Pow, out: str) -> list[Statement]:
        base, exp = expr.args
        if not (exp.is_Integer and exp >= 2):
            raise ValueError(f"unsupported power in kernel code: {expr}")
        source = self.leaf(base)
        body: list[Statement] = []
        if source is None:
            body += self.lower(base, out)
            source = out
        return body + [call("square", source, None, out) if exp == 2 else call("power", source, str(exp), out)]

    def apply(self, func: str, arg: sympy.Expr, out: str) -> list[Statement]:
        """``out = func(arg)`` for a function of the table."""
        source = self.leaf(arg)
        body: list[Statement] = []
        if source is None:
            body += self.lower(arg, out)
            source = out
        return body + activate(func, source, out)


def _lowered_call(entry: functions.Elementwise):
    def method(lowering: Lowering, expr: sympy.Expr, out: str) -> list[Statement]:
        return lowering.apply(entry.name, expr.args[0], out)
    return method


functions.printer_methods(Lowering, _lowered_call)
