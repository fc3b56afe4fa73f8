"""Fused kernels (compiled steps) against torch autograd and against the NumPy kernels they replace."""

import importlib

import numpy as np
import pytest
from helpers import PARITY_SHAPES, TORCH_CELLS, check_parity, kernel, random_problem, rel_err
from hypothesis import given, settings

from derive import cells
from derive.derivation.bptt import derive
from derive.emit.fused import unfusable
from derive.emit.layout import plan
from derive.runtime import compiled

FUSED = sorted(n for n in cells.known() if not unfusable(derive(cells.get(n)), plan(derive(cells.get(n)))))


# compiled.small for the two ways a fused kernel runs its time loop: all of it compiled, recurrent products
# included, or in Python with a BLAS call and a compiled step per step
LOOPS = {"compiled loop": lambda B, H, n_h: True, "Python loop": lambda B, H, n_h: False}


def fused(cell: str):
    return importlib.import_module(f"generated.fused.{cell}")


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("cell", TORCH_CELLS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(max_examples=15, deadline=None)
@given(shape=PARITY_SHAPES)
def test_fused_parity_with_torch(loop, cell, dtype, shape):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compiled, "small", LOOPS[loop])
        check_parity(cell, *shape, dtype, module=fused(cell))


@pytest.mark.parametrize("loop", LOOPS)
@pytest.mark.parametrize("cell", FUSED)
@pytest.mark.parametrize("lengths", [None, np.array([6, 0, 2, 6])])
def test_fused_equals_the_numpy_kernel(loop, cell, lengths, monkeypatch):
    monkeypatch.setattr(compiled, "small", LOOPS[loop])
    plain, fast = kernel(cell), fused(cell)
    params, x, init, g_seq, g_final = random_problem(plain, 6, 4, 3, 5, seed=2)
    want_out, want_cache = plain.forward(params, x, **init, lengths=lengths)
    out, cache = fast.forward(params, x, **init, lengths=lengths)
    assert rel_err(out, want_out) <= 1e-14
    want = plain.backward(params, want_cache, g_seq, **g_final)
    got = fast.backward(params, cache, g_seq, **g_final)
    assert set(got) == set(want)
    for name in want:
        assert rel_err(got[name], want[name]) <= 1e-13, name


def test_the_unfusable_cells_say_why():
    d = derive(cells.get("mgu"))
    assert unfusable(d, plan(d)) == "the weights U_n multiply values computed inside the step"
    assert {"rnn", "lstm", "gru", "lstm_peephole"} <= set(FUSED)


def test_strided_gradients_are_accepted():
    module = fused("lstm")
    params, x, _, g_seq, _ = random_problem(module, 4, 3, 2, 5, seed=0)
    _, cache = module.forward(params, x)
    wide = np.zeros((4, 3, 10))
    wide[:, :, ::2] = g_seq
    strided = module.backward(params, cache, wide[:, :, ::2])
    assert rel_err(strided["x"], module.backward(params, cache, g_seq)["x"]) == 0


def test_a_missing_compiler_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("GATED_RNN_CACHE", str(tmp_path))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    with pytest.raises(compiled.CompileError, match="the C compiler .*no-such-cc.* could not run"):
        compiled.load.__wrapped__("demo", "void NAME(f)(int t) {}\n")


def test_a_compiler_error_is_shown(tmp_path, monkeypatch):
    monkeypatch.setenv("GATED_RNN_CACHE", str(tmp_path))
    with pytest.raises(compiled.CompileError, match="demo: compiling the fused kernel failed:(.|\n)*error"):
        compiled.load.__wrapped__("demo", "void NAME(f)(int t) { syntax error }\n")


def test_compiled_library_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("GATED_RNN_CACHE", str(tmp_path))
    ffi, lib = compiled.load.__wrapped__("demo", "void NAME(f)(int t, real *a) { a[0] = t; }\n")
    assert len(list(tmp_path.glob("demo-*.so"))) == 1
    a = np.zeros(1, np.float32)
    lib.f_f32(3, *compiled.pointers(ffi, np.float32, a))
    assert a[0] == 3


def test_the_compiled_loop_is_for_small_products():
    assert compiled.small(1, 256, 4) and compiled.small(4, 256, 4) and compiled.small(16, 32, 1)
    assert not compiled.small(8, 64, 4) and not compiled.small(4, 1024, 4) and not compiled.small(128, 512, 1)
