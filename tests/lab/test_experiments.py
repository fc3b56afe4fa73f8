"""The committed figure data: present, reproduced by a small slice of each experiment, drawn deterministically."""

from dataclasses import asdict, replace

import pytest

from derive.lab import plots as analysis_plots
from derive.lab import experiments as figures
from derive.lab import plotting, records
from derive.cli import main


def test_every_experiment_has_committed_data():
    for name, experiment in figures.EXPERIMENTS.items():
        data = figures.load(name)
        assert data["settings"] == figures.rounded(experiment.settings), name


@pytest.mark.slow  # a full measurement
def test_a_gradient_flow_curve_is_reproduced():
    committed = figures.load("gradient-flow")["curves"]["gru"]
    fresh = figures.rounded(figures.measure_cell("gru", draw=3))
    assert figures.differences({k: committed[k]["draws"][3] for k in fresh}, fresh) == []


@pytest.mark.parametrize("name", ["gradient-flow", "forget-bias", "recurrent-init"])
def test_each_summary_is_the_median_and_quartiles_of_the_draws(name):
    curves = figures.load(name)["curves"]
    for cell, measures in curves.items():
        for summary in (m for m in measures.values() if isinstance(m["median"], list)):
            draws = summary["draws"]
            assert len(draws) == figures.FLOW_DRAWS >= 10
            for k in (0, 9, 49, 99):
                column = sorted(d[k] for d in draws)
                assert column[4] <= summary["median"][k] <= column[5], (cell, k)  # between the middle two
                assert summary["q25"][k] <= summary["median"][k] <= summary["q75"][k]


@pytest.mark.slow  # a full measurement
def test_forget_bias_curves_are_reproduced():
    committed = figures.load("forget-bias")["curves"]["3"]
    fresh = figures.rounded(figures.measure_forget_bias(3.0, draw=7))
    assert figures.differences({k: committed[k]["draws"][7] for k in fresh}, fresh) == []


def first_evaluations(config, task: str, length: int) -> dict:
    """The run of a committed configuration up to its first evaluation after step 0."""
    short = replace(config, steps=config.evaluate_every)
    return figures.rounded(figures.run_training(asdict(short), task, length))


CHAOS_AFTER = 8  # steps of the clipped run that agree across CPUs; later steps differ in the last digits and grow


@pytest.mark.slow  # a training run
def test_the_start_of_the_clipped_run_is_reproduced():
    """Only the steps before rounding differences between BLAS kernels grow: the run is chaotic after."""
    committed = figures.load("clipping")["runs"]["global norm clipped at 1"]
    fresh = first_evaluations(replace(figures.CLIPPING, clip="norm"), "adding", figures.CLIPPING_T)
    assert figures.differences(committed["loss"][:CHAOS_AFTER], fresh["loss"][:CHAOS_AFTER]) == []
    assert all(0 < loss < committed["loss"][0] * 10 for loss in fresh["loss"])  # clipped: bounded throughout


@pytest.mark.slow  # two training runs
def test_the_explosion_goes_through_the_recurrent_weights_and_clipping_stops_it():
    """Statistics that hold on any CPU: the unclipped run's recurrent weights blow up within the first
    evaluation interval, the clipped run's stay where they started; the first gradient is mostly recurrent."""
    for clip, committed in (("none", "without clipping"), ("norm", "global norm clipped at 1")):
        fresh = first_evaluations(replace(figures.CLIPPING, clip=clip), "adding", figures.CLIPPING_T)
        start = fresh["group_norm"]
        assert start["recurrent"][0] > 5 * start["head"][0]
        grown = fresh["recurrent_norm"][-1] / fresh["recurrent_norm"][0]
        assert grown > 10 if clip == "none" else grown < 1.1, (clip, grown)
        data = figures.load("clipping")["runs"][committed]
        assert data["recurrent_norm"][0] == figures.CLIPPING.gain == 1.5


@pytest.mark.slow  # a training run
def test_the_start_of_a_dependency_run_is_reproduced():
    config = figures.dependency_config("adding", "gru", records.DEPENDENCY_HIDDEN, 0.01, 0, 10)
    fresh = figures.start_of(asdict(config), "adding", 10)
    assert figures.compare_start("adding", "equal/gru/0.01/10/0", fresh) == []


def learnt_before_the_end(run: dict, baseline: float) -> bool:
    level = records.LEARNT_FRACTION * baseline
    return any(records.settled_below(run["eval_loss"][:k], level) for k in range(1, len(run["eval_loss"])))


@pytest.mark.parametrize("task,name", list(records.DEPENDENCY_DATA.items()))
def test_every_setting_has_every_seed_and_every_run_stops_by_the_rule(task, name):
    """Five seeds at every cell, learning rate and length; a run ends once learnt or at the step budget."""
    data = figures.load(name)
    steps = figures.DEPENDENCY_STEPS[task]
    lengths = [str(T) for T in records.DEPENDENCY_LENGTHS[task]]
    assert data["baselines"] == figures.rounded({T: figures.task_named(task, int(T)).baseline for T in lengths})
    reference = records.MATCHED_TO[0]
    for cell in records.DEPENDENCY_CELLS:
        assert list(data["runs"]["equal"][cell]) == [f"{lr:g}" for lr in records.LEARNING_RATES]
        assert data["settings"]["matched hidden"][cell] == figures.matched_hidden(task, cell)
        settings = [*data["runs"]["equal"][cell].values()]
        settings += [data["runs"]["matched"][cell]] if cell != reference else []
        for by_length in settings:
            assert list(by_length) == lengths
            for T, runs in by_length.items():
                assert len(runs) == records.SEEDS
                for run in runs:
                    baseline = data["baselines"][T]
                    assert not learnt_before_the_end(run, baseline), (cell, T)
                    assert records.learnt(run, baseline) or run["eval_step"][-1] == steps, (cell, T)
    assert reference not in data["runs"]["matched"]
    assert data["best"] == records.best_rates(data["runs"]["equal"], data["baselines"])


def test_a_run_missing_from_the_committed_data_is_a_problem():
    problems = figures.compare_start("adding", "equal/gru/0.01/10/9", {"eval_loss": [1.0, 1.0]})
    assert problems == ["adding/equal/gru/0.01/10/9: no committed run: run `gated-rnn figures --only adding`"]
    assert figures.committed_run("adding", "equal/gru/0.5/10/0") is None


def test_differences_are_reported_with_their_place():
    committed = {"a": [1.0, 2.0], "b": {"c": 3}}
    assert figures.differences(committed, {"a": [1.0, 2.0 * (1 + 1e-7)], "b": {"c": 3}}) == []
    found = figures.differences(committed, {"a": [1.0, 2.1], "b": {"c": 4}, "d": 1})
    assert found == ["/a[1]: committed 2.0, now 2.1", "/b/c: committed 3, now 4", "/d: committed None, now 1"]


def test_rounding_keeps_six_digits_and_drops_nonfinite_values():
    assert figures.rounded({"x": [1.23456789, float("inf")], "y": (2,)}) == {"x": [1.23457, None], "y": [2]}


def test_unknown_experiment_is_named():
    with pytest.raises(ValueError, match="unknown figure data nope"):
        figures.compute(["nope"])


@pytest.mark.slow  # draws the site's figures
@pytest.mark.parametrize("name", list(figures.EXPERIMENTS))
def test_figure_is_drawn_reproducibly(name):
    plot = plotting.PLOTS[name]
    svgs = []
    for _ in range(2):
        figure = plot.draw(lambda message: message)
        svgs.append(plotting.svg(figure))
        plotting.pyplot().close(figure)
    assert svgs[0] == svgs[1] and svgs[0].startswith("<svg")


@pytest.mark.parametrize("name", list(analysis_plots.TABLES))
def test_table_rows_fit_their_headers(name):
    table = analysis_plots.TABLES[name]
    rows = table.rows(lambda message: message)
    assert rows and all(len(row) == len(table.headers) for row in rows)


@pytest.mark.slow  # reruns an experiment
def test_command_line_checks_one_experiment(capsys):
    assert main(["figures", "--check", "--only", "forget-bias", "--jobs", "1"]) == 0
    assert "figure data of forget-bias reproduced" in capsys.readouterr().out
    assert main(["figures", "--only", "nope"]) == 2
    assert "unknown figure data nope" in capsys.readouterr().err
    assert main(["figures", "--check", "--jobs", "0"]) == 2
    assert "at least 1, got 0" in capsys.readouterr().err


def test_the_check_compares_the_start_of_runs_within_its_tolerance():
    committed = figures.committed_run("clipping", "global norm clipped at 1")
    fresh = {"eval_loss": list(committed["eval_loss"][:2]), "recurrent_norm": [1.5, 1.52],
             "group_norm": {"recurrent": [31.7], "head": [4.0]}}
    assert figures.compare_start("clipping", "global norm clipped at 1", fresh) == []
    fresh["eval_loss"][1] *= 1 + 10 * figures.START_TOLERANCE
    assert [p for p in figures.compare_start("clipping", "global norm clipped at 1", fresh) if "evaluation 1" in p]
    calm = {**fresh, "eval_loss": list(committed["eval_loss"][:2])}
    problems = figures.compare_start("clipping", "without clipping", calm)
    assert [p for p in problems if "grew" in p]  # the unclipped run must blow up
