"""The spec language: what parses, and a SpecError naming the node for everything else."""

import pytest

from derive import cells
from derive.cells.spec import MatMul, Param, PrevRef, SpecError, define, walk

GOOD = """
    z = sigmoid(W_z @ x + U_z @ h_prev + b_z)
    n = tanh(W_n @ x + U_n @ h_prev + b_n)
    h = (1 - z) * n + z * h_prev
"""


def make(equations: str, states: str = "h", **kw):
    return define("demo", equations, states=states, **kw)


def test_builtin_cells_are_short():
    for cell in cells.BUILTIN.values():
        assert 1 <= len(cell.nodes) <= 15


def test_parse_resolves_names():
    cell = make(GOOD)
    assert [n.name for n in cell.nodes] == ["z", "n", "h"]
    assert cell.param_shapes == {"W_z": ("H", "D"), "U_z": ("H", "H"), "b_z": ("H",), "W_n": ("H", "D"),
                                 "U_n": ("H", "H"), "b_n": ("H",)}
    h = cell.node("h")
    assert PrevRef("h") in walk(h.expr, PrevRef)
    assert {m.weight for n in cell.nodes for m in walk(n.expr, MatMul)} == {"W_z", "U_z", "W_n", "U_n"}
    assert [p.name for p in walk(cell.node("z").expr, Param)] == ["b_z"]


def test_nodes_may_be_written_in_any_order():
    cell = make("h = o * tanh(c)\no = sigmoid(W_o @ x + U_o @ h_prev)\nc = c_prev + o", states="h c")
    assert [n.name for n in cell.nodes] == ["o", "c", "h"]


def test_role_comment_is_kept():
    assert cells.LSTM.node("f").role == "forget gate"


BAD = [
    ("unknown reference", "h = tanh(W @ x + U @ h_prev) * k_prev", "h", "k_prev"),
    ("unknown bare name", "h = tanh(W @ x + U @ h_prev) * zz", "h", "zz"),
    ("cycle", "a1 = sigmoid(W @ x) * b1\nb1 = tanh(U @ x) * a1\nh = a1 + b1 + h_prev", "a1", "cycle"),
    ("self reference", "h = tanh(W @ x) * h", "h", "itself"),
    ("duplicate", "h = tanh(W @ x + U @ h_prev)\nh = tanh(W @ x)", "h", "2 times"),
    ("reserved name", "np = tanh(W @ x)\nh = np * h_prev", "np", "reserved"),
    ("reserved suffix", "g_seq = tanh(W @ x)\nh = g_seq * h_prev", "g_seq", "reserved"),
    ("keyword", "lambda = tanh(W @ x)\nh = h_prev", "lambda", "name"),
    ("parameter-like node name", "b_x = tanh(W @ x)\nh = b_x * h_prev", "b_x", "parameter"),
    ("unsupported function", "h = relu(W @ x + U @ h_prev)", "h", "relu"),
    ("unsupported operator", "h = tanh(W @ x) / h_prev", "h", "div"),
    ("power", "h = tanh(W @ x) ** 2", "h", "pow"),
    ("matmul of expression", "h = tanh(W @ (x + x))", "h", "W @ v"),
    ("input used elementwise", "h = tanh(W @ x) * x", "h", "x may only"),
    ("weight on both sizes", "h = tanh(W @ x + W @ h_prev)", "h", "'W'"),
    ("syntax error", "h = tanh(W @ x", "h", "cannot parse"),
    ("unused node", "q = tanh(W @ x)\nh = tanh(U @ h_prev)", "q", "never used"),
    ("two arguments", "h = tanh(W @ x, h_prev)", "h", "one argument"),
    ("reserved weight", "h = tanh(W_all @ x)", "h", "W_all"),
]


@pytest.mark.parametrize("what, equations, node, detail", BAD, ids=[b[0] for b in BAD])
def test_spec_errors_name_the_node(what, equations, node, detail):
    with pytest.raises(SpecError) as err:
        make(equations)
    assert repr(node) in str(err.value) and detail in str(err.value)


def test_state_never_updated():
    with pytest.raises(SpecError, match="state 'c': never updated"):
        make("h = tanh(W @ x + U @ h_prev)", states="h c")


def test_input_never_read():
    with pytest.raises(SpecError, match="cell 'demo': the input x is never read"):
        make("h = tanh(U @ h_prev) + 0.5 * h_prev")


def test_output_missing():
    with pytest.raises(SpecError, match="output 'y': missing"):
        make("h = tanh(W @ x + U @ h_prev)", output="y")


def test_no_states_or_equations():
    with pytest.raises(SpecError, match="at least one state"):
        make(GOOD, states="")
    with pytest.raises(SpecError, match="no equations"):
        make("# nothing\n")


def test_bad_cell_name():
    with pytest.raises(SpecError, match="cell name"):
        define("My Cell", GOOD, states="h")
