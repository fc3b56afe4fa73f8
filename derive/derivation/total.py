"""Total and immediate derivatives through time, checked on an unrolled simple RNN.

A parameter θ enters every step, once explicitly and again through the previous state. The
*immediate* derivative ∂⁺h_t/∂θ differentiates step t alone, with h_{t−1} held fixed; the *total*
derivative dh_t/dθ follows θ through every earlier step as well. :func:`check` unrolls a scalar
RNN ``h_t = φ(u h_{t−1} + w x_t)`` with an arbitrary differentiable φ over a few steps with the per-step losses ``ℓ_t = c_t h_t``
(any loss has such a gradient ``c_t = ∂ℓ_t/∂h_t``) and verifies with SymPy that three computations of
dL/du agree: differentiating the unrolled loss, the double sum over steps and lags, and the δ
recursion of backpropagation through time; and that the forward recursion of the total derivative
(real-time recurrent learning) gives the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy

STEPS = 3


@dataclass(frozen=True)
class TotalDerivative:
    """The number of steps checked, and dL/du as SymPy found it four ways (all equal)."""

    steps: int
    gradient: sympy.Expr


@cache
def check(steps: int = STEPS) -> TotalDerivative:
    """Verify the double sum, the δ recursion and RTRL against differentiating the unrolled loss."""
    u, w, h0 = sympy.symbols("u w h0", real=True)
    x = sympy.symbols(f"x1:{steps + 1}", real=True)
    c = sympy.symbols(f"c1:{steps + 1}", real=True)
    phi = sympy.Function("phi")  # any activation: the identities do not depend on it
    h = [h0]
    for t in range(steps):
        h.append(phi(u * h[-1] + w * x[t]))
    loss = sum(c[t] * h[t + 1] for t in range(steps))
    total = sympy.diff(loss, u)
    prev = sympy.Symbol("prev", real=True)

    def step(t: int, previous: sympy.Expr) -> sympy.Expr:
        return phi(u * previous + w * x[t - 1])

    def immediate(t: int) -> sympy.Expr:  # ∂⁺h_t/∂u: h_{t-1} held fixed
        return sympy.diff(step(t, prev), u).subs(prev, h[t - 1])

    def jacobian(t: int) -> sympy.Expr:  # ∂h_t/∂h_{t-1}
        return sympy.diff(step(t, prev), prev).subs(prev, h[t - 1])

    double_sum = sum(c[t - 1] * sympy.Mul(*(jacobian(j) for j in range(k + 1, t + 1))) * immediate(k)
                     for t in range(1, steps + 1) for k in range(1, t + 1))
    delta = {steps: c[steps - 1]}
    for t in range(steps - 1, 0, -1):
        delta[t] = c[t - 1] + delta[t + 1] * jacobian(t + 1)
    recursion = sum(delta[t] * immediate(t) for t in range(1, steps + 1))
    forward, rtrl = sympy.Integer(0), sympy.Integer(0)
    for t in range(1, steps + 1):
        forward = jacobian(t) * forward + immediate(t)  # dh_t/du, carried forward in time
        rtrl += c[t - 1] * forward
    for name, candidate in (("double sum", double_sum), ("δ recursion", recursion), ("RTRL", rtrl)):
        if sympy.expand(sympy.Add(candidate, -total).doit()) != 0:
            raise AssertionError(f"the {name} differs from the derivative of the unrolled loss")
    mistaken = sum(c[t - 1] * immediate(t) for t in range(1, steps + 1))
    if sympy.expand(sympy.Add(mistaken, -total).doit()) == 0:
        raise AssertionError("the immediate derivatives alone should miss the paths through earlier steps")
    return TotalDerivative(steps, total)
