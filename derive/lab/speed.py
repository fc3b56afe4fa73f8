"""The measured speed of the generated kernels, as committed by ``benchmarks/bench_kernels.py --json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from derive.paths import repository

from . import plotting

DATA = "docs/kernels/_data/speed.json"
MEMORY = "docs/kernels/_data/memory.json"
ROOT = repository("the benchmark tables (their data live in docs/kernels/_data)")
HEADERS = ("cell, dtype", "T, B, D, H", "forward + backward (ms): median, quartiles",
           "÷ hand-written NumPy: forward + backward, forward", "forward + backward ÷ GEMM floor")
TORCH_HEADERS = ("cell, dtype", "T, B, D, H", "NumPy kernel ÷ torch: forward + backward, forward",
                 "fused kernel, forward + backward (ms)", "fused ÷ NumPy kernel: forward + backward",
                 "fused ÷ torch: forward + backward, forward")
MEMORY_HEADERS = ("cell", "T, B, D, H", "peak, forward + backward (MB)", "cache (MB)",
                  "cache per step and row (numbers)", "backward adds per step and row",
                  "peak, fused kernel (MB)")
CHECKPOINT_HEADERS = ("checkpoints", "peak, forward + backward (MB)", "÷ without checkpoints",
                      "forward + backward (s)", "÷ without checkpoints")
LABELS = ("NumPy kernel, forward + backward ÷ hand-written NumPy", "NumPy kernel, forward + backward ÷ torch CPU",
          "fused kernel, forward + backward ÷ torch CPU", "time ratio (lower is faster)")
NO_CHECKPOINTS = "no checkpoints"
EVERY = "every {k} steps"
MACHINE = ("Measured on {cpu} with NumPy {numpy} and {blas}, and torch {torch}; {threads} threads each, "
           "a pause of {pause} s before every timed call, the median of {repeats} repetitions.")


@dataclass(frozen=True)
class Row:
    cell: str
    dtype: str
    shape: tuple[int, int, int, int]
    seconds: dict[str, float]  # medians, by contender: ours, expert, torch, floor; _f forward, _fb both
    quartiles: dict[str, list[float]]

    def ratio(self, ours: str, other: str) -> float:
        return self.seconds[ours] / self.seconds[other]


def load(path: Path = ROOT / DATA) -> tuple[dict, list[Row]]:
    """The machine (CPU, libraries, threads, pause, repetitions) and the measured rows."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["machine"], [Row(r["cell"], r["dtype"], tuple(r["shape"]), r["seconds"], r["quartiles"])
                             for r in data["rows"]]


def _times_h(k: int) -> str:
    return "H" if k == 1 else f"{k}H"


def _timed(r: Row, contender: str) -> str:
    """A contender's median time in ms, and on a second line its quartiles."""
    ms = lambda value: f"{value * 1e3:.3g}"
    low, high = r.quartiles[contender]
    return f"{ms(r.seconds[contender])}\n{ms(low)}–{ms(high)}"


def table_rows(rows: list[Row]) -> list[list[str]]:
    """The NumPy kernels against the hand-written NumPy and the floor: one row of text cells per
    measurement, in the order of :data:`HEADERS` (a line break splits a cell)."""
    return [[f"{r.cell}\n{r.dtype}", ", ".join(map(str, r.shape)),
             _timed(r, "ours_fb"),
             f"{r.ratio('ours_fb', 'expert_fb'):.2f}\n{r.ratio('ours_f', 'expert_f'):.2f}",
             f"{r.ratio('ours_fb', 'floor_fb'):.2f}"] for r in rows]


def torch_rows(rows: list[Row]) -> list[list[str]]:
    """The NumPy and the fused kernels against torch, in the order of :data:`TORCH_HEADERS`."""
    return [[f"{r.cell}\n{r.dtype}", ", ".join(map(str, r.shape)),
             f"{r.ratio('ours_fb', 'torch_fb'):.2f}\n{r.ratio('ours_f', 'torch_f'):.2f}",
             _timed(r, "fused_fb"),
             f"{r.ratio('fused_fb', 'ours_fb'):.2f}",
             f"{r.ratio('fused_fb', 'torch_fb'):.2f}\n{r.ratio('fused_f', 'torch_f'):.2f}"] for r in rows]


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
    the fused kernel over torch, for every cell and shape."""
    plt = plotting.pyplot()
    _, rows = load()
    dtypes = list(dict.fromkeys(r.dtype for r in rows))
    fig, axes = plt.subplots(len(dtypes), 1, figsize=(plotting.WIDTH, 4.6 * len(dtypes)), sharey=True, squeeze=False)
    for ax, dtype in zip(axes[:, 0], dtypes):
        mine = [r for r in rows if r.dtype == dtype]
        x = range(len(mine))
        for k, (ours, other) in enumerate((("ours_fb", "expert_fb"), ("ours_fb", "torch_fb"), ("fused_fb", "torch_fb"))):
            ax.bar([i + (k - 1) * 0.27 for i in x], [r.ratio(ours, other) for r in mine], 0.27, label=translate(LABELS[k]))
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_xticks(list(x), [f"{r.cell} B {r.shape[1]} H {r.shape[3]}" for r in mine], rotation=90)
        ax.set_title(dtype)
        ax.set_ylabel(translate(LABELS[3]))
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="upper center", ncol=1, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig
