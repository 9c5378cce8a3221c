"""SARIF 2.1.0: one result per finding, rules from the codes table, locations on the DAG source.

Code scanning turns every result into an alert, so only findings at or above `--sarif-level`
(default `warning`) are written: notes (info findings such as "setting not carried") flood it.
Suppressed diagnostics at that level are results too, with a `suppressions` entry (inSource for an
inline comment, external for the `ignore` setting), as code-scanning services expect. Every rule
carries its summary, help text and default level from airflow2kfp.diagnostics.CODES.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from airflow2kfp import __version__
from airflow2kfp.diagnostics import CODES, Diagnostic, Severity
from airflow2kfp.results import FileResult

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/airflow2kfp/"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_RANK = {"error": 2, "warning": 1, "note": 0}
CODES_URI = "https://pypi.org/project/airflow2kfp/#diagnostic-codes"
_RULE_INDEX = {code: index for index, code in enumerate(CODES)}


def _rules() -> list[dict[str, Any]]:
    return [
        {
            "id": info.code,
            "name": "".join(part.capitalize() for part in info.name.split("-")),
            "shortDescription": {"text": info.summary},
            "fullDescription": {"text": f"{info.summary} {info.help}"},
            "help": {
                "text": info.help,
                "markdown": f"**{info.code}** ({info.name}): {info.summary}\n\n{info.help}",
            },
            "helpUri": CODES_URI,
            "defaultConfiguration": {"level": _LEVEL[info.severity]},
            "properties": {"tags": [info.name]},
        }
        for info in CODES.values()
    ]


def _artifact(file: str) -> dict[str, str]:
    path = Path(file)
    if path.is_absolute():
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            return {"uri": path.as_uri()}
    return {"uri": PurePosixPath(*path.parts).as_posix(), "uriBaseId": "%SRCROOT%"}


def _result(d: Diagnostic, suppressed_by: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": d.code,
        "ruleIndex": _RULE_INDEX[d.code],
        "level": _LEVEL[d.severity],
        "message": {"text": d.message + (f" (task {d.task_id})" if d.task_id else "")},
    }
    if d.file:
        physical: dict[str, Any] = {"artifactLocation": _artifact(d.file)}
        if d.line:
            physical["region"] = {"startLine": d.line, "startColumn": (d.col or 0) + 1}
        result["locations"] = [{"physicalLocation": physical}]
    if d.dag_id or d.task_id:
        result["properties"] = {k: v for k, v in (("dag_id", d.dag_id), ("task_id", d.task_id)) if v}
    if suppressed_by:
        kind = "inSource" if suppressed_by == "inline" else "external"
        result["suppressions"] = [
            {
                "kind": kind,
                "justification": f"ignored by {suppressed_by} setting"
                if kind == "external"
                else "airflow2kfp: ignore comment",
            }
        ]
    return result


def sarif_log(files: Iterable[FileResult], level: str = "warning") -> dict[str, Any]:
    """The log of `files`' findings at or above `level` (error, warning or note)."""
    threshold = _RANK[level]

    def shown(d: Diagnostic) -> bool:
        return _RANK[_LEVEL[d.severity]] >= threshold

    results: list[dict[str, Any]] = []
    seen: set[Diagnostic] = set()
    for f in files:
        for d in (*f.diagnostics, *(x for dag in f.dags for x in dag.diagnostics)):
            if shown(d) and d not in seen:  # one result per finding, even if two stages said it
                seen.add(d)
                results.append(_result(d))
        results += [_result(s.diagnostic, s.by) for s in f.suppressed if shown(s.diagnostic)]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "airflow2kfp",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": _rules(),
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
                "results": results,
            }
        ],
    }


def sarif_text(files: Iterable[FileResult], level: str = "warning") -> str:
    return json.dumps(sarif_log(files, level), indent=2, ensure_ascii=False) + "\n"
