"""SubDagOperator: the sub-DAG's tasks inlined into the parent DAG as a group, ordering kept.

Airflow 2 runs a SubDagOperator as a sensor that starts a run of another DAG (by convention
`<parent>.<task_id>`, built by a helper function) and waits for it; Airflow 3 removed it in favour
of TaskGroups, which is what the sub-DAG becomes here: its tasks get ids `<task_id>.<task>` in the
group `<task_id>` (below the SubDagOperator's own group), its edges are kept, the parent's edges
into the SubDagOperator go to the sub-DAG's roots and those out of it leave from its leaves. The
sub-DAG is then no DAG of its own (Airflow 2 never schedules a sub-DAG by itself either).

Both readers give the same model: the static reader finds the sub-DAG wherever the file's code
builds it, the Airflow import lists it among the file's DAGs (`DagBag` adds sub-DAGs); the
SubDagOperator's `subdag` argument names it (`DagRef`). A SubDagOperator whose sub-DAG is not among
the file's DAGs stays a task, which mapping makes a placeholder.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from airflow2kfp.model import Dag, DagRef, MappedArg, Task, XComRef

OPERATOR = "SubDagOperator"


def inline_subdags(dags: Sequence[Dag]) -> tuple[Dag, ...]:
    """The file's DAGs with every sub-DAG a SubDagOperator runs inlined into its parent."""
    by_id = {dag.dag_id: dag for dag in dags}
    inlined: set[str] = set()
    done: dict[str, Dag] = {}

    def resolve(dag: Dag, seen: tuple[str, ...]) -> Dag:
        if dag.dag_id in done:
            return done[dag.dag_id]
        result = dag
        for task in dag.tasks:
            ref = task.args.get("subdag") if _is_subdag_operator(task) else None
            if not isinstance(ref, DagRef) or ref.dag_id not in by_id or ref.dag_id in seen + (dag.dag_id,):
                continue
            child = resolve(by_id[ref.dag_id], seen + (dag.dag_id,))
            result = _inline(result, task.task_id, child)
            inlined.add(ref.dag_id)
        done[dag.dag_id] = result
        return result

    resolved = [resolve(dag, ()) for dag in dags]
    return tuple(dag for dag in resolved if dag.dag_id not in inlined)


def _is_subdag_operator(task: Task) -> bool:
    return task.operator == OPERATOR and (
        task.operator_module == "airflow" or task.operator_module.startswith("airflow.")
    )


def _inline(parent: Dag, task_id: str, child: Dag) -> Dag:
    """`parent` with its task `task_id` replaced by `child`'s tasks, in a group named `task_id`."""
    operator = parent.task(task_id)
    prefix = f"{task_id}."

    def renamed(value: Any) -> Any:
        if isinstance(value, XComRef):
            return dataclasses.replace(value, task_id=prefix + value.task_id)
        if isinstance(value, MappedArg):
            return MappedArg(prefix + value.group_id, value.key)
        if isinstance(value, dict):
            return {k: renamed(v) for k, v in value.items()}
        if isinstance(value, list):
            return [renamed(v) for v in value]
        if isinstance(value, tuple):
            return tuple(renamed(v) for v in value)
        return value

    tasks: list[Task] = []
    for task in parent.tasks:
        if task.task_id != task_id:
            tasks.append(task)
            continue
        for inner in child.tasks:  # in the sub-DAG's place, in its order
            tasks.append(
                dataclasses.replace(
                    inner,
                    task_id=prefix + inner.task_id,
                    group_id=prefix + inner.group_id if inner.group_id else task_id,
                    args=dataclasses.replace(inner.args, values=renamed(dict(inner.args.values))),
                    mapped_args=renamed(dict(inner.mapped_args)),
                )
            )
    ids = [t.task_id for t in child.tasks]
    has_up = {down for _, down in child.edges}
    has_down = {up for up, _ in child.edges}
    roots = [prefix + t for t in ids if t not in has_up]
    leaves = [prefix + t for t in ids if t not in has_down]
    edges: list[tuple[str, str]] = []
    if not ids:  # an empty sub-DAG still orders what is before it before what is after it
        edges += [
            (u, d) for u, to in parent.edges if to == task_id for at, d in parent.edges if at == task_id
        ]
    for up, down in parent.edges:
        if task_id in (up, down) and not ids:
            continue
        ups = leaves if up == task_id else [up]
        downs = roots if down == task_id else [down]
        edges += [(u, d) for u in ups for d in downs]
    edges += [(prefix + up, prefix + down) for up, down in child.edges]
    groups = dict(parent.task_groups)
    groups[task_id] = (operator.group_id, f"sub-DAG {child.dag_id} (SubDagOperator)")
    groups.update(
        {prefix + gid: (prefix + p if p else task_id, tip) for gid, (p, tip) in child.task_groups.items()}
    )
    return dataclasses.replace(
        parent,
        tasks=tuple(tasks),
        edges=tuple(dict.fromkeys(edges)),
        edge_labels={(prefix + u, prefix + d): label for (u, d), label in child.edge_labels.items()}
        | {edge: label for edge, label in parent.edge_labels.items() if task_id not in edge},
        task_groups=groups,
        mapped_groups={
            **parent.mapped_groups,
            **{prefix + g: renamed(dict(m)) for g, m in child.mapped_groups.items()},
        },
        subdags={
            **parent.subdags,
            task_id: child.dag_id,
            **{prefix + t: d for t, d in child.subdags.items()},
        },
    )
