"""The main job: regenerate the engine output, then build the reference site in every language.

``gated-rnn site`` writes ``_build/html/<language>/`` for each language, the playground's runtime
``_build/html/_playground/`` that both share (:mod:`derive.site.runtime_bundle`) and a landing page
``_build/html/index.html`` (:mod:`derive.site.landing`) leading into them. ``--catalogs`` refreshes the translation catalogs instead.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from derive.emit import files as generate
from derive.paths import repository

from . import landing, runtime_bundle

ROOT = repository("building the site")
DOCS = ROOT / "docs"
LOCALES = DOCS / "locales"
LANGUAGES = {"en": ("English", "Gated RNN reference"), "zh_CN": ("简体中文", "门控循环神经网络参考")}
MATHJAX_SOURCE = ROOT / "node_modules" / "mathjax" / "es5"
MATHJAX_FILES = ("tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "a11y")


def missing_tools() -> list[str]:
    """What the build needs and this machine lacks, one line each with the way to install it."""
    missing = []
    if not (MATHJAX_SOURCE / MATHJAX_FILES[0]).is_file():
        missing.append(f"MathJax is not installed in {MATHJAX_SOURCE}: run `npm ci` at the repository root "
                       "(or `bash setup.sh`)")
    return missing + runtime_bundle.missing()


class SiteError(RuntimeError):
    """A build step failed; the message says which and carries its output."""


def sphinx_command(language: str, out: Path, builder: str = "html") -> list[str]:
    """The sphinx-build call for one language: warnings are errors, all of them reported, nothing reused."""
    target = out / language if builder == "html" else out
    return [sys.executable, "-m", "sphinx", "-b", builder, "-W", "--keep-going", "-q", "-E", "-j", "auto",
            "-c", str(ROOT), "-d", str(out.parent / "doctrees" / f"{builder}-{language}"),
            "-D", f"language={language}", str(DOCS), str(target)]


def run(command: list[str], what: str) -> None:
    """Run a build step; its output becomes the error message if it fails."""
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SiteError(f"{what} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")


def build(out: Path, languages: list[str]) -> dict[str, float]:
    """Generate, then build each language (concurrently); return seconds per step."""
    unknown = [lang for lang in languages if lang not in LANGUAGES]
    if unknown:
        raise SiteError(f"unknown language {', '.join(unknown)} (known: {', '.join(LANGUAGES)})")
    missing = missing_tools()
    if missing:
        raise SiteError("\n".join(missing))
    timings = {}
    start = time.perf_counter()
    generate.write(ROOT / "generated", generate.builtin_outputs())
    timings["generate"] = time.perf_counter() - start
    start = time.perf_counter()
    try:
        runtime_bundle.write(out)  # before Sphinx: the playground's page states the runtime's size
    except runtime_bundle.BundleError as exc:
        raise SiteError(f"playground: {exc}") from None
    timings["playground"] = time.perf_counter() - start
    start = time.perf_counter()
    builds = {lang: subprocess.Popen(sphinx_command(lang, out), cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True) for lang in languages}
    failed = []
    for lang, process in builds.items():
        output = process.communicate()[0]
        if process.returncode != 0:
            failed.append(f"--- {lang} (exit {process.returncode})\n{output}")
    timings["sphinx"] = time.perf_counter() - start
    if failed:
        raise SiteError("sphinx-build failed:\n" + "\n".join(failed))
    (out / "index.html").write_text(landing.page({lang: LANGUAGES[lang] for lang in languages}, LOCALES),
                                    encoding="utf-8")
    return timings


def update_catalogs(out: Path) -> None:
    """Extract messages (gettext builder) and merge them into docs/locales/<lang>/LC_MESSAGES/*.po."""
    pot = out.parent / "gettext"
    run(sphinx_command("en", pot, builder="gettext"), "gettext")
    for lang in LANGUAGES:
        if lang != "en":
            run([sys.executable, "-m", "sphinx_intl", "update", "-p", str(pot), "-d", str(LOCALES), "-l", lang],
                "sphinx-intl update")
            for path in (LOCALES / lang / "LC_MESSAGES").rglob("*.po"):
                drop_obsolete(path)


def drop_obsolete(path: Path) -> None:
    """Remove the entries of messages the pages no longer have (``#~``): the msgids that changed are
    kept as fuzzy entries, with their old translation, by the update itself."""
    from babel.messages.pofile import read_po, write_po  # Sphinx's own dependency, needed only here

    with path.open("rb") as f:
        catalog = read_po(f)
    if catalog.obsolete:
        catalog.obsolete.clear()
        with path.open("wb") as f:
            write_po(f, catalog, width=76)
