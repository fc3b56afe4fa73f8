"""generated/ is reproducible, checked for staleness, and derived quickly."""

import os
import subprocess
import sys
from pathlib import Path

from derive import cells
from derive.emit import files as generate
from derive.derivation.bptt import derive

ROOT = Path(__file__).resolve().parents[2]


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "derive", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def test_check_passes_on_committed_files():
    result = run("generate", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


def test_generation_is_byte_identical_across_runs_and_hash_seeds(tmp_path):
    first = generate.builtin_outputs()
    for seed in ("0", "12345"):
        out = subprocess.run([sys.executable, "-c", "from derive.emit import files as generate; import json, sys; "
                              "json.dump(generate.builtin_outputs(), sys.stdout)"],
                             cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": seed})
        import json
        assert json.loads(out.stdout) == first


def test_check_reports_stale_missing_and_extra_files(tmp_path):
    files = generate.builtin_outputs()
    generate.write(tmp_path, files)
    assert generate.stale(tmp_path, files) == []
    (tmp_path / "lstm.py").write_text("# edited by hand\n")
    (tmp_path / "latex" / "gru" / "forward.tex").unlink()
    (tmp_path / "extra.py").write_text("")
    assert generate.stale(tmp_path, files) == ["latex/gru/forward.tex (missing)", "lstm.py (differs)",
                                               "extra.py (not generated)"]


def test_every_generated_file_names_its_source():
    for rel, text in generate.builtin_outputs().items():
        head = text[:300]
        assert "Generated from derive/" in head and "gated-rnn generate" in head and "do not edit" in head, rel


def test_derivation_is_cached_per_cell():
    for cell in cells.BUILTIN.values():
        assert derive(cell) is derive(cell)
