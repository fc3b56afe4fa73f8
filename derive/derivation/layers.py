"""The δ recursions of stacked and bidirectional recurrent layers, checked with SymPy.

A stack feeds the states of layer l into layer l + 1 at the same step; a bidirectional layer runs one
cell forwards and another backwards in time over the same inputs, and the loss reads both. In both,
a state reaches the loss along two paths, so its δ is a sum of two terms. :func:`check_stacked` and
:func:`check_bidirectional` unroll scalar versions with arbitrary activations over a few steps, with
per-step losses linear in what they read (any loss has such a gradient), and verify that the
recursions printed by :mod:`derive.emit.identities` give the derivative of the unrolled loss with
respect to every weight and, for the bidirectional layer, every input.
"""

from __future__ import annotations

from functools import cache

import sympy

STEPS = 3


def _same(candidate: sympy.Expr, total: sympy.Expr, what: str) -> None:
    if sympy.expand(sympy.Add(candidate, -total).doit()) != 0:
        raise AssertionError(f"the δ recursion of {what} differs from the derivative of the unrolled loss")


@cache
def check_stacked(steps: int = STEPS) -> None:
    """Two layers, h1_t = φ(a h1_{t−1} + b x_t) and h2_t = ψ(c h2_{t−1} + d h1_t), the loss Σ k_t h2_t."""
    a, b, c, d = sympy.symbols("a b c d", real=True)
    x = sympy.symbols(f"x1:{steps + 1}", real=True)
    k = sympy.symbols(f"k1:{steps + 1}", real=True)
    phi, psi = sympy.Function("phi"), sympy.Function("psi")
    prev, below = sympy.symbols("prev below", real=True)
    low, high = [sympy.Integer(0)], [sympy.Integer(0)]
    for t in range(steps):
        low.append(phi(a * low[-1] + b * x[t]))
        high.append(psi(c * high[-1] + d * low[-1]))
    loss = sum(k[t] * high[t + 1] for t in range(steps))

    def lower(t, p):  # step t of layer 1 from previous state p
        return phi(a * p + b * x[t - 1])

    def upper(t, p, q):  # step t of layer 2 from its previous state p and layer 1's state q
        return psi(c * p + d * q)

    d_high = {steps + 1: sympy.Integer(0)}
    d_low = {steps + 1: sympy.Integer(0)}
    for t in range(steps, 0, -1):
        along = sympy.diff(upper(t + 1, prev, low[t + 1]), prev).subs(prev, high[t]) if t < steps else 0
        d_high[t] = k[t - 1] + d_high[t + 1] * along
        up = sympy.diff(upper(t, high[t - 1], below), below).subs(below, low[t])
        later = sympy.diff(lower(t + 1, prev), prev).subs(prev, low[t]) if t < steps else 0
        d_low[t] = d_high[t] * up + d_low[t + 1] * later
    # immediate derivatives: differentiate one step with its previous state held fixed, then put it in
    for weight, immediate, delta in (
            (a, lambda t: sympy.diff(lower(t, prev), a).subs(prev, low[t - 1]), d_low),
            (c, lambda t: sympy.diff(upper(t, prev, low[t]), c).subs(prev, high[t - 1]), d_high)):
        recursion = sum(delta[t] * immediate(t) for t in range(1, steps + 1))
        _same(recursion, sympy.diff(loss, weight), f"the stack (weight {weight})")
    alone = {steps + 1: sympy.Integer(0)}  # the lower layer's δ without the path through the layer above
    for t in range(steps, 0, -1):
        later = sympy.diff(lower(t + 1, prev), prev).subs(prev, low[t]) if t < steps else 0
        alone[t] = alone[t + 1] * later
    without = sum(alone[t] * sympy.diff(lower(t, prev), a).subs(prev, low[t - 1]) for t in range(1, steps + 1))
    if sympy.expand(sympy.Add(without, -sympy.diff(loss, a)).doit()) == 0:
        raise AssertionError("the lower layer's δ should need the path through the layer above")


@cache
def check_bidirectional(steps: int = STEPS) -> None:
    """f_t = φ(a f_{t−1} + b x_t) forwards, r_t = ψ(e r_{t+1} + g x_t) backwards, the loss Σ k_t f_t + m_t r_t."""
    a, b, e, g = sympy.symbols("a b e g", real=True)
    x = sympy.symbols(f"x1:{steps + 1}", real=True)
    k = sympy.symbols(f"k1:{steps + 1}", real=True)
    m = sympy.symbols(f"m1:{steps + 1}", real=True)
    phi, psi = sympy.Function("phi"), sympy.Function("psi")
    prev = sympy.Symbol("prev", real=True)
    f = {0: sympy.Integer(0)}
    r = {steps + 1: sympy.Integer(0)}
    for t in range(1, steps + 1):
        f[t] = phi(a * f[t - 1] + b * x[t - 1])
    for t in range(steps, 0, -1):
        r[t] = psi(e * r[t + 1] + g * x[t - 1])
    loss = sum(k[t - 1] * f[t] + m[t - 1] * r[t] for t in range(1, steps + 1))
    d_f = {steps + 1: sympy.Integer(0)}
    for t in range(steps, 0, -1):  # forwards cell: δ runs back from the last step
        along = sympy.diff(phi(a * prev + b * x[t]), prev).subs(prev, f[t]) if t < steps else 0
        d_f[t] = k[t - 1] + d_f[t + 1] * along
    d_r = {0: sympy.Integer(0)}
    for t in range(1, steps + 1):  # backwards cell: δ runs forwards from the first step
        along = sympy.diff(psi(e * prev + g * x[t - 2]), prev).subs(prev, r[t]) if t > 1 else 0
        d_r[t] = m[t - 1] + d_r[t - 1] * along
    forwards = lambda t: phi(a * f[t - 1] + b * x[t - 1])
    backwards = lambda t: psi(e * r[t + 1] + g * x[t - 1])
    held_f = lambda t: sympy.diff(phi(a * prev + b * x[t - 1]), a).subs(prev, f[t - 1])
    held_r = lambda t: sympy.diff(psi(e * prev + g * x[t - 1]), e).subs(prev, r[t + 1])
    _same(sum(d_f[t] * held_f(t) for t in range(1, steps + 1)), sympy.diff(loss, a), "the forwards direction")
    _same(sum(d_r[t] * held_r(t) for t in range(1, steps + 1)), sympy.diff(loss, e), "the backwards direction")
    for t in range(1, steps + 1):
        both = d_f[t] * sympy.diff(forwards(t), x[t - 1]) + d_r[t] * sympy.diff(backwards(t), x[t - 1])
        _same(both, sympy.diff(loss, x[t - 1]), f"the input at step {t}")
