"""Memory layout of a generated kernel: which GEMMs are fused and where every value lives.

The P pre-activations of a cell are ordered into columns: those that read the input first
(``x_cols``: their weight gradients and the input gradient are one GEMM each after the loop), those
that read the main state's previous value next to each other (``h_cols``: one recurrent GEMM per
step, forward and backward), gates with the same activation side by side, so one ufunc call
activates them all (``blocks``), and within an activation, gates whose δ is a multiple of the same
pivot side by side, so one call writes their δ. A step's columns are one contiguous block of
``gates`` (T, P, B, H), each column a (B, H) block of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from derive.cells.functions import NAMES as ACTIVATION_ORDER
from derive.derivation import factored
from derive.derivation.bptt import Derivation, Preact, Term, all_symbols


@dataclass(frozen=True)
class Column:
    """One pre-activation: H consecutive columns of ``gates``."""

    index: int
    preact: Preact
    x_term: Term | None  # fused into the input GEMM before the loop
    h_term: Term | None  # fused into the recurrent GEMM of every step
    secondary: tuple[Term, ...]  # one GEMM each, at their place within the step
    block: str  # activation applied in place with its neighbours ("" for none)


@dataclass(frozen=True)
class Block:
    func: str
    start: int
    stop: int


@dataclass(frozen=True)
class Layout:
    columns: tuple[Column, ...]
    x_cols: tuple[int, int]
    h_cols: tuple[int, int]
    primary: str  # the state whose previous value feeds the fused recurrent GEMM ("" if none)
    blocks: tuple[Block, ...]
    cached: frozenset[str]  # non-gate values the backward pass reads, stored for every step
    gates: tuple[tuple[str, int], ...]  # gate node -> column holding its value (activated in place)

    def column(self, preact: sympy.Symbol) -> Column:
        return next(c for c in self.columns if c.preact.symbol == preact)

    @property
    def width(self) -> int:
        return len(self.columns)

    def gate_column(self, node: str) -> Column | None:
        """The column holding a gate node's value, if the node is a gate."""
        index = dict(self.gates).get(node)
        return None if index is None else self.columns[index]

    def holding(self, s: sympy.Symbol, kind: str) -> Column | None:
        """The column of ``gates`` that holds a value of the given kind: a pre-activation, or a node that
        is a gate; None for every other value."""
        if kind == "preact":
            return self.column(s)
        return self.gate_column(s.name) if kind == "node" else None


def plan(d: Derivation) -> Layout:
    """Choose columns, fused GEMMs, activation blocks and the cache for a derived cell."""
    primary = _primary_state(d)
    prev = d.sym(primary + "_prev") if primary else None
    backward_reads = all_symbols((*d.backward, *d.carries, *d.vector_grads))
    columns = []
    for p in d.preacts:
        x_term = next((t for t in p.terms if t.source == d.x), None)
        h_term = next((t for t in p.terms if t.source == prev), None)
        secondary = tuple(t for t in p.terms if t not in (x_term, h_term))
        node = d.node(p.node)
        blockable = node.gate and not secondary and d.adjoint(p.symbol) not in backward_reads
        columns.append((p, x_term, h_term, secondary, node.gate if blockable else ""))

    pivot = _pivot_ranks(d)

    def key(item):
        p, x_term, h_term, _, block = item
        group = {(True, False): 0, (True, True): 1, (False, True): 2, (False, False): 3}
        order = ACTIVATION_ORDER.index(block) if block else len(ACTIVATION_ORDER)
        return group[x_term is not None, h_term is not None], order, pivot[p.symbol]

    ordered = [Column(i, *item) for i, item in enumerate(sorted(columns, key=key))]
    n_x = sum(c.x_term is not None for c in ordered)
    n_a = sum(c.x_term is not None and c.h_term is None for c in ordered)
    n_h = sum(c.h_term is not None for c in ordered)
    gates = tuple((c.preact.node, c.index) for c in ordered if d.node(c.preact.node).gate)
    return Layout(tuple(ordered), (0, n_x), (n_a, n_a + n_h), primary, _blocks(ordered),
                  _cached(d, ordered, backward_reads), gates)


def _pivot_ranks(d: Derivation) -> dict[sympy.Symbol, int]:
    """For each pre-activation, the rank of the one pivot its δ is a multiple of (see
    :mod:`derive.derivation.factored`), so that gates whose δ share a pivot sit side by side and one call
    writes them; a δ with several pivots ranks last."""
    f = factored.factor(d)
    pivots = [c.target for c in f.steps if c.target in f.pivots]
    ranks = {}
    for c in f.steps:
        if c.target not in f.pivots:
            single = len(c.terms) == 1 and c.terms[0][0] in pivots
            ranks[d.vars[c.target].of.name] = pivots.index(c.terms[0][0]) if single else len(pivots)
    return {p.symbol: ranks.get(p.symbol.name, len(pivots)) for p in d.preacts}


def _primary_state(d: Derivation) -> str:
    counts = {s: sum(t.source == d.sym(s + "_prev") for p in d.preacts for t in p.terms)
              for s in d.cell.states}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ""


def _blocks(columns: list[Column]) -> tuple[Block, ...]:
    blocks: list[Block] = []
    for c in columns:
        if not c.block:
            continue
        last = blocks[-1] if blocks else None
        if last and last.func == c.block and last.stop == c.index:
            blocks[-1] = Block(c.block, last.start, c.index + 1)
        else:
            blocks.append(Block(c.block, c.index, c.index + 1))
    return tuple(blocks)


def _cached(d: Derivation, columns: list[Column], backward_reads: set) -> frozenset[str]:
    """Nodes and function values the backward pass needs that do not live in ``gates``."""
    gates = {c.preact.node for c in columns if d.node(c.preact.node).gate}
    names = {s.name for s in backward_reads if d.vars[s].kind in ("node", "aux")}
    names |= {t.source.name for c in columns for t in c.secondary if d.vars[t.source].kind == "node"}
    return frozenset(names - gates)


# --- index text ----------------------------------------------------------------------------------


def rows(lo: int, hi: int, width: int) -> str:
    """Index text for the slabs [lo, hi): ``:``, ``:3``, ``1:``, ``1:3``."""
    return f"{lo or ''}:{'' if hi == width else hi}"


def columns(lo: int, hi: int, width: int | None = None) -> str:
    """Slice text for the column blocks [lo, hi) of H each in a (·, P·H) row: ``H:3 * H``, ``2 * H:``;
    empty when they are all ``width`` columns."""
    if (lo, hi) == (0, width):
        return ""
    return f"{times_h(lo) if lo else ''}:{'' if hi == width else times_h(hi)}"


def times_h(k: int) -> str:
    return "H" if k == 1 else f"{k} * H"
