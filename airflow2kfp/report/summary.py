"""conversion.json: the machine-readable record of a run, the contract CI users and reports rely on.

Schema (stable; new keys may be added, none removed):
  {"tool": {"name", "version"},
   "reading": {"mode": static|airflow|auto (as asked), "effective": static|airflow|auto (as done)},
   "summary": {"files", "dags": {status: n}, "tasks": {mapping: n}, "diagnostics": {severity: n}, "owned": n},
   "dags": [{"dag_id", "source", "line", "status", "python", "yaml", "recurring_run", "pipeline_function",
             "source_mode", "owned": null|"marker"|"config", "ordering": {"verdict": "exact"|"unproven"|"mismatch"|"unchecked", "missing", "extra"},
             "tasks": [{"task_id", "kfp_name", "operator", "mapping", "line", "upstream", "after",
                        "trigger_rule", "notes", "col", "retries", "retry_delay",
                        "execution_timeout", "pool", "templated_fields", "component", "kfp_calls",
                        "group", "depends", "conditions", "loops",
                        "semantics": {"verdict": "exact"|"differs", "differences": [why]}}],
             "airflow_edges": [[up, down]], "kfp_edges": [[up, down]], "settings": {...},
             "diagnostics": [...], "kfp_steps": {template: {"retry", "timeout"}},
             "pipeline_parameters": [name]}],
   "files": [{"path", "status", "diagnostics", "suppressed"}]}
"summary" also counts "suppressed" diagnostics; each suppressed one adds "suppressed_by": inline|config.
Each diagnostic: {"code", "severity", "message", "help", "file", "line", "col", "task_id", "dag_id"}.
With `--target` naming v2, each DAG also has "targets" (["v1", "v2"], ["v2"]) and "v2": {"status",
"python", "yaml", "recurring_run", "ordering", "error", "tasks": [{"task_id", "step", "conditions",
"ignore_upstream_failure", "exit_handler", "region", "semantics"}]}, and "summary" has "v2" ({status: n}); a run
for v1 alone writes neither, as before.
`airflow2kfp verify` adds `dags[].verify` (airflow2kfp/verify/compare.py: Comparison.to_json) and
`summary.verify` ({verdict: n}).
An ordering is "unproven" where the workflow orders exactly the edges read, but the static reading
says (an A2K203 warning on the DAG) it may have missed some: only "exact" claims Airflow's ordering.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from airflow2kfp import __version__
from airflow2kfp.diagnostics import Diagnostic
from airflow2kfp.model import Duration, Unresolved, XComRef
from airflow2kfp.results import DagResult, Fidelity, FileResult, Status


def json_value(value: Any) -> Any:
    """Model values as JSON: durations in seconds, unresolved values and refs tagged."""
    if isinstance(value, Duration):
        return {"duration_seconds": value.seconds}
    if isinstance(value, Unresolved):
        return {"unresolved": value.source}
    if isinstance(value, XComRef):
        return {"xcom": value.task_id, "key": value.key}
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_value(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return {"unresolved": repr(value)}


def _verdict(exact: bool, dag: DagResult) -> str:
    if not exact:
        return "mismatch"
    return "unproven" if dag.edges_unproven else "exact"


def _ordering(dag: DagResult) -> dict[str, Any]:
    if dag.selfcheck is None:
        return {"verdict": "unchecked", "missing": [], "extra": []}
    return {
        "verdict": _verdict(dag.selfcheck.exact, dag),
        "missing": [list(pair) for pair in dag.selfcheck.missing],
        "extra": [list(pair) for pair in dag.selfcheck.extra],
    }


def _v2_json(dag: DagResult, paths: Mapping[str, str | None]) -> dict[str, Any]:
    v2 = dag.v2
    if v2 is None:
        return {
            "status": Status.FAILED.value,
            "python": None,
            "yaml": None,
            "recurring_run": None,
            "ordering": {"verdict": "unchecked", "missing": [], "extra": []},
            "error": "not converted",
            "tasks": [],
        }
    ordering: dict[str, Any] = {"verdict": "unchecked", "missing": [], "extra": []}
    if v2.selfcheck is not None:
        ordering = {
            "verdict": _verdict(v2.selfcheck.exact, dag),
            "missing": [list(p) for p in v2.selfcheck.missing],
            "extra": [list(p) for p in v2.selfcheck.extra],
        }
    return {
        "status": v2.status.value,
        "python": paths.get("v2_python"),
        "yaml": paths.get("v2_yaml"),
        "recurring_run": paths.get("v2_recurring_run"),
        "ordering": ordering,
        "error": v2.error,
        "tasks": [
            {
                "task_id": t.task_id,
                "step": t.step,
                "conditions": list(t.conditions),
                "ignore_upstream_failure": t.ignore_upstream_failure,
                "exit_handler": t.exit_handler,
                "region": t.region,
                "semantics": {"verdict": t.semantics, "differences": list(t.differences)},
            }
            for t in v2.tasks
        ],
    }


def dag_json(dag: DagResult, paths: Mapping[str, str | None]) -> dict[str, Any]:
    document = _dag_json(dag, paths)
    if dag.targets != ("v1",):
        document["targets"] = list(dag.targets)
        document["v2"] = _v2_json(dag, paths)
    return document


def _dag_json(dag: DagResult, paths: Mapping[str, str | None]) -> dict[str, Any]:
    return {
        "dag_id": dag.dag_id,
        "source": dag.source,
        "line": dag.line,
        "status": dag.status.value,
        "python": paths.get("python"),
        "yaml": paths.get("yaml"),
        "recurring_run": paths.get("recurring_run"),  # pipelines/<stem>.recurring.json, or None: no schedule
        "pipeline_function": dag.pipeline_function,
        "source_mode": dag.source_mode,
        "owned": dag.owned,  # null, or "marker" / "config": the user owns the files, the run left them alone
        "ordering": _ordering(dag),
        "tasks": [
            {
                "task_id": t.task_id,
                "kfp_name": t.kfp_name,
                "operator": t.operator,
                "mapping": t.mapping.value,
                "line": t.line,
                "upstream": list(t.upstream),
                "after": list(t.after),
                "trigger_rule": t.trigger_rule,
                "notes": list(t.notes),
                "col": t.col,
                "retries": json_value(t.retries),
                "retry_delay": json_value(t.retry_delay),
                "execution_timeout": json_value(t.execution_timeout),
                "pool": json_value(t.pool),
                "templated_fields": list(t.templated_fields),
                "component": t.component,
                "kfp_calls": list(t.kfp_calls),
                "group": t.group,
                "depends": t.depends,
                "conditions": list(t.conditions),
                "loops": list(t.loops),
                "semantics": {"verdict": t.semantics, "differences": list(t.differences)},
            }
            for t in dag.tasks
        ],
        "airflow_edges": [list(e) for e in dag.airflow_edges],
        "kfp_edges": [list(e) for e in dag.kfp_edges],
        "settings": json_value(dag.settings),
        "diagnostics": [d.to_json() for d in dag.diagnostics],
        # what the compiled workflow gives the steps that have a retry or timeout, by template name
        "kfp_steps": {
            name: {"retry": step.retry, "timeout": step.timeout}
            for name, step in dag.kfp_steps.items()
            if step.retry or step.timeout
        },
        "pipeline_parameters": list(dag.kfp_parameters),
    }


def all_diagnostics(files: Iterable[FileResult]) -> list[Diagnostic]:
    return [d for f in files for d in (*f.diagnostics, *(d for dag in f.dags for d in dag.diagnostics))]


def summary(files: list[FileResult]) -> dict[str, Any]:
    dags = [dag for f in files for dag in f.dags]
    return {
        "files": len(files),
        "files_by_status": {s.value: sum(f.status is s for f in files) for s in Status},
        "dags": {s.value: sum(d.status is s for d in dags) for s in Status},
        "tasks": {m.value: sum(t.mapping is m for d in dags for t in d.tasks) for m in Fidelity},
        "diagnostics": dict(sorted(Counter(d.severity.value for d in all_diagnostics(files)).items())),
        "ordering": dict(sorted(Counter(_ordering(d)["verdict"] for d in dags).items())),
        "suppressed": sum(len(f.suppressed) for f in files),
        "owned": sum(dag.owned is not None for dag in dags),
        **(
            {"v2": {s.value: sum(d.v2 is not None and d.v2.status is s for d in v2_dags) for s in Status}}
            if (v2_dags := [d for d in dags if "v2" in d.targets])
            else {}
        ),
    }


def conversion_json(
    files: list[FileResult],
    output_paths: Mapping[tuple[str, str], Mapping[str, str | None]],
    reading: Mapping[str, str] | None = None,
) -> str:
    """The document for `files`; output_paths maps (source, dag_id) to its written files; `reading`
    is how the run read the DAG files ({"mode": asked, "effective": done})."""
    document: dict[str, Any] = {
        "tool": {"name": "airflow2kfp", "version": __version__},
        **({"reading": dict(reading)} if reading else {}),
        "summary": summary(files),
        "dags": [dag_json(dag, output_paths.get((f.path, dag.dag_id), {})) for f in files for dag in f.dags],
        "files": [
            {
                "path": f.path,
                "status": f.status.value,
                "diagnostics": [d.to_json() for d in f.diagnostics],
                "suppressed": [s.to_json() for s in f.suppressed],
            }
            for f in files
        ],
    }
    return json_text(document)


def json_text(document: Any) -> str:
    """`document` as JSON indented by two spaces, non-ASCII kept, ending in a newline.

    orjson writes the same text as `json.dumps(document, indent=2, ensure_ascii=False)` (checked on
    every golden conversion.json), about 50x faster: conversion.json holds every task of the run,
    tens of MB for a thousand DAGs. What orjson refuses (integers beyond 64 bits, lone surrogates)
    goes through json, whose float spelling may differ (1e+16 against 1e16): both are valid JSON.
    """
    try:
        return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
