"""The committed benchmark data feed the speed page's tables, and what the page and the README say of
them holds: when the data is regenerated, a failure here names the sentence to rewrite."""

from collections.abc import Callable
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
    assert len(ours) == 30 and max(ours) <= 1.05 and span(ours) == "0.69–1.03"
    above = [r for r in rows() if r.interval("ours_fb", "expert_fb")[1] > 1.05]
    assert len(above) == 3 and f"{max(r.interval('ours_fb', 'expert_fb')[1] for r in above):.2f}" == "1.09"
    widest = max(above, key=lambda r: r.interval("ours_fb", "expert_fb")[1])
    assert (widest.cell, widest.dtype, widest.shape[1], widest.shape[3]) == ("rnn", "float32", 32, 256)
    by_cell = {c: span(r.ratio("ours_fb", "expert_fb") for r in rows(c)) for c in ("rnn", "lstm", "gru")}
    assert by_cell == {"rnn": "0.90–1.03", "lstm": "0.69–0.96", "gru": "0.78–0.97"}
    forward = [r.ratio("ours_f", "expert_f") for r in rows()]
    assert span(forward) == "0.82–1.06"
    slow = [r for r in rows() if r.ratio("ours_f", "expert_f") > 1.05]
    assert [(r.cell, r.dtype, r.shape[1]) for r in slow] == [("lstm", "float64", 128)]
    assert "{:.2f}–{:.2f}".format(*slow[0].interval("ours_f", "expert_f")) == "0.92–1.30"
    forward_above = [r for r in rows() if r.interval("ours_f", "expert_f")[1] > 1.05]
    widest = max(forward_above, key=lambda r: r.interval("ours_f", "expert_f")[1])
    assert len(forward_above) == 6 and (widest.cell, widest.dtype, widest.shape[1]) == ("lstm", "float64", 64)
    assert f"{widest.interval('ours_f', 'expert_f')[1]:.2f}" == "1.56" and "six intervals" in PAGE
    assert span(r.ratio("ours_fb", "bare_fb") for r in rows()) == "0.81–1.06"
    assert span(r.ratio("expert_fb", "bare_fb") for r in rows()) == "0.96–1.18"
    assert span(r.ratio("ours_fb", "floor_fb") for r in rows()) == "1.02–3.54"
    for text in (PAGE, README):
        assert "0.69–1.03" in text and "0.82–1.06" in text and "1.09" in text
    for number in ("0.90–1.03", "0.69–0.96", "0.78–0.97", "0.92–1.30", "0.81–1.06", "1.02–3.54",
                   "0.96–1.18"):
        assert number in PAGE


def test_where_torch_is_faster():
    faster = {(r.cell, r.dtype, r.shape[1]) for r in rows() if r.ratio("ours_fb", "torch_fb") > 1}
    assert faster == {("lstm", "float32", B) for B in (1, 16, 32, 64, 128)} | {
        ("gru", "float64", 64), ("gru", "float64", 128)}
    level = rows("gru", "float64", lambda B: B >= 64)  # "level within the measurement"
    assert [f"{r.ratio('ours_fb', 'torch_fb'):.2f}" for r in level] == ["1.00", "1.10"]
    intervals = ["{:.2f}–{:.2f}".format(*r.interval("ours_fb", "torch_fb")) for r in level]
    assert intervals == ["0.95–1.06", "0.98–1.25"]
    assert all(r.interval("ours_fb", "torch_fb")[0] < 1 for r in level)
    assert all("0.98–1.25" in text for text in (PAGE, README))
    assert span(r.ratio("ours_fb", "torch_fb") for r in rows("lstm", "float32")) == "1.81–2.54"
    one = rows(batch=lambda B: B == 1)
    assert span(r.ratio("ours_fb", "torch_fb") for r in one if (r.cell, r.dtype) != ("lstm", "float32")) == "0.16–0.21"
    fused_slower = {(r.cell, r.dtype, r.shape[1]) for r in rows() if r.ratio("fused_fb", "torch_fb") > 1}
    assert fused_slower == {("lstm", "float32", B) for B in (16, 32, 64, 128)}
    assert span(r.ratio("fused_fb", "torch_fb") for r in rows("lstm", "float32", lambda B: B > 1)) == "1.69–1.99"
    assert f"{rows('lstm', 'float32', lambda B: B == 1)[0].ratio('fused_fb', 'torch_fb'):.2f}" == "0.69"
    assert span(r.ratio("fused_fb", "ours_fb") for r in one) == "0.25–0.42"
    assert span(r.ratio("fused_fb", "ours_fb") for r in rows(batch=lambda B: B > 1)) == "0.74–1.01"
    for text in (PAGE, README):
        assert all(n in text for n in ("1.81–2.54", "0.16–0.21", "0.25–0.42", "0.74–1.01"))
    assert "1.69–1.99" in PAGE and "0.69" in PAGE
    forward = [r for r in rows() if r.ratio("ours_f", "torch_f") > 1 and (r.cell, r.dtype) != ("lstm", "float32")]
    assert {(r.cell, r.dtype, r.shape[1]) for r in forward} == {
        (c, "float64", B) for c in ("lstm", "gru") for B in (16, 32, 64, 128)} | {
        ("rnn", "float64", 16), ("rnn", "float64", 64)}
    assert span(r.ratio("ours_f", "torch_f") for r in forward) == "1.07–1.47"
    assert span(r.ratio("fused_f", "torch_f") for r in forward) == "1.06–1.29"
    assert all(n in PAGE for n in ("ten more shapes", "1.07–1.47", "1.06–1.29"))
    assert "ten more shapes" in README and "1.07–1.47" in README
    under = [r.ratio("torch_fb", "floor_fb") for r in rows("lstm", "float32", lambda B: B > 1)]
    assert span(under) == "0.59–0.69" and "0.59–0.69" in README


def test_what_the_memory_paragraphs_say():
    import json
    data = json.loads((ROOT / speed.MEMORY).read_text(encoding="utf-8"))
    plain, *segments = data["checkpoints"]
    assert plain["every"] is None and plain["shape"] == [2000, 16, 64, 128] and data["repeats"] == 15
    by_k = {r["every"]: r for r in segments}
    assert f"{by_k[45]['peak'] / plain['peak']:.2f}" == "0.30"
    assert span(r["seconds"] / plain["seconds"] for r in segments) == "0.74–0.87"
    assert min(by_k) == 10 and max(by_k) == 500
    assert data["alone"]["every"] == 45 and f"{data['alone']['seconds'] / plain['seconds']:.2f}" == "0.47"
    assert round(plain["peak"] / 2 ** 20, -2) == 200 and round(plain["peak"] / 2 ** 20 * 45 / 2000) == 5
    assert span(r["fused_peak"] / r["peak"] for r in data["rows"]) == "0.92–1.00"
    for number in ("0.30", "0.74–0.87", "0.47", "0.92–1.00", "about 5 MB", "about 200 MB"):
        assert number in PAGE
    assert "0.30" in README and "0.74–0.87" in README


def test_torch_without_onednn():
    import json
    data = json.loads((ROOT / speed.ONEDNN).read_text(encoding="utf-8"))
    assert span(r["ratio"] for r in data["rows"]) == "1.95–11.17" and "1.95–11.17" in PAGE
    ours = {r.shape: r.seconds["ours_fb"] for r in rows("lstm", "float32")}
    assert all(ours[tuple(r["shape"])] < r["seconds"]["without"] for r in data["rows"])  # "longer than the NumPy kernel"


def test_with_openblas_avx512_kernels():
    _, faster = speed.load(ROOT / speed.AVX512)
    default = {(r.cell, r.dtype, r.shape): r for r in rows()}
    def gain(batch: Callable[[int], bool]) -> str:
        return span(default[r.cell, r.dtype, r.shape].seconds["floor_fb"] / r.seconds["floor_fb"]
                    for r in faster if batch(r.shape[1]))
    assert gain(lambda B: B == 1) == "1.03–1.09" and gain(lambda B: B > 1) == "1.13–2.52"
    lstm32 = [r for r in faster if (r.cell, r.dtype) == ("lstm", "float32")]
    assert span(r.ratio("ours_fb", "torch_fb") for r in lstm32) == "1.15–2.25"
    assert span(r.ratio("fused_fb", "torch_fb") for r in lstm32 if r.shape[1] > 1) == "1.18–1.66"
    under = [r.ratio("torch_fb", "floor_fb") for r in lstm32 if r.shape[1] in (16, 32)]
    assert span(under) == "0.75–0.75" and "(0.75 of the GEMM floor)" in PAGE
    one = next(r for r in lstm32 if r.shape[1] == 1)
    assert f"{one.ratio('fused_fb', 'torch_fb'):.2f}" == "0.61"
    for number in ("1.03–1.09", "1.13–2.52", "1.15–2.25", "1.18–1.66", "0.61"):
        assert number in PAGE
    assert "1.15–2.25" in README


def test_where_the_fused_loop_runs_in_c():
    import json
    data = json.loads((ROOT / speed.FUSED_LOOP).read_text(encoding="utf-8"))
    by_batch = lambda which: [r["ratio"] for r in data["rows"] if which(r["B"])]
    assert span(by_batch(lambda B: B <= 2)) == "0.22–1.03" and span(by_batch(lambda B: B == 4)) == "0.44–0.99"
    large = by_batch(lambda B: B >= 8)
    assert span(large) == "0.66–2.09" and (sum(v > 1 for v in large), len(large)) == (37, 48)
    assert data["repeats"] == 7 and all(n in PAGE for n in ("0.22–1.03", "0.44–0.99", "0.66–2.09", "37 of those 48"))
    from derive.runtime import compiled
    picks = [(compiled.small(r["B"], r["H"], r["work"] // (r["B"] * r["H"] ** 2)), r["ratio"]) for r in data["rows"]]
    assert sum(c == (ratio < 1) for c, ratio in picks) == 109 and len(picks) == 120
    assert f"{max(ratio for c, ratio in picks if c):.2f}" == "1.04"
    assert f"{min(ratio for c, ratio in picks if not c):.2f}" == "0.73"
    assert all(n in PAGE for n in ("109 of the 120", "at most 1.04", "0.73 of that time"))


@pytest.mark.parametrize("n", range(1, 41))
def test_the_median_interval_is_the_narrowest_with_its_coverage(n):
    """The k-th smallest and k-th largest of n samples miss the median with probability 2·P(Bin(n, ½) ≤ k)."""
    import math

    def coverage(k: int) -> float:
        return 1 - 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n

    k = speed.median_rank(n)
    assert coverage(k) >= 0.95 or k == 0
    assert coverage(k + 1) < 0.95
