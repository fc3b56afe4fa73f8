"""Parameter counts from the specs equal torch's, for several sizes."""

import pytest
import torch

from derive import cells, interop
from derive.counts import count


@pytest.mark.parametrize("cell", list(interop.TORCH_CELLS))
@pytest.mark.parametrize("D, H", [(1, 1), (10, 20), (64, 128), (300, 7)])
def test_param_count_equals_torch(cell, D, H):
    module = getattr(torch.nn, interop.TORCH_CELLS[cell][0])(D, H)
    assert count(cells.get(cell), D, H).params == sum(p.numel() for p in module.parameters())


def test_lstm_work_per_step():
    c = count(cells.LSTM, 10, 20)
    assert c.matmul_macs == 4 * 20 * (10 + 20)
    assert c.activations == 5 * 20  # four gates and tanh(c)


def test_single_bias_gru_has_fewer_parameters():
    assert count(cells.GRU, 8, 16).params - count(cells.GRU_CHO, 8, 16).params == 3 * 16
