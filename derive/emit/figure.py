"""A drawing as plain data: shapes, wires, dots and labels in SVG user units, printed by :mod:`derive.emit.svg`.

The layout modules (:mod:`derive.emit.diagram`) place things; nothing here knows about cells. The
geometry helpers (:func:`Figure.crossings`) let the tests check a layout the way a reader would: no wire
through a shape, no two wires of different values on top of each other, no label over a wire.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

FONT = 16  # the size of every symbol in a diagram
SUB = 13  # subscripts: the smallest text a diagram holds

Run = tuple[str, str]  # (text, style): style "" upright, "i" italic, "sub" subscript, "b" bold
Point = tuple[float, float]


@dataclass
class Label:
    """Text at (x, y), the baseline's middle (anchor "middle"), start or end."""

    x: float
    y: float
    runs: tuple[Run, ...]
    anchor: str = "middle"
    faded: bool = False
    size: float = FONT

    def box(self) -> tuple[float, float, float, float]:
        """The rectangle the text covers (left, top, right, bottom), estimated from the characters."""
        width = text_width(self.runs, self.size)
        left = {"start": self.x, "middle": self.x - width / 2, "end": self.x - width}[self.anchor]
        sub = any(style == "sub" for _, style in self.runs)
        return left, self.y - 0.8 * self.size, left + width, self.y + (0.45 if sub else 0.25) * self.size


@dataclass
class Shape:
    """A box (a layer: weights and an activation) or a circle (a pointwise operation) centred at (x, y)."""

    kind: str  # "box" | "circle" | "round" (a rounded box with a name in it)
    x: float
    y: float
    width: float
    height: float
    label: Label
    fill: str = "layer"  # "layer" | "op" | "loss"
    faded: bool = False
    key: str = ""  # what it stands for, for whoever laid it out

    def glyph_text(self) -> str:
        return "".join(text for text, _ in self.label.runs)

    def box(self) -> tuple[float, float, float, float]:
        return self.x - self.width / 2, self.y - self.height / 2, self.x + self.width / 2, self.y + self.height / 2


@dataclass
class Wire:
    """A polyline carrying one value (``net``) from its first point to its last (an arrow there)."""

    points: list[Point]
    net: str
    faded: bool = False
    arrow: bool = True

    def segments(self) -> list[tuple[Point, Point]]:
        return list(zip(self.points, self.points[1:]))


@dataclass
class Figure:
    width: float
    height: float
    shapes: list[Shape] = field(default_factory=list)
    wires: list[Wire] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    title: str = ""

    def dots(self) -> list[tuple[Point, bool]]:
        """Junctions: points where wires of one value leave in three or more directions."""
        found: dict[Point, tuple[set[str], bool]] = {}
        by_net: dict[str, list[Wire]] = {}
        for wire in self.wires:
            by_net.setdefault(wire.net, []).append(wire)
        for wires in by_net.values():
            if len(wires) < 2:
                continue
            points = {p for w in wires for p in w.points}
            for p in points:
                directions: set[str] = set()
                for wire in wires:
                    for a, b in wire.segments():
                        directions |= _leaving(p, a, b)
                if len(directions) >= 3:
                    faded = all(w.faded for w in wires)
                    found[p] = (directions, faded)
        return [(p, faded) for p, (_, faded) in sorted(found.items())]

    def crossings(self) -> list[str]:
        """What a reader would trip over: wires through shapes or labels, wires of different values overlapping,
        labels over each other or over shapes."""
        problems = []
        boxes = [(s.box(), f"shape {_text(s.label)}") for s in self.shapes]
        boxes += [(label.box(), f"label {_text(label)}") for label in self.labels]
        for wire in self.wires:
            for a, b in wire.segments():
                for box, what in boxes:
                    if through(a, b, box):
                        problems.append(f"wire {wire.net} {a}→{b} through {what}")
        segments = [(a, b, w.net) for w in self.wires for a, b in w.segments()]
        for i, (a, b, net) in enumerate(segments):
            for c, d, other in segments[i + 1:]:
                if net != other and overlap(a, b, c, d):
                    problems.append(f"wires {net} and {other} overlap at {a}→{b}")
        for i, (box, what) in enumerate(boxes):
            for other, name in boxes[i + 1:]:
                if _intersects(box, other, 1):
                    problems.append(f"{what} overlaps {name}")
        return problems


def _text(label: Label) -> str:
    return "".join(text for text, _ in label.runs)


def text_width(runs: tuple[Run, ...], size: float = FONT) -> float:
    """An estimate of the width of runs of text: wide (CJK) characters one em, the others about 0.6 em."""
    width = 0.0
    for text, style in runs:
        em = SUB if style == "sub" else size
        width += sum(em * (1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.6) for ch in text)
    return width


def _leaving(p: Point, a: Point, b: Point) -> set[str]:
    """Directions in which segment a–b leaves point p (none if p is not on it)."""
    found = set()
    for start, end in ((a, b), (b, a)):
        if not _on(p, start, end) or p == end:
            continue
        dx, dy = end[0] - p[0], end[1] - p[1]
        found.add("right" if dx > 0 else "left" if dx < 0 else "down" if dy > 0 else "up")
    return found


def _on(p: Point, a: Point, b: Point) -> bool:
    (x1, y1), (x2, y2) = a, b
    if x1 == x2:
        return p[0] == x1 and min(y1, y2) <= p[1] <= max(y1, y2)
    return p[1] == y1 and min(x1, x2) <= p[0] <= max(x1, x2)


def through(a: Point, b: Point, box: tuple[float, float, float, float], margin: float = 1.5) -> bool:
    """Whether segment a–b passes through the inside of box (touching its edge is fine: wires end there)."""
    left, top, right, bottom = box[0] + margin, box[1] + margin, box[2] - margin, box[3] - margin
    (x1, y1), (x2, y2) = a, b
    if x1 != x2 and y1 != y2:  # a slanted wire: look at points along it
        return any(left < x1 + (x2 - x1) * k / 40 < right and top < y1 + (y2 - y1) * k / 40 < bottom
                   for k in range(1, 40))
    if x1 == x2:
        return left < x1 < right and max(min(y1, y2), top) < min(max(y1, y2), bottom)
    return top < y1 < bottom and max(min(x1, x2), left) < min(max(x1, x2), right)


def overlap(a: Point, b: Point, c: Point, d: Point, gap: float = 3) -> bool:
    """Whether two axis-parallel segments lie on top of each other (closer than gap, sharing a stretch)."""
    if a[0] == b[0] and c[0] == d[0]:
        return abs(a[0] - c[0]) < gap and _shared(a[1], b[1], c[1], d[1])
    if a[1] == b[1] and c[1] == d[1]:
        return abs(a[1] - c[1]) < gap and _shared(a[0], b[0], c[0], d[0])
    return False


def _shared(a1: float, a2: float, b1: float, b2: float) -> bool:
    return min(max(a1, a2), max(b1, b2)) - max(min(a1, a2), min(b1, b2)) > 1


def _intersects(a, b, margin: float = 0) -> bool:
    return a[0] < b[2] - margin and b[0] < a[2] - margin and a[1] < b[3] - margin and b[1] < a[3] - margin
