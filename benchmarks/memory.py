"""Peak memory of forward + backward against the size of what backward strictly needs.

What backward cannot do without, short of running the forward pass again: the activations of
every gate and every state at every step, (P + S) · T · B · H numbers for P pre-activations and S
states (a state that is itself a gate, like the simple RNN's h, counted once). The kernels also keep the input x (which the caller holds anyway) and values such as
tanh(c_t) that save recomputation. Peak memory is measured with tracemalloc, which sees NumPy's
allocations.

    python benchmarks/memory.py
    python benchmarks/memory.py --json docs/kernels/_data/memory.json   # data for the site's table
"""

from __future__ import annotations

import argparse
import importlib
import json
import tracemalloc

import numpy as np

from derive import cells
from derive.derivation.bptt import derive
from derive.emit.layout import plan

SHAPES = [(50, 32, 128, 256), (200, 16, 64, 128)]


def peak_bytes(cell: str, T: int, B: int, D: int, H: int, dtype=np.float32) -> tuple[int, int, int]:
    """(peak during forward + backward, bytes in the cache, bytes strictly needed)."""
    kernel = importlib.import_module(f"generated.{cell}")
    rng = np.random.default_rng(0)
    dims = {"H": H, "D": D}
    params = {k: (rng.standard_normal([dims[s] for s in v]) / np.sqrt(H)).astype(dtype)
              for k, v in kernel.PARAM_SHAPES.items()}
    x = rng.standard_normal((T, B, D)).astype(dtype)
    dh = rng.standard_normal((T, B, H)).astype(dtype)
    kernel.backward(params, kernel.forward(params, x)[1], dh)  # warm up
    tracemalloc.start()
    out, cache = kernel.forward(params, x)
    cached = sum(v.nbytes for v in cache.values()  # arrays of its own; x belongs to the caller
                 if isinstance(v, np.ndarray) and v.base is None and v is not x)
    kernel.backward(params, cache, dh)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    layout = plan(derive(cells.get(cell)))
    gate_states = {node for node, _ in layout.gates} & set(kernel.STATES)  # stored once, as a gate
    needed = (layout.width + len(kernel.STATES) - len(gate_states)) * T * B * H * np.dtype(dtype).itemsize
    return peak, cached, needed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", help="also write the measurements (bytes) to this file")
    args = p.parse_args()
    print("| cell | T, B, D, H | peak fwd+bwd MB | cache MB | strictly needed MB | peak / needed |")
    print("|---|---|---:|---:|---:|---:|")
    rows = []
    for cell in ("lstm", "gru", "rnn"):
        for T, B, D, H in SHAPES:
            peak, cached, needed = peak_bytes(cell, T, B, D, H)
            rows.append({"cell": cell, "shape": [T, B, D, H], "peak": peak, "cache": cached, "needed": needed})
            print(f"| {cell} | {T}, {B}, {D}, {H} | {peak / 2**20:.1f} | {cached / 2**20:.1f} | "
                  f"{needed / 2**20:.1f} | {peak / needed:.2f} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"dtype": "float32", "rows": rows}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
