"""The KFP v2 target of one DAG: emit (emit/v2.py), compile with kfp 2.x (kfp2/client.py), self-check
the IR (compiled/ir_check.py). Returns a value and diagnostics; never raises for a DAG's shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow2kfp.compiled.ir_check import check_ir
from airflow2kfp.diagnostics import Diagnostic, diag
from airflow2kfp.emit.python import EmitPlan
from airflow2kfp.emit.v2 import DEFAULT_OPTIONS, V2Unsupported, build_v2
from airflow2kfp.kfp2.client import compile_v2, find_kfp2_python
from airflow2kfp.mapping.base import MappingOptions, TaskMapping
from airflow2kfp.model import Dag
from airflow2kfp.results import RecurringRun, Status, V2Result, V2Task


def convert_v2(
    dag: Dag,
    plan: EmitPlan,
    mappings: Mapping[str, TaskMapping],
    airflow_edges: Sequence[tuple[str, str]],
    recurring: RecurringRun | None,
    kfp2_python: str | None,
    options: MappingOptions = DEFAULT_OPTIONS,
) -> tuple[V2Result, tuple[Diagnostic, ...]]:
    where: dict[str, Any] = {"file": dag.span.file, "line": dag.span.line, "dag_id": dag.dag_id}
    try:
        v2 = build_v2(dag, plan, mappings, options)
    except V2Unsupported as error:
        message = f"no KFP v2 pipeline: {error}"
        return V2Result(Status.FAILED, None, None, None, error=message), (diag("A2K802", message, **where),)
    found: list[Diagnostic] = []
    for task_id, calls in v2.dropped_calls.items():
        task = dag.task(task_id)
        found.append(
            diag(
                "A2K805",
                f"not in the v2 pipeline: {', '.join(calls)}",
                file=task.span.file,
                line=task.span.line,
                col=task.span.col,
                task_id=task_id,
                dag_id=dag.dag_id,
            )
        )
    for task_id, task_plan in v2.tasks.items():
        task = dag.task(task_id)
        for difference in task_plan.differences:
            found.append(
                diag(
                    "A2K806",
                    f"v2: {difference}",
                    file=task.span.file,
                    line=task.span.line,
                    col=task.span.col,
                    task_id=task_id,
                    dag_id=dag.dag_id,
                )
            )
    python = find_kfp2_python(kfp2_python)
    if python is None:
        message = (
            "no kfp 2.x interpreter: run scripts/setup_kfp2_env.sh, or pass --kfp2-python "
            "(or set AIRFLOW2KFP_KFP2_PYTHON)"
        )
        return (
            V2Result(Status.FAILED, v2.source, None, None, error=message),
            (*found, diag("A2K801", message, **where)),
        )
    compiled = compile_v2(v2.source, python)
    if compiled.yaml_text is None:
        message = f"kfp 2.x's compiler failed: {compiled.error}"
        return V2Result(Status.FAILED, v2.source, None, None, error=message), (
            *found,
            diag("A2K803", message, **where),
        )
    verdict, reading = check_ir(
        compiled.yaml_text, [t.task_id for t in dag.tasks], airflow_edges, list(v2.tasks), v2.helper_steps
    )
    if not verdict.exact or verdict.problems:
        found.append(diag("A2K804", f"v2 ordering differs from Airflow: {verdict.summary()}", **where))
    steps = {step.display_name: "/".join(step.path) for step in reading.steps} if reading else {}
    tasks = tuple(
        V2Task(
            task_id=t.task_id,
            step=steps.get(t.task_id),
            conditions=tuple(f"{c.source}.{c.output} == true" for c in v2.tasks[t.task_id].conditions),
            ignore_upstream_failure=v2.tasks[t.task_id].ignore_upstream_failure,
            exit_handler=v2.tasks[t.task_id].exit_handler,
            region=v2.tasks[t.task_id].region,
            semantics="differs" if v2.tasks[t.task_id].differences else "exact",
            differences=v2.tasks[t.task_id].differences,
        )
        if t.task_id in v2.tasks
        else V2Task(task_id=t.task_id, step=None)
        for t in dag.tasks
    )
    status = Status.CONVERTED if verdict.exact and not verdict.problems else Status.FAILED
    return V2Result(status, v2.source, compiled.yaml_text, verdict, tasks, recurring), tuple(found)
