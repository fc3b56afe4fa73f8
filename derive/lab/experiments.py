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

from . import gradflow, initialise, language, records, tasks, train
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
    follow: Callable[[dict[str, Any]], list[Job]] | None = None  # more jobs, chosen from the first results

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


# --- success rates on the long-dependency tasks ------------------------------------------------

# weights from seed k, batches and held-out sequences from data seed k: at a given length and data seed,
# every cell and learning rate trains on the same batches and is scored on the same held-out sequences
DEPENDENCY_RECIPE = train.Config("(cell)", hidden=records.DEPENDENCY_HIDDEN, batch=32, steps=2000, lr=0.01,
                                 clip="norm", clip_at=1.0, evaluate_every=50, eval_batch=256)
DEPENDENCY_STEPS = {"adding": 2000, "short copy": 3000}
DEPENDENCY = {"recipe": {**asdict(DEPENDENCY_RECIPE), "cell": "(cell)", "lr": "(grid)", "seed": "k",
                         "data_seed": "k", "steps": "(per task)", "stop_below": "(learnt)"},
              "cells": records.DEPENDENCY_CELLS, "learning rates": records.LEARNING_RATES,
              "seeds": records.SEEDS, "learnt below": f"{records.LEARNT_FRACTION:g} x baseline",
              "matched": records.MATCHED_TO}


def task_named(task: str, length: int) -> tasks.Task:
    """A task of the experiments by name: the adding problem over ``length`` steps, copy memory (ten symbols)
    or short copy (a few symbols) across a delay of ``length`` steps."""
    if task == "short copy":
        return tasks.copy_memory(length, records.SHORT_COPY)
    return {"adding": tasks.adding, "copy": tasks.copy_memory}[task](length)


def matched_hidden(task: str, cell: str) -> int:
    """The hidden size at which a cell and its output layer have about as many parameters as the
    reference cell at the recipe's hidden size."""
    reference, H = records.MATCHED_TO
    return initialise.closest_hidden(lambda h: parameter_count(task, cell, h), parameter_count(task, reference, H))


def parameter_count(task: str, cell: str, hidden: int) -> int:
    """Parameters of the cell and of the task's output layer at one hidden size."""
    made = task_named(task, 2)
    own = initialise.parameter_count(get(cell), made.inputs, hidden)
    return own + sum(v.size for v in made.head.init(hidden, np.random.default_rng(0)).values())


def dependency_config(task: str, cell: str, hidden: int, lr: float, seed: int, length: int) -> train.Config:
    """One run of the success-rate experiments: stopped once learnt (below a fraction of the baseline)."""
    level = records.LEARNT_FRACTION * task_named(task, length).baseline
    return replace(DEPENDENCY_RECIPE, cell=cell, hidden=hidden, lr=lr, steps=DEPENDENCY_STEPS[task], seed=seed,
                   data_seed=seed, stop_below=level)


def run_dependency(task: str, cell: str, hidden: int, lr: float, seed: int, length: int) -> dict:
    """The held-out evaluations of one run."""
    history = run_training(asdict(dependency_config(task, cell, hidden, lr, seed, length)), task, length)
    return {"eval_step": history["eval_step"], "eval_loss": history["eval_loss"]}


def equal_jobs(task: str) -> list[Job]:
    """Every cell at the recipe's hidden size, every learning rate of the grid, length and seed."""
    H = records.DEPENDENCY_HIDDEN
    return [Job(f"equal/{cell}/{lr:g}/{T}/{k}", run_dependency,
                {"task": task, "cell": cell, "hidden": H, "lr": lr, "seed": k, "length": T})
            for cell in records.DEPENDENCY_CELLS for lr in records.LEARNING_RATES
            for T in records.DEPENDENCY_LENGTHS[task] for k in range(records.SEEDS)]


def matched_jobs(task: str, best: dict[str, str]) -> list[Job]:
    """The cells other than the reference at matched parameter counts, each at its best learning rate."""
    reference = records.MATCHED_TO[0]
    return [Job(f"matched/{cell}/{T}/{k}", run_dependency,
                {"task": task, "cell": cell, "hidden": matched_hidden(task, cell), "lr": float(best[cell]),
                 "seed": k, "length": T})
            for cell in records.DEPENDENCY_CELLS if cell != reference
            for T in records.DEPENDENCY_LENGTHS[task] for k in range(records.SEEDS)]


def nested(results: dict[str, Any]) -> dict:
    """Results keyed "a/b/…/seed" as nested dicts ending in the list over seeds."""
    tree: dict = {}
    for key, value in results.items():
        *path, seed = key.split("/")
        node = tree
        for part in path:
            node = node.setdefault(part, {})
        node.setdefault("seeds", {})[int(seed)] = value
    return _seed_lists(tree)


def _seed_lists(node: dict) -> Any:
    if set(node) == {"seeds"}:
        return [node["seeds"][k] for k in sorted(node["seeds"])]
    return {key: _seed_lists(child) for key, child in node.items()}


def dependency_experiment(task: str) -> Experiment:
    """Success rates on one task: the grid at equal hidden size, then matched parameter counts at each
    cell's best learning rate."""
    lengths = records.DEPENDENCY_LENGTHS[task]
    baselines = {str(T): task_named(task, T).baseline for T in lengths}

    def follow(results: dict[str, Any]) -> list[Job]:
        equal = nested(results)["equal"]
        return matched_jobs(task, records.best_rates(equal, baselines))

    def assemble(results: dict[str, Any]) -> dict:
        runs = nested(results)
        best = records.best_rates(runs["equal"], baselines)
        return {"baselines": baselines, "best": best, "runs": runs}

    hidden = {cell: matched_hidden(task, cell) for cell in records.DEPENDENCY_CELLS}
    params = {cell: {"equal": parameter_count(task, cell, records.DEPENDENCY_HIDDEN),
                     "matched": parameter_count(task, cell, hidden[cell])} for cell in records.DEPENDENCY_CELLS}
    settings = {**DEPENDENCY, "task": task, "lengths": lengths, "steps": DEPENDENCY_STEPS[task],
                "matched hidden": hidden, "parameters": params}
    if task == "short copy":
        settings["symbols copied"] = records.SHORT_COPY
    return Experiment(records.DEPENDENCY_DATA[task], settings, lambda: equal_jobs(task), assemble, follow)


# --- the character-level language model ------------------------------------------------------

LM_RECIPE = language.LMConfig("(cell)", "(corpus)", hidden=records.LM_HIDDEN)
LM_STEPS = {"english": (2000, 100), "chinese": (800, 50)}  # steps, evaluate every
LM_PRIMES = {"english": "And ", "chinese": "\n\n《"}
LM_SAMPLED = {"english": 240, "chinese": 80}  # characters drawn per sample


def lm_hidden(corpus: str, cell: str) -> int:
    """The hidden size giving the cell's model as many parameters as the reference cell's at LM_HIDDEN."""
    V, d = len(language.corpus(corpus).symbols), LM_RECIPE.embed
    reference, H = records.LM_MATCHED_TO
    return initialise.closest_hidden(lambda h: language.parameter_count(cell, V, d, h),
                                     language.parameter_count(reference, V, d, H))


def lm_config(corpus: str, cell: str, truncation: str, seed: int) -> language.LMConfig:
    steps, every = LM_STEPS[corpus]
    return replace(LM_RECIPE, cell=cell, corpus=corpus, hidden=lm_hidden(corpus, cell), steps=steps,
                   evaluate_every=every, randomized=truncation == "randomized", seed=seed)


def run_lm(config: dict, samples: bool = False) -> dict:
    """Train one language model; its held-out losses, its mean training loss over each interval between
    evaluations, and (if asked) text sampled at each temperature."""
    made = language.LMConfig(**config)
    history, params = language.train_lm(made)
    every = made.evaluate_every
    found = {"eval_step": history.eval_step, "eval_loss": history.eval_loss,
             "train_loss": [float(np.mean(history.loss[k:k + every])) for k in range(0, len(history.loss), every)]}
    if samples:
        text = language.corpus(made.corpus)
        found["samples"] = {f"{t:g}": language.sample(made.cell, params, text, LM_PRIMES[made.corpus], t,
                                                       LM_SAMPLED[made.corpus], np.random.default_rng([made.seed, 2]))
                            for t in records.TEMPERATURES}
    return found


def lm_jobs() -> list[Job]:
    """Every corpus, cell, truncation and seed; samples from the first seed."""
    return [Job(f"{corpus}/{cell}/{truncation}/{k}", run_lm,
                {"config": asdict(lm_config(corpus, cell, truncation, k)), "samples": k == 0})
            for corpus in language.CORPORA for cell in records.DEPENDENCY_CELLS
            for truncation in records.TRUNCATIONS for k in range(records.LM_SEEDS)]


def lm_corpus_settings(corpus: str) -> dict:
    """The sizes of one corpus and of its models, its training length, prime and sample length."""
    text = language.corpus(corpus)
    hidden = {cell: lm_hidden(corpus, cell) for cell in records.DEPENDENCY_CELLS}
    return {"symbols": len(text.symbols), "training characters": len(text.train_text),
            "held-out characters": len(text.held_out_text), "hidden": hidden,
            "parameters": {cell: language.parameter_count(cell, len(text.symbols), LM_RECIPE.embed, H)
                           for cell, H in hidden.items()},
            "steps": LM_STEPS[corpus][0], "evaluate every": LM_STEPS[corpus][1],
            "prime": LM_PRIMES[corpus], "characters sampled": LM_SAMPLED[corpus]}


def lm_settings() -> dict:
    sizes = {corpus: lm_corpus_settings(corpus) for corpus in language.CORPORA}
    return {"recipe": {**asdict(LM_RECIPE), "cell": "(cell)", "corpus": "(corpus)", "hidden": "(matched)",
                       "steps": "(per corpus)", "evaluate_every": "(per corpus)", "seed": "k"},
            "matched": records.LM_MATCHED_TO, "seeds": records.LM_SEEDS, "temperatures": records.TEMPERATURES,
            "truncations": records.TRUNCATIONS, "corpora": sizes}


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
    return asdict(train.train(train.Config(**config), task_named(task, length)))


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
    *(dependency_experiment(task) for task in records.DEPENDENCY_DATA),
    Experiment("language-model", lm_settings(), lm_jobs, lambda results: {"runs": nested(results)}),
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
    found = run_all([(name, job) for name in names for job in EXPERIMENTS[name].jobs()], workers)
    followed = [n for n in names if EXPERIMENTS[n].follow is not None]
    more = run_all([(name, job) for name in followed for job in EXPERIMENTS[name].follow(found[name])], workers)
    data = {}
    for name in names:
        experiment = EXPERIMENTS[name]
        data[name] = rounded({"settings": experiment.settings,
                              **experiment.assemble({**found[name], **more.get(name, {})})})
    return data


def run_all(jobs: list[tuple[str, Job]], workers: int) -> dict[str, dict[str, Any]]:
    """Jobs of several experiments run together; their results by experiment and key."""
    results = run_jobs([job for _, job in jobs], workers) if jobs else []
    found: dict[str, dict[str, Any]] = {}
    for (name, job), result in zip(jobs, results):
        found.setdefault(name, {})[job.key] = result
    return found


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


def lm_start(config: dict) -> dict:
    """A language model's training up to its first evaluation after step 0."""
    return run_lm({**config, "steps": config["evaluate_every"]})


def start_jobs(name: str) -> list[Job]:
    """The start of every training run of experiment name."""
    if name == "clipping":
        return [Job(label, start_of, {"config": asdict(replace(CLIPPING, clip=clip)), "task": "adding",
                                      "length": CLIPPING_T}) for label, clip in CLIPS.items()]
    if name == "truncation":
        return [Job(f"{task}/{label}", start_of, {"config": asdict(replace(config, truncate=k)), "task": task,
                                                 "length": length})
                for task, (config, length, chunked) in TRUNCATION.items() for label, k in chunked.items()]
    if name == "language-model":
        return [Job(job.key, lm_start, {"config": job.kwargs["config"]}) for job in lm_jobs() if job.key.endswith("/0")]
    task = next(t for t, file in records.DEPENDENCY_DATA.items() if file == name)
    full = [*equal_jobs(task), *matched_jobs(task, load(name)["best"])]
    return [Job(job.key, start_of, {"config": asdict(dependency_config(**job.kwargs)), "task": task,
                                    "length": job.kwargs["length"]})
            for job in full if job.kwargs["seed"] == 0]  # one seed of each setting


def committed_run(name: str, key: str) -> dict | None:
    """The committed run under a key such as "adding/full BPTT" or "equal/gru/0.01/50/0", None if absent."""
    node: Any = load(name)["runs"]
    for part in key.split("/"):
        if isinstance(node, list):
            node = node[int(part)] if int(part) < len(node) else None
        else:
            node = node.get(part)
        if node is None:
            return None
    return node


def compare_start(name: str, key: str, fresh: dict) -> list[str]:
    """The held-out losses of a run's start against the committed run, and for the clipping runs what the
    page says of them."""
    committed = committed_run(name, key)
    if committed is None:
        return [f"{name}/{key}: no committed run: run `gated-rnn figures --only {name}`"]
    problems = [f"{name}/{key}: held-out loss at evaluation {k}: committed {a}, now {b}"
                for k, (a, b) in enumerate(zip(committed["eval_loss"][:2], fresh["eval_loss"]))
                if a is None or b is None or not np.isclose(a, b, rtol=START_TOLERANCE, atol=0)]
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
