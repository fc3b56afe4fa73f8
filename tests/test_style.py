"""The package and the generated code pass the linter with its default rules, and generated lines fit
in 100 characters."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed: pip install -e '.[dev]'")
def test_ruff_passes_on_the_package_and_the_generated_code():
    done = subprocess.run(["ruff", "check", "--no-cache", "derive", "generated"], cwd=ROOT, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout


def test_generated_lines_fit_in_100_characters():
    long = [f"{p.relative_to(ROOT)}:{k}" for p in sorted((ROOT / "generated").rglob("*.py"))
            for k, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if len(line) > 100]
    assert long == []
