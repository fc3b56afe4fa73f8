"""The kernels printed from the program representation compute what the string-built kernels did, to
rounding: both run here on the same inputs (tests/data/kernels_before_ir.tar.gz holds the earlier
modules as they were generated). The kernels have since changed how they order some sums (a contiguous
copy of Uᵀ, the sigmoid's sign folded into the products), so the last bits may differ; nothing else may."""

from __future__ import annotations

import importlib
import tarfile
import types
from pathlib import Path

import numpy as np
import pytest

from derive.cells.catalogue import known

ARCHIVE = Path(__file__).parents[1] / "data" / "kernels_before_ir.tar.gz"
OLD_IMPORTS = {"from derive.step_check import check_step": "from derive.runtime import check_step"}


def earlier(path: str) -> types.ModuleType:
    """The module at ``path`` of the archive, importing today's runtime checks."""
    with tarfile.open(ARCHIVE) as archive:
        source = archive.extractfile(path).read().decode("utf-8")
    for old, new in OLD_IMPORTS.items():
        source = source.replace(old, new)
    module = types.ModuleType(path)
    exec(compile(source, path, "exec"), module.__dict__)
    return module


def problem(module, dtype, seed: int = 0, T: int = 5, B: int = 3, D: int = 4, H: int = 6):
    rng = np.random.default_rng(seed)
    dims = {"H": H, "D": D}
    params = {k: (0.6 * rng.standard_normal([dims[s] for s in shape])).astype(dtype)
              for k, shape in module.PARAM_SHAPES.items()}
    x = rng.standard_normal((T, B, D)).astype(dtype)
    init = {f"{s}0": rng.standard_normal((B, H)).astype(dtype) for s in module.STATES}
    finals = {f"d{s}_T": rng.standard_normal((B, H)).astype(dtype) for s in module.STATES}
    return params, x, init, rng.standard_normal((T, B, H)).astype(dtype), finals


def run(module, params, x, init, g_seq, finals, lengths):
    out, cache = module.forward(params, x, **init, lengths=lengths)
    return out, module.backward(params, cache, g_seq, **finals)


ROUNDING = {np.float64: 1e-12, np.float32: 2e-5}  # relative to the largest magnitude of each result


def close(new: np.ndarray, old: np.ndarray, dtype) -> bool:
    return new.dtype == old.dtype and np.allclose(new, old, rtol=0, atol=ROUNDING[dtype] * max(np.abs(old).max(), 1))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cell", list(known()))
def test_kernels_compute_what_the_earlier_kernels_did(cell, dtype):
    new, old = importlib.import_module(f"generated.{cell}"), earlier(f"generated/{cell}.py")
    inputs = problem(new, dtype)
    for lengths in (None, np.array([5, 2, 4])):
        out_new, grads_new = run(new, *inputs, lengths)
        out_old, grads_old = run(old, *inputs, lengths)
        assert close(out_new, out_old, dtype)
        assert grads_new.keys() == grads_old.keys()
        for name in grads_new:
            assert close(grads_new[name], grads_old[name], dtype), name


@pytest.mark.parametrize("cell", list(known()))
def test_jacobians_compute_the_same_bits(cell):
    new, old = importlib.import_module(f"generated.jacobians.{cell}"), earlier(f"generated/jacobians/{cell}.py")
    params, x, init, _, _ = problem(new, np.float64)
    prevs = [init[f"{s}0"] for s in new.STATES]
    assert np.array_equal(new.jacobian(params, x[0], *prevs), old.jacobian(params, x[0], *prevs))
