"""The built site: both languages, equations from the engine, links, diagrams, and a look in headless Chromium.

One build of both languages per test session (the fixture ``built`` of conftest.py).
"""

import html
import json
import re
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
from derive.site import landing, references
from derive.site.build import DOCS, LANGUAGES

pytestmark = pytest.mark.slow
PAGES = sorted(p.relative_to(DOCS).with_suffix("").as_posix() for p in DOCS.rglob("*.md")
               if p != DOCS / "README.md")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic"]
BROWSER_PAGES = [f"{language}/{name}.html" for language in LANGUAGES for name in PAGES]
WIDTHS = [1400, 400]  # a desktop and a phone
# what a reader types → the page that must come first (the source notes' own words included)
SEARCHES = {
    "zh_CN": {"反向传播": "bptt", "随时间反向传播": "bptt", "长短期记忆": "lstm", "单元状态": "lstm", "记忆细胞": "lstm",
              "细胞状态": "lstm", "遗忘门": "lstm", "递归神经网络": "rnn", "循环神经网络": "rnn", "门控循环单元": "gru",
              "重置门": "gru", "梯度消失": "long-term", "梯度裁剪": "analysis/clipping", "窥视孔": "variants/comparison",
              "forget gate": "lstm"},
    "en": {"forget gate": "lstm", "cell state": "lstm", "LSTM": "lstm", "GRU": "gru", "BPTT": "bptt",
           "backpropagation": "bptt", "recurrent neural network": "rnn", "vanishing gradient": "long-term",
           "gradient clipping": "analysis/clipping", "peephole": "variants/comparison",
           "truncated BPTT": "analysis/truncated-bptt", "total derivative": "total-derivative"},
}
SEARCH_URLS = {f"{language}/search.html?q={query}": (language, query, expected)
               for language, queries in SEARCHES.items() for query, expected in queries.items()}
# the theme's words and the site's own, which a Chinese page must not show in English
ENGLISH_UI = ["On this page", "Next", "Previous", "Back to top", "Made with", "Copyright", "Skip to content",
              "Toggle site navigation sidebar", "Toggle Light / Dark / Auto color theme", "Light mode",
              "Spec names", "Keras (kernel columns)", "threads each", "Please activate JavaScript",
              "1. The language"]
# words of the pages themselves; the glossary's English column names the English terms on purpose
ENGLISH_WORDS = ["forget gate", "hidden state", "the same weights at every step", "output layer"]


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
    equations += identities.total_derivative() + identities.norm_bound() + identities.stacked()
    equations += identities.bidirectional()
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


def visible_text(text: str) -> str:
    """What a page shows or says (attributes read aloud or shown on hover included), without code and math."""
    text = re.sub(r"<(script|style|pre|code)\b.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r'<(span|div) class="math[^"]*">.*?</\1>', " ", text, flags=re.S)
    attributes = " ".join(re.findall(r'(?:aria-label|title|placeholder|alt)="([^"]*)"', text))
    return html.unescape(re.sub(r"<[^>]+>", " ", text) + " " + attributes)


def test_the_chinese_site_shows_no_english_ui(built):
    for name in [*PAGES, "search", "genindex"]:
        shown = visible_text(page(built, "zh_CN", name))
        assert [s for s in ENGLISH_UI if s in shown] == [], name
        if name not in ("glossary", "references", "genindex"):  # English terms and paper titles, on purpose
            assert [s for s in ENGLISH_WORDS if s in shown] == [], name
    english = visible_text(page(built, "en", "lstm"))
    assert all(s in english for s in ("On this page", "forget gate", "Next"))


def test_diagrams_are_labelled_in_the_page_language(built):
    en, zh = page(built, "en", "lstm"), page(built, "zh_CN", "lstm")
    assert en.count('<svg xmlns="http://www.w3.org/2000/svg" class="cell-figure"') == 5
    assert zh.count('class="cell-figure"') == 5
    legends = lambda text: " ".join(re.findall(r'<p class="diagram-legend">(.*?)</p>', text, flags=re.S))
    assert "forget gate" in legends(en) and "遗忘门" in legends(zh) and "forget gate" not in legends(zh)


def test_every_cited_work_is_linked_in_both_languages(built):
    for work in references.WORKS:
        counts = {language: sum(page(built, language, name).count(f'href="{work.url}"') for name in PAGES)
                  for language in LANGUAGES}
        assert all(n >= 2 for n in counts.values()), (work.key, counts)  # the references page and a citation


def test_the_root_is_a_landing_page_in_both_languages(built):
    root = (built / "index.html").read_text(encoding="utf-8")
    for language, (name, title) in LANGUAGES.items():
        assert f'href="{language}/index.html"' in root and title in root
        for target, _ in landing.LINKS:
            assert f'href="{language}/{target}.html"' in root and (built / language / f"{target}.html").is_file()
    assert "从哪里开始" in root and "Where to start" in root


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
def browser_report(built, chromium, tmp_path_factory) -> dict:
    """Every page of both languages at each width, and the searches, as a reader's browser shows them."""
    check = (Path(__file__).parent / "site_check.html").read_text(encoding="utf-8")
    check = (check.replace("__PAGES__", json.dumps(BROWSER_PAGES)).replace("__WIDTHS__", json.dumps(WIDTHS))
             .replace("__SEARCHES__", json.dumps(list(SEARCH_URLS))))
    (built / "site_check.html").write_text(check, encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(built)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/site_check.html"
        profile = tmp_path_factory.mktemp("chromium-profile")
        done = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=900000",
                               "--dump-dom", url], capture_output=True, text=True, timeout=600)
    finally:
        server.shutdown()
    found = re.search(r'<pre id="result">(.*?)</pre>', done.stdout, flags=re.DOTALL)
    assert found and found.group(1) != "pending", done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.parametrize("url", BROWSER_PAGES)
def test_math_is_typeset(browser_report, url):
    report = browser_report["pages"][url]
    assert "error" not in report, report
    assert report["typeset"] == report["mathSources"], report
    assert report["mathErrors"] == [] and report["rawTex"] == [], report


@pytest.mark.parametrize("url", BROWSER_PAGES)
def test_nothing_sticks_out_of_the_column_and_every_scrolling_box_shows_it(browser_report, url):
    for width, seen in browser_report["pages"][url]["widths"].items():
        assert seen["overflowing"] == [], (width, seen["overflowing"])
        assert seen["hiddenScrollers"] == [], (width, seen["hiddenScrollers"])


@pytest.mark.parametrize("url", BROWSER_PAGES)
def test_text_in_figures_is_at_least_70_percent_of_the_body_text(browser_report, url):
    for width, seen in browser_report["pages"][url]["widths"].items():
        assert seen["figureText"]["small"] == [], (width, seen["figureText"])


@pytest.mark.parametrize("url", ["en/lstm.html", "zh_CN/lstm.html", "zh_CN/gru.html", "en/bptt.html"])
def test_diagrams_are_drawn_and_the_language_link_resolves(browser_report, url):
    report = browser_report["pages"][url]
    other = "zh-CN" if url.startswith("en/") else "en"
    assert report["languageLink"]["status"] == 200 and report["languageLink"]["lang"] == other, report
    assert report["diagrams"] >= 1 and all(w["figureText"]["figures"] >= 1 for w in report["widths"].values())
    if url.endswith("lstm.html"):
        assert report["diagrams"] == 5 and ("遗忘门" if url.startswith("zh_CN") else "forget gate") in report["diagramText"]


@pytest.mark.parametrize("url", SEARCH_URLS)
def test_search_puts_the_page_about_the_thing_first(browser_report, url):
    language, query, expected = SEARCH_URLS[url]
    report = browser_report["searches"][url]
    assert report.get("first"), report
    assert report["first"][0].split("#")[0] == f"{expected}.html", report


@pytest.mark.parametrize("url", list(SEARCH_URLS)[:4] + list(SEARCH_URLS)[-4:])
def test_search_snippets_are_plain_text(browser_report, url):
    snippets = browser_report["searches"][url]["snippets"]
    assert snippets and all(s.strip() for s in snippets)
    for snippet in snippets:
        assert not re.search(r"\\[a-zA-Z(\[]|\\\(", snippet), snippet
        assert not snippet.lstrip(".").lstrip().startswith(("English", "简体中文")), snippet  # not the language switch
