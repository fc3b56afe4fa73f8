"""The page at the site's root: what the site is and where to start, in every language of the site.

Its texts are messages of the ``sphinx`` catalog like the directives' (:func:`messages`); each language's
column is written with that language's translations, read from the compiled catalog after the build.
"""

from __future__ import annotations

import gettext
from html import escape
from pathlib import Path

TAGLINE = ("Recurrent networks, the LSTM and the GRU, derived by machine: every equation and every gradient "
           "on this site is printed from the symbolic derivation that also generates the project's NumPy "
           "kernels, and those kernels are checked against PyTorch and against finite differences.")
START = "Where to start"
LINKS = (("rnn", "What a recurrent network is"), ("bptt", "Backpropagation through time, step by step"),
         ("lstm", "The LSTM, one gate at a time"), ("gru", "The GRU and its two conventions"),
         ("variants/custom-cell", "Write a cell of your own"),
         ("playground", "Derive a cell of your own in the browser"),
         ("notations/index", "The notations of the sources, side by side"))
ENTER = "Enter the site"
STYLE = """
body { margin: 0; font-family: "Noto Sans CJK SC", "Noto Sans", -apple-system, "Segoe UI", sans-serif;
       color: #1f2328; background: #f6f7f9; line-height: 1.65; }
main { display: flex; flex-wrap: wrap; gap: 1.5rem; max-width: 64rem; margin: 0 auto; padding: 2.5rem 1rem; }
section { flex: 1 1 22rem; background: #fff; border: 1px solid #d8dde3; border-radius: 0.6rem; padding: 1.5rem 1.75rem; }
h1 { font-size: 1.6rem; margin: 0 0 0.75rem; }
h2 { font-size: 1.05rem; margin: 1.25rem 0 0.4rem; }
ul { padding-left: 1.2rem; margin: 0; }
a { color: #0a58ca; }
a.enter { display: inline-block; margin-top: 1.25rem; padding: 0.45rem 1rem; border-radius: 0.4rem;
          background: #0a58ca; color: #fff; text-decoration: none; }
"""


def messages() -> list[str]:
    """The landing page's texts, for the translation catalog."""
    return [TAGLINE, START, *(text for _, text in LINKS), ENTER]


def translator(locales: Path, language: str):
    """The compiled ``sphinx`` catalog of language (English: the texts as written)."""
    return gettext.translation("sphinx", localedir=str(locales), languages=[language], fallback=True).gettext


def page(languages: dict[str, tuple[str, str]], locales: Path) -> str:
    """The root page: one column per language, each in its own language, linking into that language's site."""
    columns = []
    for code, (name, title) in languages.items():
        _ = translator(locales, code)
        tag = code.replace("_", "-")
        links = "\n".join(f'      <li><a href="{code}/{page}.html">{escape(_(text))}</a></li>' for page, text in LINKS)
        columns.append(f"""  <section lang="{tag}">
    <h1>{escape(title)}</h1>
    <p>{escape(_(TAGLINE))}</p>
    <h2>{escape(_(START))}</h2>
    <ul>
{links}
    </ul>
    <a class="enter" href="{code}/index.html" hreflang="{tag}">{escape(_(ENTER))} · {escape(name)}</a>
  </section>""")
    english = languages.get("en", next(iter(languages.values())))[1]
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{escape(" · ".join(title for _, title in languages.values()))}</title>
  <meta name="description" content="{escape(english)}">
  <style>{STYLE}</style>
</head>
<body>
<main>
{chr(10).join(columns)}
</main>
</body>
</html>
"""
