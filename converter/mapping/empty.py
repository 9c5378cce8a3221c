"""EmptyOperator / DummyOperator: removed, with the ordering they carried kept between the others.

An empty task only orders other tasks, so removing it and linking its upstreams to its downstreams
keeps the ordering exactly. It is kept as a no-op step when asked (--keep-empty) or when its trigger
rule is not all_success (then it is a join whose firing condition matters).
"""

from __future__ import annotations

from converter.mapping.base import (
    ComponentDef,
    Fidelity,
    MappingContext,
    OperatorFamily,
    TaskMapping,
)
from converter.model import DEFAULT_TRIGGER_RULE, Task

def noop(image: str) -> ComponentDef:
    return ComponentDef(
        key="NOOP",
        description="A step that does nothing, standing in for an Airflow EmptyOperator.",
        spec={
            "name": "noop",
            "description": "Does nothing; keeps the place of an Airflow EmptyOperator.",
            "implementation": {"container": {"image": image, "command": ["true"]}},
        },
    )


def is_removable(task: Task, keep_empty: bool) -> bool:
    return not keep_empty and task.trigger_rule == DEFAULT_TRIGGER_RULE and not task.is_mapped


def map_empty(task: Task, context: MappingContext) -> TaskMapping:
    if is_removable(task, context.options.keep_empty):
        return TaskMapping(task_id=task.task_id, fidelity=Fidelity.REMOVED, component=None,
                           notes=("EmptyOperator removed; its ordering is kept",))
    return TaskMapping(task_id=task.task_id, fidelity=Fidelity.DIRECT, component=noop(context.options.utility_image))


FAMILY = OperatorFamily(
    name="empty",
    description="EmptyOperator / DummyOperator: removed, ordering kept (or a no-op step with --keep-empty).",
    operators=frozenset({"EmptyOperator", "DummyOperator"}),
    map_task=map_empty,
)
