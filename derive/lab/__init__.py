"""The lab: training over the generated kernels, tasks, the experiments behind the analysis pages,
their plots, and published gradients checked against ours."""
