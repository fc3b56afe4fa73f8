"""The backward pass of a kernel, printed from the pivot form of its derivation (:mod:`derive.derivation.factored`).

Before the recursion, every factor of forward values that multiplies a pivot is computed for all steps
at once (``d_c_dh_seq``: the factor of δh in δc). A pre-activation whose δ is one pivot times a factor
gets that factor in its own columns of ``d_pre_seq``, which the step then multiplies in place by the
pivot (neighbouring columns with the same pivot in one call); other factors get (T, B, H) arrays. Each
step adds the loss gradient to the carries, forms the other pivots with one product per term, writes
the δ of every pre-activation into its columns of the step's rows, and hands the carries to step t − 1.
The loop runs over the steps' blocks of every array it reads (``batch.steps``), last step first. The
weight gradients are GEMMs over ``d_pre_seq`` after the loop (:class:`~derive.emit.kernel.KernelBuilder`).
"""

from __future__ import annotations

import sympy

from derive.derivation import factored
from derive.derivation.bptt import Derivation, Linear
from derive.derivation.factored import Combination

from .elementwise import Lowering, Temps, call
from .layout import Layout, columns, rows, times_h
from .program import (
    Alloc,
    Bind,
    Block,
    Call,
    Comment,
    Expression,
    For,
    Gemm,
    Statement,
    Update,
    copy,
    reads,
)
from .unicode import UnicodePrinter


def when_rows_change(views: list[Statement]) -> Block:
    """The views of a step's buffers, rebuilt only when the number of rows still running changes."""
    return Block("if live != viewed", (Bind(("viewed",), ("live",)), *views),
                 "first step, or the number of running rows changed")


def prev_sequence(state: str) -> Bind:
    """``h_prev_seq``: the value of a state each step starts from, for all steps."""
    return Bind((f"{state}_prev_seq",), (f"np.concatenate([{state}0[None], {state}_seq[:-1]])",),
                "the state each step starts from")


def prev_values(state: str, carried: list[str]) -> str:
    """The (T, B, H) array of what each step starts from: a view of ``{state}_all`` for a carried state,
    else the concatenation :func:`prev_sequence` names."""
    return f"{state}_all[:-1]" if state in carried else f"{state}_prev_seq"


class BackwardBuilder:
    """The statements of ``backward`` between the checks and the weight gradients; ``carried`` are the
    states whose values the forward pass stored with their initial value, (T + 1, B, H)."""

    def __init__(self, d: Derivation, layout: Layout, carried: list[str]):
        self.d, self.L, self.P, self.cell, self.carried = d, layout, layout.width, d.cell, carried
        self.math = UnicodePrinter(d)
        self.f = factored.factor(d)
        self.temps, self.whole = Temps(), Temps("tmp_all")
        self.lowering = Lowering(self.whole_name, self.whole)
        self.before: list[Statement] = []  # the factors, all steps at once
        self.allocs: list[Statement] = []
        self.names: set[str] = set()
        self.prev_states: list[str] = []  # states whose values at t − 1 are concatenated for all steps
        self.pending: list[Combination] = []  # δ of pre-activations not yet written into d_rows
        self.blocks: dict[str, str] = {"d_rows": "d_pre_seq"}  # a step's block -> the array of all steps

    # --- names -----------------------------------------------------------------------------

    def pivot(self, s: sympy.Symbol) -> str:
        """Where a step keeps a pivot: its block of the loss gradient, a carry or a buffer."""
        var = self.d.vars[s]
        if var.kind != "loss":
            return s.name
        self.blocks[f"dl_d{var.of.name}"] = f"d{var.of.name}_seq"
        return f"dl_d{var.of.name}"

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
            return self.column(self.L.column(self.d.sym(var.of.name)).index)
        if var.kind == "prev":
            state = var.of.name
            if state not in self.carried and state not in self.prev_states:
                self.prev_states.append(state)
            return prev_values(state, self.carried)
        column = self.L.holding(s, var.kind)
        return f"gates[:, {column.index}]" if column else f"{s.name}_seq"

    def step_views(self, used: set[str]) -> None:
        """The forward values the step reads (slabs of ``gates``, stored and previous values) as blocks the
        loop hands it."""
        for s, var in self.d.vars.items():
            if s.name in used and var.kind in ("node", "preact", "aux", "prev") and not var.step:
                self.blocks[s.name] = self.whole_name(s)

    def column(self, index: int) -> str:
        """A pre-activation's δ for all steps: its (T, B, H) column of d_pre_seq."""
        return "d_pre_seq" if self.P == 1 else f"d_pre_all[:, {index}]"

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
        self.allocs.append(Alloc(f"{name}_seq", ("T", "B", "H")))
        self.before += [Comment(f"{name} = {self.math.doprint(factor)}: {what}"),
                        *self.lowering.assign(factor, f"{name}_seq")]
        self.blocks[name] = f"{name}_seq"
        return name

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
        """A pre-activation's δ in the step: its (B, H) block of d_pre."""
        return self.pre_blocks(self.L.column(preact).index, self.L.column(preact).index + 1)

    def pre_blocks(self, lo: int, hi: int) -> str:
        """The δ of the pre-activations [lo, hi) in the step: ``d_pre[lo:hi]`` of its (P, B, H) blocks."""
        if self.P == 1:
            return "d_rows"
        self.blocks["d_pre"] = "d_pre_all"
        if (lo, hi) == (0, self.P):
            return "d_pre"
        return f"d_pre[{lo}]" if hi == lo + 1 else f"d_pre[{rows(lo, hi, self.P)}]"

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
        c, pivot = run[0], run[0].terms[0][0] if run[0].terms else None
        if len(run) == 1 and not (len(c.terms) == 1 and _compound(c.terms[0][1])):
            return [*comments, *self.combine(c, self.preact_rows(self.d.sym(self.d.vars[c.target].of.name)))]
        deltas = ", ".join(self.math.doprint(c.target) for c in run)
        pivot_text = self.math.doprint(pivot)
        self.before.append(Comment(
            f"the factor of {pivot_text} in {deltas}, in its column of d_pre_seq: the step multiplies it by "
            f"{pivot_text} in place" if len(run) == 1 else
            f"the factors of {pivot_text} in {deltas}, in their columns of d_pre_seq: the step multiplies "
            f"them by {pivot_text} in place"))
        for j, c in enumerate(run):
            self.before += self.lowering.assign(c.terms[0][1], self.column(lo + j))
        blocks = self.pre_blocks(lo, hi)
        return [*comments, call("multiply", blocks, self.pivot(pivot), blocks)]

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
        return body

    def working_memory(self) -> int:
        """How many (T, B, H) arrays the pass allocates before its loop (factors, the states each step
        starts from, scratch, the δ of the pre-activations), after :meth:`loop` has built it."""
        return len(self.allocs) + len(self.prev_states) + len(self.whole.names()) + self.P

    def loop(self) -> list[Statement]:
        """Everything from the factors to the end of the loop, and the vectors' gradients after it."""
        step = self.step()
        after = self.vector_sums()
        pivots = [c.target.name for c in self.f.steps if c.target in self.f.pivots]
        rows_of = [*pivots, *self.temps.names()]
        carries = tuple(f"d_{s}_next" for s in self.cell.states)
        self.step_views(reads(step))
        running = [*([Bind(tuple(rows_of), tuple(f"{b}_buf[:live]" for b in rows_of))] if rows_of else []),
                Bind(carries, tuple(f"d_{s}_carry[:live]" for s in self.cell.states))]
        prevs = [prev_sequence(s) for s in self.prev_states]
        wholes = [Alloc(n, ("T", "B", "H")) for n in self.whole.names()]
        factors = [Comment("factors of forward values, all steps at once: the recursion multiplies by them"),
                   *prevs, *wholes, *self.allocs, *self.before] if self.before else [*prevs, *wholes]
        vectors = [Bind((c.target.name,), ("np.zeros(H, x.dtype)",)) for c in self.f.vector_grads
                   if not self._after_loop(c)]
        unwritten = any(not c.terms for c in self.f.steps if c.target not in self.f.pivots)
        steps = Call("batch.steps", tuple(self.blocks.values()), (("reverse", "True"),))
        columns = [Bind(("d_pre_all",), (f"d_pre_seq.reshape(T, B, {self.P}, H).transpose(0, 2, 1, 3)",),
                        f"(T, {self.P}, B, H) like gates: each pre-activation's δ a (B, H) block of its step")]
        if "d_pre_all" not in reads([*factors, *after]) and "d_pre" not in self.blocks:
            columns = []
        return [Comment(f"δ of the pre-activations, written by each step into its rows of d_pre_seq (T, B, "
                        f"{times_h(self.P)}) for the recurrent product and the weight gradients after the loop"),
                Alloc("d_pre_seq", ("T", "B", times_h(self.P)), maker="np.zeros" if unwritten else "np.empty"),
                *columns,
                *factors,
                *(Alloc(f"{n}_buf", ("B", "H")) for n in rows_of),
                *vectors,
                Bind(("viewed",), ("None",), "how many rows the views of the buffers cover"),
                For(("live", *self.blocks), steps, (when_rows_change(running), *step), "last step first"),
                Comment("rows of sequences that have ended hold no δ: zero them for the sums below"),
                Expression(Call("batch.clear", ("d_pre_seq",))),
                *after]


def _compound(factor: sympy.Expr) -> bool:
    """A factor that is neither a number nor one forward value: computed for all steps before the loop."""
    return not (factor.is_Number or factor.is_Symbol)
