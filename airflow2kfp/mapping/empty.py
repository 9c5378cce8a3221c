"""EmptyOperator / DummyOperator: removed, with the ordering they carried kept between the others.

An empty task only orders other tasks, so removing it and linking its upstreams to its downstreams
keeps the ordering exactly. It is kept as a no-op step when asked (--keep-empty) or when its state
matters: its trigger rule is not all_success (a join whose firing condition matters), a branch or
short-circuit decides it (it stands for a path that can be skipped), or a task after it has a rule
other than all_success (that rule counts it; all_success over its upstreams is the same decision).
"""

from __future__ import annotations

from airflow2kfp.mapping.base import (
    ComponentDef,
    Fidelity,
    MappingContext,
    OperatorFamily,
    TaskMapping,
)
from airflow2kfp.mapping.control_flow import effective_rule, is_branch, is_short_circuit
from airflow2kfp.model import DEFAULT_TRIGGER_RULE, Dag, Task


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


def is_removable(task: Task, dag: Dag, keep_empty: bool) -> bool:
    if keep_empty or effective_rule(task) != DEFAULT_TRIGGER_RULE or task.is_mapped:
        return False
    if any(is_branch(dag.task(up)) or is_short_circuit(dag.task(up)) for up in dag.upstream(task.task_id)):
        return False
    downstream = [down for up, down in dag.edges if up == task.task_id]
    return all(effective_rule(dag.task(down)) == DEFAULT_TRIGGER_RULE for down in downstream)


def map_empty(task: Task, context: MappingContext) -> TaskMapping:
    if is_removable(task, context.dag, context.options.keep_empty):
        return TaskMapping(
            task_id=task.task_id,
            fidelity=Fidelity.REMOVED,
            component=None,
            notes=("EmptyOperator removed; its ordering is kept",),
        )
    return TaskMapping(
        task_id=task.task_id, fidelity=Fidelity.DIRECT, component=noop(context.options.utility_image)
    )


FAMILY = OperatorFamily(
    name="empty",
    description="EmptyOperator / DummyOperator: removed, ordering kept (or a no-op step with --keep-empty).",
    operators=frozenset({"EmptyOperator", "DummyOperator"}),
    map_task=map_empty,
)
