"""The driver of a fused kernel: the NumPy kernel's checks, GEMMs and gradients around compiled steps.

:class:`FusedKernelBuilder` prints the same module as :class:`~derive.emit.kernel.KernelBuilder` with
each time loop replaced: per step, the recurrent GEMM in NumPy and one call of the cell's compiled step
(:mod:`derive.emit.fused`); the backward pass needs no factor arrays, since the compiled step computes
every factor where it uses it. The C source is a file beside the module, compiled on first import
(:mod:`derive.runtime.compiled`).
"""

from __future__ import annotations

from derive.cells.spec import PREV_SUFFIX
from derive.derivation.bptt import Derivation

from .fused import FusedStep
from .kernel import REGENERATE, KernelBuilder, module_constants, param
from .layout import columns, times_h
from .program import Alloc, Bind, Block, Call, Comment, Expression, Gemm, Module, Statement, Ufunc

LOADER = "from derive.runtime import check_backward, check_forward, compiled"


class FusedKernelBuilder(KernelBuilder):
    """A fused kernel module for one derived cell; :meth:`c_source` is its C file."""

    def __init__(self, d: Derivation, source: str):
        super().__init__(d, source)
        self.step = FusedStep(d, self.L, self.seqs, self.folded)

    def c_source(self) -> str:
        return self.step.source(self.source)

    def module(self) -> Module:
        base = super().module()
        doc = base.doc.replace(f"Generated from {self.source} by `{REGENERATE}`; do not edit.",
                               f"Generated from {self.source} by `{REGENERATE}`; do not edit. The elementwise work "
                               f"of each step is C ({self.cell.name}.c beside this file), compiled on first import.")
        constants = (*module_constants(self.cell),
                     ("FFI, LIB", "compiled.load(CELL, compiled.source_beside(__file__))"))
        return Module(doc, ("import numpy as np", "", LOADER), constants, base.functions)

    # --- forward -----------------------------------------------------------------------------

    def _forward_loop(self) -> list[Statement]:
        L = self.L
        primary = L.primary
        prev = f"{primary}{PREV_SUFFIX}"
        own = L.gate_column(primary)
        after = f"gates[t, {own.index}, :live]" if own else f"{primary}_seq[t, :live]"
        step: list[Statement] = []
        if self.n_h:
            step.append(Gemm(f"{prev}[:live]", "U_allT", "rec[:live]"))
        step += [Expression("step(t, live, B, H, *pointers)"), Bind((prev,), (after,))]
        loop = [self._function("forward_step"), Bind((prev,), (f"{primary}0",)),
                Block("for t, live in enumerate(batch.active)", tuple(step), "live: rows still running")]
        return [*self._vector_copies(), Bind(("pointers",), (self._pointers(self.step.forward_args()),)),
                *self._small_or("forward_steps", "U_allT", loop)]

    @staticmethod
    def _function(name: str) -> Bind:
        """``step = LIB.forward_step_f32``: a compiled function for the input's precision."""
        return Bind((name.split("_")[-1],), (f'getattr(LIB, "{name}_" + compiled.suffix(x.dtype))',))

    def _small_or(self, name: str, weights: str, loop: list[Statement]) -> list[Statement]:
        """For a small recurrent product one call of the compiled loop over all steps (the products
        included), else the loop in Python with a BLAS call per step."""
        extra = [f"*compiled.pointers(FFI, x.dtype, {weights})"] if self.n_h else []
        whole = Expression(Call("steps", ("T", "compiled.rows(FFI, batch.active)", "B", "H", "*pointers", *extra)))
        return [Block(f"if compiled.small(B, H, {self.n_h})", (self._function(name), whole),
                      "the whole loop in C, its products too"),
                Block("else", tuple(loop))]

    def _vector_copies(self) -> list[Statement]:
        """The parameter vectors the compiled steps read, as contiguous arrays."""
        return [Bind((v,), (f"np.ascontiguousarray({param(v)})",)) for v in self.step.vectors]

    @staticmethod
    def _pointers(arrays: list[str]) -> str:
        return f"compiled.pointers(FFI, x.dtype, {', '.join(arrays)})"

    def _weights_read(self) -> list[Statement]:
        return []  # no weight is multiplied inside a fused step; the vectors are copied where used

    # --- backward ----------------------------------------------------------------------------

    def _backward_loop(self) -> tuple[list[Statement], set[str]]:
        step, L = self.step, self.L
        cols = columns(*L.h_cols, self.P)
        rows = f"d_pre_seq[t, :live, {cols}]" if cols else "d_pre_seq[t, :live]"
        carry = f"d_{L.primary}_carry"
        loop: list[Statement] = [Bind(("live",), ("batch.active[t]",), "rows still running"),
                                 Expression("step(t, live, B, H, *pointers)")]
        if self.n_h:
            loop.append(Gemm(rows, "U_all", f"{carry}[:live]"))
        if step.has_elementwise_carry():
            loop.append(Ufunc("add", (f"{carry}[:live]", "e_buf[:live]"), f"{carry}[:live]"))
        return [*self._vector_copies(),
                Bind(("dl_seq",), (f"np.ascontiguousarray(d{self.cell.output}_seq)",)),
                Comment("δ of the pre-activations, written by the compiled step into d_pre_seq (T, B, P·H)"),
                Alloc("d_pre_seq", ("T", "B", times_h(self.P)), maker="np.zeros"),
                *([Alloc("e_buf", ("B", "H"))] if step.has_elementwise_carry() else []),
                *(Bind((v.target.name,), ("np.zeros(H, x.dtype)",)) for v in step.f.vector_grads),
                Bind(("pointers",), (self._pointers(step.backward_args()),)),
                *self._small_or("backward_steps", "U_all",
                                [self._function("backward_step"), Block("for t in reversed(range(T))", tuple(loop))])], set()
