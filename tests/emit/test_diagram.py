"""Diagrams laid out from the cell specs: every operation and every input of the spec is drawn, nothing a
reader would trip over (wires through shapes, wires on top of each other, labels over things), the carried
states run straight along the top, texts are translated, and the SVG is well formed."""

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from derive import cells
from derive.cells import specfile
from derive.cells.spec import SpecError, define
from derive.emit import diagram, svg
from derive.emit.figure import SUB, Figure

DATA = Path(__file__).parents[1] / "data"
DOCS = Path(__file__).parents[2] / "docs"
SPEC_FILES = sorted([*DATA.glob("*.toml"), *DOCS.rglob("*.toml")])
ALL = [*(cells.get(name) for name in cells.known()), *(specfile.load(p) for p in SPEC_FILES)]
IDS = [cell.name for cell in ALL]
MGU = define("mgu_user", states="h", equations="""
    f = sigmoid(W_f @ x + U_f @ h_prev + b_f)  # forget gate
    q = f * h_prev                             # gated state
    n = tanh(W_n @ x + U_n @ q + b_n)          # candidate
    h = (1 - f) * h_prev + f * n               # hidden state
""")


def texts(figure: Figure) -> set[str]:
    return {"".join(t for t, _ in label.runs) for label in figure.labels}


def arriving(figure: Figure, shape) -> int:
    """Wires whose last point is on the edge of shape."""
    left, top, right, bottom = shape.box()
    return sum(1 for w in figure.wires if w.arrow and left - 0.5 <= w.points[-1][0] <= right + 0.5
               and top - 0.5 <= w.points[-1][1] <= bottom + 0.5)


@pytest.mark.parametrize("cell", [*ALL, MGU], ids=[*IDS, "user"])
def test_nothing_a_reader_trips_over(cell):
    assert diagram.cell_figure(cell).crossings() == []


@pytest.mark.parametrize("cell", ALL, ids=IDS)
def test_every_operation_gets_each_of_its_inputs(cell):
    figure = diagram.cell_figure(cell)
    elements = diagram.Elements(cell).items
    assert [s.key for s in figure.shapes] == list(elements)
    for shape in figure.shapes:
        assert arriving(figure, shape) == len(elements[shape.key].inputs), (shape.key, elements[shape.key])


@pytest.mark.parametrize("cell", ALL, ids=IDS)
def test_inputs_come_in_on_the_left_and_states_leave_on_the_right(cell):
    figure = diagram.cell_figure(cell)
    shapes_left = min(s.box()[0] for s in figure.shapes)
    shapes_right = max(s.box()[2] for s in figure.shapes)
    read = {f"{s}t−1" for node in cell.nodes for s in cell.states if f"{s}_prev" in node.text} | {"xt"}
    for label in figure.labels:
        name = "".join(t for t, _ in label.runs)
        if name in read:
            assert label.anchor == "end" and label.x < shapes_left, name
    exits = {label_name: label for label in figure.labels if (label_name := "".join(t for t, _ in label.runs))
             in {f"{s}t" for s in cell.states}}
    assert set(exits) == {f"{s}t" for s in cell.states}
    assert all(label.anchor == "start" and label.x > shapes_right for label in exits.values())
    assert read <= texts(figure)


def test_the_lstm_cell_state_is_a_straight_line_along_the_top():
    figure = diagram.cell_figure(cells.get("lstm"))
    elements = diagram.Elements(cells.get("lstm")).items
    on_line = [s for s in figure.shapes if elements[s.key].owner == "c"
               and elements[s.key].glyph in "⊙+" and s.y == min(t.y for t in figure.shapes)]
    assert len(on_line) == 2  # forget f ⊙ c_{t-1}, then + i ⊙ g, both on the top line
    top = on_line[0].y
    line = [w for w in figure.wires if all(y == top for _, y in w.points)]
    assert min(x for w in line for x, _ in w.points) < min(s.box()[0] for s in figure.shapes)  # from c_{t-1}
    assert max(x for w in line for x, _ in w.points) > max(s.box()[2] for s in figure.shapes)  # to c_t
    gates = [s for s in figure.shapes if s.kind == "box"]
    assert len(gates) == 4 and len({s.y for s in gates}) == 1 and all(s.y > top for s in gates)


def test_the_gru_hidden_state_is_the_line_and_the_rnn_has_none():
    gru = diagram.cell_figure(cells.get("gru"))
    assert {s.y for s in gru.shapes if s.glyph_text() == "+"} == {min(s.y for s in gru.shapes)}
    rnn = diagram.cell_figure(cells.get("rnn"))
    assert [s.kind for s in rnn.shapes] == ["box"]


def test_highlight_greys_out_the_rest_and_unknown_names_are_refused():
    lstm = cells.get("lstm")
    elements = diagram.Elements(lstm).items
    figure = diagram.cell_figure(lstm, highlight=["f"])
    assert {s.key for s in figure.shapes if not s.faded} == {k for k, e in elements.items() if e.owner == "f"}
    assert [faded for _, _, faded in diagram.legend(lstm, highlight=["f"])] == [n.name != "f" for n in lstm.nodes]
    with pytest.raises(SpecError, match="no node w to highlight"):
        diagram.cell_figure(lstm, highlight=["w"])


def test_roles_are_translated_and_listed_for_the_catalog():
    names = {"forget gate": "遗忘门"}
    legend = diagram.legend(cells.get("lstm"), lambda m: names.get(m, m))
    assert ("遗忘门" in [text for _, text, _ in legend]) and ("forget gate" not in [text for _, text, _ in legend])
    assert "gated state" in diagram.messages([MGU])
    assert set(diagram.messages(cells.BUILTIN.values())) >= {n.role for c in cells.BUILTIN.values() for n in c.nodes}


def test_the_unrolled_chain_has_inputs_outputs_and_losses():
    rnn = cells.get("rnn")
    figure = diagram.unrolled_figure(rnn, 3, losses=True)
    assert {"x1", "x2", "x3", "h1", "h2", "h3", "y1", "y3", "h0"} <= texts(figure)
    assert [s.label.runs for s in figure.shapes if s.fill == "loss"][0] == (("L", "i"),)
    assert len([s for s in figure.shapes if s.fill == "loss"]) == 4  # ℓ_1..ℓ_3 and L
    assert figure.crossings() == []
    assert diagram.unrolled_figure(cells.get("lstm"), 3).crossings() == []
    weights = "".join(t for t, _ in diagram.unrolled_legend(rnn, losses=True)[0][0])
    assert weights == "Wh, Uh"
    with pytest.raises(SpecError, match="steps must be 1 to 8"):
        diagram.unrolled_figure(rnn, 0)


@pytest.mark.parametrize("cell", ALL[:3], ids=IDS[:3])
def test_the_svg_is_well_formed_and_keeps_its_text_readable(cell):
    figure = diagram.cell_figure(cell)
    text = svg.render(figure, "x", "one step")
    root = ET.fromstring(text)
    assert root.get("viewBox") == f"0 0 {round(figure.width)} {round(figure.height)}"
    sizes = [float(e.get("font-size")) for e in root.iter() if e.get("font-size")]
    assert min(sizes) == SUB
    min_width = float(root.get("style").removeprefix("min-width:").removesuffix("px"))
    assert min_width / round(figure.width) * SUB >= 0.7 * 16  # never below 70 % of 16 px body text
    assert len([e for e in root.iter() if e.tag.endswith("marker")]) == 2
