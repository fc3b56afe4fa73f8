"""Everything under ``generated/``: kernels and LaTeX, byte-for-byte reproducible."""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import re
import types
from pathlib import Path

from derive.cells.builtin import BUILTIN
from derive.cells.spec import Cell
from derive.cells.variants import VARIANTS
from derive.derivation.bptt import derive

from . import head, latex
from .fused import unfusable
from .fused_kernel import FusedKernelBuilder
from .jacobian_module import JacobianBuilder
from .kernel import REGENERATE, KernelBuilder
from .layout import plan
from .program import Module, PythonPrinter

CELLS_SOURCE = "derive/cells/builtin.py"
HEAD_SOURCE = "derive/derivation/head.py"
VARIANTS_SOURCE = "derive/cells/variants.py"


def latex_file(source: str, body: str) -> str:
    source = " ".join(source.split())  # one comment line, whatever the file name holds
    return f"% Generated from {source} by `{REGENERATE}`; do not edit.\n\\begin{{aligned}}\n{body}\n\\end{{aligned}}\n"


def cell_outputs(cell: Cell, source: str) -> dict[str, str]:
    """The kernel module and the LaTeX blocks of one cell, by path relative to the output root."""
    d = derive(cell)
    files = {f"{cell.name}.py": KernelBuilder(d, source).text()}
    for name in latex.BLOCKS:
        body = latex.aligned(latex.block(d, name))
        files[f"latex/{cell.name}/{name}.tex"] = latex_file(f"{source} (cell {cell.name})", body)
    files[f"jacobians/{cell.name}.py"] = JacobianBuilder(d, source).text()
    if not unfusable(d, plan(d)):
        fused = FusedKernelBuilder(d, source)
        files[f"fused/{cell.name}.py"], files[f"fused/{cell.name}.c"] = fused.text(), fused.c_source()
    files[f"latex/{cell.name}/jacobian.tex"] = latex_file(f"{source} (cell {cell.name})",
                                                          latex.aligned(latex.jacobian_equations(d)))
    return files


def builtin_outputs() -> dict[str, str]:
    """Every file of ``generated/``."""
    files = {"__init__.py": _package_init(), "jacobians/__init__.py": _jacobians_init(),
             "fused/__init__.py": _fused_init()}
    for cell in BUILTIN.values():
        files.update(cell_outputs(cell, CELLS_SOURCE))
    for variant in VARIANTS.values():
        files.update(cell_outputs(variant.cell, VARIANTS_SOURCE))
    files["softmax_ce.py"] = head.kernel_source(HEAD_SOURCE)
    for name, equations in (("forward", head.latex_forward()), ("gradients", head.latex_gradients()),
                            ("derivation", head.latex_derivation())):
        files[f"latex/softmax_ce/{name}.tex"] = latex_file(HEAD_SOURCE, latex.aligned(equations))
    return files


def _package_init() -> str:
    modules = ", ".join([*BUILTIN, *VARIANTS, "softmax_ce"])
    return _docstring_module(
        f"Kernels and LaTeX.\n\nGenerated from {CELLS_SOURCE}, {VARIANTS_SOURCE} and {HEAD_SOURCE} by "
        f"`{REGENERATE}`; do not edit.\n\nModules: {modules}. Each cell module has forward(params, x, h0=None, …) "
        "and backward(params, cache, dh_seq, dh_T=None, …); see the module docstrings.")


def _jacobians_init() -> str:
    return _docstring_module(
        "One-step state Jacobians of every generated cell.\n\nGenerated from derive/emit/jacobian_module.py by "
        f"`{REGENERATE}`; do not edit.\n\n"
        "Each module has blocks(params, x, <state>_prev, …) and jacobian(params, x, …).")


def _fused_init() -> str:
    return _docstring_module(
        "Fused kernels: the same forward and backward, each step's elementwise work compiled C.\n\n"
        f"Generated from derive/emit/fused_kernel.py by `{REGENERATE}`; do not edit.\n\n"
        "Importing a module compiles its C file once per machine (a C compiler is needed); the cells whose step "
        "needs a matrix product between its elementwise parts have none.")


def _docstring_module(doc: str) -> str:
    return PythonPrinter().doprint(Module(doc, (), (), ()))


def write(root: Path, files: dict[str, str]) -> list[Path]:
    """Write the files that differ; return their paths."""
    written = []
    for rel, text in sorted(files.items()):
        path = root / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def stale(root: Path, files: dict[str, str], extra_allowed: bool = False) -> list[str]:
    """Paths under root that differ from a fresh generation, are missing, or (unless ``extra_allowed``)
    should not be there."""
    problems = [f"{rel} (differs)" if (root / rel).exists() else f"{rel} (missing)"
                for rel, text in sorted(files.items())
                if not (root / rel).exists() or (root / rel).read_text(encoding="utf-8") != text]
    present = {p.relative_to(root).as_posix() for p in root.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    if not extra_allowed:
        problems += [f"{rel} (not generated)" for rel in sorted(present - files.keys())]
    return problems


def markdown_text(text: str) -> str:
    """Text shown as itself on a MyST page: every character Markdown, MyST or HTML would read, escaped."""
    return re.sub(r"([\\`*_{}\[\]()<>#+!|$~:&-])", r"\\\1", " ".join(text.split()))


def page_stub(cell: Cell, spec: Path, page_dir: Path) -> str:
    """A MyST page showing the cell from its spec file: equations, gradients, diagram, kernel."""
    rel = Path(os.path.relpath(spec.resolve(), page_dir.resolve())).as_posix()

    def directive(name: str, argument: str = rel, *options: str) -> str:
        return "\n".join([f"```{{{name}}} {argument}", *options, "```"])

    reference = f"\n{markdown_text(cell.reference)}\n" if cell.reference else ""
    return "\n\n".join([
        f"# {markdown_text(cell.title)}\n{reference}",
        f"The cell as written in [{markdown_text(spec.name)}](<{rel}>):",
        directive("cell-spec"),
        "## One step", directive("cell-diagram"), directive("cell-equations"),
        "## Backpropagation through time",
        "The gradient of every node and pre-activation at step $t$, with the terms that arrive from step $t+1$:",
        directive("cell-gradients"),
        "Weights and biases, summed over the steps:", directive("cell-gradients", rel, ":block: parameters"),
        "The input and the initial states:", directive("cell-gradients", rel, ":block: inputs"),
        "## Kernel",
        f"Generated into `{cell.name}.py` next to this page:",
        directive("literalinclude", f"{cell.name}.py", ":language: python"),
    ]) + "\n"


class _TextLoader(importlib.abc.SourceLoader):
    """Loads a module from generated text instead of a file."""

    def __init__(self, name: str, source: str):
        self.name, self.source = name, source

    def get_filename(self, fullname: str) -> str:
        return f"<generated {self.name}>"

    def get_data(self, path: str) -> bytes:
        return self.source.encode("utf-8")


def module_from_source(name: str, source: str) -> types.ModuleType:
    """A generated module's text, imported without writing it to disk."""
    spec = importlib.util.spec_from_loader(name, _TextLoader(name, source))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
