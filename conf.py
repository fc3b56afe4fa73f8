"""Sphinx configuration of the reference site; one English source, Chinese through gettext.

Built by ``python -m derive site`` (both languages into _build/html/), or by hand:
``sphinx-build -c . docs _build/html/en`` and ``sphinx-build -c . -D language=zh_CN docs _build/html/zh_CN``
(the playground's runtime, which both share, is written by ``python -m derive site``).
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = HERE / "docs"

project = "Gated RNN reference"
author = "Gated RNN reference authors"
copyright = "2025, " + author
language = "en"

extensions = ["myst_parser", "sphinx.ext.mathjax", "sphinx_inline_tabs", "derive.site.extension", "derive.site.views",
              "derive.site.playground"]
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
exclude_patterns = ["README.md", "locales", "_build"]
suppress_warnings = []

# Translations: one catalog per page, managed with sphinx-intl (docs/README.md).
locale_dirs = [str(DOCS / "locales")]
gettext_compact = False
gettext_location = False
gettext_uuid = False

# Math typeset in the browser by MathJax 3 served from _static (copied from node_modules by the extension).
mathjax_path = "mathjax/tex-chtml.js"
math_number_all = False
smartquotes_action = "qe"  # quotes and ellipses; "--" stays as written (post--memorization-in-rnns)

html_theme = "furo"
template_bridge = "derive.site.theme.TranslatedTemplates"  # the theme's fixed texts, translated
html_title = "Gated RNN reference"  # per language: derive.site.LANGUAGES
html_static_path = [str(DOCS / "_static")]
templates_path = [str(DOCS / "_templates")]
html_css_files = ["site.css"]
html_js_files = ["scroll-cue.js"]
html_copy_source = False
html_show_sourcelink = False
html_last_updated_fmt = None
html_search_options = {"dict": str(DOCS / "locales" / "zh_CN" / "search_terms.txt")}
