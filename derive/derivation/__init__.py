"""Stage 2, the derivation: SymPy differentiates each cell per hidden unit; backpropagation through
time, one-step Jacobians, the output layer, operation counts and proofs follow from it."""
