"""Elementwise functions of the spec language as SymPy functions with their derivatives."""

from __future__ import annotations

import sympy


class sigmoid(sympy.Function):
    """The logistic function σ(a) = 1 / (1 + exp(−a))."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return self * (1 - self)

    @classmethod
    def eval(cls, arg):
        if arg.is_zero:
            return sympy.Rational(1, 2)
        return None

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return 1 / (1 + sympy.exp(-arg))

    def _latex(self, printer) -> str:
        return rf"\sigma\left({printer._print(self.args[0])}\right)"


class tanh(sympy.Function):
    """The hyperbolic tangent, kept as written: SymPy's own ``tanh`` turns tanh(1 − c) into −tanh(c − 1),
    which would hide the function value a node computes."""

    nargs = 1

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return 1 - self**2

    @classmethod
    def eval(cls, arg):
        if arg.is_zero:
            return sympy.S.Zero
        return None

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return (sympy.exp(arg) - sympy.exp(-arg)) / (sympy.exp(arg) + sympy.exp(-arg))

    def _latex(self, printer) -> str:
        return rf"\tanh\left({printer._print(self.args[0])}\right)"


FUNCTIONS: dict[str, type[sympy.Function]] = {"sigmoid": sigmoid, "tanh": tanh}
