"""Long-term dependency tasks and the output layers that score them.

* The **adding problem** (Hochreiter & Schmidhuber 1997): each step reads a random value in [0, 1]
  and a marker; exactly two steps are marked, one in each half of the sequence, and the answer at
  the end is the sum of the two marked values. Always answering 1 scores a mean squared error of
  1/6, so a model has learnt the task only when it beats that by far.
* **Copy memory** (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016): n symbols out of eight (ten
  unless told), then ``delay`` blanks, a go marker, and the network must output the n symbols again at
  the end (blanks before). Outputting blanks and then guessing scores n log 8 / (delay + 2n).

An output layer has ``init``, ``forward(params, h_seq, target) -> (loss, cache)`` and
``backward(params, cache) -> (grads, dh_seq)``; its parameter names start with ``head.``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .records import ADDING_BASELINE

HEAD = "head."


def _softmax_ce():
    """The generated softmax and cross-entropy kernel, loaded when a task first scores with it."""
    return importlib.import_module("generated.softmax_ce")


class Head(Protocol):
    def init(self, H: int, rng: np.random.Generator) -> dict[str, np.ndarray]: ...
    def forward(self, params: dict, h_seq: np.ndarray, target: np.ndarray) -> tuple[float, dict]: ...
    def backward(self, params: dict, cache: dict) -> tuple[dict, np.ndarray]: ...


def _uniform(rng: np.random.Generator, H: int, shape: tuple[int, ...]) -> np.ndarray:
    return rng.uniform(-1 / np.sqrt(H), 1 / np.sqrt(H), shape)


class LastRegression:
    """One number read off the last output, ``ŷ = V h_T + c``; loss: mean over the batch of (ŷ − y)²."""

    def init(self, H: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """V (1, H) and c (1,), uniform in [−1/√H, 1/√H] like a torch.nn.Linear."""
        return {HEAD + "V": _uniform(rng, H, (1, H)), HEAD + "c": _uniform(rng, H, (1,))}

    def forward(self, params: dict, h_seq: np.ndarray, target: np.ndarray) -> tuple[float, dict]:
        """The mean squared error of the prediction from h_seq[-1] against target (B,)."""
        h_T = h_seq[-1]
        if np.shape(target) != (h_T.shape[0],):
            raise ValueError(f"LastRegression: target must have shape (B,) = ({h_T.shape[0]},), got {np.shape(target)}")
        error = h_T @ params[HEAD + "V"][0] + params[HEAD + "c"][0] - target
        return float(np.mean(error**2)), {"h_seq": h_seq, "error": error}

    def backward(self, params: dict, cache: dict) -> tuple[dict, np.ndarray]:
        """Gradients of the loss: ({head.V, head.c}, dL/dh_seq), nonzero at the last step only."""
        h_seq, error = cache["h_seq"], cache["error"]
        d_pred = 2 * error / error.size  # ∂ mean(e²) / ∂ŷ
        dh_seq = np.zeros_like(h_seq)
        dh_seq[-1] = d_pred[:, None] * params[HEAD + "V"]
        return {HEAD + "V": (d_pred @ h_seq[-1])[None], HEAD + "c": np.array([d_pred.sum()])}, dh_seq


@dataclass(frozen=True)
class SequenceSoftmax:
    """A class at every step through the generated softmax and cross-entropy kernel; loss: mean over steps and batch."""

    classes: int

    def init(self, H: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {HEAD + "V": _uniform(rng, H, (self.classes, H)), HEAD + "c": _uniform(rng, H, (self.classes,))}

    def forward(self, params: dict, h_seq: np.ndarray, target: np.ndarray) -> tuple[float, dict]:
        total, cache = _softmax_ce().forward(self._own(params), h_seq, target)
        return total / target.size, {"kernel": cache, "count": target.size}

    def backward(self, params: dict, cache: dict) -> tuple[dict, np.ndarray]:
        grads, dh_seq = _softmax_ce().backward(self._own(params), cache["kernel"])
        scale = 1 / cache["count"]
        return {HEAD + k: g * scale for k, g in grads.items()}, dh_seq * scale

    @staticmethod
    def _own(params: dict) -> dict:
        return {k: params[HEAD + k] for k in _softmax_ce().PARAM_SHAPES}


@dataclass(frozen=True)
class Task:
    """Batches of one task at one length, the output layer that scores it, and the loss of a memoryless answer."""

    name: str
    length: int  # T, the number of steps
    inputs: int  # D
    head: Head
    baseline: float
    sample: Callable[[int, np.random.Generator], tuple[np.ndarray, np.ndarray]]  # (B, rng) -> x (T, B, D), target




def adding(T: int) -> Task:
    """The adding problem over T ≥ 2 steps."""
    if T < 2:
        raise ValueError(f"adding: the sequence needs at least 2 steps, got T={T}")

    def sample(B: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        values = rng.uniform(0, 1, (T, B))
        first, second = rng.integers(0, T // 2, B), rng.integers(T // 2, T, B)
        markers = np.zeros((T, B))
        markers[first, np.arange(B)] = markers[second, np.arange(B)] = 1
        target = values[first, np.arange(B)] + values[second, np.arange(B)]
        return np.stack([values, markers], axis=2), target

    return Task("adding", T, 2, LastRegression(), ADDING_BASELINE, sample)


COPY_SYMBOLS, COPY_LENGTH = 8, 10


def copy_memory(delay: int, length: int = COPY_LENGTH) -> Task:
    """Copy memory: ``length`` symbols (ten unless told), ``delay`` blanks and a go marker, then the symbols
    to reproduce."""
    if delay < 1:
        raise ValueError(f"copy_memory: the delay must be at least 1 step, got {delay}")
    if length < 1:
        raise ValueError(f"copy_memory: at least 1 symbol must be copied, got {length}")
    blank, go = COPY_SYMBOLS, COPY_SYMBOLS + 1
    T = delay + 2 * length

    def sample(B: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        symbols = rng.integers(0, COPY_SYMBOLS, (length, B))
        seen = np.full((T, B), blank)
        seen[:length] = symbols
        seen[T - length - 1] = go
        target = np.full((T, B), blank)
        target[T - length:] = symbols
        return np.eye(COPY_SYMBOLS + 2)[seen], target

    baseline = length * np.log(COPY_SYMBOLS) / T
    return Task("copy", T, COPY_SYMBOLS + 2, SequenceSoftmax(COPY_SYMBOLS + 2), float(baseline), sample)
