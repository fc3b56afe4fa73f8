"""Command line: ``gated-rnn generate | list | show | figures | site`` (also ``python -m derive …``).

``generate``, ``list`` and ``show`` work wherever the package is installed; ``figures`` and ``site``
read and write files of the repository and say so when run outside a clone of it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .cells import specfile
from .cells.catalogue import get, known
from .cells.spec import SpecError
from .cells.variants import VARIANTS
from .derivation.bptt import derive
from .emit import files, latex, notation, unicode
from .paths import NotInRepository, in_repository, repository

PROG = "gated-rnn"


class UsageError(Exception):
    """A command line that cannot be carried out; the message says why, in one line."""


def output_dir(args: argparse.Namespace) -> Path:
    """Where ``generate`` writes: --out, else a clone's generated/ (built-in cells) or the current folder."""
    if args.out:
        root = Path(args.out)
    elif args.spec:
        root = Path(".")
    elif in_repository():
        return repository() / "generated"
    else:
        raise UsageError("generate: the package is installed, not run from a clone; give --out DIR")
    if root.exists() and not root.is_dir():
        raise UsageError(f"generate: --out {root} is a file, not a folder")
    return root


def cmd_generate(args: argparse.Namespace) -> int:
    root = output_dir(args)
    if args.spec:
        spec = Path(args.spec)
        cell = specfile.load(spec)
        with specfile.reported_against(spec):
            outputs = files.cell_outputs(cell, spec.name)  # the same header however the path is spelled
        outputs[f"{cell.name}.md"] = files.page_stub(cell, spec, root)
    else:
        outputs = files.builtin_outputs()
    if args.check:
        problems = files.stale(root, outputs, extra_allowed=bool(args.spec))
        for p in problems:
            print(f"stale: {p}")
        print(f"{len(problems)} stale of {len(outputs)} generated files in {root}" if problems else
              f"{len(outputs)} generated files up to date in {root}")
        return 1 if problems else 0
    written = files.write(root, outputs)
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} written, {len(outputs) - len(written)} unchanged in {root}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    for cell in known().values():
        print(f"{cell.name:14} {cell.title}" + (" (variant)" if cell.name in VARIANTS else ""))
    print("\nnotations (show CELL --notation NAME):")
    for view in notation.NOTATIONS.values():
        print(f"{view.name:14} {view.title}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    if args.cell.endswith(".toml"):
        cell = specfile.load(Path(args.cell))
        with specfile.reported_against(Path(args.cell)):
            d = derive(cell)
    else:
        cell = get(args.cell)
        d = derive(cell)
    view = notation.get(args.notation)
    print(f"{cell.title}\n")
    if args.latex:
        for name in latex.BLOCKS:
            print(f"% {name}: " + ", ".join(e.name for e in latex.block(d, name, view)))
            print(latex.aligned(latex.block(d, name, view)) + "\n")
        return 0
    for name, lines in unicode.blocks(d).items():
        print(f"{name} (:only: {', '.join(e.name for e in latex.block(d, name))})")
        if name in ("gradients", "parameters", "inputs"):  # where the name is not the left-hand side
            width = max(len(n) for n, _ in lines)
            lines = [(f"{n:<{width}}  ", text) for n, text in lines]
        print("\n".join(f"  {n if n.endswith(' ') else ''}{text}" for n, text in lines) + "\n")
    print(f"Products are elementwise (⊙); δv is ∂L/∂v at step t; a_g is the pre-activation of g; "
          f"--latex prints LaTeX{'' if args.notation == 'spec' else ' in the chosen notation'}.")
    return 0


def cmd_figures(args: argparse.Namespace) -> int:
    repository("figures (the experiments' data live in docs/analysis/_data)")
    from .lab import experiments  # the experiments import the generated kernels

    names = args.only or list(experiments.EXPERIMENTS)
    try:
        if args.check:
            problems = experiments.check(names, args.jobs)
            for p in problems:
                print(f"differs: {p}")
            print(f"{len(problems)} differences" if problems else f"figure data of {', '.join(names)} reproduced")
            return 1 if problems else 0
        for path in experiments.write(names, args.jobs):
            print(f"wrote {path}")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_site(args: argparse.Namespace) -> int:
    from .site import build  # Sphinx is needed only here

    out = Path(args.out or build.ROOT / "_build" / "html").resolve()
    try:
        if args.catalogs:
            build.update_catalogs(out)
            print(f"catalogs updated in {build.LOCALES}")
            return 0
        timings = build.build(out, args.language or list(build.LANGUAGES))
    except build.SiteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"site written to {out} (generate {timings['generate']:.1f} s, playground runtime "
          f"{timings['playground']:.1f} s, sphinx {timings['sphinx']:.1f} s)")
    return 0


def parser(prog: str = PROG) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="RNN, LSTM and GRU cells derived once in SymPy: "
                                "NumPy kernels, LaTeX and a bilingual reference site.")
    p.add_argument("--check", action="store_true", help="same as 'generate --check'")
    sub = p.add_subparsers(dest="command")
    g = sub.add_parser("generate", help="write the kernels and LaTeX of the built-in cells, or of a spec file")
    g.add_argument("--check", action="store_true", help="exit 1 and list stale files instead of writing")
    g.add_argument("--spec", help="a TOML cell spec to generate instead of the built-in cells")
    g.add_argument("--out", help="output folder (default: generated/ of the clone; for --spec the current folder)")
    g.set_defaults(run=cmd_generate)
    sub.add_parser("list", help="list the built-in cells, the variants and the notations").set_defaults(run=cmd_list)
    s = sub.add_parser("show", help="print a cell's equations and gradients")
    s.add_argument("cell", help="a built-in cell name or a .toml spec file")
    s.add_argument("--notation", default="spec", choices=sorted(notation.NOTATIONS),
                   help="the notation of the LaTeX (with --latex)")
    s.add_argument("--latex", action="store_true", help="print LaTeX instead of plain-text math")
    s.set_defaults(run=cmd_show)
    f = sub.add_parser("figures", help="run the gradient-flow experiments and write their data (docs/analysis/_data)")
    f.add_argument("--check", action="store_true", help="run them again and exit 1 if the committed data differ")
    f.add_argument("--only", action="append", help="one experiment (repeatable; default: all)")
    f.add_argument("--jobs", type=int, default=2, help="parallel processes (default: 2)")
    f.set_defaults(run=cmd_figures)
    w = sub.add_parser("site", help="generate, then build the reference site in every language")
    w.add_argument("--out", help="output directory (default: _build/html)")
    w.add_argument("--language", action="append", help="build only this language (repeatable)")
    w.add_argument("--catalogs", action="store_true", help="update the translation catalogs instead of building")
    w.set_defaults(run=cmd_site)
    return p


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    command = parser(prog)
    args = command.parse_args(argv)
    if args.command is None:
        if not args.check:
            command.print_help()
            return 2
        args = command.parse_args(["generate", "--check"])
    try:
        code = args.run(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except (SpecError, UsageError, NotInRepository) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader stopped early (``show … | head``): end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
