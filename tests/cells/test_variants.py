"""The variant cells: generated kernels pass finite differences, and each variant is the function it claims."""

import numpy as np
import pytest

from derive import cells
from derive.emit import diagram
from derive.cells import variants
from derive.cells.spec import SpecError
from derive.cells.variants import GREFF_EDITS, LSTM_PEEPHOLE
from helpers import check_against_differences, kernel, random_problem, rel_err


@pytest.mark.parametrize("name", list(variants.VARIANTS))
@pytest.mark.parametrize("shape", [(1, 1, 2, 3), (4, 2, 3, 5)])
def test_kernel_gradients_match_finite_differences(name, shape):
    check_against_differences(name, shape, 1e-6)  # the check of the built-in cells


def test_every_variant_is_a_known_cell_with_a_kernel():
    for name, variant in variants.VARIANTS.items():
        assert cells.get(name) is variant.cell and variant.family in cells.BUILTIN
        assert kernel(name).PARAM_SHAPES == variant.cell.param_shapes


def test_variant_diagrams_need_no_new_translations():
    """Diagram labels of the variants are roles the built-in cells already have (the catalog holds those)."""
    builtin = set(diagram.messages(cells.BUILTIN.values()))
    assert set(diagram.messages(v.cell for v in variants.VARIANTS.values())) <= builtin


@pytest.mark.parametrize("key", list(GREFF_EDITS))
def test_greff_variants_differ_from_vanilla_only_where_edited(key):
    vanilla, variant = variants.VARIANTS["lstm_peephole"].cell, variants.VARIANTS[f"greff_{key}"].cell
    edited = set(GREFF_EDITS[key][1])
    for node in vanilla.nodes:
        if node.name not in edited:
            assert variant.node(node.name).text == node.text, node.name
    assert {n.name for n in variant.nodes} == {n.name for n in LSTM_PEEPHOLE.nodes
                                               if GREFF_EDITS[key][1].get(n.name, True) is not None}


def run(name, params, x, init):
    return kernel(name).forward(params, x, **init)[0]


def problem(name, seed=0, T=5, B=3, D=4, H=6):
    params, x, init, _, _ = random_problem(kernel(name), T, B, D, H, seed)
    return params, x, init


def test_no_peepholes_is_the_torch_lstm_with_its_two_biases_summed():
    params, x, init = problem("lstm")
    single = {k: v for k, v in params.items() if not k.startswith("bh_")}
    single.update({f"b_{g}": params[f"b_{g}"] + params[f"bh_{g}"] for g in "ifgo"})
    assert rel_err(run("greff_np", single, x, init), run("lstm", params, x, init)) <= 1e-14


def test_zero_peepholes_give_the_lstm_without_peepholes():
    params, x, init = problem("lstm_peephole")
    params.update({f"p_{g}": np.zeros_like(params[f"p_{g}"]) for g in "ifo"})
    without = {k: v for k, v in params.items() if not k.startswith("p_")}
    assert rel_err(run("lstm_peephole", params, x, init), run("greff_np", without, x, init)) <= 1e-14


def test_peepholes_read_the_previous_cell_state_for_i_f_and_the_current_one_for_o():
    cell = variants.VARIANTS["lstm_peephole"].cell
    assert "p_i * c_prev" in cell.node("i").text and "p_f * c_prev" in cell.node("f").text
    assert "p_o * c " in cell.node("o").text + " "


def test_coupled_gates_sum_to_one():
    """lstm_cifg (i = 1 − f) and Greff's CIFG (f = 1 − i) are the same cell with the gate renamed."""
    params, x, init = problem("lstm_cifg")
    greff = {k: v for k, v in params.items() if k[-1] != "f"}
    greff.update({"W_i": -params["W_f"], "U_i": -params["U_f"], "b_i": -params["b_f"]})
    greff.update({f"p_{g}": np.zeros(params["b_f"].shape) for g in "io"})
    assert rel_err(run("greff_cifg", greff, x, init), run("lstm_cifg", params, x, init)) <= 1e-13


def test_full_gate_recurrence_with_zero_gate_weights_is_vanilla():
    params, x, init = problem("greff_fgr")
    params.update({k: np.zeros_like(v) for k, v in params.items() if k.startswith("V_")})
    vanilla = {k: v for k, v in params.items() if not k.startswith("V_")}
    vanilla_init = {k: init[k] for k in ("h0", "c0")}
    assert rel_err(run("greff_fgr", params, x, init), run("lstm_peephole", vanilla, x, vanilla_init)) <= 1e-14


def test_minimal_gated_unit_is_a_gru_whose_gates_are_tied():
    """MGU = gru_swapped with r and z one gate (Zhou et al. 2016)."""
    params, x, init = problem("mgu")
    gru = {"W_n": params["W_n"], "U_n": params["U_n"], "b_n": params["b_n"]}
    for g in "rz":
        gru.update({f"W_{g}": params["W_f"], f"U_{g}": params["U_f"], f"b_{g}": params["b_f"]})
    assert rel_err(run("gru_swapped", gru, x, init), run("mgu", params, x, init)) <= 1e-14


def test_the_two_gru_conventions_are_one_cell_with_the_update_gate_negated():
    """gru_cho with W_z, U_z, b_z negated computes gru_swapped; the gradients of those three change sign."""
    params, x, init = problem("gru_swapped")
    g_seq = np.random.default_rng(1).standard_normal((5, 3, 6))
    negated = {k: -v if k.endswith("_z") else v for k, v in params.items()}
    out_swapped, cache_swapped = kernel("gru_swapped").forward(params, x, **init)
    out_cho, cache_cho = kernel("gru_cho").forward(negated, x, **init)
    assert rel_err(out_cho, out_swapped) <= 1e-14
    grads_swapped = kernel("gru_swapped").backward(params, cache_swapped, g_seq)
    grads_cho = kernel("gru_cho").backward(negated, cache_cho, g_seq)
    for name, grad in grads_swapped.items():
        assert rel_err(-grads_cho[name] if name.endswith("_z") else grads_cho[name], grad) <= 1e-12, name


def test_the_engine_proves_the_conventions_equal_and_refuses_other_pairs():
    from derive.derivation import equivalence
    from derive.emit.latex import negated_gate_steps

    steps = negated_gate_steps(equivalence.negated_gate(cells.get("gru_swapped"), cells.get("gru_cho"), "z"))
    assert [s.name for s in steps] == ["identity", "gru_cho", "gru_swapped"]
    assert steps[0].lhs == r"\sigma\left(-\bar{z}_{t}\right)" and steps[0].rhs == r"1 - \sigma\left(\bar{z}_{t}\right)"
    with pytest.raises(SpecError, match="differ in 'h' after negating 'z'"):
        equivalence.negated_gate(cells.get("gru_swapped"), cells.get("gru"), "z")  # reset after the product
    with pytest.raises(SpecError, match="not a sigmoid"):
        equivalence.negated_gate(cells.get("gru_swapped"), cells.get("gru_cho"), "h")


def test_the_two_grus_coincide_for_a_diagonal_candidate_matrix_and_differ_otherwise():
    """docs/gru.md: reset before and after U_n agree when U_n is diagonal and b_hn = 0, not in general."""
    after, before = kernel("gru"), kernel("gru_cho")
    params, x, init, *_ = random_problem(before, 4, 3, 2, 5, seed=3)
    shared = {**params, "U_n": np.diag(np.diag(params["U_n"]))}
    zero = np.zeros_like(params["b_n"])
    as_after = {**shared, "bh_r": zero, "bh_z": zero, "bh_n": zero}
    assert rel_err(after.forward(as_after, x, **init)[0], before.forward(shared, x, **init)[0]) <= 1e-14
    general = {**params, "bh_r": zero, "bh_z": zero, "bh_n": zero}
    assert rel_err(after.forward(general, x, **init)[0], before.forward(params, x, **init)[0]) > 1e-3
