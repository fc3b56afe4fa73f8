"""Kernels and LaTeX. Generated from derive/cells.py and derive/head.py by `python -m derive generate`; do not edit.

Modules: rnn, lstm, gru, gru_cho, softmax_ce. Each cell module has forward(params, x, h0=None, …) and
backward(params, cache, dh_seq, dh_T=None, …); see the module docstrings.
"""
