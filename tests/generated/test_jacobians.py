"""The generated one-step Jacobians (generated/jacobians/) against central differences of the generated forward."""

import importlib

import numpy as np
import pytest

from derive import cells
from derive.emit import files as generate
from derive.cells import variants
from helpers import kernel, random_params, rel_err

ALL_CELLS = [*cells.BUILTIN, *variants.VARIANTS]
B, D, H = 2, 3, 4


def jacobians(cell: str):
    return importlib.import_module(f"generated.jacobians.{cell}")


def step_problem(cell: str, dtype=np.float64, seed: int = 0):
    rng = np.random.default_rng(seed)
    params = random_params(kernel(cell), D, H, rng, dtype)
    x = rng.standard_normal((B, D)).astype(dtype)
    prev = {f"{s}_prev": rng.standard_normal((B, H)).astype(dtype) for s in kernel(cell).STATES}
    return params, x, prev


def jacobian_by_differences(cell: str, params, x, prev, eps=1e-6) -> np.ndarray:
    """∂(states)_t/∂(states)_{t−1} of one step of the kernel, one column per perturbed previous state unit."""
    module = kernel(cell)
    flat = np.concatenate(list(prev.values()), axis=1)

    def states_after(vector):
        init = {f"{s}0": vector[:, k * H:(k + 1) * H] for k, s in enumerate(module.STATES)}
        cache = module.forward(params, x[None], **init)[1]
        return np.concatenate([cache[f"{s}_T"] for s in module.STATES], axis=1)

    columns = []
    for j in range(flat.shape[1]):
        step = np.zeros_like(flat)
        step[:, j] = eps
        columns.append((states_after(flat + step) - states_after(flat - step)) / (2 * eps))
    return np.stack(columns, axis=2)


@pytest.mark.parametrize("cell", ALL_CELLS)
def test_generated_jacobian_matches_finite_differences(cell):
    params, x, prev = step_problem(cell)
    got = jacobians(cell).jacobian(params, x, **prev)
    assert got.shape == (B, len(prev) * H, len(prev) * H)
    assert rel_err(got, jacobian_by_differences(cell, params, x, prev)) <= 1e-6


def test_rnn_jacobian_is_the_textbook_formula():
    params, x, prev = step_problem("rnn", seed=1)
    h = np.tanh(x @ params["W_h"].T + prev["h_prev"] @ params["U_h"].T + params["b_h"] + params["bh_h"])
    want = (1 - h**2)[:, :, None] * params["U_h"]
    assert rel_err(jacobians("rnn").jacobian(params, x, **prev), want) <= 1e-14


def test_lstm_cell_state_path_is_the_forget_gate():
    params, x, prev = step_problem("lstm", seed=2)
    f = 1 / (1 + np.exp(-(x @ params["W_f"].T + prev["h_prev"] @ params["U_f"].T + params["b_f"] + params["bh_f"])))
    blocks = jacobians("lstm").blocks(params, x, **prev)
    assert set(blocks) == {("h", "h"), ("h", "c"), ("c", "h"), ("c", "c")}
    assert rel_err(blocks["c", "c"], f[:, :, None] * np.eye(H)) <= 1e-14


def test_float32_stays_float32():
    params, x, prev = step_problem("gru", np.float32)
    assert jacobians("gru").jacobian(params, x, **prev).dtype == np.float32


@pytest.mark.parametrize("change, message", [
    (lambda p, x, s: (p, x[0], s), r"x must be a float32 or float64 array of shape \(B, D\)"),
    (lambda p, x, s: (p, x, {**s, "c_prev": s["c_prev"][:, :2]}), r"c_prev must be a float64 array of shape"),
    (lambda p, x, s: (p, x.astype(np.float32), s), "has dtype float64 but x has float32"),
    (lambda p, x, s: ({k: v for k, v in p.items() if k != "U_f"}, x, s), r"params missing \['U_f'\]"),
])
def test_bad_input_is_named(change, message):
    params, x, prev = change(*step_problem("lstm"))
    with pytest.raises(ValueError, match=message):
        jacobians("lstm").jacobian(params, x, **prev)


def test_every_cell_has_a_jacobian_module_and_latex():
    files = generate.builtin_outputs()
    for cell in ALL_CELLS:
        assert f"jacobians/{cell}.py" in files and f"latex/{cell}/jacobian.tex" in files
    assert r"\operatorname{diag}\left(f_{t}\right)" in files["latex/lstm/jacobian.tex"]
