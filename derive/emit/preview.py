"""What the playground shows of a spec while it is typed: every block of equations ``gated-rnn show --latex``
prints, in the chosen notation, and the diagram of one step.

The playground runs this module in the reader's browser under Pyodide, so it and everything it imports
use only the standard library and SymPy: no NumPy, Sphinx or matplotlib (a test imports it with those
blocked). The result is plain data for JSON; a mistake in the spec comes back as the engine's message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from derive.cells import specfile
from derive.cells.spec import SpecError
from derive.derivation.bptt import derive
from derive.emit import diagram, latex, notation, svg

BLOCKS = tuple(latex.BLOCKS)  # in the order ``show --latex`` prints them


def render(text: str, notation_name: str = "spec", messages: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The spec file ``text`` derived: ``{"name", "title", "states", "blocks", "diagram", "legend"}``, each
    block the LaTeX body of an ``aligned`` environment; or ``{"error": message}``. ``messages`` translates
    the diagram's texts and a built-in cell's title into the page's language."""
    words = messages or {}

    def translate(message: str) -> str:
        return words.get(message, message)

    try:
        cell = specfile.loads(text)
        d = derive(cell)
        view = notation.get(notation_name)
        blocks = {name: latex.aligned(latex.block(d, name, view)) for name in BLOCKS}
        description = translate(diagram.ONE_STEP).format(name=cell.name)
        picture = svg.render(diagram.cell_figure(cell, translate), "playground", description)
        legend = svg.legend_html(diagram.legend(cell, translate))
    except (SpecError, ValueError) as exc:  # ValueError: an unknown notation
        return {"error": str(exc)}
    return {"name": cell.name, "title": translate(cell.title), "states": list(cell.states), "blocks": blocks,
            "diagram": picture, "legend": legend}
