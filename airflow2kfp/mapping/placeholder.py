"""Tasks no family maps: a clearly marked step that fails when run, so nothing passes silently."""

from __future__ import annotations

from airflow2kfp.diagnostics import Diagnostic, diag
from airflow2kfp.mapping.base import ComponentDef, Fidelity, MappingContext, TaskMapping, task_location
from airflow2kfp.model import Task


def component(image: str) -> ComponentDef:
    return ComponentDef(
        key="PLACEHOLDER",
        description="Stands in for an Airflow task that was not converted; fails when run.",
        spec={
            "name": "placeholder",
            "description": "Not converted from Airflow: replace this step with a real component.",
            "inputs": [{"name": "operator", "type": "String"}, {"name": "task_id", "type": "String"}],
            "implementation": {
                "container": {
                    "image": image,
                    "command": [
                        "sh",
                        "-c",
                        'echo "airflow2kfp placeholder: Airflow task $1 ($0) was not converted" >&2; exit 1',
                        {"inputValue": "operator"},
                        {"inputValue": "task_id"},
                    ],
                }
            },
        },
    )


def placeholder(task: Task, context: MappingContext, reason: Diagnostic, note: str) -> TaskMapping:
    """A placeholder step for `task`, with the diagnostic saying why it is one."""
    return TaskMapping(
        task_id=task.task_id,
        fidelity=Fidelity.PLACEHOLDER,
        component=component(context.options.utility_image),
        arguments={"operator": task.qualified_operator, "task_id": task.task_id},
        diagnostics=(reason,),
        notes=(note,),
    )


def map_unknown(task: Task, context: MappingContext) -> TaskMapping:
    return placeholder(
        task,
        context,
        diag(
            "A2K301",
            f"no mapping for operator {task.qualified_operator}; emitted a placeholder step",
            **task_location(task),
        ),
        f"placeholder for {task.operator}",
    )
