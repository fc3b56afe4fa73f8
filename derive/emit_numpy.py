"""NumPy printer: a derived cell becomes a module with ``forward`` and ``backward`` through time.

The kernel follows :mod:`derive.layout`: one GEMM for the input projections of all steps, one
fused recurrent GEMM per step, gates activated in place block by block, elementwise work in
preallocated buffers (:mod:`derive.inplace`), the weight gradients as large GEMMs after the loop.
"""

from __future__ import annotations

import sympy

from .derivation import Assign, Derivation, Linear
from .inplace import InplacePrinter, Temps
from .layout import Column, Layout, plan
from .spec import PREV_SUFFIX

INDENT = "    "


def span(lo: int, hi: int, width: int) -> str:
    """Slice text for the columns [lo, hi) of H each: ``:H``, ``H:3 * H``, ``2 * H:``."""
    if (lo, hi) == (0, width):
        return ":"
    return f"{_times_h(lo) if lo else ''}:{'' if hi == width else _times_h(hi)}"


def _times_h(k: int) -> str:
    return "H" if k == 1 else f"{k} * H"


def _tuple(names: list[str]) -> str:
    return ", ".join(names) + ("," if len(names) == 1 else "")


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
        self.h_width = self.L.h_cols[1] - self.L.h_cols[0]
        self.x_width = self.L.x_cols[1] - self.L.x_cols[0]

    # --- names -----------------------------------------------------------------------------

    def adjoint_name(self, s: sympy.Symbol) -> str:
        """Where the backward pass keeps a value or adjoint; a gate shares its pre-activation's slot."""
        var = self.d.vars.get(s)
        if var is None:  # a local name such as the block variable
            return s.name
        if var.kind == "loss":
            return f"d{var.of.name}_seq[t]"
        if var.kind == "adjoint" and var.of.kind == "preact" and self.L.gate_column(var.of.of.name):
            return "d_" + var.of.of.name
        return s.name

    def preact_adjoint(self, preact: sympy.Symbol) -> str:
        return self.adjoint_name(self.d.adjoint(preact))

    def width(self, k: int) -> str:
        return _times_h(k)

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
            f"def forward(params, x, {', '.join(s + '=None' for s in states0)}, check_finite=False):",
            f'    """Run the cell over x; return {out}_seq (T, B, H) and the cache for backward.',
            "",
            "    Initial states default to zeros; check_finite=True rejects NaN and Inf in the inputs.",
            '    """',
            f"    x, ({_tuple(states0)}), H = check_forward(",
            f"        CELL, PARAM_SHAPES, params, x, {{{', '.join(f'{chr(34)}{s}{chr(34)}: {s}' for s in states0)}}}, "
            "check_finite)",
            "    T, B, D = x.shape",
            *self._fused_weights(),
            *self._input_projection(),
            *(f"    {n}_seq = np.empty((T, B, H), x.dtype)" for n in self.seqs),
            *(f"    {n}_buf = np.empty((B, H), x.dtype)" for n in self.buffers),
            *(f"    {n} = np.empty((B, H), x.dtype)" for n in temps.names()),
        ]
        if self.h_width:
            lines.append(f"    rec = np.empty((B, {self.width(self.h_width)}), x.dtype)")
        lines.append(f"    {', '.join(s + PREV_SUFFIX for s in cell.states)} = {', '.join(states0)}")
        lines += ["    for t in range(T):", *(INDENT * 2 + line for line in step)]
        lines += self._gate_sequences()
        cache = ["x", "H", "gates", *states0, *(n + "_seq" for n in self.seqs), *self._fused_names()]
        entries = [f'"{k}": {k}' for k in cache] + [f'"{s}_T": {s}_seq[-1]' for s in cell.states]
        lines.append(f"    return {out}_seq, {{{', '.join(entries)}}}")
        return lines

    def _gate_sequences(self) -> list[str]:
        """States or the output that are gates live in ``gates``: name their columns."""
        lines = []
        for n in dict.fromkeys((*self.cell.states, self.cell.output)):
            column = self.L.gate_column(n)
            if column is not None:
                cols = self.cols(column)
                lines.append(f"    {n}_seq = " + ("gates" if cols == ":" else f"gates[:, :, {cols}]"))
        return lines

    def cols(self, column: Column) -> str:
        return span(column.index, column.index + 1, self.P)

    def _fused_names(self) -> list[str]:
        return ["W_all"] * bool(self.x_width) + ["U_all"] * bool(self.h_width)

    def _fused_weights(self) -> list[str]:
        lines = []
        for name, attr in (("W_all", "x_term"), ("U_all", "h_term")):
            columns = [c for c in self.L.columns if getattr(c, attr)]
            if columns:
                weights = ", ".join(f'params["{getattr(c, attr).weight}"]' for c in columns)
                rows = " ".join(c.preact.node for c in columns)
                lines.append(f"    {name} = np.concatenate([{weights}])  # rows: {rows}")
        secondary = dict.fromkeys(t.weight for c in self.L.columns for t in c.secondary)
        lines += [f'    {w} = params["{w}"]' for w in secondary]
        lines += [f'    {v} = params["{v}"]' for v in self._vector_params_read()]
        if any(c.preact.biases for c in self.L.columns):
            parts = [" + ".join(f'params["{b}"]' for b in c.preact.biases) or "np.zeros(H, x.dtype)"
                     for c in self.L.columns]
            lines.append(f"    bias = np.concatenate([{', '.join(parts)}])")
        return lines

    def _vector_params_read(self) -> list[str]:
        exprs = [n.expr for n in self.d.nodes] + [a.expr for a in (*self.d.backward, *self.d.carries,
                                                                    *self.d.vector_grads)]
        used = {s.name for e in exprs for s in e.free_symbols}
        return [v for v in self.cell.vectors if v in used]

    def _input_projection(self) -> list[str]:
        width = self.width(self.P)
        lines = ["    # pre-activations of every step; the input projections of all steps are one GEMM"]
        if self.x_width == self.P:
            lines += [f"    gates = np.empty((T, B, {width}), x.dtype)",
                      f"    np.matmul(x.reshape(T * B, D), W_all.T, out=gates.reshape(T * B, {width}))"]
        else:
            lines.append(f"    gates = np.zeros((T, B, {width}), x.dtype)")
            if self.x_width:
                lines.append(f"    np.matmul(x.reshape(T * B, D), W_all.T, "
                             f"out=gates.reshape(T * B, {width})[:, {span(*self.L.x_cols, self.P)}])")
        if any(c.preact.biases for c in self.L.columns):
            lines.append("    gates += bias")
        return lines

    def _forward_step(self, printer: InplacePrinter, temps: Temps) -> list[str]:
        d, L = self.d, self.L
        lines = ["pre = gates[t]"]
        if self.h_width:
            target = "pre" if L.h_cols == (0, self.P) else f"pre[:, {span(*L.h_cols, self.P)}]"
            lines += [f"np.matmul({L.primary}{PREV_SUFFIX}, U_all.T, out=rec)", f"{target} += rec"]
        for block in L.blocks:
            names = ", ".join(c.preact.node for c in L.columns[block.start:block.stop])
            lines.append(f"blk = pre[:, {span(block.start, block.stop, self.P)}]  # {names} = {block.func}(·)")
            lines += printer.activate(block.func, "blk")
        views = [c for c in L.columns if c.block or not d.node(c.preact.node).gate]
        if views:
            lines.append(f"{_tuple([self._view_name(c) for c in views])} = "
                         f"{_tuple([f'pre[:, {self.cols(c)}]' for c in views])}")
        computed: set[sympy.Symbol] = set()
        for node in self.cell.nodes:
            column = L.gate_column(node.name)
            if column is None or not column.block:
                lines.append(f"# {node.name} = {node.text}")
                lines += self._node_forward(printer, temps, d.node(node.name), column, computed)
        lines.append(f"{', '.join(s + PREV_SUFFIX for s in self.cell.states)} = {', '.join(self.cell.states)}")
        return lines

    def _view_name(self, column: Column) -> str:
        return column.preact.node if self.d.node(column.preact.node).gate else column.preact.symbol.name

    def _home(self, name: str) -> str:
        """``name = name_seq[t]`` for stored values, ``name = name_buf`` for scratch."""
        return f"{name} = {name}_seq[t]" if name in self.seqs else f"{name} = {name}_buf"

    def _node_forward(self, printer: InplacePrinter, temps: Temps, eq, column: Column | None,
                      computed: set) -> list[str]:
        name = eq.symbol.name
        lines = []
        for aux in sorted(eq.expr.free_symbols & set(self.d.aux) - computed, key=str):
            computed.add(aux)
            lines += [self._home(aux.name), *printer.assign(self.d.aux[aux], aux.name)]
        if column is not None:
            lines.append(f"{name} = pre[:, {self.cols(column)}]")
        for p in eq.preacts:
            target = name if column is not None else p.symbol.name
            for term in self.L.column(p.symbol).secondary:
                tmp = temps.take()
                lines += [f"np.matmul({term.source.name}, {term.weight}.T, out={tmp})", f"{target} += {tmp}"]
                temps.give(tmp)
        if column is not None:  # a gate whose pre-activation needed a GEMM inside the step
            return lines + printer.activate(eq.gate, name)
        return lines + [self._home(name), *printer.assign(eq.expr, name)]

    # --- backward --------------------------------------------------------------------------

    def backward(self) -> list[str]:
        cell, out = self.cell, self.cell.output
        finals = [f"d{s}_T" for s in cell.states]
        carries = [f"d_{s}_next" for s in cell.states]
        temps, block_temps = Temps(), Temps("tmp_block")
        printer = InplacePrinter(self.adjoint_name, temps)
        step = self._backward_step(printer, block_temps)
        adjoint_buffers = [a.target.name for a in self.d.backward if self.d.vars[a.target].of.kind == "node"
                           and self.L.gate_column(self.d.vars[a.target].of.name) is None]
        stored = ["x", "H", "gates", *(s + "0" for s in cell.states), *(n + "_seq" for n in self.seqs),
                  *self._fused_names()]
        finals_text = ", ".join(f'"{f}": {f}' for f in finals)
        lines = [
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
            "    d_gates = np.empty_like(gates)",
            *(f"    {n} = np.empty((B, H), x.dtype)" for n in adjoint_buffers),
            *(f"    {n} = np.empty((B, H), x.dtype)" for n in temps.names()),
            *(f"    {n} = np.empty((B, {self.width(self._widest_block())}), x.dtype)" for n in block_temps.names()),
            *(f"    d_{a.target.name.removeprefix('d_')} = np.zeros(H, x.dtype)" for a in self.d.vector_grads),
            "    for t in reversed(range(T)):",
            *(INDENT * 2 + line for line in step),
            *self._parameter_gradients(),
        ]
        return lines

    def _widest_block(self) -> int:
        return max((b.stop - b.start for b in self.L.blocks), default=1)

    def _backward_step(self, printer: InplacePrinter, block_temps: Temps) -> list[str]:
        d, L = self.d, self.L
        reads = {s for a in (*d.backward, *d.carries, *d.vector_grads) for s in a.expr.free_symbols}
        lines = ["pre, d_pre = gates[t], d_gates[t]"]
        lines += [f"{s.name} = {d.vars[s].of.name}_seq[t - 1] if t else {d.vars[s].of.name}0"
                  for s in sorted(reads, key=str) if d.vars[s].kind == "prev"]
        values = [c for c in L.columns if self._view_name(c) in {s.name for s in reads}]
        if values:
            lines.append(f"{_tuple([self._view_name(c) for c in values])} = "
                         f"{_tuple([f'pre[:, {self.cols(c)}]' for c in values])}")
        lines.append(f"{_tuple([self.preact_adjoint(c.preact.symbol) for c in L.columns])} = "
                     f"{_tuple([f'd_pre[:, {self.cols(c)}]' for c in L.columns])}")
        lines += [f"{s.name} = {s.name}_seq[t]" for s in sorted(reads, key=str) if s.name in self.seqs]
        for a in d.backward:
            lines += self._adjoint(printer, a)
        for block in L.blocks:
            lines += self._block_derivative(printer, block, block_temps)
        for a in d.vector_grads:
            tmp = printer.temps.take()
            lines += [*printer.assign(a.expr, tmp), f"{a.target.name} += {tmp}.sum(axis=0)"]
            printer.temps.give(tmp)
        for a in d.carries:
            lines += self._carry(printer, a)
        return lines

    def _adjoint(self, printer: InplacePrinter, a: Assign) -> list[str]:
        var = self.d.vars[a.target]
        target = self.adjoint_name(a.target)
        if var.of.kind == "preact" and self.L.gate_column(var.of.of.name):
            column = self.L.gate_column(var.of.of.name)
            if column.block:
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
        lines = []
        for lin in linear:
            tmp = printer.temps.take()
            lines += [f"np.matmul({self.preact_adjoint(lin.preact)}, {lin.weight}, out={tmp})", f"{target} += {tmp}"]
            printer.temps.give(tmp)
        return lines

    def _block_derivative(self, printer: InplacePrinter, block, block_temps: Temps) -> list[str]:
        column = self.L.columns[block.start]
        node = self.d.sym(column.preact.node)
        derivative = self.d.local[node, column.preact.symbol].xreplace({node: sympy.Symbol("blk")})
        k = block.stop - block.start
        tmp = block_temps.take()
        block_temps.give(tmp)
        names = ", ".join(c.preact.node for c in self.L.columns[block.start:block.stop])
        cols = span(block.start, block.stop, self.P)
        buffer = tmp if k == self._widest_block() else f"{tmp}[:, :{self.width(k)}]"
        return [f"# δ pre-activations of {names}: times {block.func}'",
                f"blk, d_blk, tmp_blk = pre[:, {cols}], d_pre[:, {cols}], {buffer}",
                *printer.assign(derivative, "tmp_blk"), "d_blk *= tmp_blk"]

    def _carry(self, printer: InplacePrinter, a: Assign) -> list[str]:
        state = self.d.vars[a.target].of.of.name
        target = f"d_{state}_next"
        comment = f"# δ{state}_prev, handed to step t - 1"
        if state != self.L.primary:
            return self._linear_assign(printer, a.expr, a.linear, target, comment)
        fused = {c.h_term.weight for c in self.L.columns if c.h_term}
        lines = [comment, f"np.matmul(d_pre[:, {span(*self.L.h_cols, self.P)}], U_all, out={target})"
                 .replace("d_pre[:, :]", "d_pre")]
        if a.expr != 0:
            lines += printer.update("add", a.expr, target)
        rest = tuple(lin for lin in a.linear if lin.weight not in fused)
        return lines + self._add_products(printer, rest, target)

    # --- after the loop --------------------------------------------------------------------

    def _parameter_gradients(self) -> list[str]:
        L, P = self.L, self.P
        lines = ["    # sums over time and batch: one GEMM per fused weight",
                 f"    d_gates2 = d_gates.reshape(T * B, {self.width(P)})",
                 "    x2 = x.reshape(T * B, D)"]
        grads: dict[str, list[str]] = {name: [] for name in self.cell.param_shapes}
        if self.x_width:
            cols = span(*L.x_cols, P)
            rows = "d_gates2" if cols == ":" else f"d_gates2[:, {cols}]"
            lines += [f"    d_W_all = {rows}.T @ x2", f"    d_x = ({rows} @ W_all).reshape(T, B, D)"]
        else:
            lines.append("    d_x = np.zeros_like(x)")
        if self.h_width:
            lines.append(f"    d_U_all = {self._prev_gemm(span(*L.h_cols, P), L.primary)}")
        for c in L.columns:
            if c.x_term:
                grads[c.x_term.weight].append(f"d_W_all[{span(c.index - L.x_cols[0], c.index - L.x_cols[0] + 1, -1)}]")
            if c.h_term:
                grads[c.h_term.weight].append(f"d_U_all[{span(c.index - L.h_cols[0], c.index - L.h_cols[0] + 1, -1)}]")
            for term in c.secondary:
                grads[term.weight].append(self._secondary_gemm(c, term, lines))
        if any(c.preact.biases for c in L.columns):
            lines.append("    d_bias = d_gates2.sum(axis=0)")
            for c in L.columns:
                for b in c.preact.biases:
                    grads[b].append(f"d_bias[{self.cols(c)}]")
        for a in self.d.vector_grads:
            grads[a.target.name.removeprefix("d_")].append(a.target.name)
        seen: set[str] = set()
        entries = []
        for name, parts in grads.items():
            text = " + ".join(parts)
            entries.append(f'        "{name}": {text}{".copy()" if text in seen else ""},')
            seen.add(text)
        entries.append('        "x": d_x,')
        entries += [f'        "{s}0": d_{s}_next,' for s in self.cell.states]
        return lines + ["    return {", *entries, "    }"]

    def _prev_gemm(self, cols: str, state: str) -> str:
        """Σ_t δa_tᵀ s_{t-1}: the first step reads the initial state, the others the stored states."""
        head = "d_gates2[:B]" if cols == ":" else f"d_gates2[:B, {cols}]"
        tail = "d_gates2[B:]" if cols == ":" else f"d_gates2[B:, {cols}]"
        return f"{head}.T @ {state}0 + {tail}.T @ {state}_seq[:-1].reshape((T - 1) * B, H)"

    def _secondary_gemm(self, c: Column, term, lines: list[str]) -> str:
        cols = f"d_gates2[:, {self.cols(c)}]"
        var = self.d.vars[term.source]
        if var.kind == "input":
            lines.append(f"    d_x += ({cols} @ {term.weight}).reshape(T, B, D)")
            return f"{cols}.T @ x2"
        if var.kind == "prev":
            return self._prev_gemm(self.cols(c), var.of.name)
        return f"{cols}.T @ {term.source.name}_seq.reshape(T * B, H)"
