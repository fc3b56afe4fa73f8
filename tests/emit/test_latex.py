"""The LaTeX printer: textbook forms of the equations, one per quantity, printed from the derivation."""

import pytest

from derive import cells
from derive.emit import latex as emit_latex
from derive.derivation.bptt import derive


def block(cell, name):
    return {e.name: e for e in emit_latex.block(derive(cells.get(cell)), name)}


def test_lstm_cell_state_gradient_has_the_forget_gate_path():
    grads = block("lstm", "gradients")
    assert grads["d_c"].rhs == (r"\delta h_{t} \odot o_{t} \odot \left(1 - \tanh^{2}\left(c_{t}\right)\right)"
                                r" + \delta c_{t+1} \odot f_{t+1}")
    assert grads["d_a_f"].rhs == r"\delta f_{t} \odot f_{t} \odot \left(1 - f_{t}\right)"


def test_rnn_recurrence():
    grads = block("rnn", "gradients")
    assert grads["d_h"].rhs == r"\frac{\partial \ell_{t}}{\partial h_{t}} + U_{h}^{\top} \delta \bar{h}_{t+1}"
    assert grads["d_a_h"].rhs == r"\delta h_{t} \odot \left(1 - h_{t}^{2}\right)"


def test_gru_variants_differ_where_the_reset_gate_acts():
    torch_style, cho = block("gru", "forward"), block("gru_cho", "forward")
    assert r"r_{t} \odot \left(U_{n} h_{t-1} + b_{hn}\right)" in torch_style["n"].rhs
    assert cho["q"].rhs == r"r_{t} \odot h_{t-1}" and r"U_{n} q_{t}" in cho["n"].rhs


@pytest.mark.parametrize("cell", list(cells.BUILTIN))
def test_every_parameter_and_input_has_a_gradient(cell):
    d = derive(cells.get(cell))
    params = emit_latex.block(d, "parameters")
    covered = " ".join(e.lhs for e in params)
    for name in d.cell.param_shapes:
        assert emit_latex.CellLatexPrinter(d).name(name) in covered
    inputs = {e.name for e in emit_latex.block(d, "inputs")}
    assert inputs == {"x", *(s + "0" for s in d.cell.states)}


@pytest.mark.parametrize("cell", list(cells.BUILTIN))
def test_braces_balance(cell):
    d = derive(cells.get(cell))
    for name in emit_latex.BLOCKS:
        text = emit_latex.aligned(emit_latex.block(d, name))
        assert text.count("{") == text.count("}") and text.count(r"\left(") == text.count(r"\right)")
