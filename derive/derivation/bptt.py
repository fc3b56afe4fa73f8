"""Backpropagation through time, derived per hidden unit with SymPy.

Every node of a cell is, per hidden unit, a scalar function of scalar operands. SymPy
differentiates those (``sympy.diff``); the matrix structure lives only in the affine
pre-activations, whose adjoints follow fixed rules (``dW += δa xᵀ``, ``δx += Wᵀ δa``, …) recorded
here as :class:`Linear` terms. The resulting :class:`Derivation` is what every printer reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

import sympy

from derive.cells import functions, spec
from derive.cells.spec import Cell


@dataclass(frozen=True)
class Var:
    """What a SymPy symbol stands for.

    kind: ``node`` (value at step t), ``prev`` (state at t−1), ``input`` (x_t), ``preact``
    (affine pre-activation), ``aux`` (a function value reused by the backward pass), ``param``
    (a parameter vector), ``adjoint`` (δ of another variable), ``loss`` (∂ℓ_t/∂ of an output),
    ``carry`` (δ of a state arriving from step t+1).
    """

    kind: str
    name: str
    of: Var | None = None  # for adjoint, loss, carry and aux: the variable concerned
    func: str = ""  # for aux: the function applied to ``of``
    tag: str = ""  # for preact: which of a node's affine parts ("" for the main one)
    step: int = 0  # 0 at step t, +1 at step t+1 (used when printing recurrences)


@dataclass(frozen=True)
class Term:
    """``weight @ source`` inside a pre-activation."""

    weight: str
    source: sympy.Symbol


@dataclass(frozen=True)
class Preact:
    """An affine pre-activation: the sum of its terms and bias vectors."""

    symbol: sympy.Symbol
    node: str
    terms: tuple[Term, ...]
    biases: tuple[str, ...]


@dataclass(frozen=True)
class Linear:
    """``weightᵀ @ δ(preact)``: the adjoint of a term's source, by the fixed rule."""

    weight: str
    preact: sympy.Symbol


@dataclass(frozen=True)
class Assign:
    """``target = expr + Σ linear``, elementwise per hidden unit."""

    target: sympy.Symbol
    expr: sympy.Expr
    linear: tuple[Linear, ...] = ()


@dataclass(frozen=True)
class NodeEq:
    """A node's forward equation and how it reads its operands."""

    symbol: sympy.Symbol
    expr: sympy.Expr  # with pre-activation and aux symbols
    full: sympy.Expr  # with the functions written out (what SymPy differentiates)
    display: sympy.Expr  # ``full`` unevaluated, in the order the spec writes it
    preacts: tuple[Preact, ...]
    gate: str  # "sigmoid"/"tanh" when the node is exactly f(one pre-activation), else ""
    role: str


@dataclass(frozen=True)
class Contribution:
    """One per-step term of a parameter's gradient, which is its sum over the steps.

    kind ``weight``: the outer product δa vᵀ of a pre-activation's δ and the term's source v;
    ``bias``: δa itself; ``vector``: an elementwise product (a peephole's δa ⊙ c), summed over the batch.
    """

    kind: str
    preact: sympy.Symbol | None = None
    source: sympy.Symbol | None = None
    total: Assign | None = None  # for vectors: the per-step adjoint


@dataclass
class Derivation:
    """The derived cell: forward equations, local derivatives, the backward program per step."""

    cell: Cell
    vars: dict[sympy.Symbol, Var]
    x: sympy.Symbol
    nodes: tuple[NodeEq, ...]
    preacts: tuple[Preact, ...]
    aux: dict[sympy.Symbol, sympy.Expr]  # aux symbol -> f(node symbol)
    local: dict[tuple[sympy.Symbol, sympy.Symbol], sympy.Expr]  # (node, operand) -> ∂node/∂operand
    backward: tuple[Assign, ...]  # δ of nodes and pre-activations, in evaluation order
    carries: tuple[Assign, ...]  # δ s_prev for every state s, handed to step t−1
    vector_grads: tuple[Assign, ...]  # per-step contributions to non-bias parameter vectors
    symbols: dict[str, sympy.Symbol] = field(default_factory=dict)

    def sym(self, name: str) -> sympy.Symbol:
        return self.symbols[name]

    def node(self, name: str) -> NodeEq:
        return next(n for n in self.nodes if n.symbol.name == name)

    def adjoint(self, symbol: sympy.Symbol) -> sympy.Symbol:
        return self.symbols["d_" + symbol.name]

    def parameter_gradients(self) -> dict[str, list[Contribution]]:
        """Every parameter of the cell with the per-step terms whose sum over time is its gradient;
        a parameter that cancelled out of every equation has none."""
        found: dict[str, list[Contribution]] = {name: [] for name in self.cell.param_shapes}
        for pre in self.preacts:
            for term in pre.terms:
                found[term.weight].append(Contribution("weight", pre.symbol, term.source))
            for bias in pre.biases:
                found[bias].append(Contribution("bias", pre.symbol))
        for a in self.vector_grads:
            found[self.vars[a.target].of.name].append(Contribution("vector", total=a))
        return found

    def shifted(self, expr: sympy.Expr) -> sympy.Expr:
        """The same expression one step later: values at t become t+1, ``s_prev`` becomes ``s``."""
        return expr.xreplace({s: self.symbols[self._shift_name(s)] for s in expr.free_symbols
                              if self.vars[s].kind not in ("param",)})

    def _shift_name(self, s: sympy.Symbol) -> str:
        var = self.vars[s]
        if var.kind == "prev":
            return var.of.name
        return s.name + "__next"


class _Builder:
    """Builds the symbols, pre-activations and equations of one cell."""

    def __init__(self, cell: Cell):
        self.cell = cell
        self.vars: dict[sympy.Symbol, Var] = {}
        self.symbols: dict[str, sympy.Symbol] = {}
        self.x = self.make(Var("input", spec.INPUT))
        for node in cell.nodes:
            self.make(Var("node", node.name))
        for state in cell.states:
            self.make(Var("prev", state + spec.PREV_SUFFIX, of=self.var(state)))
        for name in cell.vectors:
            self.make(Var("param", name))
        self.preacts: list[Preact] = []
        self.aux: dict[sympy.Symbol, sympy.Expr] = {}

    def make(self, var: Var) -> sympy.Symbol:
        symbol = sympy.Symbol(var.name, real=True)
        self.vars[symbol] = var
        self.symbols[var.name] = symbol
        return symbol

    def var(self, name: str) -> Var:
        return self.vars[self.symbols[name]]

    # --- forward ---------------------------------------------------------------------------

    def node_eq(self, node: spec.Node) -> NodeEq:
        self.current: dict[int, Preact] = {}
        full = self.to_sympy(node.name, node.expr, True)
        display = self.to_sympy(node.name, node.expr, False)
        preacts = tuple(self.current.values())
        entry = functions.of(full)
        gate = entry.name if entry and len(preacts) == 1 and full.args[0] == preacts[0].symbol else ""
        return NodeEq(self.symbols[node.name], full, full, display, preacts, gate, node.role)

    def to_sympy(self, node: str, expr: spec.Expr, evaluate: bool) -> sympy.Expr:
        """The expression in SymPy; ``evaluate=False`` keeps the spec's order for display."""
        def convert(e: spec.Expr) -> sympy.Expr:
            return self.to_sympy(node, e, evaluate)
        if isinstance(expr, spec.Num):
            return sympy.nsimplify(expr.value)
        if isinstance(expr, (spec.NodeRef, spec.PrevRef, spec.Param)):
            return self.symbols[expr.name]
        if isinstance(expr, spec.Call):
            return functions.SYMPY[expr.func](convert(expr.arg), evaluate=evaluate)
        if isinstance(expr, spec.Neg):
            return sympy.Mul(-1, convert(expr.arg), evaluate=evaluate)
        if isinstance(expr, spec.Product):
            return sympy.Mul(*map(convert, expr.factors), evaluate=evaluate)
        if isinstance(expr, spec.MatMul):
            return self.preact(node, expr, (expr,), ())
        affine = [t for t in expr.terms if isinstance(t, spec.MatMul)]
        if not affine:
            return sympy.Add(*map(convert, expr.terms), evaluate=evaluate)
        biases = tuple(t.name for t in expr.terms if isinstance(t, spec.Param))
        main = self.preact(node, expr, tuple(affine), biases)
        rest = [convert(t) for t in expr.terms if not isinstance(t, (spec.MatMul, spec.Param))]
        return sympy.Add(main, *rest, evaluate=evaluate)

    def preact(self, node: str, owner: spec.Expr, matmuls: tuple[spec.MatMul, ...],
               biases: tuple[str, ...]) -> sympy.Symbol:
        if id(owner) in self.current:
            return self.current[id(owner)].symbol
        first = spec.source_name(matmuls[0].source)
        tag = "" if not self.current else first.removesuffix(spec.PREV_SUFFIX)
        name = f"a_{node}" + (f"_{tag}" if tag else "")
        if name in self.symbols:
            raise spec.SpecError(f"node {node!r}: two affine parts on {first!r}; merge them into one sum")
        symbol = self.make(Var("preact", name, of=self.var(node), tag=tag))
        terms = tuple(Term(m.weight, self.x if m.source == spec.INPUT else self.symbols[spec.source_name(m.source)])
                      for m in matmuls)
        preact = Preact(symbol, node, terms, biases)
        self.current[id(owner)] = preact
        self.preacts.append(preact)
        return symbol

    def with_aux(self, eq: NodeEq, derivatives: dict) -> tuple[NodeEq, dict]:
        """Name function values that are not the node itself (tanh(c) in h = o tanh(c))."""
        calls = {c for e in (eq.full, *derivatives.values()) for c in e.atoms(sympy.Function)
                 if c != eq.full and functions.of(c)}
        replace = {eq.full: eq.symbol}
        for call in sorted(calls, key=sympy.default_sort_key):
            func = functions.of(call).name
            arg = call.args[0]
            if not arg.is_Symbol:
                raise spec.SpecError(f"node {eq.symbol.name!r}: inside a larger expression, {func} applies to a "
                                     "node or to a weighted sum such as 'W @ x + U @ h_prev + b_h'; make its "
                                     "argument a node of its own")
            name = f"{func}_{arg.name}"
            symbol = self.symbols.get(name) or self.make(Var("aux", name, of=self.vars[arg], func=func))
            self.aux[symbol] = call
            replace[call] = symbol
        local = {k: v.xreplace(replace) for k, v in derivatives.items()}
        del replace[eq.full]
        expr = eq.full.xreplace(replace)
        return NodeEq(eq.symbol, expr, eq.full, eq.display, eq.preacts, eq.gate, eq.role), local


def _operands(expr: sympy.Expr, vars: dict) -> list[sympy.Symbol]:
    return sorted((s for s in expr.free_symbols if vars[s].kind != "input"), key=lambda s: s.name)


@cache
def derive(cell: Cell) -> Derivation:
    """Differentiate a cell: local derivatives, then δ of every node, pre-activation and state."""
    b = _Builder(cell)
    nodes: list[NodeEq] = []
    local: dict[tuple[sympy.Symbol, sympy.Symbol], sympy.Expr] = {}
    for node in cell.nodes:
        eq = b.node_eq(node)
        derivatives = {s: sympy.diff(eq.full, s) for s in _operands(eq.full, b.vars)}
        eq, derivatives = b.with_aux(eq, derivatives)
        nodes.append(eq)
        local.update(((eq.symbol, s), d) for s, d in derivatives.items())
    for symbol in list(b.vars):  # adjoints, and every value one step later, for recurrences
        var = b.vars[symbol]
        if var.kind in ("node", "prev", "preact", "param"):
            b.make(Var("adjoint", "d_" + var.name, of=var))
        if var.kind in ("node", "preact", "aux"):
            b.make(Var(var.kind, var.name + "__next", of=var.of, func=var.func, tag=var.tag, step=1))
    for symbol in [s for s, v in b.vars.items() if v.kind == "adjoint" and v.of.kind in ("node", "preact")]:
        b.make(Var("adjoint", symbol.name + "__next", of=b.vars[symbol].of, step=1))
    for state in cell.states:
        b.make(Var("carry", f"d_{state}_next", of=b.var(state)))
    b.make(Var("loss", f"dl_{cell.output}", of=b.var(cell.output)))
    backward, carries, vector_grads = _backward(cell, b, nodes, local)
    return Derivation(cell, b.vars, b.x, tuple(nodes), tuple(b.preacts), b.aux, local,
                      backward, carries, vector_grads, b.symbols)


def _backward(cell: Cell, b: _Builder, nodes: list[NodeEq], local: dict) -> tuple:
    """The per-step adjoint program: reverse evaluation order, chain rule through local derivatives."""
    d = lambda s: b.symbols["d_" + s.name]
    consumers = lambda s: [n for n in nodes if (n.symbol, s) in local]

    def gather(s: sympy.Symbol) -> sympy.Expr:
        return sympy.Add(*(d(n.symbol) * local[n.symbol, s] for n in consumers(s)))

    def linear(source: sympy.Symbol) -> tuple[Linear, ...]:
        return tuple(Linear(t.weight, p.symbol) for p in b.preacts for t in p.terms if t.source == source)

    program: list[Assign] = []
    for eq in reversed(nodes):
        s, name = eq.symbol, eq.symbol.name
        seeds = []
        if name == cell.output:
            seeds.append(b.symbols[f"dl_{name}"])
        if name in cell.states:
            seeds.append(b.symbols[f"d_{name}_next"])
        program.append(Assign(d(s), sympy.Add(*seeds, gather(s)), linear(s)))
        program.extend(Assign(d(p.symbol), d(s) * local[s, p.symbol]) for p in eq.preacts)
    carries = [Assign(d(p), gather(p), linear(p))
               for p in (b.symbols[st + spec.PREV_SUFFIX] for st in cell.states)]
    vector_grads = [Assign(d(b.symbols[v]), gather(b.symbols[v])) for v in cell.vectors
                    if consumers(b.symbols[v])]
    return _reuse_adjoints(program, carries, vector_grads)


def _reuse_adjoints(program: list[Assign], *rest: list[Assign]) -> tuple:
    """Write later adjoints through earlier ones: δr = δâ_n ⊙ â_n^h rather than the expanded product."""
    known: dict[sympy.Expr, sympy.Symbol] = {}
    rewritten = []
    for group in (program, *rest):
        out = []
        for a in group:
            expr = a.expr.subs(known) if known else a.expr
            out.append(Assign(a.target, expr, a.linear))
            if group is program and a.expr.is_Mul and not a.linear:  # with linear terms, target != expr
                known[a.expr] = a.target
        rewritten.append(tuple(out))
    return tuple(rewritten)


def all_symbols(assigns: Iterable[Assign]) -> set[sympy.Symbol]:
    """Every symbol an adjoint program reads."""
    found: set[sympy.Symbol] = set()
    for a in assigns:
        found |= a.expr.free_symbols
    return found
