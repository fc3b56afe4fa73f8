"""Stacked and bidirectional layers against torch, with and without sequence lengths."""

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from derive.runtime import interop
from derive.runtime import layers
from helpers import rel_err

TOL = 1e-9


def torch_reference(module, x, states, g_out, g_final, lengths):
    xt = torch.from_numpy(x).requires_grad_()
    st = [torch.from_numpy(s).requires_grad_() for s in states]
    source = xt if lengths is None else pack_padded_sequence(xt, torch.from_numpy(lengths), enforce_sorted=False)
    out, final = module(source, tuple(st) if len(st) == 2 else st[0])
    if lengths is not None:
        out, _ = pad_packed_sequence(out, total_length=x.shape[0])
    finals = final if len(st) == 2 else (final,)
    total = (out * torch.from_numpy(g_out)).sum() + sum((f * torch.from_numpy(g)).sum()
                                                         for f, g in zip(finals, g_final))
    total.backward()
    grads = {n: p.grad.numpy() for n, p in module.named_parameters()}
    return out.detach().numpy(), [f.detach().numpy() for f in finals], grads, xt.grad.numpy(), [s.grad.numpy() for s in st]


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("with_lengths", [False, True])
def test_two_layer_stack_matches_torch(cell, bidirectional, with_lengths):
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    T, B, D, H = 6, 4, 3, 5
    module = getattr(torch.nn, interop.TORCH_CELLS[cell][0])(D, H, num_layers=2, bidirectional=bidirectional).double()
    _, params = interop.from_torch(module)
    runs = 2 * (2 if bidirectional else 1)
    x = rng.standard_normal((T, B, D))
    n_states = 2 if cell == "lstm" else 1
    states = [rng.standard_normal((runs, B, H)) for _ in range(n_states)]
    lengths = np.array([6, 2, 5, 1]) if with_lengths else None
    width = H * (2 if bidirectional else 1)
    g_out = rng.standard_normal((T, B, width))
    g_final = [rng.standard_normal((runs, B, H)) for _ in range(n_states)]

    out, cache = layers.forward(cell, params, x, *states, lengths=lengths)
    grads = layers.backward(params, cache, g_out, *g_final)
    want_out, want_final, want_grads, want_x, want_states = torch_reference(module, x, states, g_out, g_final, lengths)

    assert rel_err(out, want_out) <= TOL
    for s, want in zip(("h", "c"), want_final):
        assert rel_err(cache[f"{s}_n"], want) <= TOL
    ours = interop.grads_to_torch(cell, {k: v for k, v in grads.items() if k.startswith("l")})
    assert ours.keys() == want_grads.keys()
    for name in want_grads:
        assert rel_err(ours[name], want_grads[name]) <= TOL, name
    assert rel_err(grads["x"], want_x) <= TOL
    for s, want in zip(("h", "c"), want_states):
        assert rel_err(grads[f"{s}0"], want) <= TOL


def test_bad_layer_keys_and_states():
    params = {"l0": {}, "l2": {}}
    with pytest.raises(ValueError, match="expected keys"):
        layers.shape_of(params)
    _, ok = interop.from_torch(torch.nn.GRU(2, 3, num_layers=2).double())
    with pytest.raises(ValueError, match=r"h0 must have shape \(layers · directions, B, H\) = \(2, 4, 3\), "
                                         r"got \(1, 4, 3\)"):
        layers.forward("gru", ok, np.zeros((3, 4, 2)), h0=np.zeros((1, 4, 3)))
    with pytest.raises(ValueError, match=r"h0 must have shape .* = \(2, 4, 3\), got \(2, 4, 6\)"):
        layers.forward("gru", ok, np.zeros((3, 4, 2)), h0=np.zeros((2, 4, 6)))  # both directions' H concatenated


def test_a_layer_error_names_the_layer():
    _, ok = interop.from_torch(torch.nn.LSTM(2, 3, num_layers=2).double())
    ok["l1"]["W_f"] = np.zeros((3, 5))
    with pytest.raises(ValueError, match=r"^layers: layer l1: lstm.forward: params\['W_f'\] has shape \(3, 5\), "
                                         r"expected \(H, D\) = \(3, 3\)$"):
        layers.forward("lstm", ok, np.zeros((3, 4, 2)))
    with pytest.raises(ValueError, match="no generated kernel for the cell 'lstmm'"):
        layers.forward("lstmm", ok, np.zeros((3, 4, 2)))


def test_backward_checks_the_output_gradient_of_the_stack():
    _, ok = interop.from_torch(torch.nn.GRU(2, 3, num_layers=1, bidirectional=True).double())
    _, cache = layers.forward("gru", ok, np.zeros((3, 4, 2)))
    with pytest.raises(ValueError, match=r"d_out must have shape \(T, B, directions · H\) = \(3, 4, 6\), got \(3, 4, 3\)"):
        layers.backward(ok, cache, np.zeros((3, 4, 3)))
    with pytest.raises(ValueError, match="no cell state"):
        layers.forward("gru", ok, np.zeros((3, 4, 2)), c0=np.zeros((2, 4, 3)))


def test_reversal_is_an_involution():
    index = layers.reversal(np.array([3, 0, 1]), 4, 3)
    a = np.arange(12.0).reshape(4, 3, 1)
    flipped = np.take_along_axis(a, index[:, :, None], axis=0)
    assert flipped[:3, 0, 0].tolist() == [6.0, 3.0, 0.0] and flipped[3, 0, 0] == 9.0
    np.testing.assert_array_equal(np.take_along_axis(flipped, index[:, :, None], axis=0), a)
