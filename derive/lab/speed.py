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
HEADERS = ("cell", "dtype", "T, B, D, H", "forward (ms)", "forward + backward (ms)",
           "÷ GEMM floor", "forward ÷ torch", "forward + backward ÷ torch")
MEMORY_HEADERS = ("cell", "T, B, D, H", "peak, forward + backward (MB)", "cache (MB)",
                  "strictly needed (MB)", "peak ÷ strictly needed")
LABELS = ("forward + backward ÷ GEMM floor", "forward + backward ÷ torch CPU",
          "time ratio (lower is faster)")


@dataclass(frozen=True)
class Row:
    cell: str
    dtype: str
    shape: tuple[int, int, int, int]
    seconds: dict[str, float]

    def ratio(self, ours: str, other: str) -> float:
        return self.seconds[ours] / self.seconds[other]


def load(path: Path = ROOT / DATA) -> tuple[str, list[Row]]:
    """The machine line and the measured rows."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["machine"], [Row(r["cell"], r["dtype"], tuple(r["shape"]), r["seconds"]) for r in data["rows"]]


def table_rows(rows: list[Row]) -> list[list[str]]:
    """One line of text cells per measurement, in the order of :data:`HEADERS`."""
    return [[r.cell, r.dtype, ", ".join(map(str, r.shape)), f"{r.seconds['ours_f'] * 1e3:.1f}",
             f"{r.seconds['ours_fb'] * 1e3:.1f}", f"{r.ratio('ours_fb', 'floor_fb'):.2f}",
             f"{r.ratio('ours_f', 'torch_f'):.2f}", f"{r.ratio('ours_fb', 'torch_fb'):.2f}"] for r in rows]


def memory_rows(path: Path = ROOT / MEMORY) -> list[list[str]]:
    """The committed peak-memory measurements, as text cells in the order of :data:`MEMORY_HEADERS`."""
    rows = json.loads(path.read_text(encoding="utf-8"))["rows"]
    mb = 2 ** 20
    return [[r["cell"], ", ".join(map(str, r["shape"])), f"{r['peak'] / mb:.1f}", f"{r['cache'] / mb:.1f}",
             f"{r['needed'] / mb:.1f}", f"{r['peak'] / r['needed']:.2f}"] for r in rows]


@plotting.register("kernel-speed", LABELS, (DATA,))
def draw(translate: plotting.Translate):
    """Per dtype: forward + backward time over the GEMM floor and over torch, for every cell and shape."""
    plt = plotting.pyplot()
    _, rows = load()
    dtypes = list(dict.fromkeys(r.dtype for r in rows))
    fig, axes = plt.subplots(len(dtypes), 1, figsize=(plotting.WIDTH, 3.6 * len(dtypes)), sharey=True, squeeze=False)
    for ax, dtype in zip(axes[:, 0], dtypes):
        mine = [r for r in rows if r.dtype == dtype]
        x = range(len(mine))
        ax.bar([i - 0.2 for i in x], [r.ratio("ours_fb", "floor_fb") for r in mine], 0.4, label=translate(LABELS[0]))
        ax.bar([i + 0.2 for i in x], [r.ratio("ours_fb", "torch_fb") for r in mine], 0.4, label=translate(LABELS[1]))
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_xticks(list(x), [f"{r.cell}\n{r.shape[0]}, {r.shape[1]}\n{r.shape[2]}, {r.shape[3]}" for r in mine])
        ax.set_title(dtype)
        ax.set_ylabel(translate(LABELS[2]))
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="upper center", ncol=2, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig
