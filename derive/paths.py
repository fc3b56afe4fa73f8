"""Where things are: the package itself, the generated kernels, and the repository when the package
runs from a clone of it (the site and the lab read and write files there)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


class NotInRepository(RuntimeError):
    """A command that needs a clone of the repository ran from an installed package."""


def repository(what: str = "this command") -> Path:
    """The root of the clone this package runs from; NotInRepository, naming ``what``, when installed."""
    root = PACKAGE.parent
    if all((root / name).exists() for name in ("conf.py", "docs", "pyproject.toml")):
        return root
    raise NotInRepository(f"{what} needs a clone of the repository (its docs/ and conf.py); the package runs "
                          f"from {root}. Clone the repository and run it there.")


def in_repository() -> bool:
    """Whether the package runs from a clone of the repository."""
    try:
        repository()
    except NotInRepository:
        return False
    return True


def generated() -> Path:
    """The folder of the ``generated`` package (kernels, Jacobians, LaTeX), found without importing it."""
    found = importlib.util.find_spec("generated")
    if found is None or not found.submodule_search_locations:
        raise NotInRepository("the generated kernels are missing: reinstall the package or run "
                              "`gated-rnn generate` in a clone of the repository")
    return Path(next(iter(found.submodule_search_locations)))
