"""A short Markdown summary of a run, for a pull-request comment or GitHub's job summary.

It fits a GitHub comment (65,536 characters): failed DAGs first, each row's errors before its
warnings, at most FINDINGS_PER_ROW findings a row and `limit` rows, and every cut says how many were
left out ("N more"). DAG ids, paths and messages come from the DAG files of whoever opened the pull
request: each goes through airflow2kfp.report.escape (no HTML, comments, links or images; code spans
that no backtick in the text can end)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from airflow2kfp.diagnostics import Diagnostic, Severity
from airflow2kfp.report.escape import md_code, md_text
from airflow2kfp.results import FileResult, Status

COMMENT_LIMIT = 65_536  # characters in a GitHub comment
FINDINGS_PER_ROW = 5
_ROOM = 400  # kept free for the closing lines


def _findings(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Errors, then warnings (info is left out of the summary)."""
    found = [d for d in diagnostics if d.severity is not Severity.INFO]
    return sorted(found, key=lambda d: -d.severity.rank)  # stable: each severity in the run's order


def _cell(findings: Sequence[Diagnostic]) -> str:
    shown = [md_text(f"{d.code} {d.message}") for d in findings[:FINDINGS_PER_ROW]]
    if len(findings) > FINDINGS_PER_ROW:
        shown.append(f"… {len(findings) - FINDINGS_PER_ROW} more")
    return "<br>".join(shown)


def _rows(files: Sequence[FileResult]) -> list[tuple[tuple[int, int, int], str, int]]:
    """(sort key, table row, findings in it) for each DAG or unreadable file with findings."""
    rows = []
    for f in files:
        for dag in f.dags:
            failed = dag.status is Status.FAILED
            # a DAG that failed for a reason of its file (an import error) shows that reason too
            findings = _findings((*dag.diagnostics, *(f.diagnostics if failed else ())))
            if not findings and not failed:
                continue
            errors = sum(d.severity is Severity.ERROR for d in findings)
            owned = " (owned)" if dag.owned else ""
            row = (
                f"| {md_code(dag.dag_id)} | {md_code(f'{f.path}:{dag.line}')} | {dag.status.value}{owned} | "
                f"{_cell(findings)} |"
            )
            rows.append(((0 if failed else 1, -errors, -len(findings)), row, len(findings)))
        if not f.dags and f.status is Status.FAILED:
            findings = _findings(f.diagnostics)
            rows.append(
                (
                    (0, -len(findings), 0),
                    f"| — | {md_code(f.path)} | {f.status.value} | {_cell(findings)} |",
                    len(findings),
                )
            )
    return sorted(rows, key=lambda r: r[0])


def markdown_summary(files: Iterable[FileResult], summary_lines: list[str], limit: int = 50) -> str:
    files = list(files)
    out = ["## airflow2kfp conversion", "", *(f"- {md_text(line)}" for line in summary_lines), ""]
    rows = _rows(files)
    if not rows:
        return "\n".join([*out, "All DAGs converted without warnings.", ""])
    out += ["| DAG | source | status | findings |", "|---|---|---|---|"]
    size = sum(len(line) + 1 for line in out)
    shown = 0
    for _, row, _ in rows[:limit]:
        if size + len(row) + 1 > COMMENT_LIMIT - _ROOM:
            break
        out.append(row)
        size += len(row) + 1
        shown += 1
    if shown < len(rows):
        left = rows[shown:]
        findings = sum(n for _, _, n in left)
        out += [
            "",
            (
                f"… {len(left)} more DAG(s) or file(s) with findings ({findings} findings left out): "
                "see conversion.json or the reports."
            ),
        ]
    return "\n".join([*out, ""])
