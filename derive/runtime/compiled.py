"""Compile a fused kernel's C steps once per machine and call them from its driver.

The source is compiled with the system's C compiler (``$CC``, else ``cc``) for float and double into
one shared library in a cache directory (``$GATED_RNN_CACHE``, else ``~/.cache/gated-rnn``), named by a
hash of the source and the flags, and loaded with cffi. ``-march=native`` and fast math let the
compiler vectorise the loops and call glibc's vector exp and tanh; the steps cap the exponential's
argument, so no overflow occurs.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import numpy as np

FLAGS = ("-O3", "-march=native", "-ffast-math", "-fopenmp-simd", "-fPIC", "-shared")
FUNCTION = re.compile(r"^void NAME\((\w+)\)\(([^)]*)\)", re.MULTILINE)
# NAME(forward_step) is forward_step_f32 or forward_step_f64, by the precision a unit is compiled for
NAMING = "#define NAME_(f, s) f##_##s\n#define NAME2(f, s) NAME_(f, s)\n#define NAME(f) NAME2(f, {suffix})\n"
PRECISIONS = {np.dtype(np.float32): ("float", "f32"), np.dtype(np.float64): ("double", "f64")}


class CompileError(RuntimeError):
    """No C compiler, or the compiler refused the source."""


def directory() -> Path:
    return Path(os.environ.get("GATED_RNN_CACHE") or Path.home() / ".cache" / "gated-rnn")


@cache
def load(cell: str, source: str):
    """The compiled library of a cell's steps and its cffi handle: ``lib.forward_step_f32(...)`` for
    every function ``void NAME(forward_step)(…)`` of the source, once per precision."""
    import cffi

    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        raise CompileError(f"{cell}: the fused kernel needs a C compiler (set CC, or install gcc)")
    key = hashlib.sha256("\n".join([source, compiler, *FLAGS]).encode()).hexdigest()[:16]
    library = directory() / f"{cell}-{key}.so"
    if not library.exists():
        _compile(cell, compiler, source, library)
    ffi = cffi.FFI()
    ffi.cdef("\n".join(f"void {name}_{suffix}({args.replace('real', c)});" for c, suffix in PRECISIONS.values()
                       for name, args in FUNCTION.findall(source)))
    return ffi, ffi.dlopen(str(library))


def _compile(cell: str, compiler: str, source: str, library: Path) -> None:
    library.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        units = []
        for c, suffix in PRECISIONS.values():
            path = Path(tmp) / f"{cell}_{suffix}.c"
            path.write_text(f"typedef {c} real;\n{NAMING.format(suffix=suffix)}{source}", encoding="utf-8")
            units.append(str(path))
        built = Path(tmp) / library.name
        try:
            done = subprocess.run([compiler, *FLAGS, "-o", str(built), *units, "-lm"], capture_output=True,
                                  text=True, check=False)
        except OSError as e:
            raise CompileError(f"{cell}: the C compiler {compiler!r} could not run: {e.strerror}") from None
        if done.returncode:
            raise CompileError(f"{cell}: compiling the fused kernel failed:\n{done.stderr.strip()}")
        os.replace(built, library)  # atomic: a concurrent process sees the whole library or none


def suffix(dtype: np.dtype) -> str:
    """The suffix of the functions compiled for a precision: f32, f64."""
    return PRECISIONS[np.dtype(dtype)][1]


def source_beside(module_file: str) -> str:
    """The C source of a fused kernel module, kept beside it with the same name."""
    return Path(module_file).with_suffix(".c").read_text(encoding="utf-8")


# A fused kernel runs its whole time loop compiled, the recurrent products included, instead of one BLAS call
# per step, when a step's product has at most FEW_ROWS_LIMIT multiply-adds and the batch at most FEW_ROWS
# rows, or at most ANY_ROWS_LIMIT multiply-adds: a rule chosen from benchmarks/fused_loop.py's measurements
# (B of 1 to 16, H of 32 to 256, on a 2-core AMD EPYC with OpenBLAS), where it picks the faster loop in 109
# of 120 cases.
FEW_ROWS, FEW_ROWS_LIMIT, ANY_ROWS_LIMIT = 4, 2 ** 20, 2 ** 14


def small(B: int, H: int, n_h: int) -> bool:
    """Whether a step's recurrent product, B · H · n_h·H multiply-adds, is small enough for the compiled loop."""
    work = B * H * n_h * H
    return work <= ANY_ROWS_LIMIT or (B <= FEW_ROWS and work <= FEW_ROWS_LIMIT)


def rows(ffi, active: tuple[int, ...]):
    """The number of running rows of every step as a C int array, alive as long as the returned object."""
    return ffi.from_buffer("int[]", np.asarray(active, np.intc))


def pointers(ffi, dtype: np.dtype, *arrays: np.ndarray):
    """C pointers to the data of C-contiguous arrays of ``dtype``."""
    c = PRECISIONS[np.dtype(dtype)][0] + " *"
    for a in arrays:
        if not a.flags.c_contiguous or a.dtype != dtype:
            raise ValueError(f"a fused step needs C-contiguous {dtype} arrays, got {a.dtype} {a.strides}")
    return [ffi.cast(c, a.ctypes.data) for a in arrays]
