"""Command line: ``python -m derive generate | list | show | figures | site``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import cells, emit_latex, generate, notation, specfile, variants
from .derivation import derive
from .spec import SpecError

ROOT = Path(__file__).resolve().parent.parent


def cmd_generate(args: argparse.Namespace) -> int:
    if args.spec:
        cell = specfile.load(Path(args.spec))
        root = Path(args.out or ".")
        files = generate.cell_outputs(cell, Path(args.spec).name)  # the same header however the path is spelled
        files[f"{cell.name}.md"] = specfile.page_stub(cell, Path(args.spec), root)
    else:
        root, files = ROOT / "generated", generate.builtin_outputs()
    if args.check:
        problems = generate.stale(root, files) if not args.spec else [
            p for p in generate.stale(root, files) if not p.endswith("(not generated)")]
        for p in problems:
            print(f"stale: {p}")
        print(f"{len(problems)} stale of {len(files)} generated files" if problems else
              f"{len(files)} generated files up to date")
        return 1 if problems else 0
    written = generate.write(root, files)
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} written, {len(files) - len(written)} unchanged")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    for cell in cells.known().values():
        print(f"{cell.name:14} {cell.title}" + (" (variant)" if cell.name in variants.VARIANTS else ""))
    print("\nnotations (show CELL --notation NAME):")
    for view in notation.NOTATIONS.values():
        print(f"{view.name:14} {view.title}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    cell = specfile.load(Path(args.cell)) if args.cell.endswith(".toml") else cells.get(args.cell)
    view = notation.get(args.notation)
    d = derive(cell)
    print(f"{cell.title}\n")
    for node in cell.nodes:
        print(f"  {node.name} = {node.text}" + (f"    # {node.role}" if node.role else ""))
    for name in emit_latex.BLOCKS:
        print(f"\n% {name}")
        print(emit_latex.aligned(emit_latex.block(d, name, view)))
    return 0


def cmd_figures(args: argparse.Namespace) -> int:
    from . import figures  # the experiments import the generated kernels

    names = args.only or list(figures.EXPERIMENTS)
    try:
        if args.check:
            problems = figures.check(names, args.jobs)
            for p in problems:
                print(f"differs: {p}")
            print(f"{len(problems)} differences" if problems else f"figure data of {', '.join(names)} reproduced")
            return 1 if problems else 0
        for path in figures.write(names, args.jobs):
            print(f"wrote {path}")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_site(args: argparse.Namespace) -> int:
    from . import site  # Sphinx is needed only here

    out = Path(args.out or ROOT / "_build" / "html").resolve()
    try:
        if args.catalogs:
            site.update_catalogs(out)
            print(f"catalogs updated in {site.LOCALES}")
            return 0
        timings = site.build(out, args.language or list(site.LANGUAGES))
    except site.SiteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"site written to {out} (generate {timings['generate']:.1f} s, sphinx {timings['sphinx']:.1f} s)")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m derive", description=__doc__)
    p.add_argument("--check", action="store_true", help="same as 'generate --check'")
    sub = p.add_subparsers(dest="command")
    g = sub.add_parser("generate", help="write generated/ (kernels and LaTeX) from the cell specs")
    g.add_argument("--check", action="store_true", help="exit 1 and list stale files instead of writing")
    g.add_argument("--spec", help="a TOML cell spec to generate instead of the built-in cells")
    g.add_argument("--out", help="output directory for --spec: kernel, LaTeX and a page (default: current directory)")
    g.set_defaults(run=cmd_generate)
    sub.add_parser("list", help="list the built-in cells, the variants and the notations").set_defaults(run=cmd_list)
    s = sub.add_parser("show", help="print a cell's equations and gradients")
    s.add_argument("cell", help="a built-in cell name or a .toml spec file")
    s.add_argument("--notation", default="spec", choices=sorted(notation.NOTATIONS))
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


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command is None:
        if not args.check:
            parser().print_help()
            return 2
        args = parser().parse_args(["generate", "--check"])
    try:
        return args.run(args)
    except SpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
