"""Notation views: every view of a cell is the spec view with its symbols renamed, and each looks like its source."""

import re

import pytest
import sympy

from derive import cells
from derive.emit import head
from derive.emit import latex as emit_latex
from derive.emit import notation
from derive.derivation.bptt import Linear, derive
from derive.emit.latex import CellLatexPrinter
from derive.emit.notation import NOTATIONS, SPEC
from derive.cells.spec import SpecError

VIEWS = [n for n in NOTATIONS.values() if n is not SPEC]
CELLS = ["rnn", "lstm", "gru", "gru_cho", "lstm_peephole", "greff_fgr", "gru_swapped"]


def atoms(d, view, jacobian: bool = False) -> dict[str, str]:
    """Everything a view prints for one quantity: symbols at each step, squares, pre-activations spelled
    out, back-propagated and outer products, weights (as Jacobian factors with ``jacobian``); keyed by how
    the spec view prints the same thing."""
    view = view.for_cell(d.cell.name)
    pairs = {}
    for t in ("t", "1"):
        spec_p, view_p = CellLatexPrinter(d, SPEC, t), CellLatexPrinter(d, view, t)
        for symbol, var in d.vars.items():
            if var.kind == "carry":  # replaced by the recurrence before printing
                continue
            for expr in (symbol, symbol ** 2):
                pairs[spec_p.doprint(expr)] = view_p.doprint(expr)
            for offset in (-1, 0, 1):
                pairs[spec_p.value(var, offset)] = view_p.value(var, offset)
                if var.kind == "preact":
                    pairs[spec_p.affine(var, offset)] = view_p.affine(var, offset)
        for pre in d.preacts:
            delta = d.vars[d.adjoint(pre.symbol)]
            for term in pre.terms:
                for offset in (0, 1):
                    lin = Linear(term.weight, pre.symbol)
                    pairs[spec_p.linear(lin, offset)] = view_p.linear(lin, offset)
                source = d.vars[term.source]
                pairs[SPEC.outer(spec_p.value(delta), spec_p.value(source))] = view.outer(
                    view_p.value(delta), view_p.value(source))
        for name, shape in d.cell.param_shapes.items():
            matrix = jacobian and len(shape) == 2
            pairs[spec_p.name(name)] = view.matrix(view_p.name(name)) if matrix else view_p.name(name)
    return pairs


def rename(text: str, pairs: dict[str, str]) -> str:
    """Replace every printed quantity at once, longest match first."""
    pattern = re.compile("|".join(re.escape(k) for k in sorted(pairs, key=len, reverse=True)))
    return pattern.sub(lambda m: pairs[m.group(0)], text)


def hidden_biases(d, view) -> set[str]:
    return {b for pre in d.preacts for k, b in enumerate(pre.biases) if not view.shows(k)}


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.name)
@pytest.mark.parametrize("cell", CELLS)
def test_views_are_the_spec_view_with_symbols_renamed(cell, view):
    d = derive(cells.get(cell))
    pairs = atoms(d, view)
    for block in emit_latex.BLOCKS:
        spec_eqs = {e.name: e for e in emit_latex.block(d, block, SPEC)}
        view_eqs = {e.name: e for e in emit_latex.block(d, block, view)}
        assert set(spec_eqs) - set(view_eqs) <= hidden_biases(d, view), block
        assert set(view_eqs) <= set(spec_eqs), block
        for name, eq in view_eqs.items():
            spec_eq = spec_eqs[name]
            assert rename(spec_eq.rhs, pairs) == eq.rhs, (block, name)
            assert rename(spec_eq.lhs.split(" = ")[0], pairs) == eq.lhs.split(" = ")[0], (block, name)
    factors = atoms(d, view, jacobian=True)
    for state in d.cell.states:
        jacobian = emit_latex.state_jacobian(d, state, state, SPEC)
        assert rename(jacobian.rhs, factors) == emit_latex.state_jacobian(d, state, state, view).rhs


@pytest.mark.parametrize("view", list(NOTATIONS.values()), ids=lambda v: v.name)
@pytest.mark.parametrize("cell", list(cells.known()))
def test_no_two_quantities_share_a_symbol(cell, view):
    d = derive(cells.get(cell))
    p = CellLatexPrinter(d, view)
    shown = [n for n in (*(e.symbol.name for e in d.nodes), *d.cell.param_shapes) if n not in hidden_biases(d, view)
             and not (view.biases == "one" and n.startswith("bh_"))]
    printed = [p.name(n) for n in shown]
    assert len(set(printed)) == len(printed), sorted(printed)


@pytest.mark.parametrize("view", list(NOTATIONS.values()), ids=lambda v: v.name)
@pytest.mark.parametrize("cell", list(cells.known()))
def test_every_block_prints_balanced_latex(cell, view):
    d = derive(cells.get(cell))
    for block in emit_latex.BLOCKS:
        text = emit_latex.aligned(emit_latex.block(d, block, view))
        assert text.count("{") == text.count("}") and text.count(r"\left") == text.count(r"\right")
        assert not re.search(r"\^\{[^{}]*\}\^\{", text), "double superscript"


def forward(cell, view):
    return {e.name: e for e in emit_latex.forward(derive(cells.get(cell)), notation.get(view))}


def test_ng_writes_gamma_gates_angle_times_and_concatenated_weights():
    lstm = forward("lstm", "ng")
    assert lstm["f"].lhs == r"\Gamma_{f}^{\langle t \rangle}"
    assert lstm["f"].rhs == r"\sigma\left(W_{f}\left[a^{\langle t-1 \rangle}, x^{\langle t \rangle}\right] + b_{f}\right)"
    assert lstm["i"].lhs == r"\Gamma_{u}^{\langle t \rangle}" and lstm["g"].lhs == r"\tilde{c}^{\langle t \rangle}"
    assert lstm["h"].lhs == r"a^{\langle t \rangle}"
    assert forward("rnn", "ng")["h"].rhs == r"\tanh\left(W_{a}\left[a^{\langle t-1 \rangle}, x^{\langle t \rangle}\right] + b_{a}\right)"


def test_ng_gru_in_its_own_convention_is_the_swapped_cell():
    assert forward("gru_swapped", "ng")["h"].rhs == (r"\Gamma_{u}^{\langle t \rangle} \odot \tilde{c}^{\langle t \rangle} + "
                                                     r"\left(1 - \Gamma_{u}^{\langle t \rangle}\right) \odot c^{\langle t-1 \rangle}")
    assert forward("gru_swapped", "ng")["n"].rhs == r"\tanh\left(W_{c}\left[q^{\langle t \rangle}, x^{\langle t \rangle}\right] + b_{c}\right)"


def test_olah_writes_a_dot_before_the_concatenation_and_capital_c():
    lstm = forward("lstm", "olah")
    assert lstm["f"].rhs == r"\sigma\left(W_{f} \cdot \left[h_{t-1}, x_{t}\right] + b_{f}\right)"
    assert lstm["c"].rhs == r"f_{t} \odot C_{t-1} + i_{t} \odot \tilde{C}_{t}"


def test_wildml_uses_row_vectors_and_no_biases():
    lstm = forward("lstm", "wildml")
    assert lstm["i"].rhs == r"\sigma\left(x_{t} U^{i} + s_{t-1} W^{i}\right)"
    d = derive(cells.get("lstm"))
    grads = {e.name: e.rhs for e in emit_latex.block(d, "parameters", notation.get("wildml"))}
    assert grads["W_i"] == r"\sum_{t=1}^{T} x_{t}^{\top} \delta \bar{i}_{t}" and "b_i" not in grads
    assert forward("gru", "wildml")["h"].rhs == r"\left(1 - z_{t}\right) \odot h_{t} + z_{t} \odot s_{t-1}"


def test_greff_writes_block_input_z_output_y_and_peepholes():
    cell = forward("lstm_peephole", "greff")
    assert cell["g"].lhs == "z^{t}" and cell["h"].rhs == r"o^{t} \odot \tanh\left(c^{t}\right)"
    assert cell["o"].rhs == r"\sigma\left(W_{o} x^{t} + R_{o} y^{t-1} + b_{o} + p_{o} \odot c^{t}\right)"
    assert r"p_{i} \odot c^{t-1}" in cell["i"].rhs


def test_pytorch_writes_two_biases_with_torch_names():
    assert forward("lstm", "pytorch")["g"].rhs == r"\tanh\left(W_{ig} x_{t} + W_{hg} h_{t-1} + b_{ig} + b_{hg}\right)"
    assert forward("gru", "pytorch")["n"].rhs == (r"\tanh\left(W_{in} x_{t} + b_{in} + r_{t} \odot "
                                                  r"\left(W_{hn} h_{t-1} + b_{hn}\right)\right)")


def test_row_vectors_transpose_the_weights_in_jacobians():
    d = derive(cells.get("gru"))
    assert emit_latex.state_jacobian(d, "h", "h", notation.get("wildml")).rhs.endswith("{W^{z}}^{\\top}")
    assert emit_latex.state_jacobian(d, "h", "h", SPEC).rhs.endswith("U_{z}")


def test_wildml_writes_its_rnn_with_column_vectors_and_no_biases():
    """WildML's RNN posts: s_t = tanh(U x_t + W s_{t-1}), the output softmax(V s_t)."""
    d = derive(cells.get("rnn"))
    wildml = notation.get("wildml")
    assert emit_latex.forward(d, wildml)[0].rhs == r"\tanh\left(U x_{t} + W s_{t-1}\right)"
    assert emit_latex.state_jacobian(d, "h", "h", wildml).rhs.endswith(" W")
    assert [e.rhs for e in head.latex_forward(wildml)][0] == r"V s_{t}"
    assert "bias" not in [e.name for e in head.latex_gradients(wildml)]


def test_gate_orders_name_real_gates():
    for framework, orders in notation.GATE_ORDERS.items():
        for cell, gates in orders.items():
            gate_nodes = {n.symbol.name for n in derive(cells.get(cell)).nodes if n.preacts}
            assert set(gates) == gate_nodes, framework


def test_gate_orders_of_pytorch_match_torch():
    """Row blocks of weight_ih_l0 are the gates in the stated order: checked through torch's own cell."""
    import torch

    from derive.runtime import interop

    lstm = torch.nn.LSTM(2, 3)
    _, params = interop.from_torch(lstm)
    H = 3
    order = notation.GATE_ORDERS["PyTorch (weight_ih_l0, weight_hh_l0)"]["lstm"]
    for k, gate in enumerate(order):
        assert torch.equal(torch.from_numpy(params[f"W_{gate}"]), lstm.weight_ih_l0.detach()[k * H:(k + 1) * H])


def test_unknown_notation_and_bad_styles():
    with pytest.raises(ValueError, match="unknown notation 'nobody'"):
        notation.get("nobody")
    with pytest.raises(ValueError, match="'diagonal' is not one of sum, concat, row"):
        notation.Notation("x", "x", affine="diagonal")


def test_cli_shows_every_notation(capsys):
    from derive.cli import main

    for view in NOTATIONS:
        assert main(["show", "gru", "--latex", "--notation", view]) == 0
    assert r"\Gamma_{r}" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["show", "gru", "--notation", "nobody"])


def test_unknown_cell_names_the_variants():
    with pytest.raises(SpecError, match="variants: lstm_peephole"):
        cells.get("nope")


def test_ng_output_layer_is_softmax_of_w_y_a_plus_b_y():
    from derive.emit import head

    forward = head.latex_forward(notation.get("ng"))
    assert (forward[0].lhs, forward[0].rhs) == (r"\eta^{\langle t \rangle}", r"W_{y} a^{\langle t \rangle} + b_{y}")
    assert forward[1].lhs == r"\hat{y}^{\langle t \rangle}"
    gradients = {e.lhs: e.rhs for e in head.latex_gradients(notation.get("ng"))}
    assert gradients[r"\frac{\partial L}{\partial W_{y}}"] == (r"\sum_{t=1}^{T} \delta \eta^{\langle t \rangle}\, "
                                                           r"{a^{\langle t \rangle}}^{\top}")
    assert head.latex_forward(notation.get("wildml"))[0].rhs == "V s_{t}"  # column vectors, no bias


def test_the_spec_view_of_the_output_layer_is_what_generate_writes():
    from derive.emit import files as generate
    from derive.emit import head

    written = generate.builtin_outputs()["latex/softmax_ce/forward.tex"]
    assert all(f"{e.lhs} &= {e.rhs}" in written for e in head.latex_forward(SPEC))
