"""The backward pass of a kernel, printed from the pivot form of its derivation (:mod:`derive.derivation.factored`).

Before the recursion, every factor of forward values that multiplies a pivot is computed for all steps
at once, in ``(T, B, H)`` arrays (``d_c_dh``: the factor of δh in δc). Each step then adds the loss
gradient to the carries, forms the other pivots with one product per term, writes the δ of the
pre-activations straight into the rows of ``d_pre_seq`` (neighbouring columns with the same pivot in one
call), and hands the carries to step t − 1. The weight gradients are GEMMs over ``d_pre_seq`` after the
loop (:class:`~derive.emit.kernel.KernelBuilder`).
"""

from __future__ import annotations

import sympy

from derive.derivation import factored
from derive.derivation.bptt import Derivation, Linear
from derive.derivation.factored import Combination

from .elementwise import Lowering, Temps, call
from .layout import Layout, columns, times_h
from .program import Alloc, Bind, Block, Comment, Expression, Gemm, Statement, Update, copy, reads
from .unicode import UnicodePrinter


def when_rows_change(views: list[Statement]) -> Block:
    """The views of a step's buffers, rebuilt only when the number of rows still running changes."""
    return Block("if live != viewed", (Bind(("viewed",), ("live",)), *views),
                 "first step, or the number of running rows changed")


def prev_sequence(state: str) -> Bind:
    """``h_prev_seq``: the value of a state each step starts from, for all steps."""
    return Bind((f"{state}_prev_seq",), (f"np.concatenate([{state}0[None], {state}_seq[:-1]])",),
                "the state each step starts from")


class BackwardBuilder:
    """The statements of ``backward`` between the checks and the weight gradients."""

    def __init__(self, d: Derivation, layout: Layout):
        self.d, self.L, self.P, self.cell = d, layout, layout.width, d.cell
        self.math = UnicodePrinter(d)
        self.f = factored.factor(d)
        self.temps, self.whole = Temps(), Temps("tmp_all")
        self.lowering = Lowering(self.whole_name, self.whole)
        self.before: list[Statement] = []  # the factors, all steps at once
        self.allocs: list[Statement] = []
        self.names: set[str] = set()
        self.prev_states: list[str] = []  # states whose value at t − 1 is read for all steps
        self.pending: list[Combination] = []  # δ of pre-activations not yet written into d_rows

    # --- names -----------------------------------------------------------------------------

    def pivot(self, s: sympy.Symbol) -> str:
        """Where a step keeps a pivot: the loss gradient's row, a carry or a buffer."""
        var = self.d.vars[s]
        return f"d{var.of.name}_seq[t, :live]" if var.kind == "loss" else s.name

    def base(self, s: sympy.Symbol) -> str:
        """``c`` for δc, ``a_o`` for δa_o, ``h_prev`` for δh_prev: the name inside factor names."""
        var = self.d.vars[s]
        return var.of.name if var.kind in ("adjoint", "loss") else s.name

    def whole_name(self, s: sympy.Symbol) -> str:
        """A forward value over all steps, (T, B, H), or a parameter vector; a pre-activation's δ as
        its (T, B, H) view of d_pre_seq."""
        var = self.d.vars[s]
        if var.kind == "param":
            return s.name
        if var.kind == "adjoint" and var.of.kind == "preact":
            return f"d_pre4[:, :, {self.L.column(self.d.sym(var.of.name)).index}]"
        if var.kind == "prev":
            if var.of.name not in self.prev_states:
                self.prev_states.append(var.of.name)
            return f"{var.of.name}_prev_seq"
        column = self.L.holding(s, var.kind)
        return f"gates[:, {column.index}]" if column else f"{s.name}_seq"

    def step_views(self, used: set[str]) -> list[Statement]:
        """Bindings of the forward values the step reads: slabs of ``gates``, stored and previous values."""
        body: list[Statement] = []
        for s, var in self.d.vars.items():
            if s.name not in used or var.kind not in ("node", "preact", "aux", "prev") or var.step:
                continue
            column = self.L.holding(s, var.kind)
            if var.kind == "prev":
                state = var.of.name
                value = f"{state}_seq[t - 1, :live] if t else {state}0[:live]"
            else:
                value = f"gates[t, {column.index}, :live]" if column else f"{s.name}_seq[t, :live]"
            body.append(Bind((s.name,), (value,)))
        return body

    def factor_text(self, factor: sympy.Expr, name: str, what: str) -> str | None:
        """A step's text for a factor: None for 1, a literal, a forward value, or the row of a new
        (T, B, H) array ``name`` computed before the loop."""
        if factor == 1:
            return None
        if factor.is_Number:
            return self.lowering.leaf(factor)
        if factor.is_Symbol:
            return factor.name  # bound by the step's views
        name = self.unique(name)
        self.allocs.append(Alloc(name, ("T", "B", "H")))
        self.before += [Comment(f"{name} = {self.math.doprint(factor)}: {what}"), *self.lowering.assign(factor, name)]
        return f"{name}[t, :live]"

    def unique(self, name: str) -> str:
        k, found = 1, name
        while found in self.names:
            k += 1
            found = f"{name}{k}"
        self.names.add(found)
        return found

    def formula(self, c: Combination) -> str:
        return f"{self.math.doprint(c.target)} = {self.math.sum(c.expr, c.linear)}"

    def preact_rows(self, preact: sympy.Symbol) -> str:
        """A pre-activation's δ in the step's rows of d_pre_seq."""
        index = self.L.column(preact).index
        cols = columns(index, index + 1, self.P)
        return f"d_rows[:, {cols}]" if cols else "d_rows"

    # --- combinations ----------------------------------------------------------------------

    def combine(self, c: Combination, out: str, into: bool = False) -> list[Statement]:
        """``out = Σ factor ⊙ pivot`` (``out +=`` with into), one product per term."""
        terms = [(self.pivot(p), self.factor_text(k, f"d_{self.base(c.target)}_d{self.base(p)}",
                                                  f"the factor of {self.math.doprint(p)} in "
                                                  f"{self.math.doprint(c.target)}"))
                 for p, k in c.terms]
        terms.sort(key=lambda t: t[1] is None)  # products first: the first writes out
        body: list[Statement] = []
        if not into and terms:
            (p, k), terms = terms[0], terms[1:]
            if k is not None:
                body.append(call("multiply", p, k, out))
            elif terms:
                (q, _), terms = terms[0], terms[1:]
                body.append(call("add", p, q, out))
            else:
                body.append(copy(out, p))
        for p, k in terms:
            if k is None:
                body.append(call("add", out, p, out))
            else:
                tmp = self.temps.take()
                body += [call("multiply", p, k, tmp), call("add", out, tmp, out)]
                self.temps.give(tmp)
        return body

    def with_products(self, c: Combination, out: str, skip: tuple[Linear, ...] = ()) -> list[Statement]:
        """``out = Σ factor ⊙ pivot + Σ weightᵀ δa`` (row-major: ``δa @ weight``)."""
        linear = [lin for lin in c.linear if lin not in skip]
        written = bool(skip)  # the fused recurrent product wrote out already
        body: list[Statement] = []
        if c.terms or written:
            body += self.combine(c, out, into=written)
        elif linear:
            body.append(Gemm(self.preact_rows(linear[0].preact), linear[0].weight, out))
            linear = linear[1:]
        else:
            body.append(Expression(f"{out}.fill(0)"))
        for lin in linear:
            tmp = self.temps.take()
            body += [Gemm(self.preact_rows(lin.preact), lin.weight, tmp), call("add", out, tmp, out)]
            self.temps.give(tmp)
        return body

    # --- the δ of the pre-activations --------------------------------------------------------

    def flush(self) -> list[Statement]:
        """Write every pending δ of a pre-activation into its columns of the step's rows."""
        pending = sorted(self.pending, key=self._index)
        self.pending = []
        body: list[Statement] = []
        while pending:
            run = [pending.pop(0)]
            while (pending and len(run[0].terms) == 1 and len(pending[0].terms) == 1
                   and pending[0].terms[0][0] == run[0].terms[0][0]
                   and self._index(pending[0]) == self._index(run[-1]) + 1):
                run.append(pending.pop(0))
            body += self._write(run)
        return body

    def _index(self, c: Combination) -> int:
        return self.L.column(self.d.sym(self.d.vars[c.target].of.name)).index

    def _write(self, run: list[Combination]) -> list[Statement]:
        comments = [Comment(self.formula(c)) for c in run]
        lo, hi = self._index(run[0]), self._index(run[-1]) + 1
        if len(run) == 1:
            c = run[0]
            return [*comments, *self.combine(c, self.preact_rows(self.d.sym(self.d.vars[c.target].of.name)))]
        pivot = run[0].terms[0][0]
        nodes = " ".join(self.L.columns[k].preact.node for k in range(lo, hi))
        name = self.unique(f"d_pre_d{self.base(pivot)}")
        self.allocs.append(Alloc(name, ("T", "B", str(hi - lo), "H")))
        self.before.append(Comment(f"{name}: the factors of {self.math.doprint(pivot)} in the δ of {nodes}"))
        for j, c in enumerate(run):
            self.before += self.lowering.assign(c.terms[0][1], f"{name}[:, :, {j}]")
        cols = "" if (lo, hi) == (0, self.P) else f"[:, {lo}:{hi}]"
        return [*comments, call("multiply", f"{self.pivot(pivot)}[:, None]", f"{name}[t, :live]",
                                f"d_rows.reshape(live, {self.P}, H){cols}")]

    # --- the step ----------------------------------------------------------------------------

    def step(self) -> list[Statement]:
        """The statements of one step after its views; fills the factors computed before the loop."""
        body: list[Statement] = []
        for c in self.f.steps:
            if c.target not in self.f.pivots:
                self.pending.append(c)
                continue
            if c.linear:
                body += self.flush()
            body += [Comment(self.formula(c)), *self.with_products(c, c.target.name)]
        body += self.flush()
        for c in self.f.vector_grads:
            if not self._after_loop(c):
                tmp = self.temps.take()
                body += [Comment(f"{self.formula(c)}, summed over the batch"), *self.combine(c, tmp),
                         Update(c.target.name, f"{tmp}.sum(axis=0)")]
                self.temps.give(tmp)
        for c in self.f.carries:
            body += self._carry(c)
        return body

    def _carry(self, c: Combination) -> list[Statement]:
        state = self.d.vars[c.target].of.of.name
        target = f"d_{state}_next"
        comment = Comment(f"{self.formula(c)}, handed to step t − 1")
        if state != self.L.primary:
            return [comment, *self.with_products(c, target)]
        cols = columns(*self.L.h_cols, self.P)
        fused = tuple(lin for lin in c.linear if any(col.h_term and (col.h_term.weight, col.preact.symbol)
                                                     == (lin.weight, lin.preact) for col in self.L.columns))
        body: list[Statement] = [comment, Gemm(f"d_rows[:, {cols}]" if cols else "d_rows", "U_all", target)]
        return body + self.with_products(c, target, skip=fused)

    def _after_loop(self, c: Combination) -> bool:
        """A vector's gradient reads only pre-activations' δ and forward values: summed after the loop."""
        original = next(a for a in self.d.vector_grads if a.target == c.target)
        adjoints = {s for s in original.expr.free_symbols if self.d.vars[s].kind in factored.ADJOINT_KINDS}
        return all(self.d.vars[s].kind == "adjoint" and self.d.vars[s].of.kind == "preact" for s in adjoints)

    def vector_sums(self) -> list[Statement]:
        """Gradients of parameter vectors summed over all steps and rows at once, after the loop."""
        body: list[Statement] = []
        for a in self.d.vector_grads:
            combination = next(c for c in self.f.vector_grads if c.target == a.target)
            if not self._after_loop(combination):
                continue
            tmp = self.whole.take()
            body += [Comment(f"{self.math.doprint(a.target)} = Σ_t Σ_rows {self.math.doprint(a.expr)}"),
                     *self.lowering.assign(a.expr, tmp), Bind((a.target.name,), (f"{tmp}.sum(axis=(0, 1))",))]
            self.whole.give(tmp)
        if body:
            body.insert(0, Bind(("d_pre4",), (f"d_pre_seq.reshape(T, B, {self.P}, H)",)))
        return body

    def working_memory(self) -> int:
        """How many (T, B, H) arrays the pass allocates before its loop (factors, the states each step
        starts from, scratch, the δ of the pre-activations), after :meth:`loop` has built it."""
        factors = sum(int(a.dims[2]) if len(a.dims) == 4 else 1 for a in self.allocs)
        return factors + len(self.prev_states) + len(self.whole.names()) + self.P

    def loop(self) -> list[Statement]:
        """Everything from the factors to the end of the loop, and the vectors' gradients after it."""
        step = self.step()
        after = self.vector_sums()
        pivots = [c.target.name for c in self.f.steps if c.target in self.f.pivots]
        rows_of = [*pivots, *self.temps.names()]
        carries = tuple(f"d_{s}_next" for s in self.cell.states)
        used = reads(step)
        rows = [*([Bind(tuple(rows_of), tuple(f"{b}_buf[:live]" for b in rows_of))] if rows_of else []),
                Bind(carries, tuple(f"d_{s}_carry[:live]" for s in self.cell.states))]
        views = [when_rows_change(rows), Bind(("d_rows",), ("d_pre_seq[t, :live]",)), *self.step_views(used)]
        prevs = [prev_sequence(s) for s in self.prev_states]
        wholes = [Alloc(n, ("T", "B", "H")) for n in self.whole.names()]
        factors = [Comment("factors of forward values, all steps at once: the recursion multiplies by them"),
                   *prevs, *wholes, *self.allocs, *self.before] if self.before else [*prevs, *wholes]
        vectors = [Bind((c.target.name,), ("np.zeros(H, x.dtype)",)) for c in self.f.vector_grads
                   if not self._after_loop(c)]
        return [*factors,
                Comment(f"δ of the pre-activations, written by each step into its rows of d_pre_seq (T, B, "
                        f"{times_h(self.P)}) for the recurrent product and the weight gradients after the loop"),
                Alloc("d_pre_seq", ("T", "B", times_h(self.P)), zeros=True),
                *(Alloc(f"{n}_buf", ("B", "H")) for n in rows_of),
                *vectors,
                Bind(("viewed",), ("None",), "how many rows the views of the buffers cover"),
                Block("for t in reversed(range(T))", (
                    Bind(("live",), ("batch.active[t]",), "rows still running"), *views, *step)),
                *after]

