"""Spec files of users' own cells: loading with clear errors, and generate --spec writing kernel, LaTeX and a page."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from derive.cells import specfile
from derive.cells.catalogue import known
from derive.cli import main
from derive.cells.spec import SpecError, define
from helpers import loss, numerical_gradient, random_problem, rel_err

ROOT = Path(__file__).resolve().parents[2]

MGU = '''name = "mymgu"
title = "Minimal gated unit"
states = ["h"]
equations = """
f = sigmoid(W_f @ x + U_f @ h_prev + b_f)   # forget gate
q = f * h_prev                              # reset state
n = tanh(W_n @ x + U_n @ q + b_n)           # candidate
h = (1 - f) * h_prev + f * n                # hidden state
"""
'''


def write(tmp_path, text, name="cell.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_reads_every_key(tmp_path):
    cell = specfile.load(write(tmp_path, MGU.replace('states = ["h"]', 'states = "h"\noutput = "n"')))
    assert cell.name == "mymgu" and cell.states == ("h",) and cell.output == "n"
    assert [n.name for n in cell.nodes] == ["f", "q", "n", "h"] and cell.node("f").role == "forget gate"


ERRORS = [
    ('name = "a"\nstates = "h"\n', "missing equations"),
    (MGU + 'colour = "red"\n', "unknown key colour"),
    (MGU.replace('title = "Minimal gated unit"', "title = 3"), "title must be text"),
    (MGU.replace('states = ["h"]', "states = [1]"), "states must be text"),
    ("name = ", "Invalid value"),
    (MGU.replace("q = f * h_prev", "q = f * hh_prev"), "node 'q': unknown reference 'hh_prev'"),
]


@pytest.mark.parametrize("text, message", ERRORS, ids=["missing", "unknown key", "wrong type", "states type",
                                                        "toml syntax", "spec error"])
def test_load_errors_name_the_file_and_the_problem(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as err:
        specfile.load(path)
    assert str(path) in str(err.value) and message in str(err.value)


@pytest.mark.parametrize("text, message", ERRORS)
def test_loads_gives_the_same_errors_without_a_file(tmp_path, text, message):
    with pytest.raises(SpecError) as from_file:
        specfile.load(write(tmp_path, text))
    with pytest.raises(SpecError) as from_text:
        specfile.loads(text)
    assert str(from_file.value) == f"{tmp_path / 'cell.toml'}: {from_text.value}"


@pytest.mark.parametrize("name", sorted(known()))
def test_dumps_writes_a_spec_file_that_reads_back_as_the_cell(name, tmp_path):
    cell = known()[name]
    text = specfile.dumps(cell)
    assert specfile.loads(text) == cell and specfile.load(write(tmp_path, text)) == cell
    assert f'name = "{name}"' in text and "equations = " in text


def test_dumps_translates_the_prose_and_escapes_what_toml_needs():
    cell = define("odd", 'h = tanh(W @ x + U @ h_prev)  # a "quoted" \\ role', states="h",
                  title='Title with "quotes", \\ and 中文', reference="Réf. — 2026")
    assert specfile.loads(specfile.dumps(cell)) == cell
    shouted = specfile.loads(specfile.dumps(cell, str.upper))
    assert shouted.title == cell.title.upper() and shouted.node("h").role == cell.node("h").role.upper()


def test_load_of_a_missing_file(tmp_path):
    with pytest.raises(SpecError, match="No such file"):
        specfile.load(tmp_path / "nope.toml")


def test_generate_writes_a_kernel_that_passes_finite_differences(tmp_path, capsys):
    spec = write(tmp_path, MGU)
    out = tmp_path / "out"
    assert main(["generate", "--spec", str(spec), "--out", str(out)]) == 0
    assert {"mymgu.py", "mymgu.md", "latex"} <= {p.name for p in out.iterdir()}
    module_spec = importlib.util.spec_from_file_location("mymgu", out / "mymgu.py")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    params, x, init, g_seq, g_final = random_problem(module, 3, 2, 3, 4, seed=5)
    grads = module.backward(params, module.forward(params, x, **init)[1], g_seq, **g_final)
    f = lambda: loss(module, params, x, init, g_seq, g_final)  # noqa: E731
    for name, array in [*params.items(), ("x", x), *init.items()]:
        assert rel_err(grads[name], numerical_gradient(f, array)) <= 1e-6, name
    assert np.isfinite(grads["W_f"]).all()
    assert main(["generate", "--spec", str(spec), "--out", str(out), "--check"]) == 0


@pytest.mark.slow  # builds with Sphinx
def test_the_page_stub_builds_with_the_site_directives(tmp_path):
    spec = write(tmp_path, MGU)
    site = tmp_path / "site"
    assert main(["generate", "--spec", str(spec), "--out", str(site)]) == 0
    page = (site / "mymgu.md").read_text(encoding="utf-8")
    assert "```{cell-gradients} ../cell.toml" in page and "$$" not in page
    (site / "index.md").write_text("# Cells\n\n```{toctree}\nmymgu\n```\n", encoding="utf-8")
    (site / "conf.py").write_text('extensions = ["myst_parser", "derive.site.extension"]\nexclude_patterns = ["latex"]\n',
                                  encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "sphinx", "-b", "dummy", "-W", "-q", str(site), str(tmp_path / "build")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_tutorial_cell_generates_and_passes_its_own_check(tmp_path):
    """docs/variants/custom-cell.md, steps 2 to 5: the spec file, generate --spec, the check script."""
    docs = ROOT / "docs" / "variants"
    assert main(["generate", "--spec", str(docs / "janet.toml"), "--out", str(tmp_path)]) == 0
    done = subprocess.run([sys.executable, str(docs / "check_kernel.py"), str(tmp_path / "janet.py")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("relative error") == 8  # 6 parameters, x, h0


def test_a_cell_written_from_the_tutorial_alone(tmp_path, monkeypatch):
    """tests/data/ugrnn.toml was written by a reader of the tutorial who had not seen the engine."""
    spec = ROOT / "tests" / "data" / "ugrnn.toml"
    assert main(["generate", "--spec", str(spec), "--out", str(tmp_path)]) == 0
    done = subprocess.run([sys.executable, str(ROOT / "docs" / "variants" / "check_kernel.py"),
                           str(tmp_path / "ugrnn.py")], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    monkeypatch.chdir(spec.parent)  # --check does not depend on how the spec's path is spelled
    assert main(["generate", "--spec", spec.name, "--out", str(tmp_path), "--check"]) == 0
