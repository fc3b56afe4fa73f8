"""The built site: both languages, equations from the engine, links, diagrams, and a look in headless Chromium.

One build of both languages per test session (`python -m derive site`, warnings are errors).
"""

import html
import json
import re
import shutil
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from derive import cells
from derive.emit import latex as emit_latex
from derive.derivation import equivalence
from derive.lab import errata
from derive.emit import head, identities
from derive.emit import notation
from derive.cells import specfile
from derive.derivation.bptt import derive
from derive.site.build import DOCS, LANGUAGES, ROOT, missing_tools

pytestmark = pytest.mark.slow
PAGES = sorted(p.relative_to(DOCS).with_suffix("").as_posix() for p in DOCS.rglob("*.md")
               if p != DOCS / "README.md")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic"]
BROWSER_PAGES = ["en/lstm.html", "zh_CN/lstm.html", "en/bptt.html", "zh_CN/gru.html", "en/lstm-vs-gru.html"]
SEARCHES = {"zh_CN/search.html?q=遗忘门": "zh_CN", "en/search.html?q=forget+gate": "en",
            "zh_CN/search.html?q=forget+gate": "zh_CN"}


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


def page(built: Path, language: str, name: str) -> str:
    return (built / language / f"{name}.html").read_text(encoding="utf-8")


def test_every_page_in_both_languages_and_a_root_page(built):
    for language in LANGUAGES:
        missing = [name for name in PAGES if not (built / language / f"{name}.html").is_file()]
        assert not missing, (language, missing)
    root = (built / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{language}/index.html"' in root for language in LANGUAGES)


def test_chinese_pages_are_in_chinese(built):
    lstm = page(built, "zh_CN", "lstm")
    assert 'lang="zh-CN"' in lstm.split(">", 2)[1] and "遗忘门" in lstm and "The idea: a cell state and gates" not in lstm


def engine_lines() -> set[str]:
    """Every equation line the engine can print (aligned at &= or alone): all cells (built-in, variants, spec
    files under docs/), blocks and notations, the head, the Jacobians, the errata, the GRU conventions."""
    equations = []
    for view in notation.NOTATIONS.values():
        equations += head.latex_forward(view) + head.latex_gradients(view) + head.latex_derivation(view)
        equations += emit_latex.negated_gate_steps(equivalence.negated_gate(cells.get("gru_swapped"), cells.get("gru_cho"), "z"), view)
        for erratum in errata.ERRATA.values():
            if view.biases != "none":
                equations += [e for part in erratum.equations(view) for e in part]
    equations += identities.total_derivative() + identities.norm_bound()
    for cell in [*cells.known().values(), *(specfile.load(p) for p in DOCS.rglob("*.toml"))]:
        d = derive(cell)
        for view in notation.NOTATIONS.values():
            for block in emit_latex.BLOCKS:
                equations += emit_latex.block(d, block, view)
            equations += [emit_latex.state_jacobian(d, s, r, view) for s in cell.states for r in cell.states]
            equations += [emit_latex.state_path(d, s, r, view) for s in cell.states for r in cell.states
                          if (d.sym(r), d.sym(s)) in d.local]
    return {line for e in equations for line in e.aligned().split(" \\\\\n")} | {f"{e.lhs} = {e.rhs}" for e in equations}


def display_math(text: str) -> list[str]:
    """The LaTeX of every display equation line on a built page."""
    blocks = re.findall(r'<div class="math notranslate nohighlight">\s*\\\[(.*?)\\\]</div>', text, flags=re.S)
    lines = []
    for block in blocks:
        body = html.unescape(block).strip().removeprefix("\\begin{split}").removesuffix("\\end{split}")
        lines += [line.strip() for line in body.strip().split(" \\\\\n")]
    return lines


def test_every_displayed_equation_comes_from_the_engine(built):
    known = engine_lines()
    for language in LANGUAGES:
        total = 0
        for name in PAGES:
            lines = display_math(page(built, language, name))
            assert [line for line in lines if line not in known] == [], (language, name)
            total += len(lines)
        assert total > 100, language


def test_both_languages_show_the_same_equations(built):
    for name in PAGES:
        assert display_math(page(built, "en", name)) == display_math(page(built, "zh_CN", name)), name


def test_language_links_point_at_the_same_page(built):
    for language in LANGUAGES:
        for name in [*PAGES, "search", "genindex"]:
            links = re.findall(r'<nav class="language-switch".*?<a href="([^"]+)"', page(built, language, name), re.S)
            assert len(links) == 1, (language, name)
            target = (built / language / Path(name).parent / links[0]).resolve()
            other = next(lang for lang in LANGUAGES if lang != language)
            assert target == (built / other / f"{name}.html").resolve(), (language, name, links[0])


def diagrams(built: Path, language: str, name: str) -> list[str]:
    text = page(built, language, name)
    folder = (built / language / name).parent
    return [(folder / src).read_text(encoding="utf-8")
            for src in re.findall(r'<object data="([^"]+\.svg)" type="image/svg\+xml"', text)]


def test_diagrams_are_labelled_in_the_page_language(built):
    en, zh = diagrams(built, "en", "lstm"), diagrams(built, "zh_CN", "lstm")
    assert len(en) == len(zh) == 5
    assert all("forget gate" in svg for svg in en) and all("遗忘门" in svg and "forget gate" not in svg for svg in zh)


def test_offline_assets(built):
    for language in LANGUAGES:
        text = page(built, language, "lstm")
        assert not re.search(r'<(?:script|link)[^>]+(?:src|href)="(?:https?:)?//', text)
        assert (built / language / "_static" / "mathjax" / "tex-chtml.js").is_file()
        assert list((built / language / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))


# --- in a browser ------------------------------------------------------------------------------


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def browser_report(built, tmp_path_factory) -> dict:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed: bash setup.sh (or apt-get install chromium fonts-noto-cjk)")
    check = (Path(__file__).parent / "site_check.html").read_text(encoding="utf-8")
    check = check.replace("__PAGES__", json.dumps(BROWSER_PAGES)).replace("__SEARCHES__", json.dumps(list(SEARCHES)))
    (built / "site_check.html").write_text(check, encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(built)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/site_check.html"
        profile = tmp_path_factory.mktemp("chromium-profile")
        done = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=60000",
                               "--dump-dom", url], capture_output=True, text=True, timeout=180)
    finally:
        server.shutdown()
    found = re.search(r'<pre id="result">(.*?)</pre>', done.stdout, flags=re.S)
    assert found and found.group(1) != "pending", done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.parametrize("url", BROWSER_PAGES)
def test_math_is_typeset(browser_report, url):
    report = browser_report["pages"][url]
    assert "error" not in report, report
    assert report["mathSources"] > 0 and report["typeset"] == report["mathSources"], report
    assert report["mathErrors"] == [] and report["rawTex"] == [], report


@pytest.mark.parametrize("url", BROWSER_PAGES)
def test_diagrams_load_and_language_link_resolves(browser_report, url):
    report = browser_report["pages"][url]
    assert report["diagramsLoaded"] == report["diagrams"], report
    other = "zh-CN" if url.startswith("en/") else "en"
    assert report["languageLink"]["status"] == 200 and report["languageLink"]["lang"] == other, report
    if url.endswith("lstm.html"):
        assert report["diagrams"] == 5 and ("遗忘门" if url.startswith("zh_CN") else "forget gate") in report["diagramText"]


@pytest.mark.parametrize("url", SEARCHES)
def test_search_finds_the_forget_gate(browser_report, url):
    report = browser_report["searches"][url]
    assert report.get("hits", 0) > 0, report
