"""The site built once per test session, for the tests of its pages and of its playground."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from derive.site.build import ROOT, missing_tools



@pytest.fixture(scope="session")
def chromium() -> str:
    """The browser of the browser tests."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Chromium is not installed: bash setup.sh (or apt-get install chromium fonts-noto-cjk)")
    return found


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    missing = missing_tools()
    if missing:
        pytest.skip("; ".join(missing))
    out = tmp_path_factory.mktemp("site") / "html"
    done = subprocess.run([sys.executable, "-m", "derive", "site", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return out
