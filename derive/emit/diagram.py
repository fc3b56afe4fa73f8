"""Cell diagrams laid out from the spec, in the style of Olah's figures.

Each carried state (the LSTM's ``c``, the GRU's ``h``: a state its own update reaches through pointwise
operations only) is a straight line along the top, the operations on it sitting on the line; the layers
(an activation of weighted inputs, a box) stand in a row below; the pointwise operations between them
(circles) in rows between, ranked by what they read. The inputs come in on the left: ``x_t`` and the
previous states on lines under the layers (each layer taps the lines it reads), the carried states on their
lines at the top. The new states leave on the right. Wires run along rows and columns only; a dot marks
where one value branches.

Every piece of text a reader sees goes through ``translate``; :func:`messages` lists those texts for the
translation catalogs. The drawing is plain data (:class:`~derive.emit.figure.Figure`), printed as SVG by
:mod:`derive.emit.svg`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from derive.cells import functions, spec
from derive.cells.spec import Call, Cell, MatMul, Neg, NodeRef, Num, Param, PrevRef, Product, Sum
from derive.emit.figure import FONT, Figure, Label, Run, Shape, Wire, overlap, text_width, through

Translate = Callable[[str], str]
SHARED_WEIGHTS = "the same weights at every step"
ONE_STEP = "one step of {name}, drawn from its spec"
UNROLLED = "{name} unrolled over {steps} steps"
LOSS_LEGEND = ("loss at step t", "the loss of the sequence, the sum of the step losses",
               "target at step t", "output layer")

COLUMN = 60  # distance between the centres of neighbouring columns
GATE = (48, 30)  # width, height of a layer's box
RADIUS = 13  # of a pointwise operation's circle
ROW = 54  # distance between rows of operations
LANE_GAP = 44  # between the lines of two carried states
BUS_GAP = 20  # between the input lines under the layers
TRACK = 7  # between parallel wires in one channel
MARGIN = 10
GLYPH_SMALL = 14  # a glyph of more than two letters (tanh)

Source = tuple[str, str]  # ("x", ""), ("prev", state) or ("elem", key)
X: Source = ("x", "")


@dataclass
class Element:
    """One box or circle: a layer (``gate``) or a pointwise operation (``op``)."""

    key: str
    kind: str
    glyph: str
    inputs: list[tuple[Source, str]]  # each source with how it enters: "weighted", "peephole" or "direct"
    node: str = ""  # the spec node it computes, if it is a node's last operation
    weight: str = ""  # a weight matrix alone, applied where an operation (not a layer) reads it
    owner: str = ""  # the spec node it belongs to
    lane: str = ""  # the carried state whose line it sits on
    level: int = 0
    column: int = 0
    x: float = 0
    y: float = 0

    @property
    def half(self) -> tuple[float, float]:
        if self.kind == "gate":
            return GATE[0] / 2, GATE[1] / 2
        return max(RADIUS, text_width(((self.glyph, ""),), GLYPH_SMALL) / 2 + 5), RADIUS


def messages(cells: Iterable[Cell]) -> list[str]:
    """Every text the diagrams of these cells can show, for the translation catalog."""
    found = dict.fromkeys(node.role for cell in cells for node in cell.nodes if node.role)
    return [*found, SHARED_WEIGHTS, *LOSS_LEGEND, ONE_STEP, UNROLLED]


def symbol(name: str, index: str = "t") -> tuple[Run, ...]:
    """``W_f`` → italic W with subscript f; ``h`` at ``t-1`` → h with subscript t−1."""
    head, _, tail = name.partition("_")
    sub = ",".join(p for p in (tail, index) if p).replace("-", "−")
    return ((head, "i"), (sub, "sub")) if sub else ((head, "i"),)


# --- the cell as elements ---------------------------------------------------------------------


class Elements:
    """The boxes and circles of one step, in evaluation order, built from the spec's expressions."""

    def __init__(self, cell: Cell):
        self.cell = cell
        self.items: dict[str, Element] = {}
        self.root: dict[str, str] = {}  # node name → key of the element computing it
        for node in cell.nodes:
            self.owner = node.name
            source = self.element(node.expr)
            if source[0] != "elem" or self.items[source[1]].node:  # a node that only renames a value
                source = self.add("op", "=", [(source, "direct")])
            self.items[source[1]].node = node.name
            self.root[node.name] = source[1]

    def add(self, kind: str, glyph: str, inputs: list[tuple[Source, str]]) -> Source:
        key = f"e{len(self.items)}"
        self.items[key] = Element(key, kind, glyph, inputs, owner=self.owner)
        return ("elem", key)

    def element(self, expr: spec.Expr) -> Source:
        if isinstance(expr, Call) and spec.walk(expr.arg, MatMul):
            return self.add("gate", functions.TABLE[expr.func].unicode, self.layer_inputs(expr.arg))
        if isinstance(expr, Sum) and all(isinstance(t, (MatMul, Param)) for t in expr.terms):
            return self.add("gate", "∑", self.layer_inputs(expr))
        return self.value(expr)

    def layer_inputs(self, expr: spec.Expr) -> list[tuple[Source, str]]:
        found = []
        for term in expr.terms if isinstance(expr, Sum) else (expr,):
            if isinstance(term, MatMul):
                found.append((self.reference(term.source), "weighted"))
            elif not isinstance(term, (Param, Num)):
                kept = [f for f in term.factors if not isinstance(f, (Param, Num))] if isinstance(term, Product) else []
                peephole = len(kept) == 1 and len(term.factors) > 1 and not spec.walk(kept[0], MatMul)
                found.append((self.value(term), "peephole" if peephole else "direct"))
        return list(dict.fromkeys(found))

    def reference(self, source) -> Source:
        if source == spec.INPUT:
            return X
        if isinstance(source, PrevRef):
            return ("prev", source.state)
        return ("elem", self.root[source.name])

    def value(self, expr: spec.Expr) -> Source:
        """The element (made now if needed) or input that yields expr."""
        if isinstance(expr, MatMul):  # a product with a matrix inside an operation: a box of its own
            source = self.add("gate", "", [(self.reference(expr.source), "weighted")])
            self.items[source[1]].weight = expr.weight
            return source
        if isinstance(expr, (NodeRef, PrevRef)):
            return self.reference(expr)
        operands: list[spec.Expr]
        if isinstance(expr, Sum):
            kept = [t for t in expr.terms if not _constant(t)]
            numbers = [t for t in expr.terms if isinstance(t, Num)]
            if numbers == [Num(1.0)] and len(kept) == 1 and isinstance(kept[0], Neg):
                glyph, operands = "1−", [kept[0].arg]
            elif len(kept) == 1:
                return self.value(kept[0])
            else:
                glyph, operands = "+", kept
        elif isinstance(expr, Product):
            operands = [f for f in expr.factors if not isinstance(f, (Num, Param))]
            if len(operands) == 1:
                return self.value(operands[0])
            glyph = "⊙"
        elif isinstance(expr, Call):
            glyph, operands = functions.TABLE[expr.func].unicode, [expr.arg]
        elif isinstance(expr, Neg):
            glyph, operands = "−", [expr.arg]
        else:  # a number or a parameter alone: drawn as an operation with nothing coming in
            return self.add("op", "·", [])
        return self.add("op", glyph, [(self.value(o), "direct") for o in operands])

    def consumers(self, source: Source) -> list[Element]:
        return [e for e in self.items.values() if any(s == source for s, _ in e.inputs)]


def _constant(expr: spec.Expr) -> bool:
    """Numbers and parameter vectors (biases), negated or not: left out of the drawing, like the biases."""
    return isinstance(expr, (Param, Num)) or isinstance(expr, Neg) and _constant(expr.arg)


def _lanes(elements: Elements) -> list[str]:
    """The carried states: those whose update reaches their previous value through pointwise operations only;
    marks the operations on each state's line."""
    lanes = []
    for state in elements.cell.states:
        on_line: set[str] = set()
        for element in elements.items.values():
            if element.owner == state and element.kind == "op" and any(
                    s == ("prev", state) or (s[0] == "elem" and s[1] in on_line) for s, _ in element.inputs):
                on_line.add(element.key)
        if elements.root[state] in on_line:
            lanes.append(state)
            for key in on_line:
                elements.items[key].lane = state
    return lanes


def _levels(elements: Elements) -> int:
    """Rows: layers at 0, operations above what they read; those reading only carried lines at the top.
    Returns the highest level below the lines."""
    items = elements.items
    ranked: dict[str, int] = {}
    for element in items.values():
        if element.kind == "gate" or element.lane:
            continue
        below = [ranked.get(s[1], 0) for s, _ in element.inputs if s[0] == "elem" and not items[s[1]].lane
                 and ranked.get(s[1], 0) >= 0]
        below += [0 for s, _ in element.inputs if s[0] == "elem" and items[s[1]].kind == "gate"]
        ranked[element.key] = 1 + max(below) if below else -1  # -1: reads only lines, placed later
    top = max([1, *ranked.values()])
    fed_by_lines = any(level < 0 for level in ranked.values())
    for key, level in ranked.items():
        items[key].level = top + 1 if level < 0 else level
    lanes = list(dict.fromkeys(e.lane for e in items.values() if e.lane))
    for e in items.values():
        if e.lane:  # the lines lie above everything, the first at the top
            e.level = top + 2 + len(lanes) - lanes.index(e.lane)
    return top + 1 if fed_by_lines else top


def _columns(elements: Elements) -> int:
    """Columns in evaluation order; an operation sits straight above (or below) the element it reads when
    nothing else is in the way, so that a wire runs straight up the column."""
    items = elements.items
    stacks: dict[int, list[Element]] = {}
    last_on_lane: dict[str, int] = {}
    for element in items.values():
        column = None
        if element.kind == "op":
            candidates = []
            for source, _ in element.inputs:
                below = items.get(source[1]) if source[0] == "elem" else None
                if below is None or below.lane or element.lane and below.column <= last_on_lane.get(element.lane, -1):
                    continue
                stack = stacks[below.column]
                others = [c.level for c in elements.consumers(source) if c is not element]
                upward = element.level > below.level and stack[-1] is below and all(
                    level < element.level for level in others)
                downward = element.level < below.level and stack[0] is below and not others and not any(
                    s[0] == "prev" for s, _ in element.inputs)
                if upward or downward:
                    candidates.append(below.column)
            column = max(candidates, default=None)
        if column is None:
            column = len(stacks)
            stacks[column] = []
        element.column = column
        stacks[column].append(element)
        stacks[column].sort(key=lambda e: e.level)
        if element.lane:
            last_on_lane[element.lane] = column
    return len(stacks)


# --- routing ----------------------------------------------------------------------------------


@dataclass
class _Router:
    """Finds a path for each wire along rows and columns that crosses no shape and no wire of another value."""

    shapes: list[tuple[tuple[float, float, float, float], str]] = field(default_factory=list)
    wires: list[Wire] = field(default_factory=list)

    def free(self, points: list[tuple[float, float]], net: str, ends: Iterable[str]) -> bool:
        probe = Figure(0, 0, wires=[Wire(points, net)])
        keep = set(ends)
        for a, b in probe.wires[0].segments():
            for box, key in self.shapes:
                if key not in keep and through(a, b, box):
                    return False
            for wire in self.wires:
                if wire.net != net and any(overlap(a, b, c, d) for c, d in wire.segments()):
                    return False
        return True

    def add(self, wire: Wire) -> None:
        self.wires.append(wire)

    def route(self, options: list[list[tuple[float, float]]], net: str, ends: Iterable[str], faded: bool,
              arrow: bool = True) -> Wire:
        ends = list(ends)
        chosen = next((o for o in options if self.free(o, net, ends)), options[-1])
        wire = Wire(_simplify(chosen), net, faded, arrow)
        self.add(wire)
        return wire


def _simplify(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Drops repeated points and points in the middle of a straight run."""
    kept: list[tuple[float, float]] = []
    for p in points:
        if kept and p == kept[-1]:
            continue
        if len(kept) >= 2 and (kept[-2][0] == kept[-1][0] == p[0] or kept[-2][1] == kept[-1][1] == p[1]):
            kept[-1] = p
        else:
            kept.append(p)
    return kept


class _CellLayout:
    def __init__(self, cell: Cell, translate: Translate, highlight: frozenset[str]):
        self.cell, self.translate, self.highlight = cell, translate, highlight
        self.parts = Elements(cell)
        self.items = self.parts.items
        self.lanes = _lanes(self.parts)
        top_level = _levels(self.parts)
        columns = _columns(self.parts)
        self.bus = self.bus_sources()
        left = MARGIN + max(text_width(symbol(s, "t-1")) for s in [*self.cell.states, "x"]) + 12
        self.x0 = left + COLUMN / 2
        lane_y = {s: MARGIN + FONT + i * LANE_GAP for i, s in enumerate(self.lanes)}
        ops = any(e.kind == "op" for e in self.items.values())
        if self.lanes:
            self.gate_y = max(lane_y.values()) + (top_level + 0.9) * ROW
        else:
            self.gate_y = MARGIN + FONT + (top_level * ROW if ops else GATE[1] / 2)
        self.lane_y = lane_y
        for e in self.items.values():
            e.x = self.x0 + e.column * COLUMN
            e.y = lane_y[e.lane] if e.lane else self.gate_y - e.level * ROW
        self.bus_y = {s: self.gate_y + GATE[1] / 2 + 16 + i * BUS_GAP for i, s in enumerate(self.bus)}
        self.right = self.x0 + (columns - 1) * COLUMN + COLUMN / 2
        self.router = _Router([(self.shape_box(e), e.key) for e in self.items.values()])
        self.ports: dict[str, list[float]] = {}
        self.labels: list[Label] = []

    # which inputs come in on the lines under the layers
    def bus_sources(self) -> list[Source]:
        used = []
        for e in self.items.values():
            for source, how in e.inputs:
                if source[0] == "x" or source[0] == "prev" and self.via_bus(e, source, how):
                    used.append(source)
        states = [("prev", s) for s in self.cell.states if ("prev", s) in used]
        return [*states, *([X] if X in used else [])]

    def via_bus(self, element: Element, source: Source, how: str) -> bool:
        return source[1] not in self.lanes or (element.kind == "gate" and how == "weighted")

    def faded(self, element: Element) -> bool:
        return bool(self.highlight) and element.owner not in self.highlight

    def shape_box(self, e: Element) -> tuple[float, float, float, float]:
        w, h = e.half
        return e.x - w, e.y - h, e.x + w, e.y + h

    def port(self, e: Element, side: str) -> float:
        """A fresh x on the top or bottom edge of a box, away from its centre (where its output leaves)."""
        used = self.ports.setdefault(f"{e.key}:{side}", [])
        slots = [-17, 17, -9, 9, -12, 12] if e.kind == "gate" else [0, -6, 6]
        offset = next((s for s in slots if s not in used), slots[-1])
        used.append(offset)
        return e.x + offset

    def lane_start(self) -> float:
        return self.x0 - COLUMN / 2 - 4

    # the wires
    def draw(self) -> Figure:
        for state in self.lanes:
            self.draw_lane(state)
        for source in self.bus:
            self.draw_bus_line(source)
        for e in self.items.values():
            stacked = sorted(e.inputs, key=lambda i: not (i[0][0] == "elem" and self.items[i[0][1]].column == e.column))
            for source, how in stacked:  # the straight wire up a column first: it takes the centre
                if e.lane and self.on_lane_before(e, source):
                    continue
                self.connect(source, how, e)
        for state in self.cell.states:
            if state not in self.lanes:
                self.draw_exit(state)
        self.trim_bus_lines()
        return self.figure()

    def trim_bus_lines(self) -> None:
        """Each input line ends where its last layer taps it."""
        for wire in self.router.wires:
            y = wire.points[-1][1]
            if wire.arrow or wire.points[-2][1] != y:
                continue
            taps = [p[0] for other in self.router.wires if other is not wire and other.net == wire.net
                    for p in other.points[:1] if p[1] == y]
            if taps:
                wire.points[-1] = (max(taps), y)

    def on_lane_before(self, e: Element, source: Source) -> bool:
        """Whether source is the value on e's line just left of e (the line itself carries it in)."""
        return source == self.lane_value_at(e.lane, e.x - RADIUS - 1)

    def lane_ops(self, state: str) -> list[Element]:
        return sorted((e for e in self.items.values() if e.lane == state), key=lambda e: e.column)

    def lane_value_at(self, state: str, x: float) -> Source:
        value: Source = ("prev", state)
        for e in self.lane_ops(state):
            if e.x < x:
                value = ("elem", e.key)
        return value

    def draw_lane(self, state: str) -> None:
        y = self.lane_y[state]
        start = self.lane_start()
        self.labels.append(Label(start - 6, y + 5, symbol(state, "t-1"), "end"))
        previous, x = ("prev", state), start
        faded_state = bool(self.highlight) and state not in self.highlight
        for e in self.lane_ops(state):
            self.router.add(Wire([(x, y), (e.x - RADIUS, y)], _net(previous), self.faded(e)))
            previous, x = ("elem", e.key), e.x + RADIUS
        end = self.right + 8
        self.router.add(Wire([(x, y), (end, y)], _net(previous), faded_state))
        self.labels.append(Label(end + 6, y + 5, symbol(state), "start", faded_state))

    def draw_bus_line(self, source: Source) -> None:
        y = self.bus_y[source]
        taps = [e.x + 20 for e in self.items.values() for s, how in e.inputs
                if s == source and (e.kind == "gate" or not e.lane)]
        end = max(taps, default=self.x0) + 4
        if source[0] == "prev" and source[1] in self.lanes:  # comes down from the start of the state's line
            drop = self.lane_start() + 8
            self.router.add(Wire([(drop, self.lane_y[source[1]]), (drop, y), (end, y)], _net(source), arrow=False))
            return
        start = self.lane_start()
        label = symbol(source[1], "t-1") if source[0] == "prev" else symbol("x")
        self.labels.append(Label(start - 6, y + 5, label, "end"))
        self.router.add(Wire([(start, y), (end, y)], _net(source), arrow=False))

    def connect(self, source: Source, how: str, e: Element) -> None:
        faded, net = self.faded(e), _net(source)
        ends = [e.key, *([source[1]] if source[0] == "elem" else [])]
        if source in self.bus and (source[0] == "x" or self.via_bus(e, source, how)):
            x = self.port(e, "bottom")
            y = self.bus_y[source]
            options = [[(x, y), (x, e.y + e.half[1])]]
            options += [[(x + d, y), (x + d, self.channel(e, +1, k)), (x, self.channel(e, +1, k)), (x, e.y + e.half[1])]
                        for k in range(4) for d in (-COLUMN / 2, COLUMN / 2)]
            self.router.route(options, net, ends, faded)
            return
        if source[0] == "prev" or self.items[source[1]].lane:  # a tap on a carried state's line, from above
            state = source[1] if source[0] == "prev" else self.items[source[1]].lane
            x = self.port(e, "top")
            self.router.route([[(x, self.lane_y[state]), (x, e.y - e.half[1])]], net, ends, faded)
            return
        self.router.route(self.paths(self.items[source[1]], e), net, ends, faded)

    def channel(self, e: Element, side: int, track: int) -> float:
        """A horizontal run just below (side +1) or above (side -1) element e's row."""
        return e.y + side * (e.half[1] + 8 + track * TRACK) if e.kind == "gate" else e.y + side * (ROW / 2 - track * TRACK)

    def paths(self, s: Element, e: Element) -> list[list[tuple[float, float]]]:
        """Candidate paths from element s to element e, best first."""
        sw, sh = s.half
        ew, eh = e.half
        options = []
        if s.column == e.column:
            up = e.y < s.y
            options.append([(s.x, s.y - sh if up else s.y + sh), (e.x, e.y + eh if up else e.y - eh)])
            self.ports.setdefault(f"{e.key}:{'bottom' if up else 'top'}", []).append(0)
        if e.y < s.y:  # e above: up the column, then along e's row into its side
            side = e.x - ew if e.x > s.x else e.x + ew
            options.append([(s.x, s.y - sh), (s.x, e.y), (side, e.y)])
            if e.kind == "op" and e.x > s.x:  # or along a channel below e, then up into its side
                hook = e.x - ew - 9
                options += [[(s.x, s.y - sh), (s.x, y), (hook, y), (hook, e.y), (e.x - ew, e.y)]
                            for y in (self.channel(e, +1, k) for k in range(4))]
            x = self.port(e, "bottom")
            for k in range(4):
                y = self.channel(e, +1, k)
                options.append([(s.x, s.y - sh), (s.x, y), (x, y), (x, e.y + eh)])
        elif e.y > s.y:  # e below: along s's row, then down into e's top
            x = self.port(e, "top")
            options.append([(s.x + (sw if x > s.x else -sw), s.y), (x, s.y), (x, e.y - eh)])
            for k in range(4):
                for y, leave in ((self.channel(e, -1, k), s.y + sh), (s.y - ROW / 2 + k * TRACK, s.y - sh)):
                    options.append([(s.x, leave), (s.x, y), (x, y), (x, e.y - eh)])
        else:
            options.append([(s.x + sw, s.y), (e.x - ew, e.y)])
            for k in range(4):
                y = self.channel(e, -1, k)
                options.append([(s.x, s.y - sh), (s.x, y), (e.x, y), (e.x, e.y - eh)])
        return options

    def draw_exit(self, state: str) -> None:
        e = self.items[self.parts.root[state]]
        end = self.right + 8
        taken = [label.y - 5 for label in self.labels if label.x > end]
        options = [[(e.x + e.half[0], e.y), (end, e.y)]]
        tracks = [e.y - e.half[1] - 8 - 10 * k for k in range(8)]
        options += [[(e.x, e.y - e.half[1]), (e.x, y), (end, y)] for y in tracks]
        options = [o for o in options if all(abs(o[-1][1] - y) >= FONT + 4 for y in taken)] or options
        faded = bool(self.highlight) and state not in self.highlight
        wire = self.router.route(options, _net(("elem", e.key)), [e.key], faded)
        y = wire.points[-1][1]
        self.labels.append(Label(end + 6, y + 5, symbol(state), "start", faded))

    # labels on layers and on operations that compute a node of their own
    def name_labels(self) -> list[Label]:
        placed = []
        exits = set(self.cell.states)
        for e in self.items.values():
            if not e.node or e.node in exits:
                continue
            w, h = e.half
            runs = symbol(e.node)
            spots = [(e.x + 4, e.y - h - 8, "start"), (e.x - 4, e.y - h - 8, "end"),
                     (e.x + w + 3, e.y + h + 12, "start"), (e.x - w - 3, e.y + h + 12, "end"),
                     (e.x + w + 3, e.y - h - 3, "start"), (e.x - w - 3, e.y - h - 3, "end")]
            for x, y, anchor in spots:
                label = Label(x, y, runs, anchor, self.faded(e))
                probe = Figure(0, 0, wires=self.router.wires, labels=[*self.labels, *placed, label],
                               shapes=self.shapes())
                if not any("label" in p and symbol_text(runs) in p for p in probe.crossings()):
                    break
            placed.append(label)
        return placed

    def shapes(self) -> list[Shape]:
        found = []
        for e in self.items.values():
            w, h = e.half
            runs = symbol(e.weight, "") if e.weight else ((e.glyph, ""),)
            glyph = Label(e.x, e.y + 5.5, runs, "middle", self.faded(e), GLYPH_SMALL if len(e.glyph) > 2 else FONT)
            fill = "linear" if e.weight else "layer" if e.kind == "gate" else "op"
            found.append(Shape("box" if e.kind == "gate" else "circle" if w == h else "pill", e.x, e.y, 2 * w, 2 * h, glyph,
                               fill, self.faded(e), e.key))
        return found

    def figure(self) -> Figure:
        labels = [*self.labels, *self.name_labels()]
        shapes = self.shapes()
        right = max(label.box()[2] for label in labels) + MARGIN
        bottom = max([*self.bus_y.values(), self.gate_y + GATE[1] / 2]) + MARGIN + 4
        return Figure(right, bottom, shapes, self.router.wires, labels, self.cell.name)


def _towards(a: tuple[float, float], b: tuple[float, float], leave: float, arrive: float) -> list[tuple[float, float]]:
    """A straight wire from the edge of a circle at a to the edge of one at b."""
    (x1, y1), (x2, y2) = a, b
    length = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
    ux, uy = (x2 - x1) / length, (y2 - y1) / length
    return [(x1 + ux * leave, y1 + uy * leave), (x2 - ux * arrive, y2 - uy * arrive)]


def symbol_text(runs: tuple[Run, ...]) -> str:
    return "".join(text for text, _ in runs)


def _net(source: Source) -> str:
    return ":".join(p for p in source if p)


def cell_figure(cell: Cell, translate: Translate = str, highlight: Iterable[str] = ()) -> Figure:
    """One step of the cell, laid out from its spec; ``highlight`` names nodes to stand out, the rest grey."""
    chosen = frozenset(highlight)
    unknown = chosen - {n.name for n in cell.nodes}
    if unknown:
        raise spec.SpecError(f"diagram of {cell.name!r}: no node {', '.join(sorted(unknown))} to highlight "
                             f"(nodes: {', '.join(n.name for n in cell.nodes)})")
    return _CellLayout(cell, translate, chosen).draw()


def legend(cell: Cell, translate: Translate = str, highlight: Iterable[str] = ()) -> list[tuple[tuple[Run, ...], str, bool]]:
    """The named nodes of the diagram with their roles: (symbol, role, faded)."""
    chosen = set(highlight)
    return [(symbol(n.name), translate(n.role), bool(chosen) and n.name not in chosen)
            for n in cell.nodes if n.role]


def unrolled_legend(cell: Cell, translate: Translate = str,
                    losses: bool = False) -> list[tuple[tuple[Run, ...], str, bool]]:
    """What the unrolled diagram's symbols stand for: the shared weights, and with ``losses`` the loss terms."""
    weights: list[Run] = []
    for weight in cell.weights:
        weights += [*([(", ", "")] if weights else []), *symbol(weight, "")]
    found = [(tuple(weights), translate(SHARED_WEIGHTS), False)]
    if losses:
        terms = [((("ℓ", "i"), ("t", "sub")),), ((("L", "i"),),), (symbol("y"),), (symbol("V", ""),)]
        found += [(runs[0], translate(text), False) for runs, text in zip(terms, LOSS_LEGEND)]
    return found


def unrolled_figure(cell: Cell, steps: int, losses: bool = False) -> Figure:
    """The cell unrolled over ``steps`` steps: a box per step, inputs below, outputs above, the states passed
    along; with ``losses``, each output read by its loss ℓ_t (against y_t, through the output layer V), the
    losses summed into L."""
    if not 1 <= steps <= 8:
        raise spec.SpecError(f"unrolled diagram of {cell.name!r}: steps must be 1 to 8, got {steps}")
    pitch, box = 104, (56, 36)
    states = cell.states if len(cell.states) <= 2 else (cell.output,)
    left = MARGIN + max(text_width(symbol(s, "0")) for s in states) + 10
    loss_y, total_y = 52 + 18, 22
    out_y = (loss_y + 56) if losses else 28
    box_y = out_y + 56
    in_y = box_y + 62
    figure = Figure(0, in_y + 12)
    for i, s in enumerate(states):
        figure.labels.append(Label(left - 4, box_y - 6 + 22 * i, symbol(s, "0"), "end"))
    total_x = left + 20 + (steps - 1) * pitch / 2 + box[0] / 2
    if losses:
        figure.shapes.append(Shape("circle", total_x, total_y, 2 * RADIUS + 4, 2 * RADIUS + 4, Label(
            total_x, total_y + 5.5, (("L", "i"),)), "loss"))
    previous = left
    for t in range(1, steps + 1):
        x = left + 20 + (t - 1) * pitch + box[0] / 2
        figure.shapes.append(Shape("round", x, box_y, *box, Label(x, box_y + 5.5, ((cell.name.upper(), "b"),),
                                                                   size=14 if len(cell.name) > 4 else FONT)))
        figure.wires.append(Wire([(x, in_y - 8), (x, box_y + box[1] / 2)], f"x{t}"))
        figure.labels.append(Label(x, in_y + 8, symbol("x", str(t))))
        figure.wires.append(Wire([(previous, box_y), (x - box[0] / 2, box_y)], f"s{t - 1}"))
        if t > 1:
            for i, s in enumerate(states):
                figure.labels.append(Label((previous + x - box[0] / 2) / 2, box_y - 8 - 22 * (len(states) - 1 - i),
                                           symbol(s, str(t - 1))))
        previous = x + box[0] / 2
        figure.wires.append(Wire([(x, box_y - box[1] / 2), (x, out_y + 8)], f"h{t}"))
        figure.labels.append(Label(x, out_y + 2, symbol(cell.output, str(t))))
        if losses:
            figure.wires.append(Wire([(x, out_y - 16), (x, loss_y + RADIUS + 3)], f"h{t}"))
            figure.labels.append(Label(x - 9, (out_y - 16 + loss_y + RADIUS) / 2 + 6, (("V", "i"),), "end"))
            figure.shapes.append(Shape("circle", x, loss_y, 2 * RADIUS + 6, 2 * RADIUS + 6,
                                       Label(x, loss_y + 5.5, (("ℓ", "i"), (str(t), "sub"))), "loss"))
            figure.wires.append(Wire([(x + 40, loss_y), (x + RADIUS + 3, loss_y)], f"y{t}"))
            figure.labels.append(Label(x + 42, loss_y + 5, symbol("y", str(t)), "start"))
            figure.wires.append(Wire(_towards((x, loss_y), (total_x, total_y), RADIUS + 3, RADIUS + 2), f"l{t}"))
    figure.width = max(previous + 40 + (30 if losses else 0), total_x + 40)
    figure.title = f"{cell.name}_unrolled"
    return figure
