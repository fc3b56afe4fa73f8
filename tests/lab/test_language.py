"""The character-level language model: corpora, window lengths, the gradient of a window, perplexity, sampling."""

from dataclasses import replace

import numpy as np
import pytest

from derive.lab import experiments, language, records, train
from helpers import numerical_gradient, rel_err


@pytest.mark.parametrize("name", list(language.CORPORA))
def test_the_held_out_part_is_the_last_tenth_cut_at_a_paragraph(name):
    text = language.corpus(name)
    whole = len(text.train_text) + len(text.held_out_text)
    assert text.train_text.endswith("\n\n") and not text.held_out_text.startswith("\n")
    assert 0.09 < len(text.held_out_text) / whole <= 0.1
    ids = text.encode(text.train_text)
    assert text.decode(ids) == text.train_text.translate({ord(ch): language.RARE for ch in set(text.train_text)
                                                          if ch not in text.symbols})


def test_characters_seen_once_in_training_share_the_placeholder():
    text = language.corpus("chinese")
    counts = {ch: text.train_text.count(ch) for ch in set(text.train_text)}
    once = next(ch for ch, n in counts.items() if n == 1)
    unseen = next(ch for ch in text.held_out_text if ch not in counts)
    placeholder = text.symbols.index(language.RARE)
    assert list(text.encode(once + unseen)) == [placeholder, placeholder]
    assert all(counts[s] >= language.RARE_BELOW for s in text.symbols if s != language.RARE)
    assert language.RARE not in language.corpus("english").symbols  # every English character occurs twice


def test_a_character_outside_the_symbols_is_named_without_a_placeholder():
    with pytest.raises(ValueError, match="corpus english: text has characters outside its symbols"):
        language.corpus("english").encode("Abram 亚")
    with pytest.raises(ValueError, match="unknown corpus 'latin'"):
        language.corpus("latin")


def test_fixed_windows_have_one_length_and_randomized_ones_follow_merity():
    config = language.LMConfig("gru", "english", hidden=8, window=32)
    fixed = [next(w) for w in [language.window_lengths(config)] for _ in range(100)]
    assert set(fixed) == {32}
    lengths = language.window_lengths(replace(config, randomized=True))
    drawn = np.array([next(lengths) for _ in range(20000)])
    assert drawn.min() >= language.SHORTEST
    # one window in twenty has base 16: mean 0.95·32 + 0.05·16, variance 5² + 0.95·0.05·16²
    assert abs(drawn.mean() - 31.2) < 0.15 and abs(drawn.std() - np.sqrt(25 + 0.95 * 0.05 * 256)) < 0.2
    # below 24: Φ(7.5/5) of the short windows and Φ(−8.5/5) of the long ones, about 0.089 in all
    assert 0.08 < np.mean(drawn < 24) < 0.10


def tiny(cell: str, symbols: int = 5, seed: int = 0) -> dict:
    config = language.LMConfig(cell, "english", hidden=3, embed=2, seed=seed)
    params = language.initial_params(config, symbols)
    return {k: v * 2 for k, v in params.items()}  # larger weights: the start states matter


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_gradient_of_a_window_is_that_of_its_loss_from_constant_start_states(cell):
    rng = np.random.default_rng(1)
    params = tiny(cell)
    tokens = rng.integers(0, 5, (7, 2))
    start = {f"{s}0": rng.standard_normal((2, 3)) for s in train.kernel(cell).STATES}
    loss, grads, end = language.window_grads(cell, params, tokens, start)

    def f() -> float:
        return language.window_grads(cell, params, tokens, start)[0]

    assert loss == f()
    for name, value in params.items():
        assert rel_err(grads[name], numerical_gradient(f, value)) <= 1e-6, name
    assert set(end) == set(start)


def test_a_model_that_predicts_nothing_has_the_perplexity_of_its_symbols():
    params = tiny("lstm", symbols=7)
    params[f"{language.HEAD}V"][:] = 0
    params[f"{language.HEAD}c"][:] = 0
    ids = np.random.default_rng(2).integers(0, 7, 3000)
    assert np.exp(language.held_out_loss("lstm", params, ids)) == pytest.approx(7, rel=1e-12)


def test_samples_are_drawn_from_the_seed_and_never_the_placeholder():
    text = language.corpus("chinese")
    params = language.initial_params(language.LMConfig("gru", "chinese", hidden=6, embed=4), len(text.symbols))
    params[f"{language.HEAD}c"][text.symbols.index(language.RARE)] = 50.0  # the placeholder would win every draw

    def draw(seed: int) -> str:
        return language.sample("gru", params, text, "《", 1.0, 40, np.random.default_rng(seed))

    assert draw(3) == draw(3) != draw(4)
    assert len(draw(3)) == 40 and language.RARE not in draw(3)
    with pytest.raises(ValueError, match="the temperature must be positive, got 0"):
        language.sample("gru", params, text, "《", 0.0, 5, np.random.default_rng(0))


def test_the_committed_runs_are_complete_and_at_one_parameter_budget():
    data = experiments.load("language-model")
    for corpus, sizes in data["settings"]["corpora"].items():
        steps, every = experiments.LM_STEPS[corpus]
        budget = sizes["parameters"][records.LM_MATCHED_TO[0]]
        for cell in records.DEPENDENCY_CELLS:
            assert sizes["hidden"][cell] == experiments.lm_hidden(corpus, cell)
            assert abs(sizes["parameters"][cell] / budget - 1) < 0.01, (corpus, cell)
            for truncation in records.TRUNCATIONS:
                runs = data["runs"][corpus][cell][truncation]
                assert len(runs) == records.LM_SEEDS
                for k, run in enumerate(runs):
                    assert run["eval_step"] == list(range(0, steps + 1, every))
                    assert len(run["train_loss"]) == steps // every
                    assert ("samples" in run) == (k == 0)
                first = runs[0]["samples"]
                assert list(first) == [f"{t:g}" for t in records.TEMPERATURES]
                assert all(len(s) == sizes["characters sampled"] and language.RARE not in s for s in first.values())


def test_each_untrained_model_starts_near_the_perplexity_of_guessing():
    data = experiments.load("language-model")
    for corpus, by_cell in data["runs"].items():
        symbols = data["settings"]["corpora"][corpus]["symbols"]
        for cell, by_truncation in by_cell.items():
            for runs in by_truncation.values():
                assert all(0.9 < np.exp(run["eval_loss"][0]) / symbols < 1.1 for run in runs), (corpus, cell)
