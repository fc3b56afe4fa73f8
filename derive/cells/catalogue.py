"""Every cell the project knows by name: the built-in cells, then their published variants."""

from __future__ import annotations

from .builtin import BUILTIN
from .spec import Cell, SpecError
from .variants import VARIANTS


def known() -> dict[str, Cell]:
    """The built-in cells, then the variants (which build on them)."""
    return {**BUILTIN, **{name: v.cell for name, v in VARIANTS.items()}}


def get(name: str) -> Cell:
    """The built-in or variant cell of that name."""
    cells = known()
    if name not in cells:
        raise SpecError(f"unknown cell {name!r} (built-in: {', '.join(BUILTIN)}; "
                        f"variants: {', '.join(VARIANTS)})")
    return cells[name]
