"""The committed data of the experiments: where it lives, how it is read, rounded and compared.

The site draws its figures and tables from these files at build time, so it reads this module and
never the trainer; :mod:`derive.lab.experiments` produces the files. The plain settings a figure
needs to label its data (which lengths, which clipping) live here too.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from derive.paths import repository

DATA = "docs/analysis/_data"
DIGITS = 6  # significant digits kept in the committed data
TOLERANCE = 1e-5  # relative difference --check accepts (last-digit rounding across machines)
NAMES = ("gradient-flow", "forget-bias", "recurrent-init", "clipping", "truncation", "adding", "short-copy",
         "language-model")

INPUT_SCALES = (1.0, 0.1)
CLIPS = {"without clipping": "none", "global norm clipped at 1": "norm"}
ADDING_BASELINE = 1 / 6  # the variance of the sum of two uniform values: the error of always answering 1
TRUNCATION_COPY_DELAY = 10

# the success-rate experiments on the adding problem and on copy memory of a few symbols
DEPENDENCY_DATA = {"adding": "adding", "short copy": "short-copy"}  # task -> data file
DEPENDENCY_LENGTHS = {"adding": (10, 20, 50, 100, 200), "short copy": (5, 10, 20, 50)}  # T, or the delay
DEPENDENCY_CELLS = ("rnn", "lstm", "gru")
DEPENDENCY_HIDDEN = 32
MATCHED_TO = ("lstm", DEPENDENCY_HIDDEN)  # the second comparison: every cell with this cell's parameter count
LEARNING_RATES = (0.003, 0.01, 0.03)
SEEDS = 5
SHORT_COPY = 3  # symbols to copy
LEARNT_FRACTION = 0.1  # learnt: held-out loss below this fraction of a memoryless answer's
# the character-level language model
CORPORA = {"english": "genesis.txt", "chinese": "poems.txt"}  # the language model's texts, in lab/corpora/
LM_HIDDEN = 128
LM_MATCHED_TO = ("lstm", LM_HIDDEN)
LM_SEEDS = 3
TRUNCATIONS = ("fixed", "randomized")
TEMPERATURES = (0.5, 0.8, 1.2)
Z95 = 1.959963984540054  # the standard normal's 97.5 % quantile


def root():
    """The repository the data files live in."""
    return repository("the experiments' data (docs/analysis/_data)")


def path(name: str) -> str:
    """The data file of an experiment, relative to the repository."""
    return f"{DATA}/{name}.json"


def settled_below(eval_loss: list[float], level: float, window: int = 3) -> bool:
    """The mean of the last ``window`` evaluations is below level."""
    return len(eval_loss) >= window and float(np.mean(eval_loss[-window:])) < level


def learnt(run: dict, baseline: float) -> bool:
    """The run has learnt the task: the mean of its last three evaluations is below LEARNT_FRACTION of the
    baseline (the runs stop as soon as this holds)."""
    return settled_below(run["eval_loss"], LEARNT_FRACTION * baseline)


def steps_to_learn(run: dict, baseline: float) -> int | None:
    """The training step at which a run had learnt the task, None if it never did."""
    return run["eval_step"][-1] if learnt(run, baseline) else None


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a success rate (95 % unless told)."""
    if trials < 1 or not 0 <= successes <= trials:
        raise ValueError(f"wilson: need 0 <= successes <= trials and trials >= 1, got {successes} of {trials}")
    p, n = successes / trials, trials
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def final_ratio(run: dict, baseline: float) -> float:
    """The mean of the last three held-out losses over the baseline."""
    return float(np.mean(run["eval_loss"][-3:])) / baseline


def success(runs: list[dict], baseline: float) -> tuple[int, int]:
    """How many of the runs learnt the task, and how many there are."""
    return sum(learnt(run, baseline) for run in runs), len(runs)


def compared_runs(data: dict, comparison: str, cell: str) -> dict[str, list[dict]]:
    """The runs of one cell in one comparison, by length: at equal hidden size those of its best learning
    rate; at matched parameter counts its own, or the equal-size ones of the cell the others are matched to."""
    if comparison == "matched" and cell in data["runs"]["matched"]:
        return data["runs"]["matched"][cell]
    return data["runs"]["equal"][cell][data["best"][cell]]


def best_rates(equal: dict, baselines: dict[str, float]) -> dict[str, str]:
    """Per cell, the learning rate (as its key) with the most runs learnt over all lengths; among equals,
    the one whose runs end lowest relative to the baseline (geometric mean)."""
    def score(by_length: dict) -> tuple[int, float]:
        runs = [(run, baselines[T]) for T, seeds in by_length.items() for run in seeds]
        wins = sum(learnt(run, b) for run, b in runs)
        return wins, -float(np.mean([np.log(final_ratio(run, b)) for run, b in runs]))
    return {cell: max(rates, key=lambda lr: score(rates[lr])) for cell, rates in equal.items()}


def rounded(value: Any) -> Any:
    """The value with every float kept to DIGITS significant digits; NaN and infinities become None."""
    if isinstance(value, dict):
        return {str(k): rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(f"{value:.{DIGITS}g}") if math.isfinite(value) else None
    return value


def text(data: dict) -> str:
    """The data as the committed JSON text."""
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def load(name: str) -> dict:
    """The committed data of one experiment."""
    file = root() / path(name)
    if not file.is_file():
        raise FileNotFoundError(f"{path(name)} is missing: run `gated-rnn figures --only {name}`")
    return json.loads(file.read_text(encoding="utf-8"))


def differences(committed: Any, fresh: Any, where: str = "") -> list[str]:
    """Where two data trees differ beyond TOLERANCE (relative), as readable paths."""
    if isinstance(committed, dict) and isinstance(fresh, dict):
        keys = list(dict.fromkeys([*committed, *fresh]))
        return [d for k in keys for d in differences(committed.get(k), fresh.get(k), f"{where}/{k}")]
    if isinstance(committed, list) and isinstance(fresh, list) and len(committed) == len(fresh):
        return [d for k, (a, b) in enumerate(zip(committed, fresh)) for d in differences(a, b, f"{where}[{k}]")]
    if isinstance(committed, float) and isinstance(fresh, float):
        same = math.isclose(committed, fresh, rel_tol=TOLERANCE, abs_tol=1e-300)
    else:
        same = committed == fresh
    return [] if same else [f"{where}: committed {str(committed)[:60]}, now {str(fresh)[:60]}"]


