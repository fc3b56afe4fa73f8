"""The NumPy kernel of a derived cell, built as a :mod:`~derive.emit.program` and printed last.

Layout (see :mod:`derive.emit.layout`): ``gates`` has one contiguous ``(T, B, H)`` slab per
pre-activation, so every gate of a step is a contiguous ``(B, H)`` block and neighbouring gates with
the same activation are one ufunc call. The input projections of all steps are one GEMM per gate
before the loop, the recurrent projections one fused GEMM per step, the weight gradients one GEMM
each after the loop. Elementwise work runs in preallocated buffers (:mod:`derive.emit.elementwise`).
Every statement of the backward pass follows a comment with the derived formula it computes.
"""

from __future__ import annotations

import sympy

from derive.cells import functions
from derive.cells.spec import PREV_SUFFIX
from derive.derivation.bptt import Assign, Contribution, Derivation, Linear

from .elementwise import Lowering, Temps, activate
from .layout import Column, Layout, plan
from .program import (
    Alloc,
    Bind,
    Block,
    Call,
    Comment,
    Dict,
    Expression,
    Function,
    Gemm,
    List,
    Module,
    PythonPrinter,
    Return,
    Statement,
    Tuple,
    Update,
    quoted,
    reads,
)
from .unicode import UnicodePrinter

REGENERATE = "gated-rnn generate"
CHECKS = "from derive.runtime import check_backward, check_forward"


def rows(lo: int, hi: int, width: int) -> str:
    """Index text for the slabs [lo, hi): ``:``, ``:3``, ``1:``, ``1:3``."""
    return f"{lo or ''}:{'' if hi == width else hi}"


def columns(lo: int, hi: int, width: int | None = None) -> str:
    """Slice text for the column blocks [lo, hi) of H each in a (·, P·H) row: ``H:3 * H``, ``2 * H:``;
    empty when they are all ``width`` columns."""
    if (lo, hi) == (0, width):
        return ""
    return f"{_times_h(lo) if lo else ''}:{'' if hi == width else _times_h(hi)}"


def _times_h(k: int) -> str:
    return "H" if k == 1 else f"{k} * H"


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
        self.n_h = self.L.h_cols[1] - self.L.h_cols[0]
        self.overflows = any(entry.overflows for eq in d.nodes for f in eq.full.atoms(sympy.Function)
                             if (entry := functions.of(f)))
        self.math = UnicodePrinter(d)

    # --- names -----------------------------------------------------------------------------

    def slab_name(self, column: Column) -> str:
        """A column's value in a step: the gate node it holds, or its pre-activation."""
        node = column.preact.node
        return node if self.d.node(node).gate else column.preact.symbol.name

    def adjoint_name(self, s: sympy.Symbol) -> str:
        """Where the backward pass keeps a value or adjoint; a gate shares its pre-activation's slot."""
        var = self.d.vars.get(s)
        if var is None:  # a local name such as the block variable
            return s.name
        if var.kind == "loss":
            return f"d{var.of.name}_seq[t, :live]"
        if var.kind == "adjoint" and var.of.kind == "preact" and self.L.gate_column(var.of.of.name):
            return "d_" + var.of.of.name
        return s.name

    def preact_adjoint(self, preact: sympy.Symbol) -> str:
        return self.adjoint_name(self.d.adjoint(preact))

    def formula(self, a: Assign) -> str:
        """The derived formula an adjoint statement computes, for its comment."""
        return f"{self.math.doprint(a.target)} = {self.math.sum(a.expr, a.linear)}"

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
        temps = Temps()
        step = self._forward_step(Lowering(lambda s: s.name, temps), temps)
        check = Call("check_forward", ("CELL", "PARAM_SHAPES", "params", "x",
                                       Dict(tuple((quoted(s), s) for s in states0)), "lengths", "check_finite"))
        body: list[Statement] = [
            Bind(("x", f"({_tuple(states0)})", "H", "batch"), (check,)),
            Bind(("T", "B", "D"), ("x.shape",)),
            *self._input_projection(),
            *(Alloc(f"{n}_seq", ("T", "B", "H"), zeros=True) for n in self.seqs),
            *(Alloc(f"{n}_buf", ("B", "H")) for n in [*self.buffers, *temps.names()]),
        ]
        if self.n_h:
            body.append(Alloc("rec", ("B", _times_h(self.n_h))))
        body.append(Bind(tuple(s + PREV_SUFFIX for s in cell.states), tuple(states0)))
        loop: Statement = Block("for t, live in enumerate(batch.active)", tuple(step), "live: rows still running")
        if self.overflows:
            loop = Block('with np.errstate(over="ignore")', (loop,), "e^{-a} = inf inside σ gives exactly 0")
        body += [loop, *self._gate_sequences()]
        cache = ["x", "H", "batch", "gates", *states0, *(n + "_seq" for n in self.seqs)] + ["U_all"] * bool(self.n_h)
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

    def _input_projection(self) -> list[Statement]:
        L, P = self.L, self.P
        x_columns = [c for c in L.columns if c.x_term]
        names = " ".join(self.slab_name(c) for c in L.columns)
        body: list[Statement] = [Bind(("x2",), ("x.reshape(T * B, D)",))]
        if self.n_h:
            weights = ", ".join(param(c.h_term.weight) for c in L.columns if c.h_term)
            order = " ".join(c.preact.node for c in L.columns if c.h_term)
            body.append(Bind(("U_all",), (f"np.concatenate([{weights}])",), f"rows: {order}"))
        body += self._weights_read()
        body += [Comment(f"pre-activations, one (T, B, H) slab each: {names}; the input projections of all steps"),
                 Bind(("gates",), (f"np.{'empty' if len(x_columns) == P else 'zeros'}(({P}, T, B, H), x.dtype)",))]
        body += [Gemm("x2", f"{param(c.x_term.weight)}.T", f"gates[{c.index}].reshape(T * B, H)") for c in x_columns]
        if any(c.preact.biases for c in L.columns):
            parts = [" + ".join(param(b) for b in c.preact.biases) or "np.zeros(H, x.dtype)" for c in L.columns]
            body += [Bind(("bias",), (Call("np.stack", (List(tuple(parts)),)),), "one row per slab"),
                     Update("gates", "bias[:, None, None]")]
        return body

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
        return [Bind((f"{n}_seq",), (f"gates[{self.L.gate_column(n).index}]",))
                for n in dict.fromkeys((*self.cell.states, self.cell.output)) if self.L.gate_column(n)]

    def _forward_step(self, lowering: Lowering, temps: Temps) -> list[Statement]:
        d, L = self.d, self.L
        prevs = tuple(s + PREV_SUFFIX for s in self.cell.states)
        body: list[Statement] = []
        if self.n_h:
            target = "pre" if L.h_cols == (0, self.P) else f"pre[{rows(*L.h_cols, self.P)}]"
            body += [Gemm(f"{L.primary}{PREV_SUFFIX}", "U_all.T", "rec[:live]"),
                     Update(target, f"rec[:live].reshape(live, {self.n_h}, H).transpose(1, 0, 2)")]
        for block in L.blocks:
            names = ", ".join(c.preact.node for c in L.columns[block.start:block.stop])
            body.append(Bind(("blk",), (f"pre[{rows(block.start, block.stop, self.P)}]",),
                             f"{names} = {block.func}(·)"))
            body += activate(block.func, "blk", "blk")
        computed: set[sympy.Symbol] = set()
        for node in self.cell.nodes:
            column = L.gate_column(node.name)
            if column is None or not column.block:
                body.append(Comment(f"{node.name} = {node.text}"))
                body += self._node_forward(lowering, temps, d.node(node.name), column, computed)
        body.append(Bind(prevs, tuple(self.cell.states)))
        output = self.L.gate_column(self.cell.output)
        if output is not None:  # a gate slab is the output: rows that have finished read zero
            body.append(Bind((f"gates[{output.index}, t, live:]",), ("0",)))
        used = reads(body)
        slabs = [self.slab_name(c) for c in L.columns]
        views = [*([Bind(("pre",), ("gates[:, t, :live]",))] if "pre" in used or used & set(slabs) else []),
                 *self.unpack(slabs, "pre", used),
                 Bind(prevs, tuple(p + "[:live]" for p in prevs))]
        if temps.count:
            views.append(Bind(tuple(temps.names()), tuple(f"{t}_buf[:live]" for t in temps.names())))
        return views + body

    def _home(self, name: str) -> Bind:
        """``name = name_seq[t]`` for stored values, ``name = name_buf`` for scratch."""
        return Bind((name,), (f"{name}_seq[t, :live]" if name in self.seqs else f"{name}_buf[:live]",))

    def _node_forward(self, lowering: Lowering, temps: Temps, eq, column: Column | None,
                      computed: set) -> list[Statement]:
        name = eq.symbol.name
        body: list[Statement] = []
        for p in eq.preacts:  # complete the pre-activations first: function values below read them
            target = self.slab_name(self.L.column(p.symbol))
            for term in self.L.column(p.symbol).secondary:
                source = "x[t, :live]" if term.source == self.d.x else term.source.name
                body += add_product(temps, source, f"{term.weight}.T", target)
        for aux in sorted(eq.expr.free_symbols & set(self.d.aux) - computed, key=str):
            computed.add(aux)
            body += [self._home(aux.name), *lowering.assign(self.d.aux[aux], aux.name)]
        if column is not None:  # a gate whose pre-activation needed a GEMM inside the step
            return body + activate(eq.gate, name, name)
        return body + [self._home(name), *lowering.assign(eq.expr, name)]

    # --- backward --------------------------------------------------------------------------

    def backward(self) -> Function:
        cell, out = self.cell, self.cell.output
        finals = [f"d{s}_T" for s in cell.states]
        carries = [f"d_{s}_carry" for s in cell.states]
        temps, block_temps = Temps(), Temps("tmp_block")
        lowering = Lowering(self.adjoint_name, temps)
        step = self._backward_step(lowering, block_temps)
        adjoint_buffers = [a.target.name for a in self.d.backward if self.d.vars[a.target].of.kind == "node"
                           and self.L.gate_column(self.d.vars[a.target].of.name) is None]
        stored = ["x", "H", "batch", "gates", *(s + "0" for s in cell.states), *(n + "_seq" for n in self.seqs)]
        stored += ["U_all"] * bool(self.n_h)
        widest = max((b.stop - b.start for b in self.L.blocks), default=1)
        check = Call("check_backward", ("CELL", "cache", Dict(((quoted(f"d{out}_seq"), f"d{out}_seq"),)),
                                        Dict(tuple((quoted(f), f) for f in finals)), "params", "PARAM_SHAPES",
                                        Tuple(tuple(map(quoted, stored)))))
        body: list[Statement] = [
            Bind(("T", "B", "D"), ("x.shape",)),
            *self._gate_sequences(),
            *self._weights_read(),
            Comment(f"δ of the pre-activations: computed per step in d_pre ({self.P}, B, H), stored as rows of"),
            Comment("d_pre_seq (T, B, P·H) for the recurrent product and the weight gradients after the loop"),
            *([Alloc("d_pre_buf", (str(self.P), "B", "H"))] if self.P > 1 else []),
            Alloc("d_pre_seq", ("T", "B", _times_h(self.P)), zeros=True),
            *(Alloc(f"{n}_buf", ("B", "H")) for n in [*adjoint_buffers, *temps.names()]),
            *(Alloc(f"{n}_buf", (str(widest), "B", "H")) for n in block_temps.names()),
            *(Bind((a.target.name,), ("np.zeros(H, x.dtype)",)) for a in self.d.vector_grads),
            Block("for t in reversed(range(T))", (
                Bind(("live",), ("batch.active[t]",), "rows still running"),
                *self._backward_views(adjoint_buffers, temps, reads(step)),
                *step)),
            *self._parameter_gradients(),
        ]
        used = reads(body)
        stored = [k for k in stored if k in used]
        body = [Bind((f"(d{out}_seq,)", f"({_tuple(carries)})"), (check,)),
                Bind(tuple(stored), tuple(f"cache[{quoted(k)}]" for k in stored)), *body]
        doc = (f"Gradients of L = Σ {out}_seq ⊙ d{out}_seq + Σ_s s_T ⊙ ds_T over the states s = "
               f"{', '.join(cell.states)}.\n\n"
               f"Returns a dict with the keys of params and x, {', '.join(s + '0' for s in cell.states)}.")
        return Function("backward", ("params", "cache", f"d{out}_seq", *(f + "=None" for f in finals)), doc,
                        tuple(body))

    def _backward_step(self, lowering: Lowering, block_temps: Temps) -> list[Statement]:
        d, L = self.d, self.L
        body: list[Statement] = []
        for a in d.backward:
            body += self._adjoint(lowering, a)
        for block in L.blocks:
            body += self._block_derivative(lowering, block, block_temps)
        for a in d.vector_grads:
            tmp = lowering.temps.take()
            body += [Comment(f"{self.formula(a)}, summed over the batch"), *lowering.assign(a.expr, tmp),
                     Update(a.target.name, f"{tmp}.sum(axis=0)")]
            lowering.temps.give(tmp)
        if self.P > 1:  # gate-major δ into the (B, P·H) rows the GEMMs read
            body += [Comment("δ of the pre-activations into the rows of d_pre_seq"),
                     Expression(Call("np.copyto", (f"d_rows.reshape(live, {self.P}, H)", "d_pre.transpose(1, 0, 2)")))]
        for a in d.carries:
            body += self._carry(lowering, a)
        used = reads(body)
        values = sorted({s for a in (*d.backward, *d.carries, *d.vector_grads) for s in a.expr.free_symbols
                         if s.name in used}, key=str)
        prevs = [Bind((s.name,), (f"{d.vars[s].of.name}_seq[t - 1, :live] if t else {d.vars[s].of.name}0[:live]",))
                 for s in values if d.vars[s].kind == "prev"]
        stored = [Bind((s.name,), (f"{s.name}_seq[t, :live]",)) for s in values if s.name in self.seqs]
        return [*prevs, *self.unpack([self.slab_name(c) for c in L.columns], "pre", used), *stored, *body]

    def _backward_views(self, buffers: list[str], temps: Temps, used: set[str]) -> list[Statement]:
        """The step's views: pre-activations, their δ, and the first n rows of every buffer."""
        rows_of = [*buffers, *temps.names()]
        carries = tuple(f"d_{s}_next" for s in self.cell.states)
        adjoints = [self.preact_adjoint(c.preact.symbol) for c in self.L.columns]
        slabs = {self.slab_name(c) for c in self.L.columns}
        views = [Bind(("pre", "d_rows"), ("gates[:, t, :live]", "d_pre_seq[t, :live]"))
                 if "pre" in used or used & slabs else Bind(("d_rows",), ("d_pre_seq[t, :live]",)),
                 Bind(("d_pre",), ("d_rows[None]" if self.P == 1 else "d_pre_buf[:, :live]",)),
                 *self.unpack(adjoints, "d_pre", used),
                 *([Bind(tuple(rows_of), tuple(f"{b}_buf[:live]" for b in rows_of))] if rows_of else []),
                 Bind(carries, tuple(f"d_{s}_carry[:live]" for s in self.cell.states))]
        return views

    def _adjoint(self, lowering: Lowering, a: Assign) -> list[Statement]:
        var = self.d.vars[a.target]
        target = self.adjoint_name(a.target)
        if var.of.kind == "preact" and self.L.gate_column(var.of.of.name):
            if self.L.gate_column(var.of.of.name).block:
                return []  # applied block by block after the sweep
            local = self.d.local[self.d.sym(var.of.of.name), self.d.sym(var.of.name)]
            return [Comment(f"{self.math.doprint(a.target)} = δ{var.of.of.name} ⊙ {self.math.doprint(local)}"),
                    *lowering.update("multiply", local, target)]
        return self._linear_assign(lowering, a.expr, a.linear, target, self.formula(a))

    def _linear_assign(self, lowering: Lowering, expr: sympy.Expr, linear: tuple[Linear, ...],
                       target: str, comment: str) -> list[Statement]:
        body: list[Statement] = [Comment(comment)]
        if expr != 0:
            body += lowering.assign(expr, target)
        elif linear:
            body.append(Gemm(self.preact_adjoint(linear[0].preact), linear[0].weight, target))
            linear = linear[1:]
        else:
            body.append(Expression(f"{target}.fill(0)"))
        return body + self._add_products(lowering, linear, target)

    def _add_products(self, lowering: Lowering, linear: tuple[Linear, ...], target: str) -> list[Statement]:
        """``target += weightᵀ δa`` for each term (row-major: ``δa @ weight``)."""
        return [s for lin in linear
                for s in add_product(lowering.temps, self.preact_adjoint(lin.preact), lin.weight, target)]

    def _block_derivative(self, lowering: Lowering, block, block_temps: Temps) -> list[Statement]:
        column = self.L.columns[block.start]
        node = self.d.sym(column.preact.node)
        derivative = self.d.local[node, column.preact.symbol].xreplace({node: sympy.Symbol("blk")})
        tmp = block_temps.take()
        block_temps.give(tmp)
        slabs = rows(block.start, block.stop, self.P)
        formulas = [self.formula(a) for c in self.L.columns[block.start:block.stop]
                    for a in self.d.backward if a.target == self.d.adjoint(c.preact.symbol)]
        return [*map(Comment, formulas),
                Bind(("blk", "d_blk", "tmp_blk"), (f"pre[{slabs}]", f"d_pre[{slabs}]",
                                                   f"{tmp}_buf[:{block.stop - block.start}, :live]")),
                *lowering.assign(derivative, "tmp_blk"), Update("d_blk", "tmp_blk", "*=")]

    def _carry(self, lowering: Lowering, a: Assign) -> list[Statement]:
        state = self.d.vars[a.target].of.of.name
        target = f"d_{state}_next"
        comment = f"{self.formula(a)}, handed to step t − 1"
        if state != self.L.primary:
            return self._linear_assign(lowering, a.expr, a.linear, target, comment)
        cols = columns(*self.L.h_cols, self.P)
        body: list[Statement] = [Comment(comment), Gemm(f"d_rows[:, {cols}]" if cols else "d_rows", "U_all", target)]
        if a.expr != 0:
            body += lowering.update("add", a.expr, target)
        fused = {(c.h_term.weight, c.preact.symbol) for c in self.L.columns if c.h_term}  # done by U_all
        rest = tuple(lin for lin in a.linear if (lin.weight, lin.preact) not in fused)
        return body + self._add_products(lowering, rest, target)

    # --- after the loop --------------------------------------------------------------------

    def _parameter_gradients(self) -> list[Statement]:
        L, P = self.L, self.P
        body: list[Statement] = [
            Comment("sums over time and batch, one GEMM per group of weights that share a source:"),
            Comment("∂L/∂W = Σ_t δa_t vᵀ_t for the source v of W, ∂L/∂b = Σ_t δa_t, ∂L/∂x_t = Σ_W Wᵀ δa_t"),
            Bind(("d_all",), (f"d_pre_seq.reshape(T * B, {_times_h(P)})",))]
        named: set[str] = set()  # source matrices already named in the statements
        code: dict[tuple, str] = {}  # (kind, preact, source) -> the code of its summed contribution
        x_columns = [c for c in L.columns if c.x_term]
        if x_columns:
            n_x = len(x_columns)
            x_cols = columns(0, n_x, P)
            weights = ", ".join(param(c.x_term.weight) for c in x_columns)
            body += [*self._gemm_sources(self.d.x, named),
                     Bind(("d_W_all",), (self._gemm(x_cols, self.d.x),)),
                     Bind(("d_x",), (f"d_all{f'[:, {x_cols}]' if x_cols else ''} @ "
                                     + (weights if n_x == 1 else f"np.concatenate([{weights}])"),))]
            for c in x_columns:
                code["weight", c.preact.symbol, self.d.x] = f"d_W_all[{columns(c.index, c.index + 1)}]"
        else:
            body.append(Bind(("d_x",), ("np.zeros((T * B, D), x.dtype)",)))
        if self.n_h:
            prev = self.d.sym(L.primary + PREV_SUFFIX)
            body.append(Bind(("d_U_all",), (self._gemm(columns(*L.h_cols, P), prev),)))
            for c in L.columns:
                if c.h_term:
                    k = c.index - L.h_cols[0]
                    code["weight", c.preact.symbol, prev] = f"d_U_all[{columns(k, k + 1)}]"
        for c in L.columns:
            for term in c.secondary:
                own = columns(c.index, c.index + 1)
                body += self._gemm_sources(term.source, named)
                code["weight", c.preact.symbol, term.source] = self._gemm(own, term.source)
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

    def _gemm(self, cols: str, source: sympy.Symbol) -> str:
        """Σ_t δa_tᵀ v_t for the columns ``cols`` of d_all and the source v (x, a previous state, a node)."""
        var = self.d.vars[source]
        d_cols = "d_all" + (f"[:, {cols}]" if cols else "")
        if var.kind == "input":
            return f"{d_cols}.T @ x2"
        if var.kind == "prev":  # the first step reads the initial state, the others the stored states
            s = var.of.name
            head, tail = (f"d_all[:B, {cols}]", f"d_all[B:, {cols}]") if cols else ("d_all[:B]", "d_all[B:]")
            return f"{head}.T @ {s}0 + {tail}.T @ {s}_seq[:-1].reshape((T - 1) * B, H)"
        gate = self.L.gate_column(source.name)  # a gate's values live in its slab of gates
        values = f"gates[{gate.index}]" if gate else f"{source.name}_seq"
        return f"{d_cols}.T @ {values}.reshape(T * B, H)"


def _tuple(names: list[str]) -> str:
    return ", ".join(names) + ("," if len(names) == 1 else "")
