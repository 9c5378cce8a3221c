"""A task's python_callable, as the static reader found it, made a model `PythonCallable`.

Done once the whole file has been read: a callable reads the names around it when it runs, so a
closure's cells, the locals of a `@dag` function and the module's globals have their last values
(a lambda made in a loop over tables sees the last table, in Airflow too).

- a `def` (plain or `@task`): its source, and `cells` for the names it reads from an enclosing
  function or from module-level code that is not a plain top-level statement (inside `with DAG`),
  when their values are plain data;
- a lambda: its expression, with cells likewise;
- `functools.partial(f, ...)`: `f`, with the bound arguments as model values;
- `obj.method` / `Class.method` / an object with `__call__`: the method's `def` and the object, as
  the source text that builds it (`Normaliser(0, 200)`), with cells for the names that text reads.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable
from typing import Any

from airflow2kfp.model import BoundObject, PythonCallable
from airflow2kfp.parse.evaluate import is_data
from airflow2kfp.parse.values import (
    BoundMethodValue,
    Function,
    InstanceValue,
    LambdaValue,
    LocalClass,
    PartialValue,
    Ref,
    Scope,
)
from airflow2kfp.python_names import names_read

ModelValue = Callable[[Any], Any]


def to_callable(value: Any, module_source: str, model_value: ModelValue) -> PythonCallable | None:
    if isinstance(value, PythonCallable):  # an imported name: the step imports it
        return value
    if isinstance(value, Function):
        return PythonCallable(
            value.name,
            value.source,
            value.span,
            module_source=value.module_source or module_source,  # a helper module's own text
            cells=_cells(value.source, value.scope, model_value, value.defaults),
        )
    if isinstance(value, LambdaValue):
        return PythonCallable(
            "<lambda>",
            value.source,
            value.span,
            module_source=value.module_source or module_source,
            cells=_cells(value.source, value.scope, model_value, value.defaults),
        )
    if isinstance(value, PartialValue):
        inner = to_callable(value.target, module_source, model_value)
        if inner is None:
            return None
        return dataclasses.replace(
            inner,
            partial_args=tuple(model_value(a) for a in value.args),
            partial_kwargs={str(k): model_value(v) for k, v in value.kwargs.items()},
        )
    if isinstance(value, BoundMethodValue):
        return _bound_method(value, module_source, model_value)
    return None


def _bound_method(
    value: BoundMethodValue, module_source: str, model_value: ModelValue
) -> PythonCallable | None:
    owner = value.owner
    if isinstance(owner, LocalClass):  # `Class.method`: the class itself is the object
        return PythonCallable(
            value.method,
            _method(owner, value.method),
            module_source=owner.module_source or module_source,
            bound_object=BoundObject(owner.name, None, owner.name),
        )
    if not isinstance(owner, InstanceValue):
        return None
    cls = owner.cls
    if isinstance(cls, LocalClass):
        return PythonCallable(
            value.method,
            _method(cls, value.method),
            module_source=cls.module_source or module_source,
            bound_object=BoundObject(cls.name, None, owner.source),
            cells=_cells(owner.source, owner.scope, model_value),
        )
    if isinstance(cls, Ref):  # a class imported from another module: the step imports it too
        return PythonCallable(
            value.method,
            None,
            module_source=module_source,
            bound_object=BoundObject(cls.name, cls.module, owner.source),
            cells=_cells(owner.source, owner.scope, model_value),
        )
    return None


def _method(cls: LocalClass, name: str) -> str | None:
    source = cls.methods.get(name)
    return source() if source is not None else None


def _cells(
    source: str, scope: Scope | None, model_value: ModelValue, defaults: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Plain-data values of the names `source` reads, looked up where it was written (the values
    parameter defaults read as they were when the function was defined)."""
    found: dict[str, Any] = {}
    if scope is None:
        return found
    at_definition = _read_by_defaults_only(source, defaults) if defaults else {}
    for name in sorted(names_read(_as_module(source))):
        present, value = (True, at_definition[name]) if name in at_definition else scope.lookup(name)
        if present and is_data(value):
            found[name] = model_value(value)
    return found


def _read_by_defaults_only(source: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """The names of `defaults` the body does not read (a parameter of that name shadows the global)."""
    try:
        tree = ast.parse(_as_module(source))
    except (SyntaxError, ValueError):
        return {}
    function = next(
        (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))),
        None,
    )
    if function is None:
        return {}
    arguments = function.args
    parameters = {
        a.arg
        for a in (
            *arguments.posonlyargs,
            *arguments.args,
            *arguments.kwonlyargs,
            arguments.vararg,
            arguments.kwarg,
        )
        if a is not None
    }
    body = function.body if isinstance(function.body, list) else [function.body]
    in_body = {n.id for part in body for n in ast.walk(part) if isinstance(n, ast.Name)} - parameters
    return {name: value for name, value in defaults.items() if name not in in_body}


def _as_module(source: str) -> str:
    """Source that compiles on its own: an expression (a lambda, a constructor call) is assigned."""
    import textwrap

    text = textwrap.dedent(source)
    if text.lstrip().startswith(("def ", "async def ", "@", "class ")):
        return text
    return f"_ = (\n{text}\n)"
