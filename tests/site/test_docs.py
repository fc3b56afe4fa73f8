"""The documentation sources: formulas only from directives, complete catalogs, every seed topic covered."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from derive.site import build as site

DOCS = site.DOCS
CATALOGS = site.LOCALES / "zh_CN" / "LC_MESSAGES"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts and p != DOCS / "README.md")

# Pages for the seed topics (issue 4); each must exist in English and have a Chinese catalog.
TOPICS = {
    "what an RNN is, unrolling, shared weights": "rnn",
    "simple RNN with softmax and cross-entropy: BPTT step by step": "bptt",
    "long-term dependencies, vanishing and exploding gradients, clipping": "long-term",
    "LSTM step by step, diagrams, BPTT": "lstm",
    "GRU, both variants, z vs 1 - z, gradients": "gru",
    "LSTM vs GRU: parameters, FLOPs, hidden size": "lstm-vs-gru",
    "notations": "notations/index",
    "verification": "verification",
    "kernel pages": "kernels/index",
    "glossary": "glossary",
}

HAND_MATH = [
    (re.compile(r"\\partial|\\nabla|\\frac|\\begin\{"), "a derivative, fraction or environment typed by hand"),
    (re.compile(r"\$\$"), "display math typed by hand"),
    (re.compile(r"\{math\}|\.\. math::"), "a math directive or role typed by hand"),
]
INLINE_MATH = re.compile(r"(?<![\\$])\$([^$\n]+)\$")


def hand_typed_math(text: str) -> list[str]:
    """What in a page's text looks like an equation typed by hand instead of pulled from the engine."""
    found = [f"{why}: {m.group(0)!r}" for pattern, why in HAND_MATH for m in pattern.finditer(text)]
    found += [f"an equation in inline math: ${m.group(1)}$" for m in INLINE_MATH.finditer(text) if "=" in m.group(1)]
    return found


def test_the_checker_catches_hand_typed_equations():
    assert hand_typed_math(r"the symbol $h_t$ and $\delta h_{t+1} \odot z_{t+1}$ are fine") == []
    for bad in [r"$$\delta h = \frac{\partial L}{\partial h}$$", r"so $\delta c_t = \delta h_t \odot o_t$ holds",
                "```{math}\nx\n```", r"$\nabla_W L$", "{math}`a`"]:
        assert hand_typed_math(bad), bad


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_no_equation_is_typed_by_hand(page):
    assert hand_typed_math(page.read_text(encoding="utf-8")) == []


def catalogs() -> list[Path]:
    return sorted(CATALOGS.rglob("*.po"))


@pytest.mark.parametrize("po", catalogs(), ids=lambda p: p.relative_to(CATALOGS).as_posix())
def test_translations_have_no_equation_typed_by_hand(po):
    with po.open("rb") as f:
        assert [problem for m in read_po(f) if m.id for problem in hand_typed_math(m.string)] == []


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext is not installed: bash setup.sh "
                    "(or apt-get install gettext)")
@pytest.mark.parametrize("po", catalogs(), ids=lambda p: p.relative_to(CATALOGS).as_posix())
def test_catalog_is_complete(po):
    """msgfmt's own count: every message translated, none fuzzy."""
    stats = subprocess.run(["msgfmt", "--statistics", "-o", "/dev/null", str(po)],
                           capture_output=True, text=True, check=True).stderr
    assert "untranslated" not in stats and "fuzzy" not in stats, stats


@pytest.mark.slow  # builds with Sphinx
def test_catalogs_match_the_sources(tmp_path):
    """Every message of the current sources has a translation (else it falls back to English silently)."""
    subprocess.run(site.sphinx_command("en", tmp_path / "gettext", builder="gettext"), check=True,
                   capture_output=True)
    missing = {}
    for pot in (tmp_path / "gettext").rglob("*.pot"):
        domain = pot.relative_to(tmp_path / "gettext").with_suffix("").as_posix()
        po = CATALOGS / f"{domain}.po"
        with pot.open("rb") as f:
            wanted = {m.id for m in read_po(f) if m.id}
        translated = set()
        if po.exists():
            with po.open("rb") as f:
                translated = {m.id for m in read_po(f) if m.id and m.string and not m.fuzzy}
        if wanted - translated:
            missing[domain] = sorted(wanted - translated)
    assert not missing, f"run `python -m derive site --catalogs` and translate: {missing}"


@pytest.mark.parametrize("topic, page", TOPICS.items())
def test_every_seed_topic_has_a_page_in_both_languages(topic, page):
    assert (DOCS / f"{page}.md").is_file(), topic
    assert (CATALOGS / f"{page}.po").is_file(), topic


def test_glossary_terms_are_search_terms():
    """Chinese search finds whole glossary terms only if jieba knows them as words."""
    glossary = (DOCS / "glossary.md").read_text(encoding="utf-8")
    rows = [row for row in glossary.splitlines() if row.startswith("|")][2:]  # below the header
    chinese = {cell.strip() for row in rows for cell in row.split("|")[2:3]
               if re.fullmatch(r"[\u4e00-\u9fff]{3,}", cell.strip())}
    terms = {line.split()[0] for line in (site.LOCALES / "zh_CN" / "search_terms.txt").read_text(
        encoding="utf-8").splitlines() if line.strip()}
    assert chinese and chinese <= terms, sorted(chinese - terms)


BAD_PAGE = """# Bad

```{cell-equations} nope
```

```{cell-equations} lstm
:only: zz
```

```{cell-gradients} gru
:notation: nobody
```

```{cell-jacobian} lstm
:state: q
```

```{cell-diagram} lstm
:highlight: w
```

```{kernel-source} nope
```
"""


@pytest.mark.slow  # builds with Sphinx
def test_directive_errors_name_the_problem(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    (source / "index.md").write_text(BAD_PAGE, encoding="utf-8")
    (source / "conf.py").write_text('extensions = ["myst_parser", "derive.site.extension"]\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "sphinx", "-b", "dummy", "-q", str(source), str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=site.ROOT)
    for message in ["unknown cell 'nope'", "no equation named zz (available: i, f, g, o, c, h)",
                    "unknown notation 'nobody'", "states 'q' and 'q'", "no node w to highlight",
                    "no generated kernel nope.py"]:
        assert message in done.stderr, (message, done.stderr)
