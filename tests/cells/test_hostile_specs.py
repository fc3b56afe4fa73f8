"""Every string of a spec file is hostile: nothing in it runs when a generated module is imported,
and what cannot be written safely is refused with a SpecError that names it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from derive.cells import SpecError, define, specfile
from derive.cli import main

ROOT = Path(__file__).resolve().parents[2]
CODE = '__import__("pathlib").Path("PWNED").write_text("ran")'
ESCAPES = ['"""', "'''", "\\", '\\"""', '"', "\\x", "\\N{", "}}{{", "%", "$"]  # each ends a string or a format
CELL = '''name = "mine"
states = "h"
title = {title}
reference = {reference}
equations = {equations}
'''


def spec(tmp_path: Path, title: str = "t", reference: str = "r", role: str = "hidden state",
         name: str = "cell.toml") -> Path:
    path = tmp_path / name
    equations = f"h = tanh(W @ x + U @ h_prev + b_h)  # {role}"
    path.write_text(CELL.format(title=json.dumps(title), reference=json.dumps(reference),
                                equations=json.dumps(equations)), encoding="utf-8")
    return path


def payloads() -> list[str]:
    """Text that would run CODE if pasted unescaped into a docstring, a comment or a string."""
    return [f"x{end} ; {CODE} ; {end}" for end in ESCAPES] + [f"x{end}\n{CODE}\n{end}" for end in ESCAPES[:3]]


def imports_cleanly(folder: Path, outputs: list[Path]) -> None:
    """Import every generated module in a fresh interpreter; nothing may run but the module itself."""
    modules = [str(p) for out in outputs for p in sorted(out.rglob("*.py"))]
    code = ("import importlib.util, sys\n"
            "for path in sys.argv[1:]:\n"
            "    spec = importlib.util.spec_from_file_location('m', path)\n"
            "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n")
    done = subprocess.run([sys.executable, "-c", code, *modules], cwd=folder, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert not (folder / "PWNED").exists()


def generate(tmp_path: Path, path: Path) -> tuple[int, Path]:
    out = tmp_path / "out"
    return main(["generate", "--spec", str(path), "--out", str(out)]), out


@pytest.mark.parametrize("field", ["title", "reference", "role"])
def test_no_text_of_a_spec_runs(tmp_path, field):
    generated = []
    for k, payload in enumerate(payloads()):
        if field == "role" and "\n" in payload:
            continue  # a comment ends at the end of its line
        folder = tmp_path / str(k)
        folder.mkdir()
        code, out = generate(folder, spec(folder, **{field: payload}))
        if code != 0:
            assert "\n" in payload, payload  # only multi-line text is refused: one line of text is escaped
            continue
        page = (out / "mine.md").read_text(encoding="utf-8")
        assert "<" not in page.split("```")[0].replace("](<", ""), payload  # no raw HTML reaches the page
        generated.append(out)
    assert len(generated) == len(ESCAPES)
    imports_cleanly(tmp_path, generated)


def test_multi_line_titles_are_refused_with_the_key(tmp_path):
    with pytest.raises(SpecError, match="title .*: one line of text without control characters"):
        specfile.load(spec(tmp_path, title='x"""\nimport os; os.system("echo PWNED")\n"""'))


@pytest.mark.parametrize("name", ['a"""b.toml', "a\\x.toml", "new\nline.toml", "p'q.toml"])
def test_the_spec_file_name_is_escaped_too(tmp_path, name):
    code, out = generate(tmp_path, spec(tmp_path, name=name))
    assert code == 0
    imports_cleanly(tmp_path, [out])
    assert all(len(line) and line.startswith("%") for line in
               (out / "latex" / "mine" / "forward.tex").read_text(encoding="utf-8").splitlines()[:1])


@pytest.mark.parametrize("equation, message", [
    ('h = tanh(W @ x + U @ h_prev) ; __import__("os")', "cannot parse"),
    ('h = tanh(W @ x + U @ h_prev + "b")', "unsupported operation"),
    ("h = tanh(W @ x + __import__('os').getpid())", "unsupported function"),
    ("h = tanh(W @ x + U @ h_prev + b_h.real)", "unsupported operation"),
    ("h = tanh(W @ x + (lambda: 1)())", "unsupported"),
])
def test_equations_are_parsed_never_evaluated(equation, message):
    with pytest.raises(SpecError, match=message):
        define("mine", equation, states="h")


@pytest.mark.parametrize("equations, states, message", [
    ("h0 = tanh(W @ x)\nh = tanh(V @ x + U @ h_prev + h0)", "h", "node 'h0': reserved name, the kernels use it for the "
                                                               "initial state of h"),
    ("h = tanh(h0 @ x + U @ h_prev)", "h", "weight 'h0': reserved"),
    ("dh_T = tanh(W @ x)\nh = tanh(V @ x + U @ h_prev + dh_T)", "h", "node 'dh_T': reserved"),
    ("c0 = tanh(W @ x)\nc = c0 * c_prev\nh = tanh(U @ h_prev + c)", "h, c", "node 'c0': reserved"),
    ("h = tanh(W @ x + U @ h_prev)", "h, h", "state 'h': declared 2 times"),
    ("h = tanh(W @ x + U @ h_prev + 1e999)", "h", "node 'h': a number overflows to infinity"),
    ("h = tanh(W @ x + U @ h_prev + 1" + "0" * 400 + ")", "h", "node 'h': a number overflows to infinity"),
    ("h = tanh(W @ x + " + " + ".join(["h_prev"] * 3000) + ")", "h", "node 'h': .*split it into several nodes"),
    ("h = tanh(W @ x + " + "-" * 3000 + "h_prev)", "h", "node 'h': .*split it into several nodes"),
    ("h = tanh(Wé @ x + U @ h_prev)", "h", "weight 'Wé': reserved or invalid name"),
])
def test_names_the_kernels_use_and_impossible_numbers_are_refused(equations, states, message):
    with pytest.raises(SpecError, match=message):
        define("mine", equations, states=states)


def test_a_spec_file_may_be_given_as_text(tmp_path):
    assert specfile.load(str(spec(tmp_path))).name == "mine"
