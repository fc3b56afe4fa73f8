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


@dataclass(frozen=True)
class SoftmaxSteps:
    """The derivation of ∂ℓ/∂η, each step checked with SymPy on an explicit K-class softmax.

    jacobian: ∂ŷ_k/∂η_j = ŷ_k ([k = j] − ŷ_j); chain: ∂ℓ/∂η_j = −Σ_k (y_k / ŷ_k) ∂ŷ_k/∂η_j;
    collected: = ŷ_j Σ_k y_k − y_j; one_hot: Σ_k y_k = 1 gives ŷ_j − y_j.
    """

    classes: int


@cache
def softmax_steps() -> SoftmaxSteps:
    """Check every step of the softmax and cross-entropy derivation for K classes, all j and k."""
    K = K_DERIVED
    eta = sympy.symbols(f"eta1:{K + 1}", real=True)
    y = sympy.symbols(f"y1:{K + 1}", real=True)
    total = sum(sympy.exp(e) for e in eta)
    p = [sympy.exp(e) / total for e in eta]
    loss = -sum(yk * sympy.log(pk) for yk, pk in zip(y, p))
    for j in range(K):
        for k in range(K):
            jacobian = p[k] * (int(k == j) - p[j])
            if sympy.simplify(sympy.diff(p[k], eta[j]) - jacobian) != 0:
                raise AssertionError(f"softmax Jacobian wrong at k={k}, j={j}")
        chain = -sum(y[k] / p[k] * sympy.diff(p[k], eta[j]) for k in range(K))
        collected = p[j] * sum(y) - y[j]
        if sympy.simplify(sympy.diff(loss, eta[j]) - chain) != 0 or sympy.simplify(chain - collected) != 0:
            raise AssertionError(f"chain rule through the softmax wrong at j={j}")
        one_hot = {y[-1]: 1 - sum(y[:-1])}  # a one-hot target sums to one
        if sympy.simplify((collected - (p[j] - y[j])).subs(one_hot)) != 0:
            raise AssertionError(f"one-hot sum wrong at j={j}")
    return SoftmaxSteps(K)
