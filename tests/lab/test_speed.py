"""The committed benchmark data feed the speed page's tables, and what the page and the README say of
them holds: when the data is regenerated, a failure here names the sentence to rewrite."""

from pathlib import Path

import pytest

from derive import cells
from derive.derivation.bptt import derive
from derive.emit.kernel import KernelBuilder
from derive.lab import speed

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "kernels" / "speed.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def rows(cell: str | None = None, dtype: str | None = None, batch=None) -> list[speed.Row]:
    _, found = speed.load()
    return [r for r in found if (cell is None or r.cell == cell) and (dtype is None or r.dtype == dtype)
            and (batch is None or batch(r.shape[1]))]


def span(values) -> str:
    """``0.91–1.07``: the smallest and the largest of the ratios, as the texts write them."""
    values = list(values)
    return f"{min(values):.2f}–{max(values):.2f}"


def footprint(cell: str):
    return KernelBuilder(derive(cells.get(cell)), "").footprint()


def test_every_table_row_has_a_cell_per_header():
    _, found = speed.load()
    assert {r.cell for r in found} == {"lstm", "gru", "rnn"} and {r.dtype for r in found} == {"float32", "float64"}
    assert all(len(row) == len(speed.HEADERS) for row in speed.table_rows(found))
    assert all(len(row) == len(speed.TORCH_HEADERS) for row in speed.torch_rows(found))
    prints = {c: (footprint(c).cache_h, footprint(c).backward_h) for c in ("lstm", "gru", "rnn")}
    assert all(len(row) == len(speed.MEMORY_HEADERS) for row in speed.memory_rows(prints))
    setting, body = speed.checkpoint_rows(lambda s: s)
    assert setting["cell"] == "lstm" and body[0][0] == speed.NO_CHECKPOINTS
    assert all(len(row) == len(speed.CHECKPOINT_HEADERS) for row in body)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_the_measured_cache_is_the_footprint_plus_constants(cell):
    """The predicted per-step cache is what memory.py measured, but for the weights and the states."""
    import json
    data = json.loads((ROOT / speed.MEMORY).read_text(encoding="utf-8"))
    for r in (r for r in data["rows"] if r["cell"] == cell):
        T, B, D, H = r["shape"]
        assert r["predicted"] == (footprint(cell).cache_h * H + D) * T * B * 4
        constants = r["cache"] - r["predicted"]
        assert 0 <= constants <= (4 * H * H + 4 * B * H + 8 * H) * 4


def ratio(a: str, b: str):
    return lambda r: r.ratio(a, b)


def test_the_numpy_kernels_against_the_hand_written_numpy():
    ours = [r.ratio("ours_fb", "expert_fb") for r in rows()]
    assert span(ours) == "0.85–1.16" and len(ours) == 30 and sum(v <= 1.05 for v in ours) == 17
    for text in (PAGE, README):
        assert "0.85–1.16" in text and "17 of the 30" in text
    rnn = [r.ratio("ours_fb", "expert_fb") for r in rows("rnn")]
    assert span(rnn) == "1.04–1.10" and "4–10 %" in PAGE and "4–10 %" in README
    for cell in ("lstm", "gru"):  # "only the simple RNN is slower at every shape"
        assert min(r.ratio("ours_fb", "expert_fb") for r in rows(cell)) < 1
    import statistics
    spread = statistics.median((r.quartiles["ours_fb"][1] - r.quartiles["ours_fb"][0]) / r.seconds["ours_fb"]
                               for r in rows())
    assert round(spread * 100) == 17 and "17 % of its\nmedian time" in PAGE


def test_where_torch_is_faster():
    faster = {(r.cell, r.dtype, r.shape[1]) for r in rows() if r.ratio("ours_fb", "torch_fb") > 1}
    assert faster == {("lstm", "float32", B) for B in (16, 32, 64, 128)} | {
        ("gru", "float32", 64), ("gru", "float32", 128), ("gru", "float64", 64), ("gru", "float64", 128),
        ("lstm", "float64", 64), ("lstm", "float64", 128), ("rnn", "float64", 128)}
    lstm32 = rows("lstm", "float32", lambda B: B >= 16)
    assert span(r.ratio("ours_fb", "torch_fb") for r in lstm32) == "1.25–1.90"
    assert span(r.ratio("fused_fb", "torch_fb") for r in lstm32) == "1.01–1.22"
    assert span(r.ratio("ours_fb", "torch_fb") for r in rows(batch=lambda B: B == 1)) == "0.07–0.39"
    fused_slower = {(r.cell, r.dtype, r.shape[1]) for r in rows() if r.ratio("fused_fb", "torch_fb") > 1}
    assert fused_slower == {("lstm", "float32", B) for B in (16, 32, 64, 128)} | {("gru", "float32", 128)}
    assert span(r.ratio("fused_fb", "ours_fb") for r in rows()) == "0.51–0.96"
    for text in (PAGE, README):
        assert all(n in text for n in ("1.25–1.90", "1.01–1.22", "0.07–0.39", "0.51–0.96"))


def test_what_the_memory_paragraphs_say():
    import json
    data = json.loads((ROOT / speed.MEMORY).read_text(encoding="utf-8"))
    plain, *segments = data["checkpoints"]
    assert plain["every"] is None and plain["shape"] == [2000, 16, 64, 128] and data["repeats"] == 7
    by_k = {r["every"]: r for r in segments}
    assert f"{by_k[45]['peak'] / plain['peak']:.2f}" == "0.20"
    assert span(r["seconds"] / plain["seconds"] for r in segments) == "0.93–1.19"
    assert min(by_k) == 10 and max(by_k) == 500
    assert span(r["fused_peak"] / r["peak"] for r in data["rows"]) == "0.69–0.81"
    for number in ("0.20", "0.93–1.19", "0.69–0.81"):
        assert number in PAGE
    assert "0.20" in README and "0.93–1.19" in README
