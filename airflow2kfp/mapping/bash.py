"""BashOperator -> a container step running the command with `bash -c`, as Airflow does.

- `bash_command` ending in `.sh` / `.bash` names a template file, which Airflow reads from the DAG's
  folder (or `template_searchpath`) and renders; it is found the same way (`template_files.py`, never
  outside the folder being converted) and inlined.
- Jinja templates: the common macros become pipeline parameters or run variables (`templates.py`).
- `env`: container environment variables. Airflow runs the command with *only* `env` unless
  `append_env=True`; a pod keeps its image's environment, which is reported when it differs.
- `cwd`: the command runs after `cd` into it.
- The XCom: Airflow pushes the last line of the output as `return_value`; when another task reads
  it, the step writes that line to its output `Output` (`BASH_XCOM`).

A command, env or cwd that needs values known only when the task runs (an upstream's XCom, through
an XComArg or `{{ ti.xcom_pull(...) }}`; Variables, macros, filters) runs as a Python step instead:
it renders the templates with jinja2 and the run context (`step_context.py`), as Airflow does, then
runs the command as BashOperator does (`_run_bash` in `run_context.py`).
"""

from __future__ import annotations

import ast
import re
import shlex
import textwrap
from typing import Any

from airflow2kfp.diagnostics import Diagnostic, diag
from airflow2kfp.mapping import xcom
from airflow2kfp.mapping.base import (
    ComponentDef,
    Fidelity,
    Interpolated,
    MappingContext,
    OperatorFamily,
    PipelineParameter,
    TaskMapping,
    task_location,
)
from airflow2kfp.mapping.bash_images import component_key, step_image
from airflow2kfp.mapping.container import env_calls, k8s_imports
from airflow2kfp.mapping.control_flow import LoopValue, WholeItem
from airflow2kfp.mapping.placeholder import placeholder
from airflow2kfp.mapping.python import (
    APPROXIMATING,
    JINJA_PACKAGE,
    Rendered,
    _code,
    _Inputs,
    _pass_inline,
    _xcom_input,
    consumed_outputs,
    step_identifier,
)
from airflow2kfp.mapping.run_context import SHIM_NAMES, shim_lines
from airflow2kfp.mapping.step_context import StepContext
from airflow2kfp.mapping.template_files import TEMPLATE_SUFFIXES, TemplateText, read_template
from airflow2kfp.mapping.templates import (
    PullResolver,
    has_template,
    time_macro_note,
    translate,
    translate_value,
)
from airflow2kfp.model import Dag, Task, Unresolved, XComRef

TEMPLATE_MARKERS = ("{{", "{%")
SCRIPT_SUFFIXES = TEMPLATE_SUFFIXES  # BashOperator.template_ext


def component(image: str, bash_image: str | None = None) -> ComponentDef:
    key, name = component_key(image, bash_image or image)
    return ComponentDef(
        key=key,
        description="Runs an Airflow BashOperator command with `bash -c`.",
        spec={
            "name": name,
            "description": "Runs a shell command with bash -c, as Airflow's BashOperator does.",
            "inputs": [{"name": "command", "type": "String"}],
            "implementation": {
                "container": {"image": image, "command": ["bash", "-c", {"inputValue": "command"}]}
            },
        },
    )


# runs the command ($0) and writes the last line of its output, right-stripped, to $1
_LAST_LINE = """\
# airflow2kfp: Airflow's BashOperator pushes the last line of the output as the task's XCom
log=$(mktemp)
bash -c "$0" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
last=$(tail -n 1 "$log")
last=${last%"${last##*[![:space:]]}"}
mkdir -p "$(dirname "$1")"
printf '%s' "$last" > "$1"
exit "$status"
"""


def xcom_component(image: str, bash_image: str | None = None) -> ComponentDef:
    """BASH, with the last line of the output as the output `Output` (Airflow's return_value)."""
    key, name = component_key(image, bash_image or image)
    return ComponentDef(
        key=f"{key}_XCOM",
        description="Runs an Airflow BashOperator command with `bash -c`; its last output line is its XCom.",
        spec={
            "name": f"{name}-xcom" if name == "bash" else f"{name} (xcom)",
            "description": "Runs a shell command with bash -c, as Airflow's BashOperator does, and outputs "
            "the last line of its output, as Airflow pushes it.",
            "inputs": [{"name": "command", "type": "String"}],
            "outputs": [{"name": "Output", "type": "String"}],
            "implementation": {
                "container": {
                    "image": image,
                    "command": [
                        "bash",
                        "-c",
                        _LAST_LINE,
                        {"inputValue": "command"},
                        {"outputPath": "Output"},
                    ],
                }
            },
        },
    )


def static_text(value: Any) -> Any:
    """`textwrap.dedent("...")` around a literal, common for multi-line commands, evaluated."""
    if not isinstance(value, Unresolved):
        return value
    try:
        call = ast.parse(value.source.strip(), mode="eval").body
    except SyntaxError:
        return value
    if (
        isinstance(call, ast.Call)
        and len(call.args) == 1
        and not call.keywords
        and isinstance(call.args[0], ast.Constant)
        and isinstance(call.args[0].value, str)
        and (getattr(call.func, "attr", None) or getattr(call.func, "id", None)) == "dedent"
    ):
        return textwrap.dedent(call.args[0].value)
    return value


def _found_through(script: TemplateText) -> str:
    if script.relative_entry is None:
        return ""
    return (
        f" (found through the relative template_searchpath {script.relative_entry!r}, from the folder "
        "the converter ran in: Airflow resolves it from its worker's working folder)"
    )


AIRFLOW_SKIP_EXIT_CODE = 99  # BashOperator's default skip_on_exit_code (Airflow 2.6+)


def _skip_exit_codes(task: Task, command: str) -> tuple[int, ...]:
    """Exit codes that make Airflow skip the task, when this task can plausibly exit with one.

    Every BashOperator skips on 99 by default; saying so for every task would bury the cases that
    matter, so it is reported when skip_on_exit_code is set or the command itself exits 99.
    """
    codes = task.args.get("skip_on_exit_code", AIRFLOW_SKIP_EXIT_CODE)
    if "skip_on_exit_code" in task.args.explicit:
        return tuple(
            c for c in (codes if isinstance(codes, (list, tuple)) else [codes]) if isinstance(c, int)
        )
    return (AIRFLOW_SKIP_EXIT_CODE,) if re.search(rf"\bexit\s+{AIRFLOW_SKIP_EXIT_CODE}\b", command) else ()


def map_bash(task: Task, context: MappingContext) -> TaskMapping:
    command = static_text(task.args.get("bash_command"))
    where = task_location(task)
    if isinstance(command, XComRef) or isinstance(task.mapped_args.get("*"), WholeItem):
        # the command an upstream returned, or expand_kwargs over dicts known only at run time
        return _rendering_step(task, context, command, [], [])
    if not isinstance(command, str):
        shown = command.source if isinstance(command, Unresolved) else repr(command)
        reason = diag("A2K306", f"bash_command could not be read statically: {shown}", **where)
        return placeholder(task, context, reason, "bash_command unknown")
    found: list[Diagnostic] = []
    notes: list[str] = []
    # Airflow treats the command as a file name only when it ends exactly with the extension
    if command.endswith(SCRIPT_SUFFIXES):
        script = read_template(command, "bash_command", context.dag, context.location, where)
        if isinstance(script, Diagnostic):
            found.append(script)
        else:
            notes.append(f"script {command} inlined" + _found_through(script))
            command = script.text
    if _needs_run_time(task, context.dag, command):
        return _rendering_step(task, context, command, found, notes)
    # the image: chosen from the programs the command calls (mapping/bash_images.py)
    image = step_image(command, context.options.bash_image, dict(context.options.tool_images), where, task)
    found += image.diagnostics
    notes += image.notes
    parameters: dict[str, PipelineParameter] = {}
    value: Any = translate_value(
        command,
        task,
        context.dag,
        "bash_command",
        found,
        parameters,
        xcom.text_pulls(context.dag, task, found),
    )
    cwd = task.args.get("cwd")
    if isinstance(cwd, str):
        prefix = f"cd {shlex.quote(cwd)} || exit 1\n"  # a line of its own: scripts start with #!
        if isinstance(value, Interpolated):
            first, *rest = value.parts
            value = Interpolated(
                (prefix + first, *rest) if isinstance(first, str) else (prefix, first, *rest)
            )
        else:
            value = prefix + str(value)
    calls: list[str] = []
    env = translate_value(task.args.get("env"), task, context.dag, "env", found, parameters)
    if isinstance(env, dict):
        calls += env_calls(env)
        if task.args.get("append_env") is not True:
            found.append(
                diag(
                    "A2K303",
                    "env: Airflow runs the command with only these variables (append_env "
                    "is False); the step also keeps the image's environment",
                    **where,
                )
            )
    elif env is not None:
        found.append(diag("A2K306", f"env could not be read statically: {env!r}", **where))
    skip_codes = _skip_exit_codes(task, command)
    if skip_codes:
        found.append(
            diag(
                "A2K320",
                f"exit code {', '.join(map(str, skip_codes))} marks the task skipped in "
                "Airflow (skip_on_exit_code); in KFP the step fails instead",
                **where,
            )
        )
        notes.append("skip_on_exit_code: fails instead of skipping")
    note = time_macro_note(parameters)
    if any(d.code == "A2K302" for d in found):
        notes.append("Jinja template kept verbatim")
    approximated = not image.complete or any(
        d.code in ("A2K302", "A2K306", "A2K320", "A2K337") for d in found
    )
    pushes = (
        "return_value" in consumed_outputs(context.dag, task.task_id)
        and xcom.producer_format(task) == xcom.TEXT
    )
    return TaskMapping(
        task_id=task.task_id,
        fidelity=Fidelity.APPROXIMATED if approximated else Fidelity.DIRECT,
        component=(xcom_component if pushes else component)(image.image, context.options.bash_image),
        arguments={"command": value},
        task_calls=tuple(calls),
        diagnostics=tuple(found),
        notes=tuple(notes) + ((note,) if note else ()),
        parameters=tuple(parameters.values()),
        imports=k8s_imports(calls),
    )


def _needs_run_time(task: Task, dag: Dag, command: str) -> bool:
    """Whether a templated field needs what only the run has (a Variable, a macro, an XCom in env or
    cwd, or one the command uses other than as its text): then the step renders its templates."""

    def kept(value: object, pulls: PullResolver | None = None) -> bool:
        return has_template(value) and bool(translate(str(value), task, dag, pulls).kept)

    env, cwd = task.args.get("env"), task.args.get("cwd")
    if isinstance(env, LoopValue):  # mapped over dicts known at run time: the item is the whole env
        return True
    values = [cwd, *(env.values() if isinstance(env, dict) else ())]
    return kept(command, xcom.text_pulls(dag, task, [])) or any(
        isinstance(v, XComRef) or kept(v) for v in values
    )


_RUN_OPTIONS = ("bash_command", "env", "append_env", "cwd")  # what `_run_bash` takes from an item


def _rendering_step(
    task: Task, context: MappingContext, command: object, found: list[Diagnostic], notes: list[str]
) -> TaskMapping:
    """A Python step rendering the command, env and cwd with the run context, then running the command
    as BashOperator does; its last output line is its output when another task reads it."""
    dag, where = context.dag, task_location(task)
    step = StepContext(task, dag)
    parameters: dict[str, PipelineParameter] = {}
    ident = step_identifier(task)
    inputs = _Inputs({f"{ident}_step", "_json", "_file", "_result", "_when", *SHIM_NAMES})

    def templated(value: object, field_name: str) -> object:
        if isinstance(value, str) and has_template(value):
            step.template(value, field_name)
            return Rendered(value)
        return value

    def source(value: object, field_name: str) -> str:
        if isinstance(value, XComRef):  # Airflow passes the XComArg's value, not rendered again
            return _xcom_input(inputs, xcom.input_name(value), value, task, dag, found)
        return _pass_inline(inputs, field_name, templated(value, field_name), task, dag, found)

    options = [source(command, "bash_command")]
    env = task.args.get("env")
    if isinstance(env, dict):
        rendered_env = {str(k): templated(v, f"env[{k!r}]") for k, v in env.items()}
        options.append("env=" + _pass_inline(inputs, "env", rendered_env, task, dag, found))
        if task.args.get("append_env") is True:
            options.append("append_env=True")
    elif isinstance(env, LoopValue):  # the loop item: a JSON object of the variables
        options.append("env=" + inputs.add("env", "str", env))
        if task.args.get("append_env") is True:
            options.append("append_env=True")
    elif env is not None:
        found.append(diag("A2K306", f"env could not be read statically: {env!r}", **where))
    cwd = task.args.get("cwd")
    if cwd is not None:
        options.append("cwd=" + source(cwd, "cwd"))
    item = task.mapped_args.get("*")
    if isinstance(item, WholeItem):  # expand_kwargs: the item's arguments over the partial's
        kwargs = inputs.add("mapped_kwargs", "str", item)
        given = ", ".join(
            [
                f"'command': {options[0]}",
                *(f"{o.split('=', 1)[0]!r}: {o.split('=', 1)[1]}" for o in options[1:]),
            ]
        )
        taken = f"{{_RUN_NAMES.get(_k, _k): _v for _k, _v in {kwargs}.items() if _k in {_RUN_OPTIONS!r}}}"
        options = [f"**{{{given}, **{taken.replace('_RUN_NAMES', repr({'bash_command': 'command'}))}}}"]
        notes.append(
            "expand_kwargs: each item's bash_command, env, append_env and cwd, as Airflow passes them"
        )
    context_lines = step.lines(inputs, parameters)
    found += step.found
    skip_codes = _skip_exit_codes(task, command if isinstance(command, str) else "")
    if skip_codes:
        found.append(
            diag(
                "A2K320",
                f"exit code {', '.join(map(str, skip_codes))} marks the task skipped in "
                "Airflow (skip_on_exit_code); in KFP the step fails instead",
                **where,
            )
        )
        notes.append("skip_on_exit_code: fails instead of skipping")
    if step.unrenderable is not None:  # Airflow fails rendering the templates before the command runs
        return placeholder(task, context, step.unrenderable, "templates need values the step cannot serve")
    step.parts.add("bash")
    pushes = "return_value" in consumed_outputs(dag, task.task_id) and xcom.producer_format(task) == xcom.TEXT
    body = (["import json as _json"] if any("_json." in line for line in inputs.decode) else []) + [
        "",
        "# the run context, as Airflow serves it (airflow2kfp's context shim)",
        *shim_lines(step.parts),
        "",
        *inputs.decode,
        *context_lines,
        f"{'_result = ' if pushes else ''}_run_bash({', '.join(options)})",
        *(["return _result"] if pushes else []),
    ]
    packages = [JINJA_PACKAGE] if "render" in step.parts else []
    code = _code(
        f"{ident}_step",
        task,
        inputs.signature,
        "str" if pushes else "",
        body,
        context.options.python_image,
        packages,
    )
    imports = (
        ("from kfp.components import InputPath",) if any("InputPath()" in s for s in inputs.signature) else ()
    )
    notes.append(
        "templates rendered in the step with jinja2, as Airflow renders them"
        if "render" in step.parts
        else "runs the command an upstream task returned, as Airflow does"
    )
    note = time_macro_note(parameters)
    approximated = any(d.code in APPROXIMATING for d in found)
    return TaskMapping(
        task_id=task.task_id,
        fidelity=Fidelity.APPROXIMATED if approximated else Fidelity.DIRECT,
        component=ComponentDef(
            key=f"PY_{ident.upper()}",
            description=f"Airflow task {task.task_id!r}: BashOperator, its templates rendered in the step.",
            code=code,
            imports=imports,
        ),
        arguments=inputs.arguments,
        diagnostics=tuple(found),
        notes=tuple(notes) + ((note,) if note else ()),
        parameters=tuple(parameters.values()),
    )


__all__ = ["FAMILY", "TEMPLATE_MARKERS", "component", "has_template", "map_bash"]

FAMILY = OperatorFamily(
    name="bash",
    description="BashOperator: a container running the command with bash -c (scripts, env, cwd, macros).",
    operators=frozenset({"BashOperator"}),
    map_task=map_bash,
)
