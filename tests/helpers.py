"""Shared test helpers: random parameters, relative errors, finite differences, torch runs."""

from __future__ import annotations

import importlib
import re

import numpy as np
from hypothesis import strategies as st

from derive.runtime import interop

TORCH_CELLS = ("rnn", "lstm", "gru")


def kernel(cell: str):
    return importlib.import_module(f"generated.{cell}")


def rel_err(got: np.ndarray, want: np.ndarray) -> float:
    """max |got − want| / max |want| (want at least 1e-12)."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    return float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-12))


def random_params(module, D: int, H: int, rng: np.random.Generator, dtype=np.float64, scale=0.5) -> dict:
    dims = {"H": H, "D": D}
    return {name: (rng.standard_normal([dims[s] for s in shape]) * scale).astype(dtype)
            for name, shape in module.PARAM_SHAPES.items()}


def random_problem(module, T: int, B: int, D: int, H: int, seed: int, dtype=np.float64):
    """Params, x, initial states, output gradients and final-state gradients."""
    rng = np.random.default_rng(seed)
    params = random_params(module, D, H, rng, dtype)
    x = rng.standard_normal((T, B, D)).astype(dtype)
    init = {f"{s}0": rng.standard_normal((B, H)).astype(dtype) for s in module.STATES}
    g_seq = rng.standard_normal((T, B, H)).astype(dtype)
    g_final = {f"d{s}_T": rng.standard_normal((B, H)).astype(dtype) for s in module.STATES}
    return params, x, init, g_seq, g_final


def loss(module, params, x, init, g_seq, g_final) -> float:
    out, cache = module.forward(params, x, **init)
    total = float((out * g_seq).sum())
    return total + sum(float((cache[f"{s}_T"] * g_final[f"d{s}_T"]).sum()) for s in module.STATES)


def numerical_gradient(f, array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar f() with respect to every entry of array (in place)."""
    grad = np.zeros_like(array)
    for idx in np.ndindex(array.shape):
        old = array[idx]
        array[idx] = old + eps
        plus = f()
        array[idx] = old - eps
        minus = f()
        array[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


def torch_run(cell: str, params, x, init, g_seq, g_final, lengths=None):
    """Forward output and gradients of the same loss through torch autograd, in torch's names.

    With lengths, the sequences go through torch as a packed batch (pack_padded_sequence).
    """
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from derive.runtime import interop

    module = interop.to_torch(cell, params)
    xt = torch.from_numpy(x.copy()).requires_grad_()
    states = [torch.from_numpy(init[f"{s}0"][None].copy()).requires_grad_() for s in kernel(cell).STATES]
    source = xt if lengths is None else pack_padded_sequence(xt, torch.from_numpy(lengths), enforce_sorted=False)
    out, final = module(source, tuple(states) if cell == "lstm" else states[0])
    if lengths is not None:
        out, _ = pad_packed_sequence(out, total_length=x.shape[0])
    finals = final if cell == "lstm" else (final,)
    total = (out * torch.from_numpy(g_seq)).sum()
    for s, f in zip(kernel(cell).STATES, finals):
        total = total + (f[0] * torch.from_numpy(g_final[f"d{s}_T"])).sum()
    total.backward()
    grads = {name: p.grad.numpy() for name, p in module.named_parameters()}
    grads["x"] = xt.grad.numpy()
    grads.update({f"{s}0": st.grad[0].numpy() for s, st in zip(kernel(cell).STATES, states)})
    return out.detach().numpy(), grads


def check_against_differences(cell: str, shape: tuple[int, int, int, int], tolerance: float) -> None:
    """Every gradient of a generated kernel within ``tolerance`` of central differences."""
    module = kernel(cell)
    params, x, init, g_seq, g_final = random_problem(module, *shape, seed=sum(shape))
    _, cache = module.forward(params, x, **init)
    grads = module.backward(params, cache, g_seq, **g_final)
    assert set(grads) == {*params, "x", *init}

    def f() -> float:
        return loss(module, params, x, init, g_seq, g_final)

    for name, array in [*params.items(), ("x", x), *init.items()]:
        assert rel_err(grads[name], numerical_gradient(f, array)) <= tolerance, name


TOLERANCE = {np.float64: 1e-9, np.float32: 1e-4}
# float32 rounding of a gradient that is a sum with cancellation can exceed any relative tolerance
# (a bias gradient of 1e-4 summed from terms of 1): there the kernel is held to torch's own float32 error
# against the float64 result, within this factor
FLOAT32_VS_TORCH = 8
PARITY_SHAPES = st.tuples(st.integers(1, 7), st.integers(1, 5), st.integers(1, 6), st.integers(1, 7),
                          st.integers(0, 2**31))


def check_parity(cell: str, T: int, B: int, D: int, H: int, seed: int, dtype, module=None) -> None:
    module = module or kernel(cell)
    params, x, init, g_seq, g_final = random_problem(module, T, B, D, H, seed, dtype)
    out, cache = module.forward(params, x, **init)
    grads = module.backward(params, cache, g_seq, **g_final)
    want_out, want = torch_run(cell, params, x, init, g_seq, g_final)
    tol = TOLERANCE[dtype]
    assert rel_err(out, want_out) <= tol
    ours = interop.grads_to_torch(cell, grads)
    ours.update({k: grads[k] for k in ("x", *(f"{s}0" for s in module.STATES))})
    assert set(ours) == set(want)
    exact = want if dtype == np.float64 else torch_run(cell, *as_float64(params, x, init, g_seq, g_final))[1]
    for name in want:
        assert ours[name].dtype == dtype, name
        allowed = max(tol, FLOAT32_VS_TORCH * rel_err(want[name], exact[name])) if dtype == np.float32 else tol
        assert rel_err(ours[name], exact[name]) <= allowed, (name, rel_err(ours[name], exact[name]), allowed)


def as_float64(params, x, init, g_seq, g_final):
    """The same problem in float64."""
    wide = lambda d: {k: v.astype(np.float64) for k, v in d.items()}
    return wide(params), x.astype(np.float64), wide(init), g_seq.astype(np.float64), wide(g_final)


def latex_blocks(printed: str) -> dict[str, str]:
    """The blocks ``gated-rnn show --latex`` printed: {block: LaTeX}."""
    return {name: body.strip() for name, body in re.findall(r"^% (\w+): [^\n]*\n(.*?)(?=^% |\Z)", printed,
                                                             flags=re.DOTALL | re.MULTILINE)}
