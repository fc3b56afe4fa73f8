"""Kernels and LaTeX.

Generated from derive/cells/builtin.py, derive/cells/variants.py and derive/derivation/head.py
by `gated-rnn generate`; do not edit.

Modules: rnn, lstm, gru, gru_cho, lstm_peephole, lstm_cifg, greff_nig, greff_nfg, greff_nog,
greff_niaf, greff_noaf, greff_np, greff_cifg, greff_fgr, mgu, gru_swapped, softmax_ce. Each
cell module has forward(params, x, h0=None, …) and backward(params, cache, dh_seq, dh_T=None,
…); see the module docstrings.
"""
