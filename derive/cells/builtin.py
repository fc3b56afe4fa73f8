"""The built-in cells, each a few equations in the spec language of :mod:`derive.spec`."""

from __future__ import annotations

from .spec import Cell, define

RNN = define(
    "rnn",
    title="Simple RNN (Elman), as torch.nn.RNN with tanh",
    reference="Elman 1990; torch.nn.RNN",
    states="h",
    equations="""
        h = tanh(W_h @ x + U_h @ h_prev + b_h + bh_h)     # hidden state
    """,
)

LSTM = define(
    "lstm",
    title="LSTM, as torch.nn.LSTM",
    reference="Hochreiter & Schmidhuber 1997; Gers et al. 2000; torch.nn.LSTM",
    states="h, c",
    equations="""
        i = sigmoid(W_i @ x + U_i @ h_prev + b_i + bh_i)  # input gate
        f = sigmoid(W_f @ x + U_f @ h_prev + b_f + bh_f)  # forget gate
        g = tanh(W_g @ x + U_g @ h_prev + b_g + bh_g)     # candidate
        o = sigmoid(W_o @ x + U_o @ h_prev + b_o + bh_o)  # output gate
        c = f * c_prev + i * g                            # cell state
        h = o * tanh(c)                                   # hidden state
    """,
)

GRU = define(
    "gru",
    title="GRU with the reset gate after the recurrent product, as torch.nn.GRU and cuDNN",
    reference="Cho et al. 2014, variant of torch.nn.GRU / cuDNN / Keras reset_after=True",
    states="h",
    equations="""
        r = sigmoid(W_r @ x + U_r @ h_prev + b_r + bh_r)  # reset gate
        z = sigmoid(W_z @ x + U_z @ h_prev + b_z + bh_z)  # update gate
        n = tanh(W_n @ x + b_n + r * (U_n @ h_prev + bh_n))  # candidate
        h = (1 - z) * n + z * h_prev                      # hidden state
    """,
)

GRU_CHO = define(
    "gru_cho",
    title="GRU with the reset gate before the recurrent product, as in Cho et al. 2014",
    reference="Cho et al. 2014, eqs. (5)-(8)",
    states="h",
    equations="""
        r = sigmoid(W_r @ x + U_r @ h_prev + b_r)         # reset gate
        z = sigmoid(W_z @ x + U_z @ h_prev + b_z)         # update gate
        q = r * h_prev                                    # reset state
        n = tanh(W_n @ x + U_n @ q + b_n)                 # candidate
        h = (1 - z) * n + z * h_prev                      # hidden state
    """,
)

BUILTIN: dict[str, Cell] = {cell.name: cell for cell in (RNN, LSTM, GRU, GRU_CHO)}
