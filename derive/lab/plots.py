"""Figures and tables of the gradient-flow pages (docs/analysis), drawn from the committed data (:mod:`derive.lab.records`).

Plots are registered with :mod:`derive.plotting` (the ``{plot}`` directive); tables in
:data:`TABLES` (the ``{analysis-table}`` directive). Every label is an English message translated
through the site's ``sphinx`` catalog; numbers come only from the data files.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from derive.cells.builtin import BUILTIN
from derive.cells.catalogue import get
from derive.derivation import counts

from . import plotting, records, tasks
from .plotting import Translate

COLORS = {"rnn": "#d62728", "lstm": "#1f77b4", "lstm, forget bias 1": "#17becf", "gru": "#2ca02c",
          "gru_cho": "#9467bd"}
LAG = "lag T − t (steps)"
DRAWS = "norm (median of 10 draws)"  # of the medians over the batch
LABELS = {
    "gradient-flow": (LAG, DRAWS, "from h_T back to h_t: product of the step Jacobians",
                      "dL/dh_t from the backward kernels, L reading h_T"),
    "forget-bias": (LAG, DRAWS, "from h_T back to h_t", "from h_T back to c_t", "forget-gate bias {value}"),
    "recurrent-init": (LAG, DRAWS, "inputs of scale {scale}", "{scheme}, gain {gain}", "Gaussian", "orthogonal",
                       "dashed: spectral radius to the power of the lag"),
    "clipping": ("training step", "training loss (mean squared error)", "gradient norm before clipping",
                 *records.CLIPS, "recurrent weights", "output layer", "{run}: {group}",
                 "spectral norm of U_h"),
    **{records.DEPENDENCY_DATA[task]: (
        "share of the {seeds} seeds that learnt the task", "training steps until learnt",
        "hidden size {hidden} for every cell", "matched parameter counts", axis,
        "{cell}, learning rate {lr}", "bars: 95 % Wilson intervals") for task, axis in
       (("adding", "sequence length T"), ("short copy", "delay (steps)"))},
    "truncation": ("training step", "mean squared error on held-out sequences",
                   "cross-entropy on held-out sequences", "a memoryless answer", "adding problem, 50 steps",
                   "copy memory, delay of 10 steps", "full BPTT", "chunks of 25 steps", "chunks of 10 steps"),
    "language-model": ("training step", "perplexity on held-out text", "English: Genesis (King James Version)",
                       "Chinese: Tang and Song poems", "{cell}, {truncation} windows", "fixed", "randomized",
                       "lines: median of {seeds} seeds; bands: their range"),
}
TASK_TITLES = {"adding": LABELS["truncation"][4], "copy": LABELS["truncation"][5]}


def figure(name: str):
    """Register a plot of the committed data of experiment ``name``, its labels in LABELS[name]."""
    return plotting.register(name, LABELS[name], (records.path(name),))


def panels(count: int):
    """A figure with ``count`` axes side by side, as wide as the text column."""
    fig, axes = plotting.pyplot().subplots(1, count, figsize=(plotting.WIDTH, 3.6), squeeze=False)
    return fig, list(axes[0])


def decades(value: float, _position=None) -> str:
    """A tick on a logarithmic axis: ``1e−4``, ``1``, ``1e2``."""
    if value <= 0:
        return ""
    exponent = round(math.log10(value))
    return "1" if exponent == 0 else f"1e{exponent}".replace("-", "−")


def log_axis(ax, xlabel: str, ylabel: str, title: str = "") -> None:
    """Logarithmic y axis, labels already translated."""
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(decades)  # 1e−4 at the size of the other labels, not a small superscript
    ax.yaxis.set_minor_formatter(lambda _value, _position: "")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)


def finish(fig, legend_ax, **legend):
    """Legend on one axis, tight layout; the figure."""
    legend_ax.legend(**legend)
    fig.tight_layout()
    return fig


def run_label(translate: Translate, label: str) -> str:
    """A run's label in the page's language; a cell's name stays as it is."""
    return label if label in BUILTIN else translate(label)


def lags(curve: list) -> np.ndarray:
    """1, 2, … for the points of a curve."""
    return np.arange(1, len(curve) + 1)


@figure("gradient-flow")
def draw_gradient_flow(translate: Translate):
    """RNN, LSTM and both GRUs: the norm of the gradient reaching h_t, two ways; the median over the weight
    draws as a line, their interquartile range as a band."""
    data = records.load("gradient-flow")["curves"]
    fig, axes = panels(2)
    for ax, key, title in zip(axes, ("jacobian", "backward"), LABELS["gradient-flow"][2:4]):
        for cell, curves in data.items():
            banded(ax, curves[key], COLORS[cell], label=cell)
        log_axis(ax, translate(LAG), translate(DRAWS), translate(title))
    return finish(fig, axes[0])


def banded(ax, summary: dict, color, **line) -> None:
    """The median over the draws as a line, the quartiles as a band around it."""
    k = lags(summary["median"])
    ax.fill_between(k, summary["q25"], summary["q75"], color=color, alpha=0.25, linewidth=0)
    ax.plot(k, summary["median"], color=color, **line)


@figure("forget-bias")
def draw_forget_bias(translate: Translate):
    """LSTM with forget-gate bias 0, 1, 3: gradient reaching h_t and c_t, over the weight draws."""
    data = records.load("forget-bias")["curves"]
    fig, axes = panels(2)
    shades = plotting.pyplot().cm.Blues(np.linspace(0.45, 0.95, len(data)))
    for ax, source, title in zip(axes, ("h", "c"), LABELS["forget-bias"][2:4]):
        for color, (bias, curves) in zip(shades, data.items()):
            banded(ax, curves[source], color, label=translate(LABELS["forget-bias"][4]).format(value=bias))
        log_axis(ax, translate(LAG), translate(DRAWS), translate(title))
    return finish(fig, axes[0])


def init_label(translate: Translate, key: str) -> str:
    """``"orthogonal 1.5"`` as "orthogonal, gain 1.5" in the page's language."""
    scheme, gain = key.split()
    name = translate("Gaussian" if scheme == "gaussian" else "orthogonal")
    return translate(LABELS["recurrent-init"][3]).format(scheme=name, gain=gain)


@figure("recurrent-init")
def draw_recurrent_init(translate: Translate):
    """RNN with Gaussian and orthogonal recurrent matrices: measured norms and the spectral-radius line."""
    data = records.load("recurrent-init")["curves"]
    fig, axes = panels(2)
    colors = plotting.pyplot().cm.tab10(np.arange(len(data)))
    for ax, scale in zip(axes, records.INPUT_SCALES):
        for color, (key, found) in zip(colors, data.items()):
            curve = found[f"inputs {scale:g}"]
            banded(ax, curve, color, label=init_label(translate, key))
            k = lags(curve["median"])
            ax.plot(k, found["spectral radius"]["median"] ** k, color=color, linestyle="--", linewidth=0.8)
        log_axis(ax, translate(LAG), translate(DRAWS), translate(LABELS["recurrent-init"][2]).format(scale=f"{scale:g}"))
        ax.set_ylim(1e-12, 1e6)
    return finish(fig, axes[0], title=translate(LABELS["recurrent-init"][6]))


@figure("clipping")
def draw_clipping(translate: Translate):
    """The exploding RNN run with and without global-norm clipping: loss, the gradient norms of the recurrent
    weights and of the output layer, and the largest singular value of the recurrent weights, per step."""
    runs = records.load("clipping")["runs"]
    labels = LABELS["clipping"]
    fig, axes = plotting.pyplot().subplots(3, 1, figsize=(plotting.WIDTH, 8.4), sharex=True, squeeze=False)
    axes = list(axes[:, 0])
    present = lambda values: np.array([np.nan if v is None else v for v in values], dtype=float)
    colors = ("#d62728", "#1f77b4")
    for (label, run), color in zip(runs.items(), colors):
        axes[0].plot(lags(run["loss"]), present(run["loss"]), color=color, linewidth=0.9, label=translate(label))
        for group, style, name in (("recurrent", "-", labels[5]), ("head", ":", labels[6])):
            values = present(run["group_norm"][group])
            axes[1].plot(lags(values), values, color=color, linestyle=style, linewidth=0.9,
                         label=translate(labels[7]).format(run=translate(label), group=translate(name)))
        axes[2].plot(lags(run["recurrent_norm"]), present(run["recurrent_norm"]), color=color, linewidth=0.9)
    for ax, ylabel in zip(axes, (labels[1], labels[2], labels[8])):
        log_axis(ax, translate(labels[0]) if ax is axes[2] else "", translate(ylabel))
    axes[1].legend(fontsize="small", ncol=2)
    return finish(fig, axes[0])


def curves_with_baseline(ax, runs: dict, colors: dict, baseline: float, baseline_label: str) -> None:
    """Held-out loss against the training step for each run, and the loss of a memoryless answer."""
    for label, run in runs.items():
        ax.plot(run["eval_step"], run["eval_loss"], color=colors[label], label=label)
    ax.axhline(baseline, color="grey", linestyle="--", linewidth=0.8, label=baseline_label)


def draw_dependency(name: str, translate: Translate):
    """Success rates of the cells at each length, at equal hidden size and at matched parameter counts
    (each cell at its best learning rate), with Wilson intervals; below, the steps each learnt run took."""
    data = records.load(name)
    labels, settings = LABELS[name], data["settings"]
    lengths = [str(T) for T in settings["lengths"]]
    fig, grid = plotting.pyplot().subplots(2, 2, figsize=(plotting.WIDTH, 6.6), sharex=True, squeeze=False)
    columns = {"equal": translate(labels[2]).format(hidden=settings["recipe"]["hidden"]),
               "matched": translate(labels[3])}
    for column, (comparison, title) in enumerate(columns.items()):
        rates, steps = grid[0][column], grid[1][column]
        for offset, cell in zip((-0.2, 0.0, 0.2), settings["cells"]):
            lr = data["best"][cell]
            runs = records.compared_runs(data, comparison, cell)
            x = np.arange(len(lengths)) + offset
            found = [records.success(runs[T], data["baselines"][T]) for T in lengths]
            share = np.array([k / n for k, n in found])
            low, high = np.array([records.wilson(k, n) for k, n in found]).T
            rates.errorbar(x, share, yerr=[share - low, high - share], color=COLORS[cell], marker="o",
                           markersize=4, capsize=2.5, linewidth=1.2,
                           label=translate(labels[5]).format(cell=cell, lr=lr))
            for k, T in enumerate(lengths):
                taken = [records.steps_to_learn(run, data["baselines"][T]) for run in runs[T]]
                taken = [t for t in taken if t is not None]
                spread_x = x[k] + np.linspace(-0.06, 0.06, len(taken)) if len(taken) > 1 else [x[k]] * len(taken)
                steps.plot(spread_x, taken, linestyle="none", marker="o", markersize=3.5,
                           color=COLORS[cell], alpha=0.8)
        rates.set_title(title)
        rates.set_ylim(-0.05, 1.05)
        rates.grid(True, alpha=0.3)
        steps.set_ylim(0, settings["steps"] * 1.05)
        steps.grid(True, alpha=0.3)
        steps.set_xticks(np.arange(len(lengths)), lengths)
        steps.set_xlabel(translate(labels[4]))
    grid[0][0].set_ylabel(translate(labels[0]).format(seeds=settings["seeds"]))
    grid[1][0].set_ylabel(translate(labels[1]))
    handles, names = grid[0][0].get_legend_handles_labels()
    fig.legend(handles, names, title=translate(labels[6]), loc="lower center", ncol=len(names))
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


for experiment in records.DEPENDENCY_DATA.values():
    figure(experiment)(partial(draw_dependency, experiment))


@figure("truncation")
def draw_truncation(translate: Translate):
    """A GRU on the adding problem and on copy memory, with full and truncated BPTT."""
    data = records.load("truncation")["runs"]
    fig, axes = panels(2)
    colors = dict(zip(map(translate, LABELS["truncation"][6:]), ("#2ca02c", "#ff7f0e", "#d62728")))
    baselines = {"adding": records.ADDING_BASELINE, "copy": tasks.copy_memory(records.TRUNCATION_COPY_DELAY).baseline}
    for ax, (task, runs), ylabel in zip(axes, data.items(), LABELS["truncation"][1:3]):
        here = {translate(label): run for label, run in runs.items()}
        curves_with_baseline(ax, here, colors, baselines[task], translate(LABELS["truncation"][3]))
        log_axis(ax, translate(LABELS["truncation"][0]), translate(ylabel), translate(TASK_TITLES[task]))
        if task == "copy":  # a narrow range: a linear axis reads better
            ax.set_yscale("linear")
        ax.legend()
    fig.tight_layout()
    return fig


def plain_log_ticks(ax, low: float, high: float) -> None:
    """A logarithmic y axis from low to high with ticks at 1, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 7 and 8 times a power of ten,
    written as plain numbers."""
    ax.set_yscale("log")
    ax.set_ylim(low, high)
    powers = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    ticks = [m * 10.0 ** k for k in powers for m in (1, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 8) if low <= m * 10.0 ** k <= high]
    ax.set_yticks(ticks, [f"{tick:g}" for tick in ticks])
    ax.yaxis.set_minor_formatter(lambda _value, _position: "")
    ax.grid(True, which="major", alpha=0.3)


@figure("language-model")
def draw_language_model(translate: Translate):
    """Held-out perplexity against the training step, per corpus: each cell with fixed and randomized
    windows, the median over the seeds as a line and their range as a band; the untrained start (about the
    number of symbols) lies above the top."""
    data = records.load("language-model")
    labels = LABELS["language-model"]
    fig, grid = plotting.pyplot().subplots(1, 2, figsize=(plotting.WIDTH, 4.6), squeeze=False)
    styles = {"fixed": "-", "randomized": "--"}
    for ax, (corpus, by_cell), title in zip(grid[0], data["runs"].items(), labels[2:4]):
        shown = []
        for cell, by_truncation in by_cell.items():
            for truncation, seeds in by_truncation.items():
                step = seeds[0]["eval_step"]
                curves = np.exp(np.array([run["eval_loss"] for run in seeds]))
                shown.append(curves[:, 1:])
                if truncation == "fixed":
                    ax.fill_between(step, curves.min(axis=0), curves.max(axis=0), color=COLORS[cell], alpha=0.2,
                                    linewidth=0)
                name = translate(labels[5] if truncation == "fixed" else labels[6])
                ax.plot(step, np.median(curves, axis=0), color=COLORS[cell], linestyle=styles[truncation],
                        linewidth=1.1, label=translate(labels[4]).format(cell=cell, truncation=name))
        plain_log_ticks(ax, min(c.min() for c in shown) * 0.95, max(c.max() for c in shown) * 1.1)
        ax.set_xlabel(translate(labels[0]))
        ax.set_ylabel(translate(labels[1]))
        ax.set_title(translate(title))
    handles, names = grid[0][0].get_legend_handles_labels()
    fig.legend(handles, names, title=translate(labels[7]).format(seeds=data["settings"]["seeds"]),
               loc="lower center", ncol=3)
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    return fig


# --- tables ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A table of the pages: headers in English, rows computed from the committed data."""

    headers: tuple[str, ...]  # English, translated by the directive
    rows: Callable[[Translate], list[list[str]]]
    data: tuple[str, ...]  # files read, relative to the repository root


def number(value: float | None) -> str:
    """Three significant digits; a dash for a missing value."""
    return "—" if value is None else f"{value:.3g}"


FLOW_LAGS = (1, 10, 50, 100)
COUNT_SIZES = (128, 256)  # D, H of the counts table (as on the LSTM vs GRU page)


def gradient_flow_rows(translate: Translate) -> list[list[str]]:
    """Per cell: the norm from the Jacobian products at a few lags."""
    curves = records.load("gradient-flow")["curves"]
    return [[cell, *(spread(c["jacobian"], k - 1) for k in FLOW_LAGS)] for cell, c in curves.items()]


def spread(summary: dict, index: int | None = None) -> str:
    """The median over the draws and, in brackets, the quartiles (at one lag of a curve)."""
    at = (lambda v: v) if index is None else (lambda v: v[index])
    return f"{number(at(summary['median']))} ({number(at(summary['q25']))} – {number(at(summary['q75']))})"


def forget_bias_rows(translate: Translate) -> list[list[str]]:
    """Per forget-gate bias and state reached: the norm at a few lags, over the draws."""
    curves = records.load("forget-bias")["curves"]
    return [[bias, source, *(spread(c[source], k - 1) for k in FLOW_LAGS)]
            for bias, c in curves.items() for source in ("h", "c")]


def recurrent_rows(translate: Translate) -> list[list[str]]:
    """Per recurrent matrix: its spectrum and the norm at lag 50 for both input scales, over the draws."""
    curves = records.load("recurrent-init")["curves"]
    return [[init_label(translate, key), spread(c["spectral radius"]), spread(c["largest singular value"]),
             *(spread(c[f"inputs {scale:g}"], 49) for scale in records.INPUT_SCALES)] for key, c in curves.items()]


def clipping_rows(translate: Translate) -> list[list[str]]:
    """Per run: the largest gradient norm of the recurrent weights and of the output layer, the largest
    singular value of the recurrent weights at the end, and the final held-out loss."""
    runs = records.load("clipping")["runs"]
    largest = lambda values: number(max((v for v in values if v is not None), default=None))
    return [[translate(label), largest(run["group_norm"]["recurrent"]), largest(run["group_norm"]["head"]),
             number(run["recurrent_norm"][-1]), number(run["eval_loss"][-1])] for label, run in runs.items()]


def truncation_rows(translate: Translate) -> list[list[str]]:
    """Per task and chunk length: the final held-out loss."""
    data = records.load("truncation")["runs"]
    return [[translate(TASK_TITLES[task]), translate(label), number(np.mean(run["eval_loss"][-3:]))]
            for task, runs in data.items() for label, run in runs.items()]


def counts_rows(translate: Translate) -> list[list[str]]:
    """Per built-in cell: parameters with both bias conventions, forward and backward work."""
    D, H = COUNT_SIZES
    rows = []
    for name in BUILTIN:
        c = counts.count(get(name), D, H)
        rows.append([name, *(f"{n:,}" for n in (c.params, c.single_bias_params, c.matmul_macs, c.backward_macs,
                                                c.elementwise, c.backward_elementwise))])
    return rows


def rate(successes: int, trials: int) -> str:
    """``3/5`` over ``0.23–0.88``: a count of successes and, on a second line, its 95 % Wilson interval."""
    low, high = records.wilson(successes, trials)
    return f"{successes}/{trials}\n{low:.2f}–{high:.2f}".replace("0.00–", "0–").replace("–1.00", "–1")


def median_range(values: list[float], digits: int = 3) -> str:
    """The median and, on a second line, the lowest and the highest value, to a number of significant digits."""
    def shown(value: float) -> str:
        return f"{value:#.{digits}g}".rstrip(".")
    return f"{shown(float(np.median(values)))}\n{shown(min(values))}–{shown(max(values))}"


def best_rows(name: str) -> Callable[[Translate], list[list[str]]]:
    """Per cell at its best learning rate, at the recipe's hidden size and (cells other than the reference)
    at matched parameter counts: hidden size, parameters, and the runs learnt at each length with their
    interval."""
    def rows(translate: Translate) -> list[list[str]]:
        data = records.load(name)
        settings = data["settings"]
        found = []
        for cell in settings["cells"]:
            for comparison in ("equal", "matched") if cell in data["runs"]["matched"] else ("equal",):
                hidden = settings["recipe"]["hidden"] if comparison == "equal" else settings["matched hidden"][cell]
                runs = records.compared_runs(data, comparison, cell)
                found.append([cell, f"{hidden}\n{settings['parameters'][cell][comparison]:,}", data["best"][cell],
                              *(rate(*records.success(runs[T], data["baselines"][T])) for T in runs)])
        return found
    return rows


def grid_rows(name: str) -> Callable[[Translate], list[list[str]]]:
    """Per cell and learning rate at equal hidden size: the runs learnt at each length and in all."""
    def rows(translate: Translate) -> list[list[str]]:
        data = records.load(name)
        found = []
        for cell, by_rate in data["runs"]["equal"].items():
            for lr, by_length in by_rate.items():
                counts = [records.success(runs, data["baselines"][T]) for T, runs in by_length.items()]
                total = (sum(k for k, _ in counts), sum(n for _, n in counts))
                chosen = f"{lr} ({translate('best')})" if data["best"][cell] == lr else lr
                found.append([cell, chosen, *(f"{k}/{n}" for k, n in counts), f"{total[0]}/{total[1]}"])
        return found
    return rows


def loss_rows(name: str) -> Callable[[Translate], list[list[str]]]:
    """Per cell at its best learning rate and equal hidden size: the final held-out loss over the baseline at
    each length, median and range over the seeds."""
    def rows(translate: Translate) -> list[list[str]]:
        data = records.load(name)
        found = []
        for cell in data["settings"]["cells"]:
            runs = records.compared_runs(data, "equal", cell)
            ratios = [[records.final_ratio(run, data["baselines"][T]) for run in runs[T]] for T in runs]
            found.append([cell, *(median_range(r, digits=2) for r in ratios)])
        return found
    return rows


def language_rows(corpus: str) -> Callable[[Translate], list[list[str]]]:
    """Per cell and truncation on one corpus: hidden size and parameters, the lowest held-out perplexity of
    each seed's run (median and range), the step it was reached at (median), the perplexity at the end
    (median)."""
    def rows(translate: Translate) -> list[list[str]]:
        data = records.load("language-model")
        labels = LABELS["language-model"]
        sizes = data["settings"]["corpora"][corpus]
        found = []
        for cell, by_truncation in data["runs"][corpus].items():
            for truncation, seeds in by_truncation.items():
                lowest = [float(np.exp(min(run["eval_loss"]))) for run in seeds]
                at = [run["eval_step"][int(np.argmin(run["eval_loss"]))] for run in seeds]
                end = [float(np.exp(run["eval_loss"][-1])) for run in seeds]
                found.append([cell, translate(labels[5] if truncation == "fixed" else labels[6]),
                              f"{sizes['hidden'][cell]}\n{sizes['parameters'][cell]:,}", median_range(lowest),
                              f"{int(np.median(at))}", number(float(np.median(end)))])
        return found
    return rows


def dependency_tables() -> dict[str, Table]:
    """The three tables of each success-rate experiment."""
    found = {}
    for task, name in records.DEPENDENCY_DATA.items():
        column, every = ("length {T}", "all lengths") if task == "adding" else ("delay {T}", "all delays")
        heads = tuple(column.format(T=T) for T in records.DEPENDENCY_LENGTHS[task])
        files = (records.path(name),)
        found[name] = Table(("cell", "hidden size, parameters", "learning rate", *heads),
                            best_rows(name), files)
        found[f"{name}-grid"] = Table(("cell", "learning rate", *heads, every), grid_rows(name), files)
        found[f"{name}-losses"] = Table(("cell", *heads), loss_rows(name), files)
    return found


TABLES: dict[str, Table] = {
    "gradient-flow": Table(("cell", *(f"lag {k}" for k in FLOW_LAGS)), gradient_flow_rows,
                           (records.path("gradient-flow"),)),
    "forget-bias": Table(("forget-gate bias", "gradient reaching", *(f"lag {k}" for k in FLOW_LAGS)),
                         forget_bias_rows, (records.path("forget-bias"),)),
    "recurrent-init": Table(("recurrent matrix", "spectral radius", "largest singular value",
                             "lag 50, inputs of scale 1", "lag 50, inputs of scale 0.1"),
                            recurrent_rows, (records.path("recurrent-init"),)),
    "clipping": Table(("run", "largest gradient norm, recurrent weights", "largest gradient norm, output layer",
                       "spectral norm of U_h at the end", "final held-out loss"), clipping_rows,
                      (records.path("clipping"),)),
    "truncation": Table(("task", "gradient", "loss at the end (mean of the last three evaluations)"), truncation_rows,
                        (records.path("truncation"),)),
    "counts": Table(("cell", "parameters (two biases per sum, as PyTorch)", "parameters (one bias per sum)",
                     "multiply-adds per step, forward", "multiply-adds per step, backward",
                     "other arithmetic per step, forward", "other arithmetic per step, backward"), counts_rows, ()),
    **dependency_tables(),
    **{f"language-model-{corpus}": Table(("cell", "windows", "hidden size, parameters",
                                           "lowest held-out perplexity (median, range)", "at step (median)",
                                           "perplexity at the end (median)"), language_rows(corpus),
                                          (records.path("language-model"),))
       for corpus in records.CORPORA},
}


def messages() -> list[str]:
    """Every table header and row label to translate (plots list theirs when they register)."""
    labels = [*records.CLIPS, "best", *LABELS["recurrent-init"][3:6], *LABELS["truncation"][4:]]
    return list(dict.fromkeys([h for table in TABLES.values() for h in table.headers] + labels))
