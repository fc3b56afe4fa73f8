"""The output layer ``ŷ_t = softmax(V h_t + c)`` with cross-entropy loss, derived with SymPy.

Per step the loss is ``ℓ_t = −Σ_k y_k log ŷ_k`` for a one-hot target y. SymPy differentiates it
with respect to every logit of an explicit K-class softmax and, using Σ_k y_k = 1, finds
``∂ℓ/∂z_k = ŷ_k − y_k``; :func:`derive_head` checks that and returns the result, which
:mod:`derive.emit.head` prints as LaTeX and as a kernel. The affine part follows the same fixed
rules as inside a cell:
``∂L/∂V = Σ_t δz_t h_tᵀ``, ``∂L/∂c = Σ_t δz_t``, ``∂ℓ_t/∂h_t = Vᵀ δz_t``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sympy

K_DERIVED = 4  # classes in the symbolic check; the result does not depend on K


@dataclass(frozen=True)
class HeadDerivation:
    logit_gradient: sympy.Expr  # ∂ℓ/∂z_1 in terms of p_1 (softmax) and y_1 (target)
    p: sympy.Symbol
    y: sympy.Symbol


@cache
def derive_head() -> HeadDerivation:
    """Differentiate softmax + cross-entropy; the gradient per logit is ``p − y``."""
    z = sympy.symbols(f"z1:{K_DERIVED + 1}", real=True)
    y = sympy.symbols(f"y1:{K_DERIVED + 1}", real=True)
    total = sum(sympy.exp(zj) for zj in z)
    loss = -sum(yk * (zk - sympy.log(total)) for yk, zk in zip(y, z))
    p1, y1 = sympy.Symbol("p", positive=True), sympy.Symbol("y", real=True)
    gradient = sympy.diff(loss, z[0])
    # one-hot targets sum to one: eliminate the last class; then write e^{z_1} through the
    # softmax output p = e^{z_1} / (e^{z_1} + rest), i.e. e^{z_1} = p rest / (1 - p)
    rest = total - sympy.exp(z[0])
    gradient = gradient.subs(y[-1], 1 - sum(y[:-1]))
    gradient = sympy.simplify(gradient.subs(sympy.exp(z[0]), p1 * rest / (1 - p1)))
    gradient = gradient.subs(y[0], y1)
    if sympy.simplify(gradient - (p1 - y1)) != 0:
        raise AssertionError(f"softmax cross-entropy gradient derived as {gradient}, expected p - y")
    return HeadDerivation(gradient, p1, y1)
