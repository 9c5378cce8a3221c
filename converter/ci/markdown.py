"""A short Markdown summary of a run, for a pull-request comment or GitHub's job summary.

DAG ids, paths and messages come from the DAG files of whoever opened the pull request: each goes
through converter.report.escape (no HTML, comments, links or images; code spans that no backtick
in the text can end)."""

from __future__ import annotations

from collections.abc import Iterable

from converter.diagnostics import Severity
from converter.report.escape import md_code, md_text
from converter.results import FileResult, Status


def markdown_summary(files: Iterable[FileResult], summary_lines: list[str], limit: int = 50) -> str:
    files = list(files)
    out = ["## airflow2kfp conversion", "", *(f"- {md_text(line)}" for line in summary_lines), ""]
    problems = [
        f
        for f in files
        if f.status is Status.FAILED
        or any(d.severity is not Severity.INFO for dag in f.dags for d in dag.diagnostics)
    ]
    if not problems:
        return "\n".join([*out, "All DAGs converted without warnings.", ""])
    out += ["| DAG | source | status | findings |", "|---|---|---|---|"]
    rows = 0
    for f in problems:
        for dag in f.dags or ():
            findings = [d for d in dag.diagnostics if d.severity is not Severity.INFO]
            shown = "<br>".join(md_text(f"{d.code} {d.message}") for d in findings[:5])
            out.append(f"| {md_code(dag.dag_id)} | {md_code(f'{f.path}:{dag.line}')} | {dag.status.value} | {shown} |")
            rows += 1
        if not f.dags:
            shown = "<br>".join(md_text(f"{d.code} {d.message}") for d in f.diagnostics[:5])
            out.append(f"| — | {md_code(f.path)} | {f.status.value} | {shown} |")
            rows += 1
        if rows >= limit:
            out.append("\n… and more; see conversion.json.")
            break
    return "\n".join([*out, ""])
