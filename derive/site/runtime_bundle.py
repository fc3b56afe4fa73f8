"""The playground's Python runtime, served by the site itself: Pyodide, SymPy and the engine.

:func:`write` puts into ``_build/html/_playground/`` (one copy for both languages):

- the core of Pyodide from npm (``node_modules/pyodide``, the version pinned in ``package.json``);
- SymPy and mpmath from the wheels pinned with their hashes in ``playground-wheels.txt``, fetched once
  with pip into ``_build/cache/playground/``, their tests and the subpackages the engine never imports
  left out, compiled to bytecode by that Pyodide's own Python (``precompile.mjs``, run with Node; the result is
  cached under the hash of everything it is made from);
- the engine's modules that :mod:`derive.emit.preview` imports, as sources;
- ``manifest.json``: the Pyodide version, each file's URL and size, and the total.

The zips' names carry a hash of their contents, so a browser never keeps a stale one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from derive.paths import PACKAGE, repository

ROOT = repository("building the playground")
PYODIDE = ROOT / "node_modules" / "pyodide"
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
WHEELS = Path(__file__).with_name("playground-wheels.txt")
PRECOMPILE = Path(__file__).with_name("precompile.mjs")
CACHE = ROOT / "_build" / "cache" / "playground"  # the wheels, and SymPy compiled once per input
FOLDER = "_playground"
# what the browser has no wheel of or no use for: the engine's path to the playground must not import them
BLOCKED = ("numpy", "sphinx", "docutils", "matplotlib", "scipy", "cffi")
# subpackages neither ``import sympy`` nor the engine imports (checked by :func:`engine_modules`)
UNUSED = ("sympy/benchmarks", "sympy/categories", "sympy/codegen", "sympy/crypto", "sympy/diffgeom",
          "sympy/liealgebras", "sympy/physics", "sympy/sandbox", "sympy/stats", "sympy/testing", "sympy/unify",
          "sympy/vector")
TESTS = "tests"  # every folder of that name is left out too
ENTRY = "derive.emit.preview"
# run in a fresh interpreter: block what the browser lacks, render every known cell, list the modules used
PROBE = """
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {blocked!r}:
            raise ImportError(f"{{name}} is not available in the browser")
sys.meta_path.insert(0, Blocker())
from {entry} import render
from derive.cells import catalogue, specfile
from derive.emit import notation
for cell in catalogue.known().values():
    for view in notation.NOTATIONS if cell.name == "lstm" else ["spec"]:
        assert "error" not in render(specfile.dumps(cell), view), cell.name
unused = sorted(m for m in sys.modules if (m + ".").startswith(tuple(u.replace("/", ".") + "." for u in {unused!r})))
assert not unused, f"left out of the playground, but imported: {{unused}}"
print("\\n".join(m.__file__ for n, m in sys.modules.items() if n.split(".")[0] == "derive"))
"""


class BundleError(RuntimeError):
    """Something the playground's runtime is made from is missing; the message says what, in one line."""


def pinned() -> dict[str, str]:
    """The wheels' file names by their sha256, as pinned in ``playground-wheels.txt``."""
    found = {}
    for line in WHEELS.read_text(encoding="utf-8").splitlines():
        match = re.match(r"(\S+)==(\S+) --hash=sha256:([0-9a-f]{64})$", line.strip())
        if match:
            name, version, digest = match.groups()
            found[f"{name}-{version}-py3-none-any.whl"] = digest
    return found


def pyodide_version() -> str:
    return json.loads((PYODIDE / "package.json").read_text(encoding="utf-8"))["version"]


def missing() -> list[str]:
    """What the playground needs from npm and this machine lacks, one line each with the way to get it."""
    wanted = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["dependencies"]["pyodide"]
    absent = [f for f in ("package.json", *PYODIDE_FILES) if not (PYODIDE / f).is_file()]
    if absent or pyodide_version() != wanted:
        found = f"missing {', '.join(absent)}" if absent else f"found {pyodide_version()}"
        fix = "run `npm ci` at the repository root (or `bash setup.sh`)"
        return [f"Pyodide {wanted} is not installed in {PYODIDE} ({found}): {fix}"]
    if not shutil.which("node"):
        return ["Node.js is not installed: the playground's SymPy is compiled by Pyodide under Node"]
    return []


def wheels() -> list[Path]:
    """The pinned wheels, fetched with pip into the cache directory when they are not there yet."""
    folder = CACHE / "wheels"
    paths = {folder / name: digest for name, digest in pinned().items()}
    if any(not p.is_file() or _digest(p.read_bytes()) != digest for p, digest in paths.items()):
        done = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--require-hashes",
                               "-r", str(WHEELS), "-d", str(folder)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise BundleError(f"the playground's wheels ({', '.join(pinned())}) could not be fetched with pip "
                              f"into {folder}: {last}")
    return list(paths)


def engine_modules(entry: str = ENTRY) -> list[Path]:
    """The files of the package that the playground's entry imports, found in a fresh interpreter that
    blocks what the browser lacks and renders every known cell with it; a BundleError if that fails or
    imports one of the subpackages left out."""
    probe = PROBE.format(blocked=BLOCKED, entry=entry, unused=UNUSED)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(PACKAGE.parent)})
    if done.returncode != 0:
        raise BundleError(f"{entry} cannot run in the browser: " + done.stderr.strip().splitlines()[-1])
    return sorted(Path(line) for line in done.stdout.split())


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _zip(files: dict[str, bytes]) -> bytes:
    """A zip of these files, the same bytes for the same files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name in sorted(files):
            z.writestr(zipfile.ZipInfo(name), files[name], compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buffer.getvalue()


def _kept(name: str) -> bool:
    parts = name.split("/")
    return TESTS not in parts and not any(name.startswith(prefix + "/") for prefix in UNUSED)


def libraries() -> bytes:
    """SymPy and mpmath as bytecode for the pinned Pyodide, from the cache or compiled now (about 20 s).

    The cache is named by what the result is made from: the wheels' pinned hashes, what is left out of
    them, the Pyodide version and the compiling script; the sources are packed only when it misses."""
    paths = wheels()
    made_from = json.dumps([pinned(), UNUSED, TESTS, pyodide_version()]).encode() + PRECOMPILE.read_bytes()
    cached = CACHE / f"libraries-{_digest(made_from)[:16]}.zip"
    if not cached.is_file():
        sources = {}
        for wheel in paths:
            with zipfile.ZipFile(wheel) as z:
                sources.update({n: z.read(n) for n in z.namelist() if not n.endswith("/") and _kept(n)})
        packed = _zip(sources)
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:  # beside the cache: the rename is atomic
            source, out = Path(tmp) / "sources.zip", Path(tmp) / "out.zip"
            source.write_bytes(packed)
            done = subprocess.run(["node", str(PRECOMPILE), str(PYODIDE), str(source), str(out)],
                                  capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise BundleError(f"compiling SymPy for Pyodide failed: {done.stderr.strip()[-2000:]}")
            os.replace(out, cached)
    return cached.read_bytes()


def engine() -> bytes:
    """The engine's modules the entry imports, as sources, laid out as the package."""
    return _zip({p.relative_to(PACKAGE.parent).as_posix(): p.read_bytes() for p in engine_modules()})


def write(out: Path) -> dict:
    """Write the runtime into ``out/_playground/``; return its manifest."""
    problems = missing()
    if problems:
        raise BundleError("\n".join(problems))
    target = out / FOLDER
    if target.exists():
        shutil.rmtree(target)
    (target / "pyodide").mkdir(parents=True)
    files = {}
    for name in PYODIDE_FILES:
        shutil.copy2(PYODIDE / name, target / "pyodide" / name)
        files[f"pyodide/{name}"] = (target / "pyodide" / name).stat().st_size
    zips = {}
    for part, data in (("libraries", libraries()), ("engine", engine())):
        name = f"{part}-{_digest(data)[:12]}.zip"
        (target / name).write_bytes(data)
        files[name] = len(data)
        zips[part] = name
    manifest = {"pyodide": pyodide_version(), "entry": ENTRY, "zips": zips, "files": files,
                "bytes": sum(files.values())}
    (target / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest
