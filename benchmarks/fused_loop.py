"""Where a fused kernel should run its whole time loop in C rather than its steps from Python.

The loop in C, recurrent products included, is timed against one BLAS call and one compiled step per
step from Python.

For every cell, precision, batch size B and hidden size H, both ways run forward + backward on the same
inputs in one process, interleaved in a shuffled order with a pause before each timing (as
bench_kernels.py, whose timing helpers this reuses); a timing is the mean of back-to-back calls. The
table gives the median over the repetitions of (compiled loop ÷ Python loop) and the multiply-adds of one
step's recurrent product, B · H · n·H for n gates that read the previous state, which is what
derive.runtime.compiled.small compares with its limits.

    python benchmarks/fused_loop.py
    python benchmarks/fused_loop.py --json docs/kernels/_data/fused-loop.json   # data for the site
"""

from __future__ import annotations

import argparse
import importlib

import numpy as np
import torch
from bench_kernels import THREADS, measure, write_json
from threadpoolctl import threadpool_limits

from derive.lab.speed import paired_median
from derive.runtime import compiled, interop

BATCHES = (1, 2, 4, 8, 16)
HIDDEN = (32, 64, 128, 256)
T, D = 50, 64
REPEATS = 7


def both_ways(cell: str, B: int, H: int, dtype) -> dict[str, object]:
    """forward + backward of the fused kernel with its loop compiled and in Python."""
    fused = importlib.import_module(f"generated.fused.{cell}")
    torch.manual_seed(0)
    module = getattr(torch.nn, interop.TORCH_CELLS[cell][0])(D, H).to(torch.float64)
    _, params = interop.from_torch(module)
    params = {k: v.astype(dtype) for k, v in params.items()}
    rng = np.random.default_rng(1)
    x = rng.standard_normal((T, B, D)).astype(dtype)
    dh = rng.standard_normal((T, B, H)).astype(dtype)

    def run(whole: bool):
        def call():
            compiled.small = lambda B, H, n_h: whole
            fused.backward(params, fused.forward(params, x)[1], dh)
        return call

    return {"compiled": run(True), "python": run(False)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cells", nargs="*", default=["lstm", "gru", "rnn"])
    p.add_argument("--json", help="also write every ratio to this file")
    args = p.parse_args()
    rows = []
    print("| cell | dtype | B | H | multiply-adds per step | compiled loop ÷ Python loop |\n|---|---|---:|---:|---:|---:|")
    with threadpool_limits(limits=THREADS, user_api="blas"):
        for cell in args.cells:
            n = len(interop.TORCH_CELLS[cell][1])
            for dtype in (np.float32, np.float64):
                for B in BATCHES:
                    for H in HIDDEN:
                        times = measure(both_ways(cell, B, H, dtype), REPEATS)
                        ratio = paired_median(times["compiled"], times["python"])
                        rows.append({"cell": cell, "dtype": np.dtype(dtype).name, "B": B, "H": H,
                                     "work": B * H * n * H, "ratio": ratio})
                        print(f"| {cell} | {np.dtype(dtype).name} | {B} | {H} | {B * H * n * H} | {ratio:.2f} |",
                              flush=True)
    write_json(args.json, {"T": T, "D": D, "threads": THREADS, "repeats": REPEATS, "rows": rows})


if __name__ == "__main__":
    main()
