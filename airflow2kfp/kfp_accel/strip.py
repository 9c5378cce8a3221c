"""kfp's `strip_type_hints` (lib2to3) done with `ast`, for the sources where both give the same text.

kfp 1.8 copies each Python component's function source into its command after stripping the type
annotations of every `def` in it with a lib2to3 fixer: a parameter's `NAME: annotation` loses the
`: annotation` (with the whitespace before the colon) and a `def`'s `-> annotation` goes (with the
whitespace before the arrow); everything else is kept as written. About 5 ms a function, most of it
lib2to3's pure-Python parser. `strip_type_hints` here cuts the same spans using the positions
`ast.parse` (C) reports, when it can tell that lib2to3 would cut the same ones:

- lib2to3 must parse the text, or kfp falls back to other strippers: its grammar is Python 3.8's
  (plus Python 2's `exec` statement), so a source with anything it lacks (`match`, `except*`,
  parenthesised `with` items, walrus, starred subscripts or annotations, decorators other than
  `@dotted.name(...)`, the word `exec`, async code) goes to kfp;
- an annotation's span must be plain: the name, spaces, the colon, spaces, then the expression on
  the same line (`ast` leaves out a group's parentheses, lib2to3 keeps them: `x: (int)` goes to
  kfp), and `) -> annotation` on one line;
- the text cut after the colon (or arrow) must read, on its own, as the annotation `ast` found
  there: a whole expression, so lib2to3's `test` ends where it does.

Anything else, or any doubt, is kfp's own `strip_type_hints`. tests/kfp_accel/test_strip.py compares
both on every function in the goldens, fixtures and converter, and on generated signatures; run once
over the standard library's and site-packages' ~160k functions and the 100-DAG benchmark's, the two
gave the same text wherever this module answered (~99%).

Before stripping, kfp reads each function's source with `inspect.getsource`, whose `getblock`
tokenizes the lines from the `def` on (pure Python, ~0.3 ms a function) until the block ends.
`getsource` here gives the same lines for a function defined at the top of its file, undecorated,
its body on lines of its own, when `ast` can read it: inspect's block finder ends such a block at
the first code line at column 0 after it, and keeps the lines up to its last statement's logical
line, then the comment lines after it that are indented at least as much as the body's first line.
The lines read up to that column-0 line (comments and blank lines at its end left out) must parse as
that one `def` and nothing else, or it goes to inspect (a column-0 line inside a string or bracket
does not parse); so does a text with tabs, form feeds or carriage returns, or a last statement
ending with a backslash. The parse is kept for the strip that follows (kfp strips that same text).
tests/kfp_accel/test_getsource.py compares both on every top-level function of the standard library
and site-packages, the goldens and generated files.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
import types
import warnings
from collections.abc import Callable
from typing import Any

from airflow2kfp.kfp_accel.introspection import ModuleProxy

_EXEC = re.compile(r"\bexec\b")  # a keyword to lib2to3 (Python 2's exec statement) wherever it is
_PARAMETER = re.compile(r"(\w+)[ \t]*:[ \t]*")  # the name, the colon, then the annotation
_ARROW = re.compile(r"\)[ \t]*->[ \t]*\Z")  # the parameters' `)`, the arrow, then the annotation
_WITH_PARENTHESIS = re.compile(r"with[ \t\\\n]*\(")
_DOTTED = re.compile(r"[A-Za-z_]\w*(?:[ \t]*\.[ \t]*[A-Za-z_]\w*)*", re.ASCII)
# nodes lib2to3's grammar has no rule for, or one this module does not vouch for (its tokenizer
# tracks `async def` blocks by indentation, and loses track after a nested one)
_UNSUPPORTED = (
    ast.Match,
    ast.TryStar,
    ast.NamedExpr,
    ast.AsyncFunctionDef,
    ast.AsyncFor,
    ast.AsyncWith,
    ast.Await,
)


def stripping(kfp_strip: Callable[[str], str]) -> Callable[[str], str]:
    """kfp.components._python_op.strip_type_hints: `strip_with_ast` where it vouches for the text,
    kfp's own `kfp_strip` for the rest."""

    @functools.wraps(kfp_strip)
    def strip_type_hints(source: str) -> str:
        stripped = strip_with_ast(source)
        return kfp_strip(source) if stripped is None else stripped

    return strip_type_hints


def strip_with_ast(source: str) -> str | None:
    """The text kfp's lib2to3 stripper gives, or None when this cannot tell it is the same."""
    if not source.endswith("\n") or "\r" in source or "\f" in source or _EXEC.search(source):
        return None
    tree = _parse(source)
    if tree is None:
        return None
    text = _Text(source)
    checks, node_type = _CHECKS, ast.AST
    pending: list[Any] = [tree]
    while pending:  # every node (ast.walk's, without its generators)
        node = pending.pop()
        check = checks.get(type(node))
        if check is not None and not check(text, node):
            return None
        for field in node._fields:
            value = getattr(node, field, None)
            if type(value) is list:
                pending.extend(item for item in value if isinstance(item, node_type))
            elif isinstance(value, node_type):
                pending.append(value)
    if not text.spans:
        return source
    pieces, position = [], 0
    for start, end in sorted(text.spans):
        if start < position:
            return None
        pieces.append(source[position:start])
        position = end
    pieces.append(source[position:])
    return "".join(pieces)


def _parse(source: str, mode: str = "exec") -> ast.AST | None:
    if mode == "exec" and _LAST_PARSED and _LAST_PARSED[0][0] == source:
        return _LAST_PARSED.pop()[1]  # getsource's parse of this very text (read, never changed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes and the like: lib2to3 does not mind
            return ast.parse(source, mode=mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


_LAST_PARSED: list[tuple[str, ast.AST]] = []  # the text getsource parsed last, and its tree


def getsource(obj: Any) -> str:
    """inspect.getsource(obj), the block found with `ast` where it gives the same lines (see the
    module docstring); anything else is inspect's own block finder."""
    function = inspect.unwrap(obj)
    if type(function) is not types.FunctionType:
        return inspect.getsource(obj)
    lines, lnum = inspect.findsource(function)  # what inspect.getsourcelines reads, errors included
    block = _top_level_block(lines, lnum)
    return "".join(inspect.getblock(lines[lnum:]) if block is None else block)


class SourceInspect(ModuleProxy):
    """The `inspect` module as kfp.components._python_op sees it: `getsource` above."""

    getsource = staticmethod(getsource)


_CONTROL = re.compile(r"[\t\f\r\v\x00]")


def _top_level_block(lines: list[str], lnum: int) -> list[str] | None:
    """inspect.getblock(lines[lnum:]) for an undecorated `def` at column 0; None when unsure."""
    if not lines[lnum].startswith("def "):
        return None
    cut = lnum + 1  # the first code line at column 0 after it: the block ends there at the latest
    while cut < len(lines) and lines[cut][:1] in (" ", "\n", "#"):
        cut += 1
    end = cut  # without the comment and blank lines before it
    while end > lnum + 1 and lines[end - 1].lstrip(" ")[:1] in ("#", "\n", ""):
        end -= 1
    text = "".join(lines[lnum:end])
    if any(_CONTROL.search(line) for line in lines[lnum : cut + 1]):
        return None  # tabs (tokenize's columns), form feeds, carriage returns: inspect decides
    tree = _parse(text)
    if not (isinstance(tree, ast.Module) and len(tree.body) == 1 and type(tree.body[0]) is ast.FunctionDef):
        return None
    node = tree.body[0]
    first = node.body[0]  # the body's first line gives the indentation its comments are kept from
    indent = first.col_offset
    if node.decorator_list or indent == 0 or lines[lnum + first.lineno - 1][:indent].strip(" "):
        return None
    last = node.end_lineno
    assert last is not None  # ast gives it for statements
    if lines[lnum + last - 1].rstrip("\n").endswith("\\"):
        return None  # its logical line may go on
    _LAST_PARSED[:] = [(text, tree)]
    for row in range(last + 1, cut - lnum + 1):  # comment lines after it, indented as the body, are kept
        line = lines[lnum + row - 1]
        code = line.lstrip(" ")
        if code[:1] == "#":
            if len(line) - len(code) >= indent:
                last = row
        elif code not in ("\n", ""):
            return None
    return lines[lnum : lnum + last]


def _whole_expression(text: str, node: ast.expr) -> bool:
    """`text` (where `ast` places `node`) is that expression, all of it: no bracket it opens is
    closed after it, so lib2to3's `test` ends where it ends."""
    if type(node) is ast.Name and text == node.id:  # a name read on its own is that name
        return True
    parsed = _parse(text, mode="eval")
    return isinstance(parsed, ast.Expression) and ast.dump(parsed.body) == ast.dump(node)


def _starred(node: ast.expr | None) -> bool:
    """`*a` or a tuple with a starred item (`a, *b`)."""
    return isinstance(node, ast.Starred) or (
        isinstance(node, ast.Tuple) and any(isinstance(item, ast.Starred) for item in node.elts)
    )


class _Text:
    """The source, addressed as `ast` addresses it (line, UTF-8 byte column)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines = source.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))
        self.spans: list[tuple[int, int]] = []  # to cut, found so far

    def offset(self, lineno: int | None, col_offset: int | None) -> int:
        assert lineno is not None and col_offset is not None  # ast gives both for statements and expressions
        line = self.lines[lineno - 1]
        if not line.isascii():
            col_offset = len(line.encode("utf-8")[:col_offset].decode("utf-8"))
        return self.starts[lineno - 1] + col_offset

    def with_statement(self, node: ast.With) -> bool:
        """`with (a as b, c as d):` (3.9) has no lib2to3 rule; `with (a) as b:` has, but goes too."""
        return all(item.optional_vars is None for item in node.items) or not _WITH_PARENTHESIS.match(
            self.source, self.offset(node.lineno, node.col_offset)
        )

    def decorators(self, node: ast.FunctionDef | ast.ClassDef) -> bool:
        """lib2to3's decorators: '@' dotted_name [ '(' [arglist] ')' ] NEWLINE."""
        for decorator in node.decorator_list:
            name = decorator.func if isinstance(decorator, ast.Call) else decorator
            start = self.offset(name.lineno, name.col_offset)
            end = self.offset(name.end_lineno, name.end_col_offset)
            if not _DOTTED.fullmatch(self.source, start, end):
                return False
            if self.source[self.starts[name.lineno - 1] : start].strip() != "@":  # no `@(`, no `@\`
                return False
        return True

    def function(self, node: ast.FunctionDef) -> bool:
        return self.decorators(node) and self.annotation_spans(node)

    def annotation_spans(self, node: ast.FunctionDef) -> bool:
        """Add the spans lib2to3 cuts from `node`'s own signature; False when unsure."""
        spans = self.spans
        arguments = node.args
        parameters = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
        parameters += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
        for parameter in parameters:
            annotation = parameter.annotation
            if annotation is None:
                continue
            # `name: annotation` on one line: spaces only around the colon (no `(` ast leaves out)
            start = self.offset(annotation.lineno, annotation.col_offset)
            name_start = self.offset(parameter.lineno, parameter.col_offset)
            match = _PARAMETER.fullmatch(self.source, name_start, start)
            end = self.offset(annotation.end_lineno, annotation.end_col_offset)
            if match is None or not _whole_expression(self.source[start:end], annotation):
                return False
            spans.append((match.end(1), end))
        if node.returns is not None:
            annotation = node.returns
            start = self.offset(annotation.lineno, annotation.col_offset)
            arrow = _ARROW.search(self.source, self.starts[annotation.lineno - 1], start)
            end = self.offset(annotation.end_lineno, annotation.end_col_offset)
            if arrow is None or not _whole_expression(self.source[start:end], annotation):
                return False
            spans.append((arrow.start() + 1, end))
        return True


def _never(text: _Text, node: ast.AST) -> bool:
    return False


# per node type, whether lib2to3 reads it as Python 3.11 does (and, for a def, its spans to cut);
# a starred item where lib2to3 wants a `test`/`testlist`: `a[*b]`, `a[1, *b]`, `*args: *T`,
# `for x in *a, b:`, `x += *a, b`; lib2to3's annassign value is a `test`
_CHECKS: dict[type, Callable[[_Text, Any], bool]] = {
    **dict.fromkeys(_UNSUPPORTED, _never),
    ast.Subscript: lambda text, node: not _starred(node.slice),
    ast.For: lambda text, node: not _starred(node.iter),
    ast.AugAssign: lambda text, node: not _starred(node.value),
    ast.arg: lambda text, node: not isinstance(node.annotation, ast.Starred),
    ast.AnnAssign: lambda text, node: not isinstance(node.value, ast.Tuple | ast.Yield | ast.YieldFrom),
    ast.With: _Text.with_statement,
    ast.FunctionDef: _Text.function,
    ast.ClassDef: _Text.decorators,
}
