"""A character-level language model over the generated kernels: corpora, truncated BPTT, perplexity, sampling.

The model reads a character through an embedding (a learnt vector per symbol), runs one recurrent
layer (a generated kernel) and scores the next character with the generated softmax and cross-entropy
kernel. Training follows the stream of text: the training part is cut into ``batch`` equal streams,
each step reads the next window of every stream, starts from the states the previous window ended in
(taken as constants, so the gradient stops at the window's start: truncated BPTT) and starts again
from zero states at the beginning of each pass. Windows have a fixed length, or a random one
(Merity et al. 2018: the base length, or half of it one time in twenty, plus normal noise of standard
deviation 5, and the step size scaled by length / base).

The held-out loss is the mean cross-entropy per character (natural logarithm) on the held-out part of
the text, read as one pass through its own streams; its exponential is the perplexity.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import numpy as np

from derive.cells.catalogue import get

from . import initialise, train
from .records import CORPORA
from .tasks import HEAD, SequenceSoftmax

HELD_OUT = 0.1  # the last tenth of each text, cut at a paragraph or poem
RARE = "□"  # stands for every character seen fewer than RARE_BELOW times in the training part
RARE_BELOW = 2
EMBEDDING = "embed.E"
EVAL_STREAMS, EVAL_WINDOW = 8, 200
NOISE = 5.0  # standard deviation of the random window lengths, in characters
SHORTEST = 5


@dataclass(frozen=True)
class Corpus:
    """A text split into a training part and a held-out part, and its symbols."""

    name: str
    train_text: str
    held_out_text: str
    symbols: tuple[str, ...]

    def encode(self, text: str) -> np.ndarray:
        index = {s: k for k, s in enumerate(self.symbols)}
        rare = index.get(RARE, -1)
        ids = np.array([index.get(ch, rare) for ch in text], dtype=np.int64)
        if (ids < 0).any():
            raise ValueError(f"corpus {self.name}: text has characters outside its symbols")
        return ids

    def decode(self, ids) -> str:
        return "".join(self.symbols[k] for k in ids)


@cache
def corpus(name: str) -> Corpus:
    """One of the shipped corpora (:data:`CORPORA`), split and with its symbols."""
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r} (known: {', '.join(CORPORA)})")
    text = (resources.files("derive.lab") / "corpora" / CORPORA[name]).read_text(encoding="utf-8")
    cut = text.index("\n\n", int(len(text) * (1 - HELD_OUT))) + 2
    counts = Counter(text[:cut])
    symbols = sorted(ch for ch, n in counts.items() if n >= RARE_BELOW)
    if len(symbols) < len(counts):
        symbols.append(RARE)
    return Corpus(name, text[:cut], text[cut:], tuple(symbols))


@dataclass(frozen=True)
class LMConfig:
    """One training run of the language model."""

    cell: str
    corpus: str
    hidden: int
    embed: int = 32
    batch: int = 32
    window: int = 32  # characters per truncated-BPTT window (the base length when randomized)
    randomized: bool = False
    steps: int = 1500
    lr: float = 3e-3
    clip_at: float = 1.0
    evaluate_every: int = 100
    seed: int = 0  # the initial weights; the random window lengths come from [seed, 1]


def parameter_count(cell: str, symbols: int, embed: int, hidden: int) -> int:
    """Embedding, recurrent layer and output layer together."""
    return symbols * embed + initialise.parameter_count(get(cell), embed, hidden) + symbols * (hidden + 1)


def initial_params(config: LMConfig, symbols: int) -> dict[str, np.ndarray]:
    """Embedding N(0, 1) (as torch.nn.Embedding), the cell and the output layer as torch.nn initialises them."""
    rng = np.random.default_rng(config.seed)
    params = {EMBEDDING: rng.standard_normal((symbols, config.embed))}
    params.update(initialise.torch_default(get(config.cell), config.embed, config.hidden, rng))
    return {**params, **SequenceSoftmax(symbols).init(config.hidden, rng)}


def window_lengths(config: LMConfig):
    """The length of each training window, forever."""
    rng = np.random.default_rng([config.seed, 1])
    while True:
        if not config.randomized:
            yield config.window
            continue
        base = config.window if rng.random() < 0.95 else config.window / 2
        yield max(SHORTEST, round(rng.normal(base, NOISE)))


def streams(ids: np.ndarray, count: int) -> np.ndarray:
    """The ids cut into ``count`` equal streams, one per row (the remainder dropped)."""
    length = len(ids) // count
    return ids[: count * length].reshape(count, length)


@dataclass
class LMHistory:
    """Per step: training loss (nats per character) and window length; per evaluation: step and held-out loss."""

    loss: list[float] = field(default_factory=list)
    window: list[int] = field(default_factory=list)
    eval_step: list[int] = field(default_factory=list)
    eval_loss: list[float] = field(default_factory=list)


def train_lm(config: LMConfig) -> tuple[LMHistory, dict[str, np.ndarray]]:
    """Train with Adam, gradients clipped at global norm clip_at; the history and the final parameters."""
    text = corpus(config.corpus)
    params = initial_params(config, len(text.symbols))
    opt = train.Adam(config.lr)
    rows = streams(text.encode(text.train_text), config.batch)
    held_out = text.encode(text.held_out_text)
    history, lengths = LMHistory(), window_lengths(config)
    position, states = 0, {}
    for step in range(config.steps + 1):
        if step % config.evaluate_every == 0:
            history.eval_step.append(step)
            history.eval_loss.append(held_out_loss(config.cell, params, held_out))
        if step == config.steps:
            break
        k = next(lengths)
        if position + k + 1 > rows.shape[1]:  # a new pass through the text
            position, states = 0, {}
        loss, grads, states = window_grads(config.cell, params, rows[:, position:position + k + 1].T, states)
        grads, _ = train.clip_global_norm(grads, config.clip_at)
        opt.lr = config.lr * k / config.window  # Merity et al.: longer windows, larger steps
        opt.step(params, grads)
        position += k
        history.loss.append(loss)
        history.window.append(k)
    return history, params


def window_grads(cell: str, params: dict[str, np.ndarray], tokens: np.ndarray, start: dict[str, np.ndarray]
                 ) -> tuple[float, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One window of ids (k + 1, B): the mean cross-entropy of predicting tokens[1:] from tokens[:-1] after
    the states ``start`` (constants), the gradient of every parameter, the embedding's included, and the
    states at the end."""
    head = SequenceSoftmax(params[HEAD + "c"].shape[0])
    embedding = params[EMBEDDING]
    loss, grads, dx, states = train.through(cell, head, params, embedding[tokens[:-1]], tokens[1:], start=start)
    grads[EMBEDDING] = np.zeros_like(embedding)
    np.add.at(grads[EMBEDDING], tokens[:-1].ravel(), dx.reshape(-1, embedding.shape[1]))  # one row per occurrence
    return loss, grads, states


def held_out_loss(cell: str, params: dict[str, np.ndarray], ids: np.ndarray) -> float:
    """The mean cross-entropy per character of predicting each next id, in EVAL_STREAMS streams read in
    windows of EVAL_WINDOW, the states carried across windows."""
    module = train.kernel(cell)
    head = SequenceSoftmax(params[HEAD + "c"].shape[0])
    own = {k: params[k] for k in module.PARAM_SHAPES}
    read_out = {k: v for k, v in params.items() if k.startswith(HEAD)}
    rows = streams(ids, EVAL_STREAMS)
    total, count, states = 0.0, 0, {}
    for lo in range(0, rows.shape[1] - 1, EVAL_WINDOW):
        tokens = rows[:, lo:lo + EVAL_WINDOW + 1].T
        h_seq, cache_ = module.forward(own, params[EMBEDDING][tokens[:-1]], **states)
        states = train.final_states(module, cache_)
        loss, _ = head.forward(read_out, h_seq, tokens[1:])
        total += loss * tokens[1:].size
        count += tokens[1:].size
    return total / count


def sample(cell: str, params: dict[str, np.ndarray], text: Corpus, prime: str, temperature: float, count: int,
           rng: np.random.Generator) -> str:
    """``count`` characters drawn one at a time after reading ``prime``, each from softmax(z / temperature);
    the placeholder of rare characters is never drawn."""
    if not temperature > 0:
        raise ValueError(f"sample: the temperature must be positive, got {temperature}")
    module = train.kernel(cell)
    own = {k: params[k] for k in module.PARAM_SHAPES}
    V, c = params[HEAD + "V"], params[HEAD + "c"]
    allowed = np.array([s != RARE for s in text.symbols])
    ids = list(text.encode(prime))
    h_seq, cache_ = module.forward(own, params[EMBEDDING][np.array(ids)[:, None]])
    drawn = []
    for _ in range(count):
        z = (h_seq[-1, 0] @ V.T + c) / temperature
        p = np.where(allowed, np.exp(z - z.max()), 0.0)
        nxt = int(rng.choice(len(p), p=p / p.sum()))
        drawn.append(nxt)
        h_seq, cache_ = module.forward(own, params[EMBEDDING][np.array([[nxt]])], **train.final_states(module, cache_))
    return text.decode(drawn)
