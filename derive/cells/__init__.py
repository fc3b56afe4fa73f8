"""Stage 1, the cells: the spec language, the table of elementwise functions, the built-in cells
and their variants, and spec files of one's own.

``from derive.cells import define, get`` is the usual entry: ``define`` parses a spec, ``get`` looks
up a built-in cell or variant by name.
"""

from .builtin import BUILTIN, GRU, GRU_CHO, LSTM, RNN
from .catalogue import get, known
from .spec import Cell, SpecError, define
from .variants import VARIANTS

__all__ = ["BUILTIN", "GRU", "GRU_CHO", "LSTM", "RNN", "VARIANTS", "Cell", "SpecError", "define", "get", "known"]
