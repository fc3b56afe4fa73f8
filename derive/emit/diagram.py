"""Graphviz diagrams of a cell, drawn from its spec: one box per gate, one circle per pointwise operation.

Edges carry the weight matrix that multiplies their source; biases are left out. Every piece of
text a reader sees in a diagram goes through ``translate``, so the same spec gives a diagram in each
language of the site; :func:`messages` lists those texts for the translation catalogs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from html import escape

from derive.cells import functions, spec
from derive.cells.spec import Call, Cell, MatMul, Neg, NodeRef, Num, Param, PrevRef, Product, Sum

Translate = Callable[[str], str]
FONT = "Noto Sans CJK SC, Noto Sans, sans-serif"
SHARED_WEIGHTS = "the same weights at every step"
COLOURS = {"layer": "#fde9b5", "op": "#dbe9f7", "state": "#ffffff"}
FADED = 'fillcolor="#f4f4f4", color="#c8c8c8", fontcolor="#9a9a9a"'



def messages(cells: Iterable[Cell]) -> list[str]:
    """Every text the diagrams of these cells can show, for the translation catalog."""
    found = dict.fromkeys(node.role for cell in cells for node in cell.nodes if node.role)
    return [*found, SHARED_WEIGHTS]


def symbol(name: str, index: str = "t") -> str:
    """``W_f`` → italic W with subscript f; ``h`` at ``t-1`` → h subscript t−1 (Graphviz HTML)."""
    head, _, tail = name.partition("_")
    sub = ",".join(p for p in (tail, index) if p).replace("-", "−")
    return f"<I>{escape(head)}</I>" + (f"<SUB>{escape(sub)}</SUB>" if sub else "")


class _Drawing:
    """Collects the statements of one ``digraph``."""

    def __init__(self, translate: Translate):
        self.translate = translate
        self.lines: list[str] = []
        self.count = 0
        self.faded: set[str] = set()  # graph nodes drawn in grey
        self.fading = False  # whether nodes made now are faded

    def node(self, label: str, kind: str, shape: str) -> str:
        self.count += 1
        name = f"n{self.count}"
        colours = FADED if self.fading else f'fillcolor="{COLOURS[kind]}"'
        self.lines.append(f'  {name} [label=<{label}>, shape={shape}, style="filled,rounded", {colours}];')
        if self.fading:
            self.faded.add(name)
        return name

    def edge(self, tail: str, head: str, weight: str = "", label: str = "") -> None:
        label = symbol(weight, "") if weight else label
        attrs = ([f"label=<{label}>"] if label else []) + (
            ['color="#c8c8c8", fontcolor="#9a9a9a"'] if head in self.faded else [])
        self.lines.append(f"  {tail} -> {head}" + (f" [{', '.join(attrs)}]" if attrs else "") + ";")

    def source(self, title: str) -> str:
        attrs = f'fontname="{FONT}"'
        return "\n".join([
            f"digraph {title} {{",
            f'  graph [rankdir=LR, {attrs}, nodesep=0.25, ranksep=0.45, bgcolor="transparent"];',
            f"  node [{attrs}, fontsize=12, margin=\"0.08,0.04\"];",
            f"  edge [{attrs}, fontsize=10, arrowsize=0.6];",
            *self.lines, "}", ""])


class _CellDrawing(_Drawing):
    """One time step of a cell."""

    def __init__(self, cell: Cell, translate: Translate, highlight: frozenset[str] = frozenset()):
        super().__init__(translate)
        self.cell = cell
        unknown = highlight - {n.name for n in cell.nodes}
        if unknown:
            raise spec.SpecError(f"diagram of {cell.name!r}: no node {', '.join(sorted(unknown))} to highlight "
                                 f"(nodes: {', '.join(n.name for n in cell.nodes)})")
        self.inputs = {spec.INPUT: self.node(symbol("x"), "state", "plaintext")}
        for s in cell.states:
            self.inputs[s + spec.PREV_SUFFIX] = self.node(symbol(s, "t-1"), "state", "plaintext")
        self.roots: dict[str, str] = {}
        for node in cell.nodes:
            self.fading = bool(highlight) and node.name not in highlight
            self.roots[node.name] = self.root(node)
        for s in cell.states:
            self.fading = bool(highlight) and s not in highlight
            self.edge(self.roots[s], self.node(symbol(s), "state", "plaintext"))

    def caption(self, node: spec.Node, op: str) -> str:
        role = f" {escape(self.translate(node.role))}" if node.role else ""
        return f'<FONT POINT-SIZE="15">{escape(op)}</FONT><BR/>{symbol(node.name)}{role}'

    def root(self, node: spec.Node) -> str:
        expr = node.expr
        if isinstance(expr, Call) and _affine(expr.arg):
            box = self.node(self.caption(node, functions.TABLE[expr.func].unicode), "layer", "box")
            for term in _terms(expr.arg):
                if isinstance(term, MatMul):
                    self.edge(self.source_of(term.source), box, term.weight)
            return box
        op, operands = _operation(expr)
        circle = self.node(self.caption(node, op), *_shape(expr))
        self.connect(operands, circle)
        return circle

    def value(self, expr: spec.Expr) -> tuple[str, str]:
        """The graph node that yields expr, and the weight on the edge leaving it."""
        if isinstance(expr, MatMul):
            return self.source_of(expr.source), expr.weight
        if isinstance(expr, (NodeRef, PrevRef)):
            return self.source_of(expr), ""
        if isinstance(expr, (Param, Num)):  # a peephole weight, a constant: a label of its own
            label = symbol(expr.name, "") if isinstance(expr, Param) else escape(f"{expr.value:g}")
            return self.node(label, "state", "plaintext"), ""
        kept = [t for t in _terms(expr) if not isinstance(t, Param)] if isinstance(expr, Sum) else []
        if len(kept) == 1:  # a term plus biases
            return self.value(kept[0])
        op, operands = _operation(expr)
        box = self.node(f'<FONT POINT-SIZE="15">{escape(op)}</FONT>', *_shape(expr))
        self.connect(operands, box)
        return box, ""

    def connect(self, operands: list[spec.Expr], head: str) -> None:
        for operand in operands:
            tail, weight = self.value(operand)
            self.edge(tail, head, weight)

    def source_of(self, source) -> str:
        if source == spec.INPUT:
            return self.inputs[spec.INPUT]
        if isinstance(source, PrevRef):
            return self.inputs[source.name]
        return self.roots[source.name]


def _terms(expr: spec.Expr) -> tuple[spec.Expr, ...]:
    return expr.terms if isinstance(expr, Sum) else (expr,)


def _affine(expr: spec.Expr) -> bool:
    return all(isinstance(t, (MatMul, Param)) for t in _terms(expr))


def _shape(expr: spec.Expr) -> tuple[str, str]:
    """A function of weighted inputs is a layer (box); everything else a pointwise operation."""
    if isinstance(expr, Call) and spec.walk(expr.arg, MatMul):
        return "layer", "box"
    return "op", "ellipse"


def _operation(expr: spec.Expr) -> tuple[str, list[spec.Expr]]:
    """The symbol drawn for expr and the operands feeding it."""
    if isinstance(expr, Sum):
        numbers = [t for t in expr.terms if isinstance(t, Num)]
        if len(expr.terms) == 2 and numbers == [Num(1.0)] and isinstance(expr.terms[1], Neg):
            return "1−", [expr.terms[1].arg]
        return "+", [t for t in expr.terms if not isinstance(t, (Param, Num))]
    if isinstance(expr, Product):
        return "⊙", [f for f in expr.factors if not isinstance(f, Num)]
    if isinstance(expr, Call):
        return functions.TABLE[expr.func].unicode, [expr.arg]
    if isinstance(expr, Neg):
        return "−", [expr.arg]
    return "·", [expr]


def cell_dot(cell: Cell, translate: Translate = str, highlight: Iterable[str] = ()) -> str:
    """One step of the cell as a Graphviz ``digraph``; ``highlight`` names nodes to stand out, the rest grey."""
    return _CellDrawing(cell, translate, frozenset(highlight)).source(cell.name)


def unrolled_dot(cell: Cell, steps: int, translate: Translate = str, losses: bool = False) -> str:
    """The cell unrolled over ``steps`` time steps: one copy per step, the states passed along; with
    ``losses``, the output of every step read by its loss ℓ_t (against the target y_t through the output
    layer V), the losses summed into L, so that the two paths leaving each output show."""
    if not 1 <= steps <= 8:
        raise spec.SpecError(f"unrolled diagram of {cell.name!r}: steps must be 1 to 8, got {steps}")
    drawing = _Drawing(translate)
    states = lambda index: "<BR/>".join(symbol(s, index) for s in cell.states)
    previous = drawing.node(states("0"), "state", "plaintext")
    total = drawing.node("<I>L</I>", "op", "ellipse") if losses else ""
    for t in range(1, steps + 1):
        box = drawing.node(f"<B>{escape(cell.name)}</B>", "layer", "box")
        drawing.edge(drawing.node(symbol("x", str(t)), "state", "plaintext"), box)
        drawing.edge(previous, box, label=states(str(t - 1)) if t > 1 and not losses else "")
        output = drawing.node(symbol(cell.output, str(t)), "state", "plaintext")
        drawing.edge(box, output)
        previous = output if losses and len(cell.states) == 1 else box
        if losses:
            loss = drawing.node(f"<I>ℓ</I><SUB>{t}</SUB>", "op", "ellipse")
            drawing.edge(output, loss, "V")
            drawing.edge(drawing.node(symbol("y", str(t)), "state", "plaintext"), loss)
            drawing.edge(loss, total)
    weights = ", ".join(symbol(w, "") for w in cell.weights)
    drawing.lines.append(f'  label=<{escape(translate(SHARED_WEIGHTS))}: {weights}>; labelloc=b;')
    return drawing.source(f"{cell.name}_unrolled")
