"""Figures drawn at site build time: a registry of plot functions and reproducible SVG output.

A plot function takes ``translate`` (a label in English → the page's language) and returns a
matplotlib figure at most :data:`WIDTH` inches wide; :func:`svg` renders it with real text (the page's
fonts, so it can be read, searched and measured), a fixed hash salt and no date, so the same data give
the same bytes. Labels go through the site's ``sphinx`` catalog: list them in the ``messages`` argument
of :func:`register`. The text is never smaller than :data:`SMALLEST` points, and the SVG never shrinks
below the width at which it would be smaller than :data:`MIN_TEXT_PX` on screen: the page scrolls it
instead.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

Translate = Callable[[str], str]
WIDTH = 7.4  # inches: 710 CSS pixels, inside the text column of the site at full width
SMALLEST = 9.5  # points, the tick labels; titles and labels are larger
MIN_TEXT_PX = 11.5  # on screen: 70 % of 16 px body text, with a margin


@dataclass(frozen=True)
class Plot:
    name: str
    draw: Callable[[Translate], object]  # -> matplotlib.figure.Figure
    messages: tuple[str, ...]
    data: tuple[str, ...] = ()  # files the figure reads, relative to the repository root


PLOTS: dict[str, Plot] = {}


def register(name: str, messages: tuple[str, ...], data: tuple[str, ...] = ()):
    """Decorator: make a plot function available to the ``{plot}`` directive under ``name``."""
    def add(draw: Callable[[Translate], object]) -> Callable[[Translate], object]:
        if name in PLOTS:
            raise ValueError(f"plot {name!r} registered twice")
        PLOTS[name] = Plot(name, draw, messages, data)
        return draw
    return add


def svg(figure) -> str:
    """The figure as SVG text, byte-for-byte reproducible."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "gated-rnn", "svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    width, height = (float(re.search(rf'{side}="([\d.]+)pt"', text)[1]) for side in ("width", "height"))
    px = 96 / 72  # CSS pixels per point
    smallest = min(float(size) for size in re.findall(r"font-size: ([\d.]+)px", text)) * px
    floor = math.ceil(width * px * min(1.0, MIN_TEXT_PX / smallest))
    return re.sub(r'width="[\d.]+pt" height="[\d.]+pt"',
                  f'width="{width * px:.0f}" height="{height * px:.0f}" style="min-width:{floor}px"', text, count=1)


def pyplot():
    """matplotlib's pyplot on the file-only backend, with fonts that cover Chinese."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.sans-serif"] = ["Noto Sans CJK SC", "Noto Sans CJK JP", "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    plt.rcParams.update({"font.size": 10.5, "axes.titlesize": 11.5, "axes.labelsize": 10.5,
                         "xtick.labelsize": SMALLEST, "ytick.labelsize": SMALLEST, "legend.fontsize": SMALLEST,
                         "legend.title_fontsize": SMALLEST})
    return plt
