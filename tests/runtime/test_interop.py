"""Conversions between torch.nn recurrent modules and the kernels' parameter dicts."""

import numpy as np
import pytest
import torch

from derive.runtime import interop
from helpers import TORCH_CELLS, kernel


@pytest.mark.parametrize("cell", TORCH_CELLS)
def test_round_trip(cell):
    module = getattr(torch.nn, interop.TORCH_CELLS[cell][0])(3, 4).double()
    name, params = interop.from_torch(module)
    assert name == cell and set(params) == set(kernel(cell).PARAM_SHAPES)
    back = interop.to_torch(cell, params)
    for n, p in module.named_parameters():
        np.testing.assert_array_equal(getattr(back, n).detach().numpy(), p.detach().numpy())


def test_gate_order_follows_torch():
    module = torch.nn.LSTM(2, 3)
    _, params = interop.from_torch(module)
    weight = module.weight_ih_l0.detach().numpy()
    np.testing.assert_array_equal(params["W_g"], weight[6:9])  # rows i, f, g, o
    _, gru = interop.from_torch(torch.nn.GRU(2, 3))
    assert gru["W_n"].dtype == np.float32


def test_stacked_bidirectional_round_trip():
    module = torch.nn.GRU(3, 4, num_layers=2, bidirectional=True).double()
    cell, params = interop.from_torch(module)
    assert cell == "gru" and sorted(params) == ["l0", "l0_reverse", "l1", "l1_reverse"]
    assert params["l1"]["W_r"].shape == (4, 8)  # layer 1 reads both directions of layer 0
    names = interop.grads_to_torch("gru", params)
    assert names.keys() == dict(module.named_parameters()).keys()
    back = interop.to_torch("gru", params)
    assert back.num_layers == 2 and back.bidirectional
    for n, p in module.named_parameters():
        np.testing.assert_array_equal(getattr(back, n).detach().numpy(), p.detach().numpy())


def test_grads_to_torch_shapes():
    grads = {f"{p}_{g}": np.zeros((3, 2) if p == "W" else (3, 3) if p == "U" else 3)
             for p in ("W", "U", "b", "bh") for g in "rzn"}
    out = interop.grads_to_torch("gru", grads)
    assert {k: v.shape for k, v in out.items()} == {"weight_ih_l0": (9, 2), "weight_hh_l0": (9, 3),
                                                    "bias_ih_l0": (9,), "bias_hh_l0": (9,)}
    with pytest.raises(ValueError, match="missing W_r"):
        interop.grads_to_torch("gru", {})


@pytest.mark.parametrize("module, message", [
    (torch.nn.RNN(2, 3, nonlinearity="relu"), "nonlinearity"),
    (torch.nn.LSTM(2, 3, batch_first=True), "batch_first"),
    (torch.nn.GRU(2, 3, bias=False), "bias"),
    (torch.nn.LSTM(2, 3, proj_size=2), "proj_size"),
    (torch.nn.Linear(2, 3), "expected torch.nn.RNN"),
])
def test_unsupported_modules(module, message):
    with pytest.raises(ValueError, match=message):
        interop.from_torch(module)
