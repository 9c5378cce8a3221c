"""SARIF 2.1.0: one result per diagnostic, rules from the codes table, locations on the DAG source.

Suppressed diagnostics are results too, with a `suppressions` entry (inSource for an inline
comment, external for the `ignore` setting), as code-scanning services expect.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from converter import __version__
from converter.diagnostics import CODES, Diagnostic, Severity
from converter.results import FileResult

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/airflow2kfp/"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_RULE_INDEX = {code: index for index, code in enumerate(CODES)}


def _rules() -> list[dict[str, Any]]:
    return [
        {
            "id": info.code,
            "name": "".join(part.capitalize() for part in info.name.split("-")),
            "shortDescription": {"text": info.summary},
            "fullDescription": {"text": f"{info.summary} {info.help}"},
            "help": {"text": info.help},
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


def sarif_log(files: Iterable[FileResult]) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    for f in files:
        results += [_result(d) for d in (*f.diagnostics, *(x for dag in f.dags for x in dag.diagnostics))]
        results += [_result(s.diagnostic, s.by) for s in f.suppressed]
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


def sarif_text(files: Iterable[FileResult]) -> str:
    return json.dumps(sarif_log(files), indent=2, ensure_ascii=False) + "\n"
