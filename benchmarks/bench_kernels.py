"""Generated kernels against hand-written NumPy, torch CPU and the GEMM floor, forward and forward+backward.

Contenders, all on the same inputs, in one process:

- ``ours``: the generated kernel (generated/<cell>.py);
- ``fused``: the generated fused kernel (generated/fused/<cell>.py), each step's elementwise work compiled C;
- ``expert``: the same cell written by hand for speed (benchmarks/expert.py), checked equal to ours, with the
  kernels' contract (a new output array, the cache's own copy of x);
- ``bare``: the same hand-written cell without those two copies, to show what they cost;
- ``torch``: torch.nn.RNN / LSTM / GRU on the CPU, autograd for the backward pass;
- ``floor``: only the matrix products no implementation can avoid (the input projection of all steps,
  one recurrent product per step forwards and one backwards, the three large gradient products after
  the loop), each in its fastest layout.

NumPy's BLAS and torch both run on THREADS threads (threadpoolctl pins NumPy's). Every repetition times
each contender once, in a shuffled order, after a pause long enough for the BLAS threads of the previous
contender to stop spinning (``--pause-effect`` measures how long that is); a timing is the mean of calls
made back to back for at least BUDGET seconds (one call when a call takes longer), as in a training loop.
A ratio is the median over the repetitions of the ratio of two contenders' timings in the same repetition,
given with a distribution-free 95 % interval for that median; the JSON keeps every timing.

    python benchmarks/bench_kernels.py                  # the table
    python benchmarks/bench_kernels.py --quick          # fewer repetitions
    python benchmarks/bench_kernels.py --pause-effect   # torch's time after NumPy work, against the pause
    python benchmarks/bench_kernels.py --onednn --json docs/kernels/_data/onednn.json   # torch's LSTM without oneDNN
    python benchmarks/bench_kernels.py --json docs/kernels/_data/speed.json   # data for the site
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import expert
import numpy as np
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from derive.lab.speed import Row, paired_median
from derive.runtime import interop

SHAPES = [(100, 1, 32, 64), (200, 16, 64, 128), (50, 32, 128, 256), (50, 64, 256, 512), (20, 128, 512, 512)]
CELLS = ["lstm", "gru", "rnn"]
DTYPES = [np.float32, np.float64]
THREADS = 2
PAUSE = 0.2  # seconds before each timing: see --pause-effect
BUDGET = 0.1  # seconds of back-to-back calls in one timing
REPEATS = 15
PAUSES = (0.0, 0.02, 0.05, 0.1, 0.2, 0.4)


def gemm_floor(G: int, T: int, B: int, D: int, H: int, dtype) -> tuple[Callable, Callable]:
    """The unavoidable products for a cell with G gates, in their fastest layouts: (forward, fwd+bwd)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T * B, D)).astype(dtype)
    WT = np.ascontiguousarray(rng.standard_normal((G * H, D)).astype(dtype).T)
    W = np.ascontiguousarray(WT.T)
    UT = rng.standard_normal((H, G * H)).astype(dtype)
    U = np.ascontiguousarray(UT.T)
    pre = np.empty((T * B, G * H), dtype)
    h = rng.standard_normal((T, B, H)).astype(dtype)
    rec = np.empty((B, G * H), dtype)
    dh = np.empty((B, H), dtype)
    d_pre = pre.reshape(T, B, G * H)

    def forward():
        np.matmul(x, WT, out=pre)
        for t in range(T):
            np.matmul(h[t], UT, out=rec)

    def forward_backward():
        forward()
        for t in range(T):
            np.matmul(d_pre[t], U, out=dh)
        _ = pre.T @ x, pre @ W, pre.T @ h.reshape(T * B, H)

    return forward, forward_backward


def contenders(cell: str, T: int, B: int, D: int, H: int, dtype) -> dict[str, Callable]:
    """Each contender's forward and forward+backward over the same parameters and inputs."""
    kernel = importlib.import_module(f"generated.{cell}")
    fused = importlib.import_module(f"generated.fused.{cell}")
    by_hand, by_hand_backward = expert.KERNELS[cell]
    bare, bare_backward = expert.BARE[cell]
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    torch.manual_seed(0)
    module = getattr(torch.nn, interop.TORCH_CELLS[cell][0])(D, H).to(tdtype)
    _, params = interop.from_torch(module)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((T, B, D)).astype(dtype)
    dh = rng.standard_normal((T, B, H)).astype(dtype)
    xt, dht = torch.from_numpy(x), torch.from_numpy(dh)
    xg = xt.clone().requires_grad_()
    ours = kernel.backward(params, kernel.forward(params, x)[1], dh)
    tolerance = 1e-3 if dtype == np.float32 else 1e-9
    others = {"expert": (by_hand, by_hand_backward), "bare": (bare, bare_backward),
              "fused": (fused.forward, fused.backward)}
    for other, (f, b) in others.items():
        theirs = b(params, f(params, x)[1], dh)
        for name, value in ours.items():  # every contender computes the same thing
            scale = max(float(np.abs(value).max()), 1.0)
            if not np.allclose(theirs[name], value, rtol=0, atol=tolerance * scale):
                raise AssertionError(f"{other} {cell}: gradient {name} differs from the generated kernel's")

    def ours_fb():
        kernel.backward(params, kernel.forward(params, x)[1], dh)

    def fused_fb():
        fused.backward(params, fused.forward(params, x)[1], dh)

    def expert_fb():
        by_hand_backward(params, by_hand(params, x)[1], dh)

    def bare_fb():
        bare_backward(params, bare(params, x)[1], dh)

    def torch_f():
        with torch.no_grad():
            module(xt)

    def torch_fb():
        module.zero_grad(set_to_none=True)
        out, _ = module(xg)
        out.backward(dht)

    G = len(interop.TORCH_CELLS[cell][1])
    floor_f, floor_fb = gemm_floor(G, T, B, D, H, dtype)
    return {"ours_f": lambda: kernel.forward(params, x), "ours_fb": ours_fb,
            "fused_f": lambda: fused.forward(params, x), "fused_fb": fused_fb,
            "expert_f": lambda: by_hand(params, x), "expert_fb": expert_fb,
            "bare_f": lambda: bare(params, x), "bare_fb": bare_fb,
            "torch_f": torch_f, "torch_fb": torch_fb, "floor_f": floor_f, "floor_fb": floor_fb}


def timed(fn: Callable, pause: float, budget: float = 0.0) -> float:
    """Seconds per call: the mean of calls made back to back for at least ``budget`` seconds, after a pause."""
    time.sleep(pause)
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget:
            return elapsed / calls


def measure(fns: dict[str, Callable], repeats: int, pause: float = PAUSE,
            budget: float = BUDGET) -> dict[str, list[float]]:
    """Every contender's timings; each repetition times all of them once, in a shuffled order."""
    for fn in fns.values():  # warm up
        fn()
    order = random.Random(0)
    names = list(fns)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        order.shuffle(names)
        for name in names:
            times[name].append(timed(fns[name], pause, budget))
    return times


def write_json(path: str | None, data: dict) -> None:
    """The measurements as a JSON file for the site (nothing without a path)."""
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
            f.write("\n")


def quartiles(ts: list[float]) -> tuple[float, float, float]:
    q1, q2, q3 = statistics.quantiles(ts, n=4, method="inclusive")
    return q1, q2, q3


def pause_effect(repeats: int) -> list[tuple[float, float, float]]:
    """torch's forward+backward time right after a NumPy GEMM loop, against the pause between them:
    (pause, median, median with no NumPy work before)."""
    fns = contenders("rnn", 200, 16, 64, 128, np.float32)
    numpy_work, torch_work = fns["floor_fb"], fns["torch_fb"]
    alone = statistics.median(timed(torch_work, 0.5) for _ in range(repeats))
    found = []
    for pause in PAUSES:
        ts = []
        for _ in range(repeats):
            time.sleep(0.5)
            numpy_work()
            ts.append(timed(torch_work, pause))
        found.append((pause, statistics.median(ts), alone))
    return found


def onednn_effect(repeats: int) -> list[dict]:
    """torch's float32 LSTM, forward + backward, with oneDNN (its default on the CPU) and without, at every
    shape: medians, and the median ratio within a repetition."""
    found = []
    for T, B, D, H in SHAPES:
        torch_fb = contenders("lstm", T, B, D, H, np.float32)["torch_fb"]

        def without():
            with torch.backends.mkldnn.flags(enabled=False):
                torch_fb()

        times = measure({"onednn": torch_fb, "without": without}, repeats)
        found.append({"shape": [T, B, D, H], "seconds": {k: statistics.median(v) for k, v in times.items()},
                      "ratio": paired_median(times["without"], times["onednn"])})
    return found


def machine(repeats: int) -> dict[str, object]:
    """CPU, BLAS, library versions, threads, pause and repetitions."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or platform.machine())
    blas = next((f"{i['internal_api']} {i['version']} ({i.get('architecture', '?')} kernels)"
                 for i in threadpool_info() if i["user_api"] == "blas"), "unknown BLAS")
    return {"cpu": cpu, "numpy": np.__version__, "blas": blas, "torch": torch.__version__, "threads": THREADS,
            "pause": PAUSE, "budget": BUDGET, "repeats": repeats,
            "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "not set")}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help=f"5 repetitions instead of {REPEATS}")
    p.add_argument("--cells", nargs="*", default=CELLS)
    p.add_argument("--pause-effect", action="store_true", help="only measure how long BLAS threads spin")
    p.add_argument("--onednn", action="store_true",
                   help="only time torch's float32 LSTM with and without oneDNN (JSON to --json)")
    p.add_argument("--json", help="also write every median and quartile (seconds) to this file")
    args = p.parse_args()
    torch.set_num_threads(THREADS)
    repeats = 5 if args.quick else REPEATS
    with threadpool_limits(limits=THREADS, user_api="blas"):
        print(", ".join(f"{k}: {v}" for k, v in machine(repeats).items()) + "\n")
        if args.pause_effect:
            print("| pause before torch (s) | torch fwd+bwd after NumPy (ms) | torch alone (ms) |\n|---:|---:|---:|")
            for pause, after, alone in pause_effect(repeats * 2):
                print(f"| {pause} | {after * 1e3:.2f} | {alone * 1e3:.2f} |")
            return
        if args.onednn:
            found = onednn_effect(repeats)
            print("| T, B, D, H | torch with oneDNN (ms) | without (ms) | without ÷ with |\n|---|---:|---:|---:|")
            for r in found:
                print(f"| {', '.join(map(str, r['shape']))} | {r['seconds']['onednn'] * 1e3:.2f} | "
                      f"{r['seconds']['without'] * 1e3:.2f} | {r['ratio']:.2f} |")
            write_json(args.json, {"machine": machine(repeats), "rows": found})
            return
        rows = []
        print("| cell | dtype | T, B, D, H | fwd+bwd ms | ÷ expert (95 % interval) | fwd ÷ expert | ÷ bare | "
              "÷ GEMM floor | fwd ÷ torch | fwd+bwd ÷ torch | fused ÷ ours | fused ÷ torch |")
        print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for cell in args.cells:
            for dtype in DTYPES:
                for T, B, D, H in SHAPES:
                    times = measure(contenders(cell, T, B, D, H, dtype), repeats)
                    q = {name: quartiles(ts) for name, ts in times.items()}
                    row = Row(cell, np.dtype(dtype).name, (T, B, D, H), {name: v[1] for name, v in q.items()},
                              {name: [v[0], v[2]] for name, v in q.items()}, times)
                    rows.append({"cell": row.cell, "dtype": row.dtype, "shape": list(row.shape),
                                 "seconds": row.seconds, "quartiles": row.quartiles, "times": times})
                    low, high = row.interval("ours_fb", "expert_fb")
                    print(f"| {cell} | {row.dtype} | {T}, {B}, {D}, {H} | {row.seconds['ours_fb'] * 1e3:.2f} | "
                          f"{row.ratio('ours_fb', 'expert_fb'):.2f} ({low:.2f}–{high:.2f}) | "
                          + " | ".join(f"{row.ratio(a, b):.2f}" for a, b in (
                              ("ours_f", "expert_f"), ("ours_fb", "bare_fb"), ("ours_fb", "floor_fb"),
                              ("ours_f", "torch_f"), ("ours_fb", "torch_fb"), ("fused_fb", "ours_fb"),
                              ("fused_fb", "torch_fb"))) + " |", flush=True)
    write_json(args.json, {"machine": machine(repeats), "rows": rows})


if __name__ == "__main__":
    main()
