"""A wheel installed (not editable) into a fresh virtual environment works from any folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
LEFT_OUT = shutil.ignore_patterns(".git", "node_modules", "_build", "build", "dist", "__pycache__", "*.egg-info",
                                  ".hypothesis", ".pytest_cache", "docs")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The ``bin`` folder of a fresh virtual environment with the wheel of this checkout installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=LEFT_OUT)  # a copy, so that building leaves the checkout clean
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"), str(source)],
                   check=True, capture_output=True)
    wheel = next((tmp / "dist").glob("*.whl"))
    subprocess.run([sys.executable, "-m", "venv", str(tmp / "venv")], check=True)
    bin_dir = tmp / "venv" / "bin"
    subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "-q", str(wheel)], check=True,
                   capture_output=True)
    return bin_dir


def run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(bin_dir / "gated-rnn"), *args], cwd=cwd, capture_output=True, text=True, check=False)


def test_the_console_script_names_itself_and_lists_and_shows(installed, tmp_path):
    done = run(installed, tmp_path, "--help")
    assert done.returncode == 0 and done.stdout.startswith("usage: gated-rnn")
    assert "lstm_peephole" in run(installed, tmp_path, "list").stdout
    shown = run(installed, tmp_path, "show", "gru")
    assert shown.returncode == 0 and "δz = δh ⊙ (h_prev − n)" in shown.stdout
    assert r"\delta" in run(installed, tmp_path, "show", "gru", "--latex").stdout


def test_generate_writes_what_the_repository_holds(installed, tmp_path):
    assert run(installed, tmp_path, "generate", "--out", "out").returncode == 0
    written = {p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file()}
    committed = {p.relative_to(ROOT / "generated").as_posix() for p in (ROOT / "generated").rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts}
    assert written == committed
    assert all((tmp_path / "out" / rel).read_bytes() == (ROOT / "generated" / rel).read_bytes() for rel in committed)
    assert run(installed, tmp_path, "generate", "--check", "--out", "out").returncode == 0


def test_generate_a_spec_file(installed, tmp_path):
    shutil.copy(ROOT / "tests" / "data" / "ugrnn.toml", tmp_path)
    done = run(installed, tmp_path, "generate", "--spec", "ugrnn.toml", "--out", "mine")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "mine" / "ugrnn.py").is_file() and (tmp_path / "mine" / "latex" / "ugrnn" / "forward.tex").is_file()


def test_without_out_generate_refuses_to_write_into_the_installation(installed, tmp_path):
    done = run(installed, tmp_path, "generate")
    assert done.returncode == 2 and done.stderr.strip() == (
        "error: generate: the package is installed, not run from a clone; give --out DIR")


def test_the_installed_kernels_run_and_the_latex_is_there(installed, tmp_path):
    code = ("import numpy as np, generated.lstm as k, generated, pathlib; "
            "rng = np.random.default_rng(0); "
            "p = {n: rng.standard_normal([{'H': 3, 'D': 2}[d] for d in s]) for n, s in k.PARAM_SHAPES.items()}; "
            "x = rng.standard_normal((4, 2, 2)); h, cache = k.forward(p, x); g = k.backward(p, cache, np.ones_like(h)); "
            "tex = pathlib.Path(generated.__file__).parent / 'latex' / 'lstm' / 'gradients.tex'; "
            "print(h.shape, sorted(g)[:2], tex.read_text().count('delta') > 5)")
    done = subprocess.run([str(installed / "python"), "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          check=False)
    assert done.stdout.strip() == "(4, 2, 3) ['U_f', 'U_g'] True", done.stderr


def test_site_and_lab_commands_say_they_need_a_clone(installed, tmp_path):
    for command in (["site"], ["figures", "--check"]):
        done = run(installed, tmp_path, *command)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and "needs a clone of the repository" in lines[0], done.stderr


def test_the_fused_kernels_ship_their_c_sources(installed, tmp_path):
    check = ("import pathlib, generated.fused as f; "
             "print(sorted(p.name for p in pathlib.Path(f.__file__).parent.glob('*.c')))")
    done = subprocess.run([str(installed / "python"), "-c", check], cwd=tmp_path, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "'lstm.c'" in done.stdout and "'gru.c'" in done.stdout and "'rnn.c'" in done.stdout
