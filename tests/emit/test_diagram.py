"""Diagrams drawn from the cell specs: every node and edge of the spec appears, labels are translated."""

import re
import shutil
import subprocess

import pytest

from derive import cells
from derive.emit import diagram
from derive.cells.spec import SpecError, define


def edges(dot: str) -> list[tuple[str, str, str]]:
    """(tail label, head label, weight) for every edge, with node ids replaced by their labels."""
    labels = dict(re.findall(r"^  (n\d+) \[label=<(.*?)>, shape", dot, flags=re.M))
    found = re.findall(r"^  (n\d+) -> (n\d+)(?: \[label=<(.*?)>[],])?", dot, flags=re.M)
    return [(labels[a], labels[b], w) for a, b, w in found]


@pytest.mark.parametrize("cell", list(cells.BUILTIN))
def test_every_role_weight_and_state_is_drawn(cell):
    spec = cells.get(cell)
    dot = diagram.cell_dot(spec)
    for node in spec.nodes:
        assert f"{diagram.symbol(node.name)} {node.role}" in dot, node.name
    weights = {w for _, _, w in edges(dot) if w}
    assert weights == {diagram.symbol(w, "") for w in spec.weights}
    for state in spec.states:
        assert f"<I>{state}</I><SUB>t−1</SUB>" in dot and f"<I>{state}</I><SUB>t</SUB>>" in dot


def test_lstm_forget_gate_reads_the_input_and_previous_hidden_state():
    into_forget = [(tail, w) for tail, head, w in edges(diagram.cell_dot(cells.get("lstm"))) if "forget gate" in head]
    assert into_forget == [("<I>x</I><SUB>t</SUB>", "<I>W</I><SUB>f</SUB>"),
                           ("<I>h</I><SUB>t−1</SUB>", "<I>U</I><SUB>f</SUB>")]


def test_gru_variants_differ_where_the_reset_gate_acts():
    torch_style = edges(diagram.cell_dot(cells.get("gru")))
    cho = edges(diagram.cell_dot(cells.get("gru_cho")))
    # PyTorch: U_n multiplies h_{t-1}, then the reset gate scales the product
    assert ("<I>h</I><SUB>t−1</SUB>", '<FONT POINT-SIZE="15">⊙</FONT>', "<I>U</I><SUB>n</SUB>") in torch_style
    # Cho: the reset gate scales h_{t-1} first (node q), then U_n multiplies it
    assert any("reset state" in tail and "candidate" in head and w == "<I>U</I><SUB>n</SUB>" for tail, head, w in cho)


def test_labels_are_translated():
    names = {"forget gate": "遗忘门", "cell state": "细胞状态"}
    dot = diagram.cell_dot(cells.get("lstm"), lambda m: names.get(m, m))
    assert "遗忘门" in dot and "细胞状态" in dot and "forget gate" not in dot


def test_messages_cover_every_label():
    assert set(diagram.messages(cells.BUILTIN.values())) >= {n.role for c in cells.BUILTIN.values() for n in c.nodes}


def test_highlight_greys_out_the_rest():
    dot = diagram.cell_dot(cells.get("lstm"), highlight=["f"])
    forget = next(line for line in dot.splitlines() if "forget gate" in line)
    output = next(line for line in dot.splitlines() if "output gate" in line)
    assert "#fde9b5" in forget and "#f4f4f4" in output
    with pytest.raises(SpecError, match="no node w to highlight"):
        diagram.cell_dot(cells.get("lstm"), highlight=["w"])


def test_unrolled_chain():
    dot = diagram.unrolled_dot(cells.get("rnn"), 3)
    assert dot.count("<B>rnn</B>") == 3 and "the same weights at every step" in dot
    with pytest.raises(SpecError, match="steps must be 1 to 8"):
        diagram.unrolled_dot(cells.get("rnn"), 0)


def test_a_user_cell_is_drawn():
    mgu = define("mgu", states="h", equations="""
        f = sigmoid(W_f @ x + U_f @ h_prev + b_f)  # forget gate
        q = f * h_prev                             # gated state
        n = tanh(W_n @ x + U_n @ q + b_n)          # candidate
        h = (1 - f) * h_prev + f * n               # hidden state
    """)
    assert "gated state" in diagram.messages([mgu])
    assert any("gated state" in tail and "candidate" in head for tail, head, _ in edges(diagram.cell_dot(mgu)))


@pytest.mark.skipif(not shutil.which("dot"), reason="Graphviz is not installed: bash setup.sh (or apt-get install graphviz)")
@pytest.mark.parametrize("cell", list(cells.BUILTIN))
def test_graphviz_renders_it(cell):
    svg = subprocess.run(["dot", "-Tsvg"], input=diagram.cell_dot(cells.get(cell)), capture_output=True,
                         text=True, check=True).stdout
    assert svg.count("<g id=\"node") == diagram.cell_dot(cells.get(cell)).count(", shape=")
