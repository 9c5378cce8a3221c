"""PythonOperator and TaskFlow `@task` -> KFP v1 lightweight Python components.

Each task becomes a module-level function in the generated file, turned into a component with
`components.create_component_from_func`. KFP copies only that function's source into the step, so
the function carries, in its body, the module-level imports, constants and helpers the callable
uses (`callable_source.py`), then the original callable as written (decorators removed), then the
call Airflow would make:

- `op_args` / `op_kwargs` (TaskFlow call arguments) are inputs, typed by their values.
- Upstream results (`b(a())`, `.output`, `XComArg`, `r["key"]` with `multiple_outputs`) are wired as
  KFP outputs into inputs, JSON-encoded on the way: that carries the data and the ordering.
- Context arguments Airflow passes by name (`ds`, `ts`, `logical_date`, `run_id`, `params`, and
  what `**kwargs` reads) come from pipeline parameters; others (`ti`, `dag_run`, ...) do not exist
  in KFP and are reported.

`python_component` is the entry point other families reuse (branch callables).
"""

from __future__ import annotations

import ast
import hashlib
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import libcst as cst

from converter.diagnostics import Diagnostic, diag
from converter.emit.names import python_identifier
from converter.mapping.base import (
    ComponentDef, Fidelity, Interpolated, MappingContext, OperatorFamily, ParamRef, PipelineParameter,
    RunIdRef, TaskMapping, is_airflow_module, task_location,
)
from converter.mapping.callables import StepCallable, prepare
from converter.mapping.control_flow import LoopValue, collected
from converter.mapping.fan_in import Collected, decoding
from converter.mapping.mapped_call import mapped_call, mapped_items
from converter.mapping.dag_params import annotation_of, dag_parameters
from converter.mapping.placeholder import placeholder
from converter.mapping.templates import TIME_MACROS, time_macro_note, time_parameter, translate_value
from converter.model import Dag, Duration, Task, Unresolved, XComRef

PYTHON_OPERATORS = frozenset({"PythonOperator", "task", "task.python", "asset"})
VIRTUALENV_OPERATORS = frozenset({"PythonVirtualenvOperator", "task.virtualenv"})
EXTERNAL_OPERATORS = frozenset({"ExternalPythonOperator", "task.external_python"})
IMAGE_DECORATORS = frozenset({"task.docker", "task.kubernetes"})  # the callable runs in `image`
BASH_DECORATOR = "task.bash"  # the callable returns a command that bash runs
OPERATORS = PYTHON_OPERATORS | VIRTUALENV_OPERATORS | EXTERNAL_OPERATORS | IMAGE_DECORATORS | {BASH_DECORATOR}

# context keys Airflow passes that have no KFP value; a callable asking for them gets None
UNAVAILABLE_CONTEXT = frozenset({
    "ti", "task_instance", "dag_run", "dag", "task", "conf", "macros", "var", "conn", "data_interval_start",
    "data_interval_end", "prev_ds", "next_ds", "prev_execution_date", "next_execution_date", "inlets",
    "outlets", "triggering_dataset_events", "triggering_asset_events", "templates_dict", "test_mode",
    "prev_data_interval_start_success", "prev_data_interval_end_success", "prev_start_date_success",
    "map_index_template", "outlet_events", "inlet_events", "task_instance_key_str", "expanded_ti_count",
})
RUN_CONTEXT = frozenset(TIME_MACROS) | {"run_id", "params"}
DATETIME_MACROS = frozenset({"logical_date", "execution_date"})
# import name -> pip package, where they differ
PIP_NAMES = {"yaml": "PyYAML", "sklearn": "scikit-learn", "PIL": "Pillow", "cv2": "opencv-python-headless",
             "bs4": "beautifulsoup4", "dateutil": "python-dateutil", "google": "google-cloud-storage",
             "psycopg2": "psycopg2-binary", "jwt": "PyJWT", "dotenv": "python-dotenv"}


@dataclass(frozen=True)
class PythonStep:
    """What `python_component` builds: the component and how a task calls it."""

    component: ComponentDef
    arguments: dict[str, Any]
    parameters: tuple[PipelineParameter, ...]
    diagnostics: tuple[Diagnostic, ...]
    notes: tuple[str, ...]
    approximated: bool


@dataclass(frozen=True)
class Decision:
    """What a deciding step (branch, short-circuit) returns instead of the callable's result.

    `returns` is the function's return annotation, `finish` the statements that return the outputs
    from `_result`; `runs_as` is the Python operator whose environment the decider has."""

    returns: str
    finish: str
    runs_as: str


@dataclass
class _Inputs:
    """The wrapper's signature as it is built: inputs, the statements that decode them, the call."""

    reserved: set[str]
    signature: list[str] = field(default_factory=list)
    arguments: dict[str, Any] = field(default_factory=dict)
    decode: list[str] = field(default_factory=list)
    call: list[str] = field(default_factory=list)

    def add(self, wanted: str, annotation: str, value: Any) -> str:
        name = python_identifier(wanted)
        while name in self.reserved or f"{name}_path" in self.reserved:
            name = f"{name}_input"
        self.reserved |= {name, f"{name}_path"}
        self.arguments[name] = value
        if isinstance(value, Collected):  # a mapped task's results: Argo's JSON list, as text
            self.signature.append(f"{name}: str")
            self.decode += decoding(name, value.depth)
        elif isinstance(value, XComRef):
            # an upstream result arrives as a file (KFP strips `_path` from the input's name): it
            # has no size limit, and kfp's local runner passes files, not upstream values
            self.signature.append(f"{name}_path: InputPath()")
            self.decode += [f"with open({name}_path) as _file:", f"    {name} = _json.load(_file)"]
        elif isinstance(value, LoopValue):
            # a ParallelFor item arrives as text: Argo renders JSON objects as JSON and scalars bare
            self.signature.append(f"{name}: str")
            self.decode += ["try:", f"    {name} = _json.loads({name})",
                            "except ValueError:", "    pass  # a bare string item"]
        else:
            self.signature.append(f"{name}: {annotation}")
        return name


_CONSUMED: list[Any] = [None, {}]  # the last DAG asked about, and its task id -> XCom keys read


def consumed_outputs(dag: Dag, task_id: str) -> tuple[str, ...]:
    """The XCom keys of `task_id` other tasks read, in a stable order (return_value first)."""
    if _CONSUMED[0] is not dag:  # one pass over the DAG's arguments, not one per Python task
        index: dict[str, set[str]] = {}
        for other in dag.tasks:
            for ref in _refs([other.args.values, other.mapped_args]):
                index.setdefault(ref.task_id, set()).add(ref.key)
        for ref in _refs(dict(dag.mapped_groups)):  # what mapped task groups loop over
            index.setdefault(ref.task_id, set()).add(ref.key)
        _CONSUMED[:] = [dag, index]
    keys = _CONSUMED[1].get(task_id, set())
    return tuple(sorted(keys, key=lambda k: (k != "return_value", k)))


def produces_outputs(task: Task) -> bool:
    return task.operator in OPERATORS - {BASH_DECORATOR} and is_airflow_module(task.operator_module)


def _refs(value: Any) -> Iterator[XComRef]:
    if isinstance(value, XComRef):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _refs(item)


def python_component(task: Task, context: MappingContext, outputs: tuple[str, ...] | None = None,
                     decision: Decision | None = None) -> PythonStep | Diagnostic:
    """A lightweight component running `task`'s callable, or the diagnostic saying why there is none.

    `outputs` are the XCom keys to expose (default: those other tasks of the DAG read); a `decision`
    returns a branch's or short-circuit's outputs instead.
    """
    where = task_location(task)
    callable_ = task.python_callable
    if callable_ is None:
        return diag("A2K306", "the task's python_callable could not be found statically", **where)
    dag = context.dag
    found: list[Diagnostic] = []
    parameters: dict[str, PipelineParameter] = {}
    ident = python_identifier(task.task_id)
    if ident != task.task_id.lower():  # keep distinct ids distinct after normalising
        ident = f"{ident}_{hashlib.sha1(task.task_id.encode()).hexdigest()[:4]}"
    step_name = f"{ident}_step"

    prepared = prepare(callable_)  # mapping/callables.py: functions, lambdas, partials, bound methods
    if isinstance(prepared, str):
        return diag("A2K306", prepared, **where)
    found += _callable_findings(prepared, callable_.name, where)
    body_prelude = list(prepared.prelude)
    function_text, call_name = "\n".join(prepared.definition), prepared.call_name
    parameters_known = prepared if prepared.parameters is not None else None

    reserved = {step_name, call_name, "_json", "_result", "_dt", "_file"} | set(prepared.names)
    inputs = _Inputs(reserved)
    translated = {key: translate_value(task.args.get(key), task, dag, key, found, parameters)
                  for key in ("op_args", "op_kwargs")}
    # functools.partial's arguments come first, as calling the partial passes them
    op_args = [*prepared.partial_args,
               *(translated["op_args"] if isinstance(translated["op_args"], (list, tuple)) else [])]
    op_kwargs = {**prepared.partial_kwargs,
                 **(translated["op_kwargs"] if isinstance(translated["op_kwargs"], dict) else {})}
    for key in ("op_args", "op_kwargs"):
        if isinstance(task.args.get(key), Unresolved):
            found.append(diag("A2K306", f"{key} could not be read statically: {task.args.get(key).source}",
                              **where))
    # .expand() / .expand_kwargs(): inside its ParallelFor each mapped argument is the loop item
    # (mapped_call.py); without a loop the step receives the whole list
    mapped = mapped_call(task)
    op_kwargs.update(mapped.keywords)
    if not mapped.in_loop:
        op_kwargs.update({k: v for k, v in task.mapped_args.items() if isinstance(k, str) and k != "*"})
        found.append(diag("A2K311", "a mapped task (.expand) is emitted as one step receiving the whole "
                          f"list of {', '.join(map(str, task.mapped_args))}, not one step per item", **where))
    if mapped.not_passed:
        found.append(diag("A2K311", f"mapped operator arguments {', '.join(mapped.not_passed)} are not passed "
                          "to the step", **where))
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

    unavailable: set[str] = set()
    for p in signature:
        if p.name in supplied or p.kind in ("var_positional", "var_keyword"):
            continue
        if p.name in RUN_CONTEXT:
            inputs.call.append(f"{p.name}={_context_value(inputs, p.name, dag, parameters)}")
        elif p.name in UNAVAILABLE_CONTEXT:
            unavailable.add(p.name)
            inputs.call.append(f"{p.name}=None")
    if parameters_known is not None and parameters_known.accepts_var_keyword:
        read = parameters_known.string_literals
        entries = [f"{k!r}: {_context_value(inputs, k, dag, parameters)}"
                   for k in sorted(read & RUN_CONTEXT - supplied)]
        unavailable |= read & UNAVAILABLE_CONTEXT
        if entries:
            inputs.call.append("**{" + ", ".join(entries) + "}")
    if unavailable:
        found.append(diag("A2K312", "Airflow context with no KFP equivalent is passed as None: "
                          f"{', '.join(sorted(unavailable))}", **where))

    wanted_outputs = consumed_outputs(dag, task.task_id) if outputs is None else outputs
    if task.operator == BASH_DECORATOR:
        wanted_outputs = ()
    returns, finish = (decision.returns, decision.finish) if decision else _outputs(wanted_outputs, task, found)
    image, packages, notes = _environment(replace(task, operator=decision.runs_as) if decision else task, context,
                                          found)
    body = _body(task, body_prelude, function_text, inputs, call_name, finish)
    packages = packages or _inferred_packages(body, task, found)
    code = _code(step_name, task, inputs.signature, returns, body, image, packages)
    imports = (("from typing import NamedTuple",) if returns.startswith("NamedTuple") else ()) + (
        ("from kfp.components import InputPath",) if any("InputPath()" in s for s in inputs.signature) else ())
    note = time_macro_note(parameters)
    approximated = any(d.code in {"A2K302", "A2K306", "A2K310", "A2K311", "A2K312"} for d in found) or bool(
        notes and task.operator in EXTERNAL_OPERATORS | IMAGE_DECORATORS)
    return PythonStep(
        component=ComponentDef(key=f"PY_{ident.upper()}", description=f"Airflow task {task.task_id!r}: "
                               f"{task.operator} calling {callable_.name}.", code=code, imports=imports),
        arguments=inputs.arguments,
        parameters=tuple(parameters.values()),
        diagnostics=tuple(found),
        notes=tuple(notes) + ((note,) if note else ()),
        approximated=approximated,
    )


def _callable_findings(prepared: StepCallable, name: str, where: dict[str, Any]) -> list[Diagnostic]:
    found = []
    if prepared.imported_from:
        found.append(diag("A2K310", f"python_callable {name} is imported from {prepared.imported_from}; the "
                          f"step imports it by name, so its image must provide {prepared.imported_from}", **where))
    if prepared.missing:
        found.append(diag("A2K306", "the callable reads names not defined at module level, which do not "
                          f"travel into the step: {', '.join(prepared.missing)}", **where))
    if prepared.airflow_names:
        found.append(diag("A2K312", "the callable uses Airflow itself "
                          f"({', '.join(prepared.airflow_names)}); the step needs an image with Airflow", **where))
    return found


def _context_value(inputs: _Inputs, key: str, dag: Dag, parameters: dict[str, PipelineParameter]) -> str:
    """Source for a context value the call passes, adding the inputs it needs."""
    if key == "params":
        entries = []
        for parameter in dag_parameters(dag):
            name = inputs.add(f"params_{parameter.name}", parameter.annotation, ParamRef(parameter.name))
            entries.append(f"{parameter.name!r}: {name}")
        return "{" + ", ".join(entries) + "}"
    if key == "run_id":
        return inputs.add("run_id", "str", RunIdRef())
    parameter = time_parameter(key)
    parameters.setdefault(parameter.name, parameter)
    name = inputs.add(key, "str", ParamRef(parameter.name))
    if key in DATETIME_MACROS:  # Airflow passes a datetime, not its text
        return f"_dt.datetime.fromisoformat({name})"
    return name


def _pass(inputs: _Inputs, wanted: str, value: Any, task: Task, dag: Dag, found: list[Diagnostic],
          keyword: str | None) -> str:
    """Source for one call argument: an input when KFP can pass the value, else the value inline."""
    prefix = f"{keyword}=" if keyword else ""
    if isinstance(value, XComRef):
        return prefix + _xcom_input(inputs, wanted, value, task, dag, found)
    if isinstance(value, (ParamRef, Interpolated, RunIdRef, LoopValue)):
        return prefix + inputs.add(wanted, "str", value)
    annotation = annotation_of(value)
    if annotation and _plain(value):
        return prefix + inputs.add(wanted, annotation, list(value) if isinstance(value, tuple) else value)
    return prefix + _inline(inputs, wanted, value, task, dag, found)


def _xcom_input(inputs: _Inputs, wanted: str, ref: XComRef, task: Task, dag: Dag, found: list[Diagnostic]) -> str:
    producer = next((t for t in dag.tasks if t.task_id == ref.task_id), None)
    if producer is None or not produces_outputs(producer):
        what = producer.qualified_operator if producer else "an unknown task"
        found.append(diag("A2K311", f"the XCom of {ref.task_id} ({what}) is not passed in KFP; the "
                          "argument is None", **task_location(task)))
        return "None"
    if not ref.key.isidentifier():
        found.append(diag("A2K311", f"XCom key {ref.key!r} of {ref.task_id} is not a valid output name; "
                          "the argument is None", **task_location(task)))
        return "None"
    return inputs.add(wanted, "str", collected(ref, task, dag))


def _plain(value: Any) -> bool:
    """JSON data only: what a KFP argument carries unchanged."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _inline(inputs: _Inputs, wanted: str, value: Any, task: Task, dag: Dag, found: list[Diagnostic]) -> str:
    """Python source for a value KFP cannot pass whole: run-time parts inside become inputs."""
    counter = iter(range(1_000_000))

    def render(item: Any) -> str:
        if isinstance(item, XComRef):
            return _xcom_input(inputs, f"{wanted}_{next(counter)}", item, task, dag, found)
        if isinstance(item, (ParamRef, Interpolated, RunIdRef)):
            return inputs.add(f"{wanted}_{next(counter)}", "str", item)
        if isinstance(item, Unresolved):
            found.append(diag("A2K306", f"{wanted}: `{item.source}` is evaluated inside the step, as written",
                              **task_location(task)))
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


def _outputs(keys: tuple[str, ...], task: Task, found: list[Diagnostic]) -> tuple[str, str]:
    """The return annotation and the statement returning the outputs, JSON-encoded."""
    keys = tuple(k for k in keys if k.isidentifier())
    if not keys:
        return "", ""
    if keys == ("return_value",):
        return "str", "return _json.dumps(_result)"
    fields = [("Output" if k == "return_value" else k) for k in keys]
    values = ["_result" if k == "return_value" else f"_result[{k!r}]" for k in keys]
    annotation = "NamedTuple('Outputs', [" + ", ".join(f"({f!r}, str)" for f in fields) + "])"
    del task, found
    return annotation, "return (" + "".join(f"_json.dumps({v}), " for v in values) + ")"


def _environment(task: Task, context: MappingContext, found: list[Diagnostic]) -> tuple[str, list[str], list[str]]:
    """(base image, packages to install, notes) for the step's container."""
    options = context.options
    where = task_location(task)
    if task.operator in VIRTUALENV_OPERATORS:
        requirements = task.args.get("requirements")
        if isinstance(requirements, str):
            requirements = [line.strip() for line in requirements.splitlines() if line.strip()]
        packages = [str(r) for r in requirements] if isinstance(requirements, (list, tuple)) else []
        version = task.args.get("python_version")
        image = f"python:{version}" if isinstance(version, (str, float, int)) and str(version) else options.python_image
        return image, packages, ["virtualenv requirements installed in the step"]
    if task.operator in EXTERNAL_OPERATORS:
        python = task.args.get("python")
        found.append(diag("A2K311", f"the external interpreter {python!r} is not available in KFP; the step "
                          f"runs in {options.python_image}", **where))
        return options.python_image, [], ["runs in the Python image instead of the external interpreter"]
    if task.operator in IMAGE_DECORATORS:
        image = task.args.get("image")
        if isinstance(image, str):
            return image, [], [f"runs in {image}, as {task.operator} did"]
        found.append(diag("A2K306", f"{task.operator} image could not be read; using {options.python_image}",
                          **where))
        return options.python_image, [], []
    return options.python_image, [], []


def _body(task: Task, prelude: list[str], function_text: str, inputs: _Inputs, call_name: str,
          finish: str) -> list[str]:
    lines: list[str] = []
    needs_json = bool(inputs.decode) or "_json." in finish
    needs_dt = any("_dt." in c for c in inputs.call)
    if needs_json:
        lines.append("import json as _json")
    if needs_dt:
        lines.append("import datetime as _dt")
    if prelude:
        blocks = _blocks(prelude)
        while blocks and blocks[-1] == "":
            blocks.pop()
        lines += ["", "# what the callable uses from its DAG file", *blocks]
    if function_text:
        lines += ["", f"# the callable, as written at {task.span.file}", *function_text.rstrip("\n").splitlines()]
    lines.append("")
    lines += inputs.decode
    call = f"{call_name}({', '.join(inputs.call)})"
    if task.operator == BASH_DECORATOR:  # @task.bash: the callable returns the command bash runs
        lines += ["import subprocess", f"subprocess.run(['bash', '-c', {call}], check=True)"]
    elif finish:
        lines += [f"_result = {call}", finish]
    else:
        lines.append(call)
    return lines


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
        found.append(diag("A2K315", f"packages to install inferred from the imports: {', '.join(packages)}",
                          **task_location(task)))
    return packages


def _code(step_name: str, task: Task, signature: list[str], returns: str, body: list[str], image: str,
          packages: list[str]) -> str:
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
_TOKEN = re.compile(r"""(?P<string>[rRbBuUfF]{0,2}(?:'{3}|"{3}|['"]))|(?P<comment>#[^\n]*)|(?P<open>[(\[{])|[)\]}]""")
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
            kinds.append("bracket" if depth else "empty" if not stripped or stripped[0] == "#" else "statement")
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
