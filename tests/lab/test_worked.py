"""The worked example: the printed backward lines, evaluated on the kernel's numbers, give the kernel's
gradients."""

import numpy as np
import pytest

from derive.lab import worked


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "gru_cho"])
def test_the_printed_lines_on_the_kernels_numbers_give_its_gradients(cell):
    found = worked.example(cell)
    assert found.line_grads.keys() == {k for k in found.kernel_grads if k not in ("x", "h0", "c0")}
    assert found.largest_difference < 1e-12
    assert all(np.isfinite(v).all() for step in found.deltas for v in step.values())


def test_the_example_is_not_degenerate():
    """The cell state's carry from step 2 into step 1 matters here, so a line that dropped it would show."""
    found = worked.example("lstm")
    carry = found.known[0]["d_c_next"]
    assert np.abs(carry).max() > 0.01  # the carry from step 2 is not negligible here
