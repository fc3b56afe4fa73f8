"""Print elementwise SymPy expressions as NumPy ufunc calls into preallocated buffers.

``np.multiply(f, c_prev, out=c)`` instead of ``c = f * c_prev``: no temporaries are allocated
inside the time loop. One ``_emit_<Node>`` method per SymPy node type, as SymPy's own printers do.
"""

from __future__ import annotations

from typing import Callable

import sympy

from .functions import sigmoid

AUGMENTED = {"add": "+=", "subtract": "-=", "multiply": "*="}


class Temps:
    """A pool of scratch buffers ``tmp0, tmp1, …`` of one shape; tracks how many are needed."""

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


class InplacePrinter:
    """Emits code lines computing expressions into named buffers."""

    def __init__(self, name: Callable[[sympy.Symbol], str], temps: Temps):
        self.name, self.temps = name, temps
        self.lines: list[str] = []

    def assign(self, expr: sympy.Expr, out: str) -> list[str]:
        """Lines that leave the value of ``expr`` in the buffer ``out``."""
        self.lines = []
        if out in {self.name(s) for s in expr.free_symbols}:
            raise ValueError(f"buffer {out} is read by the expression it receives: {expr}")
        self._emit(cheapest(expr), out)
        return self.lines

    def update(self, op: str, expr: sympy.Expr, out: str) -> list[str]:
        """Lines for ``out op= expr`` (op: add, subtract, multiply)."""
        self.lines = []
        self._combine(op, out, cheapest(expr))
        return self.lines

    # --- helpers ---------------------------------------------------------------------------

    def leaf(self, expr: sympy.Expr) -> str | None:
        if expr.is_Symbol:
            return self.name(expr)
        if expr.is_Number:
            return repr(int(expr)) if expr.is_Integer else repr(float(expr))
        return None

    def negate(self, source: str, out: str) -> None:
        # multiply by -1: NumPy 2.4's float32 np.negative writes wrong elements of some strided views
        self.call("multiply", source, "-1", out)

    def call(self, ufunc: str, a: str, b: str | None, out: str) -> None:
        if b is not None and a == out and ufunc in AUGMENTED:
            self.lines.append(f"{out} {AUGMENTED[ufunc]} {b}")
        elif b is None:
            self.lines.append(f"np.{ufunc}({a}, out={out})")
        else:
            self.lines.append(f"np.{ufunc}({a}, {b}, out={out})")

    def _combine(self, op: str, out: str, expr: sympy.Expr) -> None:
        """``out = out <op> expr``."""
        operand = self.leaf(expr)
        if operand is None:
            operand = self.temps.take()
            self._emit(expr, operand)
            self.temps.give(operand)
        self.call(op, out, operand, out)

    def _emit(self, expr: sympy.Expr, out: str) -> None:
        if self.leaf(expr) is not None:
            self.lines.append(f"np.copyto({out}, {self.leaf(expr)})")
            return
        getattr(self, "_emit_" + type(expr).__name__)(expr, out)

    # --- one method per node type ----------------------------------------------------------

    def _emit_Add(self, expr: sympy.Add, out: str) -> None:
        terms = [(-1, -t) if t.could_extract_minus_sign() else (1, t) for t in expr.args]
        terms.sort(key=lambda st: (self.leaf(st[1]) is not None, st[0] < 0))  # compound terms first
        sign, first = terms.pop(0)
        if self.leaf(first) is None:
            self._emit(first, out)
            if sign < 0:
                positive = next((t for t in terms if t[0] > 0 and self.leaf(t[1]) is not None), None)
                if positive:
                    terms.remove(positive)
                    self.call("subtract", self.leaf(positive[1]), out, out)
                else:
                    self.negate(out, out)
        else:
            second_sign, second = terms.pop(0)
            a, b = self.leaf(first), self.leaf(second)
            if sign > 0:
                self.call("add" if second_sign > 0 else "subtract", a, b, out)
            elif second_sign > 0:
                self.call("subtract", b, a, out)
            else:
                self.call("add", a, b, out)
                self.negate(out, out)
        for s, t in terms:
            self._combine("add" if s > 0 else "subtract", out, t)

    def _emit_Mul(self, expr: sympy.Mul, out: str) -> None:
        coeff, factors = expr.as_coeff_mul()
        compound = [f for f in factors if self.leaf(f) is None]
        leaves = [self.leaf(f) for f in factors if self.leaf(f) is not None]
        if compound:
            self._emit(compound[0], out)
            for f in compound[1:]:
                self._combine("multiply", out, f)
        elif len(leaves) >= 2:
            self.call("multiply", leaves.pop(0), leaves.pop(0), out)
        else:
            self.call("multiply", self.leaf(coeff), leaves.pop(0), out)
            coeff = sympy.S.One
        for leaf in leaves:
            self.call("multiply", out, leaf, out)
        if coeff == -1:
            self.negate(out, out)
        elif coeff != 1:
            self.call("multiply", out, self.leaf(coeff), out)

    def _emit_Pow(self, expr: sympy.Pow, out: str) -> None:
        base, exp = expr.args
        if not (exp.is_Integer and exp >= 2):
            raise ValueError(f"unsupported power in kernel code: {expr}")
        source = self.leaf(base)
        if source is None:
            self._emit(base, out)
            source = out
        if exp == 2:
            self.call("square", source, None, out)
        else:
            self.call("power", source, str(exp), out)

    def _emit_tanh(self, expr: sympy.tanh, out: str) -> None:
        self._apply("tanh", expr.args[0], out)

    def _emit_sigmoid(self, expr: sigmoid, out: str) -> None:
        self._apply("sigmoid", expr.args[0], out)

    def _apply(self, func: str, arg: sympy.Expr, out: str) -> None:
        source = self.leaf(arg)
        if source is None:
            self._emit(arg, out)
            source = out
        self._activate(func, source, out)

    def _activate(self, func: str, source: str, out: str) -> None:
        if func == "tanh":
            self.call("tanh", source, None, out)
        else:  # σ(a) = 1 / (1 + e^{−a}); e^{−a} = inf gives exactly 0 (kernels ignore that overflow)
            self.negate(source, out)
            self.call("exp", out, None, out)
            self.call("add", out, "1", out)
            self.call("reciprocal", out, None, out)

    def activate(self, func: str, buffer: str) -> list[str]:
        """Lines applying ``func`` to a buffer in place."""
        self.lines = []
        self._activate(func, buffer, buffer)
        return self.lines
