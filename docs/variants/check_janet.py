"""Check a generated kernel against central differences: python check_janet.py build/janet/janet.py"""

import importlib.util
import sys

import numpy as np

spec = importlib.util.spec_from_file_location("cell", sys.argv[1])
cell = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cell)

rng = np.random.default_rng(0)
T, B, D, H = 5, 3, 4, 6
sizes = {"D": D, "H": H}
params = {name: rng.standard_normal([sizes[s] for s in shape]) * 0.5 for name, shape in cell.PARAM_SHAPES.items()}
x = rng.standard_normal((T, B, D))
dh_seq = rng.standard_normal((T, B, H))  # the loss is sum(h_seq * dh_seq)


def loss() -> float:
    h_seq, _ = cell.forward(params, x)
    return float((h_seq * dh_seq).sum())


h_seq, cache = cell.forward(params, x)
grads = cell.backward(params, cache, dh_seq)
worst = 0.0
for name, array in [*params.items(), ("x", x)]:
    numeric = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        old = array[index]
        array[index] = old + 1e-6
        up = loss()
        array[index] = old - 1e-6
        numeric[index] = (up - loss()) / 2e-6
        array[index] = old
    error = np.abs(grads[name] - numeric).max() / np.abs(numeric).max()
    print(f"{name:4} relative error {error:.1e}")
    worst = max(worst, error)
sys.exit(0 if worst < 1e-6 else 1)
