"""A long Argo `depends` expression written as Python a reader can follow: built from its parts.

`trigger_rule(task, "none_failed", "!(a.Failed || a.Errored) && !(b.Failed || ...) && ...")` on one
line grows with every upstream (a fan-in of 30 tasks makes ~1,500 characters). The generated file
writes it instead as `all_of(...)`, `any_of(...)` and `none_of(...)` calls with one part per line, which the file's
own helpers (`depends_helpers`, copied into it) join back into exactly the same text at compile
time: the compiled workflow's `depends` is unchanged, byte for byte (checked here for each
expression; any that would not come back the same is written as one string, as before).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# an expression shorter than this stays one string
SHORT = 60

_TOKEN = re.compile(r"\s*(\(|\)|!|&&|\|\||[a-z0-9]([-a-z0-9]*[a-z0-9])?\.[A-Z][a-z]+)")


# --- helpers: begin ---
def all_of(*parts: str) -> str:
    """Argo `depends` text that holds when every part holds (a part joined by || in parentheses)."""
    return " && ".join(_grouped(part, " || ") for part in parts)


def any_of(*parts: str) -> str:
    """Argo `depends` text that holds when one part holds (a part joined by && in parentheses)."""
    return " || ".join(_grouped(part, " && ") for part in parts)


def none_of(*parts: str) -> str:
    """Argo `depends` text that holds when no part holds."""
    return f"!({any_of(*parts)})"


def _grouped(part: str, operator: str) -> str:
    """`part` in parentheses when `operator` joins it outside any parentheses."""
    depth = 0
    for index, char in enumerate(part):
        depth += 1 if char == "(" else -1 if char == ")" else 0
        if depth == 0 and part.startswith(operator, index):
            return f"({part})"
    return part


# --- helpers: end ---


@dataclass(frozen=True)
class _Node:
    kind: str  # "&&", "||", "!", "()" or "atom"
    parts: tuple[_Node, ...]
    text: str  # the node's own text, as written in the expression


def _parse(expression: str) -> _Node | None:
    """The expression's tree; None when it is not one `depends` expression this module reads."""
    tokens: list[str] = []
    position = 0
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            return None
        tokens.append(match.group(1))
        position = match.end()
    index = 0

    def peek() -> str | None:
        return tokens[index] if index < len(tokens) else None

    def joined(operator: str, operand: Callable[[], _Node | None]) -> _Node | None:
        nonlocal index
        found = [operand()]
        while peek() == operator:
            index += 1
            found.append(operand())
        parts = [part for part in found if part is not None]
        if len(parts) != len(found):
            return None
        if len(parts) == 1:
            return parts[0]
        return _Node(operator, tuple(parts), f" {operator} ".join(p.text for p in parts))

    def either() -> _Node | None:
        return joined("||", both)

    def both() -> _Node | None:
        return joined("&&", unary)

    def unary() -> _Node | None:
        nonlocal index
        token = peek()
        if token is None or token in (")", "&&", "||"):
            return None
        index += 1
        if token == "!":
            operand = unary()
            return None if operand is None else _Node("!", (operand,), f"!{operand.text}")
        if token == "(":
            inner = either()
            if inner is None or peek() != ")":
                return None
            index += 1
            return _Node("()", (inner,), f"({inner.text})")
        return _Node("atom", (), token)

    tree = either()
    return tree if tree is not None and index == len(tokens) else None


def _source(node: _Node) -> str:
    """Python source evaluating to the node's text, with the file's all_of/any_of helpers."""
    if len(node.text) <= SHORT or node.kind == "atom":
        return repr(node.text)
    if node.kind == "()" and node.parts[0].kind in ("&&", "||"):
        # all_of/any_of put a part in parentheses where && and || meet: nothing to write for them
        return _source(node.parts[0])
    if node.kind in ("&&", "||"):
        helper = "all_of" if node.kind == "&&" else "any_of"
        return f"{helper}({', '.join(_source(part) for part in node.parts)})"
    if node.kind == "!" and node.parts[0].kind == "()" and node.parts[0].parts[0].kind == "||":
        return f"none_of({', '.join(_source(part) for part in node.parts[0].parts[0].parts)})"
    return repr(node.text)


def _value(node: _Node) -> str:
    """What `_source(node)` evaluates to in the generated file."""
    if len(node.text) <= SHORT or node.kind == "atom":
        return node.text
    if node.kind == "()" and node.parts[0].kind in ("&&", "||"):
        return _value(node.parts[0])
    if node.kind in ("&&", "||"):
        return (all_of if node.kind == "&&" else any_of)(*(_value(part) for part in node.parts))
    if node.kind == "!" and node.parts[0].kind == "()" and node.parts[0].parts[0].kind == "||":
        return none_of(*(_value(part) for part in node.parts[0].parts[0].parts))
    return node.text


def depends_source(expression: str) -> str:
    """Python source for `expression`: a string when it is short, else all_of/any_of calls, one part
    each; always what gives back `expression` exactly (else the string)."""
    tree = _parse(expression)
    if tree is None or len(expression) <= SHORT or _value(tree) != expression:
        return repr(expression)
    return _source(tree)


def uses_helpers(source: str) -> bool:
    """Whether `depends_source` wrote helper calls (a `depends` string never holds `_`)."""
    return re.search(r"\b(all_of|any_of|none_of)\(", source) is not None


def helpers_source() -> str:
    """The helpers between the markers above, as the generated files that call them carry them."""
    with open(__file__, encoding="utf-8") as stream:
        text = stream.read()
    return (
        text.split("# --- helpers: begin ---\n", 1)[1].split("# --- helpers: end ---", 1)[0].rstrip() + "\n"
    )
