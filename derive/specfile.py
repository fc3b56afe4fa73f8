"""Cells of your own: the TOML spec file, and the page stub written next to its kernel.

A spec file holds the same things as a built-in definition::

    name = "mgu"                                  # lowercase letters, digits and _
    states = "h"                                  # or ["h", "c"]; each state s is read as s_prev
    title = "Minimal gated unit"                  # optional
    reference = "Zhou et al. 2016"                # optional
    output = "h"                                  # optional: the node the kernel returns (default: first state)
    equations = '''
    f = sigmoid(W_f @ x + U_f @ h_prev + b_f)     # forget gate
    q = f * h_prev
    n = tanh(W_n @ x + U_n @ q + b_n)             # candidate
    h = (1 - f) * h_prev + f * n                  # hidden state
    '''

``python -m derive generate --spec FILE --out DIR`` writes the kernel ``DIR/<name>.py``, the LaTeX
``DIR/latex/<name>/*.tex`` and the page ``DIR/<name>.md``, whose directives read the spec file itself.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from .derivation import derive
from .spec import Cell, SpecError, define

REQUIRED = ("name", "states", "equations")
OPTIONAL = ("title", "reference", "output")


def load(path: Path) -> Cell:
    """The cell a TOML spec file defines; a SpecError names the file and what is wrong in it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(f"{path}: {exc}") from None
    missing = [k for k in REQUIRED if k not in data]
    unknown = [k for k in data if k not in REQUIRED + OPTIONAL]
    if missing or unknown:
        raise SpecError(f"{path}: " + "; ".join(
            ([f"missing {', '.join(missing)}"] if missing else [])
            + ([f"unknown key {', '.join(unknown)} (known: {', '.join(REQUIRED + OPTIONAL)})"] if unknown else [])))
    states = data["states"]
    if isinstance(states, list) and all(isinstance(s, str) for s in states):
        states = " ".join(states)
    wrong = [k for k in (*REQUIRED, *OPTIONAL) if k in data and not isinstance(states if k == "states" else data[k], str)]
    if wrong:
        raise SpecError(f"{path}: {', '.join(wrong)} must be text (states: text or a list of names)")
    try:
        cell = define(data["name"], data["equations"], states=states, output=data.get("output"),
                      title=data.get("title", ""), reference=data.get("reference", ""))
        derive(cell)  # what only the derivation can find is reported against the file too
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from None
    return cell


def page_stub(cell: Cell, spec: Path, page_dir: Path) -> str:
    """A MyST page showing the cell from its spec file: equations, gradients, diagram, kernel."""
    rel = Path(os.path.relpath(spec.resolve(), page_dir.resolve())).as_posix()

    def directive(name: str, argument: str = rel, *options: str) -> str:
        return "\n".join([f"```{{{name}}} {argument}", *options, "```"])

    reference = f"\n{cell.reference}\n" if cell.reference else ""
    return "\n\n".join([
        f"# {cell.title}\n{reference}",
        f"The cell as written in [{spec.name}]({rel}):",
        directive("cell-spec"),
        "## One step", directive("cell-diagram"), directive("cell-equations"),
        "## Backpropagation through time",
        "The gradient of every node and pre-activation at step $t$, with the terms that arrive from step $t+1$:",
        directive("cell-gradients"),
        "Weights and biases, summed over the steps:", directive("cell-gradients", rel, ":block: parameters"),
        "The input and the initial states:", directive("cell-gradients", rel, ":block: inputs"),
        "## Kernel",
        f"Generated into `{cell.name}.py` next to this page:",
        directive("literalinclude", f"{cell.name}.py", ":language: python"),
    ]) + "\n"
