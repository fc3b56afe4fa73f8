"""Notations: how the symbols of a derived cell are written, as a view over the same equations.

A notation maps spec names to LaTeX (``f`` → ``\\Gamma_f``), chooses how time is written
(``h_t``, ``a^{\\langle t \\rangle}`` or ``y^t``) and how a pre-activation is spelled out: as a sum
``W_f x_t + U_f h_{t-1} + b_f``, with one weight on the concatenated sources ``W_f[h_{t-1}, x_t] + b_f``,
or with row vectors ``x_t U^f + s_{t-1} W^f``. It never changes the mathematics: every view prints
the same SymPy expressions, and only the places where a symbol or a pre-activation is written differ.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from derive.cells.variants import VARIANTS

TIME_STYLES = ("sub", "angle", "sup")
AFFINE_STYLES = ("sum", "concat", "row")
BIAS_STYLES = ("all", "one", "none")

Symbols = Mapping[str, Mapping[str, str]]  # cell family -> spec name -> LaTeX


@dataclass(frozen=True)
class Term:
    """One product inside a pre-activation, its symbols already in the notation."""

    weight: str  # LaTeX of the weight
    source: str  # LaTeX of the vector it multiplies
    is_input: bool  # the source is x


@dataclass(frozen=True)
class Notation:
    name: str
    title: str
    source: str = ""  # where readers meet this notation
    label: str = ""  # the short name a table or a tab shows
    symbols: Symbols = field(default_factory=dict)
    concat: Symbols = field(default_factory=dict)  # family -> node -> weight on [recurrent sources, x]
    time: str = "sub"  # "sub": h_t, "angle": a^{⟨t⟩}, "sup": y^t
    affine: str = "sum"  # "sum": W x + U h + b, "concat": W[h, x] + b, "row": x U + h W
    biases: str = "all"  # "all": every bias, "one": a pre-activation's biases as one, "none": hidden
    concat_product: str = ""  # between a concatenated weight and its bracket (Olah: \cdot)
    loss: str = r"\ell"  # the per-step loss
    affine_of: Mapping[str, str] = field(default_factory=dict)  # family -> its own affine style

    def __post_init__(self) -> None:
        for value, allowed in ((self.time, TIME_STYLES), (self.affine, AFFINE_STYLES), (self.biases, BIAS_STYLES)):
            if value not in allowed:
                raise ValueError(f"notation {self.name!r}: {value!r} is not one of {', '.join(allowed)}")

    def for_cell(self, cell: str) -> Notation:
        """This notation as it writes the family of ``cell`` (a source may write one family differently)."""
        style = self.affine_of.get(family(cell))
        return replace(self, affine=style, affine_of={}) if style else self

    def base(self, cell: str, name: str) -> str:
        """LaTeX for a spec name without its time index."""
        mapped = self.symbols.get(family(cell), {}).get(name) or self.symbols.get("*", {}).get(name)
        return mapped or default_latex(name)

    def timed(self, base: str, index: str) -> str:
        """``base`` at time ``index`` (already LaTeX: ``t``, ``t+1``, ``0``)."""
        if self.time == "angle":
            return rf"{{{base}}}^{{\langle {index} \rangle}}" if "^" in base else rf"{base}^{{\langle {index} \rangle}}"
        if self.time == "sup":
            return f"{{{base}}}^{{{index}}}" if "^" in base else f"{base}^{{{index}}}"
        if "_" in base or "^" in base:
            return f"{{{base}}}_{{{index}}}"
        return f"{base}_{{{index}}}"

    def shows(self, bias_index: int) -> bool:
        """Whether the bias at this position of a pre-activation's bias list is written."""
        return self.biases == "all" or (self.biases == "one" and bias_index == 0)

    def affine_sum(self, cell: str, node: str, terms: list[Term], biases: list[str]) -> str:
        """A pre-activation of ``node`` in this notation; ``biases`` are LaTeX, already chosen by :meth:`shows`."""
        weight = self.concat.get(family(cell), {}).get(node)
        if self.affine == "concat" and weight and len(terms) > 1:
            sources = [t.source for t in terms if not t.is_input] + [t.source for t in terms if t.is_input]
            products = [rf"{weight}{self.concat_product}\left[{', '.join(sources)}\right]"]
        else:
            products = [self.product(t.weight, t.source) for t in terms]
        return " + ".join(products + biases)

    def product(self, weight: str, source: str) -> str:
        """A weight applied to a vector: W x, or x W with row vectors."""
        return f"{source} {weight}" if self.affine == "row" else f"{weight} {source}"

    def transposed(self, weight: str) -> str:
        """``weight`` transposed."""
        return f"{{{weight}}}^{{\\top}}" if "^" in weight else f"{weight}^{{\\top}}"

    def backprop(self, weight: str, delta: str) -> str:
        """δ of a term's source from δ of its pre-activation: Wᵀ δ, or δ Wᵀ with row vectors."""
        return f"{delta} {self.transposed(weight)}" if self.affine == "row" else f"{self.transposed(weight)} {delta}"

    def outer(self, delta: str, source: str) -> str:
        """One step's contribution to a weight gradient: δ vᵀ, or vᵀ δ with row vectors."""
        return f"{self.transposed(source)} {delta}" if self.affine == "row" else rf"{delta}\, {self.transposed(source)}"

    def matrix(self, weight: str) -> str:
        """The matrix that maps column vectors as the spec's weight does (transposed for row vectors)."""
        return self.transposed(weight) if self.affine == "row" else weight


def family(cell: str) -> str:
    """The built-in cell whose symbols a cell shares: itself, or the base of a variant."""
    variant = VARIANTS.get(cell)
    return variant.family if variant else FAMILIES.get(cell, cell)


FAMILIES = {"gru_cho": "gru"}


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


def _gates(gates: str, weight: str, recurrent: str, **extra: str) -> dict[str, str]:
    """Input and recurrent weights and the biases of gates named ``spec:shown`` (``"i:u f:f"``):
    ``weight``/``recurrent`` are templates with ``{g}`` for the shown name."""
    symbols = dict(extra)
    for pair in gates.split():
        spec, shown = pair.split(":")
        symbols.update({f"W_{spec}": weight.format(g=shown), f"U_{spec}": recurrent.format(g=shown),
                        f"b_{spec}": f"b_{{{shown}}}", f"bh_{spec}": f"b'_{{{shown}}}",
                        f"p_{spec}": f"p_{{{shown}}}"})
    return symbols


SPEC = Notation("spec", "Spec names (the names in the cell definitions)", source="this site's cell specs",
                label="Spec names")

NG = Notation(
    "ng", "Andrew Ng (Deep Learning Specialization, course 5)",
    source="Andrew Ng, Sequence Models (deeplearning.ai), lectures and programming exercises",
    label="Ng",
    symbols={
        "rnn": _gates("h:a", "W_{{{g}x}}", "W_{{{g}a}}", h="a"),
        "lstm": _gates("i:u f:f g:c o:o", "W_{{{g}x}}", "W_{{{g}a}}", i=r"\Gamma_{u}", f=r"\Gamma_{f}",
                       o=r"\Gamma_{o}", g=r"\tilde{c}", h="a"),
        "gru": _gates("r:r z:u n:c", "W_{{{g}x}}", "W_{{{g}c}}", r=r"\Gamma_{r}", z=r"\Gamma_{u}",
                      n=r"\tilde{c}", h="c"),
        "head": {"V": "W_{y}", "c": "b_{y}"},  # the softmax output layer
    },
    concat={"rnn": {"h": "W_{a}"}, "lstm": {"i": "W_{u}", "f": "W_{f}", "g": "W_{c}", "o": "W_{o}"},
            "gru": {"r": "W_{r}", "z": "W_{u}", "n": "W_{c}"}},
    time="angle", affine="concat", biases="one", loss=r"\mathcal{L}",
)

OLAH = Notation(
    "olah", "Christopher Olah (Understanding LSTM Networks)",
    source="Christopher Olah, Understanding LSTM Networks, 2015",
    label="Olah",
    symbols={
        "rnn": _gates("h:h", "W_{{{g}x}}", "W_{{{g}h}}"),
        "lstm": _gates("i:i f:f g:C o:o", "W_{{{g}x}}", "W_{{{g}h}}", g=r"\tilde{C}", c="C"),
        "gru": _gates("r:r z:z n:h", "W_{{{g}x}}", "W_{{{g}h}}", n=r"\tilde{h}"),
    },
    concat={"rnn": {"h": "W"}, "lstm": {"i": "W_{i}", "f": "W_{f}", "g": "W_{C}", "o": "W_{o}"},
            "gru": {"r": "W_{r}", "z": "W_{z}", "n": "W"}},
    affine="concat", biases="one", concat_product=r" \cdot ",
)

WILDML = Notation(
    "wildml", "WildML (Denny Britz, RNN tutorial)",
    source="Denny Britz, Recurrent Neural Networks Tutorial (WildML), 2015: parts 1 to 3 for the RNN, "
           "column vectors; part 4 for the GRU and the LSTM, row vectors; no biases",
    label="WildML",
    symbols={
        "rnn": {"h": "s", "W_h": "U", "U_h": "W"},
        "lstm": {**_gates("i:i f:f g:g o:o", "U^{{{g}}}", "W^{{{g}}}"), "h": "s"},
        "gru": {**_gates("r:r z:z n:h", "U^{{{g}}}", "W^{{{g}}}"), "n": "h", "h": "s"},
    },
    affine="row", biases="none", affine_of={"rnn": "sum"},
)

GREFF = Notation(
    "greff", "Greff et al. (block input z, output y, peepholes p)",
    source="Greff et al. 2017, LSTM: A Search Space Odyssey",
    label="Greff et al.",
    symbols={
        "rnn": {**_gates("h:y", "W", "R"), "h": "y", "b_h": "b"},
        "head": {"y": "d"},  # the target: y is the cell's output here
        "lstm": {**_gates("i:i f:f g:z o:o", "W_{{{g}}}", "R_{{{g}}}"), "g": "z", "h": "y",
                 **{f"V_{a}{b}": f"R_{{{a}{b}}}" for a in "ifo" for b in "ifo"}},
        "gru": {**_gates("r:r z:z n:n", "W_{{{g}}}", "R_{{{g}}}"), "h": "y"},
    },
    time="sup", biases="one",
)

PYTORCH = Notation(
    "pytorch", "PyTorch documentation (torch.nn.RNN, LSTM, GRU)",
    source="PyTorch documentation of torch.nn.RNN, torch.nn.LSTM and torch.nn.GRU",
    label="PyTorch",
    symbols={
        "rnn": {"W_h": "W_{ih}", "U_h": "W_{hh}", "b_h": "b_{ih}", "bh_h": "b_{hh}"},
        "lstm": {f"{k}_{g}": v.format(g=g) for g in "ifgo" for k, v in
                 (("W", "W_{{i{g}}}"), ("U", "W_{{h{g}}}"), ("b", "b_{{i{g}}}"), ("bh", "b_{{h{g}}}"))},
        "gru": {f"{k}_{g}": v.format(g=g) for g in "rzn" for k, v in
                (("W", "W_{{i{g}}}"), ("U", "W_{{h{g}}}"), ("b", "b_{{i{g}}}"), ("bh", "b_{{h{g}}}"))},
    },
)

NOTATIONS: dict[str, Notation] = {n.name: n for n in (SPEC, NG, OLAH, WILDML, GREFF, PYTORCH)}


def get(name: str) -> Notation:
    """The notation of that name."""
    try:
        return NOTATIONS[name]
    except KeyError:
        raise ValueError(f"unknown notation {name!r} (known: {', '.join(NOTATIONS)})") from None


# Gate order of the stacked weight matrices, as spec node names of the built-in cells.
GATE_ORDERS: dict[str, dict[str, tuple[str, ...]]] = {
    "PyTorch (weight_ih_l0, weight_hh_l0)": {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")},
    "cuDNN (linLayerID 0, 1, …)": {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")},
    "Keras (kernel columns)": {"lstm": ("i", "f", "g", "o"), "gru": ("z", "r", "n")},
    "ONNX (W, R, B)": {"lstm": ("i", "o", "f", "g"), "gru": ("z", "r", "n")},
}
