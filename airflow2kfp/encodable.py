"""Text every output can hold: a DAG whose values no UTF-8 file can carry fails alone, with a code.

Python strings may hold lone surrogates (`"\\ud800"` is a valid literal), but no UTF-8 file, YAML
document or JSON text the converter writes can hold one as it is, and the KFP compiler rejects
them. Generated Python escapes them (airflow2kfp/emit/python.py), but the compiled workflow, the
recurring-run file and conversion.json cannot; a surrogate that reached them aborted the whole
batch. So every reader's DAG is checked here first: each value holding a lone surrogate becomes
an A2K114 error at its task's (or the DAG's) line and is replaced by its escaped repr, kept as
unresolved source text, so the DAG fails on its own and its record can still be written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from airflow2kfp.diagnostics import Diagnostic, diag
from airflow2kfp.model import Dag, SourceSpan, TaskArgs, Unresolved, XComRef


def unencodable(text: str) -> bool:
    """True for text holding a lone surrogate, which UTF-8 cannot encode."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def encodable_dag(dag: Dag) -> tuple[Dag, tuple[Diagnostic, ...]]:
    """`dag` with every value holding a lone surrogate replaced by its escaped source text, and an
    A2K114 error for each; `dag` itself (and no diagnostics) in the common case."""
    found: list[Diagnostic] = []

    def report(where: str, value: Any, span: SourceSpan, task_id: str | None = None) -> None:
        found.append(
            diag(
                "A2K114",
                f"{where} holds a lone surrogate ({_first_surrogate(value)}), which no UTF-8 file, YAML or "
                "JSON output can hold: the DAG is not converted.",
                file=span.file,
                line=span.line or None,
                col=span.col,
                task_id=task_id,
                dag_id=dag.dag_id,
            )
        )

    def clean(
        values: Mapping[str, Any], what: str, span: SourceSpan, task_id: str | None = None
    ) -> dict[str, Any]:
        result = {}
        for key, value in values.items():
            if _holds_surrogate(key) or _holds_surrogate(value):
                report(f"{what} `{_escaped(key)}`", value if _holds_surrogate(value) else key, span, task_id)
                result[_escaped(key)] = Unresolved(_escaped(value))
            else:
                result[key] = value
        return result

    settings = clean(dag.settings, "The DAG setting", dag.span)
    tasks = []
    for task in dag.tasks:
        args = clean(task.args.values, "The argument", task.span, task.task_id)
        mapped = clean(task.mapped_args, "The mapped argument", task.span, task.task_id)
        callable_ = task.python_callable
        if callable_ is not None and any(
            _holds_surrogate(t) for t in (callable_.source, callable_.module_source)
        ):
            report("The Python callable's source", callable_.source, task.span, task.task_id)
            callable_ = dataclasses.replace(callable_, source=None, module_source=None)
        if found and (
            args != task.args.values or mapped != task.mapped_args or callable_ is not task.python_callable
        ):
            task = dataclasses.replace(
                task, args=TaskArgs(args, task.args.explicit), mapped_args=mapped, python_callable=callable_
            )
        tasks.append(task)
    labels = {edge: label for edge, label in dag.edge_labels.items() if not _holds_surrogate(label)}
    groups = {
        gid: (parent, None if _holds_surrogate(tooltip) else tooltip)
        for gid, (parent, tooltip) in dag.task_groups.items()
    }
    for label in set(dag.edge_labels.values()) - set(labels.values()):
        report("An edge label", label, dag.span)
    for gid, (_, tooltip) in dag.task_groups.items():
        if _holds_surrogate(tooltip):
            report(f"The tooltip of task group {gid!r}", tooltip, dag.span)
    if not found:
        return dag, ()
    description = settings.get("description")
    return dataclasses.replace(
        dag,
        settings=settings,
        tasks=tuple(tasks),
        edge_labels=labels,
        task_groups=groups,
        description=description if isinstance(description, str) else None,
    ), tuple(found)


def _surrogate_in(value: Any) -> str | None:
    """The first lone surrogate in a value (through containers, unresolved source, XCom refs)."""
    pending = [value]
    while pending:  # iterative: values nest as deep as the file nested them
        item = pending.pop()
        if isinstance(item, str):
            if unencodable(item):
                return next(ch for ch in item if 0xD800 <= ord(ch) <= 0xDFFF)
        elif isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            pending.extend(item)
        elif isinstance(item, Unresolved):
            pending.append(item.source)
        elif isinstance(item, XComRef):
            pending.extend((item.task_id, item.key))
    return None


def _holds_surrogate(value: Any) -> bool:
    return _surrogate_in(value) is not None


def _escaped(value: Any) -> str:
    """A value as escaped text, for a record that must be writable: repr() escapes surrogates."""
    return value if isinstance(value, str) and not unencodable(value) else repr(value)


def _first_surrogate(value: Any) -> str:
    found = _surrogate_in(value)
    return f"U+{ord(found):04X}" if found else "a surrogate"
