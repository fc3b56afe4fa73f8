"""The pivot form of the backward step says what the derivation says, with no more pivots than needed."""

import pytest
import sympy

from derive import cells
from derive.derivation import factored
from derive.derivation.bptt import derive

CELLS = sorted(cells.known())


def expanded(d):
    """Every adjoint of the program written through the loss gradient, the carries and the matrix products."""
    values = {}
    for a in d.backward:
        values[a.target] = a.expr.xreplace(values) if not a.linear else a.target
    return values


@pytest.mark.parametrize("name", CELLS)
def test_pivot_form_equals_the_derivation(name):
    d = derive(cells.get(name))
    f = factored.factor(d)
    values = expanded(d)
    originals = {a.target: a for a in (*d.backward, *d.carries, *d.vector_grads)}
    for c in (*f.steps, *f.carries, *f.vector_grads):
        original = originals[c.target]
        assert c.linear == original.linear
        difference = original.expr.xreplace(values) - c.expr.xreplace(values)
        assert sympy.simplify(difference) == 0, c.target
        for _, k in c.terms:  # the factors are forward values only: computable before the recursion
            assert not {s for s in k.free_symbols if d.vars[s].kind in factored.ADJOINT_KINDS}


@pytest.mark.parametrize("name, pivots", [("rnn", {"d_h"}), ("gru", {"d_h"}), ("lstm", {"d_h", "d_c"}),
                                          ("mgu", {"d_h", "d_q"})])
def test_the_recursion_computes_only_the_pivots(name, pivots):
    f = factored.factor(derive(cells.get(name)))
    assert {s.name for s in f.pivots} == pivots
    preacts = [c for c in f.steps if c.target not in f.pivots]
    assert len(preacts) == len(derive(cells.get(name)).preacts)


def test_lstm_gates_are_one_product_each():
    f = factored.factor(derive(cells.LSTM))
    terms = {c.target.name: [p.name for p, _ in c.terms] for c in f.steps}
    assert terms == {"d_h": ["d_h_next", "dl_h"], "d_c": ["d_h", "d_c_next"], "d_a_o": ["d_h"],
                     "d_a_g": ["d_c"], "d_a_f": ["d_c"], "d_a_i": ["d_c"]}


def test_nonlinear_program_is_refused():
    d = derive(cells.RNN)
    a = d.backward[-1]
    broken = type(d)(**{**d.__dict__, "backward": (*d.backward[:-1], type(a)(a.target, a.expr * a.expr))})
    with pytest.raises(ValueError, match="not linear"):
        factored.factor(broken)
