"""Sphinx directives for notations, variants and errata: tables and equations drawn from the engine.

``{notation-table} lstm``    every symbol of a cell in every notation (the Rosetta table)
``{gate-orders}``            how PyTorch, cuDNN, Keras and ONNX stack the gates, in a notation's symbols
``{z-convention}``           the engine's proof that the two GRU conventions are one cell
``{erratum} KEY``            a published wrong gradient (``:part: published``), the derived one it replaces
                             (``:part: derived``) or both checked against finite differences (``:part: check``)
"""

from __future__ import annotations

from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx

from derive.cells.catalogue import get
from derive.derivation import equivalence
from derive.derivation.bptt import derive
from derive.emit import latex, notation
from derive.emit.latex import Equation
from derive.lab import errata

from .extension import EngineDirective, EquationsDirective, add_to_catalog, block_option, table

HEADERS = ("spec name", "framework", "cell", "gates, top to bottom", "parameter", "relative error, published",
           "relative error, derived")


def math(latex: str) -> nodes.math:
    return nodes.math(latex, latex)


def rosetta_rows(cell_name: str) -> list[tuple[str, list[str]]]:
    """Spec name and its LaTeX in every notation: nodes at step t, weights, vectors ("" where not written)."""
    cell = get(cell_name)
    preacts = derive(cell).preacts
    rows = []
    for name in [n.name for n in cell.nodes] + list(cell.param_shapes):
        views = []
        for view in notation.NOTATIONS.values():
            shown = [view.shows(p.biases.index(name)) for p in preacts if name in p.biases]
            base = view.base(cell.name, name)
            views.append("" if shown and not any(shown) else base if name in cell.param_shapes else view.timed(base, "t"))
        rows.append((name, views))
    for pre in (p for p in preacts if len(p.terms) > 1 and not derive(cell).vars[p.symbol].tag):
        weights = sorted((t.weight for t in pre.terms), key=lambda w: w in cell.weights and cell.weights[w] == "x")
        stacked = [view.concat.get(notation.family(cell.name), {}).get(pre.node, "") if view.affine == "concat" else ""
                   for view in notation.NOTATIONS.values()]
        rows.append((f"[{', '.join(weights)}]", stacked))
    return rows


class NotationTable(EngineDirective):
    """``{notation-table} lstm``: one row per spec name, one column per notation."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        self.cell()  # a clear error for an unknown cell
        body = [[nodes.literal(text=name), *(math(v) if v else nodes.Text("—") for v in views)]
                for name, views in rosetta_rows(self.arguments[0])]
        self.note_engine()
        return [table([self.translate(HEADERS[0]), *(self.translate(v.label) for v in notation.NOTATIONS.values())], body)]


class GateOrders(EngineDirective):
    """``{gate-orders}``: the row order of the stacked gate weights of each framework."""

    option_spec: ClassVar[dict] = {"notation": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        try:
            view = notation.get(self.options.get("notation", "spec"))
        except ValueError as exc:
            raise self.error(str(exc)) from None
        rows = []
        for framework, orders in notation.GATE_ORDERS.items():
            for cell, gates in orders.items():
                symbols = ", ".join(view.base(cell, g) for g in gates)
                rows.append([nodes.Text(self.translate(framework)), nodes.literal(text=cell), math(symbols)])
        self.note_engine()
        return [table([self.translate(h) for h in HEADERS[1:4]], rows)]


class ZConvention(EquationsDirective):
    """``{z-convention}``: σ(−a) = 1 − σ(a), and the GRU with z negated is the GRU with z and 1 − z swapped."""

    required_arguments = 0

    def equations(self) -> list[Equation]:
        return latex.negated_gate_steps(equivalence.negated_gate(get("gru_swapped"), get("gru_cho"), "z"), self.view())


def erratum_named(directive: EngineDirective) -> errata.Erratum:
    key = directive.arguments[0]
    if key not in errata.ERRATA:
        raise directive.error(f"erratum: no erratum {key!r} (known: {', '.join(errata.ERRATA)})")
    return errata.ERRATA[key]


class ErratumEquations(EquationsDirective):
    """``{erratum} KEY``: the published equations (``:part: published``) or the derived ones (``:part: derived``)."""

    option_spec: ClassVar[dict] = {**EquationsDirective.option_spec, "part": block_option(("published", "derived", "check"))}

    def equations(self) -> list[Equation]:
        published, derived = erratum_named(self).equations(self.view())
        return published if self.options.get("part", "published") == "published" else derived

    def run(self) -> list[nodes.Node]:
        if self.options.get("part") != "check":
            return super().run()
        result = errata.check(erratum_named(self))
        rows = [[nodes.literal(text=name), nodes.Text(f"{bad:.1e}"), nodes.Text(f"{good:.1e}")]
                for name, (bad, good) in result.items()]
        self.note_engine()
        return [table([self.translate(h) for h in HEADERS[4:]], rows)]


def collect_messages(app: Sphinx) -> None:
    """The table headers, for sphinx.pot."""
    add_to_catalog(app, [*HEADERS, *(v.label for v in notation.NOTATIONS.values()), *notation.GATE_ORDERS],
                   "derive/site/views.py")


def setup(app: Sphinx) -> dict:
    for name, directive in {"notation-table": NotationTable, "gate-orders": GateOrders,
                            "z-convention": ZConvention, "erratum": ErratumEquations}.items():
        app.add_directive(name, directive)
    app.connect("builder-inited", collect_messages)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
