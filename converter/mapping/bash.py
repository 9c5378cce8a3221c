"""BashOperator -> a container step running the command with `bash -c`, as Airflow does."""

from __future__ import annotations

from converter.diagnostics import diag
from converter.mapping.base import (
    ComponentDef,
    Fidelity,
    MappingContext,
    OperatorFamily,
    TaskMapping,
)
from converter.mapping.placeholder import placeholder
from converter.model import Task, Unresolved

TEMPLATE_MARKERS = ("{{", "{%")


def component(image: str) -> ComponentDef:
    return ComponentDef(
        key="BASH",
        description="Runs an Airflow BashOperator command with `bash -c`.",
        spec={
            "name": "bash",
            "description": "Runs a shell command with bash -c, as Airflow's BashOperator does.",
            "inputs": [{"name": "command", "type": "String"}],
            "implementation": {
                "container": {"image": image, "command": ["bash", "-c", {"inputValue": "command"}]}
            },
        },
    )


def map_bash(task: Task, context: MappingContext) -> TaskMapping:
    command = task.args.get("bash_command")
    where = {"file": task.span.file, "line": task.span.line, "col": task.span.col, "task_id": task.task_id}
    if not isinstance(command, str):
        shown = command.source if isinstance(command, Unresolved) else repr(command)
        reason = diag("A2K306", f"bash_command could not be read statically: {shown}", **where)
        return placeholder(task, context, reason, "bash_command unknown")
    diagnostics = []
    notes = []
    if any(marker in command for marker in TEMPLATE_MARKERS):
        diagnostics.append(diag("A2K302", "bash_command uses a Jinja template, kept verbatim", **where))
        notes.append("Jinja template kept verbatim")
    return TaskMapping(
        task_id=task.task_id,
        fidelity=Fidelity.APPROXIMATED if diagnostics else Fidelity.DIRECT,
        component=component(context.options.bash_image),
        arguments={"command": command},
        diagnostics=tuple(diagnostics),
        notes=tuple(notes),
    )


FAMILY = OperatorFamily(
    name="bash",
    description="BashOperator and @task.bash: a container running the command with bash -c.",
    operators=frozenset({"BashOperator"}),
    map_task=map_bash,
)
