"""DAG `params` -> typed pipeline parameters with their defaults.

A plain value gives its own type; `Param(default, type=..., description=...)` (kept as source text
by the static reader) is read for its default, JSON-schema type and description. A param whose
default cannot be known becomes a `str` parameter with an empty default, and is reported.
"""

from __future__ import annotations

import ast
from functools import cache
from typing import Any

from airflow2kfp.diagnostics import Diagnostic, diag
from airflow2kfp.mapping.base import PipelineParameter
from airflow2kfp.model import Dag, Unresolved
from airflow2kfp.names import UniqueNames, ascii_identifier

JSON_SCHEMA_TYPES = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "object": "dict",
    "array": "list",
}
RESERVED = frozenset({"ds", "ds_nodash", "ts", "ts_nodash", "ts_nodash_with_tz", "logical_date"})


def parameter_name(key: str) -> str:
    """A DAG param's wanted name in the pipeline function; never one of the run-time macro
    parameters, and in ASCII, as KFP requires. Two keys can want the same name (`ﬁ` and `fi` are
    one identifier to Python, `A` and `a` one lowercase name): `dag_parameters` makes them unique."""
    name = ascii_identifier(str(key))  # KFP allows only ASCII in pipeline parameter names
    return f"param_{name}" if name in RESERVED else name


def parameter_names(dag: Dag) -> dict[str, str]:
    """Each DAG param's key -> its unique pipeline parameter name, in the params' order."""
    params = dag.settings.get("params")
    if not isinstance(params, dict):
        return {}
    names = UniqueNames(reserved=RESERVED)
    return {str(key): names.claim(parameter_name(key), sep="_") for key in params}


def annotation_of(value: Any) -> str | None:
    for kind in (bool, int, float, str, dict, list):  # bool first: it is an int too
        if isinstance(value, kind):
            return kind.__name__
    if isinstance(value, tuple):
        return "list"
    return None


def dag_parameters(dag: Dag) -> tuple[PipelineParameter, ...]:
    return _parameters(dag)[0]


def dag_parameter_diagnostics(dag: Dag) -> tuple[Diagnostic, ...]:
    return _parameters(dag)[1]


def _parameters(dag: Dag) -> tuple[tuple[PipelineParameter, ...], tuple[Diagnostic, ...]]:
    params = dag.settings.get("params")
    if not isinstance(params, dict):
        return (), ()
    found: list[PipelineParameter] = []
    problems: list[Diagnostic] = []
    names = parameter_names(dag)
    for key, value in params.items():
        default, annotation, description = _read_param(value)
        if annotation is None:
            problems.append(
                diag(
                    "A2K204",
                    f"DAG param {key!r}: its default could not be read statically; "
                    "it becomes a string parameter without a default value",
                    file=dag.span.file,
                    line=dag.span.line,
                    dag_id=dag.dag_id,
                )
            )
            default, annotation = "", "str"
        found.append(
            PipelineParameter(
                names[str(key)],
                annotation,
                default,
                description or f"Airflow DAG param {key!r}",
                key=str(key),
            )
        )
    return tuple(found), tuple(problems)


def _read_param(value: Any) -> tuple[Any, str | None, str]:
    if isinstance(value, Unresolved):
        return _read_param_call(value.source)
    if isinstance(value, tuple):
        value = list(value)
    return value, annotation_of(value), ""


@cache
def _read_param_call(source: str) -> tuple[Any, str | None, str]:
    """`Param(5, type="integer", description="...")` as written in the DAG file."""
    try:
        call = ast.parse(source.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None, None, ""
    if not isinstance(call, ast.Call) or _callee(call.func) != "Param":
        return None, None, ""
    default: Any = None
    known = False
    schema_type = description = None
    arguments = [("default" if position == 0 else None, arg) for position, arg in enumerate(call.args)]
    arguments += [(keyword.arg, keyword.value) for keyword in call.keywords if keyword.arg is not None]
    for keyword, node in arguments:
        literal = _literal(node)
        if literal is _UNKNOWN:
            continue
        if keyword == "default":
            default, known = literal, True
        elif keyword == "type":
            schema_type = (
                literal
                if isinstance(literal, str)
                else next((t for t in literal if t != "null"), None)
                if isinstance(literal, list)
                else None
            )
        elif keyword == "description":
            description = str(literal)
    annotation = JSON_SCHEMA_TYPES.get(schema_type) if isinstance(schema_type, str) else None
    if not known:
        return None, None, description or ""
    return default, annotation or annotation_of(default) or "str", description or ""


_UNKNOWN = object()


def _callee(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _UNKNOWN
