"""Published variants of the LSTM and the GRU, each a spec like the built-in cells.

Greff et al. 2017 ("LSTM: A Search Space Odyssey") start from a *vanilla* LSTM with peepholes and
one bias per gate, and change one thing at a time; their eight variants are written here as edits
of that vanilla spec, so each differs from it exactly where the paper says. The minimal gated unit
and the GRU with z and 1 − z swapped are edits of Cho et al.'s GRU; the LSTM with i = 1 − f is
written out in full. Every variant gets a kernel, LaTeX and finite-difference tests like the
built-in cells.
"""

from __future__ import annotations

from dataclasses import dataclass

from .builtin import GRU_CHO
from .spec import Cell, define

GREFF = "Greff et al. 2017, LSTM: A Search Space Odyssey"

Edits = dict[str, "tuple[str, str] | None"]  # node -> (right-hand side, role), or None to remove it


def edited(base: Cell, name: str, edits: Edits, *, title: str, reference: str, states: str = "") -> Cell:
    """``base`` with some equations replaced, added or removed; the rest exactly as ``base`` writes them."""
    equations = {n.name: (n.text, n.role) for n in base.nodes}
    equations.update(edits)
    text = "\n".join(f"{node} = {rhs}" + (f"  # {role}" if role else "")
                      for node, (rhs, role) in ((n, e) for n, e in equations.items() if e is not None))
    return define(name, text, states=states or ", ".join(base.states), output=base.output,
                  title=title, reference=reference)


LSTM_PEEPHOLE = define(
    "lstm_peephole",
    title="LSTM with peepholes, one bias per gate (Greff's vanilla LSTM)",
    reference=f"Gers & Schmidhuber 2000; Graves 2012; {GREFF}, variant V",
    states="h, c",
    equations="""
        g = tanh(W_g @ x + U_g @ h_prev + b_g)                        # candidate
        i = sigmoid(W_i @ x + U_i @ h_prev + p_i * c_prev + b_i)      # input gate
        f = sigmoid(W_f @ x + U_f @ h_prev + p_f * c_prev + b_f)      # forget gate
        c = f * c_prev + i * g                                        # cell state
        o = sigmoid(W_o @ x + U_o @ h_prev + p_o * c + b_o)           # output gate
        h = o * tanh(c)                                               # hidden state
    """,
)


def _gate(gate: str, old: str, new: str) -> tuple[str, str]:
    """A gate of the vanilla LSTM with one term of its sum replaced."""
    node = LSTM_PEEPHOLE.node(gate)
    return node.text.replace(old, new), node.role


def _recurrent_gates(gate: str) -> str:
    """Greff's full gate recurrence: a gate also reads all three gates of the previous step."""
    return " + ".join(f"V_{gate}{source} @ {source}_prev" for source in "ifo")


# Greff's eight variants as edits of the vanilla spec: (what changes, edits, states).
GREFF_EDITS: dict[str, tuple[str, Edits, str]] = {
    "nig": ("no input gate", {"i": None, "c": ("f * c_prev + g", "cell state")}, ""),
    "nfg": ("no forget gate", {"f": None, "c": ("c_prev + i * g", "cell state")}, ""),
    "nog": ("no output gate", {"o": None, "h": ("tanh(c)", "hidden state")}, ""),
    "niaf": ("no input activation function", {"g": ("W_g @ x + U_g @ h_prev + b_g", "candidate")}, ""),
    "noaf": ("no output activation function", {"h": ("o * c", "hidden state")}, ""),
    "np": ("no peepholes", {g: _gate(g, f" + p_{g} * c{'' if g == 'o' else '_prev'}", "") for g in "ifo"}, ""),
    "cifg": ("coupled input and forget gate", {"f": ("1 - i", "forget gate")}, ""),
    "fgr": ("full gate recurrence", {g: _gate(g, "@ h_prev + ", f"@ h_prev + {_recurrent_gates(g)} + ") for g in "ifo"},
            "h, c, i, f, o"),
}


def _greff(key: str) -> Cell:
    what, edits, states = GREFF_EDITS[key]
    return edited(LSTM_PEEPHOLE, f"greff_{key}", edits, states=states, title=f"LSTM, {what} ({key.upper()})",
                  reference=f"{GREFF}, variant {key.upper()}")


LSTM_CIFG = define(
    "lstm_cifg",
    title="LSTM with coupled input and forget gates, i = 1 − f",
    reference="Greff et al. 2017 (CIFG); TensorFlow's CoupledInputForgetGateLSTMCell",
    states="h, c",
    equations="""
        f = sigmoid(W_f @ x + U_f @ h_prev + b_f)         # forget gate
        i = 1 - f                                         # input gate
        g = tanh(W_g @ x + U_g @ h_prev + b_g)            # candidate
        o = sigmoid(W_o @ x + U_o @ h_prev + b_o)         # output gate
        c = f * c_prev + i * g                            # cell state
        h = o * tanh(c)                                   # hidden state
    """,
)

MGU = edited(
    GRU_CHO, "mgu", {"r": None, "z": None, "f": ("sigmoid(W_f @ x + U_f @ h_prev + b_f)", "forget gate"),
                     "q": ("f * h_prev", "reset state"), "h": ("(1 - f) * h_prev + f * n", "hidden state")},
    title="Minimal gated unit: one gate both resets and updates",
    reference="Zhou et al. 2016, Minimal Gated Unit for Recurrent Neural Networks, eq. (8)",
)

GRU_SWAPPED = edited(
    GRU_CHO, "gru_swapped", {"h": ("z * n + (1 - z) * h_prev", "hidden state")},
    title="GRU with z weighting the candidate, as written by Ng and Olah",
    reference="Cho et al. 2014 with z and 1 − z exchanged; Ng's Deep Learning course; Olah 2015",
)


@dataclass(frozen=True)
class Variant:
    """A variant cell and the built-in cell whose symbols it shares in every notation."""

    cell: Cell
    family: str


VARIANTS: dict[str, Variant] = {
    v.cell.name: v for v in (
        Variant(LSTM_PEEPHOLE, "lstm"), Variant(LSTM_CIFG, "lstm"),
        *(Variant(_greff(key), "lstm") for key in GREFF_EDITS),
        Variant(MGU, "gru"), Variant(GRU_SWAPPED, "gru"),
    )
}
