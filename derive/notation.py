"""Notations: how the symbols of a derived cell are written, as a view over the same equations.

A notation maps spec names to LaTeX (``f`` → ``\\Gamma_f``), chooses how time is written
(``h_t`` or ``a^{\\langle t \\rangle}``) and how a pre-activation is spelled out. It never changes
the mathematics: every view prints the same SymPy expressions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping


@dataclass(frozen=True)
class Notation:
    name: str
    title: str
    symbols: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # cell -> spec name -> LaTeX
    time: str = "sub"  # "sub": h_t, "angle": h^{⟨t⟩}

    def base(self, cell: str, name: str) -> str:
        """LaTeX for a spec name without its time index."""
        mapped = self.symbols.get(cell, {}).get(name) or self.symbols.get("*", {}).get(name)
        return mapped or default_latex(name)

    def timed(self, base: str, index: str) -> str:
        """``base`` at time ``index`` (already LaTeX: ``t``, ``t+1``, ``0``)."""
        if self.time == "angle":
            return rf"{base}^{{\langle {index} \rangle}}"
        if "_" in base or "^" in base:
            return f"{{{base}}}_{{{index}}}"
        return f"{base}_{{{index}}}"


def default_latex(name: str) -> str:
    """``W_i`` → ``W_{i}``, ``bh_i`` → ``b_{hi}``, ``q`` → ``q``, ``rh`` → ``\\mathit{rh}``."""
    head, sep, tail = name.partition("_")
    if sep:
        return f"{head[0]}_{{{head[1:]}{tail}}}"
    if len(name) == 1:
        return name
    if re.fullmatch(r"[A-Za-z]\d+", name):
        return f"{name[0]}_{{{name[1:]}}}"
    return rf"\mathit{{{name}}}"


SPEC = Notation("spec", "Spec names (the names in the cell definitions)")
NOTATIONS: dict[str, Notation] = {SPEC.name: SPEC}


def get(name: str) -> Notation:
    """The notation of that name."""
    try:
        return NOTATIONS[name]
    except KeyError:
        raise ValueError(f"unknown notation {name!r} (known: {', '.join(NOTATIONS)})") from None
