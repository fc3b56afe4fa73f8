"""What the generated kernels need at run time (NumPy only): input checks, stacked and
bidirectional layers, conversion from and to PyTorch."""

from .checks import KernelInputError, check_backward, check_forward, check_step

__all__ = ["KernelInputError", "check_backward", "check_forward", "check_step"]
