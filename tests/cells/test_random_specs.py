"""Random cell specs: every valid one gives a kernel that passes finite differences, every invalid one
raises SpecError naming the node at fault, and nothing ever raises anything else.

Valid specs are drawn from the documented language: nodes in any order, several states, weights shared
between gates, parameter vectors as biases and as diagonal weights, affine parts inside products,
identity nodes. Invalid ones are valid specs with one mistake put into one node. The number of examples
per test is RANDOM_SPECS (default 130; the two tests together run 260 specs).
"""

import os
import re
import types
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from derive.derivation.bptt import derive
from derive.emit.kernel import KernelBuilder
from derive.cells.spec import SpecError, define
from helpers import loss, numerical_gradient, random_problem

EXAMPLES = int(os.environ.get("RANDOM_SPECS", "130"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
STATES = ("h", "c", "m")
INTERMEDIATES = ("u", "v", "k", "q")
X_WEIGHTS = ("W1", "W2", "W3")
H_WEIGHTS = ("U1", "U2", "U3", "U4")
VECTORS = ("b_1", "b_2", "b_3", "p_1", "p_2")
FUNCS = ("sigmoid", "tanh")
TOLERANCE = 1e-6
STEP = 1e-6  # of the central differences
MAX_LOSS = 1e4


class Spec:
    """A drawn spec: equations by node (in the order written), states, output."""

    def __init__(self, equations: dict[str, str], states: tuple[str, ...], output: str, extra: str = ""):
        self.equations, self.states, self.output, self.extra = equations, states, output, extra

    def text(self) -> str:
        return "\n".join(f"{node} = {rhs}" for node, rhs in self.equations.items()) + self.extra

    def __repr__(self) -> str:
        return f"Spec(states={self.states}, output={self.output!r}):\n{self.text()}"

    def define(self):
        return define("random", self.text(), states=", ".join(self.states), output=self.output)


class _Node:
    """Draws the right-hand side of one node from what it may read."""

    def __init__(self, draw, refs: list[str]):
        self.draw, self.refs, self.affine_used = draw, refs, False

    def ref(self) -> str:
        return self.draw(st.sampled_from(self.refs))

    def affine(self) -> str:
        self.affine_used = True
        terms = []
        if self.draw(st.booleans()):
            terms.append(f"{self.draw(st.sampled_from(X_WEIGHTS))} @ x")
        for _ in range(self.draw(st.integers(0 if terms else 1, 2))):
            terms.append(f"{self.draw(st.sampled_from(H_WEIGHTS))} @ {self.ref()}")
        if self.draw(st.booleans()):
            terms.append(self.draw(st.sampled_from(VECTORS)))
        return " + ".join(self.draw(st.permutations(terms)))

    def expr(self, depth: int, top: bool = False) -> str:
        """An expression; a function of anything but a single name or an affine sum only at the top."""
        kinds = ["ref", "one_minus", "scaled", "neg", "vector_times"]
        if depth > 0:
            kinds += ["product", "sum", "difference", "call_ref"] + ([] if self.affine_used else ["affine", "call_affine"])
            kinds += ["call_any"] if top else []
        kind = self.draw(st.sampled_from(kinds))
        func = self.draw(st.sampled_from(FUNCS))
        if kind == "ref":
            return self.ref()
        if kind == "one_minus":
            return f"(1 - {self.ref()})"
        if kind == "scaled":
            return f"{self.draw(st.sampled_from(['0.5', '2', '-1.5']))} * {self.ref()}"
        if kind == "neg":
            return f"(-{self.ref()})"
        if kind == "vector_times":
            return f"{self.draw(st.sampled_from(VECTORS))} * {self.ref()}"
        if kind in ("product", "sum", "difference"):
            op = {"product": "*", "sum": "+", "difference": "-"}[kind]
            return f"({self.expr(depth - 1)} {op} {self.expr(depth - 1)})"
        if kind == "affine":
            return f"({self.affine()})"
        if kind == "call_ref":
            return f"{func}({self.ref()})"
        if kind == "call_affine":
            return f"{func}({self.affine()})"
        return f"{func}({self.expr(depth - 1)})"


@st.composite
def valid_specs(draw) -> Spec:
    states = STATES[:draw(st.integers(1, 3))]
    intermediates = list(INTERMEDIATES[:draw(st.integers(0, 3))])
    order = draw(st.permutations([*intermediates, *states[1:]])) + [states[0]]  # the last node is a state
    equations: dict[str, str] = {}
    for k, name in enumerate(order):
        refs = [*order[:k], *(s + "_prev" for s in states)]
        node = _Node(draw, refs)
        rhs = node.expr(draw(st.integers(1, 3)), top=k < len(order) - 1)
        if k == len(order) - 1:  # read the input and every intermediate nobody else reads
            read = " ".join(equations.values()) + " " + rhs
            rhs = " + ".join([rhs, *(n for n in intermediates if not _mentions(read, n))]
                             + ([] if "@ x" in read else [f"tanh({draw(st.sampled_from(X_WEIGHTS))} @ x)"]))
        equations[name] = rhs
    output = draw(st.sampled_from(order))
    shuffled = dict(draw(st.permutations(list(equations.items()))))  # nodes may be written in any order
    return Spec(shuffled, states, output)


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"\b{name}\b", text) is not None


# Mistakes: each puts one error into one node; the message must name that node.
def _unknown_function(rhs): return f"relu({rhs})"
def _unknown_name(rhs): return f"({rhs}) + zz"
def _division(rhs): return f"({rhs}) / 2"
def _power(rhs): return f"({rhs}) ** 2"
def _bare_input(rhs): return f"({rhs}) * x"
def _matmul_of_sum(rhs): return f"({rhs}) + W1 @ (x + x)"
def _vector_as_matrix(rhs): return f"({rhs}) + b_1 @ x"
def _two_arguments(rhs): return f"tanh({rhs}, {rhs})"
def _syntax(rhs): return f"({rhs}) +"
def _mixed_weight(rhs): return f"({rhs}) + V9 @ x + V9 @ h_prev"
def _prev_of_node(rhs): return f"({rhs}) + zz_prev"
def _function_of_sum_inside(rhs): return f"0.5 * tanh({rhs} + 0.125)"


MISTAKES = [_unknown_function, _unknown_name, _division, _power, _bare_input, _matmul_of_sum, _vector_as_matrix,
            _two_arguments, _syntax, _mixed_weight, _prev_of_node, _function_of_sum_inside]


@st.composite
def invalid_specs(draw) -> tuple[Spec, tuple[str, ...]]:
    """A valid spec with one mistake; returns the spec and the nodes the error may name."""
    spec = draw(valid_specs())
    node = draw(st.sampled_from(list(spec.equations)))
    kind = draw(st.sampled_from(["rhs", "self", "cycle", "unused", "duplicate", "reserved"]))
    equations = dict(spec.equations)
    extra = ""
    if kind == "rhs":
        equations[node] = draw(st.sampled_from(MISTAKES))(equations[node])
    elif kind == "self":
        equations[node] = f"({equations[node]}) * {node}"
    elif kind == "unused":
        node = "zz"
        equations[node] = f"tanh({next(iter(equations))})"
    elif kind == "reserved":
        reserved = draw(st.sampled_from(["gates", "d_u", "tmp1", "b_9", "u_prev", "lambda", "x"]))
        equations = {reserved if n == node else n: rhs for n, rhs in equations.items()}
        node = reserved
    elif kind == "duplicate":
        extra = f"\n{node} = {equations[node]}"
    else:  # a cycle through a new node
        equations[node] = f"({equations[node]}) * zz"
        equations["zz"] = f"tanh({node})"
    states = tuple(node if kind == "reserved" and s == spec.output else s for s in spec.states)
    output = node if kind == "reserved" and spec.output in spec.states and spec.output not in equations else spec.output
    return Spec(equations, states, output, extra), (node, "zz") if kind == "cycle" else (node,)


def check_kernel(cell) -> None:
    """Build the kernel of a derived cell and compare its gradients with central differences.

    Allowed error: TOLERANCE relative to the largest entry, plus the rounding error of the differences
    (machine epsilon times the size of the loss's terms over the step). Specs whose states explode
    (a loss beyond MAX_LOSS) are skipped: no finite difference resolves their gradients.
    """
    module = types.ModuleType(cell.name)
    exec(compile(KernelBuilder(derive(cell), "random spec").text(), cell.name, "exec"), module.__dict__)
    params, x, init, g_seq, g_final = random_problem(module, 3, 2, 2, 3, seed=0)
    out, cache = module.forward(params, x, **init)
    grads = module.backward(params, cache, g_seq, **g_final)
    scale = np.abs(out * g_seq).sum() + sum(np.abs(cache[f"{s}_T"] * g_final[f"d{s}_T"]).sum() for s in module.STATES)
    assume(scale < MAX_LOSS)
    rounding = 16 * np.finfo(np.float64).eps * scale / STEP
    f = lambda: loss(module, params, x, init, g_seq, g_final)  # noqa: E731
    for name, array in [*params.items(), ("x", x), *init.items()]:
        numeric = numerical_gradient(f, array, STEP)
        assert np.abs(grads[name] - numeric).max() <= TOLERANCE * np.abs(numeric).max() + rounding, name


@SETTINGS
@given(valid_specs())
def test_valid_specs_give_kernels_that_pass_finite_differences(spec):
    try:
        cell = spec.define()
        derive(cell)
    except SpecError as exc:  # the documented limits of the language, each naming its node
        raise AssertionError(f"valid spec rejected: {exc}\n{spec.text()}") from None
    check_kernel(cell)


@SETTINGS
@given(invalid_specs())
def test_invalid_specs_raise_spec_error_naming_the_node(case):
    spec, nodes = case
    try:
        derive(spec.define())
    except SpecError as exc:
        assert any(f"'{node}'" in str(exc) for node in nodes), (str(exc), spec.text())
    else:
        raise AssertionError(f"accepted an invalid spec:\n{spec.text()}")


# Engine bugs the random specs found, kept as fixed cases: each spec once broke the kernel or its gradient.
FOUND = {
    "a function value read before the secondary product completed its pre-activation":
        ("h, c", "c = c_prev + W2 @ x\nh = tanh(U4 @ c) + 0.5 * h_prev"),
    "a gate used as the source of a product inside the step":
        ("h", "c = tanh(W2 @ x)\nh = W1 @ x + U4 @ c"),
    "a cube in the local derivatives":
        ("h", "v = h_prev\nu = (1 - v) * (-v) * v\nh = W1 @ x + u"),
    "tanh of an expression SymPy would rewrite with the minus sign outside":
        ("h, c", "c = tanh(1 - c_prev)\nh = tanh(W1 @ x) + c"),
    "a parameter that cancels out of every equation":
        ("h", "v = b_3 * h_prev + b_1 * h_prev - b_1 * h_prev\nh = sigmoid(U2 @ v + W1 @ x)"),
    "an adjoint with products reused although it has a weight term too":
        ("h", "h = sigmoid(U2 @ v + W1 @ x) - v - h_prev\nv = h_prev + tanh(h_prev)"),
    "one weight fused into the step's product and also used on the same state elsewhere":
        ("h, c", "c = U4 @ h_prev + U2 @ h_prev + W2 @ x\nh = U2 @ h_prev + U1 @ c_prev"),
}


@pytest.mark.parametrize("states, equations", FOUND.values(), ids=list(FOUND))
def test_specs_that_once_broke_the_engine(states, equations):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # assume() outside a property test
        check_kernel(define("found", equations, states=states))
