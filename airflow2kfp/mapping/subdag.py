"""SubDagOperator whose sub-DAG was not found in the file -> a placeholder saying so.

A SubDagOperator whose sub-DAG the reader found is no task any more: the sub-DAG's tasks are inlined
into the parent DAG as a group (airflow2kfp/parse/subdags.py). What is left here runs a DAG the
converter never saw (built in another module, or from values known only at run time); running the
operator in an Airflow image would start a DAG run that no scheduler executes, so it is a
placeholder.
"""

from __future__ import annotations

from airflow2kfp.diagnostics import diag
from airflow2kfp.mapping.base import MappingContext, OperatorFamily, TaskMapping, task_location
from airflow2kfp.mapping.placeholder import placeholder
from airflow2kfp.model import DagRef, Task, Unresolved


def map_subdag(task: Task, context: MappingContext) -> TaskMapping:
    subdag = task.args.get("subdag")
    shown = (
        subdag.dag_id
        if isinstance(subdag, DagRef)
        else subdag.source
        if isinstance(subdag, Unresolved)
        else None
    )
    reason = diag(
        "A2K306",
        f"SubDagOperator: its sub-DAG {shown or '(unknown)'} is not one of this file's DAGs, so "
        "its tasks are not converted; build it in this file, or convert with --mode airflow",
        **task_location(task),
    )
    return placeholder(task, context, reason, "sub-DAG not converted")


FAMILY = OperatorFamily(
    name="subdag",
    description="SubDagOperator: the sub-DAG's tasks inlined as a group (a placeholder when the sub-DAG is "
    "not in the file).",
    operators=frozenset({"SubDagOperator"}),
    map_task=map_subdag,
)
