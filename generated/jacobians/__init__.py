"""One-step state Jacobians of every generated cell. Generated from derive/jacobian.py by `python -m derive generate`; do not edit.

Each module has blocks(params, x, <state>_prev, …) and jacobian(params, x, …).
"""
