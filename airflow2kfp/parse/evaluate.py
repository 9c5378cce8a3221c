"""Evaluating expressions to literal values without running them.

Only literal data is ever computed with: numbers, strings, containers, and the operators, f-strings,
`%`/`.format` and whitelisted builtins and methods applied to them. Anything else becomes
`Unresolved(source text)`. Calls, `>>` between tasks and attributes of tasks are the interpreter's
business: it overrides the `call`, `shift` and `attribute` hooks.
"""

from __future__ import annotations

import ast
import datetime as dt
import itertools
import math
import operator
import re
import string
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import PurePosixPath
from typing import Any

import libcst as cst

from airflow2kfp.model import Duration, SourceSpan, Unresolved
from airflow2kfp.parse.budget import (
    BIG_VALUE,
    CHECK_EVERY,
    DEFAULT_LIMITS,
    LIMIT,
    STEPS,
    VALUE,
    Budget,
    Clock,
    OverBudget,
    ReadingLimits,
)
from airflow2kfp.parse.data_files import Unordered, unordered
from airflow2kfp.parse.positions import Positions
from airflow2kfp.parse.values import Builtin, Ref, Scope

MAX_UNROLL = 100_000  # longest range a loop is unrolled over; longer ones are read as unknown

_BINARY: dict[type[cst.BaseBinaryOp], Callable[[Any, Any], Any]] = {
    cst.Add: operator.add,
    cst.Subtract: operator.sub,
    cst.Multiply: operator.mul,
    cst.Divide: operator.truediv,
    cst.FloorDivide: operator.floordiv,
    cst.Modulo: operator.mod,
    cst.Power: operator.pow,
    cst.BitOr: operator.or_,
    cst.BitAnd: operator.and_,
    cst.BitXor: operator.xor,
    cst.LeftShift: operator.lshift,
    cst.RightShift: operator.rshift,
}
_COMPARE: dict[type[cst.BaseCompOp], Callable[[Any, Any], Any]] = {
    cst.Equal: operator.eq,
    cst.NotEqual: operator.ne,
    cst.LessThan: operator.lt,
    cst.LessThanEqual: operator.le,
    cst.GreaterThan: operator.gt,
    cst.GreaterThanEqual: operator.ge,
    cst.In: lambda a, b: a in b,
    cst.NotIn: lambda a, b: a not in b,
    cst.Is: operator.is_,
    cst.IsNot: operator.is_not,
}
_BUILTINS: dict[str, Callable[..., Any]] = {
    "range": range,
    "len": len,
    "str": str,
    "int": int,
    "float": float,
    "bool": bool,
    "list": list,
    "tuple": tuple,
    "dict": dict,
    "set": set,
    "sorted": sorted,
    "reversed": reversed,
    "enumerate": enumerate,
    "zip": zip,
    "min": min,
    "max": max,
    "sum": sum,
    "abs": abs,
    "round": round,
    "any": any,
    "all": all,
}
# builtins that only rearrange their arguments, so they may be handed tasks as well as data
_SHALLOW_BUILTINS = frozenset({"enumerate", "zip", "list", "tuple", "reversed", "len"})
# methods of literal data that cannot do anything but compute (or mutate the container itself)
_SAFE_METHODS: dict[type, frozenset[str]] = {
    str: frozenset(
        {
            "format",
            "join",
            "upper",
            "lower",
            "title",
            "capitalize",
            "strip",
            "lstrip",
            "rstrip",
            "replace",
            "split",
            "rsplit",
            "startswith",
            "endswith",
            "zfill",
            "removeprefix",
            "removesuffix",
            "casefold",
            "swapcase",
            "isdigit",
            "isalpha",
            "count",
            "find",
        }
    ),
    list: frozenset({"append", "extend", "insert", "pop", "remove", "copy", "index", "count", "reverse"}),
    dict: frozenset({"items", "keys", "values", "get", "copy", "update", "setdefault", "pop"}),
    tuple: frozenset({"index", "count"}),
    set: frozenset({"add", "update", "union", "copy"}),
}
# methods that hash or compare their arguments (or the receiver's items) all the way down
_DEEP_METHODS = frozenset({"remove", "index", "count", "get", "setdefault", "pop", "add", "update", "union"})
_DATA = (str, int, float, bool, type(None), bytes, Duration, PurePosixPath)
_CONSTANTS = {"True": True, "False": False, "None": None}
_SPEC_NUMBER = re.compile(r"\d+")
# a `%` conversion: mapping key, flags, width, precision, length modifier, type
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?(.)", re.DOTALL)
_INTEGRAL = (int,)  # bool is an int too


_CONTAINERS = (list, tuple, set, frozenset, dict)
_END = object()


def is_data(value: Any) -> bool:
    """True for literal data all the way down, for values already read (and so bounded by the budgets);
    the evaluator's own `is_data` checks values while reading, under the budgets."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, (dict, *_SEQUENCES)):
            pending.extend(_children(item))
        elif not isinstance(item, (_DATA, range)):
            return False
    return True


_SEQUENCES = (list, tuple, set, frozenset)


def _children(container: Any) -> Iterator[Any]:
    if isinstance(container, dict):
        return itertools.chain(container.keys(), container.values())
    return iter(container)


def _text_factor(text: str | bytes) -> int:
    """How many times longer than `text` its repr can be: escapes take up to 10 characters."""
    return 2 if isinstance(text, str) and text.isprintable() else 10


class Evaluator:
    """Literal evaluation of libcst expressions within a scope, under the reading's budgets."""

    def __init__(
        self, module: cst.Module, positions: Positions, file: str, limits: ReadingLimits = DEFAULT_LIMITS
    ) -> None:
        self.module = module
        self.positions = positions
        self.file = file
        self.statements: list[cst.CSTNode] = []  # those being run, innermost last: where spans are found
        self.limits = limits
        self.clock = Clock(limits)
        self.steps = 0
        self._next_check = min(limits.steps + 1, CHECK_EVERY)
        self._sources: dict[int, str] = {}  # id(node) -> its source text; the module keeps every node alive

    # -- helpers ---------------------------------------------------------------------------
    def source(self, node: cst.CSTNode) -> str:
        # remembered per node: a loop asks for the same node's text on every turn, and printing
        # it (libcst's codegen) costs as much as a hundred evaluation steps
        found = self._sources.get(id(node))
        if found is None:
            found = self._sources[id(node)] = self.module.code_for_node(node).strip()
        return found

    def span(self, node: cst.CSTNode) -> SourceSpan:
        where = self.positions.get(node, self.statements)
        if where is None:
            return SourceSpan(self.file, 0)
        return SourceSpan(self.file, where.start.line, where.start.column, where.end.line, where.end.column)

    def unresolved(self, node: cst.CSTNode) -> Unresolved:
        return Unresolved(self.source(node))

    # -- hooks the interpreter overrides ---------------------------------------------------
    def text_of(self, value: Any) -> Any:
        """What `str(value)` gives for a value that is not data, when known while reading; else the value."""
        return value

    # -- budgets ---------------------------------------------------------------------------
    def charge(self, steps: int, node: cst.CSTNode | SourceSpan | None) -> None:
        """Count `steps` of work; every CHECK_EVERY steps, check the step, time and memory budgets."""
        self.steps += steps
        if self.steps >= self._next_check:
            self._checkpoint(node)

    def _checkpoint(self, node: cst.CSTNode | SourceSpan | None) -> None:
        if self.steps > self.limits.steps:
            raise self.over(
                STEPS,
                f"Reading the file statically takes more than {self.limits.steps:,} "
                "evaluation steps (loops, comprehensions or calls that go on too long).",
                node,
            )
        self._next_check = min(self.limits.steps + 1, self.steps + CHECK_EVERY)
        self._check_clock(node)

    def _check_clock(self, node: cst.CSTNode | SourceSpan | None) -> None:
        message = self.clock.exceeded()
        if message is not None:
            raise self.over(LIMIT, message, node)

    def over(self, budget: Budget, message: str, node: cst.CSTNode | SourceSpan | None) -> OverBudget:
        """The error to raise, at the offending expression (or the statement being run, when the
        expression is not one of the module's own nodes)."""
        if isinstance(node, SourceSpan):
            return OverBudget(budget, message, node)
        span = self.span(node) if node is not None else SourceSpan(self.file, 0)
        if not span.line and self.statements:
            span = self.span(self.statements[-1])
        return OverBudget(budget, message, span if span.line else None)

    def over_size(
        self, size: int, node: cst.CSTNode | SourceSpan | None, what: str, *, items: bool = False
    ) -> None:
        """Raise when a value of `size` characters (or `items`) would exceed the budget; check time
        and memory before a big one is built."""
        limit = self.limits.items if items else self.limits.size
        if size > limit:
            unit = "items" if items else "characters"
            raise self.over(
                VALUE,
                f"{what[0].upper()}{what[1:]} would have up to {size:,} {unit}; the static reader's "
                f"limit is {limit:,}.",
                node,
            )
        if size >= BIG_VALUE:
            self._check_clock(node)

    def over_items(
        self, count: int, node: cst.CSTNode | SourceSpan | None, what: str = "a container"
    ) -> None:
        self.over_size(count, node, what, items=True)

    def over_bits(self, bits: float, node: cst.CSTNode | SourceSpan | None) -> None:
        if bits > self.limits.int_bits:
            raise self.over(
                VALUE,
                f"An integer of about {int(bits):,} bits would be built; the static reader's "
                f"limit is {self.limits.int_bits:,} bits.",
                node,
            )

    def walk(
        self, value: Any, node: cst.CSTNode | SourceSpan | None, *, stop_at_object: bool = False
    ) -> int | None:
        """The size of `value` counted through its nesting, as str(), ==, hashing or the model would
        walk it: characters of strings plus one per item, a container shared n times counted n
        times (an object the evaluator does not compute with counts one). None when
        `stop_at_object` and something is not literal data. Each distinct container is visited once
        (a shared one's size is remembered); a container inside itself is over every budget, and
        one nested deeper than the depth budget too (hashing it would overflow C's stack).
        Visits cost steps; over the size budget is an error, so what walks the value next does
        bounded work."""
        if isinstance(value, (str, bytes)):
            return len(value)
        if not isinstance(value, _CONTAINERS):
            return 1 if stop_at_object is False or isinstance(value, (_DATA, range)) else None
        limit = self.limits.size
        sizes: dict[int, int] = {}  # id -> size of each container walked to its end
        frames: list[list[Any]] = [[id(value), 1, _children(value)]]  # [id, size so far, children left]
        walking = {id(value)}
        total = visited = 1  # `total` counts every unit added anywhere: the size found so far
        while frames:
            frame = frames[-1]
            child = next(frame[2], _END)
            if child is _END:
                frames.pop()
                walking.discard(frame[0])
                sizes[frame[0]] = frame[1]
                if frames:
                    frames[-1][1] += frame[1]
                continue
            visited += 1
            if isinstance(child, (str, bytes)):
                added = len(child) + 1
            elif isinstance(child, _CONTAINERS):
                known = sizes.get(id(child))
                if known is None:
                    if id(child) in walking:
                        total = limit + 1  # a container inside itself: endless to str() or compare
                    elif len(frames) >= self.limits.depth:
                        raise self.over(
                            VALUE,
                            f"A value is nested more than {self.limits.depth} levels deep, the "
                            "static reader's limit.",
                            node,
                        )
                    else:
                        frames.append([id(child), 1, _children(child)])
                        walking.add(id(child))
                        total += 1
                        continue
                added = known or 0
            elif isinstance(child, (_DATA, range)) or not stop_at_object:
                added = 1
            else:
                self.charge(visited // 8 + 1, node)
                return None
            frame[1] += added
            total += added
            if total > limit:
                raise self.over(
                    VALUE,
                    f"A value has more than {limit:,} characters and items counted through its "
                    "nesting (the static reader's limit), or contains itself.",
                    node,
                )
            if visited % 65536 == 0:  # millions of items: keep time and memory in check as it goes
                self.charge(8192, node)
        self.charge(visited % 65536 // 8 + 1, node)
        return total

    def truth(self, value: Any) -> bool | None:
        """The truth value Python would see, or None when it cannot be known. A container's is its
        length, whatever it holds (tasks too): no need to walk it."""
        if isinstance(value, (*_CONTAINERS, range, *_DATA)):
            return bool(value)
        return None

    def _known_object(self, left: Any, right: Any, node: cst.CSTNode) -> bool:
        """One side is None and the other an object the reader built (not a value it could not know)."""
        other = right if left is None else left if right is None else None
        return other is not None and not isinstance(other, Unresolved) and not self.is_data(other, node)

    def is_data(self, value: Any, node: cst.CSTNode | SourceSpan | None = None) -> bool:
        """True for literal data all the way down, which Python operators may safely combine."""
        if isinstance(value, _DATA):
            return True
        return self.walk(value, node, stop_at_object=True) is not None

    def text_size(self, value: Any, node: cst.CSTNode | SourceSpan | None, *, as_repr: bool = True) -> int:
        """An upper bound of `len(repr(value))` (of `len(str(value))` with `as_repr=False`: a string
        as it is), without building either."""
        if isinstance(value, str) and not as_repr:
            return len(value)
        if isinstance(value, (str, bytes)):
            return len(value) * _text_factor(value) + 3
        if isinstance(value, bool) or value is None:
            return 5
        if isinstance(value, int):
            return value.bit_length() // 2 + 2  # digits are 0.3 per bit; grouping adds a third
        if isinstance(value, float):
            return 330  # format(1e308, "f") has 309 digits
        if isinstance(value, (list, tuple, set, frozenset, dict)):
            units = self.walk(value, node) or 0
            return units * 10 + 3
        return 64 + len(str(value)) if isinstance(value, PurePosixPath) else 256

    def spec_width(self, spec: str) -> int:
        """The largest width or precision a format spec (or `%` conversion) asks for."""
        # a number of more than 18 digits is past every budget: no need to convert it (Python would refuse)
        return max((int(n) if len(n) <= 18 else 10**18 for n in _SPEC_NUMBER.findall(spec)), default=0)

    def formatted(self, value: Any, spec: str, node: cst.CSTNode, *, as_repr: bool = False) -> int:
        """An upper bound of `len(format(value, spec))` (of its repr with `as_repr`), checked
        against the budget."""
        size = self.text_size(value, node, as_repr=as_repr) + self.spec_width(spec) + (32 if spec else 0)
        self.over_size(size, node, "a formatted value")
        return size

    # -- expressions -----------------------------------------------------------------------
    def eval(self, node: cst.BaseExpression, scope: Scope) -> Any:
        self.steps += 1
        if self.steps >= self._next_check:
            self._checkpoint(node)
        method = getattr(self, f"_eval_{type(node).__name__}", None)
        if method is None:
            return self.unresolved(node)
        return method(node, scope)

    def _eval_Integer(self, node: cst.Integer, scope: Scope) -> Any:
        try:  # what literal_eval (libcst's evaluated_value) gives for every valid literal, without compiling
            value = int(node.value, 0)
        except ValueError:
            value = node.evaluated_value
        if isinstance(value, int):  # a hexadecimal literal has no length limit in Python
            self.over_bits(value.bit_length(), node)
        return value

    def _eval_Float(self, node: cst.Float, scope: Scope) -> Any:
        try:
            return float(node.value)
        except ValueError:
            return node.evaluated_value

    def _eval_SimpleString(self, node: cst.SimpleString, scope: Scope) -> Any:
        text = node.value
        # no prefix, no escape, no \r (which the tokenizer would translate): the text between the quotes
        if text[0] in "'\"" and "\\" not in text and "\r" not in text:
            quotes = 3 if len(text) >= 6 and text[1] == text[2] == text[0] else 1
            return text[quotes:-quotes]
        try:
            with warnings.catch_warnings():  # libcst decodes with literal_eval: `"\d"` only warns
                warnings.simplefilter("ignore")
                return node.evaluated_value
        except (SyntaxError, ValueError):
            return self.unresolved(node)

    def _eval_ConcatenatedString(self, node: cst.ConcatenatedString, scope: Scope) -> Any:
        left, right = self.eval(node.left, scope), self.eval(node.right, scope)
        if isinstance(left, str) and isinstance(right, str):
            self.over_size(len(left) + len(right), node, "a string")
            return left + right
        return self.unresolved(node)

    def _eval_FormattedString(self, node: cst.FormattedString, scope: Scope) -> Any:
        prefix = node.prefix.lower().replace("f", "")
        quote = node.start[len(node.prefix) :]
        pieces: list[str] = []
        length = 0
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                text = _fstring_text(part.value, prefix, quote)
                if text is None:
                    return self.unresolved(node)
                pieces.append(text)
                length += len(text)
                continue
            if not isinstance(part, cst.FormattedStringExpression) or part.equal is not None:
                return self.unresolved(node)  # `{x=}` self-documenting fields: rare, not rebuilt
            value = self.eval(part.expression, scope)
            spec = self._format_spec(part, scope)
            if spec == "" and part.conversion in (None, "s") and not self.is_data(value, part):
                value = self.text_of(value)  # str() of a value that has a text at reading time
            if spec is None or not self.is_data(value, part):
                return self.unresolved(node)
            length += self.formatted(value, spec, part, as_repr=part.conversion in ("r", "a"))
            self.over_size(length, part, "an f-string")
            try:
                if part.conversion == "r":
                    value = repr(value)
                elif part.conversion == "s":
                    value = str(value)
                elif part.conversion == "a":
                    value = ascii(value)
                pieces.append(format(value, spec))
            except (ValueError, TypeError, ArithmeticError):
                return self.unresolved(node)
        return "".join(pieces)

    def _format_spec(self, part: cst.FormattedStringExpression, scope: Scope) -> str | None:
        if not part.format_spec:
            return ""
        spec = self._eval_FormattedString(
            cst.FormattedString(parts=part.format_spec, start='f"', end='"'), scope
        )
        return spec if isinstance(spec, str) else None

    def _eval_Name(self, node: cst.Name, scope: Scope) -> Any:
        if node.value in _CONSTANTS:
            return _CONSTANTS[node.value]
        found, value = scope.lookup(node.value)
        if found:
            return value
        if node.value in _BUILTINS:
            return Builtin(node.value)
        return self.unresolved(node)

    def _eval_Attribute(self, node: cst.Attribute, scope: Scope) -> Any:
        value = self.eval(node.value, scope)
        if isinstance(value, Ref):
            return value.attr(node.attr.value)
        return self.attribute(node, value, scope)

    def _eval_Subscript(self, node: cst.Subscript, scope: Scope) -> Any:
        value = self.eval(node.value, scope)
        if len(node.slice) != 1:
            return self.unresolved(node)
        index = self._slice(node.slice[0].slice, scope)
        return self.subscript(node, value, index)

    def subscript(self, node: cst.Subscript, value: Any, index: Any) -> Any:
        if isinstance(value, (list, tuple, dict, str)) and (
            isinstance(index, slice) or self.is_data(index, node)
        ):
            if isinstance(index, slice) and not isinstance(value, dict):
                self.over_items(self.length(value, node), node)  # a slice copies up to every item
            try:
                return value[index]
            except (LookupError, TypeError, ValueError):
                pass
        return self.unresolved(node)

    def _slice(self, node: cst.BaseSlice, scope: Scope) -> Any:
        if isinstance(node, cst.Index):
            return self.eval(node.value, scope)
        assert isinstance(node, cst.Slice)
        parts = [None if p is None else self.eval(p, scope) for p in (node.lower, node.upper, node.step)]
        if all(p is None or isinstance(p, int) for p in parts):
            return slice(*parts)
        return Unresolved("slice")

    def _eval_List(self, node: cst.List, scope: Scope) -> Any:
        return self._elements(node, node.elements, scope, list)

    def _eval_Tuple(self, node: cst.Tuple, scope: Scope) -> Any:
        return self._elements(node, node.elements, scope, tuple)

    def _eval_Set(self, node: cst.Set, scope: Scope) -> Any:
        return self._elements(node, node.elements, scope, set)

    def _elements(
        self, node: cst.CSTNode, elements: Iterable[cst.BaseElement], scope: Scope, kind: type
    ) -> Any:
        items: list[Any] = []
        for element in elements:
            value = self.eval(element.value, scope)
            if isinstance(element, cst.StarredElement):
                if not isinstance(value, (list, tuple, range, set, dict, str)):
                    return self.unresolved(node)
                self.over_items(len(items) + self.length(value, element), element)
                items.extend(value)
            else:
                items.append(value)
        if kind is set:
            self.walk(items, node)  # hashing walks every member
        try:
            return kind(items)
        except TypeError:  # an unhashable member of a set
            return self.unresolved(node)

    def length(self, value: Any, node: cst.CSTNode) -> int:
        """len(value); a range too long for len() is over every budget."""
        try:
            return len(value)
        except OverflowError:
            self.over_items(self.limits.items + 1, node)
            raise  # not reached: the line above raises

    def _eval_Dict(self, node: cst.Dict, scope: Scope) -> Any:
        result: dict[Any, Any] = {}
        for element in node.elements:
            if isinstance(element, cst.StarredDictElement):
                value = self.eval(element.value, scope)
                if not isinstance(value, dict):
                    return self.unresolved(node)
                self.over_items(len(result) + len(value), element)
                result.update(value)
                continue
            assert isinstance(element, cst.DictElement)
            key = self.eval(element.key, scope)
            self.walk(key, element.key)  # hashing walks the key
            self.over_items(len(result) + 1, element)
            try:
                result[key] = self.eval(element.value, scope)
            except TypeError:
                return self.unresolved(node)
        return result

    def _eval_BinaryOperation(self, node: cst.BinaryOperation, scope: Scope) -> Any:
        left, right = self.eval(node.left, scope), self.eval(node.right, scope)
        op = type(node.operator)
        if op in (cst.RightShift, cst.LeftShift) and not (isinstance(left, int) and isinstance(right, int)):
            return self.shift(node, left, right)
        return self.binary(node, op, left, right)

    def binary(self, node: cst.CSTNode, op: type, left: Any, right: Any) -> Any:
        """`left <op> right` on literal data, once the result is known to fit the budgets."""
        function = _BINARY.get(op)
        if function is None or not (self.is_data(left, node) and self.is_data(right, node)):
            return self.unresolved(node)
        self.check_binary(node, op, left, right)
        self.charge_text(node, left, right)
        try:
            return function(left, right)
        except (ArithmeticError, TypeError, ValueError, KeyError):
            return self.unresolved(node)

    def charge_text(self, node: cst.CSTNode, *values: Any) -> None:
        """Scanning or copying long strings costs steps too: one per KiB, so a loop that searches a
        10 MB string on every turn ends by the step budget, as a loop of small steps does."""
        cost = sum(len(v) for v in values if isinstance(v, (str, bytes))) >> 10
        if cost:
            self.charge(cost, node)

    def check_binary(self, node: cst.CSTNode, op: type, left: Any, right: Any) -> None:
        """Raise when the result of `left <op> right` would exceed a budget, before computing it."""
        sequences = (str, bytes, list, tuple)
        if isinstance(left, _INTEGRAL) and isinstance(right, _INTEGRAL):
            bits = max(left.bit_length(), right.bit_length()) + 1
            if op is cst.Multiply:
                bits = left.bit_length() + right.bit_length()
            elif op is cst.LeftShift:
                bits = left.bit_length() + max(right, 0)
            elif op is cst.Power and right > 0 and abs(left) > 1:
                bits = right * math.log2(abs(left))
            self.over_bits(bits, node)
        elif (
            op is cst.Multiply
            and isinstance(left, sequences + _INTEGRAL)
            and isinstance(right, sequences + _INTEGRAL)
        ):
            sequence, count = (left, right) if isinstance(left, sequences) else (right, left)
            if isinstance(sequence, sequences) and isinstance(count, _INTEGRAL):
                what = "a string" if isinstance(sequence, (str, bytes)) else "a repeated sequence"
                size = len(sequence) * max(count, 0)
                if isinstance(sequence, (str, bytes)):
                    self.over_size(size, node, what)
                else:
                    self.over_items(size, node, what)
        elif op is cst.Add and isinstance(left, sequences) and isinstance(right, sequences):
            if isinstance(left, (str, bytes)):
                self.over_size(len(left) + len(right), node, "a string")
            else:
                self.over_items(len(left) + len(right), node)
        elif op is cst.Modulo and isinstance(left, (str, bytes)):
            self.over_size(self.percent_size(left, right, node), node, "a %-formatted string")
        elif op in (cst.BitOr, cst.BitAnd, cst.BitXor, cst.Subtract) and isinstance(
            left, (set, frozenset, dict)
        ):
            self.over_items(
                len(left) + (len(right) if isinstance(right, (set, frozenset, dict)) else 0), node
            )

    def percent_size(self, template: str | bytes, args: Any, node: cst.CSTNode) -> int:
        """An upper bound of `len(template % args)`: widths and precisions (from `*` too), and the
        arguments' text, once per conversion when a mapping lets one argument be used many times."""
        text = template.decode("latin-1") if isinstance(template, bytes) else template
        specs = _PERCENT_SPEC.findall(text)
        widths = [int(n) if len(n) <= 18 else 10**18 for spec in specs for n in spec[:2] if n.isdigit()]
        values = list(args) if isinstance(args, tuple) else [args]
        if any("*" in spec[:2] for spec in specs):
            widths += [abs(v) for v in values if isinstance(v, int)]
        widest = max(widths, default=0)
        as_repr = any(spec[2] in "ra" for spec in specs)
        arguments = sum(self.text_size(v, node, as_repr=as_repr) for v in values)
        uses = len(specs) if isinstance(args, dict) else 1
        return len(text) + uses * arguments + len(specs) * (widest + 32)

    def _eval_UnaryOperation(self, node: cst.UnaryOperation, scope: Scope) -> Any:
        value = self.eval(node.expression, scope)
        if isinstance(node.operator, cst.Not):
            truth = self.truth(value)
            return self.unresolved(node) if truth is None else not truth
        if not self.is_data(value, node):
            return self.unresolved(node)
        try:
            if isinstance(node.operator, cst.Minus):
                return -value
            if isinstance(node.operator, cst.Plus):
                return +value
            return ~value
        except TypeError:
            return self.unresolved(node)

    def _eval_BooleanOperation(self, node: cst.BooleanOperation, scope: Scope) -> Any:
        left = self.eval(node.left, scope)
        truth = self.truth(left)
        if truth is None:
            return self.unresolved(node)
        if isinstance(node.operator, cst.And):
            return self.eval(node.right, scope) if truth else left
        return left if truth else self.eval(node.right, scope)

    def _eval_Comparison(self, node: cst.Comparison, scope: Scope) -> Any:
        left = self.eval(node.left, scope)
        for target in node.comparisons:
            right = self.eval(target.comparator, scope)
            if isinstance(target.operator, (cst.Is, cst.IsNot)) and self._known_object(left, right, node):
                # `task is not None`: a task, group, DAG or function the reader built is never None
                if (left is right) == isinstance(target.operator, cst.IsNot):
                    return False
                left = right
                continue
            # `x in a_set` hashes x and compares it with a colliding key or two: the set itself is
            # not walked (its keys were hashed when it was built), which a loop over it would repeat
            membership = isinstance(target.operator, (cst.In, cst.NotIn)) and isinstance(
                right, (set, frozenset, dict)
            )
            if not (self.is_data(left, node) and (membership or self.is_data(right, node))):
                return self.unresolved(node)
            self.charge_text(target, left, right)
            try:
                if not _COMPARE[type(target.operator)](left, right):
                    return False
            except TypeError:
                return self.unresolved(node)
            left = right
        return True

    def _eval_IfExp(self, node: cst.IfExp, scope: Scope) -> Any:
        truth = self.truth(self.eval(node.test, scope))
        if truth is None:
            return self.unresolved(node)
        return self.eval(node.body if truth else node.orelse, scope)

    def _eval_Call(self, node: cst.Call, scope: Scope) -> Any:
        return self.call(node, scope)

    def _eval_ListComp(self, node: cst.ListComp, scope: Scope) -> Any:
        return self._comprehension(node, node.for_in, scope, lambda s: self.eval(node.elt, s))

    def _eval_GeneratorExp(self, node: cst.GeneratorExp, scope: Scope) -> Any:
        return self._comprehension(node, node.for_in, scope, lambda s: self.eval(node.elt, s))

    def _eval_SetComp(self, node: cst.SetComp, scope: Scope) -> Any:
        items = self._comprehension(node, node.for_in, scope, lambda s: self.eval(node.elt, s))
        if isinstance(items, Unresolved):
            return items
        self.walk(items, node)  # hashing walks every member
        try:
            return set(items)
        except TypeError:
            return self.unresolved(node)

    def _eval_DictComp(self, node: cst.DictComp, scope: Scope) -> Any:
        pairs = self._comprehension(
            node, node.for_in, scope, lambda s: (self.eval(node.key, s), self.eval(node.value, s))
        )
        if isinstance(pairs, Unresolved):
            return pairs
        self.walk([key for key, _ in pairs], node)  # hashing walks every key
        try:
            return dict(pairs)
        except TypeError:
            return self.unresolved(node)

    def _comprehension(
        self,
        node: cst.CSTNode,
        comp: cst.CompFor,
        scope: Scope,
        produce: Callable[[Scope], Any],
        results: list[Any] | None = None,
    ) -> list[Any] | Unresolved:
        iterated = self.eval(comp.iter, scope)
        iterable = self.iterate(iterated)
        if iterable is None:
            return self.unresolved(node)
        if results is None:  # a listing's order carries over to what is built from it
            results = unordered([], counted=iterated.counted) if isinstance(iterated, Unordered) else []
        for item in iterable:
            inner = Scope(parent=scope)
            if not self.bind(comp.target, item, inner):
                return self.unresolved(node)
            tests = [self.truth(self.eval(cond.test, inner)) for cond in comp.ifs]
            if any(t is None for t in tests):
                return self.unresolved(node)
            if not all(tests):
                continue
            if comp.inner_for_in is not None:
                more = self._comprehension(node, comp.inner_for_in, inner, produce, results)
                if isinstance(more, Unresolved):
                    return more
            else:
                if len(results) >= self.limits.items:
                    self.over_items(len(results) + 1, node, "a comprehension")
                results.append(produce(inner))
        return results

    # -- iteration and binding -------------------------------------------------------------
    def iterate(self, value: Any) -> list[Any] | None:
        """The items a `for` over `value` visits, or None when they cannot be known."""
        if isinstance(value, range):
            try:
                if len(value) > MAX_UNROLL:
                    return None
            except OverflowError:  # longer than the machine's integers
                return None
        if isinstance(value, (list, tuple, range, str, dict, set)):
            items = list(value)
            if isinstance(value, set) and not all(isinstance(i, (str, int)) for i in items):
                return None  # set order of other values is not stable from run to run
            return sorted(items) if isinstance(value, set) and len({type(i) for i in items}) == 1 else items
        return None

    def bind(self, target: cst.BaseExpression, value: Any, scope: Scope) -> bool:
        """Assign to a name or unpack into a tuple/list of targets; False when it cannot be done."""
        if isinstance(target, cst.Name):
            scope.vars[target.value] = value
            return True
        if isinstance(target, (cst.Tuple, cst.List)):
            names = [e.value for e in target.elements]
            if any(isinstance(e, cst.StarredElement) for e in target.elements):
                return False
            items = list(value) if isinstance(value, (list, tuple, str)) else None
            if items is None or len(items) != len(names):
                for name in names:
                    self.bind(name, Unresolved(self.source(name)), scope)
                return False
            return all([self.bind(n, v, scope) for n, v in zip(names, items, strict=True)])  # noqa: C419 - bind every name
        return False

    # -- calls on literal data -------------------------------------------------------------
    def call_data(self, node: cst.Call, scope: Scope, receiver: Any = None) -> Any:
        """Builtins and safe methods applied to literal data; everything else is Unresolved.

        `receiver` is the already evaluated object of a method call: evaluating it again could
        repeat what it does (create a task twice).
        """
        if isinstance(node.func, cst.Attribute) and receiver is None:
            receiver = self.eval(node.func.value, scope)
        args, kwargs = self.arguments(node, scope)
        if args is None or kwargs is None:
            return self.unresolved(node)
        if isinstance(node.func, cst.Attribute):
            return self.method(node, receiver, node.func.attr.value, args, kwargs)
        function = self.eval(node.func, scope)
        if isinstance(function, Builtin):
            return self.builtin(node, function, args, kwargs)
        return self.unresolved(node)

    def builtin(self, node: cst.Call, function: Builtin, args: list[Any], kwargs: dict[str, Any]) -> Any:
        name = function.name
        if name == "str" and len(args) == 1 and not kwargs and isinstance(self.text_of(args[0]), str):
            args = [self.text_of(args[0])]  # str(task.output): the template pulling it
        if (
            name == "sorted"
            and len(args) == 1
            and set(kwargs) <= {"reverse"}
            and not self.is_data(args, node)
        ):
            return self.sorted_by_data_keys(node, args[0], kwargs)
        if name not in _SHALLOW_BUILTINS and not (self.is_data(args, node) and self.is_data(kwargs, node)):
            return self.unresolved(node)
        if not self.check_builtin(node, name, args, kwargs):
            return self.unresolved(node)
        try:
            result = _BUILTINS[name](*args, **kwargs)
        except (TypeError, ValueError, ArithmeticError):
            return self.unresolved(node)
        if name in {"enumerate", "zip", "reversed"}:
            result = list(result)
        if name in {"list", "enumerate", "zip", "reversed"} and any(isinstance(a, Unordered) for a in args):
            # still in the listing's order, which only the file system knows
            counted = name == "enumerate" or any(getattr(a, "counted", False) for a in args)
            result = unordered(result, counted=counted)
        if isinstance(result, int):  # int("f" * 10**6, 16): a length Python does not limit
            self.over_bits(result.bit_length(), node)
        return result

    def sorted_by_data_keys(self, node: cst.Call, items: Any, kwargs: dict[str, Any]) -> Any:
        """`sorted(d.items())` of pairs whose first items are distinct literal data (a dict of tasks by
        name): Python compares only those first items, so the order is known without comparing tasks."""
        if not isinstance(items, (list, tuple)) or not isinstance(kwargs.get("reverse", False), bool):
            return self.unresolved(node)
        self.over_items(len(items), node, "an iterable")
        if not all(isinstance(i, (tuple, list)) and i for i in items):
            return self.unresolved(node)
        keys = [i[0] for i in items]
        kinds = {type(k) for k in keys}
        if not (kinds == {str} or kinds == {int}) or len(set(keys)) != len(keys):
            return self.unresolved(node)  # ties, or keys of mixed types, would compare the tasks
        self.charge_text(node, *keys)
        order = sorted(range(len(items)), key=lambda n: keys[n], reverse=kwargs.get("reverse", False))
        return [items[n] for n in order]

    def check_builtin(self, node: cst.Call, name: str, args: list[Any], kwargs: dict[str, Any]) -> bool:
        """Raise when a builtin would build or walk too much; False when it is not one to compute."""
        if name in ("range", "len", "bool", "float", "abs", "int"):
            return True
        if name == "str":
            if args:
                self.over_size(self.text_size(args[0], node, as_repr=False), node, "the text of a value")
            return True
        if name == "round":
            digits = args[1] if len(args) > 1 else kwargs.get("ndigits")
            if isinstance(args[0] if args else None, int) and isinstance(digits, int) and digits < 0:
                self.over_bits(-digits * math.log2(10), node)  # int.__round__ computes 10 ** -ndigits
            return True
        if name == "sum":  # of numbers only: summing lists copies them over and over
            start = args[1] if len(args) > 1 else kwargs.get("start", 0)
            items = args[0] if args else ()
            if not (
                isinstance(start, (int, float))
                and isinstance(items, (list, tuple, set, range))
                and (isinstance(items, range) or all(isinstance(i, (int, float)) for i in items))
            ):
                return False
        for arg in [*args, *kwargs.values()]:  # what the builtin iterates over
            if isinstance(arg, (range, str, list, tuple, set, dict)):
                self.over_items(self.length(arg, node), node, "an iterable")
        return True

    def method(
        self, node: cst.Call, receiver: Any, name: str, args: list[Any], kwargs: dict[str, Any]
    ) -> Any:
        allowed = _SAFE_METHODS.get(type(receiver), frozenset())
        mutating = isinstance(receiver, (list, dict, set))  # append(task) etc. must work on tasks too
        if name not in allowed or not (
            mutating
            or (self.is_data(receiver, node) and self.is_data(args, node) and self.is_data(kwargs, node))
        ):
            return self.unresolved(node)
        if isinstance(receiver, str):
            if not self.check_string_method(node, receiver, name, args, kwargs):
                return self.unresolved(node)
            self.charge_text(node, receiver, *args)
        else:
            self.check_container_method(node, receiver, name, args)
        try:
            result = getattr(receiver, name)(*args, **kwargs)
        except (TypeError, ValueError, LookupError, IndexError):
            return self.unresolved(node)
        if isinstance(result, str):  # upper() and the like: at most a few times longer than the receiver
            self.over_size(len(result), node, "a string")
        # dict views are listed so that `for k, v in d.items()` iterates literal pairs
        return list(result) if name in {"items", "keys", "values"} else result

    def check_string_method(
        self, node: cst.Call, text: str, name: str, args: list[Any], kwargs: dict[str, Any]
    ) -> bool:
        """Raise when a string method would build too much; False when its arguments are not ones
        to compute with (str.format fields that read attributes)."""
        if name == "zfill" and args and isinstance(args[0], int):
            self.over_size(args[0], node, "a zero-filled string")
        elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
            old, new = args[0], args[1]
            count = args[2] if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0 else None
            found = len(text) + 1 if old == "" else text.count(old)
            found = found if count is None else min(found, count)
            self.over_size(len(text) + found * max(len(new) - len(old), 0), node, "a replaced string")
        elif name == "join" and len(args) == 1 and isinstance(args[0], (list, tuple, set, dict, str)):
            items = args[0]
            self.over_items(len(items), node)
            size = sum(len(i) for i in items if isinstance(i, str)) + len(text) * max(len(items) - 1, 0)
            self.over_size(size, node, "a joined string")
        elif name in ("split", "rsplit"):
            self.over_items(
                len(text) // 2 + 1
                if not args or args[0] is None
                else (text.count(args[0]) + 1 if isinstance(args[0], str) and args[0] else 1),
                node,
            )
        elif name == "format":
            return self.check_format(node, text, args, kwargs)
        return True

    def check_format(self, node: cst.Call, template: str, args: list[Any], kwargs: dict[str, Any]) -> bool:
        """str.format: every field may format the widest argument at the widest width."""
        try:
            fields = [f for f in string.Formatter().parse(template) if f[1] is not None]
        except ValueError:
            return False
        if any("." in name for _, name, _, _ in fields if name):
            return False  # `{0.attr}` reads attributes: not computed with
        values = [*args, *kwargs.values()]
        widest = max((self.spec_width(spec or "") for _, _, spec, _ in fields), default=0)
        if any("{" in (spec or "") for _, _, spec, _ in fields):  # `{:{}}`: widths taken from the arguments
            widest = max([widest, *(abs(v) for v in values if isinstance(v, int))])
        as_repr = any(conversion in ("r", "a") for _, _, _, conversion in fields)
        largest = max((self.text_size(v, node, as_repr=as_repr) for v in values), default=0)
        self.over_size(len(template) + len(fields) * (largest + widest + 32), node, "a formatted string")
        return True

    def check_container_method(self, node: cst.Call, receiver: Any, name: str, args: list[Any]) -> None:
        """Raise when a list, dict or set method would grow it or walk too much."""
        if (
            name in ("extend", "update", "union")
            and args
            and isinstance(args[0], (list, tuple, range, str, set, dict))
        ):
            self.over_items(len(receiver) + self.length(args[0], node), node)
        elif name in ("append", "insert", "add", "setdefault"):
            self.over_items(len(receiver) + 1, node)
        if name in _DEEP_METHODS:  # they hash or compare the arguments, and the receiver's items
            self.walk(args, node)
            if name in ("remove", "index", "count"):
                self.walk(receiver, node)

    def arguments(self, node: cst.Call, scope: Scope) -> tuple[list[Any] | None, dict[str, Any] | None]:
        """Positional and keyword arguments; None for a side that has an unresolvable * or ** spread."""
        args: list[Any] | None = []
        kwargs: dict[str, Any] | None = {}
        for arg in node.args:
            value = self.eval(arg.value, scope)
            if arg.star == "*":
                if args is not None and isinstance(value, (list, tuple, range)):
                    self.over_items(len(args) + self.length(value, arg), arg, "the arguments")
                    args.extend(value)
                else:
                    args = None
            elif arg.star == "**":
                if kwargs is not None and isinstance(value, dict) and all(isinstance(k, str) for k in value):
                    kwargs.update(value)
                else:
                    kwargs = None
            elif arg.keyword is not None:
                if kwargs is not None:
                    kwargs[arg.keyword.value] = value
            elif args is not None:
                args.append(value)
        return args, kwargs


def _fstring_text(raw: str, prefix: str, quote: str) -> str | None:
    """The literal text between f-string fields, its escapes decoded as the string's prefix says."""
    text = raw.replace("{{", "{").replace("}}", "}")
    if "\\" not in text:
        return text
    try:
        with warnings.catch_warnings():  # an invalid escape is only a warning in Python, kept as is
            warnings.simplefilter("ignore")
            value = ast.literal_eval(f"{prefix}{quote}{text}{quote}")
    except (SyntaxError, ValueError):
        return None
    return value if isinstance(value, str) else None


def make_duration(args: list[Any], kwargs: dict[str, Any]) -> Duration | None:
    """`timedelta(...)` / `pendulum.duration(...)` of literal numbers, exact in seconds."""
    if not _scalars(args, kwargs):
        return None
    names = [
        "days",
        "seconds",
        "microseconds",
        "milliseconds",
        "minutes",
        "hours",
        "weeks",
    ]  # timedelta's order
    units = dict(zip(names, args, strict=False))
    units.update(kwargs)
    try:
        seconds = dt.timedelta(**units).total_seconds()  # pendulum's years/months are not fixed: rejected
    except (TypeError, OverflowError, ValueError):
        return None
    return Duration(int(seconds) if float(seconds).is_integer() else seconds)


def make_datetime(kind: str, args: list[Any], kwargs: dict[str, Any]) -> str | None:
    """A literal `datetime(...)` / `pendulum.datetime(...)` as its ISO text."""
    if not _scalars(args, kwargs):
        return None
    kwargs = dict(kwargs)
    zone = kwargs.pop("tz", None) if "tz" in kwargs else None
    try:
        if kind == "date":
            return dt.date(*args, **kwargs).isoformat()
        value = dt.datetime(*args, **kwargs)
        if zone is not None:
            if not isinstance(zone, str):
                return None
            from zoneinfo import ZoneInfo

            value = value.replace(tzinfo=ZoneInfo(zone))
        elif kind == "pendulum":
            value = value.replace(tzinfo=dt.UTC)  # pendulum.datetime defaults to UTC
        return value.isoformat()
    except (TypeError, ValueError, OverflowError, KeyError, LookupError):
        return None


def _scalars(args: list[Any], kwargs: dict[str, Any]) -> bool:
    """Arguments that are all numbers or strings (what date and time constructors take)."""
    return all(isinstance(v, (int, float, str)) for v in [*args, *kwargs.values()])
