"""Combine the static reading of a DAG file with Airflow's import of it.

The import is ground truth for what a DAG *is* (its tasks, edges, argument values); the static
reading knows where things *are* (file:line of every task, callable source) and fills whatever the
import lacks. Where the two readings disagree on a DAG's tasks or edges, an A2K605 warning says
how, since that usually means code the static reader cannot follow.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Iterable, Mapping
from typing import Any

from airflow2kfp.diagnostics import Diagnostic, Severity, diag
from airflow2kfp.model import (
    Dag,
    ParsedFile,
    PythonCallable,
    Task,
    TaskArgs,
    Unresolved,
    XComConcat,
    XComMap,
    XComZip,
)

MERGED_MODE = "airflow+static"
# static errors an import settles: the dependencies, task ids and dag ids exist once Airflow has run
# the file, and its reading is the one converted; Airflow refuses duplicate and invalid ids itself, so
# a DAG it loaded has none (a duplicate the static reading saw came from a name it could not evaluate)
RESOLVED_BY_IMPORT = frozenset({"A2K201", "A2K203", "A2K205", "A2K208", "A2K209"})
# a static warning an import settles: the value is Airflow's; kept as information
VALUE_BY_IMPORT = frozenset({"A2K204"})
# the static reading stopped over one of its budgets: the import read what it could not
STATIC_BUDGETS = frozenset({"A2K110", "A2K111", "A2K112", "A2K113"})
MAX_LISTED = 10
# the import did not read all of the file
IMPORT_FAILED = frozenset({"A2K601", "A2K602", "A2K603", "A2K606", "A2K612"})


def merge(static: ParsedFile, imported: ParsedFile) -> ParsedFile:
    """One reading from two: Airflow's tasks and edges, the static reader's locations."""
    if not imported.dags:
        # the import failed or found nothing: the static reading is all there is
        said = {d.code for d in imported.diagnostics}  # "no DAG here" once, in Airflow's words
        return dataclasses.replace(
            static,
            diagnostics=imported.diagnostics
            + tuple(d for d in static.diagnostics if not (d.code == "A2K104" and d.code in said)),
            not_a_dag_file=static.not_a_dag_file and imported.not_a_dag_file,
        )
    static_dags = {dag.dag_id: dag for dag in static.dags}
    dags = tuple(_merge_dag(static_dags.get(dag.dag_id), dag) for dag in imported.dags)
    notes = [_disagreement(static_dags.get(dag.dag_id), dag) for dag in imported.dags]
    notes += [
        _static_only_dag(dag) for dag in static.dags if dag.dag_id not in {d.dag_id for d in imported.dags}
    ]
    return ParsedFile(
        path=static.path or imported.path,
        dags=dags,
        diagnostics=imported.diagnostics + tuple(n for n in notes if n) + _settled(static, imported),
        not_a_dag_file=False,
        location=static.location or imported.location,
    )


# -- one DAG ------------------------------------------------------------------------------------


def _merge_dag(static: Dag | None, imported: Dag) -> Dag:
    if static is None:
        return imported  # a DAG only the import can see (dynamic dag_id, factory, ...)
    static_tasks = {task.task_id: task for task in static.tasks}
    imported_edges = set(imported.edges)
    # Airflow keeps a task's neighbours as sets: the order the DAG file wrote them in (a branch's
    # candidates, say) is the static reading's
    written = {edge: index for index, edge in enumerate(static.edges)}
    edges = tuple(sorted(imported.edges, key=lambda edge: (edge not in written, written.get(edge, 0))))
    return dataclasses.replace(
        imported,
        span=static.span,
        edges=edges,
        tasks=tuple(_merge_task(static_tasks.get(task.task_id), task) for task in imported.tasks),
        settings=_fill(imported.settings, static.settings),
        description=imported.description if imported.description is not None else static.description,
        edge_labels=_fill(
            imported.edge_labels,
            {edge: label for edge, label in static.edge_labels.items() if edge in imported_edges},
        ),
        task_groups=_fill(imported.task_groups, static.task_groups),
        mapped_groups=_fill(
            {
                group: {
                    k: _merged_derived(static.mapped_groups.get(group, {}).get(k), v)
                    for k, v in mapped.items()
                }
                for group, mapped in imported.mapped_groups.items()
            },
            static.mapped_groups,
        ),
        source_mode=MERGED_MODE,
        airflow_version=imported.airflow_version or static.airflow_version,
    )


def _merge_task(static: Task | None, imported: Task) -> Task:
    if static is None:
        return imported
    values = _fill(_agreed_values(static.args.values, imported.args.values), static.args.values)
    explicit = imported.args.explicit | (static.args.explicit & frozenset(values))
    return dataclasses.replace(
        imported,
        span=static.span,  # Airflow does not know where in the file a task was created
        args=TaskArgs(values=values, explicit=explicit),
        python_callable=_merge_callable(static.python_callable, imported.python_callable),
        mapped_args={
            k: _merged_derived(static.mapped_args.get(k), v) for k, v in imported.mapped_args.items()
        },
        # a class the repo defines: the bases the static reading saw, where the import recorded none
        # (the import's own hierarchy is operator_mro)
        operator_bases=imported.operator_bases
        or (static.operator_bases if static.operator == imported.operator else ()),
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


def _merged_derived(static: Any, imported: Any) -> Any:
    """A zip/map/concat of XComs as the import read it, its map functions completed by the static
    reading's where both read the same shape (where they are written, the module's text they use)."""
    if isinstance(imported, XComMap) and isinstance(static, XComMap):
        if len(static.callables) != len(imported.callables):
            return imported
        callables = tuple(_merge_callable(s, i) or i for s, i in zip(static.callables, imported.callables))
        return dataclasses.replace(
            imported, arg=_merged_derived(static.arg, imported.arg), callables=callables
        )
    if isinstance(imported, (XComZip, XComConcat)) and type(static) is type(imported):
        if len(static.args) != len(imported.args):
            return imported
        args = tuple(_merged_derived(s, i) for s, i in zip(static.args, imported.args))
        return dataclasses.replace(imported, args=args)
    return imported


def _agreed_values(static: Mapping[str, Any], imported: Mapping[str, Any]) -> dict[str, Any]:
    """Airflow's values, except where both readings say the same thing: there the static value, which
    keeps the source's own spelling (`k8s.V1Toleration(key="gpu", ...)` as written, not as Airflow's
    objects print), and where the import could only print an object the static reading resolved."""
    merged = dict(imported)
    for key, value in imported.items():
        if key not in static:
            continue
        # the same value, unless only Airflow's is built of objects (dicts it turned into k8s objects,
        # which the pod mapping carries and plain dicts it cannot)
        spelled = same_value(static[key], value) and (_has_source(static[key]) or not _has_source(value))
        if spelled or (_opaque(value) and resolved(static[key])):
            merged[key] = static[key]
    return merged


def _has_source(value: Any) -> bool:
    if isinstance(value, Unresolved):
        return True
    if isinstance(value, Mapping):
        return any(_has_source(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_source(v) for v in value)
    return False


def value_differences(static: Mapping[str, Any], imported: Mapping[str, Any]) -> list[str]:
    """Keys whose value the static reading resolved and Airflow's import has otherwise."""
    return sorted(
        key
        for key, value in imported.items()
        if key in static
        and resolved(static[key])
        and not _opaque(value)
        and not same_value(static[key], value)
    )


def same_value(static: Any, imported: Any) -> bool:
    return static == imported or canonical(static) == canonical(imported)


def resolved(value: Any) -> bool:
    """True when the value holds no text the reader could not reduce (Kubernetes object calls count)."""
    return _walk_ok(canonical(value))


def _opaque(value: Any) -> bool:
    """An object the import could only print (`<Foo object>`, a repr the mapping cannot read)."""
    return isinstance(value, Unresolved) and not _walk_ok(canonical(value))


def _walk_ok(value: Any) -> bool:
    if isinstance(value, _Opaque):
        return False
    if isinstance(value, tuple):
        return all(_walk_ok(v) for v in value)
    return True


@dataclasses.dataclass(frozen=True)
class _Opaque:
    source: str


def canonical(value: Any) -> Any:
    """A reading's value in a form both readers agree on when they mean the same: mappings and
    sequences as sorted tuples, a constructor call of a Kubernetes object or Secret (the only
    objects both readers spell as calls) by class name and keyword values with unset ones dropped,
    literal source as its value; any other source text is opaque."""
    if isinstance(value, Unresolved):
        return _canonical_source(value.source)
    if isinstance(value, Mapping):
        return ("dict", tuple(sorted(((repr(canonical(k)), canonical(v)) for k, v in value.items()))))
    if isinstance(value, (list, tuple)):
        return ("list", tuple(canonical(v) for v in value))
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        # Airflow makes a naive start_date aware in its default time zone, UTC unless configured
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
        return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)
    return value


_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_SECRET_FIELDS = ("deploy_type", "deploy_target", "secret", "key", "items")


def _canonical_source(source: str) -> Any:
    import ast

    try:
        node = ast.parse(source.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return _Opaque(source)
    return _canonical_node(node, source)


def _canonical_node(node: Any, source: str) -> Any:
    import ast

    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if not (name[:2] in ("V1", "V2") or name == "Secret") or any(
            isinstance(a, ast.Starred) for a in node.args
        ):
            return _Opaque(source)
        fields: dict[str, Any] = {}
        if node.args:
            if name != "Secret" or len(node.args) > len(_SECRET_FIELDS):
                return _Opaque(source)  # Kubernetes client classes take keywords only
            fields.update(zip(_SECRET_FIELDS, (_canonical_node(a, source) for a in node.args)))
        for keyword in node.keywords:
            if keyword.arg is None:
                return _Opaque(source)
            fields[keyword.arg] = _canonical_node(keyword.value, source)
        kept = tuple(sorted((repr(k), v) for k, v in fields.items() if v is not None and v != ("list", ())))
        # a Kubernetes object means what the dict of its fields means (Airflow turns one into the other)
        return ("dict", kept) if name != "Secret" else ("call", name, kept)
    if isinstance(node, (ast.List, ast.Tuple)):
        return ("list", tuple(_canonical_node(e, source) for e in node.elts))
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            return _Opaque(source)
        return (
            "dict",
            tuple(
                sorted(
                    (repr(_canonical_node(k, source)), _canonical_node(v, source))
                    for k, v in zip(node.keys, node.values)
                )
            ),
        )
    try:
        return canonical(ast.literal_eval(node))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _Opaque(ast.unparse(node))


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
    static_tasks = {task.task_id: task for task in static.tasks}
    differing = [
        f"{task.task_id} ({', '.join(keys)})"
        for task in imported.tasks
        if task.task_id in static_tasks
        and (keys := value_differences(static_tasks[task.task_id].args.values, task.args.values))
    ]
    if differing:
        parts.append(
            f"the static reading resolved values that Airflow's import has otherwise, in tasks "
            f"{_listed(differing)}"
        )
    if not parts:
        return None
    return diag(
        "A2K605",
        f"DAG {imported.dag_id!r}: " + "; ".join(parts) + ". Airflow's reading is used.",
        file=static.span.file,
        line=static.span.line,
        col=static.span.col,
        dag_id=imported.dag_id,
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
        file=dag.span.file,
        line=dag.span.line,
        col=dag.span.col,
        dag_id=dag.dag_id,
    )


def _settled(static: ParsedFile, imported: ParsedFile) -> tuple[Diagnostic, ...]:
    """Static diagnostics, with those the import settled downgraded to info (and a note why)."""
    read_fine = {dag.dag_id for dag in imported.dags}
    # the import read the whole file: a static DAG it does not have is dropped (A2K605 says so), and
    # with it what the static reading found wrong in it
    file_fine = not any(d.code in IMPORT_FAILED for d in imported.diagnostics)
    kept = []
    for found in static.diagnostics:
        if found.code == "A2K104":
            continue  # "no DAG found" statically; Airflow found some
        settled = found.dag_id in read_fine or file_fine
        if found.code in RESOLVED_BY_IMPORT and settled:
            continue
        if found.code in VALUE_BY_IMPORT and settled:
            found = dataclasses.replace(
                found,
                severity=Severity.INFO,
                message=f"{found.message} (settled: Airflow's import read this DAG, its values are used)",
            )
        elif (
            found.code == "A2K206" and settled
        ):  # Airflow keeps one DAG per dag_id: the import's is converted
            if any(d.code == "A2K206" and d.dag_id == found.dag_id for d in imported.diagnostics):
                continue  # the import said it, in Airflow's terms
            found = dataclasses.replace(
                found,
                severity=Severity.WARNING,
                message=f"{found.message} Airflow's import keeps one DAG of that dag_id (the last one built), "
                "which is converted.",
            )
        elif found.code in STATIC_BUDGETS and settled:
            found = dataclasses.replace(
                found,
                severity=Severity.WARNING,
                message=f"{found.message} Airflow's import read the file and is used as it is, without the "
                "static reading's lines and callable sources.",
            )
        kept.append(found)
    return tuple(kept)
