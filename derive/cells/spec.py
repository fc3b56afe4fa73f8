"""The cell spec language: a recurrent cell is a short list of named equations for one time step.

A spec reads like the math::

    i = sigmoid(W_i @ x + U_i @ h_prev + b_i + bh_i)   # input gate
    c = f * c_prev + i * g
    h = o * tanh(c)

Every node is a vector of the hidden size H, computed elementwise from

* ``M @ v``: a weight matrix (any name) times ``x`` (the input), ``s_prev`` (state ``s`` from the
  previous step) or another node of the same step;
* parameter vectors named ``b…_…`` (biases) or ``p…_…`` (diagonal weights such as peepholes);
* other nodes, ``s_prev``, numbers, ``+ - *`` and the functions ``sigmoid`` and ``tanh``.

Each declared state ``s`` is updated by the node named ``s``; the output is one node (default: the
first state). Anything else raises :class:`SpecError` with the node's name in the message.
"""

from __future__ import annotations

import ast
import difflib
import keyword
import math
import re
from dataclasses import dataclass

from .functions import NAMES

FUNCTIONS = NAMES
INPUT = "x"
PREV_SUFFIX = "_prev"
VECTOR_PARAM = re.compile(r"^[bp][a-z]*_\w+$")
IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
CELL_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Names the generated kernels use for their own variables, plus the language's own words.
RESERVED = frozenset(
    {INPUT, *FUNCTIONS, "np", "t", "T", "B", "D", "H", "params", "cache", "grads", "lengths",
     "check_finite", "live", "viewed", "batch", "proj", "step", "pointers", "FFI", "LIB", "compiled", "rec_t", "rec_live", "rec_live_t", "U_allT", "pre", "rec", "gates", "bias", "blk", "x2", "W_all", "U_all", "CELL", "STATES",
     "PARAM_SHAPES", "forward", "backward", "check_forward", "check_backward", "sum", "range"}
)
RESERVED_AFFIXES = ("d_", "a_", "tmp", "dl_", *(f"{name}_" for name in NAMES))  # δ, pre-activations, scratch, f(node)
RESERVED_SUFFIXES = (PREV_SUFFIX, "_seq", "_next", "_T", "_buf", "_carry")
MAX_TERMS = 200  # operands in one equation: more is a mistake, and would make SymPy crawl
MAX_TEXT = 300  # characters of a title or reference
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class SpecError(ValueError):
    """An invalid cell spec; the message names the offending node and what was expected."""


# --- the parsed expression tree -------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    value: float


@dataclass(frozen=True)
class NodeRef:
    name: str


@dataclass(frozen=True)
class PrevRef:
    state: str

    @property
    def name(self) -> str:
        return self.state + PREV_SUFFIX


@dataclass(frozen=True)
class Param:
    """A parameter vector of size H (bias or diagonal weight)."""

    name: str


@dataclass(frozen=True)
class MatMul:
    """``weight @ source``: source is ``x``, a previous state or a node."""

    weight: str
    source: NodeRef | PrevRef | str  # the string INPUT for x


@dataclass(frozen=True)
class Call:
    func: str
    arg: Expr


@dataclass(frozen=True)
class Sum:
    terms: tuple[Expr, ...]


@dataclass(frozen=True)
class Product:
    factors: tuple[Expr, ...]


@dataclass(frozen=True)
class Neg:
    arg: Expr


Expr = Num | NodeRef | PrevRef | Param | MatMul | Call | Sum | Product | Neg


@dataclass(frozen=True)
class Node:
    name: str
    expr: Expr
    text: str  # the equation's right-hand side as written
    role: str = ""  # the trailing comment, e.g. "forget gate"


@dataclass(frozen=True)
class Cell:
    """A validated cell: nodes in evaluation order, declared states, the output node."""

    name: str
    title: str
    states: tuple[str, ...]
    output: str
    nodes: tuple[Node, ...]
    reference: str = ""

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    @property
    def weights(self) -> dict[str, str]:
        """Weight matrices in order of appearance, mapped to their source (``x``, ``h_prev``, …)."""
        found: dict[str, str] = {}
        for node in self.nodes:
            for mm in walk(node.expr, MatMul):
                found.setdefault(mm.weight, source_name(mm.source))
        return found

    @property
    def vectors(self) -> tuple[str, ...]:
        """Parameter vectors (biases, peepholes) in order of appearance."""
        names: dict[str, None] = {}
        for node in self.nodes:
            names.update((p.name, None) for p in walk(node.expr, Param))
        return tuple(names)

    @property
    def param_shapes(self) -> dict[str, tuple[str, ...]]:
        """Every parameter with its symbolic shape: ``("H", "D")``, ``("H", "H")`` or ``("H",)``."""
        shapes = {w: ("H", "D") if src == INPUT else ("H", "H") for w, src in self.weights.items()}
        shapes.update((v, ("H",)) for v in self.vectors)
        return shapes


def source_name(source: NodeRef | PrevRef | str) -> str:
    return source if isinstance(source, str) else source.name


def walk(expr: Expr, kind: type) -> list:
    """All subexpressions of ``expr`` of the given kind, depth first, left to right."""
    found = [expr] if isinstance(expr, kind) else []
    for child in children(expr):
        found.extend(walk(child, kind))
    return found


def children(expr: Expr) -> tuple[Expr, ...]:
    if isinstance(expr, Sum):
        return expr.terms
    if isinstance(expr, Product):
        return expr.factors
    if isinstance(expr, (Call, Neg)):
        return (expr.arg,)
    if isinstance(expr, MatMul) and isinstance(expr.source, NodeRef):
        return (expr.source,)
    return ()


# --- parsing and validation -----------------------------------------------------------------


def define(name: str, equations: str, *, states: str, output: str | None = None,
           title: str = "", reference: str = "") -> Cell:
    """Parse and validate a cell from ``name = expression`` lines (``#`` starts a comment)."""
    if not isinstance(name, str) or not CELL_NAME.match(name):
        raise SpecError(f"cell name {name!r}: use lowercase letters, digits and '_', starting with a letter")
    for key, text in (("title", title), ("reference", reference)):
        _check_text(key, text)
    state_names = tuple(states.replace(",", " ").split())
    if not state_names:
        raise SpecError(f"cell {name!r}: declare at least one state")
    for s in dict.fromkeys(state_names):
        if state_names.count(s) > 1:
            raise SpecError(f"state {s!r}: declared {state_names.count(s)} times")
    lines = _split_equations(equations)
    node_names = [n for n, _, _ in lines]
    kernel_names = _kernel_names(state_names)
    for n in dict.fromkeys(node_names):
        if node_names.count(n) > 1:
            raise SpecError(f"node {n!r}: defined {node_names.count(n)} times")
        _check_node_name(n)
        if n in kernel_names:
            raise SpecError(f"node {n!r}: reserved name, the kernels use it for {kernel_names[n]}")
    for s in state_names:
        if s not in node_names:
            raise SpecError(f"state {s!r}: never updated (add an equation '{s} = …')")
    output = output or state_names[0]
    if output not in node_names:
        raise SpecError(f"output {output!r}: missing (no node of that name)")
    parser = _Parser(set(node_names), set(state_names), kernel_names)
    nodes = [Node(n, parser.parse(n, text), text, role) for n, text, role in lines]
    _check_param_kinds(nodes)
    ordered = _evaluation_order(nodes)
    _check_all_used(ordered, state_names, output)
    if not any(mm.source == INPUT for node in nodes for mm in walk(node.expr, MatMul)):
        raise SpecError(f"cell {name!r}: the input x is never read (write 'W @ x' in some equation)")
    return Cell(name, title or name, state_names, output, tuple(ordered), reference)


def _check_text(key: str, text: str) -> None:
    """A title or reference: one line of printable text, of reasonable length."""
    if not isinstance(text, str):
        raise SpecError(f"{key}: must be text, got {type(text).__name__}")
    if CONTROL.search(text):
        raise SpecError(f"{key} {text[:40]!r}: one line of text without control characters")
    if len(text) > MAX_TEXT:
        raise SpecError(f"{key}: {len(text)} characters, at most {MAX_TEXT}")


def _kernel_names(states: tuple[str, ...]) -> dict[str, str]:
    """Names that the kernels derive from the states for their own arguments and cache keys."""
    found = {}
    for s in states:
        found.update({f"{s}0": f"the initial state of {s}", f"{s}_T": f"the final state of {s}",
                      f"d{s}_T": f"the gradient of the final {s}", f"d{s}_seq": f"the gradient of {s}_seq"})
    return found


def _split_equations(equations: str) -> list[tuple[str, str, str]]:
    lines = []
    for raw in equations.splitlines():
        body, _, comment = raw.partition("#")
        if not body.strip():
            continue
        lhs, eq, rhs = body.partition("=")
        if not eq or not rhs.strip():
            raise SpecError(f"line {raw.strip()!r}: expected 'name = expression'")
        lines.append((lhs.strip(), rhs.strip(), comment.strip()))
    if not lines:
        raise SpecError("cell has no equations")
    return lines


def _check_node_name(name: str) -> None:
    if not IDENTIFIER.match(name):
        raise SpecError(f"node {name!r}: not a valid name (letters, digits, '_', starting with a letter)")
    if _reserved(name):
        raise SpecError(f"node {name!r}: reserved name, choose another")
    if VECTOR_PARAM.match(name):
        raise SpecError(f"node {name!r}: reserved name, names like b_… and p_… denote parameter vectors")


def _reserved(name: str) -> bool:
    return (keyword.iskeyword(name) or name in RESERVED or name.startswith(RESERVED_AFFIXES)
            or name.endswith(RESERVED_SUFFIXES) or "__" in name)


class _Parser:
    """Turns one right-hand side into an :data:`Expr`, resolving every name."""

    def __init__(self, nodes: set[str], states: set[str], kernel_names: dict[str, str]):
        self.nodes, self.states, self.kernel_names = nodes, states, kernel_names
        self.node = ""

    def parse(self, node: str, text: str) -> Expr:
        self.node = node
        try:
            tree = ast.parse(text, mode="eval").body
            size = sum(1 for _ in ast.walk(tree))
            if size > 4 * MAX_TERMS:
                raise self.fail(f"expression of {size} parts is too large (at most {MAX_TERMS} terms); "
                                "split it into several nodes")
            return self._expr(tree)
        except SyntaxError as exc:
            raise SpecError(f"node {node!r}: cannot parse {text[:80]!r} ({exc.msg})") from None
        except (RecursionError, MemoryError):
            raise self.fail("expression nested too deeply; split it into several nodes") from None

    def fail(self, what: str) -> SpecError:
        return SpecError(f"node {self.node!r}: {what}")

    def _expr(self, tree: ast.expr) -> Expr:
        if isinstance(tree, ast.BinOp):
            return self._binop(tree)
        if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, (ast.USub, ast.UAdd)):
            arg = self._expr(tree.operand)
            return Neg(arg) if isinstance(tree.op, ast.USub) else arg
        if isinstance(tree, ast.Constant) and type(tree.value) in (int, float):
            try:
                value = float(tree.value)
            except OverflowError:
                value = math.inf
            if not math.isfinite(value):
                raise self.fail("a number overflows to infinity in double precision")
            return Num(value)
        if isinstance(tree, ast.Name):
            return self._name(tree.id)
        if isinstance(tree, ast.Call):
            return self._call(tree)
        raise self.fail(f"unsupported operation {ast.unparse(tree)!r}")

    def _binop(self, tree: ast.BinOp) -> Expr:
        if isinstance(tree.op, ast.MatMult):
            return self._matmul(tree)
        if isinstance(tree.op, ast.Mult) and any(isinstance(t, ast.Name) and t.id == INPUT
                                                 for t in (tree.left, tree.right)):
            other = tree.right if isinstance(tree.left, ast.Name) and tree.left.id == INPUT else tree.left
            raise self.fail(f"'{ast.unparse(tree)}': the input x may only appear as 'W @ x' "
                            f"(a matrix product is written with @: '{ast.unparse(other)} @ x')")
        left, right = self._expr(tree.left), self._expr(tree.right)
        if isinstance(tree.op, ast.Add):
            return Sum(_flatten(Sum, left) + _flatten(Sum, right))
        if isinstance(tree.op, ast.Sub):
            return Sum(_flatten(Sum, left) + (Neg(right),))
        if isinstance(tree.op, ast.Mult):
            return Product(_flatten(Product, left) + _flatten(Product, right))
        op = type(tree.op).__name__.lower()
        raise self.fail(f"unsupported operation {op} in {ast.unparse(tree)!r} (use + - * @, {', '.join(FUNCTIONS)})")

    def _matmul(self, tree: ast.BinOp) -> MatMul:
        if not isinstance(tree.left, ast.Name) or not isinstance(tree.right, ast.Name):
            raise self.fail(f"unsupported operation {ast.unparse(tree)!r}: write 'W @ v' with a "
                            "weight name W and v = x, a node or s_prev")
        weight, source = tree.left.id, tree.right.id
        if weight in self.nodes or weight.endswith(PREV_SUFFIX) or VECTOR_PARAM.match(weight):
            raise self.fail(f"{weight!r} cannot be a weight matrix (it names a node, a state or a vector)")
        if not IDENTIFIER.match(weight) or _reserved(weight) or weight in self.kernel_names:
            raise self.fail(f"weight {weight!r}: reserved or invalid name (letters, digits and '_'), choose another")
        if source == INPUT:
            return MatMul(weight, INPUT)
        resolved = self._name(source)
        if not isinstance(resolved, (NodeRef, PrevRef)):
            raise self.fail(f"'{weight} @ {source}': the right operand must be x, a node or s_prev")
        return MatMul(weight, resolved)

    def _name(self, name: str) -> Expr:
        if name in self.nodes:
            return NodeRef(name)
        if name == INPUT:
            raise self.fail("the input x may only appear as 'W @ x'")
        if name.endswith(PREV_SUFFIX):
            state = name[: -len(PREV_SUFFIX)]
            if state in self.states:
                return PrevRef(state)
            raise self.fail(f"unknown reference {name!r}: {state!r} is not a declared state")
        if VECTOR_PARAM.match(name):
            if not IDENTIFIER.match(name) or "__" in name:
                raise self.fail(f"parameter vector {name!r}: use letters, digits and single '_'")
            return Param(name)
        known = [*self.nodes, *(s + PREV_SUFFIX for s in self.states)]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise self.fail(f"unknown reference {name!r} (not a node, not s_prev of a state; "
                        f"parameter vectors are named b…_… or p…_…){hint}")

    def _call(self, tree: ast.Call) -> Call:
        func = tree.func.id if isinstance(tree.func, ast.Name) else ast.unparse(tree.func)
        if func not in FUNCTIONS:
            raise self.fail(f"unsupported function {func!r} (supported: {', '.join(FUNCTIONS)})")
        if len(tree.args) != 1 or tree.keywords:
            raise self.fail(f"{func} takes exactly one argument")
        return Call(func, self._expr(tree.args[0]))


def _flatten(kind: type, expr: Expr) -> tuple[Expr, ...]:
    if isinstance(expr, kind):
        return expr.terms if kind is Sum else expr.factors
    return (expr,)


def _check_param_kinds(nodes: list[Node]) -> None:
    """A weight multiplies either x or H-sized vectors, never both; no name is weight and vector."""
    weight_kind: dict[str, bool] = {}
    vectors = {p.name for n in nodes for p in walk(n.expr, Param)}
    for node in nodes:
        for mm in walk(node.expr, MatMul):
            on_input = mm.source == INPUT
            if weight_kind.setdefault(mm.weight, on_input) != on_input:
                raise SpecError(f"node {node.name!r}: weight {mm.weight!r} multiplies both x and "
                                "hidden-size vectors; use two weights")
            if mm.weight in vectors:
                raise SpecError(f"node {node.name!r}: {mm.weight!r} is used both as matrix and vector")


def _dependencies(node: Node) -> list[str]:
    return list(dict.fromkeys(r.name for r in walk(node.expr, NodeRef)))


def _evaluation_order(nodes: list[Node]) -> list[Node]:
    """Topological order of the within-step dependencies, stable with respect to the spec."""
    pending = {n.name: set(_dependencies(n)) for n in nodes}
    for n in nodes:
        if n.name in pending[n.name]:
            raise SpecError(f"node {n.name!r}: refers to itself within a step (use {n.name}_prev "
                            "for the previous step)")
    ordered: list[Node] = []
    while pending:
        ready = [n for n in nodes if n.name in pending and not pending[n.name]]
        if not ready:
            cycle = _find_cycle(pending)
            raise SpecError(f"node {cycle[0]!r}: cycle within a step ({' -> '.join(cycle)})")
        node = ready[0]
        ordered.append(node)
        del pending[node.name]
        for deps in pending.values():
            deps.discard(node.name)
    return ordered


def _find_cycle(pending: dict[str, set[str]]) -> list[str]:
    path = [next(iter(pending))]
    while path.count(path[-1]) < 2:
        path.append(min(pending[path[-1]] & pending.keys()))
    return path[path.index(path[-1]):]


def _check_all_used(nodes: list[Node], states: tuple[str, ...], output: str) -> None:
    used = {d for n in nodes for d in _dependencies(n)} | set(states) | {output}
    for n in nodes:
        if n.name not in used:
            raise SpecError(f"node {n.name!r}: computed but never used (not a state, not the output, "
                            "not read by another node)")
