"""Published variants of the LSTM and the GRU, each a spec like the built-in cells.

Greff et al. 2017 ("LSTM: A Search Space Odyssey") start from a *vanilla* LSTM with peepholes and
one bias per gate, and change one thing at a time; their eight variants are written here as edits
of that vanilla spec, so each differs from it exactly where the paper says. The other variants
(coupled gates with i = 1 − f, the minimal gated unit, the GRU with z and 1 − z swapped) are
written out in full. Every variant gets a kernel, LaTeX and finite-difference tests like the
built-in cells.
"""

from __future__ import annotations

from dataclasses import dataclass

from .spec import Cell, define

GREFF = "Greff et al. 2017, LSTM: A Search Space Odyssey"

# node -> (right-hand side, role), in the order the paper writes them
Equations = dict[str, tuple[str, str]]

VANILLA: Equations = {
    "g": ("tanh(W_g @ x + U_g @ h_prev + b_g)", "candidate"),
    "i": ("sigmoid(W_i @ x + U_i @ h_prev + p_i * c_prev + b_i)", "input gate"),
    "f": ("sigmoid(W_f @ x + U_f @ h_prev + p_f * c_prev + b_f)", "forget gate"),
    "c": ("f * c_prev + i * g", "cell state"),
    "o": ("sigmoid(W_o @ x + U_o @ h_prev + p_o * c + b_o)", "output gate"),
    "h": ("o * tanh(c)", "hidden state"),
}


def gate_recurrence(gate: str) -> str:
    """Greff's full gate recurrence: every gate also reads all three gates of the previous step."""
    rhs = VANILLA[gate][0]
    extra = " + ".join(f"V_{gate}{src} @ {src}_prev" for src in "ifo")
    return rhs.replace("@ h_prev + ", f"@ h_prev + {extra} + ")


# Greff's eight variants as edits of the vanilla spec: None removes a node.
GREFF_EDITS: dict[str, tuple[str, dict[str, tuple[str, str] | None], str]] = {
    "nig": ("no input gate", {"i": None, "c": ("f * c_prev + g", "cell state")}, "h, c"),
    "nfg": ("no forget gate", {"f": None, "c": ("c_prev + i * g", "cell state")}, "h, c"),
    "nog": ("no output gate", {"o": None, "h": ("tanh(c)", "hidden state")}, "h, c"),
    "niaf": ("no input activation function", {"g": ("W_g @ x + U_g @ h_prev + b_g", "candidate")}, "h, c"),
    "noaf": ("no output activation function", {"h": ("o * c", "hidden state")}, "h, c"),
    "np": ("no peepholes", {g: (VANILLA[g][0].replace(f" + p_{g} * c_prev", "").replace(f" + p_{g} * c", ""),
                                VANILLA[g][1]) for g in "ifo"}, "h, c"),
    "cifg": ("coupled input and forget gate", {"f": ("1 - i", "forget gate")}, "h, c"),
    "fgr": ("full gate recurrence", {g: (gate_recurrence(g), VANILLA[g][1]) for g in "ifo"}, "h, c, i, f, o"),
}


def _text(equations: Equations) -> str:
    return "\n".join(f"{node} = {rhs}  # {role}" for node, (rhs, role) in equations.items())


def _greff(key: str) -> Cell:
    what, edits, states = GREFF_EDITS[key]
    equations = {node: edits.get(node, rhs) for node, rhs in VANILLA.items()}
    kept = {node: rhs for node, rhs in equations.items() if rhs is not None}
    return define(f"greff_{key}", _text(kept), states=states, output="h",
                  title=f"LSTM, {what} ({key.upper()})", reference=f"{GREFF}, variant {key.upper()}")


LSTM_PEEPHOLE = define(
    "lstm_peephole", _text(VANILLA), states="h, c",
    title="LSTM with peepholes, one bias per gate (Greff's vanilla LSTM)",
    reference=f"Gers & Schmidhuber 2000; Graves 2012; {GREFF}, variant V",
)

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

MGU = define(
    "mgu",
    title="Minimal gated unit: one gate both resets and updates",
    reference="Zhou et al. 2016, Minimal Gated Unit for Recurrent Neural Networks, eq. (8)",
    states="h",
    equations="""
        f = sigmoid(W_f @ x + U_f @ h_prev + b_f)         # forget gate
        q = f * h_prev                                    # reset state
        n = tanh(W_n @ x + U_n @ q + b_n)                 # candidate
        h = (1 - f) * h_prev + f * n                      # hidden state
    """,
)

GRU_SWAPPED = define(
    "gru_swapped",
    title="GRU with z weighting the candidate, as written by Ng and Olah",
    reference="Cho et al. 2014 with z and 1 − z exchanged; Ng's Deep Learning course; Olah 2015",
    states="h",
    equations="""
        r = sigmoid(W_r @ x + U_r @ h_prev + b_r)         # reset gate
        z = sigmoid(W_z @ x + U_z @ h_prev + b_z)         # update gate
        q = r * h_prev                                    # reset state
        n = tanh(W_n @ x + U_n @ q + b_n)                 # candidate
        h = z * n + (1 - z) * h_prev                      # hidden state
    """,
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
