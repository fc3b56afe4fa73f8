"""Figures drawn at site build time: a registry of plot functions and reproducible SVG output.

A plot function takes ``translate`` (a label in English → the page's language) and returns a
matplotlib figure; :func:`svg` renders it with text as paths (no font needed to view it), a fixed
hash salt and no date, so the same data give the same bytes. Labels go through the site's
``sphinx`` catalog: list them in the ``messages`` argument of :func:`register`.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

Translate = Callable[[str], str]


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
    with matplotlib.rc_context({"svg.hashsalt": "gated-rnn", "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def pyplot():
    """matplotlib's pyplot on the file-only backend, with fonts that cover Chinese."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.sans-serif"] = ["Noto Sans CJK SC", "Noto Sans CJK JP", "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    return plt
