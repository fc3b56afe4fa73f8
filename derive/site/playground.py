"""Sphinx directive ``{playground}``: an editor for a spec whose equations, gradients and diagram are
derived in the reader's browser, by the engine itself running under Pyodide.

The directive writes the page's controls, every text they show in the page's language, the spec of
every known cell as a file (the editor's starting points) and where the runtime lies
(:mod:`derive.site.runtime_bundle`); ``_static/playground.js`` runs the page and
``_static/playground-worker.js`` runs Python off the page's thread.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

from derive.cells import specfile
from derive.cells.builtin import BUILTIN
from derive.cells.catalogue import known
from derive.emit import diagram, notation, preview

from . import runtime_bundle
from .extension import EngineDirective, add_to_catalog

logger = logging.getLogger(__name__)

DEFAULT = "lstm"
# what the page shows besides the equations, each a message of the ``sphinx`` catalog
LABELS = {
    "start": "Start from",
    "own": "your spec",
    "builtin": "Cells of this site",
    "variants": "Published variants",
    "notation": "Notation",
    "editor": "Spec file (TOML)",
    "download": "Download the spec",
    "diagram": "One step of the cell",
}
STATUS = {
    "python": "Loading the runtime ({size} once, then from the browser's cache): starting Python and downloading "
              "SymPy, {seconds} s…",
    "engine": "Loading the runtime: importing SymPy and the engine, {seconds} s…",
    "deriving": "Deriving…",
    "derived": "Derived in {time}.",
    "first": "First result {seconds} s after the page opened; this derivation took {time}.",
    "failed": "The runtime did not load: {message}. Reloading the page tries again.",
    "missing": "This build of the site has no runtime for the playground: build it with `python -m derive site`.",
    "stale": "The equations further down are those of the last spec that derived.",
}
BLOCKS = {
    "forward": ("Forward equations",
                "One time step, in the order the engine evaluates the nodes; products are elementwise (⊙)."),
    "preactivations": ("Pre-activations",
                       "The weighted sums that the gradients name, written out."),
    "gradients": ("Backpropagation through time",
                  ("δv is the derivative of the loss of the whole sequence with respect to v at step t; a "
                   "term at t\u00a0+\u00a01 is a path through the next step.")),
    "derivation": ("The chain rule, link by link",
                   "For each δ: the sum over what reads the node, every local derivative, then the result."),
    "parameters": ("Gradients of the parameters", "Summed over the time steps."),
    "inputs": ("Gradients of the input and of the initial states", ""),
}
FOLDED = ("derivation",)
PAGE = """<div id="playground" class="playground">
<script type="application/json" id="playground-config">{config}</script>
<div class="pg-controls">
<label>{start} <select id="pg-cell"><option id="pg-own" value="" hidden>{own}</option>{cells}</select></label>
<label>{notation} <select id="pg-notation">{notations}</select></label>
<button type="button" id="pg-download">{download}</button>
</div>
<label class="pg-editor-label" for="pg-editor">{editor}</label>
<textarea id="pg-editor" spellcheck="false" autocapitalize="off" autocomplete="off" wrap="off" rows="14">{spec}</textarea>
<progress id="pg-progress"></progress>
<pre id="pg-error" role="alert" hidden></pre>
<p id="pg-status" role="status" aria-live="polite"></p>
<div id="pg-output" hidden>
<p class="pg-title" id="pg-title"></p>
<p class="pg-heading">{diagram}</p>
<div class="cell-diagram"><div class="diagram-scroll" tabindex="0" id="pg-diagram"></div>
<p class="diagram-legend" id="pg-legend"></p></div>
{blocks}
</div>
</div>
<script defer src="{up}_static/playground.js"></script>
"""


def messages() -> list[str]:
    """Texts of the playground, for the ``sphinx`` catalog."""
    return [*LABELS.values(), *STATUS.values(), *(text for pair in BLOCKS.values() for text in pair if text)]


def manifest(outdir: str) -> dict | None:
    """The runtime the main job wrote beside this language's build, if it did."""
    path = Path(outdir).parent / runtime_bundle.FOLDER / "manifest.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def megabytes(count: int) -> str:
    return f"{count / 1e6:.1f} MB"


class Playground(EngineDirective):
    """``{playground}``: the editor, its menus, and where the results go."""

    required_arguments = 0

    def run(self) -> list[nodes.Node]:
        self.note_engine()
        up = "../" * self.env.current_document.docname.count("/")
        runtime = manifest(self.env.app.outdir)
        if runtime is None and self.env.app.builder.format == "html":
            logger.warning("the playground's runtime is not built: build the site with `python -m derive site`",
                           location=self.get_location())
        cells = {name: specfile.dumps(cell, self.translate) for name, cell in known().items()}
        # the starting specs carry their titles and comments in the page's language; a reader's own are
        # shown as typed, so only the diagram's description is translated in the browser
        words = {diagram.ONE_STEP: self.translate(diagram.ONE_STEP)}
        status = {key: self.translate(text) for key, text in STATUS.items()}
        if runtime:
            status["python"] = status["python"].replace("{size}", megabytes(runtime["bytes"]))
        config = {
            "runtime": runtime and {"base": f"{up}../{runtime_bundle.FOLDER}/", **runtime},
            "worker": f"{up}_static/playground-worker.js",
            "cells": cells, "default": DEFAULT, "messages": words, "status": status,
        }
        blocks = "".join(self.block(name) for name in preview.BLOCKS)
        html = PAGE.format(config=_json(config), cells=self.cell_menu(), notations=self.notation_menu(),
                           spec=escape(cells[DEFAULT]), up=up, blocks=blocks,
                           **{key: escape(self.translate(text)) for key, text in LABELS.items()})
        return [nodes.raw("", html, format="html")]

    def block(self, name: str) -> str:
        """Where one block of equations goes, under its heading and what it shows."""
        heading, note = (escape(self.translate(text)) if text else "" for text in BLOCKS[name])
        note = f'<p class="pg-note">{note}</p>' if note else ""
        math = '<div class="math notranslate nohighlight pg-math"></div>'
        if name in FOLDED:  # long: folded until the reader asks for it
            return f'<section class="pg-block" data-block="{name}"><details><summary>{heading}</summary>{note}{math}</details></section>'
        return f'<section class="pg-block" data-block="{name}"><p class="pg-heading">{heading}</p>{note}{math}</section>'

    def cell_menu(self) -> str:
        """The known cells, those of the site first, then the published variants."""
        groups = {"builtin": [n for n in known() if n in BUILTIN], "variants": [n for n in known() if n not in BUILTIN]}
        return "".join(f'<optgroup label="{escape(self.translate(LABELS[group]))}">'
                       + "".join(f'<option value="{n}"{" selected" if n == DEFAULT else ""}>{self.entry(n)}</option>'
                                 for n in names)
                       + "</optgroup>" for group, names in groups.items())

    def entry(self, name: str) -> str:
        """A cell in the menu: its name, and its title in the page's language when it has one."""
        title = known()[name].title
        return name if title == name else f"{name}: {escape(self.translate(title))}"

    def notation_menu(self) -> str:
        return "".join(f'<option value="{v.name}">{escape(self.translate(v.label))}</option>'
                       for v in notation.NOTATIONS.values())


def _json(value) -> str:
    """JSON safe inside a ``<script>`` element."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def collect_messages(app: Sphinx) -> None:
    """The playground's texts, for sphinx.pot."""
    add_to_catalog(app, messages(), "derive/site/playground.py")


def setup(app: Sphinx) -> dict:
    app.add_directive("playground", Playground)
    app.connect("builder-inited", collect_messages)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
