"""Evaluating expressions to literal values without running them.

Only literal data is ever computed with: numbers, strings, containers, and the operators, f-strings,
`%`/`.format` and whitelisted builtins and methods applied to them. Anything else becomes
`Unresolved(source text)`. Calls, `>>` between tasks and attributes of tasks are the interpreter's
business: it overrides the `call`, `shift` and `attribute` hooks.
"""

from __future__ import annotations

import ast
import datetime as dt
import operator
import warnings
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath
from typing import Any

import libcst as cst

from converter.model import Duration, SourceSpan, Unresolved
from converter.parse.positions import Positions
from converter.parse.values import Builtin, Ref, Scope

MAX_ITEMS = 100_000  # longest string/list/loop the evaluator builds: a guard against `"x" * 10**12`

_BINARY: dict[type[cst.BaseBinaryOp], Callable[[Any, Any], Any]] = {
    cst.Add: operator.add, cst.Subtract: operator.sub, cst.Multiply: operator.mul,
    cst.Divide: operator.truediv, cst.FloorDivide: operator.floordiv, cst.Modulo: operator.mod,
    cst.Power: operator.pow, cst.BitOr: operator.or_, cst.BitAnd: operator.and_,
    cst.BitXor: operator.xor,
}
_COMPARE: dict[type[cst.BaseCompOp], Callable[[Any, Any], Any]] = {
    cst.Equal: operator.eq, cst.NotEqual: operator.ne, cst.LessThan: operator.lt,
    cst.LessThanEqual: operator.le, cst.GreaterThan: operator.gt, cst.GreaterThanEqual: operator.ge,
    cst.In: lambda a, b: a in b, cst.NotIn: lambda a, b: a not in b,
    cst.Is: operator.is_, cst.IsNot: operator.is_not,
}
_BUILTINS: dict[str, Callable[..., Any]] = {
    "range": range, "len": len, "str": str, "int": int, "float": float, "bool": bool,
    "list": list, "tuple": tuple, "dict": dict, "set": set, "sorted": sorted, "reversed": reversed,
    "enumerate": enumerate, "zip": zip, "min": min, "max": max, "sum": sum, "abs": abs,
    "round": round, "any": any, "all": all,
}
# methods of literal data that cannot do anything but compute (or mutate the container itself)
_SAFE_METHODS: dict[type, frozenset[str]] = {
    str: frozenset({
        "format", "join", "upper", "lower", "title", "capitalize", "strip", "lstrip", "rstrip",
        "replace", "split", "rsplit", "startswith", "endswith", "zfill", "removeprefix",
        "removesuffix", "casefold", "swapcase", "isdigit", "isalpha", "count", "find",
    }),
    list: frozenset({"append", "extend", "insert", "pop", "remove", "copy", "index", "count", "reverse"}),
    dict: frozenset({"items", "keys", "values", "get", "copy", "update", "setdefault", "pop"}),
    tuple: frozenset({"index", "count"}),
    set: frozenset({"add", "update", "union", "copy"}),
}
_DATA = (str, int, float, bool, type(None), bytes, Duration, PurePosixPath)
_CONSTANTS = {"True": True, "False": False, "None": None}


def is_data(value: Any) -> bool:
    """True for literal data all the way down, which Python operators may safely combine."""
    if isinstance(value, _DATA):
        return True
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(is_data(v) for v in value)
    if isinstance(value, dict):
        return all(is_data(k) and is_data(v) for k, v in value.items())
    return isinstance(value, range)


def _known_object(left: Any, right: Any) -> bool:
    """One side is None and the other an object the reader built (not a value it could not know)."""
    other = right if left is None else left if right is None else None
    return other is not None and not isinstance(other, Unresolved) and not is_data(other)


def _too_big(op: type[cst.BaseBinaryOp], left: Any, right: Any) -> bool:
    if op is cst.Multiply:
        sizes = [len(v) if isinstance(v, (str, bytes, list, tuple)) else v for v in (left, right)]
        numbers = [s for s in sizes if isinstance(s, int)]
        return len(numbers) == 2 and abs(numbers[0] * numbers[1]) > MAX_ITEMS and not all(
            isinstance(v, (int, float)) for v in (left, right)
        )
    if op is cst.Power:
        return isinstance(right, (int, float)) and abs(right) > 256
    return False


class Evaluator:
    """Literal evaluation of libcst expressions within a scope."""

    def __init__(self, module: cst.Module, positions: Positions, file: str) -> None:
        self.module = module
        self.positions = positions
        self.file = file
        self.statements: list[cst.CSTNode] = []  # those being run, innermost last: where spans are found

    # -- helpers ---------------------------------------------------------------------------
    def source(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node).strip()

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

    def call(self, node: cst.Call, scope: Scope) -> Any:
        return self.call_data(node, scope)

    def shift(self, node: cst.BinaryOperation, left: Any, right: Any) -> Any:
        return self.unresolved(node)

    def attribute(self, node: cst.Attribute, value: Any, scope: Scope) -> Any:
        return self.unresolved(node)

    # -- expressions -----------------------------------------------------------------------
    def eval(self, node: cst.BaseExpression, scope: Scope) -> Any:
        method = getattr(self, f"_eval_{type(node).__name__}", None)
        if method is None:
            return self.unresolved(node)
        return method(node, scope)

    def _eval_Integer(self, node: cst.Integer, scope: Scope) -> Any:
        try:  # what literal_eval (libcst's evaluated_value) gives for every valid literal, without compiling
            return int(node.value, 0)
        except ValueError:
            return node.evaluated_value

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
            return left + right
        return self.unresolved(node)

    def _eval_FormattedString(self, node: cst.FormattedString, scope: Scope) -> Any:
        prefix = node.prefix.lower().replace("f", "")
        quote = node.start[len(node.prefix):]
        pieces: list[str] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                text = _fstring_text(part.value, prefix, quote)
                if text is None:
                    return self.unresolved(node)
                pieces.append(text)
                continue
            if not isinstance(part, cst.FormattedStringExpression) or part.equal is not None:
                return self.unresolved(node)  # `{x=}` self-documenting fields: rare, not rebuilt
            value = self.eval(part.expression, scope)
            spec = self._format_spec(part, scope)
            if not is_data(value) and spec == "" and part.conversion in (None, "s"):
                value = self.text_of(value)  # str() of a value that has a text at reading time
            if not is_data(value) or spec is None:
                return self.unresolved(node)
            if part.conversion == "r":
                value = repr(value)
            elif part.conversion == "s":
                value = str(value)
            elif part.conversion == "a":
                value = ascii(value)
            try:
                pieces.append(format(value, spec))
            except (ValueError, TypeError):
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
        if isinstance(value, (list, tuple, dict, str)) and is_data(index):
            try:
                return value[index]
            except (LookupError, TypeError):
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

    def _elements(self, node: cst.CSTNode, elements: Iterable[cst.BaseElement], scope: Scope, kind: type) -> Any:
        items: list[Any] = []
        for element in elements:
            value = self.eval(element.value, scope)
            if isinstance(element, cst.StarredElement):
                if not isinstance(value, (list, tuple, range, set, dict, str)):
                    return self.unresolved(node)
                items.extend(value)
            else:
                items.append(value)
        try:
            return kind(items)
        except TypeError:  # an unhashable member of a set
            return self.unresolved(node)

    def _eval_Dict(self, node: cst.Dict, scope: Scope) -> Any:
        result: dict[Any, Any] = {}
        for element in node.elements:
            if isinstance(element, cst.StarredDictElement):
                value = self.eval(element.value, scope)
                if not isinstance(value, dict):
                    return self.unresolved(node)
                result.update(value)
                continue
            assert isinstance(element, cst.DictElement)
            key = self.eval(element.key, scope)
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
        if op in (cst.RightShift, cst.LeftShift):
            return left >> right if op is cst.RightShift else left << right
        function = _BINARY.get(op)
        if function is None or not (is_data(left) and is_data(right)) or _too_big(op, left, right):
            return self.unresolved(node)
        try:
            return function(left, right)
        except (ArithmeticError, TypeError, ValueError, KeyError):
            return self.unresolved(node)

    def _eval_UnaryOperation(self, node: cst.UnaryOperation, scope: Scope) -> Any:
        value = self.eval(node.expression, scope)
        if not is_data(value):
            return self.unresolved(node)
        try:
            if isinstance(node.operator, cst.Not):
                return not value
            if isinstance(node.operator, cst.Minus):
                return -value
            if isinstance(node.operator, cst.Plus):
                return +value
            return ~value
        except TypeError:
            return self.unresolved(node)

    def _eval_BooleanOperation(self, node: cst.BooleanOperation, scope: Scope) -> Any:
        left = self.eval(node.left, scope)
        if not is_data(left):
            return self.unresolved(node)
        if isinstance(node.operator, cst.And):
            return self.eval(node.right, scope) if left else left
        return left if left else self.eval(node.right, scope)

    def _eval_Comparison(self, node: cst.Comparison, scope: Scope) -> Any:
        left = self.eval(node.left, scope)
        for target in node.comparisons:
            right = self.eval(target.comparator, scope)
            if isinstance(target.operator, (cst.Is, cst.IsNot)) and _known_object(left, right):
                # `task is not None`: a task, group, DAG or function the reader built is never None
                if (left is right) == isinstance(target.operator, cst.IsNot):
                    return False
                left = right
                continue
            if not (is_data(left) and is_data(right)):
                return self.unresolved(node)
            try:
                if not _COMPARE[type(target.operator)](left, right):
                    return False
            except TypeError:
                return self.unresolved(node)
            left = right
        return True

    def _eval_IfExp(self, node: cst.IfExp, scope: Scope) -> Any:
        test = self.eval(node.test, scope)
        if not is_data(test):
            return self.unresolved(node)
        return self.eval(node.body if test else node.orelse, scope)

    def _eval_Call(self, node: cst.Call, scope: Scope) -> Any:
        return self.call(node, scope)

    def _eval_ListComp(self, node: cst.ListComp, scope: Scope) -> Any:
        items = self._comprehension(node, node.for_in, scope, lambda s: self.eval(node.elt, s))
        return items if isinstance(items, Unresolved) else list(items)

    def _eval_GeneratorExp(self, node: cst.GeneratorExp, scope: Scope) -> Any:
        items = self._comprehension(node, node.for_in, scope, lambda s: self.eval(node.elt, s))
        return items if isinstance(items, Unresolved) else list(items)

    def _eval_SetComp(self, node: cst.SetComp, scope: Scope) -> Any:
        items = self._comprehension(node, node.for_in, scope, lambda s: self.eval(node.elt, s))
        try:
            return items if isinstance(items, Unresolved) else set(items)
        except TypeError:
            return self.unresolved(node)

    def _eval_DictComp(self, node: cst.DictComp, scope: Scope) -> Any:
        pairs = self._comprehension(
            node, node.for_in, scope, lambda s: (self.eval(node.key, s), self.eval(node.value, s))
        )
        try:
            return pairs if isinstance(pairs, Unresolved) else dict(pairs)
        except TypeError:
            return self.unresolved(node)

    def _comprehension(
        self, node: cst.CSTNode, comp: cst.CompFor, scope: Scope, produce: Callable[[Scope], Any]
    ) -> list[Any] | Unresolved:
        iterable = self.iterate(self.eval(comp.iter, scope))
        if iterable is None:
            return self.unresolved(node)
        results: list[Any] = []
        for item in iterable:
            inner = Scope(parent=scope)
            if not self.bind(comp.target, item, inner):
                return self.unresolved(node)
            tests = [self.eval(cond.test, inner) for cond in comp.ifs]
            if any(not is_data(t) for t in tests):
                return self.unresolved(node)
            if not all(tests):
                continue
            if comp.inner_for_in is not None:
                more = self._comprehension(node, comp.inner_for_in, inner, produce)
                if isinstance(more, Unresolved):
                    return more
                results.extend(more)
            else:
                results.append(produce(inner))
        return results

    # -- iteration and binding -------------------------------------------------------------
    def iterate(self, value: Any) -> list[Any] | None:
        """The items a `for` over `value` visits, or None when they cannot be known."""
        if isinstance(value, range) and len(value) > MAX_ITEMS:
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
            return all([self.bind(n, v, scope) for n, v in zip(names, items, strict=True)])
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
        if not (is_data(args) and is_data(kwargs)):
            # enumerate/zip/list over tasks are fine: they only rearrange the values
            if function.name not in {"enumerate", "zip", "list", "tuple", "reversed", "len"}:
                return self.unresolved(node)
        try:
            result = _BUILTINS[function.name](*args, **kwargs)
        except (TypeError, ValueError, ArithmeticError):
            return self.unresolved(node)
        if function.name in {"enumerate", "zip", "reversed"}:
            result = list(result)
            if len(result) > MAX_ITEMS:
                return self.unresolved(node)
        return result

    def method(self, node: cst.Call, receiver: Any, name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        allowed = _SAFE_METHODS.get(type(receiver), frozenset())
        mutating = isinstance(receiver, (list, dict, set))  # append(task) etc. must work on tasks too
        if name not in allowed or not (mutating or (is_data(receiver) and is_data(args) and is_data(kwargs))):
            return self.unresolved(node)
        try:
            result = getattr(receiver, name)(*args, **kwargs)
        except (TypeError, ValueError, LookupError, IndexError):
            return self.unresolved(node)
        if isinstance(result, str) and len(result) > MAX_ITEMS:
            return self.unresolved(node)
        # dict views are listed so that `for k, v in d.items()` iterates literal pairs
        return list(result) if name in {"items", "keys", "values"} else result

    def arguments(self, node: cst.Call, scope: Scope) -> tuple[list[Any] | None, dict[str, Any] | None]:
        """Positional and keyword arguments; None for a side that has an unresolvable * or ** spread."""
        args: list[Any] | None = []
        kwargs: dict[str, Any] | None = {}
        for arg in node.args:
            value = self.eval(arg.value, scope)
            if arg.star == "*":
                if args is not None and isinstance(value, (list, tuple, range)):
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
    if not (is_data(args) and is_data(kwargs)):
        return None
    names = ["days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks"]  # timedelta's order
    units = dict(zip(names, args, strict=False))
    units.update(kwargs)
    try:
        seconds = dt.timedelta(**units).total_seconds()  # pendulum's years/months are not fixed: rejected
    except (TypeError, OverflowError, ValueError):
        return None
    return Duration(int(seconds) if float(seconds).is_integer() else seconds)


def make_datetime(kind: str, args: list[Any], kwargs: dict[str, Any]) -> str | None:
    """A literal `datetime(...)` / `pendulum.datetime(...)` as its ISO text."""
    if not (is_data(args) and is_data(kwargs)):
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
