"""Cells of your own: the TOML spec file.

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

``gated-rnn generate --spec FILE --out DIR`` writes the kernel ``DIR/<name>.py``, the LaTeX
``DIR/latex/<name>/*.tex`` and the page ``DIR/<name>.md``, whose directives read the spec file itself.
Errors found later, by the derivation, are reported against the file with :func:`reported_against`.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .spec import Cell, SpecError, define

REQUIRED = ("name", "states", "equations")
OPTIONAL = ("title", "reference", "output")


def load(path: Path | str) -> Cell:
    """The cell a TOML spec file defines; a SpecError names the file and what is wrong in it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: {exc}") from None
    with reported_against(path):
        return loads(text)


def loads(text: str) -> Cell:
    """The cell a spec file's text defines (what the playground's editor holds); a SpecError says what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"not TOML: {exc}") from None
    missing = [k for k in REQUIRED if k not in data]
    unknown = [k for k in data if k not in REQUIRED + OPTIONAL]
    if missing or unknown:
        raise SpecError("; ".join(
            ([f"missing {', '.join(missing)}"] if missing else [])
            + ([f"unknown key {', '.join(unknown)} (known: {', '.join(REQUIRED + OPTIONAL)})"] if unknown else [])))
    states = data["states"]
    if isinstance(states, list) and all(isinstance(s, str) for s in states):
        states = " ".join(states)
    wrong = [k for k in (*REQUIRED, *OPTIONAL) if k in data and not isinstance(states if k == "states" else data[k], str)]
    if wrong:
        raise SpecError(f"{', '.join(wrong)} must be text (states: text or a list of names)")
    return define(data["name"], data["equations"], states=states, output=data.get("output"),
                  title=data.get("title", ""), reference=data.get("reference", ""))


def dumps(cell: Cell, translate: Callable[[str], str] = str) -> str:
    """A spec file that :func:`loads` reads back as ``cell``; ``translate`` rewrites the title and the roles
    (the comments), which are prose."""
    width = max(len(f"{n.name} = {n.text}") for n in cell.nodes)
    equations = "\n".join(f"{f'{n.name} = {n.text}':<{width}}  # {translate(n.role)}" if n.role
                          else f"{n.name} = {n.text}" for n in cell.nodes)
    lines = [f"name = {_string(cell.name)}"]
    if cell.title != cell.name:
        lines.append(f"title = {_string(translate(cell.title))}")
    if cell.reference:
        lines.append(f"reference = {_string(cell.reference)}")
    lines.append(f"states = {_string(' '.join(cell.states))}")
    if cell.output != cell.states[0]:
        lines.append(f"output = {_string(cell.output)}")
    body = equations.replace("\\", "\\\\").replace('"', '\\"')
    lines.append(f'equations = """\n{body}\n"""')
    return "\n".join(lines) + "\n"


def _string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


@contextmanager
def reported_against(path: Path) -> Iterator[None]:
    """Re-raise a SpecError from the block with the spec file's path in front of its message."""
    try:
        yield
    except SpecError as exc:
        raise SpecError(f"{path}: {exc}") from None
