"""The elementwise functions of the spec language: one table that every stage and printer reads.

An entry says everything the project knows of a function: its name in a spec, its derivative in
terms of its own value (what the backward pass reuses), the same function written with ``exp``
(for proofs), how LaTeX, Unicode and diagrams write it, and how NumPy evaluates it: in place in a
kernel buffer, or as an expression in step code. The SymPy classes and every printer's method for
the function are made from this table, as SymPy's own printers make theirs from
``_known_functions``; a new function is one entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy


@dataclass(frozen=True)
class Elementwise:
    """One elementwise function and every way the project writes it."""

    name: str  # as written in a spec: sigmoid(…)
    title: str
    derivative: Callable[[sympy.Expr], sympy.Expr]  # f′ in terms of the value y = f(a)
    exp_form: Callable[[sympy.Expr], sympy.Expr]  # f(a) written with exp
    at_zero: sympy.Expr  # f(0)
    latex: str  # the operator in LaTeX
    unicode: str  # the operator in plain text and diagrams
    inplace: tuple[tuple[str, str | None], ...]  # NumPy ufunc calls applying f to a buffer in place
    step_call: str  # the callable that step code applies: np.tanh(a), sigmoid(a)
    step_helper: tuple[str, str] = ()  # a helper ``def name(a)`` that step code needs: docstring, result
    overflows: bool = False  # ``inplace`` overflows to inf on the way to a correct result
    # the calls applying f in place to a buffer that holds −a, for kernels that fold the sign into the
    # weights once; empty when f gains nothing from it
    negated: tuple[tuple[str, str | None], ...] = ()
    c: str = ""  # C for compiled steps, ``{}`` the argument (of type real)
    c_negated: str = ""  # the same when the argument holds −a


TABLE: dict[str, Elementwise] = {f.name: f for f in (
    Elementwise(
        "sigmoid", "The logistic function σ(a) = 1 / (1 + exp(−a)).",
        derivative=lambda y: y * (1 - y),
        exp_form=lambda a: 1 / (1 + sympy.exp(-a)),
        at_zero=sympy.Rational(1, 2),
        latex=r"\sigma", unicode="σ",
        # 1 / (1 + e^{−a}): e^{−a} = inf gives exactly 0 (the kernels ignore that overflow); the sign
        # by multiplying with −1, since NumPy 2.4's float32 np.negative writes wrong elements of some
        # strided views
        inplace=(("multiply", "-1"), ("exp", None), ("add", "1"), ("reciprocal", None)),
        negated=(("exp", None), ("add", "1"), ("reciprocal", None)),
        step_call="sigmoid",
        step_helper=("1 / (1 + e^-a), written without overflow.", "0.5 * np.tanh(0.5 * a) + 0.5"),
        overflows=True,
        # e^{-a} capped at e^80 (σ(−80) = 1.8e−35): no overflow, which compiled fast math may not handle
        c="1 / (1 + exp(fmin(-({}), (real)80)))",
        c_negated="1 / (1 + exp(fmin({}, (real)80)))",
    ),
    Elementwise(
        "tanh", "The hyperbolic tangent.",
        derivative=lambda y: 1 - y**2,
        exp_form=lambda a: (sympy.exp(a) - sympy.exp(-a)) / (sympy.exp(a) + sympy.exp(-a)),
        at_zero=sympy.S.Zero,
        latex=r"\tanh", unicode="tanh",
        inplace=(("tanh", None),),
        step_call="np.tanh",
        c="tanh({})",
    ),
)}
NAMES = tuple(TABLE)


def _sympy_class(entry: Elementwise) -> type[sympy.Function]:
    """A SymPy function whose derivative is the table's, written through its own value.

    SymPy's ``tanh`` is not used: it turns tanh(1 − c) into −tanh(c − 1), which would hide the
    function value a node computes.
    """

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return entry.derivative(self)

    def evaluate(cls, arg: sympy.Expr) -> sympy.Expr | None:
        return entry.at_zero if arg.is_zero else None

    def rewrite_as_exp(self, arg: sympy.Expr, **kwargs) -> sympy.Expr:
        return entry.exp_form(arg)

    return type(entry.name, (sympy.Function,), {
        "__doc__": entry.title, "__module__": __name__, "nargs": 1, "fdiff": fdiff,
        "eval": classmethod(evaluate), "_eval_rewrite_as_exp": rewrite_as_exp,
    })


SYMPY: dict[str, type[sympy.Function]] = {name: _sympy_class(entry) for name, entry in TABLE.items()}
sigmoid = SYMPY["sigmoid"]
tanh = SYMPY["tanh"]


def of(expr: sympy.Expr) -> Elementwise | None:
    """The table entry of a function application, or None for any other expression."""
    return TABLE.get(type(expr).__name__) if isinstance(expr, tuple(SYMPY.values())) else None


def printer_methods(printer: type, method: Callable[[Elementwise], Callable]) -> type:
    """Give ``printer`` one ``_print_<name>`` per table entry, made by ``method(entry)``."""
    for entry in TABLE.values():
        setattr(printer, f"_print_{entry.name}", method(entry))
    return printer
