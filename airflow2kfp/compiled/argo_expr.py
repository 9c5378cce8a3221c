"""The two small expression languages of Argo DAG tasks: `when` conditions and `depends` logic.

`when` is evaluated after parameter substitution, as Argo does ("Conditionals", Argo docs: the
expression is govaluate syntax over literals: `"{{...}}" == "heads"`, `{{...}} > 5`, `&&`, `||`,
`!`, parentheses, `=~` / `!~` regular expressions). Argo turns govaluate's variables into strings
before evaluating, so a bare word is a string (`heads == heads` is true); `true`/`false` are booleans.

`depends` ("Enhanced Depends Logic", Argo docs) combines `task.Result` terms with `&&`, `||`, `!`
and parentheses; a bare `task` means `(task.Succeeded || task.Skipped || task.Daemoned)`.
Both parse into the same small tree; `evaluate` takes a resolver for the names.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
    | (?P<op>&&|\|\||==|!=|<=|>=|=~|!~|[<>!()])
    | (?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)
    )""",
    re.VERBOSE,
)

RESULTS = ("Succeeded", "Failed", "Errored", "Skipped", "Omitted", "Daemoned", "AnySucceeded", "AllFailed")


class ExpressionError(ValueError):
    """The expression cannot be parsed or evaluated (Argo marks the node Error)."""


@dataclass(frozen=True)
class Literal:
    value: str | float | bool


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Not:
    operand: Expr


@dataclass(frozen=True)
class Binary:
    op: str
    left: Expr
    right: Expr


Expr = Literal | Name | Not | Binary


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise ExpressionError(f"cannot read {text[position:]!r} in {text!r}")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ExpressionError(f"unexpected end of {self.text!r}")
        self.index += 1
        return token

    def parse(self) -> Expr:
        tree = self.or_()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()[1]!r} in {self.text!r}")  # type: ignore[index]
        return tree

    def or_(self) -> Expr:
        left = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            left = Binary("||", left, self.and_())
        return left

    def and_(self) -> Expr:
        left = self.compare()
        while self.peek() == ("op", "&&"):
            self.take()
            left = Binary("&&", left, self.compare())
        return left

    def compare(self) -> Expr:
        left = self.unary()
        token = self.peek()
        if token and token[0] == "op" and token[1] in ("==", "!=", "<", ">", "<=", ">=", "=~", "!~"):
            self.take()
            return Binary(token[1], left, self.unary())
        return left

    def unary(self) -> Expr:
        if self.peek() == ("op", "!"):
            self.take()
            return Not(self.unary())
        return self.primary()

    def primary(self) -> Expr:
        kind, text = self.take()
        if (kind, text) == ("op", "("):
            inner = self.or_()
            if self.take() != ("op", ")"):
                raise ExpressionError(f"missing ) in {self.text!r}")
            return inner
        if kind == "string":
            return Literal(bytes(text[1:-1], "utf-8").decode("unicode_escape"))
        if kind == "number":
            return Literal(float(text))
        if kind == "name":
            if text in ("true", "false"):
                return Literal(text == "true")
            return Name(text)
        raise ExpressionError(f"unexpected {text!r} in {self.text!r}")


def parse(text: str) -> Expr:
    return _Parser(text).parse()


Value = str | float | bool


def _compare(op: str, left: Value, right: Value) -> bool:
    if op in ("=~", "!~"):
        if not isinstance(left, str) or not isinstance(right, str):
            raise ExpressionError(f"{op} needs strings")
        matched = re.search(right, left) is not None
        return matched if op == "=~" else not matched
    if op in ("==", "!="):
        # govaluate: values of different types are never equal
        equal = type(left) is type(right) and left == right
        return equal if op == "==" else not equal
    comparable = (isinstance(left, float) and isinstance(right, float)) or (
        isinstance(left, str) and isinstance(right, str)
    )
    if isinstance(left, bool) or isinstance(right, bool) or not comparable:
        raise ExpressionError(f"{left!r} {op} {right!r}: ordering needs two numbers or two strings")
    return bool(_ORDERINGS[op](left, right))  # two floats or two strings, checked above


def evaluate(tree: Expr, resolve: Callable[[str], Value]) -> Value:
    if isinstance(tree, Literal):
        return tree.value
    if isinstance(tree, Name):
        return resolve(tree.name)
    if isinstance(tree, Not):
        return not _truth(evaluate(tree.operand, resolve))
    if tree.op == "&&":
        return _truth(evaluate(tree.left, resolve)) and _truth(evaluate(tree.right, resolve))
    if tree.op == "||":
        return _truth(evaluate(tree.left, resolve)) or _truth(evaluate(tree.right, resolve))
    return _compare(tree.op, evaluate(tree.left, resolve), evaluate(tree.right, resolve))


def _truth(value: Value) -> bool:
    if not isinstance(value, bool):
        raise ExpressionError(f"{value!r} is not a boolean")
    return value


def evaluate_when(text: str) -> bool:
    """A substituted `when` expression; ExpressionError when it is not a valid boolean expression."""

    return _truth(evaluate(parse(text), lambda name: name))


def depends_names(text: str) -> list[str]:
    """The task names a `depends` expression refers to, in order of appearance."""
    names: list[str] = []
    for kind, token in _tokens(text):
        if kind == "name":
            task = _split_result(token)[0]
            if task not in names:
                names.append(task)
    return names


def _split_result(token: str) -> tuple[str, str | None]:
    task, _, result = token.rpartition(".")
    if task and result in RESULTS:
        return task, result
    return token, None


def evaluate_depends(
    text: str,
    results: Callable[[str], frozenset[str]],
    bare: Callable[[str], tuple[str, ...]] = lambda _: ("Succeeded", "Skipped", "Daemoned"),
) -> bool:
    """`results(task)` gives the result names true for that task (e.g. {"Failed"});
    `bare(task)` the results a bare task name stands for (Argo widens it for continueOn)."""

    def resolve(token: str) -> Value:
        task, result = _split_result(token)
        held = results(task)
        if result is None:
            return any(r in held for r in bare(task))
        return result in held

    return _truth(evaluate(parse(text), resolve))


_ORDERINGS = {"<": operator.lt, ">": operator.gt, "<=": operator.le, ">=": operator.ge}
