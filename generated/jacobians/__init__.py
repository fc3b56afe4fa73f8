"""One-step state Jacobians of every generated cell.

Generated from derive/emit/jacobian_module.py by `gated-rnn generate`; do not edit.

Each module has blocks(params, x, <state>_prev, …) and jacobian(params, x, …).
"""
