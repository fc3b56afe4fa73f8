"""The measured speed of the generated kernels, as committed by ``benchmarks/bench_kernels.py --json``."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from derive.paths import repository

from . import plotting

DATA = "docs/kernels/_data/speed.json"
AVX512 = "docs/kernels/_data/speed-avx512.json"  # the same benchmark with OPENBLAS_CORETYPE=SkylakeX
MEMORY = "docs/kernels/_data/memory.json"
ONEDNN = "docs/kernels/_data/onednn.json"  # torch's float32 LSTM with and without oneDNN
FUSED_LOOP = "docs/kernels/_data/fused-loop.json"  # the fused kernels' loop compiled or in Python
ROOT = repository("the benchmark tables (their data live in docs/kernels/_data)")
HEADERS = ("cell, dtype", "T, B, D, H", "forward + backward (ms): median, quartiles",
           "÷ hand-written NumPy, forward + backward: median, 95 % interval",
           "÷ hand-written NumPy, forward: median, 95 % interval", "forward + backward ÷ GEMM floor")
TORCH_HEADERS = ("cell, dtype", "T, B, D, H", "NumPy kernel ÷ torch: forward + backward, forward",
                 "fused kernel, forward + backward (ms)", "fused ÷ NumPy kernel: forward + backward",
                 "fused ÷ torch: forward + backward, forward")
AVX512_HEADERS = ("cell, dtype", "T, B, D, H",
                  "GEMM floor, forward + backward (ms): OpenBLAS's Haswell kernels (AVX2), SkylakeX (AVX-512)",
                  "NumPy kernel ÷ torch, forward + backward: Haswell, SkylakeX kernels",
                  "fused kernel ÷ torch, forward + backward: Haswell, SkylakeX kernels")
MEMORY_HEADERS = ("cell", "T, B, D, H", "peak, forward + backward (MB)", "cache (MB)",
                  "cache per step and row (numbers)", "backward adds per step and row",
                  "peak, fused kernel (MB)")
CHECKPOINT_HEADERS = ("checkpoints", "peak, forward + backward (MB)", "÷ without checkpoints",
                      "forward + backward (s)", "÷ without checkpoints")
LABELS = ("NumPy kernel, forward + backward ÷ hand-written NumPy", "NumPy kernel, forward + backward ÷ torch CPU",
          "fused kernel, forward + backward ÷ torch CPU", "time ratio (lower is faster)")
NO_CHECKPOINTS = "no checkpoints"
EVERY = "every {k} steps"
MACHINE = ("Measured on {cpu} with NumPy {numpy} and {blas} (OPENBLAS_CORETYPE: {openblas_coretype}), and torch "
           "{torch}; {threads} threads each; "
           "every timing is the mean of calls made back to back for at least {budget} s after a pause of "
           "{pause} s; {repeats} repetitions.")


@dataclass(frozen=True)
class Row:
    """One shape of one cell: every contender's timings (seconds per call), one per repetition."""

    cell: str
    dtype: str
    shape: tuple[int, int, int, int]
    seconds: dict[str, float]  # medians, by contender: ours, fused, expert, bare, torch, floor; _f forward, _fb both
    quartiles: dict[str, list[float]]
    times: dict[str, list[float]]  # the timings of every repetition, in order

    def ratios(self, ours: str, other: str) -> list[float]:
        """The ratio of two contenders' timings in each repetition."""
        return [a / b for a, b in zip(self.times[ours], self.times[other])]

    def ratio(self, ours: str, other: str) -> float:
        """The median over the repetitions of the ratio of two contenders' timings."""
        return paired_median(self.times[ours], self.times[other])

    def interval(self, ours: str, other: str) -> tuple[float, float]:
        """A distribution-free 95 % confidence interval for the median of the per-repetition ratios."""
        found = sorted(self.ratios(ours, other))
        k = median_rank(len(found))
        return found[k], found[len(found) - 1 - k]


def paired_median(ours: list[float], other: list[float]) -> float:
    """The median of the ratios ours ÷ other of timings taken in the same repetition."""
    return statistics.median(a / b for a, b in zip(ours, other))


def median_rank(n: int, level: float = 0.95) -> int:
    """The largest 0-based rank k such that the k-th smallest and the k-th largest of n samples enclose
    their population's median with probability at least ``level`` (0 when n is too small for that).

    The k-th smallest lies above the median only if at most k samples fall below it, which happens with
    probability P(Bin(n, ½) ≤ k); by symmetry the interval misses on either side with that probability."""
    k, below = 0, 0.0
    while True:
        below += math.comb(n, k) / 2 ** n  # P(Bin(n, ½) ≤ k)
        if 1 - 2 * below < level:
            return max(k - 1, 0)
        k += 1


def load(path: Path = ROOT / DATA) -> tuple[dict, list[Row]]:
    """The machine (CPU, libraries, threads, pause, timing budget, repetitions) and the measured rows."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["machine"], [Row(r["cell"], r["dtype"], tuple(r["shape"]), r["seconds"], r["quartiles"], r["times"])
                             for r in data["rows"]]


def _times_h(k: int) -> str:
    return "H" if k == 1 else f"{k}H"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g}"


def _timed(r: Row, contender: str) -> str:
    """A contender's median time in ms, and on a second line its quartiles."""
    low, high = r.quartiles[contender]
    return f"{_ms(r.seconds[contender])}\n{_ms(low)}–{_ms(high)}"


def _measured(r: Row) -> list[str]:
    """The first two cells of a row: what was measured, and at which shape."""
    return [f"{r.cell}\n{r.dtype}", ", ".join(map(str, r.shape))]


def _bounded(r: Row, ours: str, other: str) -> str:
    """A ratio's median, and on a second line its 95 % interval."""
    low, high = r.interval(ours, other)
    return f"{r.ratio(ours, other):.2f}\n{low:.2f}–{high:.2f}"


def table_rows(rows: list[Row]) -> list[list[str]]:
    """The NumPy kernels against the hand-written NumPy and the floor: one row of text cells per
    measurement, in the order of :data:`HEADERS` (a line break splits a cell)."""
    return [[*_measured(r), _timed(r, "ours_fb"),
             _bounded(r, "ours_fb", "expert_fb"), _bounded(r, "ours_f", "expert_f"),
             f"{r.ratio('ours_fb', 'floor_fb'):.2f}"] for r in rows]


def torch_rows(rows: list[Row]) -> list[list[str]]:
    """The NumPy and the fused kernels against torch, in the order of :data:`TORCH_HEADERS`."""
    return [[*_measured(r),
             f"{r.ratio('ours_fb', 'torch_fb'):.2f}\n{r.ratio('ours_f', 'torch_f'):.2f}",
             _timed(r, "fused_fb"),
             f"{r.ratio('fused_fb', 'ours_fb'):.2f}",
             f"{r.ratio('fused_fb', 'torch_fb'):.2f}\n{r.ratio('fused_f', 'torch_f'):.2f}"] for r in rows]


def avx512_rows(rows: list[Row], faster: list[Row]) -> list[list[str]]:
    """The default run against the run with OpenBLAS's AVX-512 kernels, shape by shape, in the order of
    :data:`AVX512_HEADERS`."""
    other = {(r.cell, r.dtype, r.shape): r for r in faster}
    found = []
    for r in rows:
        f = other[r.cell, r.dtype, r.shape]
        found.append([*_measured(r), f"{_ms(r.seconds['floor_fb'])}\n{_ms(f.seconds['floor_fb'])}",
                      f"{r.ratio('ours_fb', 'torch_fb'):.2f}\n{f.ratio('ours_fb', 'torch_fb'):.2f}",
                      f"{r.ratio('fused_fb', 'torch_fb'):.2f}\n{f.ratio('fused_fb', 'torch_fb'):.2f}"])
    return found


def memory_rows(footprints: dict[str, tuple[int, int]], path: Path = ROOT / MEMORY) -> list[list[str]]:
    """The committed peak-memory measurements, as text cells in the order of :data:`MEMORY_HEADERS`;
    ``footprints`` gives each cell's numbers per step and row (cache: a · H + D, backward: b · H)."""
    rows = json.loads(path.read_text(encoding="utf-8"))["rows"]
    mb = 2 ** 20
    return [[r["cell"], ", ".join(map(str, r["shape"])), f"{r['peak'] / mb:.1f}", f"{r['cache'] / mb:.1f}",
             f"{_times_h(footprints[r['cell']][0])} + D", _times_h(footprints[r['cell']][1]), f"{r['fused_peak'] / mb:.1f}"]
            for r in rows]


def checkpoint_rows(translate: plotting.Translate, path: Path = ROOT / MEMORY) -> tuple[dict, list[list[str]]]:
    """The checkpointing measurement: its setting (cell, shape, dtype) and one row per segment length."""
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = data["checkpoints"]
    plain = rows[0]
    mb = 2 ** 20
    body = [[translate(NO_CHECKPOINTS) if r["every"] is None else translate(EVERY).format(k=r["every"]),
             f"{r['peak'] / mb:.0f}", f"{r['peak'] / plain['peak']:.2f}", f"{r['seconds']:.2f}",
             f"{r['seconds'] / plain['seconds']:.2f}"] for r in rows]
    return {"cell": plain["cell"], "shape": plain["shape"], "dtype": data["dtype"]}, body


@plotting.register("kernel-speed", LABELS, (DATA,))
def draw(translate: plotting.Translate):
    """Per dtype: forward + backward time of the NumPy kernel over the hand-written NumPy and over torch, and of
    the fused kernel over torch, for every cell and shape: medians, with their 95 % intervals as error bars."""
    plt = plotting.pyplot()
    _, rows = load()
    dtypes = list(dict.fromkeys(r.dtype for r in rows))
    fig, axes = plt.subplots(len(dtypes), 1, figsize=(plotting.WIDTH, 4.6 * len(dtypes)), sharey=True, squeeze=False)
    for ax, dtype in zip(axes[:, 0], dtypes):
        mine = [r for r in rows if r.dtype == dtype]
        x = range(len(mine))
        for k, (ours, other) in enumerate((("ours_fb", "expert_fb"), ("ours_fb", "torch_fb"), ("fused_fb", "torch_fb"))):
            medians = [r.ratio(ours, other) for r in mine]
            spans = [r.interval(ours, other) for r in mine]
            errors = [[m - low for m, (low, _) in zip(medians, spans)], [high - m for m, (_, high) in zip(medians, spans)]]
            ax.bar([i + (k - 1) * 0.27 for i in x], medians, 0.27, yerr=errors, capsize=1.5,
                   error_kw={"linewidth": 0.7}, label=translate(LABELS[k]))
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_xticks(list(x), [f"{r.cell} B {r.shape[1]} H {r.shape[3]}" for r in mine], rotation=90)
        ax.set_title(dtype)
        ax.set_ylabel(translate(LABELS[3]))
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="upper center", ncol=1, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig
