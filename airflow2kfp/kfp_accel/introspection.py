"""Introspection kfp repeats for the same functions: signatures, type hints, docstrings, remembered.

kfp.components.modelbase asks `inspect.signature(obj.__init__)` for every object it serialises and
`get_type_hints(cls.__init__)` for every one it builds (~35k calls on 100 DAGs). Both answers depend
only on the function (a bound method's signature drops its first parameter, whatever the instance),
and kfp defines its classes once, so modelbase sees memoised versions (each caller still gets a
dict of its own).
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any

_SIGNATURES: dict[Any, inspect.Signature] = {}  # function -> its bound methods' signature
_TYPE_HINTS: dict[Any, dict[str, Any]] = {}  # function -> typing.get_type_hints(function)


def signature(obj: Any) -> inspect.Signature:
    """inspect.signature, memoised for bound methods of plain functions (what modelbase asks for)."""
    if type(obj) is not types.MethodType or type(obj.__func__) is not types.FunctionType:
        return inspect.signature(obj)
    # a bound method's signature is its function's without the first parameter, whatever it is bound to
    function = obj.__func__
    found = _SIGNATURES.get(function)
    if found is None:
        found = _SIGNATURES[function] = inspect.signature(obj)
    return found


def get_type_hints(obj: Any) -> dict[str, Any]:
    """typing.get_type_hints for a plain function, memoised (modelbase asks with a class's __init__)."""
    if type(obj) is not types.FunctionType:
        return typing.get_type_hints(obj)
    found = _TYPE_HINTS.get(obj)
    if found is None:
        found = _TYPE_HINTS[obj] = typing.get_type_hints(obj)
    return dict(found)  # a dict of its own, as typing gives


class ModuleProxy:
    """A module as one kfp module sees it: the class's own attributes, the module's for the rest."""

    def __init__(self, module: types.ModuleType) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


class MemoInspect(ModuleProxy):
    """The `inspect` module as kfp.components.modelbase sees it: `signature` memoised."""

    signature = staticmethod(signature)


def parse_docstring(text: str | None, style: Any = None) -> Any:
    """docstring_parser.parse(text, style), the reST parser's result at once for a docstring none of
    its parsers finds an entry in.

    kfp.components._python_op reads each Python component's parameter descriptions with
    `docstring_parser.parse(text)`, which runs all four of its parsers (each compiling its patterns
    anew) and keeps the result with the most entries, the first on a tie. A docstring of one line
    (after `inspect.cleandoc`) that starts with none of `:`, `@`, `.` and does not end with `:` has no
    entry in any of them (reST's and epydoc's start a line with `:`/`@`, numpydoc's need a second line
    or `..`, Google's a line ending with `:`), and none raises: the result is the reST parser's.
    """
    import docstring_parser
    from docstring_parser import rest

    if style is None:
        style = docstring_parser.DocstringStyle.AUTO
    if style == docstring_parser.DocstringStyle.AUTO and (not text or _no_docstring_entries(text)):
        return rest.parse(text)
    return docstring_parser.parse(text, style)


def _no_docstring_entries(text: str) -> bool:
    cleaned = inspect.cleandoc(text)
    return (
        "\n" not in cleaned
        and not cleaned.startswith((":", "@", "."))
        and not cleaned.rstrip(" \t\r\f\v").endswith(":")
    )


class FastDocstringParser(ModuleProxy):
    """The docstring_parser module as kfp.components._python_op sees it: `parse` above."""

    parse = staticmethod(parse_docstring)
