"""Shared test helpers: random parameters, relative errors, finite differences, torch runs."""

from __future__ import annotations

import importlib

import numpy as np

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
