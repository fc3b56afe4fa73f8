"""The NumPy kernel of a derived cell, built as a :mod:`~derive.emit.program` and printed last.

Layout (see :mod:`derive.emit.layout`): ``gates`` is step-major, ``(T, P, B, H)``: the P
pre-activations of a step are one contiguous block, every gate a contiguous ``(B, H)`` block in it, and
neighbouring gates with the same activation are one ufunc call. The input projections of all steps are
one GEMM before the loop, the recurrent projections one fused GEMM per step (with a contiguous Uᵀ whose
sigmoid rows are negated once; the first step skips it for a zero initial state), the weight gradients
one GEMM each after the loop. A state stored for the backward pass is kept with its initial value,
``(T + 1, B, H)``, so that what every step started from is a view. The loops run over the steps' blocks
of the arrays they read (``batch.steps``: whole steps, or the rows still running when sequences have
lengths). Elementwise work runs in preallocated buffers (:mod:`derive.emit.elementwise`); the backward
pass is printed from the pivot form of the derivation (:mod:`derive.emit.backward`). Every statement of
the backward pass follows a comment with the derived formula it computes.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from derive.cells import functions
from derive.cells.spec import PREV_SUFFIX
from derive.derivation.bptt import Contribution, Derivation

from .backward import BackwardBuilder, prev_values, when_rows_change
from .elementwise import Lowering, Temps, activate
from .layout import Column, Layout, columns, plan, rows, times_h
from .program import (
    Alloc,
    Bind,
    Block,
    Call,
    Comment,
    Dict,
    Expression,
    For,
    Function,
    Gemm,
    List,
    Module,
    PythonPrinter,
    Return,
    Statement,
    Tuple,
    Ufunc,
    Update,
    quoted,
    reads,
)
from .unicode import UnicodePrinter

REGENERATE = "gated-rnn generate"
CHECKS = "from derive.runtime import check_backward, check_forward"


def add_product(temps: Temps, a: str, b: str, target: str) -> list[Statement]:
    """``target += a @ b`` through a scratch buffer (NumPy's matmul cannot accumulate)."""
    tmp = temps.take()
    temps.give(tmp)
    return [Gemm(a, b, tmp), Update(target, tmp)]


def param(name: str) -> str:
    """``params["W_i"]``."""
    return f"params[{quoted(name)}]"


def shapes_constant(shapes: dict[str, tuple[str, ...]]) -> Dict:
    """PARAM_SHAPES as a dict of tuples of dimension names."""
    return Dict(tuple((quoted(k), Tuple(tuple(map(quoted, v)))) for k, v in shapes.items()))


def module_constants(cell) -> tuple[tuple[str, object], ...]:
    """CELL, STATES and PARAM_SHAPES of a generated module."""
    return (("CELL", quoted(cell.name)), ("STATES", Tuple(tuple(map(quoted, cell.states)))),
            ("PARAM_SHAPES", shapes_constant(cell.param_shapes)))


@dataclass(frozen=True)
class Footprint:
    """Numbers per step and row (multiply by T · B and the item size): the forward cache holds
    ``cache_h`` · H + D (the gates, the stored values, x's own copy); the backward pass allocates
    ``backward_h`` · H more before its loop. Both grow linearly in T and B; the weights add a constant,
    and so do the ``carried`` states stored with their initial value (one more (B, H) row each)."""

    cache_h: int
    backward_h: int
    carried: int = 0


class KernelBuilder:
    """Builds the kernel module of one derived cell: ``forward`` and ``backward`` through time."""

    def __init__(self, d: Derivation, source: str):
        self.d, self.cell, self.source = d, d.cell, source
        self.L: Layout = plan(d)
        self.P = self.L.width
        gates = {n for n, _ in self.L.gates}
        wanted = [*self.cell.states, self.cell.output, *sorted(self.L.cached)]
        self.seqs = [n for n in dict.fromkeys(wanted) if n not in gates]
        values = [n.symbol.name for n in d.nodes] + [a.name for a in d.aux]
        self.buffers = [n for n in values if n not in gates and n not in self.seqs]
        # states stored with their initial value, (T + 1, B, H): row t holds what step t starts from
        self.carried = [s for s in self.cell.states if s in self.seqs]
        self.n_h = self.L.h_cols[1] - self.L.h_cols[0]
        self.overflows = any(entry.overflows for eq in d.nodes for f in eq.full.atoms(sympy.Function)
                             if (entry := functions.of(f)))
        self.math = UnicodePrinter(d)
        # activation blocks whose argument the forward pass negates once, in the weights' products
        self.folded = [b for b in self.L.blocks if functions.TABLE[b.func].negated]

    # --- names -----------------------------------------------------------------------------

    def slab_name(self, column: Column) -> str:
        """A column's value in a step: the gate node it holds, or its pre-activation."""
        node = column.preact.node
        return node if self.d.node(node).gate else column.preact.symbol.name

    def unpack(self, names: list[str], source: str, wanted: set[str]) -> list[Statement]:
        """``a, b = pre`` when every slab is wanted, else one indexed view per wanted slab."""
        if len(names) == 1:
            return [Bind((names[0],), (f"{source}[0]",))] if names[0] in wanted else []
        if all(n in wanted for n in names):
            return [Bind(tuple(names), (source,))]
        picked = [(k, n) for k, n in enumerate(names) if n in wanted]
        if not picked:
            return []
        return [Bind(tuple(n for _, n in picked), tuple(f"{source}[{k}]" for k, _ in picked))]

    # --- module ----------------------------------------------------------------------------

    def module(self) -> Module:
        equations = "\n".join(f"    {n.name} = {n.text}" for n in self.cell.nodes)
        doc = (f"{self.cell.title}: forward and backward through time.\n\n"
               f"Generated from {self.source} by `{REGENERATE}`; do not edit.\n\n"
               f"Per time step, every product elementwise:\n\n{equations}\n\n"
               "Shapes: x (T, B, D), time-major; states (B, H); params as in PARAM_SHAPES.")
        return Module(doc, ("import numpy as np", "", CHECKS), module_constants(self.cell),
                      (self.forward(), self.backward()))

    def text(self) -> str:
        """The module as Python source."""
        return PythonPrinter().doprint(self.module())

    # --- forward ---------------------------------------------------------------------------

    def forward(self) -> Function:
        cell, out = self.cell, self.cell.output
        states0 = [s + "0" for s in cell.states]
        check = Call("check_forward", ("CELL", "PARAM_SHAPES", "params", "x",
                                       Dict(tuple((quoted(s), s) for s in states0)), "lengths", "check_finite"))
        body: list[Statement] = [
            Bind(("x", f"({_tuple(states0)})", "H", "batch"), (check,)),
            Bind(("T", "B", "D"), ("x.shape",)),
            *self._input_projection(),
            *self._sequences(),
            *([Alloc("rec", ("B", times_h(self.n_h)))] if self.n_h else []),
            *self._forward_loop(),
            *self._gate_sequences(),
        ]
        output = self.L.gate_column(out)
        if output is not None:  # a gate slab is the output: rows that have finished read zero
            body.append(Expression(Call("batch.clear", (f"gates[:, {output.index}]",))))
        cache = ["x", "H", "batch", "gates", *self._stored()] + ["U_all"] * bool(self.n_h)
        entries = [(quoted("cell"), "CELL"), *((quoted(k), k) for k in cache)]
        entries += [(quoted(f"{s}_T"), f"batch.unsort(batch.final({s}_seq, {s}0), 0)") for s in cell.states]
        body += [Bind(("cache",), (Dict(tuple(entries)),)), Return(f"batch.output({out}_seq, 1), cache")]
        doc = (f"Run the cell over x; return {out}_seq (T, B, H) and the cache for backward.\n\n"
               "Initial states default to zeros. With lengths (one per sequence) the outputs after a\n"
               "sequence's end are zero and its state stays at its last step, and what the padding holds\n"
               "reaches no output and no gradient. check_finite=True rejects NaN and Inf in the inputs.\n\n"
               f"{out}_seq is a new array and the cache keeps its own copies of x and the initial states:\n"
               "changing any of them afterwards leaves what backward returns unchanged.")
        params = ("params", "x", *(s + "=None" for s in states0), "lengths=None", "check_finite=False")
        return Function("forward", params, doc, tuple(body))

    def _stored(self) -> list[str]:
        """The cache's names for the initial states and the values stored for every step."""
        return [*(s + "0" for s in self.cell.states if s not in self.carried),
                *(n + ("_all" if n in self.carried else "_seq") for n in self.seqs)]

    def _sequences(self) -> list[Statement]:
        """The arrays of the values stored for every step."""
        body: list[Statement] = []
        for n in self.seqs:
            if n in self.carried:
                body += [Alloc(f"{n}_all", ("T + 1", "B", "H"), maker="batch.empty"),
                         Bind((f"{n}_all[0]",), (f"{n}0",)),
                         Bind((f"{n}_seq",), (f"{n}_all[1:]",), "the state after each step")]
            else:
                body.append(Alloc(f"{n}_seq", ("T", "B", "H"), maker="batch.empty"))
        return body

    def _forward_loop(self) -> list[Statement]:
        """The time loop and the buffers it works in."""
        temps = Temps()
        step, blocks = self._forward_step(Lowering(lambda s: s.name, temps), temps)
        body: list[Statement] = [Alloc(f"{n}_buf", ("B", "H")) for n in [*self.buffers, *temps.names()]]
        if self.n_h > 1:
            body.append(Bind(("rec_t",), (f"rec.reshape(B, {self.n_h}, H).transpose(1, 0, 2)",),
                             "the same product, (pre-activation, row, unit) like gates[t]"))
        body += [Bind(tuple(s + PREV_SUFFIX for s in self.cell.states), tuple(s + "0" for s in self.cell.states)),
                 Bind(("viewed",), ("None",), "how many rows the views of the buffers cover")]
        if self.n_h:
            body.append(Bind(("recurrent",), (f"bool({self.L.primary}0.any())",),
                             "False: the first step skips the product with a zero initial state"))
        loop: Statement = For(("live", *blocks), Call("batch.steps", tuple(blocks.values())), tuple(step),
                              "live: rows still running")
        if self.overflows:
            loop = Block('with np.errstate(over="ignore")', (loop,), "e^{-a} = inf inside σ gives exactly 0")
        return [*body, loop]

    def _input_projection(self) -> list[Statement]:
        L, P = self.L, self.P
        names = " ".join(self.slab_name(c) for c in L.columns)
        body: list[Statement] = [Bind(("x2",), ("x.reshape(T * B, D)",))]
        if self.n_h:
            weights = ", ".join(param(c.h_term.weight) for c in L.columns if c.h_term)
            order = " ".join(c.preact.node for c in L.columns if c.h_term)
            stacked = f"np.concatenate([{weights}])" if self.n_h > 1 else weights
            body += [Bind(("U_all",), (stacked,), f"rows: {order}"),
                     Bind(("U_allT",), ("U_all.T.copy()",), "contiguous: the step's product reads it row by row")]
            recurrent = [c.preact.node for c in L.columns if c.h_term]
            for lo, hi in self._folded_rec():
                cols = columns(lo, hi, self.n_h)
                body.append(Update(f"U_allT[:, {cols}]" if cols else "U_allT", "-1", "*=",
                                   f"{' '.join(recurrent[lo:hi])}: −a"))
        body += self._weights_read()
        x_columns = [c for c in L.columns if c.x_term]
        n_x = len(x_columns)
        biased = any(c.preact.biases for c in L.columns)
        body += [Comment(f"pre-activations: step t's are gates[t], one (B, H) block each: {names}"),
                 Bind(("gates",), (f"np.{'empty' if n_x == P or biased else 'zeros'}((T, {P}, B, H), x.dtype)",))]
        folded = [(b.start, b.stop, b.func) for b in self.folded]
        if biased:
            parts = [" + ".join(param(b) for b in c.preact.biases) or "np.zeros(H, x.dtype)" for c in L.columns]
            body.append(Bind(("bias",), (Call("np.array", (List(tuple(parts)),)),), "one row per pre-activation"))
            body += [self._negate(f"bias[{rows(lo, hi, P)}]", lo, hi, func) for lo, hi, func in folded]
        if x_columns:
            weights = [param(c.x_term.weight) for c in x_columns]
            stacked = f"np.concatenate([{', '.join(weights)}])"
            in_x = [(lo, min(hi, n_x), func) for lo, hi, func in folded if lo < n_x]
            if n_x == 1 and in_x:
                stacked = f"-{weights[0]}"
            elif n_x == 1:
                stacked = weights[0]
            body.append(Bind(("W_all",), (stacked,), "rows: " + " ".join(c.preact.node for c in x_columns)))
            if n_x > 1:
                body += [self._negate(f"W_all[{columns(lo, hi, n_x)}]", lo, hi, func) for lo, hi, func in in_x]
            view = f"(x2 @ W_all.T).reshape(T, B, {n_x}, H).transpose(0, 2, 1, 3)"
            target = "gates" if n_x == P else f"gates[:, {rows(0, n_x, P)}]"
            note = "the input projections of all steps, one GEMM, into step-major order"
            if P == 1:  # one pre-activation: step-major is the GEMM's own order
                body += [Comment("the input projections of all steps, one GEMM straight into gates"),
                         Gemm("x2", "W_all.T", "gates.reshape(T * B, H)"), *([Update("gates", "bias")] * biased)]
            elif biased:
                body.append(Ufunc("add", (view, f"bias[{rows(0, n_x, P)}, None]" if n_x < P else "bias[:, None]"),
                                  target))
                body[-1:] = [Comment(note), body[-1]]
            else:
                body.append(Bind((target + ("[:]" if n_x == P else ""),), (view,), note))
        if biased and n_x < P:
            body.append(Bind((f"gates[:, {rows(n_x, P, P)}]",), (f"bias[{rows(n_x, P, P)}, None]",),
                             "the pre-activations without an input term start at their bias"))
        return body

    def _negate(self, target: str, lo: int, hi: int, func: str) -> Statement:
        names = " ".join(c.preact.node for c in self.L.columns[lo:hi])
        return Update(target, "-1", "*=", f"{names}: −a, so that {func} needs no negation per step")

    def _folded_rec(self) -> list[tuple[int, int]]:
        """The column blocks of the recurrent product (in units of H) whose sign is folded."""
        lo, hi = self.L.h_cols
        spans = [(max(b.start, lo) - lo, min(b.stop, hi) - lo) for b in self.folded]
        return [(a, b) for a, b in spans if a < b]

    def _weights_read(self) -> list[Statement]:
        """Names for the weights multiplied inside the step and the parameter vectors the step reads."""
        weights = dict.fromkeys(t.weight for c in self.L.columns for t in c.secondary)
        return [Bind((w,), (param(w),)) for w in [*weights, *self._vector_params_read()]]

    def _vector_params_read(self) -> list[str]:
        exprs = [n.expr for n in self.d.nodes] + [a.expr for a in (*self.d.backward, *self.d.carries,
                                                                    *self.d.vector_grads)]
        used = {s.name for e in exprs for s in e.free_symbols}
        return [v for v in self.cell.vectors if v in used]

    def _gate_sequences(self) -> list[Statement]:
        """States or the output that are gates live in ``gates``: name their slabs."""
        return [Bind((f"{n}_seq",), (f"gates[:, {self.L.gate_column(n).index}]",))
                for n in dict.fromkeys((*self.cell.states, self.cell.output)) if self.L.gate_column(n)]

    def _forward_step(self, lowering: Lowering, temps: Temps) -> tuple[list[Statement], dict[str, str]]:
        """The statements of a step, and the arrays of every step it reads a block of, by the block's name."""
        d, L = self.d, self.L
        prevs = tuple(s + PREV_SUFFIX for s in self.cell.states)
        body: list[Statement] = []
        blocks: dict[str, str] = {}
        if self.n_h:  # the recurrent product, added to the slabs of the pre-activations that read it
            added = (Update(self.slab_name(L.columns[L.h_cols[0]]), "rec_live") if self.n_h == 1 else
                     Update("pre" if L.h_cols == (0, self.P) else f"pre[{rows(*L.h_cols, self.P)}]", "rec_live_t"))
            body.append(Block("if recurrent", (Gemm(f"{L.primary}{PREV_SUFFIX}", "U_allT", "rec_live"), added)))
        for block in L.blocks:
            names = ", ".join(c.preact.node for c in L.columns[block.start:block.stop])
            folded = block in self.folded
            note = f"{names} = {block.func}(·)" + (" from −a" if folded else "")
            if block.stop - block.start == 1:
                slab = self.slab_name(L.columns[block.start])
                body += [Comment(note), *activate(block.func, slab, slab, negated=folded)]
                continue
            whole = (block.start, block.stop) == (0, self.P)
            body.append(Bind(("blk",), ("pre" if whole else f"pre[{rows(block.start, block.stop, self.P)}]",), note))
            body += activate(block.func, "blk", "blk", negated=folded)
        computed: set[sympy.Symbol] = set()
        for node in self.cell.nodes:
            column = L.gate_column(node.name)
            if column is None or not column.block:
                body.append(Comment(f"{node.name} = {node.text}"))
                body += self._node_forward(lowering, temps, d.node(node.name), column, computed, blocks)
        body.append(Bind(prevs, tuple(self.cell.states)))
        if self.n_h:
            body.append(Bind(("recurrent",), ("True",)))
        used = reads(body)
        slabs = [self.slab_name(c) for c in L.columns]
        views: list[Statement] = []
        if "pre" in used:
            blocks = {"pre": "gates", **blocks}
            views = self.unpack(slabs, "pre", used)
        else:  # the loop hands each slab it reads as a block of its own
            blocks = {**{n: f"gates[:, {k}]" for k, n in enumerate(slabs) if n in used}, **blocks}
        running = [Bind(prevs, tuple(p + "[:live]" for p in prevs))]
        if self.n_h:
            running.append(Bind(("rec_live", "rec_live_t"), ("rec[:live]", "rec_t[:, :live]")) if self.n_h > 1
                           else Bind(("rec_live",), ("rec[:live]",)))
        if temps.count:
            running.append(Bind(tuple(temps.names()), tuple(f"{t}_buf[:live]" for t in temps.names())))
        return [when_rows_change(running), *views, *body], blocks

    def _home(self, name: str, blocks: dict[str, str]) -> list[Statement]:
        """A stored value is the step's block of ``name_seq`` (the loop binds it), scratch is ``name_buf``."""
        if name in self.seqs:
            blocks[name] = f"{name}_seq"
            return []
        return [Bind((name,), (f"{name}_buf[:live]",))]

    def _node_forward(self, lowering: Lowering, temps: Temps, eq, column: Column | None,
                      computed: set, blocks: dict[str, str]) -> list[Statement]:
        name = eq.symbol.name
        body: list[Statement] = []
        for p in eq.preacts:  # complete the pre-activations first: function values below read them
            target = self.slab_name(self.L.column(p.symbol))
            for term in self.L.column(p.symbol).secondary:
                source = term.source.name
                if term.source == self.d.x:
                    source, blocks["x_t"] = "x_t", "x"
                body += add_product(temps, source, f"{term.weight}.T", target)
        for aux in sorted(eq.expr.free_symbols & set(self.d.aux) - computed, key=str):
            computed.add(aux)
            body += [*self._home(aux.name, blocks), *lowering.assign(self.d.aux[aux], aux.name)]
        if column is not None:  # a gate whose pre-activation needed a GEMM inside the step
            return body + activate(eq.gate, name, name)
        return body + [*self._home(name, blocks), *lowering.assign(eq.expr, name)]

    # --- backward --------------------------------------------------------------------------

    def backward(self) -> Function:
        cell, out = self.cell, self.cell.output
        finals = [f"d{s}_T" for s in cell.states]
        carries = [f"d_{s}_carry" for s in cell.states]
        stored = ["x", "H", "batch", "gates", *self._stored()] + ["U_all"] * bool(self.n_h)
        check = Call("check_backward", ("CELL", "cache", Dict(((quoted(f"d{out}_seq"), f"d{out}_seq"),)),
                                        Dict(tuple((quoted(f), f) for f in finals)), "params", "PARAM_SHAPES",
                                        Tuple(tuple(map(quoted, stored)))))
        loop, concatenated = self._backward_loop()
        body: list[Statement] = [*self._weights_read(), *loop, *self._parameter_gradients(concatenated)]
        used = reads(body)
        views = [Bind((name,), (f"{s}_all[{part}]",)) for s in self.carried
                 for name, part in ((f"{s}_seq", "1:"), (f"{s}0", "0")) if name in used]
        views += [b for b in self._gate_sequences() if b.targets[0] in used]
        used |= reads(views)
        stored = [k for k in stored if k in used]
        body = [Bind((f"(d{out}_seq,)", f"({_tuple(carries)})"), (check,)),
                Bind(tuple(stored), tuple(f"cache[{quoted(k)}]" for k in stored)),
                Bind(("T", "B", "D"), ("x.shape",)), *views, *body]
        doc = (f"Gradients of L = Σ {out}_seq ⊙ d{out}_seq + Σ_s s_T ⊙ ds_T over the states s = "
               f"{', '.join(cell.states)}.\n\n"
               f"Returns a dict with the keys of params and x, {', '.join(s + '0' for s in cell.states)}.")
        return Function("backward", ("params", "cache", f"d{out}_seq", *(f + "=None" for f in finals)), doc,
                        tuple(body))

    def _backward_loop(self) -> tuple[list[Statement], set[str]]:
        """The statements up to the end of the time loop, and the states whose previous values they
        concatenated for all steps."""
        b = self._backward_builder()
        return b.loop(), set(b.prev_states)

    def _backward_builder(self) -> BackwardBuilder:
        return BackwardBuilder(self.d, self.L, self.carried)

    def footprint(self) -> Footprint:
        """What the kernel stores per step and row, in numbers: the cache, and what backward adds."""
        b = self._backward_builder()
        b.loop()
        return Footprint(self.P + len(self.seqs), b.working_memory(), len(self.carried))

    # --- after the loop --------------------------------------------------------------------

    def _parameter_gradients(self, concatenated: set[str]) -> list[Statement]:
        """The weight and bias gradients as GEMMs after the loop; ``concatenated`` are the states whose
        previous values the backward pass holds for all steps as ``{state}_prev_seq``."""
        L, P = self.L, self.P
        body: list[Statement] = [
            Comment("sums over time and batch, one GEMM per group of weights that share a source:"),
            Comment("∂L/∂W = Σ_t δa_t vᵀ_t for the source v of W, ∂L/∂b = Σ_t δa_t, ∂L/∂x_t = Σ_W Wᵀ δa_t"),
            Bind(("d_all",), (f"d_pre_seq.reshape(T * B, {times_h(P)})",))]
        named: set[str] = set()  # source matrices already named in the statements
        code: dict[tuple, str] = {}  # (kind, preact, source) -> the code of its summed contribution
        x_columns = [c for c in L.columns if c.x_term]
        if x_columns:
            n_x = len(x_columns)
            x_cols = columns(0, n_x, P)
            weights = ", ".join(param(c.x_term.weight) for c in x_columns)
            body += [*self._gemm_sources(self.d.x, named),
                     Bind(("d_W_all",), (self._gemm(x_cols, self.d.x, concatenated),)),
                     Bind(("d_x",), (f"d_all{f'[:, {x_cols}]' if x_cols else ''} @ "
                                     + (weights if n_x == 1 else f"np.concatenate([{weights}])"),))]
            for c in x_columns:
                code["weight", c.preact.symbol, self.d.x] = f"d_W_all[{columns(c.index, c.index + 1)}]"
        else:
            body.append(Bind(("d_x",), ("np.zeros((T * B, D), x.dtype)",)))
        if self.n_h:
            prev = self.d.sym(L.primary + PREV_SUFFIX)
            body += self._recurrent_gradient(columns(*L.h_cols, P), L.primary)
            for c in L.columns:
                if c.h_term:
                    k = c.index - L.h_cols[0]
                    code["weight", c.preact.symbol, prev] = f"d_U_all[{columns(k, k + 1)}]"
        for c in L.columns:
            for term in c.secondary:
                own = columns(c.index, c.index + 1)
                body += self._gemm_sources(term.source, named)
                code["weight", c.preact.symbol, term.source] = self._gemm(own, term.source, concatenated)
                if term.source == self.d.x:
                    body.append(Update("d_x", f"d_all[:, {own}] @ {param(term.weight)}"))
        if any(c.preact.biases for c in L.columns):
            body.append(Bind(("d_bias",), ("np.ones(T * B, x.dtype) @ d_all",), "column sums, as one GEMV"))
            for c in L.columns:
                code["bias", c.preact.symbol, None] = f"d_bias[{columns(c.index, c.index + 1)}]"
        entries, seen = [], set()
        for name, terms in self.d.parameter_gradients().items():
            parts = [self._summed(code, t) for t in sorted(terms, key=self._fused_first)]
            text = " + ".join(parts) or f"np.zeros_like({param(name)})"  # cancelled out of every equation
            entries.append((quoted(name), text + (".copy()" if text in seen else "")))
            seen.add(text)
        entries.append((quoted("x"), "batch.unsort(d_x.reshape(T, B, D), 1)"))
        entries += [(quoted(f"{s}0"), f"batch.unsort(d_{s}_carry, 0)") for s in self.cell.states]
        return body + [Return(Dict(tuple(entries)))]

    def _fused_first(self, c: Contribution) -> int:
        """The order of a parameter's terms in its sum: input GEMM, recurrent GEMM, other GEMMs,
        biases, elementwise vectors."""
        if c.kind == "weight":
            column = self.L.column(c.preact)
            return 0 if column.x_term and column.x_term.source == c.source else \
                1 if column.h_term and column.h_term.source == c.source else 2
        return 3 if c.kind == "bias" else 4

    @staticmethod
    def _summed(code: dict, c: Contribution) -> str:
        if c.kind == "vector":
            return c.total.target.name
        return code[c.kind, c.preact, c.source]

    def _gemm_sources(self, source: sympy.Symbol, named: set[str]) -> list[Statement]:
        """``x2 = x.reshape(T * B, D)`` the first time the input is a GEMM's source."""
        if self.d.vars[source].kind != "input" or "x2" in named:
            return []
        named.add("x2")
        return [Bind(("x2",), ("x.reshape(T * B, D)",))]

    def _from_previous(self, cols: str, state: str) -> tuple[str, str]:
        """Σ_t δa_tᵀ s_{t−1} for the columns ``cols`` of d_all, in two terms: steps 1… start from the state
        after the step before (in gates or ``{state}_seq``), step 0 from the initial state."""
        selected = f", {cols}" if cols else ""
        gate = self.L.gate_column(state)
        before = f"gates[:-1, {gate.index}]" if gate else f"{state}_seq[:-1]"
        return (f"d_all[B:{selected}].T @ {before}.reshape((T - 1) * B, H)",
                f"d_all[:B{selected}].T @ {state}0")

    def _recurrent_gradient(self, cols: str, state: str) -> list[Statement]:
        """``d_U_all``, the initial state's term left out when that state is zero."""
        later, first = self._from_previous(cols, state)
        return [Bind(("d_U_all",), (later,), f"steps 1… start from the {state} of the step before"),
                Block(f"if {state}0.any()", (Update("d_U_all", first),),
                      f"step 0 starts from {state}0: zeros unless given")]

    def _gemm(self, cols: str, source: sympy.Symbol, concatenated: set[str]) -> str:
        """Σ_t δa_tᵀ v_t for the columns ``cols`` of d_all and the source v (x, a previous state, a node)."""
        var = self.d.vars[source]
        d_cols = "d_all" + (f"[:, {cols}]" if cols else "")
        if var.kind == "input":
            return f"{d_cols}.T @ x2"
        state = var.of.name if var.kind == "prev" else ""
        if state in self.carried or state in concatenated:  # the states each step started from
            return f"{d_cols}.T @ {prev_values(state, self.carried)}.reshape(T * B, H)"
        if state:  # a state held in gates
            return " + ".join(self._from_previous(cols, state))
        gate = self.L.holding(source, var.kind)  # a gate's values live in its column of gates
        values = f"gates[:, {gate.index}]" if gate else f"{source.name}_seq"
        return f"{d_cols}.T @ {values}.reshape(T * B, H)"


def _tuple(names: list[str]) -> str:
    return ", ".join(names) + ("," if len(names) == 1 else "")
