"""The theme's own words in the page's language.

Furo passes most of its texts through gettext (``_("Next")``, ``{% trans %}Back to top{% endtrans %}``):
those are listed in :data:`THEME_MESSAGES` and translated in the ``sphinx`` catalog with the directives'
texts. A few are written into its templates as plain attributes and icon titles (:data:`FIXED_TEXTS`); the
template loader below translates them in each rendered page. The footer is the site's own
(``docs/_templates/page.html``).
"""

from __future__ import annotations

import re
from html import escape

from sphinx.jinja2glue import BuiltinTemplateLoader
from sphinx.locale import get_translation

_ = get_translation("sphinx")

THEME_MESSAGES = ("Skip to content", "Back to top", "On this page", "Next", "Previous", "Home", "Search",
                  "Contents", "Please activate JavaScript to enable the search functionality.",
                  "Built from the cell specs by this project's engine")
FIXED_TEXTS = ("Toggle site navigation sidebar", "Toggle table of contents sidebar",
               "Toggle Light / Dark / Auto color theme", "Contents", "Menu", "Expand", "Light mode", "Dark mode",
               "Auto light/dark, in light mode", "Auto light/dark, in dark mode")


TOGGLE_SECTION = "Toggle navigation of {title}"
NAVIGATION = re.compile(r'aria-label="Toggle navigation of ([^"]*)"')  # furo's sidebar, one per section


def messages() -> list[str]:
    """The theme's texts, for the translation catalog."""
    return list(dict.fromkeys([*THEME_MESSAGES, *FIXED_TEXTS, TOGGLE_SECTION]))


def translate_fixed(html: str) -> str:
    """The page with the theme's fixed attribute values and icon titles in the build's language."""
    template = escape(str(_(TOGGLE_SECTION)))
    html = NAVIGATION.sub(lambda m: f'aria-label="{template.replace("{title}", m[1])}"', html)
    for text in FIXED_TEXTS:
        translated = escape(str(_(text)))
        html = html.replace(f'aria-label="{text}"', f'aria-label="{translated}"')
        html = html.replace(f"<title>{text}</title>", f"<title>{translated}</title>")
    return html


class TranslatedTemplates(BuiltinTemplateLoader):
    """Sphinx's template loader, translating the theme's fixed texts in every page it renders."""

    def render(self, template: str, context: dict) -> str:
        return translate_fixed(super().render(template, context))
