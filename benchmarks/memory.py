"""Peak memory of forward + backward, and what checkpointing every k steps trades for it.

Part 1, for each cell and shape: the peak of a forward and a backward pass (tracemalloc, which sees
NumPy's allocations), the bytes of the forward cache, the cache the kernel's footprint predicts
((cache_h · H + D) · T · B numbers, derive.emit.kernel.Footprint), and the peak of the fused kernel,
whose backward pass computes its factors where it uses them instead of storing them.

Part 2, one long sequence: the peak and the time of forward + backward with derive.runtime.checkpoint
for several segment lengths k, against the plain kernel and against the plain kernel run on the
segments of 45 steps separately (the same steps once each, on arrays of a segment's size), all in one
run, timed as bench_kernels.py times (interleaved repetitions in a shuffled order, a pause before each
timing, the mean of back-to-back calls; medians; NumPy's BLAS pinned to THREADS threads).

    python benchmarks/memory.py
    python benchmarks/memory.py --json docs/kernels/_data/memory.json   # data for the site's tables
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import tracemalloc

import numpy as np
from bench_kernels import THREADS, measure, write_json
from threadpoolctl import threadpool_limits

from derive import cells
from derive.derivation.bptt import derive
from derive.emit.kernel import KernelBuilder
from derive.runtime import checkpoint

SHAPES = [(50, 32, 128, 256), (200, 16, 64, 128)]
LONG = ("lstm", (2000, 16, 64, 128))
SEGMENTS = (None, 500, 200, 45, 10)  # None: the kernel without checkpoints
ALONE = 45  # segment length of the plain kernel run on segments separately
REPEATS = 15


def problem(cell: str, T: int, B: int, D: int, H: int, dtype=np.float32):
    kernel = importlib.import_module(f"generated.{cell}")
    rng = np.random.default_rng(0)
    dims = {"H": H, "D": D}
    params = {k: (rng.standard_normal([dims[s] for s in v]) / np.sqrt(H)).astype(dtype)
              for k, v in kernel.PARAM_SHAPES.items()}
    return kernel, params, rng.standard_normal((T, B, D)).astype(dtype), rng.standard_normal((T, B, H)).astype(dtype)


def run(kernel, params, x, dh, every: int | None) -> None:
    if every is None:
        kernel.backward(params, kernel.forward(params, x)[1], dh)
    else:
        checkpoint.backward(kernel, params, checkpoint.forward(kernel, params, x, every)[1], dh)


def peak(fn) -> int:
    tracemalloc.start()
    fn()
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return top


def cache_rows() -> list[dict]:
    rows = []
    for cell in ("lstm", "gru", "rnn"):
        footprint = KernelBuilder(derive(cells.get(cell)), "").footprint()
        for T, B, D, H in SHAPES:
            kernel, params, x, dh = problem(cell, T, B, D, H)
            run(kernel, params, x, dh, None)  # warm up
            cache = {}
            top = peak(lambda: cache.update(kernel.forward(params, x)[1]) or kernel.backward(params, cache, dh))
            owned = sum(v.nbytes for v in cache.values() if isinstance(v, np.ndarray) and v.base is None)
            predicted = (footprint.cache_h * H + D) * T * B * x.itemsize
            fused = importlib.import_module(f"generated.fused.{cell}")
            fused_peak = peak(lambda: run(fused, params, x, dh, None))
            rows.append({"cell": cell, "shape": [T, B, D, H], "peak": top, "cache": owned, "predicted": predicted,
                         "fused_peak": fused_peak})
    return rows


def separately(kernel, params, x, dh, every: int) -> None:
    """The plain kernel, forward + backward, on each segment of ``every`` steps as a sequence of its own:
    the steps checkpointing runs, once each, on arrays of a segment's size."""
    for start in range(0, len(x), every):
        run(kernel, params, x[start:start + every], dh[start:start + every], None)


def checkpoint_rows() -> tuple[list[dict], dict]:
    """Peak and time of every segment length; and the time of the plain kernel on the segments of
    ALONE steps separately."""
    cell, (T, B, D, H) = LONG
    kernel, params, x, dh = problem(cell, T, B, D, H)
    peaks = {k: peak(lambda: run(kernel, params, x, dh, k)) for k in SEGMENTS}
    fns = {k: lambda k=k: run(kernel, params, x, dh, k) for k in SEGMENTS}
    times = measure({**fns, "alone": lambda: separately(kernel, params, x, dh, ALONE)}, REPEATS)
    rows = [{"cell": cell, "shape": [T, B, D, H], "every": k, "peak": peaks[k],
             "seconds": statistics.median(times[k])} for k in SEGMENTS]
    return rows, {"every": ALONE, "seconds": statistics.median(times["alone"])}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", help="also write the measurements (bytes, seconds) to this file")
    args = p.parse_args()
    with threadpool_limits(THREADS, "blas"):
        caches = cache_rows()
        segments, alone = checkpoint_rows()
    mb = 2 ** 20
    print("| cell | T, B, D, H | peak fwd+bwd MB | cache MB | predicted cache MB | peak, fused kernel MB |")
    print("|---|---|---:|---:|---:|---:|")
    for r in caches:
        print(f"| {r['cell']} | {', '.join(map(str, r['shape']))} | {r['peak'] / mb:.1f} | {r['cache'] / mb:.1f} | "
              f"{r['predicted'] / mb:.1f} | {r['fused_peak'] / mb:.1f} |")
    plain = segments[0]
    print(f"\ncheckpointing, {plain['cell']} at T, B, D, H = {', '.join(map(str, plain['shape']))} (float32)")
    print("| every k steps | peak MB | ÷ plain | time s | ÷ plain |")
    print("|---|---:|---:|---:|---:|")
    for r in segments:
        print(f"| {r['every'] or 'no checkpoints'} | {r['peak'] / mb:.1f} | {r['peak'] / plain['peak']:.2f} | "
              f"{r['seconds']:.3f} | {r['seconds'] / plain['seconds']:.2f} |")
    print(f"the plain kernel on each segment of {alone['every']} steps separately: {alone['seconds']:.3f} s, "
          f"{alone['seconds'] / plain['seconds']:.2f} of the whole sequence's time")
    write_json(args.json, {"dtype": "float32", "threads": THREADS, "repeats": REPEATS, "rows": caches,
                           "checkpoints": segments, "alone": alone})


if __name__ == "__main__":
    main()
