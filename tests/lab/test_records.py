"""The statistics of the success-rate experiments: learnt, steps to learn, Wilson intervals, the best rate."""

import pytest

from derive.lab import records


def test_wilson_intervals_match_their_formula_at_known_values():
    assert records.wilson(5, 5) == pytest.approx((0.5655, 1.0), abs=1e-4)
    assert records.wilson(0, 5) == pytest.approx((0.0, 0.4345), abs=1e-4)
    assert records.wilson(3, 5) == pytest.approx((0.2307, 0.8824), abs=1e-4)
    assert records.wilson(50, 100) == pytest.approx((0.4038, 0.5962), abs=1e-4)


@pytest.mark.parametrize("successes,trials", [(6, 5), (-1, 5), (0, 0)])
def test_an_impossible_rate_is_refused(successes, trials):
    with pytest.raises(ValueError, match=f"got {successes} of {trials}"):
        records.wilson(successes, trials)


def run(*losses: float) -> dict:
    return {"eval_step": [50 * k for k in range(len(losses))], "eval_loss": list(losses)}


def test_a_run_has_learnt_when_its_last_three_evaluations_average_below_a_tenth_of_the_baseline():
    assert records.learnt(run(1.0, 0.09, 0.09, 0.09), baseline=1.0)
    assert not records.learnt(run(0.05, 0.05, 0.25), baseline=1.0)  # a mean of 0.117: most of it, not all
    assert records.steps_to_learn(run(1.0, 0.09, 0.09, 0.09), 1.0) == 150
    assert records.steps_to_learn(run(1.0, 0.5, 0.2), 1.0) is None
    assert records.final_ratio(run(1.0, 0.5, 0.2, 0.2), 2.0) == pytest.approx(0.15)


def test_the_best_rate_has_most_runs_learnt_and_then_the_lowest_losses():
    learnt, close, far = run(0.05, 0.05, 0.05), run(0.2, 0.2, 0.2), run(0.9, 0.9, 0.9)
    equal = {"gru": {"0.01": {"10": [learnt, far], "20": [far, far]},
                     "0.03": {"10": [learnt, learnt], "20": [far, far]}},
             "rnn": {"0.01": {"10": [close, close], "20": [far, far]},
                     "0.03": {"10": [far, far], "20": [far, far]}}}
    assert records.best_rates(equal, {"10": 1.0, "20": 1.0}) == {"gru": "0.03", "rnn": "0.01"}
