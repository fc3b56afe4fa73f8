"""What the pages on learning long dependencies and on the language model say of their runs holds in the
committed data: when the data is regenerated, a failure here names the sentence to rewrite."""

import numpy as np
import pytest

from derive.lab import experiments, records


def learnt(name: str, comparison: str, cell: str) -> dict[int, int]:
    """Runs learnt of five, by length, at the cell's best learning rate."""
    data = experiments.load(name)
    runs = records.compared_runs(data, comparison, cell)
    return {int(T): records.success(seeds, data["baselines"][T])[0] for T, seeds in runs.items()}


def steps(name: str, cell: str, length: int) -> list[float]:
    """Steps to learn of each run (a run that never learnt counts as never: infinity)."""
    data = experiments.load(name)
    runs = records.compared_runs(data, "equal", cell)[str(length)]
    taken = [records.steps_to_learn(run, data["baselines"][str(length)]) for run in runs]
    return [np.inf if t is None else t for t in taken]


def test_the_adding_problem_rates_are_those_the_page_reads():
    assert learnt("adding", "equal", "rnn") == {10: 5, 20: 2, 50: 0, 100: 0, 200: 0}
    assert learnt("adding", "equal", "lstm") == {10: 5, 20: 5, 50: 5, 100: 5, 200: 4}
    assert learnt("adding", "equal", "gru") == {10: 5, 20: 5, 50: 5, 100: 5, 200: 5}
    assert learnt("adding", "matched", "rnn") == {10: 5, 20: 0, 50: 0, 100: 0, 200: 0}
    assert learnt("adding", "matched", "gru") == learnt("adding", "equal", "gru")
    assert records.wilson(5, 5)[0] > records.wilson(0, 5)[1]  # "apart": 0.57 to 1 against 0 to 0.43
    assert records.wilson(4, 5)[0] < records.wilson(0, 5)[1]  # the LSTM's 4 of 5 is not apart from 0 of 5


def test_every_gru_run_learnt_the_adding_problem_before_every_lstm_run_from_length_20():
    data = experiments.load("adding")
    assert data["best"]["lstm"] == data["best"]["gru"] == "0.03"
    for T in (20, 50, 100, 200):
        assert max(steps("adding", "gru", T)) < min(steps("adding", "lstm", T)), T
    assert not max(steps("adding", "gru", 10)) < min(steps("adding", "lstm", 10))  # "from length 20 on"
    assert (min(steps("adding", "gru", 200)), max(steps("adding", "gru", 200))) == (250, 300)
    lstm = sorted(steps("adding", "lstm", 200))
    assert (lstm[0], lstm[3], lstm[4]) == (1300, 1750, np.inf)


def test_the_simple_rnn_at_length_20_learnt_most_of_the_adding_problem():
    data = experiments.load("adding")
    runs = records.compared_runs(data, "equal", "rnn")
    baseline = data["baselines"]["20"]
    short = [records.final_ratio(run, baseline) for run in runs["20"] if not records.learnt(run, baseline)]
    assert len(short) == 3 and 0.105 <= min(short) and max(short) < 0.175
    longer = [records.final_ratio(run, data["baselines"][T]) for T in ("50", "100", "200") for run in runs[T]]
    assert 0.885 <= min(longer) and max(longer) < 1.245


def test_the_copy_memory_rates_are_those_the_page_reads():
    assert learnt("short-copy", "equal", "rnn") == {5: 0, 10: 0, 20: 0, 50: 0}
    assert learnt("short-copy", "equal", "lstm") == {5: 4, 10: 2, 20: 0, 50: 0}
    equal_gru = learnt("short-copy", "equal", "gru")
    assert equal_gru[5] == 5 and all(2 <= equal_gru[T] <= 4 for T in (10, 20, 50))
    assert learnt("short-copy", "matched", "gru") == {5: 5, 10: 5, 20: 5, 50: 5}
    assert learnt("short-copy", "matched", "rnn")[20] == learnt("short-copy", "matched", "rnn")[50] == 0
    data = experiments.load("short-copy")
    for lr, by_length in data["runs"]["equal"]["lstm"].items():  # "at any of the three learning rates"
        assert [records.success(by_length[T], data["baselines"][T])[0] for T in ("20", "50")] == [0, 0], lr


def lowest(corpus: str, cell: str) -> list[float]:
    """The lowest held-out perplexity of each run of a cell, both kinds of window."""
    runs = experiments.load("language-model")["runs"][corpus][cell]
    return [float(np.exp(min(run["eval_loss"]))) for seeds in runs.values() for run in seeds]


def column(corpus: str, cell: str, key: str, at: int) -> list[float]:
    runs = experiments.load("language-model")["runs"][corpus][cell]
    return [float(np.exp(run[key][at])) for seeds in runs.values() for run in seeds]


def test_the_english_language_models_are_ordered_as_the_page_says():
    ranges = {cell: (round(min(lowest("english", cell)), 2), round(max(lowest("english", cell)), 2))
              for cell in records.DEPENDENCY_CELLS}
    assert ranges == {"gru": (3.56, 3.61), "lstm": (3.67, 3.73), "rnn": (3.76, 3.80)}
    first = experiments.load("language-model")["runs"]["english"]
    assert [round(float(np.exp(first[c]["fixed"][0]["eval_loss"][1])), 1) for c in ("rnn", "lstm", "gru")] == \
        [6.9, 8.7, 7.5]
    training = [v for cell in records.DEPENDENCY_CELLS for v in column("english", cell, "train_loss", -1)]
    assert 2.7 <= min(training) and max(training) < 3.25


def test_every_chinese_language_model_overfits_as_the_page_says():
    data = experiments.load("language-model")
    lows = [v for cell in records.DEPENDENCY_CELLS for v in lowest("chinese", cell)]
    assert 222.5 <= min(lows) and max(lows) < 241.5
    best_steps = [run["eval_step"][int(np.argmin(run["eval_loss"]))]
                  for by in data["runs"]["chinese"].values() for seeds in by.values() for run in seeds]
    assert (min(best_steps), max(best_steps)) == (150, 450)
    ends = {cell: column("chinese", cell, "eval_loss", -1) for cell in records.DEPENDENCY_CELLS}
    assert 276.5 <= min(ends["lstm"]) and max(ends["lstm"]) < 320
    assert 500 <= min(ends["rnn"] + ends["gru"]) and max(ends["rnn"] + ends["gru"]) < 670.5
    training = {cell: column("chinese", cell, "train_loss", -1) for cell in records.DEPENDENCY_CELLS}
    assert 39 <= min(training["lstm"]) and max(training["lstm"]) < 43.5
    assert 11 <= min(training["rnn"] + training["gru"]) and max(training["rnn"] + training["gru"]) < 16.5


@pytest.mark.parametrize("cell", records.DEPENDENCY_CELLS)
def test_randomized_windows_end_lower_on_the_chinese_text_by_5_to_8_percent(cell):
    runs = experiments.load("language-model")["runs"]["chinese"][cell]
    end = {kind: np.median([np.exp(run["eval_loss"][-1]) for run in seeds]) for kind, seeds in runs.items()}
    assert 0.05 <= 1 - end["randomized"] / end["fixed"] <= 0.085
