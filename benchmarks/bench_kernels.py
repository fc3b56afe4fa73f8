"""Generated kernels against torch CPU and against the GEMM floor, forward and forward+backward.

The GEMM floor is the time of the matrix products no implementation can avoid: the input projection
of all steps, one recurrent product per step (forward), one per step for δh (backward) and the three
large weight/input-gradient products after the loop. Ratios come from one run: every repetition
times each contender once, in turn, and the table reports medians.

    python benchmarks/bench_kernels.py                 # the README table
    python benchmarks/bench_kernels.py --quick         # fewer repetitions
    python benchmarks/bench_kernels.py --json docs/kernels/_data/speed.json   # data for the site's plot
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import random
import statistics
import time
from typing import Callable

import numpy as np
import torch

from derive import cells
from derive.derivation.counts import count
from derive.runtime import interop

SHAPES = [(50, 32, 128, 256), (200, 16, 64, 128), (50, 64, 256, 512)]
CELLS = ["lstm", "gru", "rnn"]
DTYPES = [np.float32, np.float64]
SETTLE = 0.05  # seconds of idle time before each timed call


def gemm_floor(G: int, T: int, B: int, D: int, H: int, dtype) -> tuple[Callable, Callable]:
    """The unavoidable products for a cell with G gates: (forward, forward+backward)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T * B, D)).astype(dtype)
    W = rng.standard_normal((G * H, D)).astype(dtype)
    U = rng.standard_normal((G * H, H)).astype(dtype)
    pre = np.empty((T * B, G * H), dtype)
    h = rng.standard_normal((T, B, H)).astype(dtype)
    rec = np.empty((B, G * H), dtype)
    dh = np.empty((B, H), dtype)

    def forward():
        np.matmul(x, W.T, out=pre)
        for t in range(T):
            np.matmul(h[t], U.T, out=rec)

    def forward_backward():
        forward()
        d_pre = pre.reshape(T, B, G * H)
        for t in range(T):
            np.matmul(d_pre[t], U, out=dh)
        _ = pre.T @ x, pre @ W, pre.T @ h.reshape(T * B, H)

    return forward, forward_backward


def contenders(cell: str, T: int, B: int, D: int, H: int, dtype) -> dict[str, Callable]:
    kernel = importlib.import_module(f"generated.{cell}")
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    module = getattr(torch.nn, interop.TORCH_CELLS[cell][0])(D, H).to(tdtype)
    _, params = interop.from_torch(module)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((T, B, D)).astype(dtype)
    dh = rng.standard_normal((T, B, H)).astype(dtype)
    xt, dht = torch.from_numpy(x), torch.from_numpy(dh)
    xg = xt.clone().requires_grad_()

    def ours_fb():
        h, cache = kernel.forward(params, x)
        kernel.backward(params, cache, dh)

    def torch_f():
        with torch.no_grad():
            module(xt)

    def torch_fb():
        module.zero_grad(set_to_none=True)
        out, _ = module(xg)
        out.backward(dht)

    G = len(interop.TORCH_CELLS[cell][1])
    floor_f, floor_fb = gemm_floor(G, T, B, D, H, dtype)
    return {"ours_f": lambda: kernel.forward(params, x), "ours_fb": ours_fb, "torch_f": torch_f,
            "torch_fb": torch_fb, "floor_f": floor_f, "floor_fb": floor_fb}


def measure(fns: dict[str, Callable], repeats: int) -> dict[str, float]:
    """Median time of each contender; each repetition runs all of them once, in a shuffled order.

    A pause before every call lets the thread pools of the previous contender (OpenMP, OpenBLAS)
    stop spinning, so that no contender pays for the one before it.
    """
    for fn in fns.values():  # warm up
        fn()
    order = random.Random(0)
    names = list(fns)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        order.shuffle(names)
        for name in names:
            time.sleep(SETTLE)
            start = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="5 repetitions instead of 15")
    p.add_argument("--cells", nargs="*", default=CELLS)
    p.add_argument("--json", help="also write every median (seconds) to this file")
    args = p.parse_args()
    threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    machine = f"NumPy {np.__version__}, torch {torch.__version__} ({threads} threads each), {platform.machine()}"
    print(machine + "\n")
    rows = []
    print("| cell | dtype | T, B, D, H | fwd ms | fwd+bwd ms | fwd+bwd / GEMM floor | fwd / torch | "
          "fwd+bwd / torch | GFLOP/s (fwd+bwd) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for cell in args.cells:
        for dtype in DTYPES:
            for T, B, D, H in SHAPES:
                m = measure(contenders(cell, T, B, D, H, dtype), 5 if args.quick else 15)
                rows.append({"cell": cell, "dtype": np.dtype(dtype).name, "shape": [T, B, D, H], "seconds": m})
                flops = 2 * 3 * count(cells.get(cell), D, H).matmul_macs * T * B
                print(f"| {cell} | {np.dtype(dtype).name} | {T}, {B}, {D}, {H} | {m['ours_f'] * 1e3:.1f} | "
                      f"{m['ours_fb'] * 1e3:.1f} | {m['ours_fb'] / m['floor_fb']:.2f} | "
                      f"{m['ours_f'] / m['torch_f']:.2f} | {m['ours_fb'] / m['torch_fb']:.2f} | "
                      f"{flops / m['ours_fb'] / 1e9:.1f} |", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"machine": machine, "rows": rows}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
