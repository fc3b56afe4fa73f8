"""Fused kernels: the same forward and backward, each step's elementwise work compiled C.

Generated from derive/emit/fused_kernel.py by `gated-rnn generate`; do not edit.

Importing a module compiles its C file once per machine (a C compiler is needed); the cells
whose step needs a matrix product between its elementwise parts have none.
"""
