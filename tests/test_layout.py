"""The house drawn from the imports reads as the pipeline: spec → derivation → emitters → site, the
runtime below everything, the generated kernels on the runtime alone, the lab beside the site."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# stages, lowest first; a module may import its own stage and the stages listed before it
STAGES = ("derive.paths", "derive.runtime", "derive.cells", "derive.derivation", "derive.emit", "generated",
          "derive.lab", "derive.site", "derive.cli", "derive.__main__")
ALLOWED = {
    "derive.paths": set(),
    "derive.runtime": set(),
    "derive.cells": set(),
    "derive.derivation": {"derive.cells"},
    "derive.emit": {"derive.cells", "derive.derivation"},
    "generated": {"derive.runtime"},
    "derive.lab": {"derive.paths", "derive.runtime", "derive.cells", "derive.derivation", "derive.emit"},
    "derive.site": {"derive.paths", "derive.cells", "derive.derivation", "derive.emit", "derive.lab"},
    "derive.cli": {"derive.paths", "derive.cells", "derive.derivation", "derive.emit", "derive.lab", "derive.site"},
    "derive.__main__": {"derive.cli"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for top in ("derive", "generated") for p in sorted((ROOT / top).rglob("*.py"))}


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules a module imports, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names}
    return {m for m in found if m in known}


def stage(name: str) -> str:
    return next(s for s in STAGES if name == s or name.startswith(s + "."))


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) - {name} for name, path in found.items()}


def test_every_module_belongs_to_a_stage():
    assert [m for m in modules() if m != "derive" and not any(m == s or m.startswith(s + ".") for s in STAGES)] == []


def test_data_flows_one_way():
    wrong = [f"{a} imports {b}" for a, targets in graph().items() if a != "derive" for b in targets
             if b != "derive" and stage(b) != stage(a) and stage(b) not in ALLOWED[stage(a)]]
    assert wrong == []


def test_no_import_circle():
    edges = graph()
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return [*path, node, nxt]
            if nxt not in state and (found := visit(nxt, [*path, node])):
                return found
        state[node] = 2
        return []

    for start in sorted(edges):
        if start not in state:
            assert visit(start, []) == []


def test_the_sphinx_extension_loads_no_trainer_and_no_kernel():
    code = ("import sys, derive.site.extension, derive.site.views; "
            "print(' '.join(m for m in sys.modules if m.startswith(('derive', 'generated'))))")
    loaded = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    heavy = {"derive.lab.train", "derive.lab.experiments", "derive.lab.gradflow", "derive.lab.initialise"}
    assert heavy.isdisjoint(loaded.split()) and not any(m.startswith("generated") for m in loaded.split())
