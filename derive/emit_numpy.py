"""NumPy printer: a derived cell becomes a module with ``forward`` and ``backward`` through time.

Layout (see :mod:`derive.layout`): ``gates`` has one contiguous ``(T, B, H)`` slab per
pre-activation, so every gate of a step is a contiguous ``(B, H)`` block and neighbouring gates with
the same activation are one ufunc call. The input projections of all steps are one GEMM per gate
before the loop, the recurrent projections one fused GEMM per step, the weight gradients one GEMM
each after the loop. Elementwise work runs in preallocated buffers (:mod:`derive.inplace`).
"""

from __future__ import annotations

import sympy

from .derivation import Assign, Derivation, Linear
from .inplace import InplacePrinter, Temps
from .layout import Column, Layout, plan
from .spec import PREV_SUFFIX

INDENT = "    "


def rows(lo: int, hi: int, width: int) -> str:
    """Index text for the slabs [lo, hi): ``:``, ``:3``, ``1:``, ``1:3``."""
    return f"{lo or ''}:{'' if hi == width else hi}"


def columns(lo: int, hi: int, width: int | None = None) -> str:
    """Slice text for the column blocks [lo, hi) of H each in a (·, P·H) row: ``H:3 * H``, ``2 * H:``;
    empty when they are all ``width`` columns."""
    if (lo, hi) == (0, width):
        return ""
    return f"{_times_h(lo) if lo else ''}:{'' if hi == width else _times_h(hi)}"


def add_product(temps: Temps, a: str, b: str, target: str) -> list[str]:
    """``target += a @ b`` through a scratch buffer (NumPy's matmul cannot accumulate)."""
    tmp = temps.take()
    temps.give(tmp)
    return [f"np.matmul({a}, {b}, out={tmp})", f"{target} += {tmp}"]


def _tuple(names: list[str]) -> str:
    return ", ".join(names) + ("," if len(names) == 1 else "")


def _assign(names: list[str], values: list[str]) -> str:
    """``a = x`` or ``a, b = x, y``."""
    return f"{', '.join(names)} = {', '.join(values)}"


def _times_h(k: int) -> str:
    return "H" if k == 1 else f"{k} * H"


class KernelWriter:
    """Writes the kernel module of one derived cell."""

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
        self.has_sigmoid = any(eq.full.atoms(sympy.Function) and "sigmoid" in str(eq.full) for eq in d.nodes)

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

    def h_rows(self) -> str:
        return rows(*self.L.h_cols, self.P)

    def unpack(self, names: list[str], source: str, wanted: set[str]) -> list[str]:
        """``a, b = pre`` when every slab is wanted, else one indexed view per wanted slab."""
        if all(n in wanted for n in names):
            return [f"{_tuple(names)} = {source}"]
        picked = [(k, n) for k, n in enumerate(names) if n in wanted]
        if not picked:
            return []
        return [f"{_tuple([n for _, n in picked])} = {_tuple([f'{source}[{k}]' for k, _ in picked])}"]

    # --- module ----------------------------------------------------------------------------

    def module(self) -> str:
        shapes = ", ".join(f'"{k}": {v}' for k, v in self.cell.param_shapes.items())
        equations = "\n".join(f"    {n.name} = {n.text}" for n in self.cell.nodes)
        parts = [
            f'"""{self.cell.title}: forward and backward through time.\n\n'
            f"Generated from {self.source} by `python -m derive generate`; do not edit.\n\n"
            f"Per time step, every product elementwise:\n\n{equations}\n\n"
            'Shapes: x (T, B, D), time-major; states (B, H); params as in PARAM_SHAPES.\n"""',
            "import numpy as np\n\nfrom derive.runtime import check_backward, check_forward",
            f'CELL = "{self.cell.name}"\nSTATES = {self.cell.states!r}\nPARAM_SHAPES = {{{shapes}}}',
            "\n".join(self.forward()),
            "\n".join(self.backward()),
        ]
        return "\n\n\n".join(parts) + "\n"

    # --- forward ---------------------------------------------------------------------------

    def forward(self) -> list[str]:
        cell, out = self.cell, self.cell.output
        states0 = [s + "0" for s in cell.states]
        temps = Temps()
        step = self._forward_step(InplacePrinter(lambda s: s.name, temps), temps)
        lines = [
            f"def forward(params, x, {', '.join(s + '=None' for s in states0)}, lengths=None, check_finite=False):",
            f'    """Run the cell over x; return {out}_seq (T, B, H) and the cache for backward.',
            "",
            "    Initial states default to zeros. With lengths (one per sequence) the outputs after a",
            "    sequence's end are zero and its state stays at its last step. check_finite=True rejects",
            "    NaN and Inf in the inputs.",
            '    """',
            f"    x, ({_tuple(states0)}), H, batch = check_forward(",
            f"        CELL, PARAM_SHAPES, params, x, {{{', '.join(f'{chr(34)}{s}{chr(34)}: {s}' for s in states0)}}}, "
            "lengths, check_finite)",
            "    T, B, D = x.shape",
            *self._input_projection(),
            *(f"    {n}_seq = np.zeros((T, B, H), x.dtype)" for n in self.seqs),
            *(f"    {n}_buf = np.empty((B, H), x.dtype)" for n in [*self.buffers, *temps.names()]),
        ]
        if self.n_h:
            lines.append(f"    rec = np.empty((B, {_times_h(self.n_h)}), x.dtype)")
        lines.append(f"    {', '.join(s + PREV_SUFFIX for s in cell.states)} = {', '.join(states0)}")
        loop = ["for t, live in enumerate(batch.active):  # live: rows still running", *(INDENT + line for line in step)]
        if self.has_sigmoid:
            loop = ["with np.errstate(over=\"ignore\"):  # e^{-a} = inf inside σ gives exactly 0",
                    *(INDENT + line for line in loop)]
        lines += [INDENT + line for line in loop]
        lines += self._gate_sequences()
        cache = ["x", "H", "batch", "gates", *states0, *(n + "_seq" for n in self.seqs)] + ["U_all"] * bool(self.n_h)
        entries = [f'"{k}": {k}' for k in cache]
        entries += [f'"{s}_T": batch.unsort(batch.final({s}_seq, {s}0), 0)' for s in cell.states]
        lines.append(f"    return batch.unsort({out}_seq, 1), {{{', '.join(entries)}}}")
        return lines

    def _input_projection(self) -> list[str]:
        L, P = self.L, self.P
        x_columns = [c for c in L.columns if c.x_term]
        names = " ".join(self.slab_name(c) for c in L.columns)
        alloc = "np.empty" if len(x_columns) == P else "np.zeros"
        lines = ["    x2 = x.reshape(T * B, D)"]
        if self.n_h:
            weights = ", ".join(f'params["{c.h_term.weight}"]' for c in L.columns if c.h_term)
            lines.append(f"    U_all = np.concatenate([{weights}])  # rows: "
                         + " ".join(c.preact.node for c in L.columns if c.h_term))
        lines += [f'    {w} = params["{w}"]' for w in dict.fromkeys(t.weight for c in L.columns for t in c.secondary)]
        lines += [f'    {v} = params["{v}"]' for v in self._vector_params_read()]
        lines += [f"    # pre-activations, one (T, B, H) slab each: {names}; the input projections of all steps",
                  f"    gates = {alloc}(({P}, T, B, H), x.dtype)"]
        lines += [f'    np.matmul(x2, params["{c.x_term.weight}"].T, out=gates[{c.index}].reshape(T * B, H))'
                  for c in x_columns]
        if any(c.preact.biases for c in L.columns):
            parts = [" + ".join(f'params["{b}"]' for b in c.preact.biases) or "np.zeros(H, x.dtype)"
                     for c in L.columns]
            lines.append(f"    gates += np.stack([{', '.join(parts)}])[:, None, None]")
        return lines

    def _vector_params_read(self) -> list[str]:
        exprs = [n.expr for n in self.d.nodes] + [a.expr for a in (*self.d.backward, *self.d.carries,
                                                                    *self.d.vector_grads)]
        used = {s.name for e in exprs for s in e.free_symbols}
        return [v for v in self.cell.vectors if v in used]

    def _gate_sequences(self) -> list[str]:
        """States or the output that are gates live in ``gates``: name their slabs."""
        return [f"    {n}_seq = gates[{self.L.gate_column(n).index}]"
                for n in dict.fromkeys((*self.cell.states, self.cell.output)) if self.L.gate_column(n)]

    def _forward_step(self, printer: InplacePrinter, temps: Temps) -> list[str]:
        d, L = self.d, self.L
        prevs = [s + PREV_SUFFIX for s in self.cell.states]
        lines = ["pre = gates[:, t, :live]", f"{_tuple([self.slab_name(c) for c in L.columns])} = pre",
                 _assign(prevs, [p + "[:live]" for p in prevs])]
        if self.n_h:
            target = "pre" if L.h_cols == (0, self.P) else f"pre[{self.h_rows()}]"
            lines += [f"np.matmul({L.primary}{PREV_SUFFIX}, U_all.T, out=rec[:live])",
                      f"{target} += rec[:live].reshape(live, {self.n_h}, H).transpose(1, 0, 2)"]
        for block in L.blocks:
            names = ", ".join(c.preact.node for c in L.columns[block.start:block.stop])
            lines.append(f"blk = pre[{rows(block.start, block.stop, self.P)}]  # {names} = {block.func}(·)")
            lines += printer.activate(block.func, "blk")
        computed: set[sympy.Symbol] = set()
        for node in self.cell.nodes:
            column = L.gate_column(node.name)
            if column is None or not column.block:
                lines.append(f"# {node.name} = {node.text}")
                lines += self._node_forward(printer, temps, d.node(node.name), column, computed)
        lines.append(f"{', '.join(s + PREV_SUFFIX for s in self.cell.states)} = {', '.join(self.cell.states)}")
        output = self.L.gate_column(self.cell.output)
        if output is not None:  # a gate slab is the output: rows that have finished read zero
            lines.append(f"gates[{output.index}, t, live:] = 0")
        if temps.count:
            lines.insert(3, _assign(temps.names(), [f"{t}_buf[:live]" for t in temps.names()]))
        return lines

    def _home(self, name: str) -> str:
        """``name = name_seq[t]`` for stored values, ``name = name_buf`` for scratch."""
        return f"{name} = {name}_seq[t, :live]" if name in self.seqs else f"{name} = {name}_buf[:live]"

    def _node_forward(self, printer: InplacePrinter, temps: Temps, eq, column: Column | None,
                      computed: set) -> list[str]:
        name = eq.symbol.name
        lines = []
        for p in eq.preacts:  # complete the pre-activations first: function values below read them
            target = self.slab_name(self.L.column(p.symbol))
            for term in self.L.column(p.symbol).secondary:
                source = "x[t, :live]" if term.source == self.d.x else term.source.name
                lines += add_product(temps, source, f"{term.weight}.T", target)
        for aux in sorted(eq.expr.free_symbols & set(self.d.aux) - computed, key=str):
            computed.add(aux)
            lines += [self._home(aux.name), *printer.assign(self.d.aux[aux], aux.name)]
        if column is not None:  # a gate whose pre-activation needed a GEMM inside the step
            return lines + printer.activate(eq.gate, name)
        return lines + [self._home(name), *printer.assign(eq.expr, name)]

    # --- backward --------------------------------------------------------------------------

    def backward(self) -> list[str]:
        cell, out = self.cell, self.cell.output
        finals = [f"d{s}_T" for s in cell.states]
        carries = [f"d_{s}_carry" for s in cell.states]
        temps, block_temps = Temps(), Temps("tmp_block")
        printer = InplacePrinter(self.adjoint_name, temps)
        step = self._backward_step(printer, block_temps)
        adjoint_buffers = [a.target.name for a in self.d.backward if self.d.vars[a.target].of.kind == "node"
                           and self.L.gate_column(self.d.vars[a.target].of.name) is None]
        stored = ["x", "H", "batch", "gates", *(s + "0" for s in cell.states), *(n + "_seq" for n in self.seqs)]
        stored += ["U_all"] * bool(self.n_h)
        finals_text = ", ".join(f'"{f}": {f}' for f in finals)
        widest = max((b.stop - b.start for b in self.L.blocks), default=1)
        return [
            f"def backward(params, cache, d{out}_seq, {', '.join(f + '=None' for f in finals)}):",
            f'    """Gradients of L = Σ {out}_seq ⊙ d{out}_seq + Σ_s s_T ⊙ ds_T over the states s = '
            f'{", ".join(cell.states)}.',
            "",
            f"    Returns a dict with the keys of params and x, {', '.join(s + '0' for s in cell.states)}.",
            '    """',
            f"    (d{out}_seq,), ({_tuple(carries)}) = check_backward(",
            f'        CELL, cache, {{"d{out}_seq": d{out}_seq}}, {{{finals_text}}})',
            f"    {', '.join(stored)} = ({', '.join(f'cache[{chr(34)}{k}{chr(34)}]' for k in stored)})",
            "    T, B, D = x.shape",
            *self._gate_sequences(),
            *(f'    {w} = params["{w}"]' for w in dict.fromkeys(
                t.weight for c in self.L.columns for t in c.secondary)),
            *(f'    {v} = params["{v}"]' for v in self._vector_params_read()),
            f"    # δ of the pre-activations: computed per step in d_pre ({self.P}, B, H), stored as rows of",
            "    # d_pre_seq (T, B, P·H) for the recurrent product and the weight gradients after the loop",
            *([f"    d_pre_buf = np.empty(({self.P}, B, H), x.dtype)"] if self.P > 1 else []),
            f"    d_pre_seq = np.zeros((T, B, {_times_h(self.P)}), x.dtype)",
            *(f"    {n}_buf = np.empty((B, H), x.dtype)" for n in [*adjoint_buffers, *temps.names()]),
            *(f"    {n}_buf = np.empty(({widest}, B, H), x.dtype)" for n in block_temps.names()),
            *(f"    {a.target.name} = np.zeros(H, x.dtype)" for a in self.d.vector_grads),
            "    for t in reversed(range(T)):",
            "        live = batch.active[t]  # rows still running",
            *(INDENT * 2 + line for line in self._backward_views(adjoint_buffers, temps)),
            *(INDENT * 2 + line for line in step),
            *self._parameter_gradients(),
        ]

    def _backward_step(self, printer: InplacePrinter, block_temps: Temps) -> list[str]:
        d, L = self.d, self.L
        reads = {s for a in (*d.backward, *d.carries, *d.vector_grads) for s in a.expr.free_symbols}
        read_names = {s.name for s in reads}
        lines = [f"{s.name} = {d.vars[s].of.name}_seq[t - 1, :live] if t else {d.vars[s].of.name}0[:live]"
                 for s in sorted(reads, key=str) if d.vars[s].kind == "prev"]
        lines += self.unpack([self.slab_name(c) for c in L.columns], "pre", read_names)
        lines += [f"{s.name} = {s.name}_seq[t, :live]" for s in sorted(reads, key=str) if s.name in self.seqs]
        for a in d.backward:
            lines += self._adjoint(printer, a)
        for block in L.blocks:
            lines += self._block_derivative(printer, block, block_temps)
        for a in d.vector_grads:
            tmp = printer.temps.take()
            lines += [*printer.assign(a.expr, tmp), f"{a.target.name} += {tmp}.sum(axis=0)"]
            printer.temps.give(tmp)
        if self.P > 1:  # gate-major δ into the (B, P·H) rows the GEMMs read
            lines.append(f"np.copyto(d_rows.reshape(live, {self.P}, H), d_pre.transpose(1, 0, 2))")
        for a in d.carries:
            lines += self._carry(printer, a)
        return lines

    def _backward_views(self, buffers: list[str], temps: Temps) -> list[str]:
        """The step's views: pre-activations, their δ, and the first n rows of every buffer."""
        rows_of = [*buffers, *temps.names()]
        carries = [f"d_{s}_next" for s in self.cell.states]
        return [
            "pre, d_rows = gates[:, t, :live], d_pre_seq[t, :live]",
            "d_pre = d_rows[None]" if self.P == 1 else "d_pre = d_pre_buf[:, :live]",
            f"{_tuple([self.preact_adjoint(c.preact.symbol) for c in self.L.columns])} = d_pre",
            *([_assign(rows_of, [f"{b}_buf[:live]" for b in rows_of])] if rows_of else []),
            _assign(carries, [f"d_{s}_carry[:live]" for s in self.cell.states]),
        ]

    def _adjoint(self, printer: InplacePrinter, a: Assign) -> list[str]:
        var = self.d.vars[a.target]
        target = self.adjoint_name(a.target)
        if var.of.kind == "preact" and self.L.gate_column(var.of.of.name):
            if self.L.gate_column(var.of.of.name).block:
                return []  # applied block by block after the sweep
            local = self.d.local[self.d.sym(var.of.of.name), self.d.sym(var.of.name)]
            return printer.update("multiply", local, target)
        return self._linear_assign(printer, a.expr, a.linear, target, f"# δ{var.of.name}")

    def _linear_assign(self, printer: InplacePrinter, expr: sympy.Expr, linear: tuple[Linear, ...],
                       target: str, comment: str) -> list[str]:
        lines = [comment]
        if expr != 0:
            lines += printer.assign(expr, target)
        elif linear:
            lines.append(f"np.matmul({self.preact_adjoint(linear[0].preact)}, {linear[0].weight}, out={target})")
            linear = linear[1:]
        else:
            lines.append(f"{target}.fill(0)")
        return lines + self._add_products(printer, linear, target)

    def _add_products(self, printer: InplacePrinter, linear: tuple[Linear, ...], target: str) -> list[str]:
        """``target += weightᵀ δa`` for each term (row-major: ``δa @ weight``)."""
        return [line for lin in linear
                for line in add_product(printer.temps, self.preact_adjoint(lin.preact), lin.weight, target)]

    def _block_derivative(self, printer: InplacePrinter, block, block_temps: Temps) -> list[str]:
        column = self.L.columns[block.start]
        node = self.d.sym(column.preact.node)
        derivative = self.d.local[node, column.preact.symbol].xreplace({node: sympy.Symbol("blk")})
        tmp = block_temps.take()
        block_temps.give(tmp)
        names = ", ".join(c.preact.node for c in self.L.columns[block.start:block.stop])
        slabs = rows(block.start, block.stop, self.P)
        return [f"# δ pre-activations of {names}: times {block.func}'",
                f"blk, d_blk, tmp_blk = pre[{slabs}], d_pre[{slabs}], {tmp}_buf[:{block.stop - block.start}, :live]",
                *printer.assign(derivative, "tmp_blk"), "d_blk *= tmp_blk"]

    def _carry(self, printer: InplacePrinter, a: Assign) -> list[str]:
        state = self.d.vars[a.target].of.of.name
        target = f"d_{state}_next"
        comment = f"# δ{state}_prev, handed to step t - 1"
        if state != self.L.primary:
            return self._linear_assign(printer, a.expr, a.linear, target, comment)
        cols = columns(*self.L.h_cols, self.P)
        lines = [comment, f"np.matmul(d_rows{f'[:, {cols}]' if cols else ''}, U_all, out={target})"]
        if a.expr != 0:
            lines += printer.update("add", a.expr, target)
        fused = {(c.h_term.weight, c.preact.symbol) for c in self.L.columns if c.h_term}  # done by U_all
        rest = tuple(lin for lin in a.linear if (lin.weight, lin.preact) not in fused)
        return lines + self._add_products(printer, rest, target)

    # --- after the loop --------------------------------------------------------------------

    def _parameter_gradients(self) -> list[str]:
        L, P = self.L, self.P
        lines = ["    # sums over time and batch: one GEMM per group of weights that share a source",
                 f"    d_all = d_pre_seq.reshape(T * B, {_times_h(P)})"]
        defined: set[str] = set()  # source matrices already named in the lines
        grads: dict[str, list[str]] = {name: [] for name in self.cell.param_shapes}
        x_columns = [c for c in L.columns if c.x_term]
        if x_columns:
            n_x = len(x_columns)
            x_cols = columns(0, n_x, P)
            weights = ", ".join(f'params["{c.x_term.weight}"]' for c in x_columns)
            lines += [f"    d_W_all = {self._gemm(x_cols, self.d.x, defined, lines)}",
                      f"    d_x = d_all{f'[:, {x_cols}]' if x_cols else ''} @ "
                      + (weights if n_x == 1 else f"np.concatenate([{weights}])")]
            for c in x_columns:
                grads[c.x_term.weight].append(f"d_W_all[{columns(c.index, c.index + 1)}]")
        else:
            lines.append("    d_x = np.zeros((T * B, D), x.dtype)")
        if self.n_h:
            cols = columns(*L.h_cols, P)
            lines.append(f"    d_U_all = {self._gemm(cols, self.d.sym(L.primary + PREV_SUFFIX), defined, lines)}")
            for c in L.columns:
                if c.h_term:
                    k = c.index - L.h_cols[0]
                    grads[c.h_term.weight].append(f"d_U_all[{columns(k, k + 1)}]")
        for c in L.columns:
            for term in c.secondary:
                own = columns(c.index, c.index + 1)
                grads[term.weight].append(self._gemm(own, term.source, defined, lines))
                if term.source == self.d.x:
                    lines.append(f'    d_x += d_all[:, {own}] @ params["{term.weight}"]')
        if any(c.preact.biases for c in L.columns):
            lines.append("    d_bias = np.ones(T * B, x.dtype) @ d_all  # column sums, as one GEMV")
            for c in L.columns:
                for b in c.preact.biases:
                    grads[b].append(f"d_bias[{columns(c.index, c.index + 1)}]")
        for a in self.d.vector_grads:
            grads[a.target.name.removeprefix("d_")].append(a.target.name)
        seen: set[str] = set()
        entries = []
        for name, parts in grads.items():
            text = " + ".join(parts) or f'np.zeros_like(params["{name}"])'  # cancelled out of every equation
            entries.append(f'        "{name}": {text}{".copy()" if text in seen else ""},')
            seen.add(text)
        entries.append('        "x": batch.unsort(d_x.reshape(T, B, D), 1),')
        entries += [f'        "{s}0": batch.unsort(d_{s}_carry, 0),' for s in self.cell.states]
        return lines + ["    return {", *entries, "    }"]

    def _gemm(self, cols: str, source: sympy.Symbol, defined: set[str], lines: list[str]) -> str:
        """Σ_t δa_tᵀ v_t for the columns ``cols`` of d_all and the source v (x, a previous state, a node)."""
        var = self.d.vars[source]
        d_cols = "d_all" + (f"[:, {cols}]" if cols else "")
        if var.kind == "input":
            if "x2" not in defined:
                defined.add("x2")
                lines.append("    x2 = x.reshape(T * B, D)")
            return f"{d_cols}.T @ x2"
        if var.kind == "prev":  # the first step reads the initial state, the others the stored states
            s = var.of.name
            head, tail = (f"d_all[:B, {cols}]", f"d_all[B:, {cols}]") if cols else ("d_all[:B]", "d_all[B:]")
            return f"{head}.T @ {s}0 + {tail}.T @ {s}_seq[:-1].reshape((T - 1) * B, H)"
        gate = self.L.gate_column(source.name)  # a gate's values live in its slab of gates
        values = f"gates[{gate.index}]" if gate else f"{source.name}_seq"
        return f"{d_cols}.T @ {values}.reshape(T * B, H)"
