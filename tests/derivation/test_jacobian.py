"""One-step state Jacobians (the paths of derive.derivation.jacobian_paths) against central differences."""

import numpy as np
import pytest
import sympy

from derive import cells
from derive.emit import latex as emit_latex
from derive.derivation.bptt import derive
from derive.derivation.jacobian import jacobian_paths
from derive.cells.spec import SpecError
from helpers import kernel, random_params, rel_err

D, H = 3, 4
NUMPY = [{"sigmoid": lambda a: 1 / (1 + np.exp(-a))}, "numpy"]


def step_values(d, params, x, prev):
    """Every symbol of one step (nodes, pre-activations, function values) evaluated in NumPy."""
    values = {d.x: x, **{d.sym(s + "_prev"): v for s, v in prev.items()},
              **{d.sym(name): params[name] for name in d.cell.vectors}}
    for eq in d.nodes:
        for pre in eq.preacts:
            values[pre.symbol] = (sum(params[t.weight] @ values[t.source] for t in pre.terms)
                                  + sum(params[b] for b in pre.biases))
        values[eq.symbol] = evaluate(eq.full, values)
    values.update((aux, evaluate(expr, values)) for aux, expr in d.aux.items())
    return values


def evaluate(expr, values):
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    return sympy.lambdify(symbols, expr, NUMPY)(*(values[s] for s in symbols)) * np.ones(H)


def jacobian_from_paths(d, params, values, state, source):
    total = np.zeros((H, H))
    for path in jacobian_paths(d, state, source):
        m = np.eye(H)
        for f in path:
            m = m @ (params[f] if isinstance(f, str) else np.diag(evaluate(f, values)))
        total += m
    return total


def jacobian_by_differences(module, params, x, prev, state, source, eps=1e-6):
    def final(value):
        init = {f"{s}0": (value if s == source else v)[None] for s, v in prev.items()}
        return module.forward(params, x[None, None], **init)[1][f"{state}_T"][0]
    columns = []
    for j in range(H):
        step = np.zeros(H)
        step[j] = eps
        columns.append((final(prev[source] + step) - final(prev[source] - step)) / (2 * eps))
    return np.stack(columns, axis=1)


PAIRS = [("rnn", "h", "h"), ("lstm", "h", "h"), ("lstm", "c", "c"), ("lstm", "c", "h"), ("lstm", "h", "c"),
         ("gru", "h", "h"), ("gru_cho", "h", "h")]


@pytest.mark.parametrize("cell, state, source", PAIRS)
def test_paths_sum_to_the_jacobian_of_one_step(cell, state, source):
    module, d = kernel(cell), derive(cells.get(cell))
    rng = np.random.default_rng(len(cell) + len(state + source))
    params = random_params(module, D, H, rng)
    x = rng.standard_normal(D)
    prev = {s: rng.standard_normal(H) for s in module.STATES}
    values = step_values(d, params, x, prev)
    want = jacobian_by_differences(module, params, x, prev, state, source)
    assert rel_err(jacobian_from_paths(d, params, values, state, source), want) <= 1e-8


def test_textbook_forms():
    rnn, lstm = derive(cells.get("rnn")), derive(cells.get("lstm"))
    assert emit_latex.state_jacobian(rnn, "h", "h").rhs == r"\operatorname{diag}\left(1 - h_{t}^{2}\right) U_{h}"
    assert emit_latex.state_jacobian(lstm, "c", "c").rhs == r"\operatorname{diag}\left(f_{t}\right)"


def test_unknown_state_is_named():
    with pytest.raises(SpecError, match="'q'"):
        jacobian_paths(derive(cells.get("gru_cho")), "q", "h")
