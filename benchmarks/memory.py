"""Peak memory of forward + backward against the size of what backward strictly needs.

What backward cannot do without, short of running the forward pass again: the activations of
every gate and every state at every step, (P + S) · T · B · H numbers for P pre-activations and S
states. The kernels also keep the input x (which the caller holds anyway) and values such as
tanh(c_t) that save recomputation. Peak memory is measured with tracemalloc, which sees NumPy's
allocations.

    python benchmarks/memory.py
"""

from __future__ import annotations

import importlib
import tracemalloc

import numpy as np

from derive import cells
from derive.derivation import derive
from derive.layout import plan

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
    cached = sum(v.nbytes for v in cache.values() if isinstance(v, np.ndarray) and v.base is None)
    kernel.backward(params, cache, dh)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    P = plan(derive(cells.get(cell))).width
    needed = (P + len(kernel.STATES)) * T * B * H * np.dtype(dtype).itemsize
    return peak, cached, needed


def main() -> None:
    print("| cell | T, B, D, H | peak fwd+bwd MB | cache MB | strictly needed MB | peak / needed |")
    print("|---|---|---:|---:|---:|---:|")
    for cell in ("lstm", "gru", "rnn"):
        for T, B, D, H in SHAPES:
            peak, cached, needed = peak_bytes(cell, T, B, D, H)
            print(f"| {cell} | {T}, {B}, {D}, {H} | {peak / 2**20:.1f} | {cached / 2**20:.1f} | "
                  f"{needed / 2**20:.1f} | {peak / needed:.2f} |")


if __name__ == "__main__":
    main()
