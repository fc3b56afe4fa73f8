"""Errata: each published gradient fails the finite-difference check that the derived one passes."""

import pytest

from derive.emit import latex as emit_latex
from derive.lab import errata
from derive.emit import notation


@pytest.fixture(scope="module", params=list(errata.ERRATA))
def checked(request):
    erratum = errata.ERRATA[request.param]
    return erratum, errata.check(erratum)


def test_the_published_gradient_fails_and_the_derived_one_passes(checked):
    erratum, result = checked
    assert max(derived for _, derived in result.values()) <= 1e-6
    assert max(published for published, _ in result.values()) >= 0.1


def test_only_the_parameters_the_mistake_touches_fail():
    result = errata.check(errata.ERRATA["bias-gradients"])
    assert {name for name, (published, _) in result.items() if published > 1e-6} == {"b_i", "b_o"}


def test_the_missing_carry_spoils_every_gate_but_not_the_first_step_alone():
    """With one step and no gradient on the final cell state there is no δc_{t+1}: both agree."""
    erratum = errata.ERRATA["cell-state-carry"]
    prob = errata.problem(seed=3, T=1)
    prob[4]["dc_T"][:] = 0
    published, derived = erratum.gradients(prob), errata.derived_gradients(prob)
    assert all(abs(published[k] - derived[k]).max() <= 1e-12 for k in derived)


@pytest.mark.parametrize("view", list(notation.NOTATIONS))
def test_published_and_derived_equations_print_from_the_engine(view):
    for erratum in errata.ERRATA.values():
        if view == "wildml" and erratum.key == "bias-gradients":
            with pytest.raises(ValueError, match="writes no biases"):
                erratum.equations(notation.get(view))
            continue
        published, derived = erratum.equations(notation.get(view))
        assert [e.name for e in published] == [e.name for e in derived] == list(erratum.replaces)
        assert all(p.rhs != d.rhs and p.lhs == d.lhs for p, d in zip(published, derived))
        text = emit_latex.aligned(published)
        assert text.count("{") == text.count("}")


def test_the_dropped_term_is_the_carry_of_the_cell_state():
    published, derived = errata.ERRATA["cell-state-carry"].equations()
    assert derived[0].rhs == published[0].rhs + r" + \delta c_{t+1} \odot f_{t+1}"
