"""The δ recursions of stacked and bidirectional layers, against the derivative of the unrolled loss."""

import pytest

from derive.derivation import layers
from derive.emit import identities


@pytest.mark.parametrize("steps", [2, 3, 4])
def test_the_recursions_give_the_derivative_of_the_unrolled_loss(steps):
    layers.check_stacked(steps)  # raises if a recursion differs, or if one path alone would do
    layers.check_bidirectional(steps)


def test_the_printed_recursions_name_both_paths():
    printed = {e.name: e for e in identities.stacked() + identities.bidirectional()}
    assert r"\delta h^{(l+1)}_{t}" in printed["stacked-delta"].rhs and r"\delta h^{(l)}_{t+1}" in printed["stacked-delta"].rhs
    assert r"\delta \overleftarrow{h}_{t-1}" in printed["bi-delta-backwards"].rhs
    assert printed["bi-input"].rhs.count(r"\delta") == 2
