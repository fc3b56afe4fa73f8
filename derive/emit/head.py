"""The softmax output layer with cross-entropy, printed: its LaTeX in every notation and its kernel."""

from __future__ import annotations

import sympy

from derive.derivation.head import derive_head, softmax_steps

from .latex import Equation
from .notation import SPEC, Notation

# the head's own symbols, where a notation does not name them: logits η (z is the GRU's update gate),
# bias b_y (c is the LSTM's cell state)
DEFAULTS = {"z": r"\eta", "c": "b_{y}"}
FORWARD = ("logits", "y", "loss")
GRADIENTS = ("logits", "V", "bias", "h")


class _HeadSymbols:
    """The head's symbols in one notation: weights, bias, logits, output, target, the cell's output state."""

    def __init__(self, notation: Notation):
        self.n = notation.for_cell("rnn")
        self.V, self.c = self.symbol("V"), self.symbol("c")
        self.loss = notation.loss

    def symbol(self, name: str) -> str:
        return self.n.symbols.get("head", {}).get(name) or DEFAULTS.get(name) or name

    def at(self, name: str, index: str = "t") -> str:
        """``z`` (logits), ``\\hat{y}`` (output), ``y`` (target) or ``h`` (the cell's state) at a step."""
        base = self.n.base("rnn", "h") if name == "h" else self.symbol(name)
        return self.n.timed(base, index)

    def entry(self, name: str, k: str) -> str:
        """Component ``k`` of a vector at step t: ``η_{t,k}``, ``η^{\\langle t \\rangle}_{k}``."""
        if self.n.time == "sub":
            return f"{self.symbol(name)}_{{t,{k}}}"
        return f"{{{self.at(name)}}}_{{{k}}}"

    @property
    def has_bias(self) -> bool:
        return self.n.shows(0)


def latex_forward(notation: Notation = SPEC) -> list[Equation]:
    """Output layer and loss."""
    s = _HeadSymbols(notation)
    y_hat = r"\hat{y}"
    affine = s.n.product(s.V, s.at("h")) + (f" + {s.c}" if s.has_bias else "")
    return [
        Equation("logits", s.at("z"), affine),
        Equation("y", s.at(y_hat), rf"\operatorname{{softmax}}\left({s.at('z')}\right), \quad "
                 + rf"{s.entry(y_hat, 'k')} = \frac{{e^{{{s.entry('z', 'k')}}}}}{{\sum_{{j}} e^{{{s.entry('z', 'j')}}}}}"),
        Equation("loss", "L", rf"\sum_{{t=1}}^{{T}} {s.at(s.loss)} = "
                 + rf"-\sum_{{t=1}}^{{T}} \sum_{{k}} {s.entry('y', 'k')} \log {s.entry(y_hat, 'k')}"),
    ]


def latex_gradients(notation: Notation = SPEC) -> list[Equation]:
    """Gradients of the output layer, with ∂ℓ/∂η from the derivation; no bias line where the notation has none."""
    h, s = derive_head(), _HeadSymbols(notation)
    rhs = sympy.latex(h.logit_gradient, symbol_names={h.p: s.at(r"\hat{y}"), h.y: s.at("y")})
    delta = rf"\delta {s.at('z')}"
    equations = [
        Equation("logits", rf"{delta} = \frac{{\partial {s.at(s.loss)}}}{{\partial {s.at('z')}}}", rhs),
        Equation("V", rf"\frac{{\partial L}}{{\partial {s.V}}}", rf"\sum_{{t=1}}^{{T}} {s.n.outer(delta, s.at('h'))}"),
        Equation("bias", rf"\frac{{\partial L}}{{\partial {s.c}}}", rf"\sum_{{t=1}}^{{T}} {delta}"),
        Equation("h", rf"\frac{{\partial {s.at(s.loss)}}}{{\partial {s.at('h')}}}", s.n.backprop(s.V, delta)),
    ]
    return [e for e in equations if e.name != "bias" or s.has_bias]


def latex_derivation(notation: Notation = SPEC) -> list[Equation]:
    """∂ℓ/∂η step by step: the loss of one step, the softmax Jacobian, the chain rule through it, the
    sum collected, and the one-hot target; every step checked by :func:`derive_head`'s companion
    :func:`~derive.derivation.head.softmax_steps`."""
    softmax_steps()
    s = _HeadSymbols(notation)
    y_hat, eta = r"\hat{y}", "z"
    pj, pk, yj, yk = (s.entry(y_hat, "j"), s.entry(y_hat, "k"), s.entry("y", "j"), s.entry("y", "k"))
    ej, loss = s.entry(eta, "j"), s.at(s.loss)
    d_pk = rf"\frac{{\partial {pk}}}{{\partial {ej}}}"
    return [
        Equation("loss", loss, rf"-\sum_{{k}} {yk} \log {pk}"),
        Equation("jacobian", d_pk, rf"{pk} \left([k = j] - {pj}\right)"),
        Equation("chain", rf"\frac{{\partial {loss}}}{{\partial {ej}}}",
                 rf"-\sum_{{k}} \frac{{{yk}}}{{{pk}}} {d_pk} = -\sum_{{k}} {yk} \left([k = j] - {pj}\right)"),
        Equation("collected", rf"\frac{{\partial {loss}}}{{\partial {ej}}}", rf"{pj} \sum_{{k}} {yk} - {yj}"),
        Equation("one-hot", rf"\frac{{\partial {loss}}}{{\partial {ej}}}", rf"{pj} - {yj}"),
    ]


def kernel_source(source: str) -> str:
    """The generated NumPy module for the head; the logit gradient is the derived ``p − y``."""
    h = derive_head()
    derived = f"{sympy.pycode(h.logit_gradient.subs({h.p: sympy.Symbol('probs'), h.y: sympy.Symbol('onehot')}))}"
    return f'''"""Softmax output layer with cross-entropy loss: forward and backward over a sequence.

Generated from {source} by `gated-rnn generate`; do not edit.

    z_t = V h_t + c,  y_hat_t = softmax(z_t),  L = -sum_t log y_hat_t[target_t]
    dL/dz_t = {derived}   (derived)
    dL/dV = sum_t dz_t h_t^T,  dL/dc = sum_t dz_t,  dL/dh_t = V^T dz_t
"""

import numpy as np

PARAM_SHAPES = {{"V": ("K", "H"), "c": ("K",)}}


def forward(params, h_seq, targets):
    """Summed cross-entropy of targets (T, B) integer classes; return (loss, cache)."""
    V, c = params["V"], params["c"]
    if h_seq.ndim != 3 or h_seq.shape[2] != V.shape[1] or c.shape != (V.shape[0],):
        raise ValueError(f"softmax_ce.forward: h_seq (T, B, H) and V (K, H), c (K,) expected; got "
                         f"{{h_seq.shape}}, {{V.shape}}, {{c.shape}}")
    if V.dtype != h_seq.dtype or c.dtype != h_seq.dtype:
        raise ValueError(f"softmax_ce.forward: V, c and h_seq must share a dtype; got "
                         f"{{V.dtype}}, {{c.dtype}}, {{h_seq.dtype}}")
    targets = np.asarray(targets)
    if targets.shape != h_seq.shape[:2] or targets.dtype.kind not in "iu" \\
            or targets.min() < 0 or targets.max() >= V.shape[0]:
        raise ValueError(f"softmax_ce.forward: targets must be integers in [0, {{V.shape[0]}}) "
                         f"of shape {{h_seq.shape[:2]}}")
    T, B, H = h_seq.shape
    h2 = h_seq.reshape(T * B, H)
    logits = h2 @ V.T
    logits += c
    logits -= logits.max(axis=1, keepdims=True)  # stable softmax
    np.exp(logits, out=logits)
    probs = logits
    probs /= probs.sum(axis=1, keepdims=True)
    rows, cols = np.arange(T * B), targets.reshape(-1)
    loss = -np.log(probs[rows, cols]).sum()
    return loss, {{"h2": h2, "probs": probs, "rows": rows, "cols": cols, "shape": (T, B, H)}}


def backward(params, cache):
    """Gradients of the summed loss: ({{"V", "c"}}, dh_seq (T, B, H))."""
    probs, h2 = cache["probs"], cache["h2"]
    dz = probs.copy()  # p - y with a one-hot y
    dz[cache["rows"], cache["cols"]] -= 1
    grads = {{"V": dz.T @ h2, "c": dz.sum(axis=0)}}
    return grads, (dz @ params["V"]).reshape(cache["shape"])
'''
