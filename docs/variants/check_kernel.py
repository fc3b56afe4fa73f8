"""Check a generated kernel against central differences: python check_kernel.py build/janet/janet.py

Works unchanged for any generated cell: every parameter, the input, the initial states, a loss on the
final states, and sequences of different lengths.
"""

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
initial = {f"{s}0": rng.standard_normal((B, H)) for s in cell.STATES}
lengths = np.array([T, T - 2, 1])
# the loss: sum(h_seq * dh_seq) plus, for every state s, sum(s_T * ds_T)
dh_seq = rng.standard_normal((T, B, H))
d_final = {f"d{s}_T": rng.standard_normal((B, H)) for s in cell.STATES}


def loss() -> float:
    h_seq, cache = cell.forward(params, x, **initial, lengths=lengths)
    return float((h_seq * dh_seq).sum()) + sum(float((cache[f"{s}_T"] * d_final[f"d{s}_T"]).sum())
                                               for s in cell.STATES)


h_seq, cache = cell.forward(params, x, **initial, lengths=lengths)
grads = cell.backward(params, cache, dh_seq, **d_final)
worst = 0.0
for name, array in [*params.items(), ("x", x), *initial.items()]:
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
