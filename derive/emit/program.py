"""A generated Python module as data: statements first, text last.

The NumPy emitters build a :class:`Module` of statements (allocate a buffer, a GEMM into a buffer, a
ufunc into a buffer, bind names, loop over the steps) and :class:`PythonPrinter` prints it, one
``_print_<Statement>`` method per statement type through SymPy's :class:`~sympy.printing.printer.Printer`
dispatch. Values inside statements are Python expressions: plain text, or :class:`Call`, :class:`Dict`
and :class:`Tuple` when they may need to be broken over lines; the printer keeps every line within
:data:`WIDTH` characters.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass

from sympy.printing.printer import Printer

WIDTH = 100
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')  # a string literal in double quotes: no name in it is read
INDENT = "    "
AUGMENTED = {"add": "+=", "subtract": "-=", "multiply": "*="}


# --- values ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """``func(arg, …, key=value, …)``."""

    func: str
    args: tuple[Value, ...] = ()
    kwargs: tuple[tuple[str, Value], ...] = ()


@dataclass(frozen=True)
class Dict:
    """``{key: value, …}``; keys are code (quote string keys with :func:`quoted`)."""

    entries: tuple[tuple[str, Value], ...]


@dataclass(frozen=True)
class Tuple:
    """``(a, b, …)``; a single item keeps its comma."""

    items: tuple[Value, ...]


@dataclass(frozen=True)
class List:
    """``[a, b, …]``."""

    items: tuple[Value, ...]


@dataclass(frozen=True)
class Terms:
    """``a + b + …``, broken as one term per line inside parentheses."""

    items: tuple[Value, ...]


Value = str | Call | Dict | Tuple | List | Terms


def quoted(text: str) -> str:
    """A string literal in double quotes."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def shape(dims: tuple[str, ...]) -> str:
    """``(T, B, H)``; one dimension keeps its comma."""
    return f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"


# --- statements --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comment:
    text: str


@dataclass(frozen=True)
class Bind:
    """``a, b = x, y``, or ``a, b = x`` to unpack one value; a trailing comment is optional."""

    targets: tuple[str, ...]
    values: tuple[Value, ...]
    note: str = ""


@dataclass(frozen=True)
class Alloc:
    """A new buffer: ``name = np.empty((…), x.dtype)``; ``np.zeros``, or ``batch.empty`` for values of every
    step (zeros where sequences end early), as ``maker`` says."""

    name: str
    dims: tuple[str, ...]
    maker: str = "np.empty"


@dataclass(frozen=True)
class Ufunc:
    """``np.func(a, b, out=out)``, printed ``out op= b`` when it updates ``out`` in place."""

    func: str
    args: tuple[str, ...]
    out: str


@dataclass(frozen=True)
class Gemm:
    """``np.matmul(a, b, out=out)``: a product written into an existing buffer."""

    a: str
    b: str
    out: str


@dataclass(frozen=True)
class Update:
    """``target op= value`` for a whole expression value (``+=`` unless given)."""

    target: str
    value: Value
    op: str = "+="
    note: str = ""


@dataclass(frozen=True)
class Expression:
    """A call evaluated for its effect: ``np.copyto(a, b)``, ``a.fill(0)``."""

    value: Value


@dataclass(frozen=True)
class Block:
    """``header:`` and the statements inside it (a loop, a ``with``)."""

    header: str
    body: tuple[Statement, ...]
    note: str = ""


@dataclass(frozen=True)
class For:
    """``for a, b in iterable:`` and its body; when that line is too long, the iterable is bound to
    ``name`` first (and the targets break inside parentheses if still too long)."""

    targets: tuple[str, ...]
    iterable: Value
    body: tuple[Statement, ...]
    note: str = ""
    name: str = "steps"


@dataclass(frozen=True)
class Return:
    value: Value


Statement = Comment | Bind | Alloc | Ufunc | Gemm | Update | Expression | Block | For | Return


@dataclass(frozen=True)
class Function:
    name: str
    params: tuple[str, ...]
    doc: str
    body: tuple[Statement, ...]


@dataclass(frozen=True)
class Module:
    doc: str
    imports: tuple[str, ...]
    constants: tuple[tuple[str, Value], ...]
    functions: tuple[Function, ...]


def copy(out: str, source: str) -> Expression:
    """``np.copyto(out, source)``."""
    return Expression(Call("np.copyto", (out, source)))


def reads(body: tuple[Statement, ...] | list[Statement]) -> set[str]:
    """Every name the statements use (bound names count only where they are read or written into)."""
    flat = PythonPrinter().flat
    found: set[str] = set()
    for s in body:
        if isinstance(s, Block):
            texts = [s.header]
            found |= reads(s.body)
        elif isinstance(s, For):
            texts = [flat(s.iterable)]
            found |= reads(s.body)
        elif isinstance(s, Bind):
            texts = [flat(v) for v in s.values]
        elif isinstance(s, Alloc):
            texts = list(s.dims)
        elif isinstance(s, Ufunc):
            texts = [*s.args, s.out]
        elif isinstance(s, Gemm):
            texts = [s.a, s.b, s.out]
        elif isinstance(s, Update):
            texts = [s.target, flat(s.value)]
        elif isinstance(s, (Expression, Return)):
            texts = [flat(s.value)]
        else:
            texts = []
        found |= {name for text in texts for name in NAME.findall(STRING.sub("", text))}
    return found


# --- printing ----------------------------------------------------------------------------------


class PythonPrinter(Printer):
    """Prints a :class:`Module` or any statement as lines of Python, none wider than :data:`WIDTH`."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0  # indentation of the statement being printed

    def doprint(self, node) -> str:
        return "\n".join(self._print(node))

    def _print_Module(self, m: Module) -> list[str]:
        constants = [line for name, value in m.constants for line in self.assignment(name, value)]
        lines = docstring(m.doc, "")
        for part in (list(m.imports), constants):  # one blank line after the docstring and the imports
            lines += [""] + part if part else []
        for f in m.functions:
            lines += ["", "", *self._print(f)]
        return lines + [""]

    def _print_Function(self, f: Function) -> list[str]:
        head = self.value(f"def {f.name}(", list(f.params), "):", 0)
        self.depth = 1
        body = docstring(f.doc, INDENT) + self.statements(f.body)
        self.depth = 0
        return head + body

    def statements(self, body: tuple[Statement, ...]) -> list[str]:
        return [INDENT * self.depth + line if line else line for s in body for line in self._print(s)]

    def _print_Block(self, b: Block) -> list[str]:
        self.depth += 1
        inner = [line[len(INDENT) * self.depth:] for line in self.statements(b.body)]
        self.depth -= 1
        return [*self.noted([f"{b.header}:"], b.note), *(INDENT + line for line in inner)]

    def _print_For(self, f: For) -> list[str]:
        inner = self._print_Block(Block("", f.body))[1:]
        line = f"for {', '.join(f.targets)} in {self.flat(f.iterable)}:"
        if self.fits(line):
            return [*self.noted([line], f.note), *inner]
        bound = self._print_Bind(Bind((f.name,), (f.iterable,), f.note))
        line = f"for {', '.join(f.targets)} in {f.name}:"
        if self.fits(line):
            return [*bound, line, *inner]
        self.depth += 1
        targets = [INDENT + line for t in f.targets for line in self.item(t)]
        self.depth -= 1
        return [*bound, "for (", *targets, f") in {f.name}:", *inner]

    def _print_Comment(self, c: Comment) -> list[str]:
        room = WIDTH - len(INDENT) * self.depth - 2
        return [f"# {line}" for line in textwrap.wrap(one_line(c.text), room, subsequent_indent="  ")]

    def _print_Bind(self, b: Bind) -> list[str]:
        values = b.values[0] if len(b.values) == 1 else Tuple(b.values)
        lines = self.assignment(", ".join(b.targets), values, bare=len(b.values) > 1)
        return self.noted(lines, b.note)

    def _print_Alloc(self, a: Alloc) -> list[str]:
        return [f"{a.name} = {a.maker}({shape(a.dims)}, x.dtype)"]

    def _print_Ufunc(self, u: Ufunc) -> list[str]:
        if len(u.args) == 2 and u.args[0] == u.out and u.func in AUGMENTED and assignable(u.out):
            return [f"{u.out} {AUGMENTED[u.func]} {u.args[1]}"]
        return self.value("", Call(f"np.{u.func}", u.args, (("out", u.out),)), "")

    def _print_Gemm(self, g: Gemm) -> list[str]:
        return self.value("", Call("np.matmul", (g.a, g.b), (("out", g.out),)), "")

    def _print_Update(self, u: Update) -> list[str]:
        return self.noted(self.value(f"{u.target} {u.op} ", u.value, ""), u.note)

    def _print_Expression(self, e: Expression) -> list[str]:
        return self.value("", e.value, "")

    def _print_Return(self, r: Return) -> list[str]:
        return self.value("return ", r.value, "")

    # --- values ------------------------------------------------------------------------------

    def assignment(self, targets: str, value: Value, bare: bool = False) -> list[str]:
        """``targets = value``; ``bare`` prints a tuple without parentheses when it fits."""
        if bare and isinstance(value, Tuple):
            line = f"{targets} = {', '.join(map(self.flat, value.items))}"
            if self.fits(line):
                return [line]
        return self.value(f"{targets} = ", value, "")

    def value(self, head: str, value: Value | list, tail: str, depth: int | None = None) -> list[str]:
        """``head + value + tail`` on one line, or broken inside the value's brackets."""
        line = head + self.flat(value) + tail
        if self.fits(line, depth):
            return [line]
        if isinstance(value, str):
            return self.expression(head, value, tail, depth)
        if isinstance(value, Terms):
            self.depth += 1
            terms = [line for k, t in enumerate(value.items)
                     for line in self.expression("+ " if k else "", self.flat(t), "")]
            self.depth -= 1
            return [head + "(", *(INDENT + line for line in terms), ")" + tail]
        opening, items, closing = self.parts(value)
        inner = [item for v in items for item in self.item(v)]
        return [head + opening, *(INDENT + line for line in inner), closing + tail]

    def item(self, item: Value | _Keyed) -> list[str]:
        """One element of a broken bracket, with its comma; nested values break in turn."""
        head, value = (item.prefix, item.value) if isinstance(item, _Keyed) else ("", item)
        self.depth += 1
        lines = self.value(head, value, ",")
        self.depth -= 1
        return lines

    @staticmethod
    def parts(value) -> tuple[str, list, str]:
        """Opening bracket, items, closing bracket."""
        if isinstance(value, Call):
            return f"{value.func}(", [*value.args, *(_Keyed(f"{k}=", v) for k, v in value.kwargs)], ")"
        if isinstance(value, Dict):
            return "{", [_Keyed(f"{k}: ", v) for k, v in value.entries], "}"
        if isinstance(value, List):
            return "[", list(value.items), "]"
        if isinstance(value, Tuple):
            return "(", list(value.items), ")"
        return "", list(value), ""  # a parameter list

    def expression(self, head: str, text: str, tail: str, depth: int | None = None) -> list[str]:
        """A Python expression broken over lines at its operators, arguments and subscripts."""
        room = WIDTH - len(INDENT) * (self.depth if depth is None else depth) - len(head) - len(tail)
        try:
            lines = broken(ast.parse(text, mode="eval").body, room)
        except SyntaxError:
            lines = [text]
        return [head + lines[0], *lines[1:-1], *([lines[-1] + tail] if len(lines) > 1 else [])] \
            if len(lines) > 1 else [head + lines[0] + tail]

    def flat(self, value) -> str:
        """The value on one line."""
        if isinstance(value, str):
            return value
        if isinstance(value, Call):
            args = [*map(self.flat, value.args), *(f"{k}={self.flat(v)}" for k, v in value.kwargs)]
            return f"{value.func}({', '.join(args)})"
        if isinstance(value, Dict):
            return "{" + ", ".join(f"{k}: {self.flat(v)}" for k, v in value.entries) + "}"
        if isinstance(value, List):
            return "[" + ", ".join(map(self.flat, value.items)) + "]"
        if isinstance(value, Terms):
            return " + ".join(map(self.flat, value.items))
        if isinstance(value, Tuple):
            items = [self.flat(v) for v in value.items]
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        return ", ".join(map(self.flat, value))

    def fits(self, line: str, depth: int | None = None) -> bool:
        return len(INDENT) * (self.depth if depth is None else depth) + len(line) <= WIDTH

    def noted(self, lines: list[str], note: str) -> list[str]:
        """A trailing ``# note`` on the last line, or a comment line above when it would not fit."""
        if not note:
            return lines
        note = one_line(note)
        if len(lines) == 1 and self.fits(f"{lines[0]}  # {note}"):
            return [f"{lines[0]}  # {note}"]
        return [f"# {note}", *lines]


def assignable(text: str) -> bool:
    """Whether an expression can be the target of ``op=``: a name, an attribute or a subscript."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return False
    return isinstance(node, (ast.Name, ast.Attribute, ast.Subscript))


def one_line(text: str) -> str:
    """Text for a comment: line breaks become spaces, so a comment never ends early."""
    return " ".join(text.split())


@dataclass(frozen=True)
class _Keyed:
    """A keyword argument or a dict entry inside a broken bracket: ``prefix value,``."""

    prefix: str
    value: Value


def docstring(text: str, indent: str) -> list[str]:
    """A triple-quoted docstring, one line or several; backslashes and quotes in the text are escaped,
    so that no text can end the string early."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').splitlines()
    width = WIDTH - len(indent) - 6
    lines = [part for line in escaped for part in (textwrap.wrap(
        line, width, subsequent_indent=" " * (len(line) - len(line.lstrip()))) if len(line) > width else [line])]
    if len(lines) == 1:
        return [f'{indent}"""{lines[0]}"""']
    return [f'{indent}"""{lines[0]}', *(f"{indent}{line}" if line else "" for line in lines[1:]),
            f'{indent}"""']


PRECEDENCE = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.MatMult: 2, ast.Div: 2, ast.FloorDiv: 2, ast.Mod: 2,
              ast.Pow: 3}


def broken(node: ast.expr, room: int) -> list[str]:
    """Lines of an expression, each within ``room`` characters where its structure allows: a chain of
    one operator one operand a line inside parentheses, a call one argument a line."""
    flat = unparse(node)
    if len(flat) <= room:
        return [flat]
    inner = room - len(INDENT)
    if isinstance(node, ast.BinOp) and type(node.op) in PRECEDENCE:
        level = PRECEDENCE[type(node.op)]
        operands: list[tuple[str, ast.expr]] = []
        while isinstance(node, ast.BinOp) and PRECEDENCE.get(type(node.op)) == level:
            operands.insert(0, (_operator(node.op), node.right))
            node = node.left
        operands.insert(0, ("", node))
        lines = []
        for k, (op, operand) in enumerate(operands):
            parts = _operand(operand, level, strict=k > 0, room=inner - len(op) - 1)
            lines += [f"{op} {parts[0]}" if op else parts[0], *parts[1:]]
        return ["(", *(INDENT + line for line in lines), ")"]
    if isinstance(node, ast.Call) and not node.keywords:
        args = [line for a in node.args for line in _with_comma(broken(a, inner - 1))]
        return [f"{unparse(node.func)}(", *(INDENT + line for line in args), ")"]
    if isinstance(node, ast.Subscript):
        index = unparse(ast.Subscript(ast.Name("_"), node.slice))[1:]
        value = _operand(node.value, max(PRECEDENCE.values()) + 1, strict=False, room=room - len(index))
        return [*value[:-1], value[-1] + index]
    return [flat]


def unparse(node: ast.expr) -> str:
    """The expression's source, string literals in double quotes."""
    return re.sub(r"'([^'\"\\]*)'", r'"\1"', ast.unparse(node))


def _operator(op: ast.operator) -> str:
    return {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.MatMult: "@", ast.Div: "/", ast.FloorDiv: "//",
            ast.Mod: "%", ast.Pow: "**"}[type(op)]


def _operand(node: ast.expr, level: int, strict: bool, room: int) -> list[str]:
    """An operand of a chain at ``level``, parenthesised when it binds more loosely than the chain."""
    own = PRECEDENCE.get(type(node.op), 0) if isinstance(node, ast.BinOp) else \
        PRECEDENCE[ast.Mult] if isinstance(node, ast.UnaryOp) else 99
    loose = own < level or (strict and own == level) or isinstance(node, (ast.IfExp, ast.BoolOp, ast.Compare))
    lines = broken(node, room - 2 * loose)
    if len(lines) > 1 and lines[0] == "(":
        return lines  # a broken chain carries its own parentheses
    if loose:
        return [f"({lines[0]}", *lines[1:-1], f"{lines[-1]})"] if len(lines) > 1 else [f"({lines[0]})"]
    return lines


def _with_comma(lines: list[str]) -> list[str]:
    return [*lines[:-1], lines[-1] + ","]
