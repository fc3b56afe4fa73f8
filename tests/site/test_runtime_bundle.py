"""The playground's runtime: pinned, complete, and named when something is missing."""

import importlib.metadata
import json
import zipfile
from io import BytesIO

from derive.site import runtime_bundle


def test_the_browser_runs_the_sympy_the_tests_run():
    """``show`` here and the playground there print the same LaTeX only if they run one SymPy."""
    versions = {name.split("-")[0]: name.split("-")[1] for name in runtime_bundle.pinned()}
    assert set(versions) == {"sympy", "mpmath"}
    assert versions["sympy"] == importlib.metadata.version("sympy")


def test_pyodide_is_pinned_exactly_and_installed_at_that_version():
    wanted = json.loads((runtime_bundle.ROOT / "package.json").read_text(encoding="utf-8"))["dependencies"]["pyodide"]
    locked = json.loads((runtime_bundle.ROOT / "package-lock.json").read_text(encoding="utf-8"))
    assert wanted[0].isdigit() and locked["packages"]["node_modules/pyodide"]["version"] == wanted
    assert runtime_bundle.missing() == [] and runtime_bundle.pyodide_version() == wanted


def test_a_missing_pyodide_is_one_line_with_the_fix(tmp_path, monkeypatch):
    (tmp_path / "package.json").write_text('{"version": "314.0.8"}', encoding="utf-8")
    monkeypatch.setattr(runtime_bundle, "PYODIDE", tmp_path)
    [line] = runtime_bundle.missing()
    assert "Pyodide" in line and "npm ci" in line and "pyodide.asm.wasm" in line and "\n" not in line


def test_the_zips_leave_out_tests_and_unused_subpackages_and_are_reproducible():
    assert not runtime_bundle._kept("sympy/core/tests/test_basic.py")
    assert not runtime_bundle._kept("sympy/physics/units/__init__.py")
    assert runtime_bundle._kept("sympy/core/basic.py") and runtime_bundle._kept("mpmath/__init__.py")
    files = {"b.py": b"x = 1\n", "a/c.py": b"y = 2\n"}
    assert runtime_bundle._zip(files) == runtime_bundle._zip(dict(reversed(files.items())))
    assert zipfile.ZipFile(BytesIO(runtime_bundle._zip(files))).read("a/c.py") == b"y = 2\n"
