"""Prints a :class:`~derive.emit.figure.Figure` as an inline SVG element.

The text is real SVG text in the page's own font, so it can be read, searched and translated; colours are
attributes, so the SVG also stands alone (the playground, a file). ``uid`` keeps the arrowhead's id apart
from other diagrams on the same page.
"""

from __future__ import annotations

import math
from html import escape

from derive.emit.figure import SUB, Figure, Label, Run, Shape, Wire

FONT_FAMILY = "'Noto Sans CJK SC', 'Noto Sans', 'DejaVu Sans', sans-serif"
INK, FADED_INK = "#222222", "#b4b4b4"
FILLS = {"layer": "#fde9b5", "linear": "#eeeeee", "op": "#dbe9f7", "loss": "#f6dede"}
FADED_FILL = "#f4f4f4"
MIN_SCALE = 0.87  # narrower than this the text would be too small to read: the svg keeps this width and scrolls


def render(figure: Figure, uid: str, description: str = "") -> str:
    """The figure as an ``<svg>`` element sized in CSS pixels (one user unit each)."""
    w, h = round(figure.width), round(figure.height)
    arrow, faded_arrow = f"arrow-{uid}", f"arrow-faded-{uid}"
    label = escape(description or figure.title)
    opening = (f'<svg xmlns="http://www.w3.org/2000/svg" class="cell-figure" viewBox="0 0 {w} {h}" width="{w}" '
               f'height="{h}" style="min-width:{math.ceil(w * MIN_SCALE)}px" role="img" aria-label="{label}" '
               f'font-family="{FONT_FAMILY}">')
    parts = [
        opening,
        "<defs>",
        *(f'<marker id="{name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
          f'orient="auto-start-reverse"><path d="M0,1 L10,5 L0,9 z" fill="{colour}"/></marker>'
          for name, colour in ((arrow, INK), (faded_arrow, FADED_INK))),
        "</defs>",
        f'<rect x="0" y="0" width="{w}" height="{h}" rx="6" fill="#ffffff"/>',
    ]
    parts += [_wire(wire, faded_arrow if wire.faded else arrow) for wire in sorted(figure.wires, key=lambda w: not w.faded)]
    parts += [f'<circle cx="{_n(x)}" cy="{_n(y)}" r="3" fill="{FADED_INK if faded else INK}"/>'
              for (x, y), faded in figure.dots()]
    parts += [_shape(shape) for shape in figure.shapes]
    parts += [_label(label) for label in figure.labels]
    parts.append("</svg>")
    return "".join(parts)


def legend_html(items: list[tuple[tuple[Run, ...], str, bool]]) -> str:
    """A legend as HTML: each symbol in the page's own type, then what it stands for."""
    entries = []
    for runs, text, faded in items:
        name = "".join(f"<sub>{escape(t)}</sub>" if style == "sub" else f"<i>{escape(t)}</i>" if style == "i"
                       else escape(t) for t, style in runs)
        entries.append(f'<span class="legend-entry{" faded" if faded else ""}"><span class="legend-symbol">{name}'
                       f"</span> {escape(text)}</span>")
    return "".join(entries)


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _wire(wire: Wire, marker: str) -> str:
    points = " ".join(f"{_n(x)},{_n(y)}" for x, y in wire.points)
    end = f' marker-end="url(#{marker})"' if wire.arrow else ""
    return (f'<polyline points="{points}" fill="none" stroke="{FADED_INK if wire.faded else INK}" '
            f'stroke-width="1.6" stroke-linejoin="round"{end}/>')


def _shape(shape: Shape) -> str:
    fill = FADED_FILL if shape.faded else FILLS[shape.fill]
    stroke = FADED_INK if shape.faded else INK
    if shape.kind == "circle":
        outline = (f'<circle cx="{_n(shape.x)}" cy="{_n(shape.y)}" r="{_n(shape.width / 2)}" fill="{fill}" '
                   f'stroke="{stroke}" stroke-width="1.4"/>')
    else:
        left, top, _, _ = shape.box()
        outline = (f'<rect x="{_n(left)}" y="{_n(top)}" width="{_n(shape.width)}" height="{_n(shape.height)}" '
                   f'rx="{_n({"box": 4, "round": 9}.get(shape.kind, shape.height / 2))}" fill="{fill}" stroke="{stroke}" stroke-width="1.4"/>')
    return outline + _label(shape.label)


def _label(label: Label) -> str:
    runs = []
    for text, style in label.runs:
        if style == "sub":
            runs.append(f'<tspan dy="4" font-size="{SUB}">{escape(text)}</tspan>')
        else:
            attrs = ' font-style="italic"' if style == "i" else ' font-weight="bold"' if style == "b" else ""
            runs.append(f"<tspan{attrs}>{escape(text)}</tspan>")
    fill = FADED_INK if label.faded else INK
    return (f'<text x="{_n(label.x)}" y="{_n(label.y)}" text-anchor="{label.anchor}" font-size="{_n(label.size)}" '
            f'fill="{fill}">{"".join(runs)}</text>')
