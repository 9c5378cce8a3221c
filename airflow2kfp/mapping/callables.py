"""A task's Python callable as code a step runs, whatever kind of callable the task was given.

KFP v1 copies one function's source into the step, so the step must define the callable itself,
with everything it uses. `prepare` returns the lines that do that and how to call the result:

- a `def` or `@task`: the function (decorators removed), after the module-level imports, constants
  and helpers it reads (`callable_source.py`), and the values of the names it reads from an
  enclosing function (a factory's closure, a `@dag` function's locals), as the reader found them;
- a lambda: `python_callable = lambda ...`, with the same;
- `functools.partial(f, *args, **kwargs)`: `f`; the bound arguments go before the task's own in the
  call (`prepared.partial_args` / `partial_kwargs`), which is what calling the partial does;
- a bound method: the object, rebuilt as the DAG file built it (`Normaliser(0, 200)`, with the
  class carried from the module) or from the attributes the Airflow import recorded, then its method;
- a callable imported from another module: imported by name (its image must provide it).

Used by every family that runs user Python: PythonOperator and TaskFlow, branch and short-circuit
deciders, PythonSensor.
"""

from __future__ import annotations

import ast
import math
import pprint
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow2kfp.mapping.callable_source import Parameter, carried, standalone
from airflow2kfp.model import BoundObject, PythonCallable

LAMBDA_NAME = "python_callable"  # what a lambda (or a callable object) is bound to in the step


@dataclass(frozen=True)
class StepCallable:
    """The task's callable in a step: the code that defines it and how to call it."""

    call_name: str  # what the step calls
    prelude: tuple[str, ...]  # module-level statements it needs (imports, constants, helpers), file order
    definition: tuple[str, ...]  # lines defining `call_name`: captured values, the function, the object
    names: frozenset[str]  # names the prelude and definition bind: the step's own names must differ
    parameters: tuple[Parameter, ...] | None  # None: not known (imported): every argument is passed
    string_literals: frozenset[str] = frozenset()  # string constants in its body (context keys read)
    partial_args: tuple[Any, ...] = ()
    partial_kwargs: Mapping[str, Any] = field(default_factory=dict)
    missing: tuple[str, ...] = ()  # names it reads that nothing defines in the step
    airflow_names: tuple[str, ...] = ()  # Airflow imports it needs
    imported_from: str | None = None  # the module it is imported from, when its source is elsewhere

    @property
    def accepts_var_keyword(self) -> bool:
        return self.parameters is None or any(p.kind == "var_keyword" for p in self.parameters)


def prepare(callable_: PythonCallable) -> StepCallable | str:
    """The step's code for `callable_`, or why there is none."""
    bound = callable_.bound_object
    if bound is not None:
        prepared = _bound_method(callable_, bound)
    elif callable_.source is None:
        if not callable_.module:
            return f"the source of python_callable {callable_.name} is not known"
        prepared = StepCallable(
            callable_.name,
            (f"from {callable_.module} import {callable_.name}",),
            (),
            frozenset({callable_.name}),
            None,
            imported_from=callable_.module,
        )
    else:
        prepared = _function(callable_)
    if isinstance(prepared, str):
        return prepared
    if callable_.partial_args or callable_.partial_kwargs:
        shown = ", ".join(
            [
                callable_.name,
                *map(_shown, callable_.partial_args),
                *(f"{k}={_shown(v)}" for k, v in callable_.partial_kwargs.items()),
            ]
        )
        prepared = StepCallable(
            prepared.call_name,
            prepared.prelude,
            (
                f"# functools.partial({shown}): the call below passes those arguments first",
                *prepared.definition,
            ),
            prepared.names,
            prepared.parameters,
            prepared.string_literals,
            callable_.partial_args,
            dict(callable_.partial_kwargs),
            prepared.missing,
            prepared.airflow_names,
            prepared.imported_from,
        )
    return prepared


def described(callable_: PythonCallable) -> str:
    """The callable in words, for comments: `gross`, `a lambda`, `Exporter.export`, `functools.partial(load)`."""
    name = "a lambda" if callable_.name == "<lambda>" else callable_.name
    if callable_.bound_object is not None:
        name = (
            callable_.bound_object.class_name
            if name == "__call__"
            else f"{callable_.bound_object.class_name}.{name}"
        )
    return f"functools.partial({name})" if callable_.partial_args or callable_.partial_kwargs else name


def _function(callable_: PythonCallable) -> StepCallable | str:
    name = callable_.name if callable_.name.isidentifier() else LAMBDA_NAME
    assert callable_.source is not None
    extracted = standalone(name, callable_.source, callable_.module_source)
    if extracted is None:
        return f"the source of python_callable {callable_.name} could not be read"
    captured, missing = _captured(extracted.missing, callable_.cells)
    return StepCallable(
        call_name=extracted.name,
        prelude=(*extracted.prelude, *captured),
        definition=tuple(extracted.function.rstrip("\n").splitlines()),
        names=extracted.prelude_names | {extracted.name} | set(callable_.cells) & set(extracted.missing),
        parameters=extracted.parameters,
        string_literals=extracted.string_literals,
        missing=missing,
        airflow_names=extracted.airflow_names,
    )


def _bound_method(callable_: PythonCallable, bound: BoundObject) -> StepCallable | str:
    method = callable_.name
    if not method.isidentifier():
        return f"the method {method!r} of {bound.class_name} cannot be called by name"
    building: list[str] = []
    if bound.source is not None:
        obj = bound.source if _is_atom(bound.source) else f"({bound.source})"
    elif bound.state is not None and all(isinstance(k, str) for k in bound.state):
        state = literal_source(dict(bound.state))
        if state is None:
            return f"the attributes of the {bound.class_name} object are not plain data"
        building = [
            f"_object = object.__new__({bound.class_name})  # its attributes, as the Airflow import found them",
            f"_object.__dict__.update({state})",
        ]
        obj = "_object"
    else:
        return f"how the {bound.class_name} object behind {method} is built is not known"
    call_name = LAMBDA_NAME if method == "__call__" else method
    # an object with __call__ is called itself
    code = [*building, f"{call_name} = {obj}" if method == "__call__" else f"{method} = {obj}.{method}"]
    if bound.module:
        found_prelude: tuple[str, ...] = (f"from {bound.module} import {bound.class_name}",)
        prelude_names, airflow, missing = frozenset({bound.class_name}), (), ()
        rest = carried("\n".join(code), None)
        missing = tuple(n for n in rest.missing if n != bound.class_name)
    else:
        found = carried("\n".join(code), callable_.module_source)
        found_prelude, prelude_names, airflow, missing = (
            found.prelude,
            found.prelude_names,
            found.airflow_names,
            found.missing,
        )
    captured, missing = _captured(missing, callable_.cells)
    parameters, literals = _method_parameters(callable_.source, bound)
    return StepCallable(
        call_name=call_name,
        prelude=(*found_prelude, *captured),
        definition=tuple(code),
        names=prelude_names | {call_name, "_object"} | (set(callable_.cells) - set(missing)),
        parameters=parameters,
        string_literals=literals,
        missing=missing,
        airflow_names=airflow,
    )


def _method_parameters(
    source: str | None, bound: BoundObject
) -> tuple[tuple[Parameter, ...] | None, frozenset[str]]:
    """The method's parameters as the bound method takes them: without `self` (or `cls`)."""
    if source is None:
        return None, frozenset()
    extracted = standalone("_method", source, None)
    if extracted is None:
        return None, frozenset()
    decorators = {d.strip() for d in source.splitlines() if d.strip().startswith("@")}
    on_class = bound.source == bound.class_name  # `Class.method`: a plain function, `self` is not bound
    if "@staticmethod" in decorators or (on_class and "@classmethod" not in decorators):
        return extracted.parameters, extracted.string_literals
    return extracted.parameters[1:], extracted.string_literals


def _captured(missing: tuple[str, ...], cells: Mapping[str, Any]) -> tuple[list[str], tuple[str, ...]]:
    """Assignments for the missing names the reader knows values of, and what is still missing."""
    lines: list[str] = []
    still: list[str] = []
    for name in missing:
        literal = literal_source(cells[name]) if name in cells else None
        if literal is None:
            still.append(name)
        else:
            lines.append(f"{name} = {literal}")
    if lines:
        lines.insert(0, "# the values of names it reads from the code around it, as the DAG file left them")
    return ["\n".join(lines)] if lines else [], tuple(still)


def literal_source(value: Any) -> str | None:
    """Python source for plain data (what `repr` gives back exactly), else None."""
    if not _plain(value):
        return None
    return pprint.pformat(value, width=100, sort_dicts=False)


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, (str, int, float, bool)):
        return not isinstance(value, float) or math.isfinite(value)  # repr(nan) is not Python source
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    return False


def _shown(value: Any) -> str:
    return literal_source(value) or "..."


def _is_atom(source: str) -> bool:
    """Whether `source.attr` reads as intended without brackets: a name, a call, an attribute."""
    try:
        expression = ast.parse(source, mode="eval").body
    except SyntaxError:
        return False
    return isinstance(expression, (ast.Name, ast.Call, ast.Attribute, ast.Subscript))
