"""The identities of backpropagation through time for any recurrent state, printed as LaTeX.

The total derivative dh_t/dθ, the immediate one ∂⁺h_t/∂θ, the unrolled double sum, the exchange of
the sums that turns it into the δ recursion, and real-time recurrent learning. They hold for every
cell; :func:`derive.derivation.total.check` verifies them with SymPy on an unrolled RNN before they
are printed. Gradients are row vectors here, so that every product reads left to right.
"""

from __future__ import annotations

import sympy

from derive.cells import functions
from derive.derivation.layers import check_bidirectional, check_stacked
from derive.derivation.total import check

from .latex import Equation

DL = r"\frac{d L}{d \theta}"


def partial(top: str, bottom: str, immediate: bool = False) -> str:
    return rf"\frac{{\partial{'^{+}' if immediate else ''} {top}}}{{\partial {bottom}}}"


def total_derivative() -> list[Equation]:
    """The identities, each named for ``:only:``."""
    check()
    theta, ell_t, ell_k = r"\theta", r"\ell_{t}", r"\ell_{k}"
    chain = rf"{partial('h_{t}', 'h_{t-1}')} \cdots {partial('h_{k+1}', 'h_{k}')}"  # latest step on the left
    jump = partial("h_{t}", "h_{t-1}")
    immediate_t, immediate_k = partial("h_{t}", theta, True), partial("h_{k}", theta, True)
    reads_t, reads_k = partial(ell_t, "h_{t}"), partial(ell_k, "h_{k}")
    total_t, total_prev = r"\frac{d h_{t}}{d \theta}", r"\frac{d h_{t-1}}{d \theta}"
    return [
        Equation("immediate", immediate_t, rf"\left.{partial('h_{t}', theta)}\right|_{{h_{{t-1}}}}"),
        Equation("mistake", partial("h_{t}", theta),
                 f"{jump} {partial('h_{t-1}', theta)} + {partial('h_{t}', theta)}"),
        Equation("total", total_t, f"{jump} {total_prev} + {immediate_t}"),
        Equation("total-start", r"\frac{d h_{0}}{d \theta}", "0"),
        Equation("loss", DL, rf"\sum_{{t=1}}^{{T}} {reads_t} {total_t}"),
        Equation("unrolled", DL, rf"\sum_{{t=1}}^{{T}} \sum_{{k=1}}^{{t}} {reads_t} "
                 rf"\left({chain}\right) {immediate_k}"),
        Equation("exchange", DL, rf"\sum_{{k=1}}^{{T}} \left(\sum_{{t=k}}^{{T}} {reads_t} "
                 rf"{chain}\right) {immediate_k}"),
        Equation("delta", r"\delta h_{k}", rf"{reads_k} + \delta h_{{k+1}} " + partial("h_{k+1}", "h_{k}")),
        Equation("delta-start", r"\delta h_{T+1}", "0"),
        Equation("recursion", DL, rf"\sum_{{k=1}}^{{T}} \delta h_{{k}} {immediate_k}"),
        Equation("rtrl", "P_{t}", rf"{jump} P_{{t-1}} + {immediate_t}, \quad P_{{0}} = 0, \quad "
                 rf"{DL} = \sum_{{t=1}}^{{T}} {reads_t} P_{{t}}"),
    ]


def _layer(name: str, layer: str, step: str) -> str:
    return rf"{name}^{{({layer})}}_{{{step}}}"


def stacked() -> list[Equation]:
    """A stack of L recurrent layers: what each layer reads, and the two paths of its δ (checked by
    :func:`derive.derivation.layers.check_stacked`)."""
    check_stacked()
    h = lambda layer, step: _layer("h", layer, step)
    delta = lambda layer, step: rf"\delta {h(layer, step)}"
    reads, theta = partial(r"\ell_{t}", h("L", "t")), r"\theta^{(l)}"
    return [
        Equation("stacked-input", h("0", "t"), "x_{t}"),
        Equation("stacked-step", h("l", "t"), rf"f^{{(l)}}\left({h('l-1', 't')}, {h('l', 't-1')}\right)"),
        Equation("stacked-top", delta("L", "t"), f"{reads} + {delta('L', 't+1')} "
                 + partial(h("L", "t+1"), h("L", "t"))),
        Equation("stacked-delta", delta("l", "t"), rf"{delta('l+1', 't')} {partial(h('l+1', 't'), h('l', 't'))} + "
                 rf"{delta('l', 't+1')} {partial(h('l', 't+1'), h('l', 't'))}"),
        Equation("stacked-weights", r"\frac{d L}{d \theta^{(l)}}",
                 rf"\sum_{{t=1}}^{{T}} {delta('l', 't')} {partial(h('l', 't'), theta, True)}"),
    ]


def bidirectional() -> list[Equation]:
    """A bidirectional layer: one cell forwards, one backwards, the output both; the δ of each direction
    runs against its own direction of time, and the input's gradient adds both (checked by
    :func:`derive.derivation.layers.check_bidirectional`)."""
    check_bidirectional()
    fw = lambda step: rf"\overrightarrow{{h}}_{{{step}}}"
    bw = lambda step: rf"\overleftarrow{{h}}_{{{step}}}"
    return [
        Equation("bi-forwards", fw("t"), rf"f\left(x_{{t}}, {fw('t-1')}; \overrightarrow{{\theta}}\right)"),
        Equation("bi-backwards", bw("t"), rf"f\left(x_{{t}}, {bw('t+1')}; \overleftarrow{{\theta}}\right)"),
        Equation("bi-output", "y_{t}", rf"\begin{{bmatrix}} {fw('t')} \\ {bw('t')} \end{{bmatrix}}"),
        Equation("bi-delta-forwards", rf"\delta {fw('t')}",
                 rf"{partial('L', fw('t'), True)} + \delta {fw('t+1')} {partial(fw('t+1'), fw('t'))}"),
        Equation("bi-delta-backwards", rf"\delta {bw('t')}",
                 rf"{partial('L', bw('t'), True)} + \delta {bw('t-1')} {partial(bw('t-1'), bw('t'))}"),
        Equation("bi-input", r"\frac{d L}{d x_{t}}", rf"\delta {fw('t')} {partial(fw('t'), 'x_{t}', True)} + "
                 rf"\delta {bw('t')} {partial(bw('t'), 'x_{t}', True)}"),
    ]


def norm_bound() -> list[Equation]:
    """The bound on a product of simple-RNN step Jacobians, with γ, the largest derivative of each
    activation of :mod:`derive.cells.functions`, found by SymPy."""
    factor = r"\operatorname{diag}\left(\phi'(\bar{h}_{%s})\right) U_{h}"
    lines = [Equation("norm-bound", r"\left\| \frac{\partial h_{t}}{\partial h_{k}} \right\|_{2}",
                      rf"\left\| {factor % 't'} \cdots {factor % '{k+1}'} \right\|_{{2}}"
                      r" \le \prod_{j=k+1}^{t} \left\| \operatorname{diag}\left(\phi'(\bar{h}_{j})\right) \right\|_{2}"
                      r" \left\| U_{h} \right\|_{2} \le \left(\gamma \left\| U_{h} \right\|_{2}\right)^{t-k}")]
    for entry in functions.TABLE.values():
        lines.append(Equation(f"gamma-{entry.name}", rf"\gamma_{{{entry.latex}}}",
                              rf"\max_{{a}} {entry.latex}'(a) = {sympy.latex(largest_derivative(entry))}"))
    return lines


def largest_derivative(entry: functions.Elementwise) -> sympy.Expr:
    """max over a of f′(a): f′ is even and falls with |a| for the functions of the table, so it is f′(0)."""
    a = sympy.Symbol("a", real=True)
    slope = sympy.diff(entry.exp_form(a), a)
    if sympy.simplify(slope.subs(a, -a) - slope) != 0:
        raise AssertionError(f"{entry.name}′ is not even")
    return sympy.nsimplify(sympy.simplify(slope.subs(a, 0)))
