"""Stage 3, the emitters: one derivation printed as NumPy kernels, LaTeX in every notation and
diagrams, and written into ``generated/``."""
