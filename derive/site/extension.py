"""Sphinx extension: directives that pull equations, diagrams, tables and kernels from the engine at build time.

The pages never type a formula of a cell or a gradient: they name a cell and a block, and the
directive prints what :mod:`derive.emit.latex` prints from the derivation. Formulas are not
messages to translate; the few texts the directives add (diagram labels, table headers) go through
the ``sphinx`` catalog, which the gettext builder fills with them too.
"""

from __future__ import annotations

import importlib
import inspect
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np
import sympy
from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx import locale
from sphinx.application import Sphinx
from sphinx.builders.gettext import MsgOrigin
from sphinx.directives.patches import MathDirective
from sphinx.errors import ExtensionError
from sphinx.locale import get_translation
from sphinx.search.zh import SearchChinese
from sphinx.transforms import SphinxTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx_inline_tabs._impl import TabContainer

from derive.cells import specfile
from derive.cells.builtin import BUILTIN
from derive.cells.catalogue import get, known
from derive.cells.spec import SpecError
from derive.derivation import counts
from derive.derivation.bptt import derive
from derive.emit import diagram, head, identities, latex, notation, svg
from derive.emit.kernel import KernelBuilder
from derive.emit.latex import CellLatexPrinter, Equation
from derive.lab import plots as analysis_plots
from derive.lab import plotting, records, speed, worked
from derive.paths import PACKAGE, generated, repository

from . import landing, references, search_terms, theme
from .build import LANGUAGES, MATHJAX_FILES, MATHJAX_SOURCE

ROOT = repository("building the site")
ENGINE = sorted(p for stage in ("cells", "derivation", "emit", "site") for p in (PACKAGE / stage).glob("*.py"))
WORKED_HEADERS = (("parameter", "value"), ("quantity",), ("gradient", "from the kernel", "from the printed lines"))
SPEC_HEADER = "{name}: states {states}"
WORKED_NOTE = "largest difference between the last two columns: {value}"
WORKED_STEP = "step {number}"
HEAD_BLOCKS = {"forward": head.latex_forward, "gradients": head.latex_gradients, "derivation": head.latex_derivation}
TABLE_HEADERS = ("cell", "parameters", "multiply-adds per step", "other arithmetic per step",
                 "sigmoid and tanh per step", "FLOPs per step")

logger = logging.getLogger(__name__)
_ = get_translation("sphinx")


LM_SAMPLE = "{cell}, temperature {value} (the prime, then what the model drew):"


def messages() -> list[str]:
    """Texts the directives put on pages, to be translated in the ``sphinx`` catalog."""
    plots = [m for plot in plotting.PLOTS.values() for m in plot.messages]
    worked_texts = [h for group in WORKED_HEADERS for h in group] + [WORKED_NOTE, WORKED_STEP]
    return list(dict.fromkeys([*diagram.messages(BUILTIN.values()), *theme.messages(), *landing.messages(), *references.messages(), *TABLE_HEADERS, *worked_texts, *speed.HEADERS,
                               *speed.TORCH_HEADERS, *speed.AVX512_HEADERS, *speed.MEMORY_HEADERS,
                               *speed.CHECKPOINT_HEADERS,
                               speed.NO_CHECKPOINTS, speed.EVERY,
                               *plots, speed.MACHINE, SPEC_HEADER,
                               *(cell.title for cell in known().values() if cell.title),
                               *analysis_plots.messages(), LM_SAMPLE]))


def in_catalog(message: str) -> bool:
    """Whether the loaded ``sphinx`` catalogs hold message (a name may translate to itself)."""
    translator = locale.translators.get(("general", "sphinx"))
    while translator is not None:
        if message in getattr(translator, "_catalog", {}):
            return True
        translator = getattr(translator, "_fallback", None)
    return False


def name_list(argument: str | None) -> list[str]:
    """``"i, f"`` → ``["i", "f"]``."""
    return [n.strip() for n in (argument or "").split(",") if n.strip()]


class EngineDirective(SphinxDirective):
    """Common ground: errors as directive errors, and a rebuild when the engine changes."""

    def cell(self):
        """The cell named by the argument: built-in, a variant, or a TOML spec file (path relative to the page)."""
        name = self.arguments[0]
        try:
            if name.endswith(".toml"):
                path = Path(self.env.relfn2path(name)[1])
                self.env.note_dependency(str(path))
                return specfile.load(path)
            return get(name)
        except SpecError as exc:
            raise self.error(str(exc)) from None

    def note_engine(self) -> None:
        for path in ENGINE:
            self.env.note_dependency(str(path))

    def translate(self, message: str) -> str:
        """The message in the page's language; a missing translation is a build warning."""
        text = str(_(message))
        if text == message and self.config.language not in (None, "en") and not in_catalog(message):
            logger.warning(f"no {self.config.language} translation of {message!r}: update the catalogs "
                           "(see docs/README.md)", location=self.get_location())
        return text


class EquationsDirective(EngineDirective, MathDirective):
    """Display math filled from the engine; ``:only:`` keeps the named equations, in the given order."""

    has_content = False
    required_arguments = 1
    optional_arguments = 0
    option_spec: ClassVar[dict] = {**MathDirective.option_spec, "only": directives.unchanged, "notation": directives.unchanged}

    def equations(self) -> list[Equation]:
        """The equations this directive shows."""
        raise NotImplementedError

    def view(self) -> notation.Notation:
        """The notation named by ``:notation:`` (default: the spec's own names)."""
        try:
            return notation.get(self.options.get("notation", "spec"))
        except ValueError as exc:
            raise self.error(str(exc)) from None

    def run(self) -> list[nodes.Node]:
        chosen = self.select(self.equations())
        self.note_engine()
        self.arguments = []
        # several lines: Sphinx puts them in a split environment, aligned at &=; one line: no alignment
        one = len(chosen) == 1 and "\n" not in chosen[0].aligned()
        body = f"{chosen[0].lhs} = {chosen[0].rhs}" if one else latex.aligned(chosen)
        self.content = StringList(body.splitlines())
        result = super().run()
        for node in result:
            if isinstance(node, nodes.math_block):
                node["translatable"] = False
        return result

    def select(self, equations: list[Equation]) -> list[Equation]:
        """The equations named by ``:only:``, or all of them."""
        wanted = name_list(self.options.get("only"))
        groups = {n: [e for e in equations if e.name == n or e.name.startswith(n + ":")] for n in wanted}
        unknown = [n for n, found in groups.items() if not found]
        if unknown:
            available = list(dict.fromkeys(e.name.split(":")[0] for e in equations))
            raise self.error(f"{self.name}: no equation named {', '.join(unknown)} "
                             f"(available: {', '.join(available)})")
        return [e for n in wanted for e in groups[n]] if wanted else equations


def block_option(choices: tuple[str, ...]) -> Callable[[str], str]:
    """An option converter accepting one of ``choices``."""
    return lambda argument: directives.choice(argument, choices)


class CellEquations(EquationsDirective):
    """``{cell-equations} lstm``: the forward equations of a cell; ``:block: preactivations`` spells out
    every pre-activation the gradients name."""

    option_spec: ClassVar[dict] = {**EquationsDirective.option_spec,
                                   "block": block_option(("forward", "preactivations"))}

    def equations(self) -> list[Equation]:
        return latex.block(derive(self.cell()), self.options.get("block", "forward"), self.view())


class CellGradients(EquationsDirective):
    """``{cell-gradients} gru``: δ recurrences (default), or ``:block: parameters`` / ``inputs``."""

    option_spec: ClassVar[dict] = {**EquationsDirective.option_spec,
                                   "block": block_option(("gradients", "derivation", "parameters", "inputs"))}

    def equations(self) -> list[Equation]:
        return latex.block(derive(self.cell()), self.options.get("block", "gradients"), self.view())


class CellJacobian(EquationsDirective):
    """``{cell-jacobian} lstm`` with ``:state: c`` and ``:source: c``: ∂c_t/∂c_{t−1} over one step;
    ``:through: h`` adds the path through h_{t−1}, computed from c_{t−1}."""

    option_spec: ClassVar[dict] = {**EquationsDirective.option_spec, "state": directives.unchanged,
                                   "source": directives.unchanged, "through": directives.unchanged}

    def equations(self) -> list[Equation]:
        cell = self.cell()
        state = self.options.get("state", cell.output)
        try:
            if "through" in self.options:
                return [latex.state_path(derive(cell), state, self.options["through"], self.view())]
            return [latex.state_jacobian(derive(cell), state, self.options.get("source", state), self.view())]
        except SpecError as exc:
            raise self.error(str(exc)) from None


class HeadEquations(EquationsDirective):
    """``{head-equations}``: the softmax output layer and its loss, or ``:block: gradients``."""

    required_arguments = 0
    option_spec: ClassVar[dict] = {**MathDirective.option_spec, "only": directives.unchanged,
                                   "block": block_option(tuple(HEAD_BLOCKS)), "notation": directives.unchanged}

    def equations(self) -> list[Equation]:
        return HEAD_BLOCKS[self.options.get("block", "forward")](self.view())


IDENTITY_BLOCKS = {"total": identities.total_derivative, "norm": identities.norm_bound,
                   "stacked": identities.stacked, "bidirectional": identities.bidirectional}


class BpttIdentities(EquationsDirective):
    """``{bptt-identities}``: total and immediate derivatives, the unrolled sum, the δ recursion, RTRL;
    ``:block: norm`` the bound on products of step Jacobians; ``stacked`` and ``bidirectional`` the
    recursions of those layers."""

    required_arguments = 0
    option_spec: ClassVar[dict] = {**EquationsDirective.option_spec, "block": block_option(tuple(IDENTITY_BLOCKS))}

    def equations(self) -> list[Equation]:
        return IDENTITY_BLOCKS[self.options.get("block", "total")]()


class CellDiagram(EngineDirective):
    """``{cell-diagram} lstm``: one step drawn from the spec, with a legend of its nodes; ``:highlight: f``
    greys out all but node f; ``:unroll: 3`` draws the chain over three steps instead (``:losses:`` adds
    the outputs' losses)."""

    required_arguments = 1
    option_spec: ClassVar[dict] = {"unroll": directives.positive_int, "losses": directives.flag,
                                   "highlight": directives.unchanged, "name": directives.unchanged}

    def run(self) -> list[nodes.Node]:
        cell = self.cell()
        highlight = name_list(self.options.get("highlight"))
        try:
            if "unroll" in self.options:
                losses = "losses" in self.options
                drawn = diagram.unrolled_figure(cell, self.options["unroll"], losses)
                legend = diagram.unrolled_legend(cell, self.translate, losses)
                description = self.translate(diagram.UNROLLED).format(name=cell.name, steps=self.options["unroll"])
            else:
                drawn = diagram.cell_figure(cell, self.translate, highlight)
                legend = diagram.legend(cell, self.translate, highlight)
                description = self.translate(diagram.ONE_STEP).format(name=cell.name)
        except SpecError as exc:
            raise self.error(str(exc)) from None
        self.note_engine()
        serial = self.env.new_serialno("cell-diagram")
        uid = f"{self.env.current_document.docname.replace('/', '-')}-{serial}"
        picture = svg.render(drawn, uid, description)
        html = (f'<div class="diagram-scroll" tabindex="0">{picture}</div>'
                f'<p class="diagram-legend">{svg.legend_html(legend)}</p>')
        node = nodes.container(classes=["cell-diagram"])
        node += nodes.raw("", html, format="html")
        self.add_name(node)
        return [node]


class CellSpec(EngineDirective):
    """``{cell-spec} lstm``: the cell's equations as written in the spec language."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        cell = self.cell()
        width = max(len(n.name) for n in cell.nodes)
        lines = [f"{n.name:<{width}} = {n.text}" + (f"  # {self.translate(n.role)}" if n.role else "")
                 for n in cell.nodes]  # the roles are prose: in the page's language
        self.note_engine()
        header = self.translate(SPEC_HEADER).format(name=cell.name, states=", ".join(cell.states))
        return [literal(f"# {header}\n" + "\n".join(lines), "python")]


class ParamTable(EngineDirective):
    """``{param-table}``: parameters and per-step work of each cell, as formulas in D and H and as numbers."""

    option_spec: ClassVar[dict] = {"cells": directives.unchanged, "input-size": directives.positive_int,
                   "hidden-size": directives.positive_int}

    def run(self) -> list[nodes.Node]:
        names = name_list(self.options.get("cells")) or list(BUILTIN)
        sizes = self.options.get("input-size", 128), self.options.get("hidden-size", 256)
        try:
            rows = [[self.named(get(name)), *self.row(get(name), sizes)] for name in names]
        except SpecError as exc:
            raise self.error(str(exc)) from None
        self.note_engine()
        return [table([self.translate(h) for h in TABLE_HEADERS], rows)]

    def named(self, cell) -> nodes.Node:
        """The cell's name as code, with its title in the page's language below it."""
        entry = nodes.inline()
        entry += nodes.literal(text=cell.name)
        if cell.title:
            entry += nodes.inline("", self.translate(cell.title), classes=["cell-title"])
        return entry

    @staticmethod
    def row(cell, sizes: tuple[int, int]) -> list[nodes.Node]:
        D, H = sympy.symbols("D H", positive=True, integer=True)
        symbolic, numeric = counts.count(cell, D, H), counts.count(cell, *sizes)
        pairs = [(sympy.factor(symbolic.params), numeric.params),
                 (sympy.factor(symbolic.matmul_macs), numeric.matmul_macs),
                 (symbolic.elementwise, numeric.elementwise),
                 (symbolic.activations, numeric.activations),
                 (sympy.factor(2 * symbolic.matmul_macs + symbolic.elementwise),
                  2 * numeric.matmul_macs + numeric.elementwise)]
        cells = []
        for formula, number in pairs:  # the formula, and under it its value at these sizes
            value = f"= {number:,}".replace(",", "\\,")
            entry = nodes.inline("", "", nodes.math(sympy.latex(formula), sympy.latex(formula)))
            entry += nodes.inline("", "", nodes.math(value, value), classes=["count-value"])
            cells.append(entry)
        return cells


class WorkedExample(EngineDirective):
    """``{worked-example} lstm``: a two-step sequence through the kernel, the printed backward lines
    evaluated on its numbers, and the weight gradients both ways (:mod:`derive.lab.worked`)."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        cell = self.cell()
        found = worked.example(cell.name)
        p = CellLatexPrinter(found.d)
        steps = [self.translate(WORKED_STEP).format(number=t + 1) for t in range(worked.T)]
        params = [[nodes.math(text=p.name(k)), nodes.Text(numbers(v))] for k, v in found.params.items()]
        forward = [[nodes.math(text=p.value(found.d.vars[found.d.x]))]
                   + [nodes.Text(numbers(v["x"])) for v in found.values]]
        forward += [[nodes.math(text=p.doprint(found.d.sym(n.name)))] + [nodes.Text(numbers(v[n.name]))
                                                                            for v in found.values]
                    for n in cell.nodes]
        upstream = found.d.sym(f"dl_{cell.output}")
        backward = [[nodes.math(text=p.doprint(upstream))] + [nodes.Text(numbers(worked.UPSTREAM[t, 0]))
                                                             for t in range(worked.T)]]
        backward += [[nodes.math(text=p.doprint(a.target))] + [nodes.Text(numbers(delta[a.target.name]))
                                                               for delta in found.deltas]
                     for a in found.d.backward if not latex.is_noise(found.d, a)]
        gradients = [[nodes.math(text=p.name(k)), nodes.Text(numbers(found.kernel_grads[k])),
                      nodes.Text(numbers(v))] for k, v in found.line_grads.items()]
        note = nodes.paragraph("", self.translate(WORKED_NOTE).format(value=f"{found.largest_difference:.1e}"))
        note["translatable"] = False
        self.note_engine()
        return [table([self.translate(h) for h in WORKED_HEADERS[0]], params),
                table([self.translate(WORKED_HEADERS[1][0]), *steps], forward),
                table([self.translate(WORKED_HEADERS[1][0]), *steps], backward),
                table([self.translate(h) for h in WORKED_HEADERS[2]], gradients), note]


def numbers(value) -> str:
    """A vector as (0.125, −0.5), a matrix as rows of those; three decimals."""
    array = np.atleast_1d(np.asarray(value, float))
    if array.ndim == 2:
        return "; ".join(numbers(row) for row in array)
    text = [f"{v:.3f}" for v in array]
    return "(" + ", ".join("0.000" if t == "-0.000" else t.replace("-", "−") for t in text) + ")"


class KernelSource(EngineDirective):
    """``{kernel-source} lstm``: the generated NumPy module, as generated."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        path = generated() / f"{self.arguments[0]}.py"
        if not path.is_file():
            raise self.error(f"kernel-source: no generated kernel {path.name} (run `gated-rnn generate`)")
        self.env.note_dependency(str(path))
        return [literal(path.read_text(encoding="utf-8"), "python")]


class KernelApi(EngineDirective):
    """``{kernel-api} lstm``: signatures and docstrings of the generated module's functions."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        try:
            module = importlib.reload(importlib.import_module(f"generated.{self.arguments[0]}"))
        except ImportError as exc:
            raise self.error(f"kernel-api: {exc}") from None
        self.env.note_dependency(module.__file__)
        parts = [f"def {f.__name__}{inspect.signature(f)}:\n    \"\"\"{inspect.getdoc(f)}\"\"\""
                 for f in (module.forward, module.backward)]
        if hasattr(module, "PARAM_SHAPES"):
            parts.append(f"PARAM_SHAPES = {module.PARAM_SHAPES!r}")
        return [literal("\n\n".join(parts), "python")]


class Plot(EngineDirective):
    """``{plot} kernel-speed``: a figure of :mod:`derive.plotting`'s registry, drawn now, inline SVG."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        plot = plotting.PLOTS.get(self.arguments[0])
        if plot is None:
            raise self.error(f"plot: no figure named {self.arguments[0]!r} (known: {', '.join(plotting.PLOTS)})")
        for rel in plot.data:
            self.env.note_dependency(str(ROOT / rel))
        figure = plot.draw(self.translate)
        text = plotting.svg(figure)
        plotting.pyplot().close(figure)
        return [nodes.raw("", f'<figure class="engine-plot">{text}</figure>', format="html")]


class SpeedTable(EngineDirective):
    """``{speed-table}``: the committed benchmark of the generated kernels, one row per measurement;
    ``:torch:`` the NumPy and the fused kernels against torch; ``:avx512:`` the same against the run with
    OpenBLAS's AVX-512 kernels; ``:memory:`` the committed peak-memory
    measurements, with each cell's numbers per step from its kernel's footprint; ``:checkpoints:`` the
    measured trade-off of checkpointing."""

    option_spec: ClassVar[dict] = {"memory": directives.flag, "checkpoints": directives.flag,
                                   "torch": directives.flag, "avx512": directives.flag}

    def run(self) -> list[nodes.Node]:
        if "memory" in self.options:
            self.env.note_dependency(str(ROOT / speed.MEMORY))
            footprints = {}
            for cell in ("lstm", "gru", "rnn"):
                f = KernelBuilder(derive(get(cell)), "").footprint()
                footprints[cell] = (f.cache_h, f.backward_h)
            body = [[nodes.Text(text) for text in row] for row in speed.memory_rows(footprints)]
            return [table([self.translate(h) for h in speed.MEMORY_HEADERS], body)]
        if "checkpoints" in self.options:
            self.env.note_dependency(str(ROOT / speed.MEMORY))
            _, body = speed.checkpoint_rows(self.translate)
            return [table([self.translate(h) for h in speed.CHECKPOINT_HEADERS],
                          [[nodes.Text(text) for text in row] for row in body])]
        self.env.note_dependency(str(ROOT / speed.DATA))
        machine, rows = speed.load()
        if "torch" in self.options:
            body = [[lines(text) for text in row] for row in speed.torch_rows(rows)]
            return [table([self.translate(h) for h in speed.TORCH_HEADERS], body)]
        if "avx512" in self.options:
            self.env.note_dependency(str(ROOT / speed.AVX512))
            faster, other = speed.load(ROOT / speed.AVX512)
            body = [[lines(text) for text in row] for row in speed.avx512_rows(rows, other)]
            return [table([self.translate(h) for h in speed.AVX512_HEADERS], body), self.machine(faster)]
        body = [[lines(text) for text in row] for row in speed.table_rows(rows)]
        return [table([self.translate(h) for h in speed.HEADERS], body), self.machine(machine)]

    def machine(self, machine: dict) -> nodes.paragraph:
        """The machine and the settings the numbers were measured with, under their table."""
        note = nodes.paragraph("", self.translate(speed.MACHINE).format(**machine), classes=["engine-machine"])
        note["translatable"] = False  # a record of the run, not prose
        return note


class AnalysisTable(EngineDirective):
    """``{analysis-table} adding``: a table of :mod:`derive.lab.plots` from the committed measurements (a line
    break in a cell's text starts a new line of the cell)."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        found = analysis_plots.TABLES.get(self.arguments[0])
        if found is None:
            raise self.error(f"analysis-table: no table named {self.arguments[0]!r} "
                             f"(known: {', '.join(analysis_plots.TABLES)})")
        for rel in found.data:
            self.env.note_dependency(str(ROOT / rel))
        body = [[lines(text) for text in row] for row in found.rows(self.translate)]
        return [table([self.translate(h) for h in found.headers], body)]


def lines(text: str) -> nodes.inline:
    """A table cell's text, each of its lines on a line of its own."""
    cell = nodes.inline()
    for k, line in enumerate(text.split("\n")):
        if k:
            cell += nodes.raw("", "<br>", format="html")
        cell += nodes.Text(line)
    return cell


class LanguageModelSamples(EngineDirective):
    """``{lm-samples} english``: the committed text each cell's language model drew at each temperature
    (the first seed, fixed windows), under a label in the page's language."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(str(ROOT / records.path("language-model")))
        data = records.load("language-model")
        corpus = self.arguments[0]
        if corpus not in data["runs"]:
            raise self.error(f"lm-samples: no corpus {corpus!r} (known: {', '.join(data['runs'])})")
        prime = data["settings"]["corpora"][corpus]["prime"]
        found: list[nodes.Node] = []
        for cell, by_truncation in data["runs"][corpus].items():
            for temperature, text in by_truncation["fixed"][0]["samples"].items():
                label = nodes.paragraph("", self.translate(LM_SAMPLE).format(cell=cell, value=temperature),
                                        classes=["engine-sample-label"])
                label["translatable"] = False  # translated here, from the catalog
                sample = literal(prime + text, "text")
                sample["classes"].append("engine-sample")  # wrapped: a model's lines are as long as it drew them
                found += [label, sample]
        return found


def literal(text: str, language: str) -> nodes.literal_block:
    """A highlighted code block (never extracted for translation)."""
    node = nodes.literal_block(text, text)
    node["language"] = language
    return node


def table(headers: list[str], rows: list[list[nodes.Node]]) -> nodes.table:
    """A docutils table with one header row."""
    group = nodes.tgroup(cols=len(headers))
    group += [nodes.colspec(colwidth=1) for _ in headers]
    def row(cells_: list[nodes.Node]) -> nodes.row:
        r = nodes.row()
        r += [nodes.entry("", nodes.paragraph("", "", c)) for c in cells_]
        return r
    group += nodes.thead("", row([nodes.Text(h) for h in headers]))
    group += nodes.tbody("", *[row(r) for r in rows])
    return nodes.table("", group, classes=["engine-table"])


# --- build hooks -------------------------------------------------------------------------------


def add_to_catalog(app: Sphinx, texts: list[str], origin: str) -> None:
    """With the gettext builder: add texts that a module puts on pages to sphinx.pot."""
    if app.builder.name == "gettext":
        for message in texts:
            app.builder.catalogs["sphinx"].add(message, MsgOrigin(origin, 0))


def collect_messages(app: Sphinx) -> None:
    """The directives' texts, for sphinx.pot."""
    add_to_catalog(app, messages(), "derive/site/extension.py")


def check_mathjax(app: Sphinx) -> None:
    """Fail early, with the fix, when MathJax has not been installed."""
    if app.builder.format == "html" and not (MATHJAX_SOURCE / MATHJAX_FILES[0]).is_file():
        raise ExtensionError(f"MathJax is not installed in {MATHJAX_SOURCE}: run `npm ci` at the repository root")


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    """Serve MathJax from the site itself: the script, its fonts and the TeX extensions it loads."""
    if exception is None and app.builder.format == "html":
        target = Path(app.outdir) / "_static" / "mathjax"
        for rel in MATHJAX_FILES:
            source = MATHJAX_SOURCE / rel
            if source.is_dir():
                shutil.copytree(source, target / rel, dirs_exist_ok=True)
            else:
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / rel)


def language_links(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Template context: the same page in the other languages (builds live side by side)."""
    here = app.config.language or "en"
    context["other_languages"] = [(code, label, f"{context.get('content_root', '')}../{code}/{pagename}.html")
                                  for code, (label, _title) in LANGUAGES.items() if code != here]


def localise_title(app: Sphinx, config) -> None:
    """The site title in the build's language (the language is given on the command line)."""
    title = LANGUAGES.get(config.language or "en")
    if title:
        config.html_title = title[1]


class TabLabels(SphinxTransform):
    """Tab labels are messages like any other: given the tab's place in the source, the gettext builder
    extracts them and the locale transform translates them."""

    default_priority = 10  # before the locale transform (20)

    def apply(self) -> None:
        for container in self.document.findall(TabContainer):
            for label in container.findall(nodes.label):
                label.source, label.line = container.source or self.document["source"], container.line or 1


class ChineseSearch(SearchChinese):
    """Chinese search (jieba) whose script names the stemmer it ships: Sphinx 9.0 asks for a
    ``ChineseStemmer`` that does not exist, and search never finishes (sphinx-doc/sphinx#14229)."""

    language_name = "English"  # the stemmer script is english-stemmer.js, defining EnglishStemmer


def setup(app: Sphinx) -> dict:
    for name, directive in {"cell-equations": CellEquations, "cell-gradients": CellGradients,
                            "cell-jacobian": CellJacobian, "head-equations": HeadEquations,
                            "bptt-identities": BpttIdentities, "worked-example": WorkedExample,
                            "cell-diagram": CellDiagram, "cell-spec": CellSpec, "param-table": ParamTable,
                            "kernel-source": KernelSource, "kernel-api": KernelApi, "plot": Plot,
                            "speed-table": SpeedTable, "analysis-table": AnalysisTable,
                            "lm-samples": LanguageModelSamples}.items():
        app.add_directive(name, directive)
    app.add_search_language(ChineseSearch)
    app.add_transform(TabLabels)
    app.add_transform(references.CitationLinks)
    app.add_directive("references", references.References)
    app.add_directive("search-terms", search_terms.SearchTerms)
    app.connect("config-inited", localise_title)
    app.connect("builder-inited", collect_messages)
    app.connect("builder-inited", check_mathjax)
    app.connect("html-page-context", language_links)
    app.connect("build-finished", copy_mathjax)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
