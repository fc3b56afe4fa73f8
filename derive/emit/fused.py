"""A second printer of the same derivation: each step's elementwise work as one compiled C loop.

The NumPy kernel runs a step's elementwise work as a dozen ufunc calls, each a pass over the step's
(B, H) blocks; here one C function does it in a single pass per row, with the same memory layout
(``gates`` (T, P, B, H), stored values (T, B, H), ``d_pre_seq`` (T, B, P·H)), so the driver keeps the
NumPy kernel's GEMMs, checks and weight gradients. The forward function reads the recurrent product the
driver computed and writes the gates, the nodes and what backward reads; the backward function writes
the δ of the pre-activations, the carries and the parameter vectors' gradients from the pivot form of
the derivation (:mod:`derive.derivation.factored`), with every factor computed where it is used.

The source compiles for ``real`` = float and double (``<tgmath.h>`` picks expf or exp), each
function named ``NAME(…)`` for its precision; see :mod:`derive.runtime.compiled`. A cell whose step
needs a matrix product between its elementwise parts (a weight applied to a node, as in the MGU) has
no fused step: :func:`unfusable` says why.
"""

from __future__ import annotations

import sympy
from sympy.printing.c import C99CodePrinter

from derive.cells import functions
from derive.derivation import factored
from derive.derivation.bptt import Derivation

from .kernel import REGENERATE
from .layout import Layout
from .unicode import UnicodePrinter


def unfusable(d: Derivation, L: Layout) -> str:
    """Why the cell's step cannot be one elementwise loop around the recurrent GEMM ('' if it can)."""
    inside = [t.weight for c in L.columns for t in c.secondary]
    if inside:
        return f"the weights {', '.join(inside)} multiply values computed inside the step"
    f = factored.factor(d)
    products = [c.target.name for c in f.steps if c.linear]
    products += [c.target.name for c in f.carries
                 if d.vars[c.target].of.of.name != L.primary and c.linear]
    if products:
        return f"the backward pass needs matrix products inside the step for {', '.join(products)}"
    return ""


class CPrinter(C99CodePrinter):
    """C for an expression of per-unit values; ``name`` maps a symbol to its C access."""

    def __init__(self, name):
        super().__init__({"strict": False})
        self.name = name

    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        return self.name(expr)

    def _print_Pow(self, expr: sympy.Pow) -> str:
        base, exp = expr.args
        if not (exp.is_Integer and exp >= 2):
            raise ValueError(f"unsupported power in compiled code: {expr}")
        factor = self.parenthesize(base, 100)
        return "(" + " * ".join([factor] * int(exp)) + ")"

    def _print_Rational(self, expr: sympy.Rational) -> str:
        return f"((real){expr.p} / (real){expr.q})"

    def _print_Float(self, expr: sympy.Float) -> str:
        return f"((real){float(expr)!r})"

    def _print_Integer(self, expr: sympy.Integer) -> str:
        return str(int(expr))


def _c_call(entry: functions.Elementwise):
    def method(printer: CPrinter, expr: sympy.Expr) -> str:
        return entry.c.format(printer._print(expr.args[0]))
    return method


functions.printer_methods(CPrinter, _c_call)


class FusedStep:
    """The C source of one cell's forward and backward step, and the arguments each takes."""

    def __init__(self, d: Derivation, L: Layout, seqs: list[str], folded: list):
        reason = unfusable(d, L)
        if reason:
            raise ValueError(f"{d.cell.name}: no fused step: {reason}")
        self.d, self.L, self.seqs, self.P = d, L, seqs, L.width
        self.folded = {k for b in folded for k in range(b.start, b.stop)}
        self.f = factored.factor(d)
        exprs = [n.expr for n in d.nodes] + [c.expr for c in (*self.f.steps, *self.f.carries, *self.f.vector_grads)]
        used = {s.name for e in exprs for s in e.free_symbols}
        self.vectors = [v for v in d.cell.vectors if v in used]  # read elementwise (peepholes), not biases
        self.n_h = L.h_cols[1] - L.h_cols[0]

    # --- where each value lives, row b of step t ----------------------------------------------

    def _rows(self) -> list[str]:
        """Row pointers of step t, row b, for every array a step function may read or write."""
        P = self.P
        lines = [f"real *g{c.index} = gates + ((size_t)(t * {P} + {c.index}) * B + b) * H;" for c in self.L.columns]
        lines += [f"real *at_{n} = {n}_seq + ((size_t)t * B + b) * H;" for n in self.seqs]
        for s in self.d.cell.states:
            column = self.L.gate_column(s)
            before = (f"gates + ((size_t)((t - 1) * {P} + {column.index}) * B + b) * H" if column
                      else f"{s}_seq + ((size_t)(t - 1) * B + b) * H")
            lines.append(f"const real *prev_{s} = t ? {before} : {s}0 + (size_t)b * H;")
        return lines

    def value(self, s: sympy.Symbol) -> str:
        """A forward value of unit j, as the backward function reads it."""
        var = self.d.vars[s]
        if var.kind == "param":
            return f"{s.name}[j]"
        if var.kind == "prev":
            return f"prev_{var.of.name}[j]"
        column = self.L.holding(s, var.kind)
        return f"g{column.index}[j]" if column else f"at_{s.name}[j]"

    # --- forward -----------------------------------------------------------------------------

    def forward(self) -> str:
        d, L = self.d, self.L
        local: dict[sympy.Symbol, str] = {}

        def name(s: sympy.Symbol) -> str:
            if s in local:
                return local[s]
            var = d.vars[s]
            if var.kind == "param":
                return f"{s.name}[j]"
            if var.kind == "prev":
                return f"prev_{var.of.name}[j]"
            raise ValueError(f"{s} read before it is computed")

        c = CPrinter(name)
        body = []
        for col in L.columns:  # complete the pre-activations: the recurrent product the driver computed
            a = f"a{col.index}"
            rec = f" + r[{col.index - L.h_cols[0]} * H + j]" if col.h_term else ""
            body.append(f"real {a} = g{col.index}[j]{rec};")
            local[col.preact.symbol] = a
        for node in d.cell.nodes:
            eq = d.node(node.name)
            v = f"v_{node.name}"
            column = L.gate_column(node.name)
            if column is not None:
                entry = functions.TABLE[eq.gate]
                template = entry.c_negated if column.index in self.folded else entry.c
                body += [f"/* {node.name} = {node.text} */",
                         f"real {v} = {template.format(local[column.preact.symbol])};", f"g{column.index}[j] = {v};"]
            else:
                for aux in sorted(eq.expr.free_symbols & set(d.aux), key=str):
                    if aux not in local:
                        local[aux] = f"v_{aux.name}"
                        body.append(f"real v_{aux.name} = {c.doprint(d.aux[aux])};")
                        if aux.name in self.seqs:
                            body.append(f"at_{aux.name}[j] = v_{aux.name};")
                body += [f"/* {node.name} = {node.text} */", f"real {v} = {c.doprint(eq.expr)};"]
                if node.name in self.seqs:
                    body.append(f"at_{node.name}[j] = {v};")
            local[eq.symbol] = v
        for col in L.columns:  # what backward reads of a pre-activation that is not a gate
            if L.gate_column(col.preact.node) is None:
                body.append(f"g{col.index}[j] = a{col.index};")
        rec = [f"const real *r = rec + (size_t)b * {self.n_h} * H;"] if self.n_h else []
        return self._function("forward_step", self.forward_args(), [*self._rows(), *rec], body)

    def forward_args(self) -> list[str]:
        """The pointers forward_step takes after (t, live, B, H), in order."""
        return ["gates", *(["rec"] if self.n_h else []), *(s + "0" for s in self.d.cell.states),
                *(n + "_seq" for n in self.seqs), *self.vectors]

    # --- backward ----------------------------------------------------------------------------

    def backward(self) -> str:
        d, f = self.d, self.f

        def name(s: sympy.Symbol) -> str:
            var = d.vars[s]
            if var.kind == "loss":
                return "dl[j]"
            if var.kind == "carry":
                return f"{s.name}[j]"
            if var.kind in ("adjoint",):
                return s.name
            return self.value(s)

        c = CPrinter(name)
        math = UnicodePrinter(d)

        def formula(comb, suffix: str = "") -> str:
            return f"/* {math.doprint(comb.target)} = {math.sum(comb.expr, comb.linear)}{suffix} */"

        body = []
        for step in f.steps:
            text = c.doprint(step.expr)
            body.append(formula(step))
            if step.target in f.pivots:
                body.append(f"real {step.target.name} = {text};")
            else:
                k = self.L.column(d.sym(d.vars[step.target].of.name)).index
                body.append(f"dr[{k} * H + j] = {text};")
        for v in f.vector_grads:
            body += [formula(v, ", summed over steps and rows"), f"{v.target.name}[j] += {c.doprint(v.expr)};"]
        for carry in f.carries:
            state = d.vars[carry.target].of.of.name
            if state != self.L.primary:
                body += [formula(carry, ", handed to step t − 1"), f"d_{state}_next[j] = {c.doprint(carry.expr)};"]
            elif carry.terms:
                body += [formula(carry, "; the driver adds the recurrent product"), f"e[j] = {c.doprint(carry.expr)};"]
        rows = [*self._rows(),
                "const real *dl = dl_seq + ((size_t)t * B + b) * H;",
                f"real *dr = d_pre_seq + ((size_t)t * B + b) * {self.P} * H;",
                *(f"real *d_{s}_next = d_{s}_carry + (size_t)b * H;" for s in d.cell.states)]
        if self.has_elementwise_carry():
            rows.append("real *e = e_buf + (size_t)b * H;")
        return self._function("backward_step", self.backward_args(), rows, body)

    def has_elementwise_carry(self) -> bool:
        """The main state's δ_prev has elementwise terms besides the recurrent product (GRU: δh ⊙ z)."""
        return any(self.d.vars[c.target].of.of.name == self.L.primary and c.terms for c in self.f.carries)

    def backward_args(self) -> list[str]:
        return ["gates", *(s + "0" for s in self.d.cell.states), *(n + "_seq" for n in self.seqs), "dl_seq",
                *(f"d_{s}_carry" for s in self.d.cell.states), "d_pre_seq",
                *(["e_buf"] if self.has_elementwise_carry() else []), *self.vectors,
                *(v.target.name for v in self.f.vector_grads)]

    # --- whole sequences ----------------------------------------------------------------------

    def _previous(self) -> str:
        """Where the main state's values at step t − 1 start, row 0 (the initial state at step 0)."""
        primary = self.L.primary
        column = self.L.gate_column(primary)
        before = (f"gates + (size_t)((t - 1) * {self.P} + {column.index}) * B * H" if column
                  else f"{primary}_seq + (size_t)(t - 1) * B * H")
        return f"t ? {before} : {primary}0"

    def forward_loop(self) -> str:
        """Every step of the forward pass in one call, the recurrent product computed here too: for small
        batches, where a BLAS call per step costs more than the product itself."""
        args = self.forward_args()
        body = [f"const int N = {self.n_h} * H;  /* columns of the recurrent product */"] if self.n_h else []
        body += ["for (int t = 0; t < T; t++) {", "    const int live = active[t];"]
        if self.n_h:
            body += [f"    const real *prev = {self._previous()};",
                     *self._row_products("rec = prev @ UT", "rec + (size_t)b * N", "prev + (size_t)b * H", "UT",
                                         "H", "N")]
        body += [f"    NAME(forward_step)({', '.join(['t', 'live', 'B', 'H', *args])});", "}"]
        return self._loop("forward_steps", [*args, *(["const real *UT"] if self.n_h else [])], body)

    def backward_loop(self) -> str:
        """Every step of the backward pass in one call, last step first, the main state's carry through the
        recurrent product computed here too."""
        args = self.backward_args()
        primary = self.L.primary
        body = [f"const int N = {self.n_h} * H;  /* rows of U read by the recurrent product */"] if self.n_h else []
        body += ["for (int t = T - 1; t >= 0; t--) {", "    const int live = active[t];",
                 f"    NAME(backward_step)({', '.join(['t', 'live', 'B', 'H', *args])});"]
        if self.n_h:
            e = self.has_elementwise_carry()
            body += self._row_products(
                f"δ{primary}_prev = the recurrent columns' δ @ U" + (" + the elementwise part e" if e else ""),
                f"d_{primary}_carry + (size_t)b * H",
                f"d_pre_seq + ((size_t)t * B + b) * {self.P} * H + {self.L.h_cols[0]} * H", "U", "N", "H",
                "e_buf[(size_t)b * H + k]" if e else "0")
        body.append("}")
        return self._loop("backward_steps", [*args, *(["const real *U"] if self.n_h else [])], body)

    @staticmethod
    def _row_products(what: str, out: str, source: str, matrix: str, inner: str, width: str,
                      first: str = "0") -> list[str]:
        """C lines of a step's loop: for every running row b, ``out`` (``width`` numbers) = ``first`` +
        ``source`` (``inner`` numbers) @ ``matrix`` (inner × width, row-major), a row of the matrix at a
        time so that the innermost loop vectorises; ``first`` may read the column k."""
        return [f"    for (int b = 0; b < live; b++) {{  /* {what}, row by row */",
                f"        real *out = {out};",
                f"        const real *in = {source};",
                f"        for (int k = 0; k < {width}; k++) out[k] = {first};",
                f"        for (int m = 0; m < {inner}; m++) {{",
                f"            const real v = in[m], *u = {matrix} + (size_t)m * {width};",
                "            #pragma omp simd",
                f"            for (int k = 0; k < {width}; k++) out[k] += v * u[k];",
                "        }",
                "    }"]

    @staticmethod
    def _loop(name: str, args: list[str], body: list[str]) -> str:
        params = ", ".join(["int T", "const int *active", "int B", "int H",
                            *(a if a.startswith("const ") else f"real *{a}" for a in args)])
        inner = "\n".join("    " + line for line in body)
        return f"void NAME({name})({params}) {{\n{inner}\n}}\n"

    # --- the file ----------------------------------------------------------------------------

    def _function(self, name: str, args: list[str], rows: list[str], body: list[str]) -> str:
        params = ", ".join(["int t", "int live", "int B", "int H", *(f"real *{a}" for a in args)])
        inner = "\n".join("            " + line for line in body)
        head = "\n".join("        " + line for line in rows)
        return (f"void NAME({name})({params}) {{\n    for (int b = 0; b < live; b++) {{\n{head}\n"
                f"        #pragma omp simd\n        for (int j = 0; j < H; j++) {{\n{inner}\n        }}\n    }}\n}}\n")

    def source(self, origin: str) -> str:
        """The C file: the step functions and the whole-sequence loops, compiled once per precision;
        ``origin`` is the spec's file."""
        return (f"/* {self.d.cell.title}: a step's elementwise work, forward and backward, and loops over all steps.\n"
                f"   Generated from {origin} by `{REGENERATE}`; do not edit. */\n"
                "#include <stddef.h>\n#include <tgmath.h>\n\n"
                f"{self.forward()}\n{self.backward()}\n{self.forward_loop()}\n{self.backward_loop()}")
