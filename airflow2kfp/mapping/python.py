"""PythonOperator and TaskFlow `@task` -> KFP v1 lightweight Python components.

Each task becomes a module-level function in the generated file, turned into a component with
`components.create_component_from_func`. KFP copies only that function's source into the step, so
the function carries, in its body, the module-level imports, constants and helpers the callable
uses (`callable_source.py`), then the original callable as written (decorators removed), then the
call Airflow would make:

- `op_args` / `op_kwargs` (TaskFlow call arguments) are inputs, typed by their values.
- Upstream results (`b(a())`, `.output`, `XComArg`, `r["key"]`, `ti.xcom_pull(...)` with literal task
  ids and keys, in the callable or in a template) are wired as KFP outputs into inputs (`xcom.py`):
  that carries the data and the ordering. What the callable returns and pushes (`xcom_push` with a
  literal key, `multiple_outputs`) are its outputs, JSON-encoded.
- The run context (`ds`, `logical_date`, `params`, `dag_run.conf`, `ti`, `**context`,
  `get_current_context()`) is served by the context shim (`run_context.py`, `step_context.py`)
  from pipeline parameters and the wired upstream values; templated `op_args`, `op_kwargs` and
  `templates_dict` that need more than pipeline parameters are rendered in the step with jinja2.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import libcst as cst

from airflow2kfp.diagnostics import Diagnostic, diag
from airflow2kfp.mapping import xcom
from airflow2kfp.mapping.base import (
    ComponentDef,
    Fidelity,
    Interpolated,
    MappingContext,
    OperatorFamily,
    ParamRef,
    PipelineParameter,
    RunIdRef,
    TaskMapping,
    is_airflow_module,
    task_location,
)
from airflow2kfp.mapping.callables import StepCallable, described, prepare
from airflow2kfp.mapping.control_flow import LoopValue
from airflow2kfp.mapping.dag_params import annotation_of
from airflow2kfp.mapping.fan_in import Collected, decoding
from airflow2kfp.mapping.mapped_call import mapped_call, mapped_items
from airflow2kfp.mapping.placeholder import placeholder
from airflow2kfp.mapping.run_context import SHIM_NAMES, shim_lines
from airflow2kfp.mapping.step_context import (
    CONNECTION_NAMES,
    NOT_SERVED,
    SERVED,
    StepContext,
    context_keys,
    name_lines,
    served_import,
)
from airflow2kfp.mapping.templates import has_template, time_macro_note, translate
from airflow2kfp.model import DERIVED_XCOMS, Dag, Duration, Task, Unresolved, XComRef, derived_inputs
from airflow2kfp.names import python_identifier

PYTHON_OPERATORS = frozenset({"PythonOperator", "task", "task.python", "asset"})
VIRTUALENV_OPERATORS = frozenset({"PythonVirtualenvOperator", "task.virtualenv"})
EXTERNAL_OPERATORS = frozenset({"ExternalPythonOperator", "task.external_python"})
IMAGE_DECORATORS = frozenset({"task.docker", "task.kubernetes"})  # the callable runs in `image`
BASH_DECORATOR = "task.bash"  # the callable returns a command that bash runs
OPERATORS = PYTHON_OPERATORS | VIRTUALENV_OPERATORS | EXTERNAL_OPERATORS | IMAGE_DECORATORS | {BASH_DECORATOR}

# import name -> pip package, where they differ
PIP_NAMES = {
    "yaml": "PyYAML",
    "sklearn": "scikit-learn",
    "PIL": "Pillow",
    "cv2": "opencv-python-headless",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "google": "google-cloud-storage",
    "psycopg2": "psycopg2-binary",
    "jwt": "PyJWT",
    "dotenv": "python-dotenv",
}
JINJA_PACKAGE = "jinja2"  # templates rendered in the step, as Airflow renders them
APPROXIMATING = frozenset(
    {
        "A2K302",
        "A2K306",
        "A2K310",
        "A2K311",
        "A2K312",
        "A2K320",
        "A2K331",
        "A2K332",
        "A2K333",
        "A2K336",
        "A2K334",
        "A2K335",
        "A2K337",
    }
)


@dataclass(frozen=True)
class PythonStep:
    """What `python_component` builds: the component and how a task calls it."""

    component: ComponentDef
    arguments: dict[str, Any]
    parameters: tuple[PipelineParameter, ...]
    diagnostics: tuple[Diagnostic, ...]
    notes: tuple[str, ...]
    approximated: bool
    cannot_run: Diagnostic | None = None  # why the step is known to fail when run


@dataclass(frozen=True)
class Rendered:
    """A templated value Airflow renders when the task runs: the step renders it (`_render`)."""

    text: str


@dataclass(frozen=True)
class Decision:
    """What a deciding step (branch, short-circuit) returns instead of the callable's result.

    `returns` is the function's return annotation, `finish` the statements that return the outputs
    from `_result`; `runs_as` is the Python operator whose environment the decider has."""

    returns: str
    finish: tuple[str, ...]
    runs_as: str


@dataclass
class _Inputs:
    """The wrapper's signature as it is built: inputs, the statements that decode them, the call."""

    reserved: set[str]
    signature: list[str] = field(default_factory=list)
    arguments: dict[str, Any] = field(default_factory=dict)
    decode: list[str] = field(default_factory=list)
    call: list[str] = field(default_factory=list)

    def add(self, wanted: str, annotation: str, value: Any, encoding: str = xcom.JSON) -> str:
        if isinstance(value, XComRef):  # one input per upstream output, however often it is used
            known = next((n for n, v in self.arguments.items() if v == value), None)
            if known is not None:
                return known
        # KFP names the component's inputs from the parameters with runs of `_` as one (`a__b` is
        # `a_b` there), so an input named otherwise could not be passed by its name
        name = re.sub("_+", "_", python_identifier(wanted))
        while name in self.reserved or f"{name}_path" in self.reserved:
            name = f"{name}_input"
        self.reserved |= {name, f"{name}_path"}
        self.arguments[name] = value
        if isinstance(value, Collected):  # a mapped task's results: Argo's JSON list, as text
            self.signature.append(f"{name}: str")
            self.decode += decoding(name, value.depth, text=encoding != xcom.JSON)
        elif isinstance(value, XComRef):
            # an upstream result arrives as a file (KFP strips `_path` from the input's name): it
            # has no size limit, and kfp's local runner passes files, not upstream values
            self.signature.append(f"{name}_path: InputPath()")
            read = f"{name} = _json.load(_file)" if encoding == xcom.JSON else f"{name} = _file.read()"
            self.decode += [f"with open({name}_path) as _file:", f"    {read}"]
        elif isinstance(value, LoopValue):
            # a ParallelFor item arrives as text: Argo renders JSON objects as JSON and scalars bare
            self.signature.append(f"{name}: str")
            self.decode += [
                "try:",
                f"    {name} = _json.loads({name})",
                "except ValueError:",
                "    pass  # a bare string item",
            ]
        else:
            self.signature.append(f"{name}: {annotation}")
        return name


# the last DAG asked about, its task id -> XCom keys read, and task id -> keys read as text
_CONSUMED: list[Any] = [None, {}, {}]


def consumed_outputs(dag: Dag, task_id: str) -> tuple[str, ...]:
    """The XCom keys of `task_id` other tasks read, in a stable order (return_value first): XComArgs
    passed as arguments, and pulls with literal task ids and keys in templates and callables."""
    return _consumed(dag, 1, task_id)


def consumed_texts(dag: Dag, task_id: str) -> tuple[str, ...]:
    """The XCom keys of `task_id` other steps read as the text Jinja renders (`xcom.text_pulls`)."""
    return _consumed(dag, 2, task_id)


def _consumed(dag: Dag, which: int, task_id: str) -> tuple[str, ...]:
    if _CONSUMED[0] is not dag:  # one pass over the DAG's arguments, not one per Python task
        keys: dict[str, set[str]] = {}
        texts: dict[str, set[str]] = {}
        for other in dag.tasks:
            for ref in _refs([other.args.values, other.mapped_args]):
                keys.setdefault(ref.task_id, set()).add(ref.key)
            for pull in xcom.pulls_of(other):
                if pull.known and pull.task_ids is not None and pull.key is not None:
                    for up in pull.task_ids:
                        keys.setdefault(up, set()).add(pull.key)
            for up, key in xcom.text_pulls_of(other):
                texts.setdefault(up, set()).add(key)
        for ref in _refs(dict(dag.mapped_groups)):  # what mapped task groups loop over
            keys.setdefault(ref.task_id, set()).add(ref.key)
        _CONSUMED[:] = [dag, keys, texts]
    return tuple(sorted(_CONSUMED[which].get(task_id, set()), key=lambda k: (k != "return_value", k)))


def produces_outputs(task: Task) -> bool:
    return task.operator in OPERATORS - {BASH_DECORATOR} and is_airflow_module(task.operator_module)


def _refs(value: Any) -> Iterator[XComRef]:
    if isinstance(value, XComRef):
        yield value
    elif isinstance(value, DERIVED_XCOMS):  # a zip/map/concat's items step reads each XCom
        yield from derived_inputs(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _refs(item)


def python_component(
    task: Task,
    context: MappingContext,
    outputs: tuple[str, ...] | None = None,
    decision: Decision | None = None,
) -> PythonStep | Diagnostic:
    """A lightweight component running `task`'s callable, or the diagnostic saying why there is none.

    `outputs` are the XCom keys to expose (default: those other tasks of the DAG read, and those the
    callable pushes with a literal key); a `decision` returns a branch's or short-circuit's outputs
    instead.
    """
    where = task_location(task)
    callable_ = task.python_callable
    if callable_ is None:
        return diag("A2K306", "the task's python_callable could not be found statically", **where)
    dag = context.dag
    found: list[Diagnostic] = []
    parameters: dict[str, PipelineParameter] = {}
    ident = step_identifier(task)
    step_name = f"{ident}_step"
    step = StepContext(task, dag)
    serves_current_context = False
    read_keys: frozenset[str] = frozenset()

    prepared = prepare(callable_)  # mapping/callables.py: functions, lambdas, partials, bound methods
    if isinstance(prepared, str):
        return diag("A2K306", prepared, **where)
    found += _callable_findings(prepared, callable_.name, where)
    # what the shim serves is not imported from Airflow (get_current_context, Variable)
    served = {name for name in map(served_import, prepared.prelude) if name}
    body_prelude = [statement for statement in prepared.prelude if served_import(statement) is None]
    function_text, call_name = "\n".join(prepared.definition), prepared.call_name
    parameters_known = prepared if prepared.parameters is not None else None
    serves_current_context = "get_current_context" in served
    line_of = _line_mapper(callable_.source or "", function_text, task)
    _airflow_uses(prepared.airflow_names, served, function_text, line_of, step, found, where)
    reads_context = prepared.accepts_var_keyword or serves_current_context
    read_keys = context_keys(function_text, prepared.string_literals) if reads_context else frozenset()
    step.code(function_text, line_of, read_keys)
    for statement in body_prelude:
        step.code(statement, lambda _line: None, ())

    reserved = (
        {step_name, call_name, "_json", "_result", "_dt", "_file", "_when", "_xcom", "get_current_context"}
        | SHIM_NAMES
        | set(prepared.names)
    )
    inputs = _Inputs(reserved)
    op_args_value = _templated(task.args.get("op_args"), "op_args", step, parameters)
    op_kwargs_value = _templated(task.args.get("op_kwargs"), "op_kwargs", step, parameters)
    # functools.partial's arguments come first, as calling the partial passes them
    op_args = [*prepared.partial_args, *(op_args_value if isinstance(op_args_value, (list, tuple)) else [])]
    op_kwargs = {**prepared.partial_kwargs, **(op_kwargs_value if isinstance(op_kwargs_value, dict) else {})}
    for key in ("op_args", "op_kwargs"):
        if isinstance(task.args.get(key), Unresolved):
            found.append(
                diag("A2K306", f"{key} could not be read statically: {task.args.get(key).source}", **where)
            )
    # .expand() / .expand_kwargs(): inside its ParallelFor each mapped argument is the loop item
    # (mapped_call.py); without a loop the step receives the whole list
    mapped = mapped_call(task)
    op_kwargs.update(mapped.keywords)
    if not mapped.in_loop:
        op_kwargs.update({k: v for k, v in task.mapped_args.items() if isinstance(k, str) and k != "*"})
        found.append(
            diag(
                "A2K311",
                "a mapped task (.expand) is emitted as one step receiving the whole "
                f"list of {', '.join(map(str, task.mapped_args))}, not one step per item",
                **where,
            )
        )
    if mapped.not_passed:
        found.append(
            diag(
                "A2K311",
                f"mapped operator arguments {', '.join(mapped.not_passed)} are not passed to the step",
                **where,
            )
        )
    signature = parameters_known.parameters if parameters_known and parameters_known.parameters else ()
    positional = [p.name for p in signature if p.kind == "positional"]
    for index, value in enumerate(op_args):
        wanted = positional[index] if index < len(positional) else f"arg{index}"
        inputs.call.append(_pass(inputs, wanted, value, task, dag, found, keyword=None))
    supplied = set(positional[: len(op_args)]) | set(op_kwargs)
    unpacked = mapped_items(mapped, inputs)
    if unpacked.positional:  # the item's arguments fill positional parameters the context must not
        supplied |= set(positional)
    inputs.call += unpacked.positional
    accepts_any = parameters_known is None or parameters_known.accepts_var_keyword
    named = {p.name for p in signature}
    for key, value in op_kwargs.items():
        if accepts_any or key in named:
            inputs.call.append(_pass(inputs, str(key), value, task, dag, found, keyword=str(key)))
    inputs.call += unpacked.keywords

    # the run context: what the callable takes by name or reads from **kwargs / get_current_context()
    # (what it cannot be served: passed as None by name; absent from the dicts the step hands it)
    as_none: set[str] = set()
    not_in_kwargs: set[str] = set()
    not_in_current: set[str] = set()
    for p in signature:
        if p.name in supplied or p.kind in ("var_positional", "var_keyword"):
            continue
        if p.name in SERVED:
            step.keys.add(p.name)
            inputs.call.append(f"{p.name}=_context[{p.name!r}]")
        elif p.name in NOT_SERVED:
            as_none.add(p.name)
            inputs.call.append(f"{p.name}=None")
    if parameters_known is not None and parameters_known.accepts_var_keyword:
        read = read_keys - supplied - named
        keys = sorted(read & SERVED)
        step.keys |= set(keys)
        if keys:
            inputs.call += [f"{k}=_context[{k!r}]" for k in keys]  # context names are identifiers
        not_in_kwargs = read & NOT_SERVED
    if serves_current_context and parameters_known is not None:
        not_in_current = read_keys & NOT_SERVED
    if as_none or not_in_kwargs or not_in_current:
        var_keyword = next((p.name for p in signature if p.kind == "var_keyword"), "kwargs")
        found.append(
            diag("A2K335", _unserved_message(as_none, not_in_kwargs, not_in_current, var_keyword), **where)
        )
    templates_dict = None
    if "templates_dict" in step.keys:
        raw = _templated(task.args.get("templates_dict"), "templates_dict", step, parameters)
        templates_dict = _pass_inline(inputs, "templates_dict", raw, task, dag, found)
    context_lines = step.lines(inputs, parameters)
    if templates_dict is not None:
        context_lines.append(f"_context['templates_dict'] = {templates_dict}")
    if serves_current_context:
        context_lines = (context_lines or ["_context = {}"]) + [
            "",
            "def get_current_context():",
            "    return _context",
            "",
        ]
    found += step.found

    pushes = _pushes(function_text, body_prelude)
    pushed = tuple(sorted({p.key for p in pushes if p.key}))
    pushes_unknown = any(p.key is None for p in pushes)
    wanted_outputs = consumed_outputs(dag, task.task_id) if outputs is None else outputs
    if outputs is None:
        wanted_outputs = tuple(dict.fromkeys([*wanted_outputs, *pushed]))
    if decision is not None:
        returns, finish = decision.returns, list(decision.finish)
    elif task.operator == BASH_DECORATOR:  # its XCom is the command's last line, as text
        step.parts.add("bash")
        returns, finish = ("str", ["return _result"]) if "return_value" in wanted_outputs else ("", [])
    else:
        texts = consumed_texts(dag, task.task_id) if outputs is None else ()
        keyed = any(k != "return_value" for k in wanted_outputs)  # only keys other than return_value ask
        returns, finish = _outputs(
            wanted_outputs,
            keyed and _multiple_outputs(task, function_text),
            pushed,
            "ti" in step.keys,
            task,
            found,
            texts,
            pushes_unknown,
        )
    image, packages, notes = _environment(
        replace(task, operator=decision.runs_as) if decision else task, context, found
    )
    body = _body(task, body_prelude, function_text, inputs, call_name, finish, context_lines)
    packages = packages or _inferred_packages(body, task, found)
    if "render" in step.parts and JINJA_PACKAGE not in packages:
        packages = [*packages, JINJA_PACKAGE]
    shim = shim_lines(step.parts)
    if shim:
        at = next((i for i, line in enumerate(body) if line == ""), len(body))
        body[at:at] = ["", "# the run context, as Airflow serves it (airflow2kfp's context shim)", *shim]
    code = _code(step_name, task, inputs.signature, returns, body, image, packages)
    imports = (("from typing import NamedTuple",) if returns.startswith("NamedTuple") else ()) + (
        ("from kfp.components import InputPath",) if any("InputPath()" in s for s in inputs.signature) else ()
    )
    note = time_macro_note(parameters)
    approximated = any(d.code in APPROXIMATING for d in found) or bool(
        notes and task.operator in EXTERNAL_OPERATORS | IMAGE_DECORATORS
    )
    cannot_run = step.unrenderable
    if step.parts & {"render"}:
        notes = [*notes, "templates rendered in the step with jinja2, as Airflow renders them"]
    return PythonStep(
        component=ComponentDef(
            key=f"PY_{ident.upper()}",
            description=f"Airflow task {task.task_id!r}: {task.operator} calling {described(callable_)}.",
            code=code,
            imports=imports,
        ),
        arguments=inputs.arguments,
        parameters=tuple(parameters.values()),
        diagnostics=tuple(found),
        notes=tuple(notes) + ((note,) if note else ()),
        approximated=approximated,
        cannot_run=cannot_run,
    )


def _unserved_message(
    as_none: set[str], not_in_kwargs: set[str], not_in_current: set[str], var_keyword: str
) -> str:
    """What the step does with each run-context value it cannot serve, as the step's code does it."""

    def keys(found: set[str]) -> str:
        return ("key " if len(found) == 1 else "keys ") + ", ".join(sorted(found))

    parts = []
    if as_none:
        named = ", ".join(sorted(as_none))
        parts.append(
            f"the callable's parameters {named} get None"
            if len(as_none) > 1
            else f"the callable's parameter {named} gets None"
        )
    if not_in_kwargs:
        first = min(not_in_kwargs)
        parts.append(
            f"the **{var_keyword} dict the step passes has no {keys(not_in_kwargs)} "
            f"({var_keyword}[{first!r}] raises KeyError, .get() gives None)"
        )
    if not_in_current:
        parts.append(f"the dict get_current_context() returns in the step has no {keys(not_in_current)}")
    return "Airflow context a KFP step cannot serve: " + "; ".join(parts)


def step_identifier(task: Task) -> str:
    """The Python identifier of a task's step function and component."""
    ident = python_identifier(task.task_id)
    if ident != task.task_id.lower():  # keep distinct ids distinct after normalising
        ident = f"{ident}_{hashlib.sha1(task.task_id.encode()).hexdigest()[:4]}"
    return ident


def _callable_findings(prepared: StepCallable, name: str, where: dict[str, Any]) -> list[Diagnostic]:
    found = []
    if prepared.imported_from:
        found.append(
            diag(
                "A2K310",
                f"python_callable {name} is imported from {prepared.imported_from}; the "
                f"step imports it by name, so its image must provide {prepared.imported_from}",
                **where,
            )
        )
    if prepared.missing:
        found.append(
            diag(
                "A2K306",
                "the callable reads names not defined at module level, which do not "
                f"travel into the step: {', '.join(prepared.missing)}",
                **where,
            )
        )
    return found


def _line_mapper(source: str, function_text: str, task: Task) -> Any:
    """Line in `function_text` (1-based) -> line in the DAG file, when the callable's place is known."""
    span = task.python_callable.span if task.python_callable else None
    if span is None or span.file != task.span.file:
        return lambda _line: None
    first = function_text.split("\n", 1)[0].strip()
    lines = source.splitlines()
    offset = next((i for i, line in enumerate(lines) if line.strip() == first), 0)
    return lambda line: span.line + offset + line - 1


def _airflow_uses(
    names: tuple[str, ...],
    served: set[str],
    function_text: str,
    line_of: Any,
    step: StepContext,
    found: list[Diagnostic],
    where: dict[str, Any],
) -> None:
    """Diagnostics for what the callable takes from Airflow itself, at the lines that use it."""
    connections = sorted(n for n in names if n in CONNECTION_NAMES or n.endswith("Hook"))
    lines = name_lines(function_text, [*connections, *served])

    def at(name: str) -> dict[str, Any]:
        line = next((line_of(n) for n in lines.get(name, [])), None)
        return {**where, "line": line, "col": 0} if line else where

    if "Variable" in served:
        step.parts.add("variables")
        found.append(
            diag(
                "A2K333",
                "Variable: KFP has no Variable store; the step reads AIRFLOW_VAR_<KEY> "
                "environment variables, as Airflow's environment backend does",
                **at("Variable"),
            )
        )
    for name in connections:
        found.append(
            diag(
                "A2K334",
                f"{name} needs Airflow's Connections (its database or AIRFLOW_CONN_<ID> "
                "variables) and an image with Airflow and its providers",
                **at(name),
            )
        )
    others = sorted(n for n in names if n not in served and n not in connections)
    if others:
        found.append(
            diag(
                "A2K312",
                f"the callable uses Airflow itself ({', '.join(others)}); the step needs "
                "an image with Airflow",
                **where,
            )
        )


def _pushes(function_text: str, prelude: list[str]) -> list[xcom.Push]:
    return [push for text in (function_text, *prelude) for push in xcom.code_use(text).pushes]


def _multiple_outputs(task: Task, function_text: str) -> bool:
    """multiple_outputs as Airflow sets it: given, or inferred by TaskFlow from a `-> dict` annotation."""
    given = task.args.get("multiple_outputs")
    if isinstance(given, bool) or not task.operator.startswith("task"):
        return given is True
    try:
        definition = ast.parse(function_text).body[0]
    except (SyntaxError, ValueError, IndexError):
        return False
    returns = definition.returns if isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
    if isinstance(returns, ast.Subscript):
        returns = returns.value
    if isinstance(returns, ast.Constant) and isinstance(returns.value, str):  # a string annotation
        return returns.value.split("[", 1)[0].strip().rsplit(".", 1)[-1] in ("dict", "Dict")
    name = (
        returns.attr
        if isinstance(returns, ast.Attribute)
        else returns.id
        if isinstance(returns, ast.Name)
        else ""
    )
    return name in ("dict", "Dict")


def _templated(
    value: Any, field_name: str, step: StepContext, parameters: dict[str, PipelineParameter]
) -> Any:
    """A templated field's value: what the pipeline parameters can render is rendered now (`templates.py`),
    a string needing anything else (XComs, Variables, macros, filters) becomes `Rendered`."""
    if isinstance(value, str):
        if not has_template(value):
            return value
        result = translate(value, step.task, step.dag)
        if not result.kept:
            for parameter in result.parameters:
                parameters.setdefault(parameter.name, parameter)
            return result.value
        step.template(value, field_name)
        return Rendered(value)
    if isinstance(value, list):
        return [_templated(v, field_name, step, parameters) for v in value]
    if isinstance(value, tuple):
        return tuple(_templated(v, field_name, step, parameters) for v in value)
    if isinstance(value, dict):
        return {k: _templated(v, f"{field_name}[{k!r}]", step, parameters) for k, v in value.items()}
    return value


def _pass(
    inputs: _Inputs,
    wanted: str,
    value: Any,
    task: Task,
    dag: Dag,
    found: list[Diagnostic],
    keyword: str | None,
) -> str:
    """Source for one call argument: an input when KFP can pass the value, else the value inline."""
    prefix = f"{keyword}=" if keyword else ""
    if isinstance(value, XComRef):
        return prefix + _xcom_input(inputs, wanted, value, task, dag, found)
    if isinstance(value, (ParamRef, Interpolated, RunIdRef, LoopValue)):
        return prefix + inputs.add(wanted, "str", value)
    annotation = annotation_of(value)
    if annotation and _plain(value):
        return prefix + inputs.add(wanted, annotation, list(value) if isinstance(value, tuple) else value)
    return prefix + _pass_inline(inputs, wanted, value, task, dag, found)


def _xcom_input(
    inputs: _Inputs, wanted: str, ref: XComRef, task: Task, dag: Dag, found: list[Diagnostic]
) -> str:
    source = xcom.source(dag, task.task_id, ref.task_id, ref.key, argument=True)
    if source.problem is not None:
        found.append(diag(source.problem[0], source.problem[1], **task_location(task)))
    if source.ref is None:
        return "None"
    return inputs.add(wanted, "str", source.ref, source.encoding)


def _plain(value: Any) -> bool:
    """JSON data only: what a KFP argument carries unchanged (a loop item is a str, but no data)."""
    if isinstance(value, LoopValue):
        return False
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _pass_inline(
    inputs: _Inputs, wanted: str, value: Any, task: Task, dag: Dag, found: list[Diagnostic]
) -> str:
    """Python source for a value KFP cannot pass whole: run-time parts inside become inputs, templates
    rendered at run time become `_render(...)` calls."""
    counter = iter(range(1_000_000))
    native = ", native=True" if dag.settings.get("render_template_as_native_obj") is True else ""

    def render(item: Any) -> str:
        if isinstance(item, XComRef):
            return _xcom_input(inputs, xcom.input_name(item), item, task, dag, found)
        if isinstance(item, (ParamRef, Interpolated, RunIdRef, LoopValue)):  # a loop item nested in a value
            return inputs.add(f"{wanted}_{next(counter)}", "str", item)
        if isinstance(item, Rendered):
            return f"_render({template_literal(item.text)}, _context{native})"
        if isinstance(item, Unresolved):
            found.append(
                diag(
                    "A2K306",
                    f"{wanted}: `{item.source}` is evaluated inside the step, as written",
                    **task_location(task),
                )
            )
            return item.source
        if isinstance(item, Duration):
            return f"_dt.timedelta(seconds={item.seconds!r})"
        if isinstance(item, list):
            return "[" + ", ".join(render(v) for v in item) + "]"
        if isinstance(item, tuple):
            return "(" + "".join(render(v) + ", " for v in item) + ")"
        if isinstance(item, dict):
            return "{" + ", ".join(f"{render(k)}: {render(v)}" for k, v in item.items()) + "}"
        return repr(item)

    return render(value)


def template_literal(text: str) -> str:
    """A Python literal for a Jinja template, its double braces written as escapes (\\x7b\\x7b ...).

    The step's code is an argument of its container, and Argo reads double braces there as its own
    variables: some versions fail the pod on one they cannot resolve."""
    return repr(text).replace("{{", "\\x7b\\x7b").replace("}}", "\\x7d\\x7d")


def _outputs(
    keys: tuple[str, ...],
    multiple: bool,
    pushed: tuple[str, ...],
    has_ti: bool,
    task: Task,
    found: list[Diagnostic],
    texts: tuple[str, ...] = (),
    pushes_unknown: bool = False,
) -> tuple[str, list[str]]:
    """The return annotation and the statements returning the outputs, JSON-encoded; for the keys in
    `texts`, also the text Jinja renders for the value (`str()`), as `<output>_text`.

    Each XCom key is what Airflow stores under it: the return value; for another key, what the
    callable pushed with xcom_push, overridden by the returned dict's item with multiple_outputs."""
    keys = tuple(k for k in keys if k.isidentifier())
    texts = tuple(k for k in texts if k in keys)
    if not keys:
        return "", []
    if keys == ("return_value",) and not texts:
        return "str", ["return _json.dumps(_result)"]
    if pushes_unknown and has_ti:  # a key computed when it runs may be any of them
        pushed = tuple(k for k in keys if k != "return_value")
    unpushed = [k for k in keys if k != "return_value" and k not in pushed]
    if unpushed and not multiple:
        found.append(
            diag(
                "A2K311",
                f"XCom {', '.join(unpushed)} of {task.task_id} is read by another task, but "
                "the task neither pushes it nor sets multiple_outputs: Airflow has no such XCom; "
                "the step passes its return value's item",
                **task_location(task),
            )
        )

    def value(key: str) -> str:
        if key == "return_value":
            return "_result"
        if not multiple and key not in pushed:
            return f"_result[{key!r}]"
        return f"_xcom.get({key!r})"

    values = [f"_json.dumps({value(k)})" for k in keys] + [f"str({value(k)})" for k in texts]
    lines = []
    if any("_xcom" in v for v in values):
        if multiple:
            lines.append("_xcom = {**_ti.pushed, **_result}" if has_ti else "_xcom = dict(_result)")
        else:
            lines.append("_xcom = _ti.pushed")
    fields = [xcom.output_name(k) for k in keys] + [xcom.text_output(k) for k in texts]
    annotation = "NamedTuple('Outputs', [" + ", ".join(f"({f!r}, str)" for f in fields) + "])"
    return annotation, [*lines, "return (" + "".join(f"{v}, " for v in values) + ")"]


def _environment(
    task: Task, context: MappingContext, found: list[Diagnostic]
) -> tuple[str, list[str], list[str]]:
    """(base image, packages to install, notes) for the step's container."""
    options = context.options
    where = task_location(task)
    if task.operator in VIRTUALENV_OPERATORS:
        requirements = task.args.get("requirements")
        if isinstance(requirements, str):
            requirements = [line.strip() for line in requirements.splitlines() if line.strip()]
        packages = [str(r) for r in requirements] if isinstance(requirements, (list, tuple)) else []
        version = task.args.get("python_version")
        image = (
            f"python:{version}"
            if isinstance(version, (str, float, int)) and str(version)
            else options.python_image
        )
        return image, packages, ["virtualenv requirements installed in the step"]
    if task.operator in EXTERNAL_OPERATORS:
        python = task.args.get("python")
        found.append(
            diag(
                "A2K311",
                f"the external interpreter {python!r} is not available in KFP; the step "
                f"runs in {options.python_image}",
                **where,
            )
        )
        return options.python_image, [], ["runs in the Python image instead of the external interpreter"]
    if task.operator in IMAGE_DECORATORS:
        image = task.args.get("image")
        if isinstance(image, str):
            return image, [], [f"runs in {image}, as {task.operator} did"]
        found.append(
            diag("A2K306", f"{task.operator} image could not be read; using {options.python_image}", **where)
        )
        return options.python_image, [], []
    return options.python_image, [], []


def _body(
    task: Task,
    prelude: list[str],
    function_text: str,
    inputs: _Inputs,
    call_name: str,
    finish: list[str],
    context_lines: list[str],
) -> list[str]:
    lines: list[str] = []
    needs_json = bool(inputs.decode) or any("_json." in line for line in finish)
    needs_dt = any("_dt." in c for c in inputs.call)
    if prelude:
        blocks = _blocks(prelude)
        while blocks and blocks[-1] == "":
            blocks.pop()
        lines += ["", "# what the callable uses from its DAG file", *blocks]
    if function_text:
        # a callable of a helper module the DAG file imports is written there (named as the DAG
        # file is: a path the import recorded otherwise is not shown)
        span = task.python_callable.span if task.python_callable else None
        written = task.span.file
        if span is not None and os.path.isabs(span.file) == os.path.isabs(task.span.file):
            written = span.file
        lines += [
            "",
            f"# the callable, as written at {written}",
            *function_text.rstrip("\n").splitlines(),
        ]
    lines.append("")
    # the step's own imports after the DAG file's code, so each is an import block of its own (sorted)
    if needs_dt:
        lines.append("import datetime as _dt")
    if needs_json:
        lines.append("import json as _json")
    if needs_dt or needs_json:
        lines.append("")
    lines += inputs.decode
    lines += context_lines
    call = f"{call_name}({', '.join(inputs.call)})"
    if (
        task.operator == BASH_DECORATOR
    ):  # @task.bash: the callable returns the command, run as BashOperator runs it
        lines.append(f"{'_result = ' if finish else ''}_run_bash({call}{_bash_options(task)})")
        lines += finish
    elif finish:
        lines += [f"_result = {call}", *finish]
    else:
        lines.append(call)
    return lines


def _bash_options(task: Task) -> str:
    """env, append_env and cwd of @task.bash, when given as literals."""
    options = []
    env, cwd = task.args.get("env"), task.args.get("cwd")
    if isinstance(env, dict) and all(isinstance(v, str) for v in env.values()):
        options.append(f"env={ {str(k): v for k, v in env.items()}!r}")
        if task.args.get("append_env") is True:
            options.append("append_env=True")
    if isinstance(cwd, str):
        options.append(f"cwd={cwd!r}")
    return "".join(f", {option}" for option in options)


def _blocks(prelude: list[str]) -> list[str]:
    """Statements one after the other, a blank line around definitions for readability."""
    lines: list[str] = []
    for statement in prelude:
        block = statement.splitlines()
        is_definition = block[0].lstrip().startswith(("def ", "class ", "@", "async def "))
        if is_definition and lines and lines[-1] != "":
            lines.append("")
        lines += block
        if is_definition:
            lines.append("")
    return lines


def _inferred_packages(body: list[str], task: Task, found: list[Diagnostic]) -> list[str]:
    """Third-party packages the step imports (kfp v1 installs them with pip before running)."""
    try:
        tree = ast.parse("\n".join(body))
    except SyntaxError:
        return []
    modules: set[str] = set()
    todo: list[ast.AST] = list(tree.body)
    while todo:  # imports are statements: only statement lists need a look, not expressions
        node = todo.pop()
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module.split(".")[0])
        for block in ("body", "orelse", "finalbody", "handlers", "cases"):
            inner = getattr(node, block, None)
            if isinstance(inner, list):
                todo.extend(inner)
    third_party = sorted(m for m in modules if m not in sys.stdlib_module_names and m != "airflow")
    packages = [PIP_NAMES.get(m, m) for m in third_party]
    if "airflow" in modules:
        packages.append("apache-airflow")
    if packages:
        found.append(
            diag(
                "A2K315",
                f"packages to install inferred from the imports: {', '.join(packages)}",
                **task_location(task),
            )
        )
    return packages


def _code(
    step_name: str,
    task: Task,
    signature: list[str],
    returns: str,
    body: list[str],
    image: str,
    packages: list[str],
) -> str:
    header = f"def {step_name}({', '.join(signature)})" + (f" -> {returns}" if returns else "") + ":"
    doc = f'"""Airflow task {task.task_id!r} ({task.operator}, {task.span.file}:{task.span.line})."""'
    source = "\n".join([doc, *body]) + "\n"
    indented = _indented(source) if _is_python(f"{header}\n    pass\n") else None
    text = f"{header}\n{indented}" if indented is not None else _indented_by_cst(header, source)
    text = text.rstrip("\n")
    key = f"PY_{step_name[: -len('_step')].upper()}"
    options = [f"base_image={image!r}"]
    if packages:
        options.append(f"packages_to_install={packages!r}")
    return f"{text}\n\n\n{key} = components.create_component_from_func({step_name}, {', '.join(options)})"


def _indented_by_cst(header: str, source: str) -> str:
    """The function `header` with `source` as its body, indented by libcst (`_indented` says how)."""
    statements = cst.parse_module(source).visit(_UnindentBlankLines()).body
    shell = cst.parse_module(f"{header}\n    pass\n")
    function = shell.body[0]
    assert isinstance(function, cst.FunctionDef)
    return shell.code_for_node(function.with_changes(body=cst.IndentedBlock(body=statements)))


def _is_python(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return True


# characters and line breaks whose handling by libcst `_indented` does not reproduce: libcst decides
_UNUSUAL = re.compile(r"[\t\r\f\v]|\\\n")
_FOUR = "    "


def _indented(source: str) -> str | None:
    """`_indented_by_cst`'s body by text, or None where it might differ (then libcst indents it).

    Indenting with libcst rather than by text keeps the lines of multi-line strings as they are. In
    detail, libcst puts four spaces before every line except: lines inside multi-line strings; blank
    lines (it strips their indentation: they must be empty here); and comment lines or lines inside
    brackets that do not start with the indentation of the block libcst attaches them to (the
    statement they are in, for bracket lines; for comment lines, the next statement, or the footer of
    a block that ends there when the comment is indented at its level, the innermost block first).
    This follows that for code indented by four spaces a level, without tabs, form feeds, backslash
    continuations or multi-line f-strings (libcst parses inside those); one pass over the text is
    an order of magnitude faster than libcst's parse, transform and code generation.
    """
    if _UNUSUAL.search(source) or not _is_python(source):
        return None
    lines = source.split("\n")[:-1]  # the source ends with a newline
    kinds = _line_kinds(source, lines)
    if kinds is None:
        return None
    out = list(lines)
    blocks = [""]  # the indentation of each open block, outermost first
    statement: str | None = None  # the indentation of the current statement
    pending: list[int] = []  # comment and blank lines waiting for the next statement

    def attach(closing: list[str], indent: str) -> None:
        for position, owner in _owners([lines[r] for r in pending], closing, indent):
            line = lines[pending[position]]
            if line and line.startswith(owner):
                out[pending[position]] = _FOUR + line
        pending.clear()

    for row, (line, kind) in enumerate(zip(lines, kinds)):
        if kind == "string":
            continue
        if line.isspace():
            return None
        if kind == "bracket":
            assert statement is not None
            if line and line.startswith(statement):
                out[row] = _FOUR + line
        elif kind == "empty":
            pending.append(row)
        else:  # the first line of a statement
            indent = line[: len(line) - len(line.lstrip(" "))]
            closing: list[str] = []
            if len(indent) > len(blocks[-1]):
                if indent != blocks[-1] + _FOUR:
                    return None
                blocks.append(indent)
            else:
                while len(blocks[-1]) > len(indent):
                    closing.append(blocks.pop())
                if blocks[-1] != indent:
                    return None
            attach(closing, indent)
            statement = indent
            out[row] = _FOUR + line
    if pending:  # comments at the end would be the module's footer, which libcst drops
        return None
    return "\n".join(out) + "\n"


def _owners(lines: list[str], closing: list[str], indent: str) -> Iterator[tuple[int, str]]:
    """(position, indentation of the block owning it) for comment and blank lines before a statement
    at `indent` that ends the `closing` blocks (innermost first): each block takes the lines up to
    the last one indented at its level, the statement the rest."""
    start = 0
    for block in closing:
        last = max((i for i in range(start, len(lines)) if lines[i].startswith(block)), default=None)
        if last is not None:
            for i in range(start, last + 1):
                yield i, block
            start = last + 1
    for i in range(start, len(lines)):
        yield i, indent


# what starts a string, a comment or a bracket outside strings and comments
_TOKEN = re.compile(
    r"""(?P<string>[rRbBuUfF]{0,2}(?:'{3}|"{3}|['"]))|(?P<comment>#[^\n]*)|(?P<open>[(\[{])|[)\]}]"""
)
# the rest of a string after its opening quote, as Python's tokenizer ends it
_STRING_REST = {
    "'''": re.compile(r"(?:[^'\\]|\\.|'(?!''))*'''", re.DOTALL),
    '"""': re.compile(r'(?:[^"\\]|\\.|"(?!""))*"""', re.DOTALL),
    "'": re.compile(r"(?:[^'\\\n]|\\.)*'"),
    '"': re.compile(r'(?:[^"\\\n]|\\.)*"'),
}


def _line_kinds(source: str, lines: list[str]) -> list[str] | None:
    """Each line as "statement" (starts one), "bracket" (starts inside brackets), "string" (starts
    inside a multi-line string) or "empty" (blank or a comment), or None for a multi-line f-string.

    `source` is valid Python without backslash continuations: scanning it for strings, comments and
    brackets, each found where it starts, is then what Python's tokenizer does, for this purpose.
    """
    kinds: list[str] = []
    line_start = 0  # where the next line to classify starts
    depth = 0
    position = 0
    while len(kinds) < len(lines):
        found = _TOKEN.search(source, position)
        stop = found.start() if found else len(source)
        while len(kinds) < len(lines) and line_start <= stop:  # lines starting before the token
            line = lines[len(kinds)]
            stripped = line.lstrip()
            kinds.append(
                "bracket" if depth else "empty" if not stripped or stripped[0] == "#" else "statement"
            )
            line_start += len(line) + 1
        if found is None:
            break
        position = found.end()
        if found["string"]:
            opening = found["string"]
            rest = _STRING_REST[opening.lstrip("rRbBuUfF")].match(source, position)
            if rest is None:
                return None
            position = rest.end()
            if line_start < position and "f" in opening.lower():
                return None  # a multi-line f-string: libcst parses inside it
            while len(kinds) < len(lines) and line_start < position:  # lines starting inside the string
                kinds.append("string")
                line_start += len(lines[len(kinds) - 1]) + 1
        elif found["open"]:
            depth += 1
        elif not found["comment"]:
            depth -= 1
    return kinds


class _UnindentBlankLines(cst.CSTTransformer):
    """Blank lines without trailing spaces once the body is indented."""

    def leave_EmptyLine(self, original: cst.EmptyLine, updated: cst.EmptyLine) -> cst.EmptyLine:
        return updated.with_changes(indent=False) if updated.comment is None else updated


def map_python(task: Task, context: MappingContext) -> TaskMapping:
    step = python_component(task, context)
    if isinstance(step, Diagnostic):
        return placeholder(task, context, step, "python_callable unknown")
    if step.cannot_run is not None:  # Airflow fails rendering its templates before the callable runs
        return placeholder(task, context, step.cannot_run, "templates need values the step cannot serve")
    return TaskMapping(
        task_id=task.task_id,
        fidelity=Fidelity.APPROXIMATED if step.approximated else Fidelity.DIRECT,
        component=step.component,
        arguments=step.arguments,
        diagnostics=step.diagnostics,
        notes=step.notes,
        parameters=step.parameters,
    )


FAMILY = OperatorFamily(
    name="python",
    description="PythonOperator and @task (virtualenv, external_python, docker, kubernetes, bash "
    "decorators): a lightweight Python component carrying the callable and what it uses.",
    operators=OPERATORS,
    map_task=map_python,
)
