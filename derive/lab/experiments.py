"""The measurements behind the gradient-flow pages: run them, commit their data, check them, draw them.

``gated-rnn figures`` runs every experiment (in parallel processes, one BLAS thread each,
fixed seeds) and writes ``docs/analysis/_data/<name>.json``; ``--check`` (:func:`check`) recomputes a
fixed subset and compares it with the committed data within tolerances that hold on any CPU and BLAS:
the measurements (products of Jacobians, not chaotic) in full; of every training run only its start,
the held-out loss before training and after the first interval, because a long training run is
chaotic and its later steps differ between machines in the last digits first and then entirely;
and for the clipping runs the statistics the page states. The site draws the figures and tables
from the committed files at build time (``{plot}`` and ``{analysis-table}``), so a site build never
trains anything.

An experiment is a list of jobs (picklable calls) and a function assembling their results.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from derive.cells.catalogue import get

from . import gradflow, initialise, records, tasks, train
from .records import differences, load, rounded, text


@dataclass(frozen=True)
class Job:
    """One call of an experiment, run in a worker process: ``run(**kwargs)``, its result filed under key."""

    key: str
    run: Callable[..., Any]
    kwargs: dict


@dataclass(frozen=True)
class Experiment:
    """Settings, the jobs that measure, and how their results become the committed data file."""

    name: str
    settings: dict
    jobs: Callable[[], list[Job]]
    assemble: Callable[[dict[str, Any]], dict]

    @property
    def path(self) -> str:
        return records.path(self.name)


# --- gradient norms against the lag -------------------------------------------------------------

FLOW = {"T": 100, "batch": 32, "inputs": 8, "hidden": 32, "seed": 5}
FLOW_DRAWS = 10  # weight draws (seeds FLOW["seed"] + 0 … 9) per curve on the gradient-flow page
DRAWN = {**FLOW, "seed": f"{FLOW['seed']} + draw", "draws": FLOW_DRAWS}
FLOW_CELLS = ("rnn", "lstm", "gru", "gru_cho")
FORGET_BIASES = (0.0, 1.0, 3.0)
RECURRENT_INITS = (("gaussian", 0.8), ("gaussian", 1.0), ("orthogonal", 1.0), ("orthogonal", 1.5))
INPUT_SCALES = records.INPUT_SCALES


def flow_problem(cell: str, scheme: str = "torch", gain: float = 1.0, forget_bias: float | None = None,
                 input_scale: float = 1.0, draw: int = 0) -> tuple[dict, np.ndarray, np.ndarray]:
    """Parameters (PyTorch's initialisation, then the options), inputs N(0, scale²) and unit directions for h_T;
    ``draw`` picks another seed for all of them."""
    rng = np.random.default_rng(FLOW["seed"] + draw)
    cell_spec = get(cell)
    params = initialise.torch_default(cell_spec, FLOW["inputs"], FLOW["hidden"], rng)
    params = initialise.with_recurrent(cell_spec, params, scheme, gain, rng)
    if forget_bias is not None:
        params = initialise.with_gate_bias(cell_spec, params, "f", forget_bias)
    x = rng.standard_normal((FLOW["T"], FLOW["batch"], FLOW["inputs"])) * input_scale
    direction = rng.standard_normal((FLOW["batch"], FLOW["hidden"]))
    return params, x, direction / np.linalg.norm(direction, axis=1, keepdims=True)


def measure_cell(cell: str, draw: int = 0) -> dict:
    """‖∂h_T/∂h_t‖ from the step Jacobians and ‖∂L/∂h_t‖ from the backward kernels, lags 1 … T, for one draw
    of weights, inputs and directions (each the median over the batch)."""
    params, x, direction = flow_problem(cell, draw=draw)
    return {"jacobian": gradflow.state_gradient_norms(cell, params, x).tolist(),
            "backward": gradflow.loss_gradient_norms(cell, params, x, direction).tolist()}


def over_draws(results: dict[str, Any]) -> dict:
    """Results keyed "name/draw", grouped by name: every measured curve or number as its median over the
    draws, its quartiles, and each draw."""
    grouped: dict[str, list] = {}
    for key, value in results.items():
        grouped.setdefault(key.rpartition("/")[0], []).append(value)
    return {"curves": {name: summarise(draws) for name, draws in grouped.items()}}


def summarise(draws: list) -> dict:
    """The median and quartiles over draws (elementwise for curves), and the draws themselves."""
    if isinstance(draws[0], dict):
        return {key: summarise([d[key] for d in draws]) for key in draws[0]}
    logs = np.log10(np.maximum(np.array(draws, dtype=float), 1e-300))  # quantiles of the logarithm: same ranks
    q25, median, q75 = (10 ** np.quantile(logs, q, axis=0) for q in (0.25, 0.5, 0.75))
    return {"median": median.tolist(), "q25": q25.tolist(), "q75": q75.tolist(), "draws": draws}


def over_each_draw(run: Callable, calls: dict[str, dict]) -> Callable[[], list[Job]]:
    """One job per key and draw, keyed "key/draw"."""
    return lambda: [Job(f"{key}/{d}", run, {**kwargs, "draw": d}) for key, kwargs in calls.items()
                    for d in range(FLOW_DRAWS)]


def measure_forget_bias(bias: float, draw: int = 0) -> dict:
    """LSTM: ‖∂h_T/∂h_t‖ and ‖∂h_T/∂c_t‖ with the forget-gate bias set to ``bias``, for one draw."""
    params, x, _ = flow_problem("lstm", forget_bias=bias, draw=draw)
    return {source: gradflow.state_gradient_norms("lstm", params, x, source).tolist() for source in ("h", "c")}


def measure_recurrent(scheme: str, gain: float, draw: int = 0) -> dict:
    """RNN with the recurrent matrix drawn by ``scheme``: its spectrum, and ‖∂h_T/∂h_t‖ per input scale, for
    one draw."""
    found: dict[str, Any] = {}
    for scale in INPUT_SCALES:
        params, x, _ = flow_problem("rnn", scheme, gain, input_scale=scale, draw=draw)
        found[f"inputs {scale:g}"] = gradflow.state_gradient_norms("rnn", params, x).tolist()
    found["spectral radius"] = gradflow.spectral_radius(params["U_h"])
    found["largest singular value"] = float(np.linalg.norm(params["U_h"], 2))
    return found


def jobs_of(run: Callable, calls: dict[str, dict]) -> Callable[[], list[Job]]:
    """One job per key, calling ``run`` with that key's keyword arguments."""
    return lambda: [Job(key, run, kwargs) for key, kwargs in calls.items()]


def runs(results: dict[str, Any]) -> dict:
    """Training histories by key."""
    return {"runs": results}


# --- clipping and the adding problem -----------------------------------------------------------

# small input weights keep the units off saturation, so the recurrent matrix (gain 1.5) acts on the gradient
CLIPPING = train.Config("rnn", hidden=32, batch=32, steps=150, optimizer="sgd", lr=0.05, recurrent="orthogonal",
                        gain=1.5, input_gain=0.05, evaluate_every=25, eval_batch=256, seed=3)
CLIPPING_T = 30
CLIPS = records.CLIPS

ADDING_RECIPE = train.Config("(cell)", hidden=32, batch=32, steps=2000, lr=0.01, clip="norm", clip_at=1.0,
                             evaluate_every=50, eval_batch=256, stop_below=records.LEARNT_BELOW)
ADDING = {"recipe": {**asdict(ADDING_RECIPE), "seed": "the length"}, "cells": records.ADDING_CELLS,
          "lengths": records.ADDING_LENGTHS}


def adding_config(label: str, T: int) -> train.Config:
    """The training run of one cell at one length: the recipe (Adam, clipped at global norm 1, stopped once
    learnt) with the seed from the length, so that every cell sees the same batches."""
    cell, forget_bias = ADDING["cells"][label]
    return replace(ADDING_RECIPE, cell=cell, seed=T, forget_bias=forget_bias)


# task -> (config, length argument of the task, {label: chunk length})
TRUNCATION = {
    "adding": (train.Config("gru", hidden=32, batch=32, steps=2000, lr=0.01, clip="norm", clip_at=1.0,
                            evaluate_every=50, eval_batch=256, seed=50), 50,
               {"full BPTT": None, "chunks of 25 steps": 25, "chunks of 10 steps": 10}),
    "copy": (train.Config("gru", hidden=64, batch=32, steps=2000, lr=0.01, clip="norm", clip_at=1.0,
                          evaluate_every=50, eval_batch=256, seed=10), records.TRUNCATION_COPY_DELAY,
             {"full BPTT": None, "chunks of 10 steps": 10}),
}


TRUNCATION_COPY_BASELINE = tasks.copy_memory(TRUNCATION["copy"][1]).baseline


def truncation_jobs() -> list[Job]:
    """One training run per task and chunk length."""
    return [Job(f"{task}/{label}", run_training, {"config": asdict(replace(config, truncate=k)), "task": task,
                                                  "length": length})
            for task, (config, length, chunked) in TRUNCATION.items() for label, k in chunked.items()]


def by_task(results: dict[str, Any]) -> dict:
    """Training histories keyed "task/label", nested by task, evaluations only."""
    found: dict[str, dict] = {}
    for key, history in results.items():
        task, label = key.split("/")
        found.setdefault(task, {})[label] = {f: history[f] for f in ("eval_step", "eval_loss")}
    return {"runs": found}


def run_training(config: dict, task: str, length: int) -> dict:
    """Train one configuration; the history as lists."""
    made = {"adding": tasks.adding, "copy": tasks.copy_memory}[task](length)
    return asdict(train.train(train.Config(**config), made))


def run_adding_chain(label: str) -> dict:
    """One cell at increasing lengths, stopping after the first length it fails to learn."""
    found = {}
    for T in ADDING["lengths"]:
        history = run_training(asdict(adding_config(label, T)), "adding", T)
        found[str(T)] = {"eval_step": history["eval_step"], "eval_loss": history["eval_loss"]}
        if not records.learnt(history["eval_loss"]):
            break
    return found


EXPERIMENTS: dict[str, Experiment] = {e.name: e for e in [
    Experiment("gradient-flow", {**DRAWN, "cells": FLOW_CELLS},
               over_each_draw(measure_cell, {c: {"cell": c} for c in FLOW_CELLS}), over_draws),
    Experiment("forget-bias", {**DRAWN, "biases": FORGET_BIASES},
               over_each_draw(measure_forget_bias, {f"{b:g}": {"bias": b} for b in FORGET_BIASES}), over_draws),
    Experiment("recurrent-init", {**DRAWN, "inits": RECURRENT_INITS, "input scales": INPUT_SCALES},
               over_each_draw(measure_recurrent, {f"{s} {g:g}": {"scheme": s, "gain": g} for s, g in RECURRENT_INITS}),
               over_draws),
    Experiment("clipping", {**asdict(CLIPPING), "T": CLIPPING_T},
               jobs_of(run_training, {label: {"config": asdict(replace(CLIPPING, clip=clip)), "task": "adding",
                                              "length": CLIPPING_T} for label, clip in CLIPS.items()}),
               runs),
    Experiment("truncation", {task: {**asdict(config), "length": length} for task, (config, length, _) in
                              TRUNCATION.items()}, truncation_jobs, by_task),
    Experiment("adding", ADDING, jobs_of(run_adding_chain, {label: {"label": label} for label in ADDING["cells"]}),
               runs),
]}


# --- running, writing, checking ----------------------------------------------------------------


def _call(job: Job) -> Any:  # a top-level function, so that worker processes can run it
    return job.run(**job.kwargs)


def run_jobs(jobs: list[Job], workers: int) -> list[Any]:
    """The results of the jobs, in order, from worker processes with one BLAS thread each; a line on
    standard error as each one finishes."""
    if workers == 1:
        return [_report(i, len(jobs), job, _call(job)) for i, job in enumerate(jobs)]
    os.environ.update({v: "1" for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        # the longest jobs (the adding chains, the GRU's last) are at the end: start from there
        futures = [pool.submit(_call, job) for job in reversed(jobs)][::-1]
        for done, _ in enumerate(as_completed(futures), start=1):
            print(f"  {done}/{len(jobs)} done", file=sys.stderr, flush=True)
        return [f.result() for f in futures]


def _report(index: int, total: int, job: Job, result: Any) -> Any:
    print(f"  {index + 1}/{total} done: {job.key}", file=sys.stderr, flush=True)
    return result


def compute(names: list[str], workers: int = 2) -> dict[str, dict]:
    """Run the named experiments; their data, rounded, by name."""
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"unknown figure data {', '.join(unknown)} (known: {', '.join(EXPERIMENTS)})")
    if workers < 1:
        raise ValueError(f"the number of worker processes must be at least 1, got {workers}")
    jobs = [(name, job) for name in names for job in EXPERIMENTS[name].jobs()]
    results = run_jobs([job for _, job in jobs], workers)
    data = {}
    for name in names:
        mine = {job.key: result for (owner, job), result in zip(jobs, results) if owner == name}
        experiment = EXPERIMENTS[name]
        data[name] = rounded({"settings": experiment.settings, **experiment.assemble(mine)})
    return data


def write(names: list[str], workers: int = 2) -> list[Path]:
    """Run the experiments and write their data files."""
    written = []
    for name, data in compute(names, workers).items():
        path = records.root() / EXPERIMENTS[name].path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text(data), encoding="utf-8")
        written.append(path)
    return written


MEASUREMENTS = ("gradient-flow", "forget-bias", "recurrent-init")  # deterministic: checked in full
START_TOLERANCE = 1e-3  # relative, for held-out losses after the first interval of a training run


def start_of(config: dict, task: str, length: int) -> dict:
    """A training run up to its first evaluation after step 0, without early stopping."""
    short = replace(train.Config(**config), steps=config["evaluate_every"], stop_below=None)
    return run_training(asdict(short), task, length)


def start_jobs(name: str) -> list[Job]:
    """The start of every training run of experiment name."""
    if name == "clipping":
        return [Job(label, start_of, {"config": asdict(replace(CLIPPING, clip=clip)), "task": "adding",
                                      "length": CLIPPING_T}) for label, clip in CLIPS.items()]
    if name == "truncation":
        return [Job(f"{task}/{label}", start_of, {"config": asdict(replace(config, truncate=k)), "task": task,
                                                 "length": length})
                for task, (config, length, chunked) in TRUNCATION.items() for label, k in chunked.items()]
    return [Job(f"{label}/{T}", start_of, {"config": asdict(adding_config(label, T)), "task": "adding", "length": T})
            for label in ADDING["cells"] for T in ADDING["lengths"]]


def committed_run(name: str, key: str) -> dict | None:
    runs = load(name)["runs"]
    outer, _, inner = key.partition("/")
    return runs.get(outer, {}).get(inner) if inner else runs.get(outer)


def compare_start(name: str, key: str, fresh: dict) -> list[str]:
    """The held-out losses of a run's start against the committed run (runs the committed chain never
    reached are not compared), and for the clipping runs what the page says of them."""
    committed = committed_run(name, key)
    problems = []
    if committed is not None:
        for k, (a, b) in enumerate(zip(committed["eval_loss"][:2], fresh["eval_loss"])):
            if a is None or b is None or not np.isclose(a, b, rtol=START_TOLERANCE, atol=0):
                problems.append(f"{name}/{key}: held-out loss at evaluation {k}: committed {a}, now {b}")
    if name == "clipping":
        grown = fresh["recurrent_norm"][-1] / fresh["recurrent_norm"][0]
        first = fresh["group_norm"]
        if first["recurrent"][0] < 5 * first["head"][0]:
            problems.append(f"clipping/{key}: the first gradient is not mostly in the recurrent weights")
        if (grown > 10) != (CLIPS[key] == "none"):
            problems.append(f"clipping/{key}: the recurrent weights grew {grown:.3g}-fold in the first interval")
    return problems


def check(names: list[str], workers: int = 2) -> list[str]:
    """Recompute the fixed subset of the named experiments; every difference from the committed data."""
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown:
        raise ValueError(f"unknown figure data {', '.join(unknown)} (known: {', '.join(EXPERIMENTS)})")
    problems, present = [], []
    for name in names:
        try:
            load(name)
            present.append(name)
        except FileNotFoundError as exc:
            problems.append(str(exc))
    names = present
    for name, data in compute([n for n in names if n in MEASUREMENTS], workers).items():
        problems += [f"{name}{d}" for d in differences(load(name), data)]
    for name in (n for n in names if n not in MEASUREMENTS):
        jobs = start_jobs(name)
        for job, fresh in zip(jobs, run_jobs(jobs, workers)):
            problems += compare_start(name, job.key, fresh)
    return problems
