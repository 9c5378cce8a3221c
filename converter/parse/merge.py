"""Combine the static reading of a DAG file with Airflow's import of it.

The import is ground truth for what a DAG *is* (its tasks, edges, argument values); the static
reading knows where things *are* (file:line of every task, callable source) and fills whatever the
import lacks. Where the two readings disagree on a DAG's tasks or edges, an A2K605 warning says
how, since that usually means code the static reader cannot follow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from converter.diagnostics import Diagnostic, Severity, diag
from converter.model import Dag, ParsedFile, PythonCallable, Task, TaskArgs

MERGED_MODE = "airflow+static"
# static findings an import settles: the values and names exist once Airflow has run the file
RESOLVED_BY_IMPORT = frozenset({"A2K203", "A2K204", "A2K205"})
# the static reading stopped over one of its budgets: the import read what it could not
STATIC_BUDGETS = frozenset({"A2K110", "A2K111", "A2K112", "A2K113"})
MAX_LISTED = 10


def merge(static: ParsedFile, imported: ParsedFile) -> ParsedFile:
    """One reading from two: Airflow's tasks and edges, the static reader's locations."""
    if not imported.dags:
        # the import failed or found nothing: the static reading is all there is
        said = {d.code for d in imported.diagnostics}  # "no DAG here" once, in Airflow's words
        return dataclasses.replace(static, diagnostics=imported.diagnostics + tuple(
                                       d for d in static.diagnostics if not (d.code == "A2K104" and d.code in said)),
                                   not_a_dag_file=static.not_a_dag_file and imported.not_a_dag_file)
    static_dags = {dag.dag_id: dag for dag in static.dags}
    dags = tuple(_merge_dag(static_dags.get(dag.dag_id), dag) for dag in imported.dags)
    notes = [_disagreement(static_dags.get(dag.dag_id), dag) for dag in imported.dags]
    notes += [_static_only_dag(dag) for dag in static.dags if dag.dag_id not in {d.dag_id for d in imported.dags}]
    return ParsedFile(
        path=static.path or imported.path,
        dags=dags,
        diagnostics=imported.diagnostics + tuple(n for n in notes if n) + _settled(static, imported),
        not_a_dag_file=False,
    )


# -- one DAG ------------------------------------------------------------------------------------


def _merge_dag(static: Dag | None, imported: Dag) -> Dag:
    if static is None:
        return imported  # a DAG only the import can see (dynamic dag_id, factory, ...)
    static_tasks = {task.task_id: task for task in static.tasks}
    imported_edges = set(imported.edges)
    return dataclasses.replace(
        imported,
        span=static.span,
        tasks=tuple(_merge_task(static_tasks.get(task.task_id), task) for task in imported.tasks),
        settings=_fill(imported.settings, static.settings),
        description=imported.description if imported.description is not None else static.description,
        edge_labels=_fill(imported.edge_labels,
                          {edge: label for edge, label in static.edge_labels.items() if edge in imported_edges}),
        task_groups=_fill(imported.task_groups, static.task_groups),
        mapped_groups=_fill(imported.mapped_groups, static.mapped_groups),
        source_mode=MERGED_MODE,
        airflow_version=imported.airflow_version or static.airflow_version,
    )


def _merge_task(static: Task | None, imported: Task) -> Task:
    if static is None:
        return imported
    values = _fill(imported.args.values, static.args.values)
    explicit = imported.args.explicit | (static.args.explicit & frozenset(values))
    return dataclasses.replace(
        imported,
        span=static.span,  # Airflow does not know where in the file a task was created
        args=TaskArgs(values=values, explicit=explicit),
        python_callable=_merge_callable(static.python_callable, imported.python_callable),
        # a class the repo defines: the bases the static reading saw, where the import recorded none
        operator_bases=imported.operator_bases or (static.operator_bases if static.operator == imported.operator
                                                   else ()),
    )


def _merge_callable(static: PythonCallable | None, imported: PythonCallable | None) -> PythonCallable | None:
    if imported is None or static is None:
        return imported or static
    bound = imported.bound_object
    if bound is not None and static.bound_object is not None and static.bound_object.source is not None:
        # the constructor call as written reads better than the attributes the import recorded
        bound = dataclasses.replace(bound, source=static.bound_object.source)
    return dataclasses.replace(
        imported,
        source=imported.source if imported.source is not None else static.source,
        span=static.span or imported.span,
        module=imported.module or static.module,
        module_source=imported.module_source or static.module_source,
        bound_object=bound or static.bound_object,
        partial_args=imported.partial_args or static.partial_args,
        partial_kwargs=imported.partial_kwargs or static.partial_kwargs,
        cells={**static.cells, **imported.cells},
    )


def _fill(primary: Mapping[Any, Any], secondary: Mapping[Any, Any]) -> dict[Any, Any]:
    """`primary` with the keys only `secondary` has added (primary wins on shared keys)."""
    return {**{k: v for k, v in secondary.items() if k not in primary}, **primary}


# -- where the readings differ ------------------------------------------------------------------


def _disagreement(static: Dag | None, imported: Dag) -> Diagnostic | None:
    if static is None:
        return None
    parts = []
    static_ids = {task.task_id for task in static.tasks}
    imported_ids = {task.task_id for task in imported.tasks}
    parts += _difference("tasks", static_ids, imported_ids)
    parts += _difference("edges", set(static.edges), set(imported.edges))
    if not parts:
        return None
    return diag(
        "A2K605",
        f"DAG {imported.dag_id!r}: " + "; ".join(parts) + ". Airflow's reading is used.",
        file=static.span.file, line=static.span.line, col=static.span.col, dag_id=imported.dag_id,
    )


def _difference(kind: str, static: set[Any], imported: set[Any]) -> list[str]:
    parts = []
    if static - imported:
        parts.append(f"static reading found {kind} {_listed(static - imported)} that Airflow does not have")
    if imported - static:
        parts.append(f"Airflow has {kind} {_listed(imported - static)} the static reading missed")
    return parts


def _listed(items: Iterable[Any]) -> str:
    ordered = sorted(items)
    shown = ", ".join(_show(item) for item in ordered[:MAX_LISTED])
    more = f" and {len(ordered) - MAX_LISTED} more" if len(ordered) > MAX_LISTED else ""
    return f"[{shown}{more}]"


def _show(item: Any) -> str:
    return f"{item[0]} >> {item[1]}" if isinstance(item, tuple) else str(item)


def _static_only_dag(dag: Dag) -> Diagnostic:
    return diag(
        "A2K605",
        f"The static reading found DAG {dag.dag_id!r}, which Airflow did not load from this file; it is dropped.",
        file=dag.span.file, line=dag.span.line, col=dag.span.col, dag_id=dag.dag_id,
    )


def _settled(static: ParsedFile, imported: ParsedFile) -> tuple[Diagnostic, ...]:
    """Static diagnostics, with those the import settled downgraded to info (and a note why)."""
    read_fine = {dag.dag_id for dag in imported.dags}
    file_fine = not any(d.code == "A2K601" for d in imported.diagnostics)
    kept = []
    for found in static.diagnostics:
        if found.code == "A2K104":
            continue  # "no DAG found" statically; Airflow found some
        settled = found.dag_id in read_fine if found.dag_id is not None else file_fine
        if found.code in RESOLVED_BY_IMPORT and settled:
            found = dataclasses.replace(
                found, severity=Severity.INFO,
                message=f"{found.message} (settled: Airflow's import read this DAG, its values are used)",
            )
        elif found.code == "A2K206" and settled:  # Airflow keeps one DAG per dag_id: the import's is converted
            if any(d.code == "A2K206" and d.dag_id == found.dag_id for d in imported.diagnostics):
                continue  # the import said it, in Airflow's terms
            found = dataclasses.replace(
                found, severity=Severity.WARNING,
                message=f"{found.message} Airflow's import keeps one DAG of that dag_id (the last one built), "
                        "which is converted.",
            )
        elif found.code in STATIC_BUDGETS and settled:
            found = dataclasses.replace(
                found, severity=Severity.WARNING,
                message=f"{found.message} Airflow's import read the file and is used as it is, without the "
                        "static reading's lines and callable sources.",
            )
        kept.append(found)
    return tuple(kept)
