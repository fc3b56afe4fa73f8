"""Everything under ``generated/``: kernels and LaTeX, byte-for-byte reproducible."""

from __future__ import annotations

from pathlib import Path

from . import cells, emit_latex, head, jacobian, variants
from .derivation import derive
from .emit_numpy import KernelWriter
from .spec import Cell

CELLS_SOURCE = "derive/cells.py"
HEAD_SOURCE = "derive/head.py"
VARIANTS_SOURCE = "derive/variants.py"
REGENERATE = "python -m derive generate"


def latex_file(source: str, body: str) -> str:
    return f"% Generated from {source} by `{REGENERATE}`; do not edit.\n\\begin{{aligned}}\n{body}\n\\end{{aligned}}\n"


def cell_outputs(cell: Cell, source: str) -> dict[str, str]:
    """The kernel module and the LaTeX blocks of one cell, by path relative to the output root."""
    d = derive(cell)
    files = {f"{cell.name}.py": KernelWriter(d, source).module()}
    for name in emit_latex.BLOCKS:
        body = emit_latex.aligned(emit_latex.block(d, name))
        files[f"latex/{cell.name}/{name}.tex"] = latex_file(f"{source} (cell {cell.name})", body)
    files[f"jacobians/{cell.name}.py"] = jacobian.JacobianWriter(d, source).module()
    files[f"latex/{cell.name}/jacobian.tex"] = latex_file(f"{source} (cell {cell.name})",
                                                          emit_latex.aligned(jacobian.equations(d)))
    return files


def builtin_outputs() -> dict[str, str]:
    """Every file of ``generated/``."""
    files = {"__init__.py": _package_init(), "jacobians/__init__.py": jacobian.package_init(REGENERATE)}
    for cell in cells.BUILTIN.values():
        files.update(cell_outputs(cell, CELLS_SOURCE))
    for variant in variants.VARIANTS.values():
        files.update(cell_outputs(variant.cell, VARIANTS_SOURCE))
    files["softmax_ce.py"] = head.kernel_source(HEAD_SOURCE)
    for name, pairs in (("forward", head.latex_forward()), ("gradients", head.latex_gradients())):
        body = " \\\\\n".join(f"{lhs} &= {rhs}" for lhs, rhs in pairs)
        files[f"latex/softmax_ce/{name}.tex"] = latex_file(HEAD_SOURCE, body)
    return files


def _package_init() -> str:
    modules = ", ".join([*cells.BUILTIN, *variants.VARIANTS, "softmax_ce"])
    return (f'"""Kernels and LaTeX. Generated from {CELLS_SOURCE}, {VARIANTS_SOURCE} and {HEAD_SOURCE} by '
            f'`{REGENERATE}`; do not edit.\n\n'
            f"Modules: {modules}. Each cell module has forward(params, x, h0=None, …) and\n"
            'backward(params, cache, dh_seq, dh_T=None, …); see the module docstrings.\n"""\n')


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


def stale(root: Path, files: dict[str, str]) -> list[str]:
    """Paths under root that differ from a fresh generation, are missing, or should not be there."""
    problems = [f"{rel} (differs)" if (root / rel).exists() else f"{rel} (missing)"
                for rel, text in sorted(files.items())
                if not (root / rel).exists() or (root / rel).read_text(encoding="utf-8") != text]
    present = {p.relative_to(root).as_posix() for p in root.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    problems += [f"{rel} (not generated)" for rel in sorted(present - files.keys())]
    return problems
