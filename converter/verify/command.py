"""`airflow2kfp verify SRC...`: convert, run both sides once, compare, record, report.

DESCRIPTION: Run each DAG once with Airflow and its converted pipeline locally, and compare them.

Every DAG found is converted as `convert` does (into --out, else a temporary folder), run once with
Airflow's `dag.test()` (one Airflow process per source folder, in a sandbox with a throwaway
database and a fixed logical date) and its compiled workflow run by the local Argo executor. The
comparison of each DAG goes into conversion.json (`dags[].verify`, `summary.verify`) and the DAG's
report. Exit 0 when nothing differs, 1 when a verifiable difference is found (or a run failed),
2 for usage errors (no Airflow interpreter).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from converter.outputs import OutputConflict, write_tree
from converter.parse.airflow_import import find_airflow_python
from converter.pipeline import ConvertOptions
from converter.run import SUMMARY_FILE, convert_all
from converter.verify.airflow_run import AirflowRunOptions, AirflowRunResult, run_dags
from converter.verify.argo_local import LocalOptions, run_workflow
from converter.verify.compare import Comparison, Verdict, compare

DESCRIPTION = "Run each DAG once with Airflow and its converted pipeline locally, and compare them."


@dataclass(frozen=True)
class VerifyOptions:
    airflow_python: str | None = None
    dag_ids: tuple[str, ...] = ()  # empty: every DAG found
    conf: Mapping[str, Any] = field(default_factory=dict)
    task_timeout: float = 60.0
    run_timeout: float = 600.0
    convert: ConvertOptions = field(default_factory=ConvertOptions)
    sandbox: str = "auto"  # bubblewrap around the Airflow run: auto | require | off


@dataclass(frozen=True)
class VerifyResult:
    comparisons: tuple[Comparison, ...]
    summary_path: Path | None
    airflow_version: str | None

    @property
    def exit_code(self) -> int:
        return 1 if any(c.verdict in (Verdict.DIFFERENT, Verdict.ERROR) for c in self.comparisons) else 0


class UsageError(Exception):
    """verify cannot start: no Airflow interpreter."""


def _dag_folder(display_source: str, sources: Sequence[Path]) -> Path:
    """The folder Airflow reads a DAG file from: the named folder that holds it, else its own."""
    path = Path(display_source).resolve()
    for source in sources:
        if source.is_dir() and path.is_relative_to(source.resolve()):
            return source.resolve()
    return path.parent


def _airflow_runs(
    documents: list[Mapping[str, Any]], sources: Sequence[Path], python: str, options: VerifyOptions
) -> dict[str, tuple[AirflowRunResult, str]]:
    """One Airflow process per DAG folder; DAG id -> (that process's result, folder)."""
    folders: dict[Path, list[str]] = {}
    for dag in documents:
        folders.setdefault(_dag_folder(str(dag["source"]), sources), []).append(str(dag["dag_id"]))
    runs: dict[str, tuple[AirflowRunResult, str]] = {}
    run_options = AirflowRunOptions(
        task_timeout=options.task_timeout, run_timeout=options.run_timeout, conf=options.conf,
        sandbox=options.sandbox,
    )
    for folder, dag_ids in folders.items():
        result = run_dags(python, folder, dag_ids, run_options)
        for dag_id in dag_ids:
            runs[dag_id] = (result, str(folder))
    return runs


def verify(
    sources: Sequence[Path],
    out_dir: Path | None,
    options: VerifyOptions,
    on_dag: Callable[[Comparison], None] | None = None,
) -> VerifyResult:
    python = options.airflow_python or find_airflow_python()
    if python is None:
        raise UsageError("no Airflow interpreter: pass --airflow-python or set AIRFLOW2KFP_AIRFLOW_PYTHON")
    with tempfile.TemporaryDirectory(prefix="airflow2kfp-verify-") as scratch:
        target = out_dir or Path(scratch)
        converted = convert_all(sources, target, options.convert)
        document = json.loads(converted.summary_path.read_text(encoding="utf-8"))
        yaml_by_id = {d.dag_id: d.yaml_text for f in converted.files for d in f.dags}
        wanted = [d for d in document["dags"] if not options.dag_ids or d["dag_id"] in options.dag_ids]
        runs = _airflow_runs(wanted, sources, python, options)
        comparisons = []
        version = None
        for dag in wanted:
            airflow_result, _ = runs[str(dag["dag_id"])]
            version = version or airflow_result.airflow_version
            airflow = airflow_result.dags.get(str(dag["dag_id"]))
            yaml_text = yaml_by_id.get(str(dag["dag_id"]))
            parameters = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in options.conf.items()}
            kfp = (
                run_workflow(
                    yaml_text,
                    LocalOptions(
                        task_timeout=options.task_timeout,
                        run_timeout=options.run_timeout,
                        parameters=parameters,
                    ),
                )
                if yaml_text
                else None
            )
            airflow_error = airflow_result.error or (
                None if airflow else "Airflow did not run this DAG" + _import_error(airflow_result)
            )
            comparison = compare(
                dag, airflow, kfp, airflow_error, None if yaml_text else "the DAG did not convert"
            )
            comparisons.append(comparison)
            dag["verify"] = {
                **comparison.to_json(),
                "airflow_version": airflow_result.airflow_version,
                "logical_date": AirflowRunOptions().logical_date,
            }
            if on_dag:
                on_dag(comparison)
        document["summary"]["verify"] = {v.value: sum(c.verdict is v for c in comparisons) for v in Verdict}
        summary_path = None
        if out_dir is not None:
            summary_path = _write_json(out_dir, document)
    return VerifyResult(tuple(comparisons), summary_path, version)


def _import_error(result: AirflowRunResult) -> str:
    if not result.import_errors:
        return ""
    first = next(iter(result.import_errors.values())).strip().splitlines()
    return f": {first[-1] if first else 'import error'}"


def _write_json(out_dir: Path, document: Mapping[str, Any]) -> Path:
    """Rewrite conversion.json through the output manifest, so the next run still owns the file."""
    write_tree(out_dir, {SUMMARY_FILE: json.dumps(document, indent=2, ensure_ascii=False) + "\n"})
    return out_dir / SUMMARY_FILE


def describe(comparison: Comparison) -> list[str]:
    """Lines for the terminal: the verdict, then each difference or unverifiable task."""
    counts = (
        f"{len(comparison.tasks)} tasks, {comparison.orderings_checked} orderings, "
        f"{comparison.values_checked} values checked"
    )
    sides = f"Airflow {comparison.airflow_state}, KFP {comparison.kfp_phase}"
    lines = [f"{comparison.verdict.value:>10}  {comparison.dag_id}  ({sides}; {counts})"]
    if comparison.error:
        lines.append(f"            error: {comparison.error}")
    lines += [f"            {d.kind}: {d.message}" for d in comparison.differences]
    lines += [f"            not verifiable: {t}" for t in comparison.not_verifiable]
    return lines


def main(
    sources: Sequence[Path],
    out_dir: Path | None,
    dag_ids: Sequence[str],
    conf: str,
    airflow_python: str | None,
    sandbox: str = "auto",
) -> int:
    """The `verify` command behind the CLI: exit 0 same, 1 a difference or a failed run, 2 usage."""
    import click

    from converter.report.render import render_reports

    try:
        parsed = json.loads(conf)
    except ValueError as error:
        click.echo(f"error: --conf is not JSON: {error}", err=True)
        return 2
    if not isinstance(parsed, dict):
        click.echo("error: --conf must be a JSON object", err=True)
        return 2
    options = VerifyOptions(airflow_python=airflow_python, dag_ids=tuple(dag_ids), conf=parsed, sandbox=sandbox)
    try:
        result = verify(list(sources), out_dir, options, on_dag=lambda c: click.echo("\n".join(describe(c))))
    except (UsageError, OutputConflict) as error:
        click.echo(f"error: {error}", err=True)
        return 2
    totals = {v.value: sum(c.verdict is v for c in result.comparisons) for v in Verdict}
    click.echo(
        f"\n{len(result.comparisons)} DAG(s) verified with Airflow {result.airflow_version}: "
        + ", ".join(f"{n} {k}" for k, n in totals.items() if n)
    )
    if out_dir is not None and result.summary_path is not None:
        click.echo(f"Summary: {result.summary_path}")
        report = render_reports(out_dir)
        click.echo(f"Report: {report.index_html}")
    return result.exit_code
