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
NAMES = ("gradient-flow", "forget-bias", "recurrent-init", "clipping", "truncation", "adding")

INPUT_SCALES = (1.0, 0.1)
CLIPS = {"without clipping": "none", "global norm clipped at 1": "norm"}
ADDING_BASELINE = 1 / 6  # the variance of the sum of two uniform values: the error of always answering 1
ADDING_CELLS = {"rnn": ("rnn", None), "lstm": ("lstm", None), "lstm, forget bias 1": ("lstm", 1.0),
                "gru": ("gru", None)}
ADDING_LENGTHS = (10, 20, 50, 100, 200, 400, 800)
LEARNT_BELOW = 0.1 * ADDING_BASELINE
TRUNCATION_COPY_DELAY = 10


def root():
    """The repository the data files live in."""
    return repository("the experiments' data (docs/analysis/_data)")


def path(name: str) -> str:
    """The data file of an experiment, relative to the repository."""
    return f"{DATA}/{name}.json"


def settled_below(eval_loss: list[float], level: float, window: int = 3) -> bool:
    """The mean of the last ``window`` evaluations is below level."""
    return len(eval_loss) >= window and float(np.mean(eval_loss[-window:])) < level


def learnt(eval_loss: list[float]) -> bool:
    """The run has learnt the task: the mean of its last three evaluations is below a tenth of the baseline."""
    return settled_below(eval_loss, LEARNT_BELOW)


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


