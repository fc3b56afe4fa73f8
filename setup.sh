#!/usr/bin/env bash
# Everything the main job and the tests need, on a Debian machine that has Python and Node:
# gettext (catalogs), Chromium and CJK fonts (browser tests and screenshots), a C compiler (fused kernels),
# PyTorch's CPU build (parity tests), this package with its extras, MathJax and Pyodide from npm (the
# playground's Python; the site build fetches the SymPy wheels it runs with pip, pinned by hash).
set -euo pipefail
cd "$(dirname "$0")"
system="chromium gettext fonts-noto-cjk gcc libc6-dev"
if ! dpkg -s $system >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    $sudo apt-get install -y -q --no-install-recommends $system
fi
python -m pip install -q torch==2.13.0  # the CPU wheel; any other version pulls a CUDA build
python -m pip install -q -e ".[dev]"
npm ci --no-audit --no-fund  # MathJax and Pyodide, served by the site itself
